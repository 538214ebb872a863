// The SDK's TransactionProducer against an in-process Bolide broker, with checker passes run by
// hand: the producer's half message, its END_TRANSACTION, and its answers to
// CHECK_TRANSACTION_STATE (including a checker that throws), without waiting on any timer.
import test, { type ExecutionContext } from 'ava';
import type { BrokerController } from '../../../ts/broker/index.js';
import { decodeStoredMessage, type StoredMessage } from '../../../ts/protocol/index.js';
import {
  MQClientError, TransactionProducer, silentLogger, type LocalTransactionState, type MessageExt, type TransactionSendResult,
} from '../../../ts/sdk/index.js';
import { startCluster } from '../../support/broker.js';
import { waitFor } from '../../helpers/raw-socket.js';

const LATER = 60_000;

function stored(broker: BrokerController, result: TransactionSendResult): StoredMessage[] {
  broker.store.waitDispatched();
  const { topic, queueId } = result.messageQueue;
  const pulled = broker.store.getMessages(topic, queueId, 0, 100, 16 * 1024 * 1024);
  if (pulled.status !== 'FOUND') return [];
  return broker.store.messageBuffers(pulled).map((record) => decodeStoredMessage(record).message);
}

async function setup(t: ExecutionContext, answer: (message: MessageExt) => LocalTransactionState) {
  const cluster = await startCluster(t, { transactionCheckInterval: 3_600_000 });
  const asked: MessageExt[] = [];
  const producer = new TransactionProducer({
    groupName: 'sdk-tx-pg', namesrvAddr: cluster.namesrvAddr, logger: silentLogger,
    checkLocalTransaction: (message) => {
      asked.push(message);
      return answer(message);
    },
  });
  await producer.start();
  t.teardown(() => producer.shutdown());
  return { cluster, producer, asked };
}

test('a committed transaction is stored once in its queue; a rolled-back one never', async (t) => {
  const { cluster, producer } = await setup(t, () => 'UNKNOW');
  const committed = await producer.sendMessageInTransaction({ topic: 'SdkTx', body: 'yes', keys: 'k1' }, () => 'COMMIT_MESSAGE');
  t.is(committed.localTransactionState, 'COMMIT_MESSAGE');
  t.is(committed.transactionId, committed.msgId);
  await waitFor(() => stored(cluster.broker, committed).length === 1, 5000, 'the committed message');
  const [message] = stored(cluster.broker, committed);
  t.is(message?.body.toString(), 'yes');
  t.is(message?.properties['UNIQ_KEY'], committed.msgId);
  const before = cluster.broker.store.maxOffset('RMQ_SYS_TRANS_OP_HALF_TOPIC', 0);
  const rolledBack = await producer.sendMessageInTransaction({ topic: 'SdkTx', body: 'no' }, () => 'ROLLBACK_MESSAGE');
  t.is(rolledBack.localTransactionState, 'ROLLBACK_MESSAGE');
  await waitFor(() => cluster.broker.store.maxOffset('RMQ_SYS_TRANS_OP_HALF_TOPIC', 0) === before + 1, 5000, 'the rollback');
  t.false(stored(cluster.broker, rolledBack).some((m) => m.body.toString() === 'no'));
});

test('an unknown transaction is answered from checkLocalTransaction when the broker checks it', async (t) => {
  const { cluster, producer, asked } = await setup(t, () => 'COMMIT_MESSAGE');
  let ran = '';
  const result = await producer.sendMessageInTransaction({ topic: 'SdkTxCheck', body: 'later', tags: 'T' }, (message, arg: number) => {
    ran = `${message.transactionId}/${arg}`;
    return 'UNKNOW';
  }, 7);
  t.is(ran, `${result.transactionId}/7`);
  t.is(result.localTransactionState, 'UNKNOW');
  t.deepEqual(stored(cluster.broker, result), []);
  cluster.broker.store.waitDispatched();
  t.is(cluster.broker.transactionCheck.check(Date.now() + LATER).checked, 1);
  await waitFor(() => stored(cluster.broker, result).length === 1, 5000, 'the commit answered by the checker');
  t.is(asked.length, 1);
  t.like(asked[0], { topic: 'SdkTxCheck', msgId: result.msgId, tags: 'T', queueId: result.messageQueue.queueId });
  t.is(asked[0]?.body.toString(), 'later');
});

test('a throwing local transaction and a throwing checker leave the transaction unknown; the next check settles it', async (t) => {
  let calls = 0;
  const { cluster, producer } = await setup(t, () => {
    calls += 1;
    if (calls === 1) throw new Error('the database is down');
    return 'ROLLBACK_MESSAGE';
  });
  const result = await producer.sendMessageInTransaction({ topic: 'SdkTxThrow', body: 'x' }, () => {
    throw new Error('boom');
  });
  t.is(result.localTransactionState, 'UNKNOW');
  cluster.broker.store.waitDispatched();
  t.is(cluster.broker.transactionCheck.check(Date.now() + LATER).checked, 1);
  await waitFor(() => calls === 1, 5000, 'the first check');
  cluster.broker.store.waitDispatched();
  t.is(cluster.broker.transactionCheck.check(Date.now() + 2 * LATER).checked, 1, 'still open after the throwing checker');
  const ops = cluster.broker.store.maxOffset('RMQ_SYS_TRANS_OP_HALF_TOPIC', 0);
  await waitFor(() => cluster.broker.store.maxOffset('RMQ_SYS_TRANS_OP_HALF_TOPIC', 0) === ops + 1, 5000, 'the rollback answer');
  cluster.broker.store.waitDispatched();
  t.is(cluster.broker.transactionCheck.check(Date.now() + 3 * LATER).checked, 0);
  t.deepEqual(stored(cluster.broker, result), []);
});

test('a TransactionProducer needs a checker and a local transaction function', async (t) => {
  t.throws(() => new TransactionProducer({ groupName: 'g', namesrvAddr: '127.0.0.1:1' } as never), { instanceOf: MQClientError });
  const { producer } = await setup(t, () => 'UNKNOW');
  await t.throwsAsync(producer.sendMessageInTransaction({ topic: 'T', body: 'x' }, undefined as never), { instanceOf: MQClientError });
});
