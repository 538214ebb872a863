// A client that stops reading while the broker writes big pull responses: its queued bytes
// stay bounded, the broker closes it, and other connections keep working.
import test from 'ava';
import { RequestCode, ResponseCode, decodeStoredMessages, encodeBatch } from '../../../ts/protocol/index.js';
import type { ConnectionClosedInfo } from '../../../ts/broker/index.js';
import { pullRequest, sendRequest, startCluster } from '../../support/broker.js';
import { rawPeer, waitFor } from '../../helpers/raw-socket.js';

test('a paused reader is disconnected with bounded queued bytes; others keep working', async (t) => {
  t.timeout(60_000);
  const writeBufferMax = 1024 * 1024;
  const { client, brokerAddr, broker } = await startCluster(t, { connectionWriteBufferMax: writeBufferMax });
  const topic = 'BigTopic';
  // 64 messages of 256 KiB: 16 MiB in queue 0.
  for (let batch = 0; batch < 8; batch += 1) {
    const body = encodeBatch(Array.from({ length: 8 }, (_, i) => ({
      flag: 0, body: Buffer.alloc(256 * 1024, batch * 8 + i), properties: {},
    })));
    const response = await client.invoke(brokerAddr, sendRequest({ topic, code: RequestCode.SEND_BATCH_MESSAGE, body }));
    t.is(response.code, ResponseCode.SUCCESS, response.remark);
  }
  broker.store.waitDispatched();
  const closes: ConnectionClosedInfo[] = [];
  broker.onConnectionClosed((info) => closes.push(info));

  const slow = await rawPeer(broker.port, { paused: true });
  const pulls = 40;
  for (let i = 0; i < pulls; i += 1) {
    const request = pullRequest({ topic, queueOffset: (i * 8) % 64, maxMsgNums: 32 });
    request.extFields['maxMsgBytes'] = String(8 * 1024 * 1024);
    slow.send({ ...request, opaque: i + 1 });
  }
  t.teardown(() => slow.socket.destroy());
  // A paused socket reads nothing, not even the FIN: watch the broker's side of the close.
  await waitFor(() => closes.length > 0, 20_000, 'the broker to close the slow reader');
  const closed = closes[0] as ConnectionClosedInfo;
  t.is(closed.reason, 'write-queue-overflow');
  // Bounded: the limit plus at most one pull response (≤ 8 MiB + one message) written past it.
  t.true(closed.pendingWriteBytes <= writeBufferMax + 9 * 1024 * 1024, `${closed.pendingWriteBytes} bytes queued at close`);

  // Everyone else is fine.
  const again = await client.invoke(brokerAddr, sendRequest({ topic: 'OtherTopic', body: 'still here' }));
  t.is(again.code, ResponseCode.SUCCESS);
  broker.store.waitDispatched();
  const pull = await client.invoke(brokerAddr, pullRequest({ topic: 'OtherTopic', queueOffset: 0 }));
  t.deepEqual(decodeStoredMessages(pull.body ?? Buffer.alloc(0)).map((m) => m.body.toString()), ['still here']);
  const big = await client.invoke(brokerAddr, pullRequest({ topic, queueOffset: 0, maxMsgNums: 4 }));
  t.is(decodeStoredMessages(big.body ?? Buffer.alloc(0)).length, 1, 'default 256 KiB pull size: one message');
});
