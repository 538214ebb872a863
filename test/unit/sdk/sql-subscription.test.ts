// The SDK's SQL92 subscriptions against an in-process Bolide broker: MessageSelector.bySql is
// compiled at subscribe() (a bad selector fails there, with its position), sent with the pull,
// and the broker's selection is delivered as is; TAG subscriptions keep the client re-check.
import test from 'ava';
import { FilterParseError, LitePullConsumer, MessageSelector, Producer, silentLogger, type MessageExt } from '../../../ts/sdk/index.js';
import { startCluster } from '../../support/broker.js';

test('subscribe with MessageSelector.bySql: a bad selector fails subscribe() with its position', (t) => {
  const consumer = new LitePullConsumer({ groupName: 'sql-bad', namesrvAddr: '127.0.0.1:1', logger: silentLogger });
  const error = t.throws(() => consumer.subscribe('T', MessageSelector.bySql("a > 'x'")), { instanceOf: FilterParseError });
  t.is(error?.position.column, 5);
});

test('a LitePullConsumer subscribed with MessageSelector.bySql receives exactly the matching messages', async (t) => {
  const cluster = await startCluster(t, { enablePropertyFilter: true });
  const producer = new Producer({ groupName: 'sql-p', namesrvAddr: cluster.namesrvAddr, logger: silentLogger });
  await producer.start();
  t.teardown(() => producer.shutdown());
  const topic = 'SdkSql';
  for (let i = 0; i < 20; i += 1) {
    await producer.send({ topic, body: String(i), tags: i % 2 === 0 ? 'Even' : 'Odd', properties: { n: String(i) } });
  }
  const consumer = new LitePullConsumer({
    groupName: 'sql-c', namesrvAddr: cluster.namesrvAddr, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', logger: silentLogger,
  });
  consumer.subscribe(topic, MessageSelector.bySql("n BETWEEN 5 AND 14 AND TAGS = 'Even'"));
  await consumer.start();
  t.teardown(() => consumer.shutdown());
  const got: MessageExt[] = [];
  // Bounded by the number of polls, not by time: each poll waits for messages at most 500 ms.
  for (let polls = 0; polls < 60 && got.length < 5; polls += 1) got.push(...(await consumer.poll(500)));
  t.deepEqual(got.map((m) => Number(m.body.toString())).sort((a, b) => a - b), [6, 8, 10, 12, 14]);
  t.deepEqual(await consumer.poll(300), [], 'nothing else arrives');
});
