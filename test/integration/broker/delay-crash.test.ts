// kill -9 of a broker process with delayed (level) and timer messages pending: a new broker on
// the same store directory delivers every one of them, once.
import test from 'ava';
import { silentLogger } from '../../../ts/common/index.js';
import { ResponseCode, decodeStoredMessages } from '../../../ts/protocol/index.js';
import { RemotingClient } from '../../../ts/remoting/index.js';
import { startBolideProcess } from '../../support/bolide-process.js';
import { pullRequest, sendRequest } from '../../support/broker.js';
import { tempDir } from '../../support/temp.js';

async function bodies(client: RemotingClient, brokerAddr: string, topic: string): Promise<string[]> {
  const response = await client.invoke(brokerAddr, pullRequest({ topic, queueOffset: 0, maxMsgNums: 64 }));
  if (response.code !== ResponseCode.SUCCESS) return [];
  return decodeStoredMessages(response.body ?? Buffer.alloc(0)).map((m) => m.body.toString());
}

test('delayed and timer messages pending at a kill -9 are all delivered once by the restarted broker', async (t) => {
  t.timeout(120_000);
  const storeDir = tempDir(t, 'bolide-delay-crash-');
  const args = [`--storePathRootDir=${storeDir}`, '--messageDelayLevel=200ms 1s 2s', '--flushDiskType=SYNC_FLUSH'];
  const client = new RemotingClient({ logger: silentLogger });
  t.teardown(() => client.close());
  const first = await startBolideProcess(args);
  t.teardown(() => first.stop());
  const topic = 'CrashDelayTopic';
  const expected: string[] = [];
  for (let i = 0; i < 5; i++) {
    for (const [name, properties] of [
      [`fast${i}`, { DELAY: '1' }], [`slow${i}`, { DELAY: '3' }], [`timer${i}`, { TIMER_DELAY_MS: '1500' }],
    ] as const) {
      const response = await client.invoke(first.brokerAddr, sendRequest({ topic, body: name, properties: { ...properties, UNIQ_KEY: name } }));
      t.is(response.code, ResponseCode.SUCCESS, response.remark);
      expected.push(name);
    }
  }
  // Let the fast level deliver (some progress is then behind the last delayOffset.json write), then crash.
  while ((await bodies(client, first.brokerAddr, topic)).length < 5) await new Promise((resolve) => setTimeout(resolve, 50));
  process.kill(first.pid, 'SIGKILL');
  await first.stop();

  const second = await startBolideProcess(args);
  t.teardown(() => second.stop());
  for (;;) {
    const got = await bodies(client, second.brokerAddr, topic);
    if (got.length >= expected.length) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.deepEqual((await bodies(client, second.brokerAddr, topic)).sort(), expected.sort());
});
