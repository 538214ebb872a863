import test from 'ava';
import {
  MessageSysFlag, ProtocolError, createUniqIdGenerator, crc32, decodeBatch, decodeOffsetMsgId, decodeProperties,
  decodeStoredMessage, decodeStoredMessages, encodeBatch, encodeOffsetMsgId, encodeProperties, encodeStoredMessage,
  formatIp, normalizeHost, parseIp, type BatchMessage, type StoredMessageInput,
} from '../../../ts/protocol/index.js';

test('properties encode as key\\x01value\\x02 pairs and decode back', (t) => {
  const text = encodeProperties({ TAGS: 'TagA', KEYS: 'k1 k2', UNIQ_KEY: 'ABC' });
  t.is(text, 'TAGS\u0001TagA\u0002KEYS\u0001k1 k2\u0002UNIQ_KEY\u0001ABC\u0002');
  t.deepEqual(decodeProperties(text), { TAGS: 'TagA', KEYS: 'k1 k2', UNIQ_KEY: 'ABC' });
  t.deepEqual(decodeProperties('A\u0001\u0002noseparator\u0002\u0001v\u0002B\u0001x\u0001y'), { A: '', B: 'x\u0001y' });
  t.deepEqual(decodeProperties(''), {});
  t.is(encodeProperties(new Map([['a', 'b']])), 'a\u0001b\u0002');
  t.throws(() => encodeProperties({ a: 'x\u0002y' }), { instanceOf: ProtocolError });
});

test('batch bodies round-trip and reject inconsistent entries', (t) => {
  const messages: BatchMessage[] = [
    { flag: 0, body: Buffer.from('one'), properties: { UNIQ_KEY: 'U1' } },
    { flag: 7, body: Buffer.alloc(0), properties: {} },
    { flag: -1, body: Buffer.from('三'), properties: { TAGS: 'x', KEYS: 'a b' } },
  ];
  const body = encodeBatch(messages);
  t.is(body.readInt32BE(0), 22 + 3 + 'UNIQ_KEY\u0001U1\u0002'.length);
  t.deepEqual(decodeBatch(body), messages);
  t.deepEqual(decodeBatch(Buffer.alloc(0)), []);
  const corrupt = Buffer.from(body);
  corrupt.writeInt32BE(1000, 0);
  t.is(t.throws(() => decodeBatch(corrupt), { instanceOf: ProtocolError })?.code, 'MESSAGE_INVALID');
  t.throws(() => decodeBatch(body.subarray(0, body.length - 1)), { instanceOf: ProtocolError });
});

function record(overrides: Partial<StoredMessageInput> = {}): StoredMessageInput {
  return {
    queueId: 3, flag: 9, queueOffset: 42, commitLogOffset: 123456789, sysFlag: 0, bornTimestamp: 1700000000000,
    bornHost: { address: '10.0.0.5', port: 52000 }, storeTimestamp: 1700000000123,
    storeHost: { address: '10.0.0.1', port: 10911 }, reconsumeTimes: 1, preparedTransactionOffset: 0,
    body: Buffer.from('hello'), topic: 'TopicTest', properties: { TAGS: 'TagA', UNIQ_KEY: 'X' }, ...overrides,
  };
}

test('a stored IPv4 record decodes at the documented offsets', (t) => {
  const input = record();
  const bytes = encodeStoredMessage(input);
  t.is(bytes.length, 91 + 5 + 9 + encodeProperties(input.properties).length);
  t.is(bytes.readInt32BE(4), 0xdaa320a7 | 0);
  t.is(bytes.readBigInt64BE(20), 42n);
  t.is(bytes.readBigInt64BE(28), 123456789n);
  t.is(bytes.readBigInt64BE(56), 1700000000123n);
  const { message, size } = decodeStoredMessage(bytes, 0, { checkBodyCrc: true });
  t.is(size, bytes.length);
  t.is(message.bodyCrc, crc32(Buffer.from('hello')) & 0x7fffffff);
  const { body: _body, ...rest } = input;
  t.like(message, { ...rest, storeSize: bytes.length });
  t.deepEqual(message.body, input.body);
  t.is(message.msgId, encodeOffsetMsgId(input.storeHost, input.commitLogOffset));
});

test('IPv6 hosts set the sysFlag bits and decode; records concatenate like a pull body', (t) => {
  const v6 = record({ bornHost: { address: '2001:db8::5', port: 1 }, storeHost: { address: '::1', port: 10911 } });
  const v4 = record({ queueOffset: 43, topic: 'x'.repeat(200) });
  const body = Buffer.concat([encodeStoredMessage(v6), encodeStoredMessage(v4)]);
  const [first, second] = decodeStoredMessages(body);
  t.is(first!.sysFlag & (MessageSysFlag.BORNHOST_V6 | MessageSysFlag.STOREHOST_V6), 0x30);
  t.deepEqual(first!.bornHost, { address: '2001:db8::5', port: 1 });
  t.deepEqual(first!.storeHost, { address: '::1', port: 10911 });
  t.is(first!.msgId.length, 56);
  t.is(second!.topic, 'x'.repeat(200));
  t.is(second!.queueOffset, 43);
  // A truncated record is a typed error, not a RangeError.
  t.is(t.throws(() => decodeStoredMessages(body.subarray(0, body.length - 2)), { instanceOf: ProtocolError })?.code,
    'MESSAGE_INVALID');
  const badCrc = encodeStoredMessage(record());
  badCrc.writeInt32BE(1, 8);
  t.throws(() => decodeStoredMessage(badCrc, 0, { checkBodyCrc: true }), { instanceOf: ProtocolError });
  t.notThrows(() => decodeStoredMessage(badCrc));
});

test('offset message ids encode store host, port and offset as uppercase hex', (t) => {
  const id = encodeOffsetMsgId({ address: '10.0.0.1', port: 10911 }, 255);
  t.is(id, '0A00000100002A9F00000000000000FF');
  t.deepEqual(decodeOffsetMsgId(id.toLowerCase()), { storeHost: { address: '10.0.0.1', port: 10911 }, commitLogOffset: 255 });
  t.is(encodeOffsetMsgId({ address: '::ffff:10.0.0.1', port: 10911 }, 255), id);
  const v6 = encodeOffsetMsgId({ address: 'fe80::1', port: 9 }, 1);
  t.is(v6.length, 56);
  t.deepEqual(decodeOffsetMsgId(v6).storeHost, { address: 'fe80::1', port: 9 });
  t.throws(() => decodeOffsetMsgId('XYZ'), { instanceOf: ProtocolError });
});

test('UNIQ_KEY ids embed ip, pid and time since the month start and never repeat', (t) => {
  let now = new Date(2024, 4, 2, 0, 0, 1).getTime();
  const next = createUniqIdGenerator({ ip: '192.168.1.2', pid: 0x12345, salt: 0x0badcafe, now: () => now });
  const first = next();
  t.regex(first, /^[0-9A-F]{32}$/);
  t.is(first.slice(0, 8), 'C0A80102');
  t.is(first.slice(8, 12), '2345');
  t.is(first.slice(12, 20), '0BADCAFE');
  t.is(parseInt(first.slice(20, 28), 16), 86_401_000);
  t.is(first.slice(28), '0000', 'the counter starts at 0');
  t.is(next().slice(28), '0001');
  now += 5;
  const later = next();
  t.is(parseInt(later.slice(20, 28), 16), 86_401_005, 'the time part follows the clock');
  t.is(later.slice(28), '0002');
  const ids = new Set([first, later]);
  for (let i = 0; i < 1000; i += 1) ids.add(next());
  t.is(ids.size, 1002);
  // Ids made so far: counters 0 .. 1002.
  for (let counter = 1003; counter < 0xffff; counter += 1) next();
  t.is(next().slice(28), 'FFFF');
  t.is(next().slice(28), '0000', 'the counter wraps at 65536');
  t.is(createUniqIdGenerator({ ip: '::2' })().length, 56);
});

test('IP helpers parse and format IPv4, IPv6 and IPv4-mapped addresses', (t) => {
  t.deepEqual([...parseIp('1.2.3.4')], [1, 2, 3, 4]);
  t.deepEqual([...parseIp('::ffff:1.2.3.4')], [1, 2, 3, 4]);
  t.is(formatIp(parseIp('2001:0db8:0000:0000:0000:0000:0000:0001')), '2001:db8::1');
  t.is(formatIp(parseIp('::')), '::');
  t.is(formatIp(parseIp('1:0:0:2:0:0:0:3')), '1:0:0:2::3');
  t.is(formatIp(parseIp('[fe80::1%eth0]')), 'fe80::1');
  t.is(normalizeHost('::ffff:127.0.0.1'), '127.0.0.1');
  t.is(normalizeHost('::1'), '::1');
  for (const bad of ['1.2.3', '256.1.1.1', '1::2::3', 'host', '1:2:3:4:5:6:7:8:9']) {
    t.throws(() => parseIp(bad), { instanceOf: ProtocolError }, bad);
  }
});
