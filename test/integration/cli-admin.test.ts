// `bolide admin` as a real child process against a Bolide NameServer + broker and against
// Apache RocketMQ 5.3.3: the same command sequence, the same assertions.
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { startBolideProcess } from '../support/bolide-process.js';
import { startApacheRocketMQ } from '../support/apache-rocketmq.js';
import { javaSkipReason, requireJava } from '../support/java-compat.js';
import { Producer, silentLogger } from '../../ts/sdk/index.js';

const CLI = ['--import=tsx', join(process.cwd(), 'ts/cli/main.ts'), 'admin'];

async function admin(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number];
  return { code, stdout, stderr };
}

/** Runs a --json command that must succeed; retries while `until` is false (eventually-consistent reads). */
async function json<T>(t: ExecutionContext, args: string[], until: (value: T) => boolean = () => true, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await admin([...args, '--json']);
    if (r.code === 0) {
      const value = JSON.parse(r.stdout) as T;
      if (until(value) || Date.now() > deadline) return value;
    } else if (Date.now() > deadline) {
      t.fail(`bolide admin ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      throw new Error(r.stderr);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

async function scenario(t: ExecutionContext, namesrv: string, brokerAddr: string): Promise<void> {
  const n = ['-n', namesrv];
  const topic = `AdminCli${Date.now().toString(36)}`;
  const group = `admin-cli-${Date.now().toString(36)}`;

  const brokers = await json<Array<{ cluster: string; addr: string }>>(t, ['clusterList', ...n]);
  t.deepEqual(brokers.map((b) => b.addr), [brokerAddr]);
  const cluster = brokers[0]!.cluster;

  t.is((await admin(['updateTopic', ...n, '-t', topic, '-c', cluster, '-w', '4', '-r', '4'])).code, 0);
  t.true((await json<string[]>(t, ['topicList', ...n], (topics) => topics.includes(topic))).includes(topic));
  const route = await json<{ queueDatas: Array<{ writeQueueNums: number }> }>(t, ['topicRoute', ...n, '-t', topic]);
  t.is(route.queueDatas[0]?.writeQueueNums, 4);

  const producer = new Producer({ groupName: `${group}-p`, namesrvAddr: namesrv, logger: silentLogger });
  await producer.start();
  const sent = [];
  try {
    for (let i = 0; i < 6; i += 1) sent.push(await producer.send({ topic, body: `admin-${i}`, keys: i === 3 ? ['k-special'] : [`k${i}`] }));
  } finally {
    await producer.shutdown();
  }
  const status = await json<Array<{ maxOffset: number }>>(t, ['topicStatus', ...n, '-t', topic], (s) => s.reduce((a, q) => a + q.maxOffset, 0) === 6);
  t.is(status.reduce((a, q) => a + q.maxOffset, 0), 6);

  const byKey = await json<Array<{ body: string }>>(t, ['queryMsgByKey', ...n, '-t', topic, '-k', 'k-special'], (m) => m.length === 1);
  t.deepEqual(byKey.map((m) => m.body), ['admin-3']);
  const byOffsetId = await json<Array<{ body: string; msgId: string }>>(t, ['queryMsgById', ...n, '-i', sent[3]!.offsetMsgId]);
  t.deepEqual(byOffsetId.map((m) => m.body), ['admin-3']);
  const byUniq = await json<Array<{ offsetMsgId: string }>>(t, ['queryMsgById', ...n, '-i', sent[3]!.msgId, '-t', topic], (m) => m.length === 1);
  t.is(byUniq[0]?.offsetMsgId, sent[3]!.offsetMsgId);

  t.is((await admin(['updateSubGroup', ...n, '-g', group, '-c', cluster, '-r', '3'])).code, 0);
  await json(t, ['resetOffsetByTime', ...n, '-g', group, '-t', topic, '-s', '0']);
  const behind = await json<{ diffTotal: number }>(t, ['consumerProgress', ...n, '-g', group, '-t', topic], (s) => s.diffTotal === 6);
  t.is(behind.diffTotal, 6);
  await json(t, ['resetOffsetByTime', ...n, '-g', group, '-t', topic, '-s', 'now']);
  const caughtUp = await json<{ diffTotal: number }>(t, ['consumerProgress', ...n, '-g', group, '-t', topic], (s) => s.diffTotal === 0);
  t.is(caughtUp.diffTotal, 0);

  const runtime = await json<Record<string, string>>(t, ['brokerStatus', ...n, '-b', brokerAddr]);
  t.truthy(runtime['brokerVersionDesc']);
  t.truthy(runtime['putTps']);
  const table = await admin(['topicStatus', ...n, '-t', topic]);
  t.regex(table.stdout, /^#Broker Name\s+#QID\s+#Min Offset\s+#Max Offset/);

  t.is((await admin(['deleteTopic', ...n, '-t', topic, '-c', cluster])).code, 0);
  t.false((await json<string[]>(t, ['topicList', ...n], (topics) => !topics.includes(topic))).includes(topic));

  // Usage errors exit 2; a refusal from the cluster exits 1 with the reason.
  t.is((await admin(['topicStatus', ...n])).code, 2);
  t.is((await admin(['frobnicate', ...n])).code, 2);
  const missing = await admin(['topicRoute', ...n, '-t', `${topic}-never`]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /topicRoute failed/);
}

test('bolide admin against Bolide: topics, routes, status, queries, groups, offsets reset, broker status', async (t) => {
  t.timeout(3 * 60_000);
  const bolide = await startBolideProcess();
  try {
    await scenario(t, bolide.namesrvAddr, bolide.brokerAddr);
  } finally {
    await bolide.stop();
  }
});

const skip = javaSkipReason();
(skip === null ? test : test.skip)('bolide admin against Apache RocketMQ 5.3.3: the same commands, the same results', async (t) => {
  t.timeout(5 * 60_000);
  if (!requireJava(t)) return;
  const apache = await startApacheRocketMQ({ jvmArgs: ['-Xms128m', '-Xmx384m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'] });
  try {
    await scenario(t, apache.namesrvAddr, apache.brokerAddr);
  } finally {
    await apache.stop();
  }
});
