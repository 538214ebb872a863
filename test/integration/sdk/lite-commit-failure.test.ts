// LitePullConsumer.commit() against a broker that went away: the commit rejects instead of
// resolving as if the offsets were stored (background persists only log).
import test from 'ava';
import { LitePullConsumer, MQError, Producer, silentLogger, type MessageExt } from '../../../ts/sdk/index.js';
import { startBolideProcess } from '../../support/bolide-process.js';

test('commit() rejects when the broker cannot store the offsets', async (t) => {
  t.timeout(60_000);
  const bolide = await startBolideProcess();
  t.teardown(() => bolide.stop());
  const topic = `LiteCommitFail${Date.now().toString(36)}`;
  const producer = new Producer({ groupName: 'lcf-pg', namesrvAddr: bolide.namesrvAddr, logger: silentLogger });
  await producer.start();
  t.teardown(() => producer.shutdown());
  for (let i = 0; i < 10; i++) await producer.send({ topic, body: `m${i}` });
  const consumer = new LitePullConsumer({
    groupName: 'lcf-cg', namesrvAddr: bolide.namesrvAddr, autoCommit: false, logger: silentLogger, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
  });
  await consumer.start();
  t.teardown(() => consumer.shutdown().catch(() => undefined));
  consumer.subscribe(topic, '*');
  const got: MessageExt[] = [];
  const deadline = Date.now() + 20_000;
  while (got.length < 10 && Date.now() < deadline) got.push(...(await consumer.poll(500)));
  t.is(got.length, 10);
  await consumer.commit(); // the broker is up: stored
  got.length = 0;
  for (let i = 0; i < 3; i++) await producer.send({ topic, body: `n${i}` });
  while (got.length < 3 && Date.now() < deadline + 10_000) got.push(...(await consumer.poll(500)));
  t.is(got.length, 3);
  process.kill(bolide.pid, 'SIGKILL');
  await bolide.stop();
  const error = await t.throwsAsync(consumer.commit());
  t.true(error instanceof MQError, String(error));
});
