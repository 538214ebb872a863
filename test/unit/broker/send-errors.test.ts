// Store failures map to RocketMQ response codes, and SYNC_FLUSH sends answer after the flush.
import test from 'ava';
import { silentLogger } from '../../../ts/common/index.js';
import { ResponseCode, makeRequest } from '../../../ts/protocol/index.js';
import { StoreError } from '../../../ts/store/index.js';
import type { BrokerContext } from '../../../ts/broker/broker-context.js';
import { splitAddress, storeErrorResponse } from '../../../ts/broker/send-processor.js';
import { sendRequest, startCluster } from '../../support/broker.js';

const context = { logger: silentLogger } as unknown as BrokerContext;
const request = makeRequest(310);

test('store errors → response codes (DISK_FULL 14, too large 13, others 1)', (t) => {
  const disk = storeErrorResponse(request, new StoreError('DISK_FULL', 'disk is 93% full'), context);
  t.is(disk.code, ResponseCode.SERVICE_NOT_AVAILABLE);
  t.regex(disk.remark ?? '', /disk is full/);
  t.is(storeErrorResponse(request, new StoreError('MESSAGE_TOO_LARGE', 'x'), context).code, ResponseCode.MESSAGE_ILLEGAL);
  t.is(storeErrorResponse(request, new StoreError('IO', 'x'), context).code, ResponseCode.SYSTEM_ERROR);
  t.is(storeErrorResponse(request, new Error('boom'), context).code, ResponseCode.SYSTEM_ERROR);
});

test('born host: IPv4-mapped IPv6 peers are stored as IPv4', (t) => {
  t.deepEqual(splitAddress('::ffff:10.1.2.3:4567'), { host: '10.1.2.3', port: 4567 });
  t.deepEqual(splitAddress('127.0.0.1:80'), { host: '127.0.0.1', port: 80 });
  t.deepEqual(splitAddress('[fd00::2]:9'), { host: 'fd00::2', port: 9 });
});

test('SYNC_FLUSH: sends are answered after the group commit, WAIT=false too', async (t) => {
  const { client, brokerAddr, broker } = await startCluster(t, { flushDiskType: 'SYNC_FLUSH' });
  const waited = await client.invoke(brokerAddr, sendRequest({ topic: 'SyncTopic', body: 'durable' }));
  t.is(waited.code, ResponseCode.SUCCESS);
  t.true(broker.store.flushedOffset > 0);
  const noWait = await client.invoke(brokerAddr, sendRequest({ topic: 'SyncTopic', properties: { WAIT: 'false' } }));
  t.is(noWait.code, ResponseCode.SUCCESS);
  t.is(noWait.extFields['queueOffset'], '1');
});
