// Bodies the Java 5.3.3 producer compresses with LZ4 or ZSTD (DefaultMQProducer.setCompressType, every body
// over 64 bytes) are consumed by the SDK exactly as sent: same body bytes, tags, keys, properties, ids and
// positions, and the stored sysFlag shows the codec Java used.
import test, { type ExecutionContext } from 'ava';
import { runScenario } from '../../support/java-compat.js';
import { PushConsumer, type MessageExt } from '../../../ts/sdk/index.js';
import {
  brokerSkipReason, startBrokerUnderTest, testLogger, uniqueName, waitUntil, type BrokerUnderTest,
} from './broker-under-test.js';

const skip = brokerSkipReason();
const btest = skip === null ? test.serial : test.serial.skip;
const JAVA_CLIENT = '5.3.3';
let broker: BrokerUnderTest | undefined;

test.before(async (t) => {
  if (skip !== null) return;
  broker = await startBrokerUnderTest(t);
});

test.after.always(async () => {
  await broker?.stop();
});

// The compat driver's message set (Msgs.java): prefix, then FILL characters up to the body size.
const FILL = '0123456789abcdefghijklmnopqrstuvwxyz';
const BODY_SIZE = 700;
function body(run: string, seq: number): string {
  let text = `bolide|${run}|${seq}|`;
  for (let i = 0; text.length < BODY_SIZE; i += 1) text += FILL[(seq + i) % FILL.length];
  return text;
}

const COMPRESSED = 0x1;
const CODEC_BITS = 0x700;

async function javaCompressedBodiesAreConsumedIdentically(t: ExecutionContext, codec: 'LZ4' | 'ZSTD', flag: number) {
  t.timeout(120_000);
  const topic = uniqueName(`jz${codec}`);
  const run = uniqueName('r');
  const count = 20;
  const sent = await runScenario(JAVA_CLIENT, broker!.namesrvAddr, 'produce-compressed', {
    topic, run, count, queues: 2, bodySize: BODY_SIZE, bigEvery: 0,
    extraArgs: ['--compress-type', codec, '--compress-over', '64'],
  });
  t.true(sent.ok, sent.error ?? sent.stderrTail);
  t.is((sent.details['compressType'] as Record<string, unknown>)['flag'], flag);
  const got = new Map<string, MessageExt>();
  const consumer = new PushConsumer({
    groupName: uniqueName('jzc'), namesrvAddr: broker!.namesrvAddr, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    logger: testLogger,
  });
  t.teardown(() => consumer.shutdown());
  consumer.subscribe(topic, '*');
  consumer.onMessage((messages) => { for (const m of messages) got.set(m.msgId, m); });
  await consumer.start();
  t.true(await waitUntil(() => got.size >= count, 20_000), `${got.size} of ${count}`);
  for (const record of sent.details['messages'] as Array<Record<string, any>>) {
    const seq = record['seq'] as number;
    const m = got.get(record['msgId']);
    if (m === undefined) {
      t.fail(`seq ${seq} (${record['msgId']}) not consumed`);
      continue;
    }
    t.is(m.sysFlag & (CODEC_BITS | COMPRESSED), flag | COMPRESSED, `seq ${seq} stored as ${codec}-compressed`);
    t.is(m.body.toString('utf8'), body(run, seq), `body of ${seq}`);
    t.is(m.body.toString('utf8'), record['body']);
    t.is(m.tags, record['tags']);
    t.is(m.keys.join(' '), record['keys']);
    t.like(m.properties, record['properties']);
    t.is(m.offsetMsgId, record['offsetMsgId']);
    t.is(m.queueId, record['queueId']);
    t.is(m.queueOffset, record['queueOffset']);
  }
}

btest('Java 5.3.3 producer with LZ4 compression → SDK consumer: bodies and metadata identical', async (t) => {
  await javaCompressedBodiesAreConsumedIdentically(t, 'LZ4', 0x100);
});

btest('Java 5.3.3 producer with ZSTD compression → SDK consumer: bodies and metadata identical', async (t) => {
  await javaCompressedBodiesAreConsumedIdentically(t, 'ZSTD', 0x200);
});
