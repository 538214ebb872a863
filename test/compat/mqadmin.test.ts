// Apache's own admin tool, mqadmin (rocketmq-tools 5.3.3, MQAdminStartup), against Bolide: a
// Bolide NameServer + broker in a child process, the real Java client producing and consuming
// through the harness driver, and mqadmin commands whose printed output is asserted on.
//
// Slow (one JVM per command, ~4 s each) and needs java + mvn: full tier only. Without them the
// tests skip, unless CI=true (then they fail).
//   npx ava --tap test/compat/mqadmin.test.ts
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { startBolideProcess, type BolideProcess } from '../support/bolide-process.js';
import {
  MQADMIN_VERSION, ensureDriver, ensureMqadmin, javaSkipReason, requireJava, runMqadmin, runScenario, type MqadminResult,
} from '../support/java-compat.js';

const CLIENT = '5.3.3';
const skipReason = javaSkipReason();
const mtest = skipReason ? test.skip : test.serial;
if (skipReason) {
  test('mqadmin against Bolide', (t) => {
    t.log(skipReason);
    t.pass();
  });
}

let bolide: BolideProcess | undefined;
let home = '';
const runs: Array<{ command: string; ok: boolean; ms: number }> = [];
const suiteStarted = Date.now();
const run = `${Date.now().toString(36)}`;
const topic = `mqadmin-t-${run}`;
const group = `mqadmin-g-${run}`;
let sent: Array<{ msgId: string; offsetMsgId: string; queueId: number; queueOffset: number; keys: string; seq: number }> = [];

test.before(async (t) => {
  t.timeout(20 * 60_000);
  if (!requireJava(t)) return;
  const tools = await ensureMqadmin();
  t.log(`rocketmq-tools ${tools.version}: ${tools.resolved ? `resolved in ${(tools.resolveMs / 1000).toFixed(1)} s` : 'cached'}`);
  const driver = await ensureDriver(CLIENT);
  t.log(`driver for rocketmq-client ${CLIENT}: ${driver.built ? 'built' : 'cached'}`);
  home = await mkdtemp(path.join(tmpdir(), 'bolide-mqadmin-'));
  bolide = await startBolideProcess();
  t.log(`Bolide: namesrv ${bolide.namesrvAddr}, broker ${bolide.brokerAddr}`);
});

test.after.always(async (t) => {
  await bolide?.stop();
  if (home !== '' && process.env['BOLIDE_COMPAT_KEEP_LOGS'] === undefined) await rm(home, { recursive: true, force: true });
  const ok = runs.filter((r) => r.ok).length;
  const line = `mqadmin: ${runs.length} mqadmin commands ran (${ok} ok, ${runs.length - ok} failed) with rocketmq-tools `
    + `${MQADMIN_VERSION} against Bolide in ${((Date.now() - suiteStarted) / 1000).toFixed(1)} s`;
  t.log(line);
  console.log(line);
});

/** Runs one mqadmin command; fails the test if it did not complete (stack trace / "command failed"). */
async function mqadmin(t: ExecutionContext, command: string, ...args: string[]): Promise<string> {
  if (!bolide) throw new Error('Bolide did not start (see the before hook)');
  t.timeout(5 * 60_000); // each JVM takes ~4 s alone, much longer when the full tier shares the cores
  const r: MqadminResult = await runMqadmin(bolide.namesrvAddr, command, args, { homeDir: home });
  const failed = r.code !== 0 || /command failed|Exception/.test(r.output);
  runs.push({ command, ok: !failed, ms: r.durationMs });
  t.log(`mqadmin ${command} ${args.join(' ')}: exit ${r.code} in ${(r.durationMs / 1000).toFixed(1)} s\n${r.output.trimEnd()}`);
  t.false(failed, `mqadmin ${command} failed:\n${r.output}`);
  return r.output;
}

/** The whitespace-separated cells of the output lines that start with `first`. */
function rows(output: string, first: string): string[][] {
  return output.split('\n').map((line) => line.trim().split(/\s+/)).filter((cells) => cells[0] === first);
}

mtest('clusterList: the broker with its version, activation and disk ratio', async (t) => {
  const out = await mqadmin(t, 'clusterList');
  t.regex(out, /#Cluster Name\s+#Broker Name\s+#BID\s+#Addr\s+#Version/);
  const [row] = rows(out, 'DefaultCluster');
  t.truthy(row, 'a DefaultCluster row');
  t.deepEqual(row?.slice(0, 5), ['DefaultCluster', bolide!.brokerName, '0', bolide!.brokerAddr, 'V4_9_8']);
  t.is(row?.at(-1), 'true', '#ACTIVATED');
  const space = Number(row?.at(-2));
  t.true(space > 0 && space < 1, `#SPACE ${space}`);
});

mtest('updateTopic -c creates the topic on every master; topicList lists it', async (t) => {
  const out = await mqadmin(t, 'updateTopic', '-c', 'DefaultCluster', '-t', topic, '-r', '4', '-w', '4');
  t.true(out.includes(`create topic to ${bolide!.brokerAddr} success.`));
  t.regex(out, new RegExp(`TopicConfig \\[topicName=${topic}, readQueueNums=4, writeQueueNums=4, perm=RW-`));
  const list = await mqadmin(t, 'topicList');
  const topics = list.split('\n').map((line) => line.trim());
  t.true(topics.includes(topic), 'new topic listed');
  t.true(topics.includes('TBW102'));
});

mtest('topicStatus of the new topic: four empty queues', async (t) => {
  const out = await mqadmin(t, 'topicStatus', '-t', topic);
  t.regex(out, /#Broker Name\s+#QID\s+#Min Offset\s+#Max Offset\s+#Last Updated/);
  t.deepEqual(rows(out, bolide!.brokerName).map((r) => r.slice(1, 4)), [['0', '0', '0'], ['1', '0', '0'], ['2', '0', '0'], ['3', '0', '0']]);
});

mtest('after the Java client produced 20 and consumed them: topicStatus, consumerProgress, brokerStatus', async (t) => {
  t.timeout(5 * 60_000);
  const produced = await runScenario(CLIENT, bolide!.namesrvAddr, 'produce-for', { topic, count: 20, createTopic: 'none', run });
  t.true(produced.ok, produced.error ?? '');
  sent = produced.details['messages'];
  const consumed = await runScenario(CLIENT, bolide!.namesrvAddr, 'consume-from', { topic, group, count: 20, run });
  t.true(consumed.ok, consumed.error ?? '');
  const perQueue = [0, 1, 2, 3].map((q) => sent.filter((m) => m.queueId === q).length);

  const status = await mqadmin(t, 'topicStatus', '-t', topic);
  const statusRows = rows(status, bolide!.brokerName);
  t.deepEqual(statusRows.map((r) => [Number(r[1]), Number(r[2]), Number(r[3])]), perQueue.map((n, q) => [q, 0, n]));
  for (const r of statusRows) if (Number(r[3]) > 0) t.regex(r.slice(4).join(' '), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}$/);

  // The consumer commits asynchronously (every 5 s and at shutdown): the driver shut down cleanly.
  const progress = await mqadmin(t, 'consumerProgress', '-g', group);
  t.regex(progress, /#Topic\s+#Broker Name\s+#QID\s+#Broker Offset\s+#Consumer Offset\s+#Diff/);
  const progressRows = rows(progress, topic);
  t.deepEqual(progressRows.map((r) => [r[1], Number(r[2]), Number(r[3]), Number(r[4]), Number(r[5])]),
    perQueue.map((n, q) => [bolide!.brokerName, q, n, n, 0]));
  t.regex(progress, /Consume TPS: \d+\.\d\d/);
  t.regex(progress, /Consume Diff Total: 0\b/);

  const all = await mqadmin(t, 'consumerProgress');
  t.truthy(rows(all, group)[0], 'the group is listed by consumerProgress without -g');

  const broker = await mqadmin(t, 'brokerStatus', '-b', bolide!.brokerAddr);
  const kv = new Map(broker.split('\n').map((line) => line.split(/\s*:\s+/, 2) as [string, string]).filter(([k]) => k !== undefined));
  t.true(Number(kv.get('msgPutTotalTodayNow')) >= 20, `msgPutTotalTodayNow ${kv.get('msgPutTotalTodayNow')}`);
  t.true(Number(kv.get('msgGetTotalTodayNow')) >= 20, `msgGetTotalTodayNow ${kv.get('msgGetTotalTodayNow')}`);
  t.is(kv.get('brokerVersionDesc'), 'V4_9_8');

  const config = await mqadmin(t, 'getBrokerConfig', '-b', bolide!.brokerAddr);
  t.regex(config, new RegExp(`brokerName\\s+=  ${bolide!.brokerName}\\b`));
  t.regex(config, /brokerClusterName\s+=  DefaultCluster\b/);
});

mtest('queryMsgById by offset msgId and by unique msgId prints the message and its consumer track', async (t) => {
  t.true(sent.length > 0, 'messages were produced by the previous test');
  const message = sent[0]!;
  for (const id of [message.offsetMsgId, message.msgId]) {
    const out = await mqadmin(t, 'queryMsgById', '-t', topic, '-i', id);
    t.regex(out, new RegExp(`OffsetID:\\s+${message.offsetMsgId}`));
    t.regex(out, new RegExp(`Topic:\\s+${topic}`));
    t.regex(out, new RegExp(`Keys:\\s+\\[${message.keys}\\]`));
    t.regex(out, new RegExp(`Queue ID:\\s+${message.queueId}\\b`));
    t.regex(out, new RegExp(`Queue Offset:\\s+${message.queueOffset}\\b`));
    t.regex(out, new RegExp(`Store Host:\\s+${bolide!.brokerAddr.replaceAll('.', '\\.')}`));
    t.regex(out, new RegExp(`MessageTrack \\[consumerGroup=${group}, trackType=NOT_ONLINE`));
  }
});

mtest('topicList -c pairs the topic with its consumer group', async (t) => {
  const out = await mqadmin(t, 'topicList', '-c');
  t.truthy(rows(out, 'DefaultCluster').find((r) => r[1] === topic && r[2] === group));
});

mtest('resetOffsetByTime rewinds the group to the start; consumerProgress shows the backlog', async (t) => {
  const out = await mqadmin(t, 'resetOffsetByTime', '-g', group, '-t', topic, '-s', '0');
  t.regex(out, /#brokerName\s+#queueId\s+#offset/);
  const progress = await mqadmin(t, 'consumerProgress', '-g', group);
  t.regex(progress, /Consume Diff Total: 20\b/);
  t.true(rows(progress, topic).every((r) => r[4] === '0' && r[6] === '0'), 'consumer offsets are 0, nothing in flight');
});

mtest('updateSubGroup creates a subscription group; deleteTopic removes the topic from broker and name server', async (t) => {
  const sub = await mqadmin(t, 'updateSubGroup', '-c', 'DefaultCluster', '-g', `${group}-sub`, '-r', '3', '-q', '2');
  t.true(sub.includes(`create subscription group to ${bolide!.brokerAddr} success.`));
  t.regex(sub, /retryQueueNums=2/);
  const victim = `${topic}-del`;
  await mqadmin(t, 'updateTopic', '-b', bolide!.brokerAddr, '-t', victim);
  const out = await mqadmin(t, 'deleteTopic', '-c', 'DefaultCluster', '-t', victim);
  t.true(out.includes(`delete topic [${victim}] from cluster [DefaultCluster] success.`));
  t.true(out.includes(`delete topic [${victim}] from NameServer success.`));
  const list = await mqadmin(t, 'topicList');
  t.false(list.split('\n').map((l) => l.trim()).includes(victim), 'deleted topic no longer listed');
  t.true(list.split('\n').map((l) => l.trim()).includes(topic));
});
