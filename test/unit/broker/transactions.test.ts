// Transactional messages in the broker: half messages, END_TRANSACTION commit / rollback /
// duplicates, the checker (check-back, discard after transactionCheckMax, protection time) and
// a restart in the middle of checks. Checker passes are run by hand with an explicit clock, so
// nothing here depends on timing.
import test, { type ExecutionContext } from 'ava';
import { silentLogger } from '../../../ts/common/index.js';
import type { BrokerController } from '../../../ts/broker/index.js';
import {
  CheckTransactionStateRequestHeader, EndTransactionRequestHeader, MessageProperty, RequestCode, ResponseCode,
  decodeHeader, decodeOffsetMsgId, encodeBatch, decodeStoredMessage, encodeHeader, encodeHeartbeatData, makeRequest,
  type RemotingCommand, type StoredMessage,
} from '../../../ts/protocol/index.js';
import { RemotingClient } from '../../../ts/remoting/index.js';
import { sendRequest, startBroker, startCluster, type TestCluster } from '../../support/broker.js';
import { waitFor } from '../../helpers/raw-socket.js';

const HALF = 'RMQ_SYS_TRANS_HALF_TOPIC';
const OP = 'RMQ_SYS_TRANS_OP_HALF_TOPIC';
const COMMIT = 8;
const ROLLBACK = 12;
const UNKNOWN = 0;
/** Far enough past every half message's protection time (transactionTimeOut 6 s). */
const LATER = 60_000;

interface Half {
  uniq: string;
  commitLogOffset: number;
  queueOffset: number;
  response: RemotingCommand;
}

let uniqCounter = 0;

async function sendHalf(c: TestCluster, topic: string, group = 'tx-pg', extra: Record<string, string> = {}): Promise<Half> {
  uniqCounter += 1;
  const uniq = `7F00000100002A9F0000000000${String(uniqCounter).padStart(6, '0')}`;
  const response = await c.client.invoke(c.brokerAddr, sendRequest({
    topic, queueId: 1, producerGroup: group, body: `body-${uniq}`,
    properties: { TRAN_MSG: 'true', PGROUP: group, UNIQ_KEY: uniq, TAGS: 'TagT', ...extra },
  }), 3000);
  return {
    uniq, response, commitLogOffset: decodeOffsetMsgId(response.extFields['msgId'] ?? '').commitLogOffset,
    queueOffset: Number(response.extFields['queueOffset']),
  };
}

function endRequest(half: { commitLogOffset: number; queueOffset: number; uniq: string }, type: number,
  options: { group?: string; fromCheck?: boolean } = {}): RemotingCommand {
  return makeRequest(RequestCode.END_TRANSACTION, {
    extFields: encodeHeader(EndTransactionRequestHeader, {
      producerGroup: options.group ?? 'tx-pg', tranStateTableOffset: half.queueOffset,
      commitLogOffset: half.commitLogOffset, commitOrRollback: type, fromTransactionCheck: options.fromCheck ?? false,
      msgId: half.uniq, transactionId: half.uniq,
    }),
  });
}

function messagesOf(broker: BrokerController, topic: string, queueId = 0): StoredMessage[] {
  broker.store.waitDispatched();
  const result = broker.store.getMessages(topic, queueId, 0, 1000, 64 * 1024 * 1024);
  if (result.status !== 'FOUND') return [];
  return broker.store.messageBuffers(result).map((record) => decodeStoredMessage(record).message);
}

interface Check {
  header: CheckTransactionStateRequestHeader;
  message: StoredMessage;
}

/** A producer of `group` on its own connection that records the checks it gets. */
async function checkedProducer(t: ExecutionContext, brokerAddr: string, group = 'tx-pg'):
  Promise<{ client: RemotingClient; checks: Check[] }> {
  const client = new RemotingClient({ logger: silentLogger });
  t.teardown(() => client.close());
  const checks: Check[] = [];
  client.registerProcessor(RequestCode.CHECK_TRANSACTION_STATE, (request) => {
    checks.push({
      header: decodeHeader(CheckTransactionStateRequestHeader, request.extFields),
      message: decodeStoredMessage(request.body ?? Buffer.alloc(0)).message,
    });
    return undefined;
  });
  const body = encodeHeartbeatData({
    clientID: `127.0.0.1@${group}-${Math.random()}`, heartbeatFingerprint: 0, withoutSub: false, producerDataSet: [{ groupName: group }], consumerDataSet: [],
  });
  const response = await client.invoke(brokerAddr, makeRequest(RequestCode.HEART_BEAT, { body }), 3000);
  t.is(response.code, ResponseCode.SUCCESS);
  return { client, checks };
}

function checkPass(broker: BrokerController, now = Date.now() + LATER): ReturnType<BrokerController['transactionCheck']['check']> {
  broker.store.waitDispatched();
  return broker.transactionCheck.check(now);
}

test('a prepared send is stored as a half message, invisible in its real topic, answered as RocketMQ does', async (t) => {
  const c = await startCluster(t, { transactionCheckInterval: 3_600_000 });
  const half = await sendHalf(c, 'TxVisible');
  t.is(half.response.code, ResponseCode.SUCCESS);
  t.is(half.response.extFields['transactionId'], half.uniq);
  t.is(half.response.extFields['queueId'], '1');
  t.is(half.queueOffset, 0);
  t.deepEqual(messagesOf(c.broker, 'TxVisible', 1), []);
  const [stored] = messagesOf(c.broker, HALF);
  t.truthy(stored);
  t.is(stored?.commitLogOffset, half.commitLogOffset);
  t.is(stored?.sysFlag ?? -1, 0, 'the transaction bits are cleared on the half message');
  t.like(stored?.properties, { REAL_TOPIC: 'TxVisible', REAL_QID: '1', TRAN_MSG: 'true', PGROUP: 'tx-pg', __transactionId__: half.uniq });
  t.truthy(c.broker.topics.get(HALF));
  t.truthy(c.broker.topics.get(OP));
});

test('commit stores the message once in its real topic even when END_TRANSACTION arrives twice', async (t) => {
  const c = await startCluster(t, { transactionCheckInterval: 3_600_000 });
  const half = await sendHalf(c, 'TxCommit');
  const first = await c.client.invoke(c.brokerAddr, endRequest(half, COMMIT), 3000);
  t.is(first.code, ResponseCode.SUCCESS);
  const second = await c.client.invoke(c.brokerAddr, endRequest(half, COMMIT), 3000);
  t.is(second.code, ResponseCode.SUCCESS);
  const committed = messagesOf(c.broker, 'TxCommit', 1);
  t.is(committed.length, 1);
  const [message] = committed;
  t.is((message?.sysFlag ?? 0) & 0xc, COMMIT);
  t.is(message?.properties[MessageProperty.UNIQ_KEY], half.uniq);
  t.is(message?.properties['TAGS'], 'TagT');
  t.is(message?.properties[MessageProperty.REAL_TOPIC], undefined);
  t.is(message?.properties[MessageProperty.TRAN_MSG], undefined);
  t.is(message?.preparedTransactionOffset, half.commitLogOffset);
  t.is(message?.body.toString(), `body-${half.uniq}`);
  const ops = messagesOf(c.broker, OP);
  t.is(ops.length, 1);
  t.is(ops[0]?.body.toString(), `${half.queueOffset},`);
  t.is(ops[0]?.properties['TAGS'], 'd');
});

test('rollback writes only an op record; a later commit of it stores nothing', async (t) => {
  const c = await startCluster(t, { transactionCheckInterval: 3_600_000 });
  const half = await sendHalf(c, 'TxRollback');
  t.is((await c.client.invoke(c.brokerAddr, endRequest(half, ROLLBACK), 3000)).code, ResponseCode.SUCCESS);
  t.is((await c.client.invoke(c.brokerAddr, endRequest(half, COMMIT), 3000)).code, ResponseCode.SUCCESS);
  t.deepEqual(messagesOf(c.broker, 'TxRollback', 1), []);
  t.is(messagesOf(c.broker, OP).length, 1);
});

test('END_TRANSACTION with unknown state, a wrong group, wrong offsets or a bad header changes nothing', async (t) => {
  const c = await startCluster(t, { transactionCheckInterval: 3_600_000 });
  const half = await sendHalf(c, 'TxBad');
  t.is((await c.client.invoke(c.brokerAddr, endRequest(half, UNKNOWN), 3000)).code, ResponseCode.SUCCESS);
  const wrongGroup = await c.client.invoke(c.brokerAddr, endRequest(half, COMMIT, { group: 'other' }), 3000);
  t.is(wrongGroup.code, ResponseCode.SYSTEM_ERROR);
  t.regex(wrongGroup.remark ?? '', /producer group wrong/);
  const wrongQueueOffset = await c.client.invoke(c.brokerAddr, endRequest({ ...half, queueOffset: 7 }, COMMIT), 3000);
  t.regex(wrongQueueOffset.remark ?? '', /state table offset wrong/);
  const nowhere = await c.client.invoke(c.brokerAddr, endRequest({ ...half, commitLogOffset: 1 << 30 }, COMMIT), 3000);
  t.is(nowhere.code, ResponseCode.SYSTEM_ERROR);
  t.regex(nowhere.remark ?? '', /Find prepared transaction message failed/);
  const plain = await c.client.invoke(c.brokerAddr, sendRequest({ topic: 'TxPlain' }), 3000);
  const notHalf = await c.client.invoke(c.brokerAddr, endRequest({
    uniq: 'x', queueOffset: 0, commitLogOffset: decodeOffsetMsgId(plain.extFields['msgId'] ?? '').commitLogOffset,
  }, COMMIT), 3000);
  t.is(notHalf.code, ResponseCode.SYSTEM_ERROR);
  const badHeader = await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.END_TRANSACTION, { extFields: { producerGroup: 'g' } }), 3000);
  t.is(badHeader.code, ResponseCode.INVALID_PARAMETER);
  t.deepEqual(messagesOf(c.broker, 'TxBad', 1), []);
  t.deepEqual(messagesOf(c.broker, OP), []);
});

test('a batch cannot be a half message, and rejectTransactionMessage refuses prepares', async (t) => {
  const c = await startCluster(t, { transactionCheckInterval: 3_600_000, rejectTransactionMessage: true });
  const refused = await c.client.invoke(c.brokerAddr, sendRequest({ topic: 'TxRefused', properties: { TRAN_MSG: 'true', PGROUP: 'g' } }), 3000);
  t.is(refused.code, ResponseCode.NO_PERMISSION);
  t.regex(refused.remark ?? '', /transaction message is forbidden/);
  const open = await startCluster(t, { transactionCheckInterval: 3_600_000 });
  const batch = await open.client.invoke(open.brokerAddr, sendRequest({
    topic: 'TxBatch', code: RequestCode.SEND_BATCH_MESSAGE, properties: { TRAN_MSG: 'true', PGROUP: 'g' },
    body: encodeBatch([{ flag: 0, body: Buffer.from('a'), properties: { TRAN_MSG: 'true' } }]),
  }), 3000);
  t.is(batch.code, ResponseCode.MESSAGE_ILLEGAL);
  t.deepEqual(messagesOf(open.broker, HALF), []);
});

test('the checker asks a live producer about an old half message; its answer and the late original END store it once', async (t) => {
  const c = await startCluster(t, { transactionCheckInterval: 3_600_000 });
  const half = await sendHalf(c, 'TxCheck');
  const young = checkPass(c.broker, Date.now());
  t.is(young.checked, 0, 'a half message younger than transactionTimeOut is not checked');
  const { client, checks } = await checkedProducer(t, c.brokerAddr);
  const report = checkPass(c.broker);
  t.is(report.checked, 1);
  t.is(report.noProducer, 0);
  await waitFor(() => checks.length === 1, 5000, 'the check');
  const check = checks[0] as Check;
  t.is(check.header.topic, HALF);
  t.is(check.header.msgId, half.uniq);
  t.is(check.header.transactionId, half.uniq);
  t.not(check.header.commitLogOffset, half.commitLogOffset, 'the check is about the copy appended for it');
  t.is(check.message.topic, 'TxCheck');
  t.is(check.message.queueId, 1);
  t.is(check.message.commitLogOffset, check.header.commitLogOffset);
  t.is(check.message.queueOffset, check.header.tranStateTableOffset);
  t.is(check.message.properties[MessageProperty.TRANSACTION_CHECK_TIMES], '1');
  const copy = { uniq: half.uniq, commitLogOffset: check.header.commitLogOffset, queueOffset: check.header.tranStateTableOffset };
  t.is((await client.invoke(c.brokerAddr, endRequest(copy, COMMIT, { fromCheck: true }), 3000)).code, ResponseCode.SUCCESS);
  t.is((await client.invoke(c.brokerAddr, endRequest(half, COMMIT), 3000)).code, ResponseCode.SUCCESS);
  t.is(messagesOf(c.broker, 'TxCheck', 1).length, 1);
  const after = checkPass(c.broker, Date.now() + 2 * LATER);
  t.is(after.checked, 0, 'a committed transaction is not checked again');
  t.is(after.halfProgress, c.broker.store.maxOffset(HALF, 0));
});

test('without a live producer the check is counted; unknown answers are checked until transactionCheckMax, then discarded', async (t) => {
  const c = await startCluster(t, { transactionCheckInterval: 3_600_000, transactionCheckMax: 3 });
  await sendHalf(c, 'TxDiscard');
  const alone = checkPass(c.broker);
  t.is(alone.noProducer, 1);
  const { checks } = await checkedProducer(t, c.brokerAddr);
  let now = Date.now() + LATER;
  for (let pass = 0; pass < 4; pass += 1) {
    now += LATER;
    checkPass(c.broker, now);
  }
  await waitFor(() => checks.length === 2, 5000, 'two more checks');
  t.deepEqual(checks.map((check) => check.message.properties[MessageProperty.TRANSACTION_CHECK_TIMES]), ['2', '3']);
  const discarded = messagesOf(c.broker, 'TRANS_CHECK_MAX_TIME_TOPIC');
  t.is(discarded.length, 1);
  t.is(discarded[0]?.properties[MessageProperty.REAL_TOPIC], 'TxDiscard');
  t.is(checkPass(c.broker, now + LATER).checked, 0);
  t.deepEqual(messagesOf(c.broker, 'TxDiscard', 1), []);
});

test('CHECK_IMMUNITY_TIME_IN_SECONDS protects a half message longer than transactionTimeOut', async (t) => {
  const c = await startCluster(t, { transactionCheckInterval: 3_600_000 });
  await sendHalf(c, 'TxImmune', 'tx-pg', { CHECK_IMMUNITY_TIME_IN_SECONDS: '120' });
  const { checks } = await checkedProducer(t, c.brokerAddr);
  t.is(checkPass(c.broker, Date.now() + 60_000).checked, 0);
  t.is(checkPass(c.broker, Date.now() + 200_000).checked, 1);
  await waitFor(() => checks.length === 1, 5000, 'the check');
});

test('a broker restarted in the middle of checks resumes them from its persisted progress', async (t) => {
  const c = await startCluster(t, { transactionCheckInterval: 3_600_000 });
  const committed = await sendHalf(c, 'TxRestart');
  const pending = await sendHalf(c, 'TxRestart');
  await c.client.invoke(c.brokerAddr, endRequest(committed, COMMIT), 3000);
  const before = await checkedProducer(t, c.brokerAddr);
  t.is(checkPass(c.broker).checked, 1);
  await waitFor(() => before.checks.length === 1, 5000, 'the first check');
  t.is(before.checks[0]?.header.msgId, pending.uniq);
  await c.broker.shutdown();

  const broker = await startBroker(t, {
    namesrvAddr: [c.namesrvAddr], storePathRootDir: c.storeDir, transactionCheckInterval: 3_600_000,
  });
  const after = await checkedProducer(t, broker.brokerAddr);
  const report = checkPass(broker, Date.now() + 2 * LATER);
  t.is(report.checked, 1, 'only the pending transaction is checked again');
  await waitFor(() => after.checks.length === 1, 5000, 'the check after the restart');
  const check = after.checks[0] as Check;
  t.is(check.header.msgId, pending.uniq);
  t.is(check.message.properties[MessageProperty.TRANSACTION_CHECK_TIMES], '2');
  const copy = { uniq: pending.uniq, commitLogOffset: check.header.commitLogOffset, queueOffset: check.header.tranStateTableOffset };
  await after.client.invoke(broker.brokerAddr, endRequest(copy, COMMIT, { fromCheck: true }), 3000);
  // The committed one's original END arrives again after the restart: still stored once.
  await after.client.invoke(broker.brokerAddr, endRequest(committed, COMMIT), 3000);
  const stored = messagesOf(broker, 'TxRestart', 1).map((message) => message.properties[MessageProperty.UNIQ_KEY]);
  t.deepEqual(stored.sort(), [committed.uniq, pending.uniq].sort());
  t.is(checkPass(broker, Date.now() + 3 * LATER).checked, 0);
});
