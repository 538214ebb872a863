// Pull responses leave the CommitLog without a copy through JS: large ones by sendfile
// (counted by the engine's transferred-bytes counter), small ones as Buffers over the mapping.
import test from 'ava';
import { ResponseCode, decodeStoredMessages } from '../../../ts/protocol/index.js';
import { pullRequest, sendRequest, startCluster } from '../../support/broker.js';
import { rawPeer } from '../../helpers/raw-socket.js';

const BODY = 'x'.repeat(8 * 1024);

async function fill(t: import('ava').ExecutionContext, pullSendfileMinBytes: number) {
  const cluster = await startCluster(t, { pullSendfileMinBytes });
  for (let i = 0; i < 40; i++) {
    const response = await cluster.client.invoke(cluster.brokerAddr, sendRequest({ topic: 'BigTopic', body: `${i}:${BODY}` }));
    t.is(response.code, ResponseCode.SUCCESS, response.remark);
  }
  cluster.broker.store.waitDispatched();
  return cluster;
}

test('a large pull response is sent with sendfile and decodes like any other', async (t) => {
  const { client, brokerAddr, broker } = await fill(t, 64 * 1024);
  const before = broker.store.stats().transferredBytes;
  const response = await client.invoke(brokerAddr, pullRequest({ topic: 'BigTopic', queueOffset: 0, maxMsgNums: 20 }));
  t.is(response.code, ResponseCode.SUCCESS, response.remark);
  const messages = decodeStoredMessages(response.body ?? Buffer.alloc(0));
  t.true(messages.length > 0);
  t.true(messages.every((m, i) => m.body.toString().startsWith(`${m.queueOffset}:`) && m.queueOffset === i));
  t.is(broker.store.stats().transferredBytes - before, response.body?.length ?? -1, 'the body went out by sendfile');
});

test('a small pull response goes out as Buffers over the mapping, not by sendfile', async (t) => {
  const { client, brokerAddr, broker } = await fill(t, 1 << 30);
  const before = broker.store.stats().transferredBytes;
  const response = await client.invoke(brokerAddr, pullRequest({ topic: 'BigTopic', queueOffset: 0, maxMsgNums: 4 }));
  t.is(response.code, ResponseCode.SUCCESS, response.remark);
  t.is(decodeStoredMessages(response.body ?? Buffer.alloc(0)).length, 4);
  t.is(broker.store.stats().transferredBytes, before);
});

test('closing a connection in the middle of transfers harms no other connection', async (t) => {
  const { broker } = await fill(t, 16 * 1024);
  const victim = await rawPeer(broker.port);
  const bystander = await rawPeer(broker.port);
  t.teardown(() => bystander.socket.destroy());
  for (let i = 0; i < 20; i++) victim.send({ ...pullRequest({ topic: 'BigTopic', queueOffset: i, maxMsgNums: 20 }), opaque: i });
  victim.socket.destroy();
  for (let i = 0; i < 5; i++) {
    bystander.send({ ...pullRequest({ topic: 'BigTopic', queueOffset: i, maxMsgNums: 20 }), opaque: 100 + i });
    const response = await bystander.next();
    t.is(response.opaque, 100 + i);
    const messages = decodeStoredMessages(response.body ?? Buffer.alloc(0));
    t.is(messages[0]?.queueOffset, i, 'the bystander gets its own bytes, in order');
  }
});
