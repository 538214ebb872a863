import test from 'ava';
import {
  ProtocolError, PullMessageRequestHeader, RegisterBrokerRequestHeader, RequestCode, SEND_HEADER_V2_NAMES,
  SendMessageRequestHeader, SendMessageRequestHeaderV2, decodeFrame, decodeHeader, decodeSendMessageHeader,
  encodeFrame, encodeHeader, encodeSendMessageHeader, makeRequest, defineHeader, required, optional,
  type SendMessageRequestHeader as SendHeader,
} from '../../../ts/protocol/index.js';

const pullFields = {
  consumerGroup: 'g', topic: 'T', queueId: '3', queueOffset: '9007199254740991', maxMsgNums: '32', sysFlag: '2',
  commitOffset: '0', suspendTimeoutMillis: '15000', subVersion: '1700000000000',
};

test('decodeHeader parses types and leaves absent optionals out', (t) => {
  const header = decodeHeader(PullMessageRequestHeader, { ...pullFields, expressionType: 'TAG', unknownField: 'x' });
  t.deepEqual(header, {
    consumerGroup: 'g', topic: 'T', queueId: 3, queueOffset: 9007199254740991, maxMsgNums: 32, sysFlag: 2,
    commitOffset: 0, suspendTimeoutMillis: 15000, subVersion: 1700000000000, expressionType: 'TAG',
  });
  t.false('subscription' in header);
});

test('a missing required field is an error naming the field', (t) => {
  const { queueOffset: _omitted, ...rest } = pullFields;
  const error = t.throws(() => decodeHeader(PullMessageRequestHeader, rest), { instanceOf: ProtocolError });
  t.is(error?.code, 'HEADER_FIELD_MISSING');
  t.is(error?.field, 'queueOffset');
  t.regex(error?.message ?? '', /PullMessageRequestHeader: required field queueOffset is missing/);
});

test('numbers are checked: non-numeric, int32 overflow and unsafe longs are rejected', (t) => {
  for (const [field, value] of [
    ['queueId', 'abc'], ['queueId', '1.5'], ['queueId', '2147483648'], ['queueId', ''], ['queueId', ' 1'],
    ['queueOffset', '9007199254740993'], ['queueOffset', '1e3'],
  ] as const) {
    const error = t.throws(() => decodeHeader(PullMessageRequestHeader, { ...pullFields, [field]: value }), {
      instanceOf: ProtocolError,
    });
    t.is(error?.code, 'HEADER_FIELD_INVALID', `${field}=${value}`);
    t.is(error?.field, field);
  }
  t.is(decodeHeader(PullMessageRequestHeader, { ...pullFields, queueId: '-2147483648' }).queueId, -2147483648);
  t.is(decodeHeader(PullMessageRequestHeader, { ...pullFields, queueOffset: '-1' }).queueOffset, -1);
});

test('numbers and booleans sent as JSON values by ali-ons decode through the header schema', (t) => {
  const header = Buffer.from(JSON.stringify({
    code: 310, flag: 0, language: 'JAVA', opaque: 1, version: 121,
    extFields: { a: 'pg', b: 'T', c: 'TBW102', d: 4, e: 0, f: 0, g: 1700000000000, h: 0, i: 'TAGS\u0001a\u0002', k: false },
  }));
  const frame = Buffer.alloc(8 + header.length);
  frame.writeInt32BE(4 + header.length, 0);
  frame.writeInt32BE(header.length, 4);
  header.copy(frame, 8);
  const command = decodeFrame(frame);
  const send = decodeSendMessageHeader(command.code, command.extFields);
  t.is(send.queueId, 0);
  t.is(send.bornTimestamp, 1700000000000);
  t.is(send.unitMode, false);
  t.is(send.defaultTopic, 'TBW102');
});

test('booleans follow Java parseBoolean: only "true" (any case) is true', (t) => {
  const base = { brokerName: 'b', brokerAddr: 'a:1', clusterName: 'c', haServerAddr: 'a:2', brokerId: '0' };
  t.true(decodeHeader(RegisterBrokerRequestHeader, { ...base, compressed: 'TRUE' }).compressed);
  t.false(decodeHeader(RegisterBrokerRequestHeader, { ...base, compressed: 'yes' }).compressed);
});

test('encodeHeader always produces strings and checks required fields and types', (t) => {
  const extFields = encodeHeader(RegisterBrokerRequestHeader, {
    brokerName: 'broker-a', brokerAddr: '10.0.0.1:10911', clusterName: 'DefaultCluster',
    haServerAddr: '10.0.0.1:10912', brokerId: 0, compressed: false,
  });
  t.deepEqual(extFields, {
    brokerName: 'broker-a', brokerAddr: '10.0.0.1:10911', clusterName: 'DefaultCluster',
    haServerAddr: '10.0.0.1:10912', brokerId: '0', compressed: 'false',
  });
  for (const value of Object.values(extFields)) t.is(typeof value, 'string');
  const missing = t.throws(() => encodeHeader(RegisterBrokerRequestHeader, { brokerName: 'x' } as never), {
    instanceOf: ProtocolError,
  });
  t.is(missing?.code, 'HEADER_FIELD_MISSING');
  const wrongType = t.throws(
    () => encodeHeader(defineHeader('X', { n: required('int'), s: optional('string') }), { n: 1.5 }),
    { instanceOf: ProtocolError },
  );
  t.is(wrongType?.code, 'ENCODE_INVALID');
});

test('header values survive a frame round trip in both serializations', (t) => {
  const values = decodeHeader(PullMessageRequestHeader, pullFields);
  for (const type of [0, 1] as const) {
    const command = makeRequest(RequestCode.PULL_MESSAGE, { extFields: encodeHeader(PullMessageRequestHeader, values) });
    t.deepEqual(decodeHeader(PullMessageRequestHeader, decodeFrame(encodeFrame(command, type)).extFields), values);
  }
});

test('SEND_MESSAGE V1 and V2 headers map onto each other', (t) => {
  t.is(SEND_HEADER_V2_NAMES.length, SendMessageRequestHeader.fields.length);
  t.deepEqual(
    SEND_HEADER_V2_NAMES.map(([, short]) => short),
    SendMessageRequestHeaderV2.fields.map((field) => field.name),
  );
  const header: SendHeader = {
    producerGroup: 'pg', topic: 'T', defaultTopic: 'TBW102', defaultTopicQueueNums: 4, queueId: 2, sysFlag: 0,
    bornTimestamp: 1700000000000, flag: 0, properties: 'KEYS\u0001k\u0002', batch: false, bname: 'broker-a',
  };
  const v2 = encodeSendMessageHeader(RequestCode.SEND_MESSAGE_V2, header);
  t.deepEqual(v2, {
    a: 'pg', b: 'T', c: 'TBW102', d: '4', e: '2', f: '0', g: '1700000000000', h: '0', i: 'KEYS\u0001k\u0002', m: 'false',
    n: 'broker-a',
  });
  t.deepEqual(decodeSendMessageHeader(RequestCode.SEND_MESSAGE_V2, v2), header);
  t.deepEqual(decodeSendMessageHeader(RequestCode.SEND_BATCH_MESSAGE, v2), header);
  const v1 = encodeSendMessageHeader(RequestCode.SEND_MESSAGE, header);
  t.is(v1['producerGroup'], 'pg');
  t.deepEqual(decodeSendMessageHeader(RequestCode.SEND_MESSAGE, v1), header);
  const error = t.throws(() => decodeSendMessageHeader(RequestCode.SEND_MESSAGE_V2, { ...v2, e: 'x' }), {
    instanceOf: ProtocolError,
  });
  t.is(error?.field, 'e');
});
