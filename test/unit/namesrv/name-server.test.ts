import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { silentLogger } from '../../../ts/common/index.js';
import {
  QueryDataVersionRequestHeader, RegisterBrokerRequestHeader, RequestCode, ResponseCode, crc32Masked, decodeDataVersion,
  decodeKVTable, encodeDataVersion, encodeHeader, encodeRegisterBrokerBody, makeRequest, type RemotingCommand,
  type TopicConfig,
} from '../../../ts/protocol/index.js';
import { RemotingClient } from '../../../ts/remoting/index.js';
import { NameServer, type NamesrvConfig } from '../../../ts/namesrv/index.js';
import { rawPeer, waitFor } from '../../helpers/raw-socket.js';
import { Prng, testSeed } from '../../helpers/prng.js';

async function startNamesrv(t: import('ava').ExecutionContext, config: NamesrvConfig = {}): Promise<{ server: NameServer; address: string }> {
  const server = new NameServer({ logger: silentLogger, ...config });
  const { port } = await server.start({ host: '127.0.0.1', port: 0 });
  t.teardown(() => server.stop());
  return { server, address: `127.0.0.1:${port}` };
}

function newClient(t: import('ava').ExecutionContext): RemotingClient {
  const client = new RemotingClient({ logger: silentLogger });
  t.teardown(() => client.close());
  return client;
}

function topic(name: string, queues = 4): TopicConfig {
  return {
    topicName: name, readQueueNums: queues, writeQueueNums: queues, perm: 6, topicFilterType: 'SINGLE_TAG',
    topicSysFlag: 0, order: false, attributes: {},
  };
}

interface Broker {
  brokerName: string;
  brokerAddr: string;
  brokerId: number;
  topics?: TopicConfig[];
  counter?: number;
}

function registerRequest(broker: Broker): RemotingCommand {
  const body = encodeRegisterBrokerBody({
    topicConfigSerializeWrapper: {
      topicConfigTable: Object.fromEntries((broker.topics ?? []).map((config) => [config.topicName, config])),
      dataVersion: { counter: broker.counter ?? 1, stateVersion: 0, timestamp: 1700000000000 },
    },
    filterServerList: [],
  });
  return makeRequest(RequestCode.REGISTER_BROKER, {
    extFields: encodeHeader(RegisterBrokerRequestHeader, {
      brokerName: broker.brokerName, brokerAddr: broker.brokerAddr, clusterName: 'DefaultCluster',
      haServerAddr: broker.brokerAddr.replace(/:\d+$/, ':10912'), brokerId: broker.brokerId, compressed: false,
      bodyCrc32: crc32Masked(body),
    }),
    body,
  });
}

function routeRequest(topicName: string): RemotingCommand {
  return makeRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { extFields: { topic: topicName } });
}

const A_MASTER: Broker = {
  brokerName: 'broker-a', brokerAddr: '10.0.0.1:10911', brokerId: 0,
  topics: [topic('TopicTest'), topic('TBW102', 8), topic('%RETRY%group1', 1)],
};
const A_SLAVE: Broker = { brokerName: 'broker-a', brokerAddr: '10.0.0.2:10911', brokerId: 1, topics: A_MASTER.topics };
const B_MASTER: Broker = { brokerName: 'broker-b', brokerAddr: '10.0.0.3:10911', brokerId: 0, topics: [topic('TopicTest', 2), topic('OnlyB')] };

test('two broker groups register; routes have the exact JSON shape with quoted broker ids', async (t) => {
  const { address } = await startNamesrv(t);
  const client = newClient(t);
  const master = await client.invoke(address, registerRequest(A_MASTER));
  t.is(master.code, ResponseCode.SUCCESS);
  t.deepEqual(master.extFields, {});
  const slave = await client.invoke(address, registerRequest(A_SLAVE));
  t.deepEqual(slave.extFields, { haServerAddr: '10.0.0.1:10912', masterAddr: '10.0.0.1:10911' });
  t.is((await client.invoke(address, registerRequest(B_MASTER))).code, ResponseCode.SUCCESS);

  const route = await client.invoke(address, routeRequest('TopicTest'));
  t.is(route.code, ResponseCode.SUCCESS);
  t.is(
    route.body?.toString(),
    '{"brokerDatas":[' +
      '{"brokerAddrs":{"0":"10.0.0.1:10911","1":"10.0.0.2:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false},' +
      '{"brokerAddrs":{"0":"10.0.0.3:10911"},"brokerName":"broker-b","cluster":"DefaultCluster","enableActingMaster":false}],' +
      '"filterServerTable":{},"queueDatas":[' +
      '{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4},' +
      '{"brokerName":"broker-b","perm":6,"readQueueNums":2,"topicSysFlag":0,"writeQueueNums":2}]}',
  );
  const retry = JSON.parse((await client.invoke(address, routeRequest('%RETRY%group1'))).body!.toString());
  t.deepEqual(retry.queueDatas, [{ brokerName: 'broker-a', perm: 6, readQueueNums: 1, topicSysFlag: 0, writeQueueNums: 1 }]);
  const template = JSON.parse((await client.invoke(address, routeRequest('TBW102'))).body!.toString());
  t.is(template.queueDatas[0].readQueueNums, 8);
  const onlyB = JSON.parse((await client.invoke(address, routeRequest('OnlyB'))).body!.toString());
  t.deepEqual(onlyB.brokerDatas.map((data: { brokerName: string }) => data.brokerName), ['broker-b']);
});

test('an unknown topic is TOPIC_NOT_EXIST with the documented remark', async (t) => {
  const { address } = await startNamesrv(t);
  const response = await newClient(t).invoke(address, routeRequest('Nope'));
  t.is(response.code, ResponseCode.TOPIC_NOT_EXIST);
  t.is(response.remark, 'No topic route info in name server for the topic: Nope');
  t.is(response.body, undefined);
});

test('cluster info and the topic list reflect registrations and unregistration', async (t) => {
  const { address } = await startNamesrv(t);
  const client = newClient(t);
  for (const broker of [A_MASTER, A_SLAVE, B_MASTER]) await client.invoke(address, registerRequest(broker));
  const info = await client.invoke(address, makeRequest(RequestCode.GET_BROKER_CLUSTER_INFO));
  t.deepEqual(JSON.parse(info.body!.toString()), {
    brokerAddrTable: {
      'broker-a': { brokerAddrs: { 0: '10.0.0.1:10911', 1: '10.0.0.2:10911' }, brokerName: 'broker-a', cluster: 'DefaultCluster', enableActingMaster: false },
      'broker-b': { brokerAddrs: { 0: '10.0.0.3:10911' }, brokerName: 'broker-b', cluster: 'DefaultCluster', enableActingMaster: false },
    },
    clusterAddrTable: { DefaultCluster: ['broker-a', 'broker-b'] },
  });
  const list = await client.invoke(address, makeRequest(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER));
  t.is(list.body?.toString(), '{"topicList":["%RETRY%group1","OnlyB","TBW102","TopicTest"]}');

  const unregister = makeRequest(RequestCode.UNREGISTER_BROKER, {
    extFields: { brokerName: 'broker-b', brokerAddr: '10.0.0.3:10911', clusterName: 'DefaultCluster', brokerId: '0' },
  });
  t.is((await client.invoke(address, unregister)).code, ResponseCode.SUCCESS);
  t.is((await client.invoke(address, routeRequest('OnlyB'))).code, ResponseCode.TOPIC_NOT_EXIST);
  const after = JSON.parse((await client.invoke(address, makeRequest(RequestCode.GET_BROKER_CLUSTER_INFO))).body!.toString());
  t.deepEqual(after.clusterAddrTable, { DefaultCluster: ['broker-a'] });
});

test('a broker that stops registering expires by timer', async (t) => {
  const { address } = await startNamesrv(t, { brokerExpiryMs: 300, scanIntervalMs: 50 });
  const client = newClient(t);
  await client.invoke(address, registerRequest(B_MASTER));
  t.is((await client.invoke(address, routeRequest('OnlyB'))).code, ResponseCode.SUCCESS);
  const started = Date.now();
  let code: number = ResponseCode.SUCCESS;
  while (code === ResponseCode.SUCCESS && Date.now() - started < 5000) {
    code = (await client.invoke(address, routeRequest('OnlyB'))).code;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  t.is(code, ResponseCode.TOPIC_NOT_EXIST);
  t.true(Date.now() - started >= 250, 'not before the expiry period');
});

test('a broker is removed at once when its registering connection closes', async (t) => {
  const { address, server } = await startNamesrv(t);
  const brokerSide = new RemotingClient({ logger: silentLogger });
  await brokerSide.invoke(address, registerRequest(A_MASTER));
  const observer = newClient(t);
  t.is((await observer.invoke(address, routeRequest('TopicTest'))).code, ResponseCode.SUCCESS);
  await brokerSide.close();
  await waitFor(() => server.routes.getTopicRoute('TopicTest') === null, 5000, 'route removal');
  t.is((await observer.invoke(address, routeRequest('TopicTest'))).code, ResponseCode.TOPIC_NOT_EXIST);
});

test('QUERY_DATA_VERSION detects changes and returns the known version', async (t) => {
  const { address } = await startNamesrv(t);
  const client = newClient(t);
  await client.invoke(address, registerRequest({ ...A_MASTER, counter: 5 }));
  const query = (brokerAddr: string, counter: number): RemotingCommand =>
    makeRequest(RequestCode.QUERY_DATA_VERSION, {
      extFields: encodeHeader(QueryDataVersionRequestHeader, {
        brokerName: 'broker-a', brokerAddr, clusterName: 'DefaultCluster', brokerId: 0,
      }),
      body: encodeDataVersion({ counter, stateVersion: 0, timestamp: 1700000000000 }),
    });
  const same = await client.invoke(address, query(A_MASTER.brokerAddr, 5));
  t.is(same.code, ResponseCode.SUCCESS);
  t.is(same.extFields['changed'], 'false');
  t.deepEqual(decodeDataVersion(same.body!), { counter: 5, stateVersion: 0, timestamp: 1700000000000 });
  t.is((await client.invoke(address, query(A_MASTER.brokerAddr, 6))).extFields['changed'], 'true');
  const unknown = await client.invoke(address, query('10.9.9.9:10911', 5));
  t.is(unknown.extFields['changed'], 'true');
  t.is(unknown.body, undefined);
});

test('KV config round trip, persisted atomically and reloaded', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bolide-namesrv-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kvConfigPath = join(dir, 'kvConfig.json');
  const { address, server } = await startNamesrv(t, { kvConfigPath });
  const client = newClient(t);
  const kv = (code: number, extFields: Record<string, string>): Promise<RemotingCommand> =>
    client.invoke(address, makeRequest(code, { extFields }));

  t.is((await kv(RequestCode.PUT_KV_CONFIG, { namespace: 'ORDER_TOPIC_CONFIG', key: 'T', value: 'broker-a:4' })).code, 0);
  t.is((await kv(RequestCode.PUT_KV_CONFIG, { namespace: 'ns', key: 'k2', value: 'v2' })).code, 0);
  const got = await kv(RequestCode.GET_KV_CONFIG, { namespace: 'ORDER_TOPIC_CONFIG', key: 'T' });
  t.deepEqual([got.code, got.extFields['value']], [0, 'broker-a:4']);
  const list = await kv(RequestCode.GET_KVLIST_BY_NAMESPACE, { namespace: 'ORDER_TOPIC_CONFIG' });
  t.deepEqual(decodeKVTable(list.body!), { T: 'broker-a:4' });
  // The register response carries the ORDER_TOPIC_CONFIG table.
  t.deepEqual(decodeKVTable((await client.invoke(address, registerRequest(B_MASTER))).body!), { T: 'broker-a:4' });
  t.is((await kv(RequestCode.DELETE_KV_CONFIG, { namespace: 'ns', key: 'k2' })).code, 0);
  const missing = await kv(RequestCode.GET_KV_CONFIG, { namespace: 'ns', key: 'k2' });
  t.is(missing.code, ResponseCode.QUERY_NOT_FOUND);
  t.is(missing.remark, 'No config item, Namespace: ns Key: k2');
  t.is((await kv(RequestCode.GET_KVLIST_BY_NAMESPACE, { namespace: 'ns' })).code, ResponseCode.QUERY_NOT_FOUND);

  t.deepEqual(JSON.parse(await readFile(kvConfigPath, 'utf8')), { configTable: { ORDER_TOPIC_CONFIG: { T: 'broker-a:4' } } });
  await server.stop();
  const reloaded = await startNamesrv(t, { kvConfigPath });
  const again = await client.invoke(reloaded.address, makeRequest(RequestCode.GET_KV_CONFIG, {
    extFields: { namespace: 'ORDER_TOPIC_CONFIG', key: 'T' },
  }));
  t.is(again.extFields['value'], 'broker-a:4');
});

test('bad registrations are answered with errors that say what is wrong', async (t) => {
  const { address, server } = await startNamesrv(t);
  const client = newClient(t);
  const badBody = registerRequest(A_MASTER);
  badBody.body = Buffer.from('{"topicConfigSerializeWrapper":{"topicConfigTable":{"T":{"perm":"rw"}}}}');
  delete badBody.extFields['bodyCrc32'];
  const bodyError = await client.invoke(address, badBody);
  t.is(bodyError.code, ResponseCode.SYSTEM_ERROR);
  t.regex(bodyError.remark ?? '', /bad RegisterBrokerBody: .*topicConfigTable\.T\.perm/);

  const notJson = registerRequest(A_MASTER);
  notJson.body = Buffer.from('not json');
  delete notJson.extFields['bodyCrc32'];
  t.regex((await client.invoke(address, notJson)).remark ?? '', /invalid JSON/);

  const crc = registerRequest(A_MASTER);
  crc.extFields['bodyCrc32'] = '12345';
  t.regex((await client.invoke(address, crc)).remark ?? '', /CRC32 mismatch/);

  const compressed = registerRequest(A_MASTER);
  compressed.extFields['compressed'] = 'true';
  t.regex((await client.invoke(address, compressed)).remark ?? '', /compressed RegisterBrokerBody is not supported/);

  const noName = registerRequest(A_MASTER);
  delete noName.extFields['brokerName'];
  const missing = await client.invoke(address, noName);
  t.is(missing.code, ResponseCode.SYSTEM_ERROR);
  t.regex(missing.remark ?? '', /required field brokerName is missing/);

  t.is(server.routes.getAllTopics().length, 0);
});

test('garbage frames never crash the name server', async (t) => {
  const { address, server } = await startNamesrv(t);
  const client = newClient(t);
  await client.invoke(address, registerRequest(A_MASTER));
  const seed = testSeed(0x5eed0010);
  t.log(`seed ${seed}`);
  const prng = new Prng(seed);
  const port = server.port;
  for (let round = 0; round < 30; round += 1) {
    const peer = await rawPeer(port);
    const valid = registerRequest(A_MASTER);
    valid.opaque = round;
    if (round % 3 === 0) {
      peer.socket.write(prng.bytes(prng.int(1, 300)));
    } else {
      // A structurally valid frame with a mangled header or body.
      peer.send({ ...valid, extFields: { brokerId: prng.text(5) }, body: prng.bytes(prng.int(0, 100)) }, prng.pick([0, 1] as const));
    }
    peer.socket.end();
    await Promise.race([peer.closed, new Promise((resolve) => setTimeout(resolve, 1000))]);
    peer.socket.destroy();
  }
  const route = await client.invoke(address, routeRequest('TopicTest'));
  t.is(route.code, ResponseCode.SUCCESS);
});
