// The HTTP gateway in an in-process broker: produce (single, batch, idempotent retry), admin
// reads, /metrics checked against the traffic sent, and bad input answered with 4xx while the
// broker keeps serving.
import test, { type ExecutionContext } from 'ava';
import { loadUws } from '../../../ts/gateway/uws.js';
import { attachGateway } from '../../../ts/gateway/broker-server.js';
import type { Gateway } from '../../../ts/gateway/gateway.js';
import {
  RecallMessageRequestHeader, RequestCode, ResponseCode, UpdateConsumerOffsetRequestHeader, decodeRecallHandle, encodeHeader, makeRequest,
} from '../../../ts/protocol/index.js';
import { pullRequest, sendRequest, startCluster, type TestCluster } from '../../support/broker.js';
import type { BrokerOptions } from '../../../ts/broker/index.js';

async function gatewayCluster(t: ExecutionContext, options: BrokerOptions = {}): Promise<TestCluster & { base: string; gateway: Gateway }> {
  const cluster = await startCluster(t, options);
  const gateway = await attachGateway(cluster.broker, { port: 0 });
  t.teardown(() => gateway.stop());
  return { ...cluster, gateway, base: `http://${gateway.address}` };
}

interface Produced {
  status: string;
  topic: string;
  queueId: number;
  queueOffset: number;
  messages: Array<{ msgId: string; offsetMsgId: string }>;
}

async function post(base: string, topic: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}/topics/${encodeURIComponent(topic)}/messages`, { method: 'POST', body, headers });
}

test('the native uWebSockets.js binary is loaded, never the JavaScript fallback', async (t) => {
  const uws = loadUws();
  t.is(typeof uws.us_listen_socket_close, 'function');
  const { base } = await gatewayCluster(t);
  const response = await fetch(`${base}/healthz`);
  t.is(response.status, 200);
  t.truthy(response.headers.get('uwebsockets'), 'the native server stamps its uWebSockets header');
});

test('POST a message with headers: stored with tags, keys and properties; readable by offset msgId and by key', async (t) => {
  const { base } = await gatewayCluster(t);
  const response = await post(base, 'HttpTopic', 'hello over http', {
    'x-bolide-tags': 'TagA', 'x-bolide-keys': 'order-1 customer-7', 'x-bolide-property-color': 'blue', 'x-bolide-queue-id': '2',
  });
  t.is(response.status, 200);
  const produced = await response.json() as Produced;
  t.like(produced, { status: 'SEND_OK', topic: 'HttpTopic', queueId: 2, queueOffset: 0 });
  const [message] = produced.messages;
  t.regex(message?.msgId ?? '', /^[0-9A-F]{32}$/);
  const byId = await (await fetch(`${base}/api/messages/${message?.offsetMsgId}`)).json() as Record<string, unknown>;
  t.like(byId, { topic: 'HttpTopic', queueId: 2, queueOffset: 0, body: 'hello over http', bodyEncoding: 'utf8', tags: 'TagA', msgId: message?.msgId });
  t.deepEqual(byId['keys'], ['order-1', 'customer-7']);
  t.is((byId['properties'] as Record<string, string>)['color'], 'blue');
  const byUniq = await (await fetch(`${base}/api/messages/${message?.msgId}?topic=HttpTopic`)).json() as Record<string, unknown>;
  t.is(byUniq['offsetMsgId'], message?.offsetMsgId);
  const byKey = await (await fetch(`${base}/api/messages?topic=HttpTopic&key=customer-7`)).json() as { messages: unknown[] };
  t.is(byKey.messages.length, 1);
});

test('a POST with a delivery time answers with a recallHandle that RECALL_MESSAGE accepts', async (t) => {
  const { base, client, brokerAddr } = await gatewayCluster(t);
  const produced = await (await post(base, 'HttpTimer', 'later', { 'x-bolide-delay-ms': '60000' })).json() as Produced & { recallHandle?: string };
  const plain = await (await post(base, 'HttpTimer', 'now', {})).json() as Produced & { recallHandle?: string };
  t.is(plain.recallHandle, undefined);
  const handle = decodeRecallHandle(produced.recallHandle ?? '');
  t.like(handle, { topic: 'HttpTimer', messageId: produced.messages[0]?.msgId });
  const recall = await client.invoke(brokerAddr, makeRequest(RequestCode.RECALL_MESSAGE, {
    extFields: encodeHeader(RecallMessageRequestHeader, { topic: 'HttpTimer', recallHandle: produced.recallHandle! }),
  }));
  t.is(recall.code, ResponseCode.SUCCESS, recall.remark);
  t.is(recall.extFields['msgId'], produced.messages[0]?.msgId);
  // /metrics: the message and its recall marker wait in the timer queue; the recall is held.
  const text = await (await fetch(`${base}/metrics`)).text();
  const value = (name: string) => Number(text.match(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm'))?.[1]);
  t.is(value('bolide_timer_messages_pending'), 2);
  t.is(value('bolide_timer_recalls_pending'), 1);
  t.is(value('bolide_timer_messages_recalled_total'), 0);
  t.is(value('bolide_timer_wheel_bytes') % (28 * 65_536), 0, 'the pool is whole chunks');
});

test('a timer POST past timerMaxPendingMessages is a 503 TIMER_FLOW_CONTROL with Retry-After; plain POSTs still succeed', async (t) => {
  const { base } = await gatewayCluster(t, { timerMaxPendingMessages: 2 });
  const timer = { 'x-bolide-delay-ms': '60000' };
  for (const body of ['t0', 't1']) t.is((await post(base, 'HttpTimerCap', body, timer)).status, 200);
  const refused = await post(base, 'HttpTimerCap', 't2', timer);
  t.is(refused.status, 503);
  t.is(refused.headers.get('retry-after'), '1');
  const { error } = await refused.json() as { error: { code: string; message: string; responseCode: number } };
  t.is(error.code, 'TIMER_FLOW_CONTROL');
  t.is(error.responseCode, ResponseCode.SYSTEM_ERROR);
  t.regex(error.message, /2 timer messages pending, timerMaxPendingMessages is 2/);
  t.is((await post(base, 'HttpTimerCap', 'now')).status, 200);
  t.is((await post(base, 'HttpTimerCap', 'level', { 'x-bolide-delay-level': '1' })).status, 200);
});

test('a POST the broker refuses with SERVICE_NOT_AVAILABLE (store closed: shutting down) is a 503 with Retry-After: 1', async (t) => {
  const { base, broker } = await gatewayCluster(t);
  t.is((await post(base, 'HttpUnavailable', 'before')).status, 200);
  broker.store.close();
  const refused = await post(base, 'HttpUnavailable', 'after');
  t.is(refused.status, 503);
  t.is(refused.headers.get('retry-after'), '1');
  const { error } = await refused.json() as { error: { code: string; message: string; responseCode: number } };
  t.is(error.code, 'SEND_REFUSED');
  t.is(error.responseCode, ResponseCode.SERVICE_NOT_AVAILABLE);
  t.regex(error.message, /shutting down/);
});

test('a retried POST with the same x-bolide-msg-id returns the first result and is stored once', async (t) => {
  const { base, broker } = await gatewayCluster(t);
  const msgId = '7F00000100002A9F0000000000000001';
  const headers = { 'x-bolide-msg-id': msgId, 'x-bolide-queue-id': '0' };
  const first = await (await post(base, 'HttpRetry', 'once', headers)).json() as Produced;
  const again = await (await post(base, 'HttpRetry', 'once', headers)).json() as Produced;
  t.deepEqual(again, first);
  t.is(first.messages[0]?.msgId, msgId);
  t.is(broker.store.maxOffset('HttpRetry', 0), 1);
});

test('a JSON batch envelope lands in one queue at consecutive offsets with per-message ids', async (t) => {
  const { base, broker } = await gatewayCluster(t);
  const envelope = {
    queueId: 1,
    messages: [
      { body: 'one', tags: 'T1', keys: ['k1'], properties: { CaseSensitive: 'yes' } },
      { body: Buffer.from([0, 1, 2, 255]).toString('base64'), bodyEncoding: 'base64' },
      { body: 'three' },
    ],
  };
  const response = await post(base, 'HttpBatch', JSON.stringify(envelope), { 'content-type': 'application/vnd.bolide.batch+json' });
  t.is(response.status, 200);
  const produced = await response.json() as Produced;
  t.like(produced, { queueId: 1, queueOffset: 0 });
  t.is(new Set(produced.messages.map((m) => m.msgId)).size, 3);
  t.is(broker.store.maxOffset('HttpBatch', 1), 3);
  const second = await (await fetch(`${base}/api/messages/${produced.messages[1]?.offsetMsgId}`)).json() as Record<string, unknown>;
  t.like(second, { queueOffset: 1, bodyEncoding: 'base64', body: Buffer.from([0, 1, 2, 255]).toString('base64') });
  const first = await (await fetch(`${base}/api/messages/${produced.messages[0]?.offsetMsgId}`)).json() as Record<string, unknown>;
  t.is((first['properties'] as Record<string, string>)['CaseSensitive'], 'yes');
});

test('a percent-encoded topic in the produce path is decoded every time; a bad encoding is a 400 every time', async (t) => {
  const { base } = await gatewayCluster(t);
  const encoded = async () => (await fetch(`${base}/topics/Enc%2DTopic/messages`, { method: 'POST', body: 'x' })).json() as Promise<Produced>;
  t.like(await encoded(), { topic: 'Enc-Topic', queueOffset: 0 });
  const plain = await post(base, 'Plain-Topic', 'x');
  t.like(await plain.json() as Produced, { topic: 'Plain-Topic' });
  const badEncoding = () => fetch(`${base}/topics/%E0%A4%A/messages`, { method: 'POST', body: 'x' });
  for (let i = 0; i < 2; i++) {
    const refused = await badEncoding();
    t.is(refused.status, 400);
    t.like(((await refused.json()) as { error: object }).error, { code: 'BAD_REQUEST' });
  }
  t.is((await encoded()).topic, 'Enc-Topic');
});

test('bad input gets a 4xx with a code, and the broker keeps serving', async (t) => {
  const { base } = await gatewayCluster(t, { maxMessageSize: 2048, autoCreateTopicEnable: false });
  const failure = async (response: Response) => ({ status: response.status, code: ((await response.json()) as { error: { code: string } }).error.code });
  t.deepEqual(await failure(await post(base, 'TBW102', 'x', { 'x-bolide-delay-level': 'soon' })), { status: 400, code: 'BAD_HEADER' });
  t.deepEqual(await failure(await post(base, 'TBW102', 'x', { 'x-bolide-msg-id': 'not-hex' })), { status: 400, code: 'BAD_HEADER' });
  t.deepEqual(await failure(await post(base, 'TBW102', Buffer.alloc(4096))), { status: 413, code: 'BODY_TOO_LARGE' });
  t.deepEqual(await failure(await post(base, 'Nope', '{', { 'content-type': 'application/vnd.bolide.batch+json' })), { status: 400, code: 'BAD_JSON' });
  t.deepEqual(await failure(await post(base, 'Nope', '{"messages":[]}', { 'content-type': 'application/vnd.bolide.batch+json' })), { status: 400, code: 'BAD_JSON' });
  const unknownTopic = await post(base, 'NoSuchTopic', 'x');
  t.is(unknownTopic.status, 404);
  t.like(((await unknownTopic.json()) as { error: object }).error, { code: 'SEND_REFUSED', responseCode: ResponseCode.TOPIC_NOT_EXIST });
  t.deepEqual(await failure(await post(base, 'bad name!', 'x')), { status: 400, code: 'BAD_REQUEST' });
  t.deepEqual(await failure(await fetch(`${base}/topics/T/messages`)), { status: 405, code: 'METHOD_NOT_ALLOWED' });
  t.deepEqual(await failure(await fetch(`${base}/no/such/route`)), { status: 404, code: 'NOT_FOUND' });
  t.deepEqual(await failure(await fetch(`${base}/api/topics/%E0%A4%A`)), { status: 400, code: 'BAD_REQUEST' });
  t.deepEqual(await failure(await fetch(`${base}/api/topics?limit=0`)), { status: 400, code: 'BAD_REQUEST' });
  t.deepEqual(await failure(await fetch(`${base}/api/topics/Missing`)), { status: 404, code: 'NOT_FOUND' });
  t.is((await fetch(`${base}/healthz`)).status, 200);
});

test('admin reads: cluster, paged topics, topic queues, groups with lag', async (t) => {
  const { base, client, brokerAddr, broker } = await gatewayCluster(t);
  for (const topic of ['PageA', 'PageB', 'PageC', 'Other']) {
    for (let i = 0; i < 3; i += 1) await post(base, topic, `m${i}`, { 'x-bolide-queue-id': '0' });
  }
  broker.store.waitDispatched();
  const cluster = await (await fetch(`${base}/api/cluster`)).json() as Record<string, unknown>;
  t.like(cluster, { brokerName: 'broker-a', clusterName: 'DefaultCluster', brokerAddr });
  const pageOne = await (await fetch(`${base}/api/topics?prefix=Page&limit=2`)).json() as { total: number; items: Array<{ topic: string; messages: number }> };
  t.is(pageOne.total, 3);
  t.deepEqual(pageOne.items.map((i) => i.topic), ['PageA', 'PageB']);
  t.is(pageOne.items[0]?.messages, 3);
  const pageTwo = await (await fetch(`${base}/api/topics?prefix=Page&limit=2&offset=2`)).json() as { items: Array<{ topic: string }> };
  t.deepEqual(pageTwo.items.map((i) => i.topic), ['PageC']);
  const detail = await (await fetch(`${base}/api/topics/PageA`)).json() as { queues: Array<{ queueId: number; maxOffset: number }> };
  t.is(detail.queues.find((q) => q.queueId === 0)?.maxOffset, 3);

  await client.invoke(brokerAddr, makeRequest(RequestCode.UPDATE_CONSUMER_OFFSET, {
    extFields: encodeHeader(UpdateConsumerOffsetRequestHeader, { consumerGroup: 'LagGroup', topic: 'PageA', queueId: 0, commitOffset: 1 }),
  }));
  const groups = await (await fetch(`${base}/api/groups?prefix=Lag`)).json() as { items: Array<{ group: string; lag: number }> };
  t.deepEqual(groups.items.map((g) => [g.group, g.lag]), [['LagGroup', 2]]);
  const group = await (await fetch(`${base}/api/groups/LagGroup`)).json() as { queues: Array<{ topic: string; queueId: number; lag: number }> };
  t.like(group.queues.find((q) => q.topic === 'PageA' && q.queueId === 0), { lag: 2 });
  t.is((await fetch(`${base}/api/groups/NoSuchGroup`)).status, 404);
});

test('/metrics reports the traffic sent: stored messages per topic, lag per queue, gateway counters', async (t) => {
  const { base, client, brokerAddr, broker } = await gatewayCluster(t);
  for (let i = 0; i < 5; i += 1) await post(base, 'MetricTopic', `m${i}`, { 'x-bolide-queue-id': '1' });
  broker.store.waitDispatched();
  await client.invoke(brokerAddr, makeRequest(RequestCode.UPDATE_CONSUMER_OFFSET, {
    extFields: encodeHeader(UpdateConsumerOffsetRequestHeader, { consumerGroup: 'MetricGroup', topic: 'MetricTopic', queueId: 1, commitOffset: 2 }),
  }));
  const response = await fetch(`${base}/metrics`);
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  const value = (pattern: string) => Number(text.match(new RegExp(`^${pattern} (\\S+)$`, 'm'))?.[1]);
  const labels = 'cluster="DefaultCluster",broker="broker-a"';
  t.is(value(`bolide_topic_messages_stored\\{${labels},topic="MetricTopic"\\}`), 5);
  t.is(value(`bolide_consumer_lag_messages\\{${labels},group="MetricGroup",topic="MetricTopic",queue="1"\\}`), 3);
  t.is(value(`bolide_http_messages_produced_total\\{${labels}\\}`), 5);
  t.true(value(`bolide_messages_appended_total\\{${labels}\\}`) >= 5);
  t.true(value('bolide_process_rss_anon_bytes') > 0);
  t.true(value(`bolide_disk_total_bytes\\{${labels}\\}`) > 0);
  t.is(value(`bolide_topic_messages_in_total\\{${labels},topic="MetricTopic"\\}`), 5);
  t.true(value(`bolide_topic_bytes_in_total\\{${labels},topic="MetricTopic"\\}`) > 5 * 2);
  t.true(value(`bolide_send_latency_seconds_count\\{${labels}\\}`) >= 5);
  t.is(value(`bolide_send_latency_seconds_bucket\\{${labels},le="\\+Inf"\\}`), value(`bolide_send_latency_seconds_count\\{${labels}\\}`));
  t.is(value(`bolide_fsync_seconds_bucket\\{${labels},le="\\+Inf"\\}`), value(`bolide_fsync_seconds_count\\{${labels}\\}`));
  // Every sample line belongs to a declared family.
  const declared = new Set([...text.matchAll(/^# TYPE (\S+) (counter|gauge|histogram)$/gm)].map((m) => m[1]));
  for (const line of text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))) {
    const name = line.split(/[{ ]/)[0] ?? '';
    t.true(declared.has(name) || declared.has(name.replace(/_(bucket|sum|count)$/, '')), line);
  }
});

/** Sends `count` messages to queue 0 of `topic`, pulls them back, returns the /metrics text. */
async function sendPullScrape(t: ExecutionContext, options: BrokerOptions, topic: string, count: number): Promise<(pattern: string) => number> {
  const { base, client, brokerAddr, broker } = await gatewayCluster(t, options);
  for (let i = 0; i < count; i += 1) {
    const sent = await client.invoke(brokerAddr, sendRequest({ topic, queueId: 0, body: `page-${i}` }));
    t.is(sent.code, ResponseCode.SUCCESS);
  }
  broker.store.waitDispatched();
  const pulled = await client.invoke(brokerAddr, pullRequest({ topic, queueId: 0, queueOffset: 0, maxMsgNums: 32 }));
  t.is(pulled.code, ResponseCode.SUCCESS);
  // Residency is sampled by an engine thread; take one now so the gauges are there to check.
  broker.store.samplePageCacheNow();
  const text = await (await fetch(`${base}/metrics`)).text();
  for (const family of ['bolide_pull_messages_total', 'bolide_pull_bytes_total', 'bolide_commitlog_resident_bytes', 'bolide_process_major_page_faults_total']) {
    t.regex(text, new RegExp(`^# HELP ${family} \\S`, 'm'), family);
  }
  return (pattern: string) => Number(text.match(new RegExp(`^${pattern} (\\S+)$`, 'm'))?.[1]);
}

const brokerLabels = 'cluster="DefaultCluster",broker="broker-a"';

test('/metrics page-cache hints: pulls near the write head count as served from memory; residency stays within the mapping', async (t) => {
  const value = await sendPullScrape(t, {}, 'PageHot', 4);
  const pulledBytes = value(`bolide_topic_bytes_out_total\\{${brokerLabels},topic="PageHot"\\}`);
  t.true(pulledBytes > 4 * 'page-0'.length);
  t.is(value(`bolide_pull_messages_total\\{${brokerLabels},source="memory"\\}`), 4);
  t.is(value(`bolide_pull_messages_total\\{${brokerLabels},source="disk"\\}`), 0);
  t.is(value(`bolide_pull_bytes_total\\{${brokerLabels},source="memory"\\}`), pulledBytes);
  t.is(value(`bolide_pull_bytes_total\\{${brokerLabels},source="disk"\\}`), 0);
  t.true(value(`bolide_pull_in_memory_window_bytes\\{${brokerLabels}\\}`) > 0);
  const mapped = value(`bolide_commitlog_mapped_bytes\\{${brokerLabels}\\}`);
  t.true(mapped > 0);
  t.true(value(`bolide_commitlog_resident_bytes\\{${brokerLabels}\\}`) <= mapped);
  const hotTail = value(`bolide_commitlog_hot_tail_bytes\\{${brokerLabels}\\}`);
  t.true(hotTail > 0 && hotTail <= mapped);
  t.true(value(`bolide_commitlog_hot_tail_resident_bytes\\{${brokerLabels}\\}`) <= hotTail);
  t.true(value('bolide_process_major_page_faults_total') >= 0);
  t.true(value('bolide_process_minor_page_faults_total') > 0, 'a running Node process has faulted pages in');
});

test('/metrics page-cache hints: accessMessageInMemoryMaxRatio=0 counts every pulled message as read from disk', async (t) => {
  const value = await sendPullScrape(t, { accessMessageInMemoryMaxRatio: 0 }, 'PageCold', 3);
  const pulledBytes = value(`bolide_topic_bytes_out_total\\{${brokerLabels},topic="PageCold"\\}`);
  t.is(value(`bolide_pull_in_memory_window_bytes\\{${brokerLabels}\\}`), 0);
  t.is(value(`bolide_pull_messages_total\\{${brokerLabels},source="disk"\\}`), 3);
  t.is(value(`bolide_pull_messages_total\\{${brokerLabels},source="memory"\\}`), 0);
  t.is(value(`bolide_pull_bytes_total\\{${brokerLabels},source="disk"\\}`), pulledBytes);
  t.is(value(`bolide_pull_bytes_total\\{${brokerLabels},source="memory"\\}`), 0);
});

test('a second gateway asking for a port in use fails with LISTEN_FAILED', async (t) => {
  const { broker, gateway } = await gatewayCluster(t);
  const error = await t.throwsAsync(attachGateway(broker, { port: gateway.port }));
  t.is((error as { code?: string }).code, 'LISTEN_FAILED');
});
