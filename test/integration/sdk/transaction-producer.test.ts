// TransactionProducer against the broker under test (Apache RocketMQ 5.3.3 by default, with a
// short transactionCheckInterval / transactionTimeOut; an external cluster, e.g. Bolide, must
// be started with the same two settings). Each topic has one queue, so "a rolled-back message
// is never delivered" is checked by reading up to a committed marker sent after it.
import test from 'ava';
import {
  LitePullConsumer, TransactionProducer, type LocalTransactionState, type MessageExt, type MessageQueue,
} from '../../../ts/sdk/index.js';
import {
  brokerSkipReason, createTopic, startBrokerUnderTest, testLogger, uniqueName, type BrokerUnderTest,
} from './broker-under-test.js';

/** broker.conf of the Apache broker (and what an external broker must be started with). */
const TRANSACTION_BROKER_CONFIG = { transactionCheckInterval: 1000, transactionTimeOut: 1000 };

const skip = brokerSkipReason();
const btest = skip === null ? test.serial : test.serial.skip;
let broker: BrokerUnderTest | undefined;
let producer: TransactionProducer;
/** What the checker answers, by transaction message key (KEYS). */
const checkAnswers = new Map<string, LocalTransactionState>();
const checked: MessageExt[] = [];

test.before(async (t) => {
  if (skip !== null) return;
  broker = await startBrokerUnderTest(t, TRANSACTION_BROKER_CONFIG);
  if (broker === undefined) return;
  producer = new TransactionProducer({
    groupName: uniqueName('tx-pg'), namesrvAddr: broker.namesrvAddr, logger: testLogger,
    heartbeatBrokerIntervalMs: 1000,
    checkLocalTransaction: (message) => {
      checked.push(message);
      return checkAnswers.get(message.keys[0] ?? '') ?? 'UNKNOW';
    },
  });
  await producer.start();
});

test.after.always(async () => {
  await producer?.shutdown();
  await broker?.stop();
});

/** Reads the topic's only queue from offset 0 until a message with key `until` arrives. */
async function readUntil(topic: string, until: string): Promise<MessageExt[]> {
  const consumer = new LitePullConsumer({
    groupName: uniqueName('tx-reader'), namesrvAddr: broker!.namesrvAddr, autoCommit: false, logger: testLogger,
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', pullBatchSize: 32,
  });
  const queue: MessageQueue = { topic, brokerName: (await producer.fetchPublishQueues(topic))[0]!.brokerName, queueId: 0 };
  consumer.assign([queue]);
  await consumer.start();
  try {
    await consumer.seek(queue, 0);
    const out: MessageExt[] = [];
    const deadline = Date.now() + 60_000;
    while (!out.some((message) => message.keys.includes(until)) && Date.now() < deadline) out.push(...(await consumer.poll(1000)));
    return out;
  } finally {
    await consumer.shutdown();
  }
}

async function commitMarker(topic: string): Promise<string> {
  const key = uniqueName('marker');
  const result = await producer.sendMessageInTransaction({ topic, body: 'marker', keys: key }, () => 'COMMIT_MESSAGE');
  if (result.localTransactionState !== 'COMMIT_MESSAGE') throw new Error('the marker was not committed');
  return key;
}

btest('a committed transaction is delivered once, with its id, body, tags and properties', async (t) => {
  const topic = uniqueName('tx-commit');
  await createTopic(broker!.namesrvAddr, topic, 1);
  let seen: string | undefined;
  const result = await producer.sendMessageInTransaction(
    { topic, body: 'paid', tags: 'Order', keys: 'order-1', properties: { amount: '42' } },
    (message, arg: string) => {
      seen = `${message.transactionId}:${arg}`;
      return 'COMMIT_MESSAGE';
    }, 'the-arg');
  t.is(result.sendStatus, 'SEND_OK');
  t.is(result.localTransactionState, 'COMMIT_MESSAGE');
  t.is(seen, `${result.transactionId}:the-arg`);
  t.is(result.transactionId, result.msgId);
  const marker = await commitMarker(topic);
  const messages = await readUntil(topic, marker);
  const delivered = messages.filter((message) => message.keys.includes('order-1'));
  t.is(delivered.length, 1);
  t.is(delivered[0]?.msgId, result.msgId);
  t.is(delivered[0]?.body.toString(), 'paid');
  t.is(delivered[0]?.tags, 'Order');
  t.is(delivered[0]?.properties['amount'], '42');
  t.is((delivered[0]?.sysFlag ?? 0) & 0xc, 8, 'stored as a committed transaction message');
});

btest('a rolled-back transaction is never delivered', async (t) => {
  const topic = uniqueName('tx-rollback');
  await createTopic(broker!.namesrvAddr, topic, 1);
  const result = await producer.sendMessageInTransaction({ topic, body: 'cancelled', keys: 'order-2' }, () => 'ROLLBACK_MESSAGE');
  t.is(result.localTransactionState, 'ROLLBACK_MESSAGE');
  const marker = await commitMarker(topic);
  const messages = await readUntil(topic, marker);
  t.true(messages.some((message) => message.keys.includes(marker)));
  t.false(messages.some((message) => message.keys.includes('order-2')));
});

btest('an unknown transaction is checked back and committed by the checker', async (t) => {
  const topic = uniqueName('tx-check');
  await createTopic(broker!.namesrvAddr, topic, 1);
  const key = uniqueName('order-3');
  checkAnswers.set(key, 'COMMIT_MESSAGE');
  const result = await producer.sendMessageInTransaction({ topic, body: 'later', keys: key }, () => 'UNKNOW');
  t.is(result.localTransactionState, 'UNKNOW');
  const messages = await readUntil(topic, key);
  const delivered = messages.filter((message) => message.keys.includes(key));
  t.is(delivered.length, 1);
  t.is(delivered[0]?.msgId, result.msgId);
  const question = checked.find((message) => message.keys.includes(key));
  t.truthy(question, 'the checker was asked');
  t.is(question?.topic, topic);
  t.is(question?.msgId, result.msgId);
  t.is(question?.body.toString(), 'later');
});

btest('a local transaction that throws is unknown; the checker rolls it back and it is never delivered', async (t) => {
  const topic = uniqueName('tx-throw');
  await createTopic(broker!.namesrvAddr, topic, 1);
  const key = uniqueName('order-4');
  checkAnswers.set(key, 'ROLLBACK_MESSAGE');
  const result = await producer.sendMessageInTransaction({ topic, body: 'boom', keys: key }, () => {
    throw new Error('database down');
  });
  t.is(result.localTransactionState, 'UNKNOW');
  const deadline = Date.now() + 60_000;
  while (!checked.some((message) => message.keys.includes(key)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  t.true(checked.some((message) => message.keys.includes(key)), 'the checker was asked');
  const marker = await commitMarker(topic);
  const messages = await readUntil(topic, marker);
  t.false(messages.some((message) => message.keys.includes(key)));
});
