import test from 'ava';
import { produceResultJson, type ProduceResult } from '../../../ts/gateway/produce.js';

test('the written-out produce answer is exactly JSON.stringify of the result, for one message, a batch and a broker name needing escapes', (t) => {
  const results: ProduceResult[] = [
    { status: 'SEND_OK', topic: 'T', brokerName: 'broker-a', queueId: 3, queueOffset: 17, messages: [{ msgId: 'A1', offsetMsgId: 'B2' }] },
    {
      recallHandle: 'djEgVG9waWNfQSBicsO2a8OpciAxNzMyMzAwMDAwMDAxIEFC', status: 'SEND_OK', topic: 'T', brokerName: 'broker-a', queueId: 0,
      queueOffset: 1, messages: [{ msgId: 'A1', offsetMsgId: 'B2' }],
    },
    {
      status: 'FLUSH_DISK_TIMEOUT', topic: '%RETRY%g_1-x|y', brokerName: 'b"\\\u0001', queueId: 0, queueOffset: 9_007_199_254_740_991,
      messages: [{ msgId: 'x', offsetMsgId: '' }, { msgId: 'y', offsetMsgId: 'z' }],
    },
  ];
  for (const result of results) t.is(produceResultJson(result), JSON.stringify(result));
});
