// Clients driven through a fake Transport (no sockets): name-server failover order and
// error mapping, deterministic.
import test from 'ava';
import { silentLogger } from '../../../ts/common/index.js';
import { ConnectError } from '../../../ts/common/errors.js';
import {
  RequestCode, ResponseCode, encodeTopicRouteData, makeResponse, type RemotingCommand,
} from '../../../ts/protocol/index.js';
import { Admin, NetworkError, Producer, type Transport } from '../../../ts/sdk/index.js';

/** A transport answering from a table of per-address handlers; unknown addresses refuse. */
function fakeTransport(handlers: Record<string, (request: RemotingCommand) => RemotingCommand>, log: string[]): Transport {
  return {
    invoke: async (address, request) => {
      log.push(`${address} ${request.code}`);
      const handler = handlers[address];
      if (handler === undefined) throw new ConnectError(`cannot connect to ${address}`);
      return handler(request);
    },
    invokeOneway: async (address, request) => { log.push(`${address} ${request.code} oneway`); },
    registerProcessor: () => undefined,
    close: async () => undefined,
  };
}

const route = encodeTopicRouteData({
  queueDatas: [{ brokerName: 'b', readQueueNums: 2, writeQueueNums: 2, perm: 6, topicSysFlag: 0 }],
  brokerDatas: [{ cluster: 'c', brokerName: 'b', brokerAddrs: { 0: 'broker:1' }, enableActingMaster: false }],
  filterServerTable: {},
});

test('name server failover: skip the dead one, remember the one that answered', async (t) => {
  const log: string[] = [];
  const transport = fakeTransport({
    'ns2:1': (request) => makeResponse(request, 0, { body: route }),
    'broker:1': (request) => makeResponse(request, 0, {
      extFields: { msgId: '7F000001000000010000000000000001', queueId: request.extFields['e'] ?? '0', queueOffset: '1' },
    }),
  }, log);
  const producer = new Producer({
    groupName: 'pg', namesrvAddr: 'ns1:1;ns2:1', logger: silentLogger, transport: () => transport,
  });
  await producer.start();
  const result = await producer.send({ topic: 'T', body: 'x' });
  t.is(result.sendStatus, 'SEND_OK');
  const admin = new Admin({ namesrvAddr: ['ns1:1', 'ns2:1'], logger: silentLogger, transport: () => transport });
  await admin.start();
  await admin.topicRoute('T');
  await admin.topicRoute('T');
  await admin.shutdown();
  await producer.shutdown();
  const namesrvCalls = log.filter((line) => line.includes(` ${RequestCode.GET_ROUTEINFO_BY_TOPIC}`));
  // Producer: ns1 refused, ns2 answered. Admin: ns1, ns2, then straight to ns2.
  t.deepEqual(namesrvCalls, ['ns1:1 105', 'ns2:1 105', 'ns1:1 105', 'ns2:1 105', 'ns2:1 105']);
});

test('every name server down: a retriable NetworkError', async (t) => {
  const transport = fakeTransport({}, []);
  const admin = new Admin({ namesrvAddr: 'ns1:1;ns2:1', logger: silentLogger, transport: () => transport });
  await admin.start();
  const error = await t.throwsAsync(admin.topicList(), { instanceOf: NetworkError });
  t.true(error!.retriable);
  await admin.shutdown();
  t.is(ResponseCode.SUCCESS, 0);
});
