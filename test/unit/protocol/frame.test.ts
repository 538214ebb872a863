import test from 'ava';
import {
  FrameDecoder, ProtocolError, SerializeType, decodeFrame, decodeJsonHeader, encodeFrame, encodeFrameHeader,
  encodeBinaryHeader, decodeBinaryHeader, isOneway, isResponse, makeRequest, makeResponse, FLAG_ONEWAY,
  type ProtocolErrorCode, type RemotingCommand,
} from '../../../ts/protocol/index.js';

function sample(): RemotingCommand {
  return {
    code: 105,
    language: 'JAVA',
    version: 479,
    opaque: 3,
    flag: 0,
    remark: 'héllo 中',
    extFields: { topic: 'TopicTest', queueId: '0', empty: 'x' },
    body: Buffer.from('body bytes'),
  };
}

function drain(decoder: FrameDecoder): RemotingCommand[] {
  const out: RemotingCommand[] = [];
  for (let command = decoder.next(); command !== null; command = decoder.next()) out.push(command);
  return out;
}

function frameWithHeader(serializeType: number, header: Buffer, body = Buffer.alloc(0)): Buffer {
  const frame = Buffer.alloc(8 + header.length + body.length);
  frame.writeInt32BE(4 + header.length + body.length, 0);
  frame.writeUInt32BE(((serializeType << 24) | header.length) >>> 0, 4);
  header.copy(frame, 8);
  body.copy(frame, 8 + header.length);
  return frame;
}

for (const [name, type] of [['JSON', SerializeType.JSON], ['ROCKETMQ', SerializeType.ROCKETMQ]] as const) {
  test(`a ${name} frame round-trips every command field`, (t) => {
    const command = sample();
    const frame = encodeFrame(command, type);
    t.is(frame.readInt32BE(0), frame.length - 4);
    t.is(frame.readUInt32BE(4) >>> 24, type);
    t.deepEqual(decodeFrame(frame), command);
  });

  test(`a ${name} frame without remark, extFields or body decodes without them`, (t) => {
    const command: RemotingCommand = { code: 0, language: 'GO', version: 1, opaque: -5, flag: 1, extFields: {} };
    const decoded = decodeFrame(encodeFrame(command, type));
    t.deepEqual(decoded, command);
    t.false('remark' in decoded);
    t.false('body' in decoded);
  });
}

test('the JSON header has fastjson key order and remark only when set', (t) => {
  const request = makeRequest(105, { extFields: { topic: 'T' }, version: 479 });
  request.opaque = 3;
  const frame = encodeFrame(request);
  const header = frame.subarray(8, 8 + (frame.readUInt32BE(4) & 0xffffff)).toString();
  t.is(
    header,
    '{"code":105,"extFields":{"topic":"T"},"flag":0,"language":"JAVA","opaque":3,"serializeTypeCurrentRPC":"JSON","version":479}',
  );
  const withRemark = encodeFrame(makeResponse(request, 17, { remark: 'no route' }));
  t.regex(withRemark.toString(), /"opaque":3,"remark":"no route","serializeTypeCurrentRPC"/);
});

test('extFields numbers and booleans from JSON peers become strings', (t) => {
  const header = Buffer.from('{"code":310,"extFields":{"e":0,"k":false,"g":1700000000000,"n":null},"flag":0,"language":"JAVA","opaque":1,"version":121}');
  const decoded = decodeFrame(frameWithHeader(0, header));
  t.deepEqual(decoded.extFields, { e: '0', k: 'false', g: '1700000000000' });
});

test('every extFields value we send is a string even if a caller slips in a number', (t) => {
  const command = makeRequest(15, { extFields: { queueId: 3 as unknown as string, ok: 'x' } });
  const text = encodeFrame(command).toString();
  t.true(text.includes('"queueId":"3"'));
  const binary = decodeBinaryHeader(encodeBinaryHeader(command));
  t.deepEqual(binary.extFields, { queueId: '3', ok: 'x' });
});

test('makeResponse copies the opaque and sets the response flag; helpers read the flags', (t) => {
  const request = makeRequest(34, { oneway: true });
  request.opaque = 77;
  t.true(isOneway(request));
  t.false(isResponse(request));
  const response = makeResponse(request, 0, { extFields: { a: 'b' } });
  t.is(response.opaque, 77);
  t.true(isResponse(response));
  t.false(isOneway(response));
  t.is(request.flag, FLAG_ONEWAY);
});

test('encodeFrameHeader plus separately written body decodes as one frame', (t) => {
  const body = Buffer.from('0123456789');
  const command = makeResponse(makeRequest(11), 0, { extFields: { nextBeginOffset: '5' } });
  const frame = Buffer.concat([encodeFrameHeader(command, body.length, SerializeType.JSON), body]);
  const decoded = decodeFrame(frame);
  t.deepEqual(decoded.body, body);
  t.is(decoded.extFields['nextBeginOffset'], '5');
});

test('the streaming decoder handles byte-by-byte input and coalesced frames', (t) => {
  const commands = [sample(), { ...sample(), opaque: 4, body: Buffer.alloc(70_000, 7) }, { ...sample(), opaque: 5 }];
  delete commands[2]!.body;
  const stream = Buffer.concat(commands.map((command, index) => encodeFrame(command, index % 2 === 0 ? 0 : 1)));

  const oneByOne = new FrameDecoder();
  const got: RemotingCommand[] = [];
  for (let i = 0; i < stream.length; i += 1) {
    oneByOne.push(stream.subarray(i, i + 1));
    got.push(...drain(oneByOne));
  }
  t.deepEqual(got, commands);
  t.is(oneByOne.bufferedBytes, 0);

  const coalesced = new FrameDecoder();
  coalesced.push(stream);
  t.deepEqual(drain(coalesced), commands);

  const split = new FrameDecoder();
  split.push(stream.subarray(0, 6));
  t.is(split.next(), null);
  split.push(stream.subarray(6, stream.length - 3));
  const partial = drain(split);
  t.is(partial.length, 2);
  split.push(stream.subarray(stream.length - 3));
  t.deepEqual([...partial, ...drain(split)], commands);
});

function protocolError(t: import('ava').ExecutionContext, run: () => unknown, code: ProtocolErrorCode): void {
  const error = t.throws(run, { instanceOf: ProtocolError });
  t.is(error?.code, code);
}

test('bad length prefixes are rejected as soon as the prefix arrives', (t) => {
  const negative = new FrameDecoder();
  negative.push(Buffer.from([0xff, 0xff, 0xff, 0xf0]));
  protocolError(t, () => negative.next(), 'FRAME_LENGTH_INVALID');
  // The decoder stays failed: the stream has lost its framing.
  protocolError(t, () => negative.push(Buffer.from([1])), 'FRAME_LENGTH_INVALID');

  const tooBig = new FrameDecoder({ frameBytesMax: 1024 });
  const prefix = Buffer.alloc(4);
  prefix.writeInt32BE(1021, 0);
  tooBig.push(prefix);
  protocolError(t, () => tooBig.next(), 'FRAME_TOO_LARGE');

  const exact = new FrameDecoder({ frameBytesMax: 1024 });
  exact.push(encodeFrame({ ...sample(), body: Buffer.alloc(1024 - encodeFrame({ ...sample(), body: undefined }).length) }));
  t.is(exact.next()?.code, 105);

  const tiny = new FrameDecoder();
  tiny.push(Buffer.from([0, 0, 0, 2, 0, 0]));
  protocolError(t, () => tiny.next(), 'FRAME_LENGTH_INVALID');
});

test('header-level errors are typed ProtocolErrors', (t) => {
  protocolError(t, () => decodeFrame(frameWithHeader(2, Buffer.from('{}'))), 'SERIALIZE_TYPE_UNKNOWN');
  protocolError(t, () => decodeFrame(frameWithHeader(0, Buffer.from('{"code":'))), 'HEADER_JSON_INVALID');
  protocolError(t, () => decodeFrame(frameWithHeader(0, Buffer.from('[1,2]'))), 'HEADER_JSON_INVALID');
  protocolError(t, () => decodeFrame(frameWithHeader(0, Buffer.from('"x"'))), 'HEADER_JSON_INVALID');
  protocolError(t, () => decodeFrame(frameWithHeader(0, Buffer.from('null'))), 'HEADER_JSON_INVALID');
  protocolError(t, () => decodeFrame(frameWithHeader(0, Buffer.from('{"opaque":1}'))), 'HEADER_JSON_INVALID');
  protocolError(t, () => decodeFrame(frameWithHeader(0, Buffer.from('{"code":1.5}'))), 'HEADER_JSON_INVALID');
  protocolError(t, () => decodeFrame(frameWithHeader(0, Buffer.from('{"code":1,"extFields":{"a":{}}}'))), 'HEADER_JSON_INVALID');
  const binary = encodeBinaryHeader(sample());
  for (const cut of [0, 5, 16, 20, binary.length - 1]) {
    protocolError(t, () => decodeFrame(frameWithHeader(1, binary.subarray(0, cut))), 'HEADER_BINARY_TRUNCATED');
  }
  const lying = frameWithHeader(0, Buffer.from('{"code":1}'));
  lying.writeUInt32BE(500, 4);
  protocolError(t, () => decodeFrame(lying), 'HEADER_LENGTH_INVALID');
});

test('JSON header accepts a numeric language and tolerates missing optional fields', (t) => {
  const header = decodeJsonHeader(Buffer.from('{"code":34,"language":9}'));
  t.deepEqual(header, { code: 34, language: 'GO', version: 0, opaque: 0, flag: 0, extFields: {} });
});

test('a zero-length binary extFields value is dropped, like Java reading it as null', (t) => {
  const header = decodeBinaryHeader(encodeBinaryHeader({ ...sample(), extFields: { a: '', b: 'x' } }));
  t.deepEqual(header.extFields, { b: 'x' });
});

test('encoding refuses values the wire cannot carry', (t) => {
  protocolError(t, () => encodeBinaryHeader({ ...sample(), code: 200050 }), 'ENCODE_INVALID');
  protocolError(t, () => encodeFrame({ ...sample(), opaque: 2 ** 31 }), 'ENCODE_INVALID');
  protocolError(t, () => encodeFrame({ ...sample(), body: Buffer.alloc(2048) }, 0, { frameBytesMax: 1024 }), 'ENCODE_INVALID');
});
