import test from 'ava';
import {
  ProtocolError, decodeClusterInfo, decodeDataVersion, decodeKVTable, decodeRegisterBrokerBody, decodeTopicList,
  decodeTopicRouteData, encodeClusterInfo, encodeDataVersion, encodeKVTable, encodeRegisterBrokerBody,
  encodeTopicList, encodeTopicRouteData, parseLenientJson, type RegisterBrokerBody, type TopicRouteData,
} from '../../../ts/protocol/index.js';

test('parseLenientJson accepts fastjson unquoted integer keys and nothing else', (t) => {
  t.deepEqual(parseLenientJson('{0:"10.0.0.1:10911",1:"b"}'), { 0: '10.0.0.1:10911', 1: 'b' });
  t.deepEqual(parseLenientJson('{"offsetTable":{"t@g":{0:12, -1 :7}}}'), { offsetTable: { 't@g': { 0: 12, '-1': 7 } } });
  t.deepEqual(parseLenientJson('{"s":"{0:1,2:3}","a":[1,2,{3:4}]}'), { s: '{0:1,2:3}', a: [1, 2, { 3: 4 }] });
  t.deepEqual(parseLenientJson('{"q":"say \\"{5:6}\\""}'), { q: 'say "{5:6}"' });
  for (const bad of ['{a:1}', '{0:1', "{'x':1}", '']) {
    const error = t.throws(() => parseLenientJson(bad), { instanceOf: ProtocolError });
    t.is(error?.code, 'BODY_INVALID');
  }
});

const route: TopicRouteData = {
  queueDatas: [{ brokerName: 'broker-a', readQueueNums: 4, writeQueueNums: 4, perm: 6, topicSysFlag: 0 }],
  brokerDatas: [{
    cluster: 'DefaultCluster', brokerName: 'broker-a', brokerAddrs: { 1: '10.0.0.2:10911', 0: '10.0.0.1:10911' },
    enableActingMaster: false,
  }],
  filterServerTable: {},
};

test('route data encodes with quoted, ordered broker ids and fastjson key order', (t) => {
  t.is(
    encodeTopicRouteData(route).toString(),
    '{"brokerDatas":[{"brokerAddrs":{"0":"10.0.0.1:10911","1":"10.0.0.2:10911"},"brokerName":"broker-a",' +
      '"cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},' +
      '"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}',
  );
  t.deepEqual(decodeTopicRouteData(encodeTopicRouteData(route)), route);
  const unquoted = '{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"broker-a",' +
    '"cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,' +
    '"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}';
  t.deepEqual(decodeTopicRouteData(unquoted), route);
});

test('register broker body decodes fastjson output, fills Java defaults and round-trips', (t) => {
  const text = '{"topicConfigSerializeWrapper":{"topicConfigTable":{"TopicTest":{"order":false,"perm":6,' +
    '"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":4},' +
    '"%RETRY%g":{"perm":6,"readQueueNums":1,"writeQueueNums":1}},' +
    '"dataVersion":{"counter":3,"stateVersion":0,"timestamp":1700000000000}},"filterServerList":[]}';
  const body = decodeRegisterBrokerBody(Buffer.from(text));
  const retry = body.topicConfigSerializeWrapper.topicConfigTable['%RETRY%g'];
  t.like(retry, { topicName: '%RETRY%g', readQueueNums: 1, topicFilterType: 'SINGLE_TAG', order: false });
  t.deepEqual(body.topicConfigSerializeWrapper.dataVersion, { counter: 3, stateVersion: 0, timestamp: 1700000000000 });
  const again: RegisterBrokerBody = decodeRegisterBrokerBody(encodeRegisterBrokerBody(body));
  t.deepEqual(again, body);
});

test('malformed bodies are BODY_INVALID errors naming the path', (t) => {
  const cases: Array<[string, string]> = [
    ['{"topicConfigSerializeWrapper":{"topicConfigTable":{"T":{"perm":"rw"}}}}', 'topicConfigTable.T.perm'],
    ['{"topicConfigSerializeWrapper":[]}', 'topicConfigSerializeWrapper'],
    ['[]', 'RegisterBrokerBody'],
    ['{"topicConfigSerializeWrapper":{"dataVersion":{"counter":1.5}}}', 'dataVersion.counter'],
  ];
  for (const [text, path] of cases) {
    const error = t.throws(() => decodeRegisterBrokerBody(Buffer.from(text)), { instanceOf: ProtocolError });
    t.is(error?.code, 'BODY_INVALID');
    t.true(error?.message.includes(path), `${error?.message} should name ${path}`);
  }
  t.throws(() => decodeRegisterBrokerBody(Buffer.alloc(0)), { instanceOf: ProtocolError });
});

test('small bodies round-trip: data version, KV table, topic list, cluster info', (t) => {
  const version = { counter: 7, stateVersion: 1, timestamp: 5 };
  t.deepEqual(decodeDataVersion(encodeDataVersion(version)), version);
  t.deepEqual(decodeKVTable(encodeKVTable({ a: '1' })), { a: '1' });
  t.is(encodeTopicList(['A', 'B']).toString(), '{"topicList":["A","B"]}');
  t.deepEqual(decodeTopicList(encodeTopicList(['A'])), ['A']);
  const info = { brokerAddrTable: { 'broker-a': route.brokerDatas[0]! }, clusterAddrTable: { DefaultCluster: ['broker-a'] } };
  t.deepEqual(decodeClusterInfo(encodeClusterInfo(info)), info);
});
