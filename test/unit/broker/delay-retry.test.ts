// Delay levels (SCHEDULE_TOPIC_XXXX + the schedule service), CONSUMER_SEND_MSG_BACK and the
// DLQ, against an in-process broker with a short `messageDelayLevel` table. Timing is only
// asserted as "never early" and "eventually".
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import type { RemotingClient } from '../../../ts/remoting/index.js';
import {
  ConsumerSendMsgBackRequestHeader, MessageProperty, Perm, RequestCode, ResponseCode, decodeStoredMessages,
  encodeHeader, encodeSendMessageHeader, makeRequest, type StoredMessage,
} from '../../../ts/protocol/index.js';
import { parseDelayLevels } from '../../../ts/broker/schedule/delay-levels.js';
import { pullRequest, sendHeader, sendRequest, startBroker, startCluster } from '../../support/broker.js';

const LEVELS = '200ms 400ms 1s';

async function pullAll(client: RemotingClient, brokerAddr: string, topic: string, queueId = 0): Promise<StoredMessage[]> {
  const response = await client.invoke(brokerAddr, pullRequest({ topic, queueId, queueOffset: 0, maxMsgNums: 64 }));
  if (response.code !== ResponseCode.SUCCESS) return [];
  return decodeStoredMessages(response.body ?? Buffer.alloc(0));
}

/** Polls until `count` messages are in the queue (the test's own timeout bounds the wait). */
async function eventually(client: RemotingClient, brokerAddr: string, topic: string, count: number,
  queueId = 0): Promise<StoredMessage[]> {
  for (;;) {
    const messages = await pullAll(client, brokerAddr, topic, queueId);
    if (messages.length >= count) return messages;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

test('messageDelayLevel parses ms, s, m, h, d and rejects bad entries', (t) => {
  t.deepEqual(parseDelayLevels('200ms 1s 2m 1h 1d'), [200, 1000, 120_000, 3_600_000, 86_400_000]);
  t.is(parseDelayLevels('1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h').length, 18);
  t.throws(() => parseDelayLevels('1s 5x'), { message: /"5x"/ });
  t.throws(() => parseDelayLevels('  '), { message: /no levels/ });
});

test('a broker with a bad messageDelayLevel refuses to start with a clear error', async (t) => {
  await t.throwsAsync(startCluster(t, { messageDelayLevel: '1s soon' }), { message: /messageDelayLevel: "soon"/ });
});

test('delayed sends wait in SCHEDULE_TOPIC_XXXX, are delivered never early, keep UNIQ_KEY and lose DELAY', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t, { messageDelayLevel: LEVELS });
  const topic = 'DelayTopic';
  const sends = [
    { level: '1', uniq: 'U-L1', queueId: 0, expect: 1 },
    { level: '3', uniq: 'U-L3', queueId: 1, expect: 3 },
    { level: '9', uniq: 'U-L9', queueId: 2, expect: 3 }, // capped at the last level
  ];
  for (const send of sends) {
    const response = await client.invoke(brokerAddr, sendRequest({
      topic, queueId: send.queueId, body: send.uniq, properties: { DELAY: send.level, UNIQ_KEY: send.uniq, TAGS: 'T' },
    }));
    t.is(response.code, ResponseCode.SUCCESS, response.remark);
  }
  broker.store.waitDispatched();
  const held = await pullAll(client, brokerAddr, 'SCHEDULE_TOPIC_XXXX', 2);
  t.deepEqual(held.map((m) => m.body.toString()), ['U-L3', 'U-L9']);
  t.is(held[0]?.properties[MessageProperty.REAL_TOPIC], topic);
  t.is(held[0]?.properties[MessageProperty.REAL_QID], '1');
  t.is(held[1]?.properties[MessageProperty.DELAY], '3');

  const delays = [200, 400, 1000];
  for (const send of sends) {
    const [delivered] = await eventually(client, brokerAddr, topic, 1, send.queueId);
    const schedule = (await pullAll(client, brokerAddr, 'SCHEDULE_TOPIC_XXXX', send.expect - 1))
      .find((m) => m.properties[MessageProperty.UNIQ_KEY] === send.uniq);
    t.truthy(delivered);
    t.truthy(schedule);
    t.is(delivered?.body.toString(), send.uniq);
    t.is(delivered?.topic, topic);
    t.is(delivered?.properties[MessageProperty.UNIQ_KEY], send.uniq);
    t.is(delivered?.properties[MessageProperty.TAGS], 'T');
    t.is(delivered?.properties[MessageProperty.DELAY], undefined);
    t.true((delivered?.storeTimestamp ?? 0) >= (schedule?.storeTimestamp ?? Infinity) + (delays[send.expect - 1] ?? 0),
      `level ${send.level} delivered early`);
  }
});

test('a broker restarted mid-delay delivers every pending message exactly once', async (t) => {
  const { client, brokerAddr, broker, storeDir, namesrvAddr } = await startCluster(t, { messageDelayLevel: '200ms 1s' });
  const topic = 'DelayRestartTopic';
  for (let i = 0; i < 3; i++) {
    await client.invoke(brokerAddr, sendRequest({ topic, body: `fast${i}`, properties: { DELAY: '1', UNIQ_KEY: `F${i}` } }));
    await client.invoke(brokerAddr, sendRequest({ topic, body: `slow${i}`, properties: { DELAY: '2', UNIQ_KEY: `S${i}` } }));
  }
  await eventually(client, brokerAddr, topic, 3);
  await broker.shutdown();
  const second = await startBroker(t, { storePathRootDir: storeDir, namesrvAddr: [namesrvAddr], messageDelayLevel: '200ms 1s' });
  const all = await eventually(client, second.brokerAddr, topic, 6);
  await sleep(500);
  const after = await pullAll(client, second.brokerAddr, topic);
  t.is(all.length, 6);
  t.deepEqual(after.map((m) => m.body.toString()).sort(), ['fast0', 'fast1', 'fast2', 'slow0', 'slow1', 'slow2']);
});

test('deliveries made after the last delayOffset.json write are not repeated after a crash', async (t) => {
  const { client, brokerAddr, broker, storeDir, namesrvAddr } = await startCluster(t, { messageDelayLevel: '200ms' });
  const topic = 'DelayCrashTopic';
  for (let i = 0; i < 4; i++) {
    await client.invoke(brokerAddr, sendRequest({ topic, body: `m${i}`, properties: { DELAY: '1', UNIQ_KEY: `C${i}` } }));
  }
  await eventually(client, brokerAddr, topic, 4);
  await broker.shutdown();
  // What a kill -9 before the first progress write leaves: deliveries in the CommitLog, no offsets.
  for (const suffix of ['', '.bak', '.tmp']) rmSync(join(storeDir, 'config', `delayOffset.json${suffix}`), { force: true });
  const second = await startBroker(t, { storePathRootDir: storeDir, namesrvAddr: [namesrvAddr], messageDelayLevel: '200ms' });
  await client.invoke(second.brokerAddr, sendRequest({ topic, body: 'late', properties: { DELAY: '1', UNIQ_KEY: 'C-late' } }));
  const all = await eventually(client, second.brokerAddr, topic, 5);
  await sleep(500);
  t.deepEqual((await pullAll(client, second.brokerAddr, topic)).map((m) => m.body.toString()), ['m0', 'm1', 'm2', 'm3', 'late']);
  t.is(all.length, 5);
});

function sendBack(offset: number, group: string, delayLevel: number, maxReconsumeTimes?: number) {
  return makeRequest(RequestCode.CONSUMER_SEND_MSG_BACK, {
    extFields: encodeHeader(ConsumerSendMsgBackRequestHeader, {
      offset, group, delayLevel, ...(maxReconsumeTimes === undefined ? {} : { maxReconsumeTimes }),
    }),
  });
}

test('CONSUMER_SEND_MSG_BACK retries through %RETRY%group with growing delay, then the DLQ, properties checked', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t, { messageDelayLevel: '100ms 100ms 100ms 200ms 200ms' });
  const topic = 'RetryTopic';
  const group = 'RetryGroup';
  const sent = await client.invoke(brokerAddr, sendRequest({ topic, body: 'work', properties: { UNIQ_KEY: 'U-retry', TAGS: 'A' } }));
  t.is(sent.code, ResponseCode.SUCCESS);
  broker.store.waitDispatched();
  const [original] = await pullAll(client, brokerAddr, topic);
  t.truthy(original);

  let failed = original as StoredMessage;
  for (let attempt = 1; attempt <= 2; attempt++) {
    const response = await client.invoke(brokerAddr, sendBack(failed.commitLogOffset, group, 0, 2));
    t.is(response.code, ResponseCode.SUCCESS, response.remark);
    const retried = (await eventually(client, brokerAddr, `%RETRY%${group}`, attempt))[attempt - 1] as StoredMessage;
    t.is(retried.reconsumeTimes, attempt);
    t.is(retried.body.toString(), 'work');
    t.is(retried.properties[MessageProperty.RETRY_TOPIC], topic);
    t.is(retried.properties[MessageProperty.ORIGIN_MESSAGE_ID], original?.msgId);
    t.is(retried.properties[MessageProperty.UNIQ_KEY], 'U-retry');
    t.is(retried.properties[MessageProperty.RECONSUME_TIME], String(attempt));
    t.is(retried.properties[MessageProperty.TAGS], 'A');
    // Level 3 + reconsumeTimes, held in SCHEDULE_TOPIC_XXXX first.
    const schedule = await pullAll(client, brokerAddr, 'SCHEDULE_TOPIC_XXXX', 2 + attempt - 1);
    t.is(schedule.at(-1)?.properties[MessageProperty.REAL_TOPIC], `%RETRY%${group}`);
    t.true(retried.storeTimestamp >= (schedule.at(-1)?.storeTimestamp ?? Infinity) + (attempt === 1 ? 100 : 200));
    failed = retried;
  }
  t.is(broker.topics.get(`%RETRY%${group}`)?.perm, Perm.READ | Perm.WRITE);

  // reconsumeTimes 2 reached maxReconsumeTimes 2: the next send-back is a dead letter, at once.
  const last = await client.invoke(brokerAddr, sendBack(failed.commitLogOffset, group, 0, 2));
  t.is(last.code, ResponseCode.SUCCESS);
  broker.store.waitDispatched();
  const [dead] = await pullAll(client, brokerAddr, `%DLQ%${group}`);
  t.is(dead?.reconsumeTimes, 3);
  t.is(dead?.body.toString(), 'work');
  t.is(dead?.properties[MessageProperty.RETRY_TOPIC], topic);
  t.is(dead?.properties[MessageProperty.ORIGIN_MESSAGE_ID], original?.msgId);
  t.is(dead?.properties[MessageProperty.UNIQ_KEY], 'U-retry');
  t.is(dead?.properties[MessageProperty.DLQ_ORIGIN_TOPIC], topic);
  t.is(dead?.properties[MessageProperty.DLQ_ORIGIN_MESSAGE_ID], 'U-retry');
  t.is(dead?.properties[MessageProperty.DELAY], undefined);
  t.is(broker.topics.get(`%DLQ%${group}`)?.perm, Perm.READ | Perm.WRITE);
  t.is(broker.topics.get(`%DLQ%${group}`)?.writeQueueNums, 1);
});

test('delayLevel -1 sends a message straight to the DLQ; the group retryMaxTimes applies without a header maximum', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t, { messageDelayLevel: LEVELS });
  await client.invoke(brokerAddr, sendRequest({ topic: 'DirectDlq', body: 'x', properties: { UNIQ_KEY: 'U-x' } }));
  broker.store.waitDispatched();
  const [original] = await pullAll(client, brokerAddr, 'DirectDlq');
  const response = await client.invoke(brokerAddr, sendBack(original?.commitLogOffset ?? -1, 'G1', -1));
  t.is(response.code, ResponseCode.SUCCESS);
  broker.store.waitDispatched();
  t.is((await pullAll(client, brokerAddr, '%DLQ%G1'))[0]?.properties[MessageProperty.UNIQ_KEY], 'U-x');

  broker.groups.put({ ...broker.groups.findOrCreate('G2')!, retryMaxTimes: 0 });
  t.is((await client.invoke(brokerAddr, sendBack(original?.commitLogOffset ?? -1, 'G2', 0))).code, ResponseCode.SUCCESS);
  broker.store.waitDispatched();
  t.is((await pullAll(client, brokerAddr, '%DLQ%G2')).length, 1);
  t.is((await pullAll(client, brokerAddr, '%RETRY%G2')).length, 0);
});

test('a send-back with an offset holding no message fails with SYSTEM_ERROR and the broker carries on', async (t) => {
  const { client, brokerAddr } = await startCluster(t, { messageDelayLevel: LEVELS });
  const response = await client.invoke(brokerAddr, sendBack(123_456_789, 'G', 0));
  t.is(response.code, ResponseCode.SYSTEM_ERROR);
  t.regex(response.remark ?? '', /look message by offset failed/);
  const missing = await client.invoke(brokerAddr, makeRequest(RequestCode.CONSUMER_SEND_MSG_BACK, { extFields: { group: 'G' } }));
  t.not(missing.code, ResponseCode.SUCCESS);
  t.is((await client.invoke(brokerAddr, sendRequest({ topic: 'StillAlive' }))).code, ResponseCode.SUCCESS);
});

test('a plain send to %RETRY%group past the maximum reconsume times is stored in %DLQ%group', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t, { messageDelayLevel: LEVELS });
  const send = (reconsumeTimes: number, body: string) => {
    const header = {
      ...sendHeader({ topic: '%RETRY%FallbackGroup', properties: { DELAY: '1', RETRY_TOPIC: 'Orig', UNIQ_KEY: body } }),
      reconsumeTimes, maxReconsumeTimes: 3,
    };
    return client.invoke(brokerAddr, makeRequest(RequestCode.SEND_MESSAGE_V2, {
      extFields: encodeSendMessageHeader(RequestCode.SEND_MESSAGE_V2, header), body: Buffer.from(body),
    }));
  };
  t.is((await send(3, 'within')).code, ResponseCode.SUCCESS);
  t.is((await send(4, 'past')).code, ResponseCode.SUCCESS);
  broker.store.waitDispatched();
  const dead = await pullAll(client, brokerAddr, '%DLQ%FallbackGroup');
  t.deepEqual(dead.map((m) => m.body.toString()), ['past']);
  t.is(dead[0]?.properties[MessageProperty.DLQ_ORIGIN_TOPIC], 'Orig');
  const retried = await eventually(client, brokerAddr, '%RETRY%FallbackGroup', 1);
  t.deepEqual(retried.map((m) => m.body.toString()), ['within']);
});
