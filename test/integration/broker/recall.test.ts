// RECALL_MESSAGE (370) on Bolide brokers: a recall survives kill -9, and bad recall requests get
// RocketMQ's answers without disturbing the broker. (The SDK and Java clients recall against
// Bolide and Apache 5.3.3 in the sdk and compat suites.)
import test from 'ava';
import { silentLogger } from '../../../ts/common/index.js';
import {
  RecallMessageRequestHeader, RequestCode, ResponseCode, decodeRecallHandle, decodeStoredMessages, encodeBatch, encodeHeader, encodeRecallHandle,
  makeRequest, type RemotingCommand,
} from '../../../ts/protocol/index.js';
import { RemotingClient } from '../../../ts/remoting/index.js';
import { startBolideProcess } from '../../support/bolide-process.js';
import { pullRequest, sendRequest, startCluster } from '../../support/broker.js';
import { tempDir } from '../../support/temp.js';

function recallRequest(topic: string, recallHandle: string, producerGroup = 'recall-pg'): RemotingCommand {
  return makeRequest(RequestCode.RECALL_MESSAGE, { extFields: encodeHeader(RecallMessageRequestHeader, { producerGroup, topic, recallHandle }) });
}

async function bodies(client: RemotingClient, brokerAddr: string, topic: string): Promise<string[]> {
  const got: string[] = [];
  for (const queueId of [0, 1, 2, 3]) {
    const response = await client.invoke(brokerAddr, pullRequest({ topic, queueId, queueOffset: 0, maxMsgNums: 64 }));
    if (response.code === ResponseCode.SUCCESS) got.push(...decodeStoredMessages(response.body ?? Buffer.alloc(0)).map((m) => m.body.toString()));
  }
  return got;
}

test('a recall survives kill -9: the restarted broker delivers the other timer messages, never the recalled one', async (t) => {
  t.timeout(120_000);
  const storeDir = tempDir(t, 'bolide-recall-crash-');
  const args = [`--storePathRootDir=${storeDir}`, '--flushDiskType=SYNC_FLUSH'];
  const client = new RemotingClient({ logger: silentLogger });
  t.teardown(() => client.close());
  const first = await startBolideProcess(args);
  t.teardown(() => first.stop());
  const topic = 'RecallCrashTopic';
  const handles = new Map<string, string>();
  for (const name of ['keep0', 'recall0', 'keep1', 'recall1']) {
    const response = await client.invoke(first.brokerAddr, sendRequest({ topic, body: name, properties: { TIMER_DELAY_MS: '4000', UNIQ_KEY: `UK${name}` } }));
    t.is(response.code, ResponseCode.SUCCESS, response.remark);
    handles.set(name, response.extFields['recallHandle'] ?? '');
  }
  t.like(decodeRecallHandle(handles.get('recall0')!), { topic, brokerName: first.brokerName, messageId: 'UKrecall0' });
  for (const name of ['recall0', 'recall1']) {
    const response = await client.invoke(first.brokerAddr, recallRequest(topic, handles.get(name)!));
    t.is(response.code, ResponseCode.SUCCESS, response.remark);
    t.is(response.extFields['msgId'], `UK${name}`);
  }
  process.kill(first.pid, 'SIGKILL');
  await first.stop();

  const second = await startBolideProcess(args);
  t.teardown(() => second.stop());
  const deadline = Date.now() + 30_000;
  while ((await bodies(client, second.brokerAddr, topic)).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.deepEqual((await bodies(client, second.brokerAddr, topic)).sort(), ['keep0', 'keep1']);
});

test('bad recall requests get RocketMQ\'s answers and the broker keeps serving', async (t) => {
  const { broker, brokerAddr, client } = await startCluster(t, { brokerName: 'broker-r' });
  const topic = 'RecallBadInput';
  const sent = await client.invoke(brokerAddr, sendRequest({ topic, body: 'later', properties: { TIMER_DELAY_MS: '60000', UNIQ_KEY: 'UKlater' } }));
  t.is(sent.code, ResponseCode.SUCCESS, sent.remark);
  const good = sent.extFields['recallHandle']!;
  const handle = decodeRecallHandle(good);
  const cases: Array<[string, RemotingCommand, number]> = [
    ['garbage handle', recallRequest(topic, 'garbage!'), ResponseCode.ILLEGAL_OPERATION],
    ['not a v1 handle', recallRequest(topic, Buffer.from('v9 a b 1 c').toString('base64url')), ResponseCode.ILLEGAL_OPERATION],
    ['unknown topic', recallRequest('NoSuchTopicForRecall', good), ResponseCode.TOPIC_NOT_EXIST],
    ['another broker\'s handle', recallRequest(topic, encodeRecallHandle({ ...handle, brokerName: 'broker-x' })), ResponseCode.ILLEGAL_OPERATION],
    ['a time already past', recallRequest(topic, encodeRecallHandle({ ...handle, deliverTimeMs: Date.now() - 1 })), ResponseCode.ILLEGAL_OPERATION],
    ['a time beyond timerMaxDelaySec', recallRequest(topic, encodeRecallHandle({ ...handle, deliverTimeMs: Date.now() + 4 * 86_400_000 })), ResponseCode.ILLEGAL_OPERATION],
    ['no recallHandle field', makeRequest(RequestCode.RECALL_MESSAGE, { extFields: { topic } }), ResponseCode.INVALID_PARAMETER],
  ];
  for (const [name, request, code] of cases) {
    const response = await client.invoke(brokerAddr, request);
    t.is(response.code, code, `${name}: ${response.remark}`);
    t.truthy(response.remark, name);
  }
  // The good handle still works, and the broker still stores sends.
  t.is((await client.invoke(brokerAddr, recallRequest(topic, good))).code, ResponseCode.SUCCESS);
  t.is((await client.invoke(brokerAddr, sendRequest({ topic, body: 'after' }))).code, ResponseCode.SUCCESS);
  t.is(broker.options.brokerName, 'broker-r');
});

test('recallMessageEnable=false refuses recalls with NO_PERMISSION, as Apache 5.3 does by default', async (t) => {
  const { brokerAddr, client } = await startCluster(t, { recallMessageEnable: false });
  const topic = 'RecallOff';
  const sent = await client.invoke(brokerAddr, sendRequest({ topic, body: 'x', properties: { TIMER_DELAY_MS: '60000', UNIQ_KEY: 'UKoff' } }));
  const response = await client.invoke(brokerAddr, recallRequest(topic, sent.extFields['recallHandle']!));
  t.is(response.code, ResponseCode.NO_PERMISSION, response.remark);
});

test('only a single timer send gets a recallHandle: plain, delay-level and batch sends get none', async (t) => {
  const { brokerAddr, client } = await startCluster(t);
  const topic = 'RecallWhich';
  const plain = await client.invoke(brokerAddr, sendRequest({ topic, body: 'p', properties: { UNIQ_KEY: 'UKp' } }));
  const level = await client.invoke(brokerAddr, sendRequest({ topic, body: 'd', properties: { DELAY: '2', UNIQ_KEY: 'UKd' } }));
  const sentFrom = Date.now();
  const timer = await client.invoke(brokerAddr, sendRequest({ topic, body: 't', properties: { TIMER_DELAY_SEC: '30', UNIQ_KEY: 'UKt' } }));
  const sentBy = Date.now();
  const batch = await client.invoke(brokerAddr, sendRequest({
    topic, code: RequestCode.SEND_BATCH_MESSAGE,
    body: encodeBatch([{ flag: 0, body: Buffer.from('b'), properties: { TIMER_DELAY_SEC: '30', UNIQ_KEY: 'UKb' } }]),
  }));
  for (const response of [plain, level, batch]) t.is(response.code, ResponseCode.SUCCESS, response.remark);
  t.is(plain.extFields['recallHandle'], undefined);
  t.is(level.extFields['recallHandle'], undefined);
  t.is(batch.extFields['recallHandle'], undefined);
  const handle = decodeRecallHandle(timer.extFields['recallHandle']!);
  t.is(handle.messageId, 'UKt');
  // One past the due time (the broker's send time + 30 s), as RocketMQ writes it.
  t.true(handle.deliverTimeMs >= sentFrom + 30_001 && handle.deliverTimeMs <= sentBy + 30_001,
    `handle time ${handle.deliverTimeMs} outside [${sentFrom + 30_001}, ${sentBy + 30_001}]`);
});

test('a retried timer send (its UNIQ_KEY already stored) also answers with a recallHandle, and that handle recalls it', async (t) => {
  const { brokerAddr, client } = await startCluster(t);
  const topic = 'RecallRetried';
  const due = String(Date.now() + 1500);
  const send = (body: string, uniqKey: string) =>
    client.invoke(brokerAddr, sendRequest({ topic, queueId: 0, body, properties: { TIMER_DELIVER_MS: due, UNIQ_KEY: uniqKey } }));
  const first = await send('retried', 'UKretried');
  const retry = await send('retried', 'UKretried');
  t.is(retry.code, ResponseCode.SUCCESS, retry.remark);
  t.is(retry.extFields['msgId'], first.extFields['msgId'], 'the retry was de-duplicated');
  t.is(retry.extFields['recallHandle'], first.extFields['recallHandle']);
  t.is((await send('kept', 'UKkeptR')).code, ResponseCode.SUCCESS);
  const recalled = await client.invoke(brokerAddr, recallRequest(topic, retry.extFields['recallHandle']!));
  t.is(recalled.code, ResponseCode.SUCCESS, recalled.remark);
  // Same due time, stored after it: once 'kept' is delivered the recalled one's tick has passed.
  let got: string[] = [];
  while (!got.includes('kept')) {
    got = await bodies(client, brokerAddr, topic);
    if (!got.includes('kept')) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.deepEqual(got, ['kept']);
});
