import test from 'ava';
import { decodeRecallHandle, encodeRecallHandle, RecallHandleError } from '../../../ts/protocol/index.js';

// Expected strings were produced by java.util.Base64.getUrlEncoder() (JDK 17) from the same text.
test('a recall handle encodes exactly as RocketMQ 5.3 does and decodes back', (t) => {
  const handle = { topic: '%RETRY%x', brokerName: 'broker-a', deliverTimeMs: 1_732_300_000_001, messageId: '7F0000016BBA49931B256F99ACB50000' };
  const encoded = encodeRecallHandle(handle);
  t.is(encoded, 'djEgJVJFVFJZJXggYnJva2VyLWEgMTczMjMwMDAwMDAwMSA3RjAwMDAwMTZCQkE0OTkzMUIyNTZGOTlBQ0I1MDAwMA==');
  t.deepEqual(decodeRecallHandle(encoded), handle);
  const utf8 = { topic: 'Topic_A', brokerName: 'brökér', deliverTimeMs: 1_732_300_000_001, messageId: 'AB' };
  t.is(encodeRecallHandle(utf8), 'djEgVG9waWNfQSBicsO2a8OpciAxNzMyMzAwMDAwMDAxIEFC');
  t.deepEqual(decodeRecallHandle('djEgVG9waWNfQSBicsO2a8OpciAxNzMyMzAwMDAwMDAxIEFC'), utf8);
  // Java's decoder also takes the handle without its padding.
  t.deepEqual(decodeRecallHandle(encoded.replace(/=+$/, '')), handle);
});

test('anything but a version 1 handle is refused with RECALL_HANDLE_INVALID', (t) => {
  const bad = [
    '', 'not base64!', '+/+/', Buffer.from('v2 T b 1 id').toString('base64url'), Buffer.from('v1 T b 1').toString('base64url'),
    Buffer.from('v1 T b soon id').toString('base64url'), Buffer.from('v1  b 1 id').toString('base64url'), 'A'.repeat(5000),
  ];
  for (const text of bad) {
    const error = t.throws(() => decodeRecallHandle(text), { instanceOf: RecallHandleError }, JSON.stringify(text));
    t.is(error?.code, 'RECALL_HANDLE_INVALID');
  }
});
