// Delay levels and retry/DLQ: DELAY sends wait in SCHEDULE_TOPIC_XXXX and reach their real queue
// no earlier than their level's delay (also across a restart, once); CONSUMER_SEND_MSG_BACK
// escalates through %RETRY%<group> to %DLQ%<group> with RocketMQ's properties.
import test, { type ExecutionContext } from 'ava';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseDelayLevels } from '../../../ts/broker/schedule/delay-levels.js';
import type { BrokerController } from '../../../ts/broker/index.js';
import {
  ConsumerSendMsgBackRequestHeader, RequestCode, ResponseCode, decodeOffsetMsgId, decodeStoredMessages, encodeHeader, makeRequest,
  type StoredMessage,
} from '../../../ts/protocol/index.js';
import { sendRequest, startBroker, startCluster } from '../../support/broker.js';
import { tempDir } from '../../support/temp.js';
import { waitFor } from '../../helpers/raw-socket.js';

const LEVELS = '300ms 600ms 1s';

function stored(broker: BrokerController, topic: string, queueId = 0): StoredMessage[] {
  broker.store.waitDispatched();
  const result = broker.store.getMessages(topic, queueId, 0, 100, 1 << 20);
  if (result.status !== 'FOUND') return [];
  return broker.store.messageBuffers(result).flatMap((b) => decodeStoredMessages(b));
}

test('messageDelayLevel parses ms, s, m, h and d and refuses anything else', (t) => {
  t.deepEqual(parseDelayLevels('1s 5s 200ms 1m 2h 1d'), [1000, 5000, 200, 60_000, 7_200_000, 86_400_000]);
  for (const bad of ['', '1x', '5', '1.5s']) {
    t.is((t.throws(() => parseDelayLevels(bad)) as { code?: string }).code, 'BROKER_OPTIONS_INVALID', bad);
  }
});

test('a broker with a bad messageDelayLevel does not start, naming the setting', async (t) => {
  const error = await t.throwsAsync(startCluster(t, { messageDelayLevel: '1s soon' }));
  t.regex(error?.message ?? '', /messageDelayLevel/);
});

test('a DELAY send waits in SCHEDULE_TOPIC_XXXX and reaches its real queue no earlier than its level', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t, { messageDelayLevel: LEVELS });
  const uniq = 'C0A8000100002A9F0000000000000A01';
  const sent = await client.invoke(brokerAddr, sendRequest({ topic: 'DelayTopic', queueId: 1, body: 'later', properties: { DELAY: '2', UNIQ_KEY: uniq, TAGS: 'T' } }));
  t.is(sent.code, ResponseCode.SUCCESS, sent.remark);
  const [scheduled] = stored(broker, 'SCHEDULE_TOPIC_XXXX', 1);
  t.like(scheduled?.properties, { REAL_TOPIC: 'DelayTopic', REAL_QID: '1', DELAY: '2' });
  t.deepEqual(stored(broker, 'DelayTopic', 1), [], 'not visible on the real topic yet');
  await waitFor(() => stored(broker, 'DelayTopic', 1).length === 1, 5000, 'delivery');
  const [delivered] = stored(broker, 'DelayTopic', 1);
  t.true(delivered!.storeTimestamp >= scheduled!.storeTimestamp + 600, 'never early');
  t.is(delivered!.properties['UNIQ_KEY'], uniq);
  t.is(delivered!.properties['TAGS'], 'T');
  t.is(delivered!.properties['DELAY'], undefined);
  t.is(delivered!.body.toString(), 'later');
});

test('a level above the table is capped at the last level', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t, { messageDelayLevel: LEVELS });
  await client.invoke(brokerAddr, sendRequest({ topic: 'CapTopic', body: 'x', properties: { DELAY: '18' } }));
  t.is(stored(broker, 'SCHEDULE_TOPIC_XXXX', 2).length, 1);
});

test('a restart in the middle of a delay delivers the message once; lost progress does not duplicate it', async (t) => {
  const storeDir = tempDir(t, 'bolide-delay-restart-');
  const first = await startCluster(t, { storePathRootDir: storeDir, messageDelayLevel: LEVELS });
  await first.client.invoke(first.brokerAddr, sendRequest({ topic: 'RestartDelay', body: 'once', properties: { DELAY: '3', UNIQ_KEY: 'C0A8000100002A9F0000000000000A02' } }));
  await first.broker.shutdown();
  const second = await startBroker(t, { storePathRootDir: storeDir, messageDelayLevel: LEVELS });
  await waitFor(() => stored(second, 'RestartDelay').length === 1, 5000, 'delivery after restart');
  await second.shutdown();
  // As if a crash lost the progress file: the next start finds the copy already delivered.
  rmSync(join(storeDir, 'config', 'delayOffset.json'));
  rmSync(join(storeDir, 'config', 'delayOffset.json.bak'), { force: true });
  const third = await startBroker(t, { storePathRootDir: storeDir, messageDelayLevel: LEVELS });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.is(stored(third, 'RestartDelay').length, 1);
});

function sendBack(offsetMsgId: string, group: string, delayLevel: number, maxReconsumeTimes?: number) {
  return makeRequest(RequestCode.CONSUMER_SEND_MSG_BACK, {
    extFields: encodeHeader(ConsumerSendMsgBackRequestHeader, {
      offset: decodeOffsetMsgId(offsetMsgId).commitLogOffset, group, delayLevel, originMsgId: 'ORIGIN-1',
      ...(maxReconsumeTimes === undefined ? {} : { maxReconsumeTimes }),
    }),
  });
}

async function offsetMsgIdOfFirst(broker: BrokerController, topic: string): Promise<string> {
  await waitFor(() => stored(broker, topic).length > 0, 5000, `a message in ${topic}`);
  return stored(broker, topic)[0]!.msgId;
}

test('sending a message back retries it through %RETRY%<group>, then to %DLQ%<group> past the limit', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t, { messageDelayLevel: LEVELS });
  const sent = await client.invoke(brokerAddr, sendRequest({ topic: 'Orders', body: 'order-1', properties: { UNIQ_KEY: 'C0A8000100002A9F0000000000000A03', KEYS: 'k1' } }));
  const back = await client.invoke(brokerAddr, sendBack(sent.extFields['msgId']!, 'billing', 0));
  t.is(back.code, ResponseCode.SUCCESS, back.remark);
  // reconsumeTimes 0 -> level 3 + 0, capped to the table's 3 levels: 1 s.
  t.like(stored(broker, 'SCHEDULE_TOPIC_XXXX', 2)[0]?.properties, { REAL_TOPIC: '%RETRY%billing' });
  await waitFor(() => stored(broker, '%RETRY%billing').length === 1, 5000, 'the retry copy');
  const [retry] = stored(broker, '%RETRY%billing');
  t.is(retry!.reconsumeTimes, 1);
  // ORIGIN_MESSAGE_ID: the first stored copy's offset msgId, as RocketMQ records it.
  t.like(retry!.properties, { RETRY_TOPIC: 'Orders', ORIGIN_MESSAGE_ID: sent.extFields['msgId'], RECONSUME_TIME: '1', KEYS: 'k1', UNIQ_KEY: 'C0A8000100002A9F0000000000000A03' });
  t.is(retry!.body.toString(), 'order-1');
  // The consumer allows one retry: giving the retry copy back sends it to the DLQ at once.
  const again = await client.invoke(brokerAddr, sendBack(await offsetMsgIdOfFirst(broker, '%RETRY%billing'), 'billing', 0, 1));
  t.is(again.code, ResponseCode.SUCCESS);
  const [dead] = stored(broker, '%DLQ%billing');
  t.is(dead!.reconsumeTimes, 2);
  t.like(dead!.properties, { RETRY_TOPIC: 'Orders', RECONSUME_TIME: '2' });
  t.truthy(broker.topics.get('%DLQ%billing'));
});

test('delayLevel -1 sends straight to the DLQ; a direct send to a retry topic past the limit does too', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t, { messageDelayLevel: LEVELS });
  const sent = await client.invoke(brokerAddr, sendRequest({ topic: 'Direct', body: 'poison' }));
  t.is((await client.invoke(brokerAddr, sendBack(sent.extFields['msgId']!, 'g1', -1))).code, ResponseCode.SUCCESS);
  t.is(stored(broker, '%DLQ%g1').length, 1);
  // Code 10 (long header names): reconsumeTimes 17 against the default limit of 16.
  const request = sendRequest({ topic: '%RETRY%g2', body: 'too many', code: RequestCode.SEND_MESSAGE });
  request.extFields['reconsumeTimes'] = '17';
  const response = await client.invoke(brokerAddr, request);
  t.is(response.code, ResponseCode.SUCCESS, response.remark);
  t.is(stored(broker, '%DLQ%g2').length, 1);
  t.is(stored(broker, '%RETRY%g2').length, 0);
  // Unknown offsets are refused, the broker keeps serving.
  const bogus = await client.invoke(brokerAddr, makeRequest(RequestCode.CONSUMER_SEND_MSG_BACK, {
    extFields: encodeHeader(ConsumerSendMsgBackRequestHeader, { offset: 123_456_789, group: 'g1', delayLevel: 0 }),
  }));
  t.is(bogus.code, ResponseCode.SYSTEM_ERROR);
});

test('successive retries of one message are each delivered, also right after a start', async (t) => {
  // Just after a start every due message is checked against its real topic (crash safety):
  // retry copies share UNIQ_KEY and born time, and must still not be taken for each other.
  const { client, brokerAddr, broker } = await startCluster(t, { messageDelayLevel: LEVELS });
  const sent = await client.invoke(brokerAddr, sendRequest({ topic: 'Twice', body: 'again', properties: { UNIQ_KEY: 'C0A8000100002A9F0000000000000A04' } }));
  t.is((await client.invoke(brokerAddr, sendBack(sent.extFields['msgId']!, 'twice', 1, 5))).code, ResponseCode.SUCCESS);
  await waitFor(() => stored(broker, '%RETRY%twice').length === 1, 5000, 'the first retry');
  t.is((await client.invoke(brokerAddr, sendBack(stored(broker, '%RETRY%twice')[0]!.msgId, 'twice', 1, 5))).code, ResponseCode.SUCCESS);
  await waitFor(() => stored(broker, '%RETRY%twice').length === 2, 5000, 'the second retry');
  t.deepEqual(stored(broker, '%RETRY%twice').map((m) => m.reconsumeTimes), [1, 2]);
});

test('producers cannot send straight to SCHEDULE_TOPIC_XXXX or rmq_sys_wheel_timer', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t, { messageDelayLevel: LEVELS });
  for (const topic of ['SCHEDULE_TOPIC_XXXX', 'rmq_sys_wheel_timer']) {
    const response = await client.invoke(brokerAddr, sendRequest({ topic, body: 'sneaky' }));
    t.is(response.code, ResponseCode.NO_PERMISSION, topic);
    t.truthy(broker.topics.get(topic), `${topic} is a registered system topic`);
  }
});
