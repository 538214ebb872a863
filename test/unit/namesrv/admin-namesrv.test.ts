// Name server admin calls mqadmin uses: DELETE_TOPIC_IN_NAMESRV (216), GET_TOPICS_BY_CLUSTER (224),
// GET_SYSTEM_TOPIC_LIST_FROM_NS (304), WIPE_WRITE_PERM_OF_BROKER (205) / ADD_WRITE_PERM_OF_BROKER (327).
import test from 'ava';
import {
  CreateTopicRequestHeader, RequestCode, ResponseCode, decodeTopicList, decodeTopicRouteData, encodeHeader, makeRequest,
} from '../../../ts/protocol/index.js';
import { startCluster } from '../../support/broker.js';
import { sleep } from '../../helpers/raw-socket.js';
import { RouteInfoManager } from '../../../ts/namesrv/route-info-manager.js';

test('GET_TOPICS_BY_CLUSTER, GET_SYSTEM_TOPIC_LIST_FROM_NS, write permission wipe/add, DELETE_TOPIC_IN_NAMESRV', async (t) => {
  const c = await startCluster(t);
  await c.client.invoke(c.brokerAddr, makeRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, {
    extFields: encodeHeader(CreateTopicRequestHeader, {
      topic: 'NsT', defaultTopic: 'TBW102', readQueueNums: 2, writeQueueNums: 2, perm: 6, topicFilterType: 'SINGLE_TAG', order: false,
    }),
  }));
  const route = () => c.client.invoke(c.namesrvAddr, makeRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { extFields: { topic: 'NsT' } }));
  for (let i = 0; i < 50 && (await route()).code !== ResponseCode.SUCCESS; i += 1) await sleep(100);
  t.is((await route()).code, ResponseCode.SUCCESS, 'NsT routed');

  const byCluster = await c.client.invoke(c.namesrvAddr, makeRequest(RequestCode.GET_TOPICS_BY_CLUSTER, { extFields: { cluster: 'DefaultCluster' } }));
  t.is(byCluster.code, ResponseCode.SUCCESS);
  const topics = decodeTopicList(byCluster.body ?? Buffer.alloc(0));
  t.true(topics.includes('NsT'));
  t.true(topics.includes('TBW102'));
  const otherCluster = await c.client.invoke(c.namesrvAddr, makeRequest(RequestCode.GET_TOPICS_BY_CLUSTER, { extFields: { cluster: 'Nope' } }));
  t.is(otherCluster.body?.toString(), '{"topicList":[]}');

  const system = await c.client.invoke(c.namesrvAddr, makeRequest(RequestCode.GET_SYSTEM_TOPIC_LIST_FROM_NS));
  t.deepEqual(JSON.parse(system.body?.toString() ?? ''), { brokerAddr: c.brokerAddr, topicList: ['DefaultCluster', 'broker-a'] });

  const wipe = await c.client.invoke(c.namesrvAddr, makeRequest(RequestCode.WIPE_WRITE_PERM_OF_BROKER, { extFields: { brokerName: 'broker-a' } }));
  t.is(wipe.code, ResponseCode.SUCCESS);
  t.true(Number(wipe.extFields['wipeTopicCount']) >= 1);
  t.is(decodeTopicRouteData((await route()).body ?? Buffer.alloc(0)).queueDatas[0]?.perm, 4);
  const add = await c.client.invoke(c.namesrvAddr, makeRequest(RequestCode.ADD_WRITE_PERM_OF_BROKER, { extFields: { brokerName: 'broker-a' } }));
  t.is(add.extFields['addTopicCount'], wipe.extFields['wipeTopicCount']);
  t.is(decodeTopicRouteData((await route()).body ?? Buffer.alloc(0)).queueDatas[0]?.perm, 6);

  // A cluster the topic is not in: nothing removed.
  await c.client.invoke(c.namesrvAddr, makeRequest(RequestCode.DELETE_TOPIC_IN_NAMESRV, { extFields: { topic: 'NsT', clusterName: 'Other' } }));
  t.is((await route()).code, ResponseCode.SUCCESS);
  const deleted = await c.client.invoke(c.namesrvAddr, makeRequest(RequestCode.DELETE_TOPIC_IN_NAMESRV, { extFields: { topic: 'NsT' } }));
  t.is(deleted.code, ResponseCode.SUCCESS);
  t.is((await route()).code, ResponseCode.TOPIC_NOT_EXIST);
});

test('RouteInfoManager.deleteTopic by cluster keeps other clusters\' queues', (t) => {
  const routes = new RouteInfoManager();
  const topicConfigTable = {
    T: { topicName: 'T', readQueueNums: 4, writeQueueNums: 4, perm: 6, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false, attributes: {} },
  };
  for (const [cluster, name, addr] of [['C1', 'b1', '10.0.0.1:10911'], ['C2', 'b2', '10.0.0.2:10911']] as const) {
    routes.registerBroker({
      clusterName: cluster, brokerAddr: addr, brokerName: name, brokerId: 0, haServerAddr: addr, enableActingMaster: false,
      topicConfigTable, dataVersion: { counter: 1, stateVersion: 0, timestamp: 1 }, connectionId: undefined, nowMs: 0,
    });
  }
  t.deepEqual(routes.getTopicsByCluster('C1'), ['T']);
  t.true(routes.deleteTopic('T', 'C1'));
  t.deepEqual(routes.getTopicRoute('T')?.queueDatas.map((q) => q.brokerName), ['b2']);
  t.deepEqual(routes.getTopicsByCluster('C1'), []);
  t.false(routes.deleteTopic('T', 'C1'));
  t.true(routes.deleteTopic('T'));
  t.is(routes.getTopicRoute('T'), null);
});
