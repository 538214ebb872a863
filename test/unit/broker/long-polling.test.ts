// Long polling, observed on the wire: a raw peer counts every frame it sends and receives.
import test from 'ava';
import { ResponseCode, decodeStoredMessages } from '../../../ts/protocol/index.js';
import { pullRequest, sendRequest, startCluster } from '../../support/broker.js';
import { rawPeer, sleep, waitFor } from '../../helpers/raw-socket.js';

const SUSPEND_AND_SUBSCRIPTION = 0x2 | 0x4;

test('ONE parked pull is answered by a later send, not by the client retrying', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t);
  const topic = 'LongPollTopic';
  t.is((await client.invoke(brokerAddr, sendRequest({ topic, body: 'first' }))).code, ResponseCode.SUCCESS);
  broker.store.waitDispatched();
  const peer = await rawPeer(broker.port);
  t.teardown(() => peer.socket.destroy());
  let sent = 0;
  peer.send({ ...pullRequest({ topic, queueOffset: 1, sysFlag: SUSPEND_AND_SUBSCRIPTION, suspendTimeoutMillis: 20_000 }), opaque: 41 });
  sent += 1;
  await waitFor(() => broker.parkedPulls === 1, 2000, 'the pull to be parked');
  await sleep(300);
  t.is(peer.received.length, 0, 'nothing answered while nothing arrived');
  const started = Date.now();
  t.is((await client.invoke(brokerAddr, sendRequest({ topic, body: 'second' }))).code, ResponseCode.SUCCESS);
  const response = await peer.next(5000);
  const latencyMs = Date.now() - started;
  t.is(response.opaque, 41);
  t.is(response.code, ResponseCode.SUCCESS);
  t.deepEqual(decodeStoredMessages(response.body ?? Buffer.alloc(0)).map((m) => m.body.toString()), ['second']);
  t.is(response.extFields['nextBeginOffset'], '2');
  t.true(latencyMs < 2000, `answered ${latencyMs} ms after the send, far below the 20 s hold`);
  await sleep(200);
  t.is(sent, 1, 'the client sent one pull');
  t.is(peer.received.length, 0, 'and got exactly one response');
  t.is(broker.parkedPulls, 0);
});

test('a parked pull with nothing arriving is answered at its timeout with PULL_NOT_FOUND', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t);
  const topic = 'TimeoutTopic';
  await client.invoke(brokerAddr, sendRequest({ topic }));
  broker.store.waitDispatched();
  const peer = await rawPeer(broker.port);
  t.teardown(() => peer.socket.destroy());
  const started = Date.now();
  peer.send({ ...pullRequest({ topic, queueOffset: 1, sysFlag: SUSPEND_AND_SUBSCRIPTION, suspendTimeoutMillis: 600 }), opaque: 5 });
  const response = await peer.next(5000);
  const elapsed = Date.now() - started;
  t.is(response.opaque, 5);
  t.is(response.code, ResponseCode.PULL_NOT_FOUND);
  t.is(response.extFields['nextBeginOffset'], '1');
  t.true(elapsed >= 550 && elapsed < 3000, `answered after ${elapsed} ms`);
  await sleep(200);
  t.is(peer.received.length, 0, 'exactly one response');
});

test('longPollingEnable=false holds for shortPollingTimeMills instead of the request time', async (t) => {
  const { broker } = await startCluster(t, { longPollingEnable: false, shortPollingTimeMills: 200 });
  const peer = await rawPeer(broker.port);
  t.teardown(() => peer.socket.destroy());
  const started = Date.now();
  peer.send({ ...pullRequest({ topic: 'TBW102', queueOffset: 0, sysFlag: SUSPEND_AND_SUBSCRIPTION, suspendTimeoutMillis: 20_000 }), opaque: 9 });
  const response = await peer.next(5000);
  t.is(response.code, ResponseCode.PULL_NOT_FOUND);
  t.true(Date.now() - started < 3000);
});

test('closing a connection drops its parked pulls; other connections are unaffected', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t);
  const topic = 'CloseTopic';
  await client.invoke(brokerAddr, sendRequest({ topic }));
  broker.store.waitDispatched();
  const leaving = await rawPeer(broker.port);
  const staying = await rawPeer(broker.port);
  t.teardown(() => staying.socket.destroy());
  const parked = pullRequest({ topic, queueOffset: 1, sysFlag: SUSPEND_AND_SUBSCRIPTION, suspendTimeoutMillis: 20_000 });
  leaving.send({ ...parked, opaque: 1 });
  staying.send({ ...parked, opaque: 2 });
  await waitFor(() => broker.parkedPulls === 2, 2000, 'two parked pulls');
  leaving.socket.destroy();
  await waitFor(() => broker.parkedPulls === 1, 2000, 'the closed connection to lose its pull');
  await client.invoke(brokerAddr, sendRequest({ topic, body: 'wake' }));
  const response = await staying.next(5000);
  t.is(response.opaque, 2);
  t.is(response.code, ResponseCode.SUCCESS);
});

test('shutdown answers parked pulls', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t);
  const topic = 'ShutdownTopic';
  await client.invoke(brokerAddr, sendRequest({ topic }));
  broker.store.waitDispatched();
  const peer = await rawPeer(broker.port);
  t.teardown(() => peer.socket.destroy());
  peer.send({ ...pullRequest({ topic, queueOffset: 1, sysFlag: SUSPEND_AND_SUBSCRIPTION, suspendTimeoutMillis: 20_000 }), opaque: 3 });
  await waitFor(() => broker.parkedPulls === 1, 2000, 'parked');
  await broker.shutdown();
  const response = await peer.next(2000);
  t.is(response.opaque, 3);
  t.is(response.code, ResponseCode.PULL_NOT_FOUND);
});
