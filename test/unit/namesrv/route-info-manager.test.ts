import test from 'ava';
import type { TopicConfig } from '../../../ts/protocol/index.js';
import { RouteInfoManager, type BrokerRegistration } from '../../../ts/namesrv/index.js';

function topic(name: string, queues = 4, perm = 6): TopicConfig {
  return {
    topicName: name, readQueueNums: queues, writeQueueNums: queues, perm, topicFilterType: 'SINGLE_TAG',
    topicSysFlag: 0, order: false, attributes: {},
  };
}

function registration(overrides: Partial<BrokerRegistration> & { topics?: TopicConfig[]; counter?: number }): BrokerRegistration {
  const { topics = [], counter = 1, ...rest } = overrides;
  return {
    clusterName: 'DefaultCluster', brokerAddr: '10.0.0.1:10911', brokerName: 'broker-a', brokerId: 0,
    haServerAddr: '10.0.0.1:10912', enableActingMaster: false,
    topicConfigTable: Object.fromEntries(topics.map((config) => [config.topicName, config])),
    dataVersion: { counter, stateVersion: 0, timestamp: 1 }, connectionId: 1, nowMs: 0, ...rest,
  };
}

test('incremental registrations add topics without dropping the others', (t) => {
  const routes = new RouteInfoManager();
  routes.registerBroker(registration({ topics: [topic('A'), topic('B')] }));
  routes.registerBroker(registration({ topics: [topic('C')], counter: 2 }));
  t.deepEqual(routes.getAllTopics(), ['A', 'B', 'C']);
});

test('topic queues change only when the master reports a new data version', (t) => {
  const routes = new RouteInfoManager();
  routes.registerBroker(registration({ topics: [topic('A', 4)] }));
  routes.registerBroker(registration({ topics: [topic('A', 8)] }));
  t.is(routes.getTopicRoute('A')?.queueDatas[0]?.readQueueNums, 4);
  routes.registerBroker(registration({ topics: [topic('A', 8)], counter: 2 }));
  t.is(routes.getTopicRoute('A')?.queueDatas[0]?.readQueueNums, 8);
  // A slave's registration never touches queue data.
  routes.registerBroker(registration({ brokerAddr: '10.0.0.2:10911', brokerId: 1, topics: [topic('A', 2), topic('S')], counter: 9 }));
  t.is(routes.getTopicRoute('A')?.queueDatas[0]?.readQueueNums, 8);
  t.is(routes.getTopicRoute('S'), null);
});

test('slaves learn their master; removing the last address removes the group and its topics', (t) => {
  const routes = new RouteInfoManager();
  t.deepEqual(routes.registerBroker(registration({ brokerAddr: 's:1', brokerId: 1, connectionId: 2 })), {});
  routes.registerBroker(registration({ topics: [topic('A')] }));
  t.deepEqual(routes.registerBroker(registration({ brokerAddr: 's:1', brokerId: 1, connectionId: 2 })), {
    haServerAddr: '10.0.0.1:10912', masterAddr: '10.0.0.1:10911',
  });
  t.deepEqual(routes.removeBrokersOfConnection(1), ['10.0.0.1:10911']);
  t.deepEqual(routes.getTopicRoute('A')?.brokerDatas[0]?.brokerAddrs, { 1: 's:1' });
  t.deepEqual(routes.removeExpiredBrokers(200_000, 120_000), ['s:1']);
  t.is(routes.getTopicRoute('A'), null);
  t.deepEqual(routes.getClusterInfo(), { brokerAddrTable: {}, clusterAddrTable: {} });
});

test('an address switching role (slave promoted to master) keeps one entry', (t) => {
  const routes = new RouteInfoManager();
  routes.registerBroker(registration({ brokerAddr: 'x:1', brokerId: 1, topics: [topic('A')] }));
  routes.registerBroker(registration({ brokerAddr: 'x:1', brokerId: 0, topics: [topic('A')] }));
  t.deepEqual(routes.getTopicRoute('A')?.brokerDatas[0]?.brokerAddrs, { 0: 'x:1' });
});

test('unregister removes one id; the data version check reports unknown brokers as changed', (t) => {
  const routes = new RouteInfoManager();
  routes.registerBroker(registration({ topics: [topic('A')] }));
  t.false(routes.isBrokerTopicConfigChanged('10.0.0.1:10911', { counter: 1, stateVersion: 0, timestamp: 1 }));
  t.true(routes.isBrokerTopicConfigChanged('10.0.0.1:10911', { counter: 2, stateVersion: 0, timestamp: 1 }));
  t.true(routes.isBrokerTopicConfigChanged('nobody:1', { counter: 1, stateVersion: 0, timestamp: 1 }));
  t.true(routes.unregisterBroker({ brokerName: 'broker-a', brokerAddr: '10.0.0.1:10911', brokerId: 0 }));
  t.deepEqual(routes.getAllTopics(), []);
  t.false(routes.unregisterBroker({ brokerName: 'broker-a', brokerAddr: '10.0.0.1:10911', brokerId: 0 }));
});
