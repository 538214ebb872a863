// Offsets round trip, QUERY_MESSAGE / VIEW_MESSAGE_BY_ID, topic creation, and what survives a
// broker restart on the same store directory.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import {
  CreateTopicRequestHeader, GetMaxOffsetRequestHeader, QueryConsumerOffsetRequestHeader, QueryMessageRequestHeader,
  RequestCode, ResponseCode, SearchOffsetRequestHeader, UpdateConsumerOffsetRequestHeader, decodeOffsetMsgId,
  decodeStoredMessages, encodeHeader, makeRequest,
} from '../../../ts/protocol/index.js';
import { sendRequest, startBroker, startCluster } from '../../support/broker.js';
import { tempDir } from '../../support/temp.js';
import { waitFor } from '../../helpers/raw-socket.js';

const queryOffset = (consumerGroup: string, topic: string, queueId = 0) => makeRequest(RequestCode.QUERY_CONSUMER_OFFSET, {
  extFields: encodeHeader(QueryConsumerOffsetRequestHeader, { consumerGroup, topic, queueId }),
});

test('consumer offsets: new group → 0 (not found when strict), oneway update, query; max/min/search/earliest', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t);
  const topic = 'OffsetTopic';
  const before = Date.now();
  for (let i = 0; i < 5; i += 1) await client.invoke(brokerAddr, sendRequest({ topic }));
  broker.store.waitDispatched();
  const fresh = await client.invoke(brokerAddr, queryOffset('NewGroup', topic));
  t.is(fresh.code, ResponseCode.SUCCESS);
  t.is(fresh.extFields['offset'], '0');
  // A strict client (setZeroIfNotFound=false) is told "not found" and applies its consumeFromWhere.
  const strict = await client.invoke(brokerAddr, makeRequest(RequestCode.QUERY_CONSUMER_OFFSET, {
    extFields: encodeHeader(QueryConsumerOffsetRequestHeader, { consumerGroup: 'NewGroup', topic, queueId: 0, setZeroIfNotFound: false }),
  }));
  t.is(strict.code, ResponseCode.QUERY_NOT_FOUND);
  await client.invokeOneway(brokerAddr, makeRequest(RequestCode.UPDATE_CONSUMER_OFFSET, {
    extFields: encodeHeader(UpdateConsumerOffsetRequestHeader, { consumerGroup: 'G', topic, queueId: 0, commitOffset: 3 }),
  }));
  await waitFor(() => broker.offsets.query('G', topic, 0) === 3, 2000, 'the oneway commit');
  t.is((await client.invoke(brokerAddr, queryOffset('G', topic))).extFields['offset'], '3');
  const max = await client.invoke(brokerAddr, makeRequest(RequestCode.GET_MAX_OFFSET, {
    extFields: encodeHeader(GetMaxOffsetRequestHeader, { topic, queueId: 0 }),
  }));
  t.is(max.extFields['offset'], '5');
  const min = await client.invoke(brokerAddr, makeRequest(RequestCode.GET_MIN_OFFSET, { extFields: { topic, queueId: '0' } }));
  t.is(min.extFields['offset'], '0');
  const search = await client.invoke(brokerAddr, makeRequest(RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, {
    extFields: encodeHeader(SearchOffsetRequestHeader, { topic, queueId: 0, timestamp: before - 1000 }),
  }));
  t.is(search.extFields['offset'], '0');
  const searchEnd = await client.invoke(brokerAddr, makeRequest(RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, {
    extFields: { topic, queueId: '0', timestamp: '9223372036854775807' },
  }));
  t.is(searchEnd.code, ResponseCode.SUCCESS);
  const earliest = await client.invoke(brokerAddr, makeRequest(RequestCode.GET_EARLIEST_MSG_STORETIME, { extFields: { topic, queueId: '0' } }));
  t.true(Number(earliest.extFields['timestamp']) >= before - 1000);
});

test('QUERY_MESSAGE by key and unique key re-checks keys; VIEW_MESSAGE_BY_ID returns the record', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t);
  const topic = 'QueryTopic';
  const ids: string[] = [];
  for (let i = 0; i < 4; i += 1) {
    const response = await client.invoke(brokerAddr, sendRequest({
      topic, body: `q${i}`, properties: { KEYS: `key${i} common`, UNIQ_KEY: `UNIQ${i}` },
    }));
    ids.push(response.extFields['msgId'] ?? '');
  }
  broker.store.waitDispatched();
  const query = (key: string, unique = false) => client.invoke(brokerAddr, makeRequest(RequestCode.QUERY_MESSAGE, {
    extFields: {
      ...encodeHeader(QueryMessageRequestHeader, { topic, key, maxNum: 32, beginTimestamp: 0, endTimestamp: Date.now() + 60_000 }),
      ...(unique ? { _UNIQUE_KEY_QUERY: 'true', endTimestamp: '9223372036854775807' } : {}),
    },
  }));
  let common = await query('common');
  for (let tries = 0; tries < 50 && common.code !== ResponseCode.SUCCESS; tries += 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    common = await query('common');
  }
  t.is(common.code, ResponseCode.SUCCESS);
  t.deepEqual(decodeStoredMessages(common.body ?? Buffer.alloc(0)).map((m) => m.body.toString()).sort(), ['q0', 'q1', 'q2', 'q3']);
  t.truthy(common.extFields['indexLastUpdateTimestamp']);
  const single = await query('key2');
  t.deepEqual(decodeStoredMessages(single.body ?? Buffer.alloc(0)).map((m) => m.body.toString()), ['q2']);
  const unique = await query('UNIQ1', true);
  t.deepEqual(decodeStoredMessages(unique.body ?? Buffer.alloc(0)).map((m) => m.body.toString()), ['q1']);
  t.is((await query('nothing')).code, ResponseCode.QUERY_NOT_FOUND);

  const offset = decodeOffsetMsgId(ids[3] ?? '').commitLogOffset;
  const view = await client.invoke(brokerAddr, makeRequest(RequestCode.VIEW_MESSAGE_BY_ID, { extFields: { offset: String(offset) } }));
  t.is(view.code, ResponseCode.SUCCESS);
  const [viewed] = decodeStoredMessages(view.body ?? Buffer.alloc(0));
  t.is(viewed?.body.toString(), 'q3');
  t.is(viewed?.msgId, ids[3]);
  const bad = await client.invoke(brokerAddr, makeRequest(RequestCode.VIEW_MESSAGE_BY_ID, { extFields: { offset: '12345678' } }));
  t.is(bad.code, ResponseCode.SYSTEM_ERROR);
});

test('topics, offsets and subscription groups survive a restart; fastjson files are read', async (t) => {
  const storeDir = tempDir(t, 'bolide-restart-');
  const { client, brokerAddr, broker, namesrvAddr } = await startCluster(t, { storePathRootDir: storeDir });
  const created = await client.invoke(brokerAddr, makeRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, {
    extFields: encodeHeader(CreateTopicRequestHeader, {
      topic: 'Created', defaultTopic: 'TBW102', readQueueNums: 3, writeQueueNums: 3, perm: 6,
      topicFilterType: 'SINGLE_TAG', order: false,
    }),
  }));
  t.is(created.code, ResponseCode.SUCCESS);
  const route = await client.invoke(namesrvAddr, makeRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { extFields: { topic: 'Created' } }));
  t.is(route.code, ResponseCode.SUCCESS, 'registered with the name server at once');
  await client.invoke(brokerAddr, makeRequest(RequestCode.UPDATE_CONSUMER_OFFSET, {
    extFields: encodeHeader(UpdateConsumerOffsetRequestHeader, { consumerGroup: 'Keep', topic: 'Created', queueId: 2, commitOffset: 42 }),
  }));
  broker.groups.findOrCreate('KeepGroup');
  await broker.shutdown();

  const config = join(storeDir, 'config');
  const offsetsJson = JSON.parse(readFileSync(join(config, 'consumerOffset.json'), 'utf8'));
  t.deepEqual(offsetsJson.offsetTable['Created@Keep'], { 2: 42 });
  const all = await startBroker(t, { storePathRootDir: storeDir, namesrvAddr: [namesrvAddr] });
  t.like(all.topics.get('Created'), { readQueueNums: 3, writeQueueNums: 3, perm: 6 });
  t.is(all.offsets.query('Keep', 'Created', 2), 42);
  t.truthy(all.groups.get('KeepGroup'));
  const list = await client.invoke(all.brokerAddr, makeRequest(RequestCode.GET_ALL_TOPIC_CONFIG));
  t.truthy(JSON.parse(list.body?.toString() ?? '{}').topicConfigTable.Created);
  await all.shutdown();

  // RocketMQ's fastjson form (unquoted integer keys) is accepted.
  writeFileSync(join(config, 'consumerOffset.json'), '{"offsetTable":{"Created@Fast":{0:7,1:9}},"dataVersion":{"counter":1,"timestamp":1}}');
  const third = await startBroker(t, { storePathRootDir: storeDir, namesrvAddr: [namesrvAddr] });
  t.is(third.offsets.query('Fast', 'Created', 1), 9);
});
