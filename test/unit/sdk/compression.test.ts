// Body decompression of received messages. The vectors are the bytes Apache RocketMQ 5.3.3's own
// compressors (org.apache.rocketmq.common.compression.CompressorFactory: LZ4 frame via lz4-java,
// ZSTD via zstd-jni, ZLIB via java.util.zip, level 5) produce for TEXT; the Java producer puts
// exactly these bytes in the message body.

import { deflateSync } from 'node:zlib';
import test from 'ava';
import lz4 from 'lz4js';
import { compressionCodecName, decompressBody } from '../../../ts/sdk/compression.js';
import { MessageDecodeError } from '../../../ts/sdk/index.js';

const TEXT = 'Bolide compression vector: hello hello hello hello hello hello, RocketMQ LZ4/ZSTD bodies from Java 5.3.3';

const JAVA_LZ4 = Buffer.from(
  '04224d1860707351000000ff11426f6c69646520636f6d7072657373696f6e20766563746f723a2068656c6c6f06000bf01b2c2052' +
  '6f636b65744d51204c5a342f5a53544420626f646965732066726f6d204a61766120352e332e3300000000', 'hex');
const JAVA_ZSTD = Buffer.from(
  '28b52ffd00588c0200a404426f6c69646520636f6d7072657373696f6e20766563746f723a2068656c6c6f2c20526f636b65744d51' +
  '204c5a342f5a53544420626f646965732066726f6d204a61766120352e332e33010088589e010000', 'hex');
const JAVA_ZLIB = Buffer.from(
  '785e73cacfc94c495548cecf2d284a2d2ececccf53284b4d2ec92fb252c848cdc9c9c74fea2804e52767a796f8062af84499e8470587' +
  'b82824e5a764a6162ba415e5e72a782596252a98ea19eb190300ce5c242a', 'hex');

const COMPRESSED = 0x1;

test('an LZ4 frame written by Java 5.x (sysFlag 0x101) decodes to the original body', (t) => {
  t.is(decompressBody(0x101, JAVA_LZ4).toString('utf8'), TEXT);
});

test('a ZSTD frame written by Java 5.x (sysFlag 0x201) decodes to the original body', (t) => {
  t.is(decompressBody(0x201, JAVA_ZSTD).toString('utf8'), TEXT);
});

test('zlib bodies decode both with the 5.x ZLIB type (0x301) and the 4.x bare COMPRESSED flag', (t) => {
  t.is(decompressBody(0x301, JAVA_ZLIB).toString('utf8'), TEXT);
  t.is(decompressBody(COMPRESSED, JAVA_ZLIB).toString('utf8'), TEXT);
});

test('other sysFlag bits do not change which codec is used', (t) => {
  // MULTI_TAGS | BORNHOST_V6 | STOREHOST_V6 around the LZ4 type.
  t.is(decompressBody(0x101 | 0x2 | 0x10 | 0x20, JAVA_LZ4).toString('utf8'), TEXT);
});

test('a body without the COMPRESSED bit is returned untouched even when codec bits are set', (t) => {
  const body = Buffer.from('plain');
  t.is(decompressBody(0x200, body), body);
});

test('a multi-kilobyte body with an incompressible tail survives an LZ4 round trip', (t) => {
  // Long runs and bytes with no repeats: both kinds of content must come back byte for byte.
  const random = Buffer.alloc(20_000);
  for (let i = 0; i < random.length; i++) random[i] = (i * 2_654_435_761 >>> 13) & 0xff;
  const body = Buffer.concat([Buffer.from('x'.repeat(50_000)), random]);
  const frame = Buffer.from(lz4.compress(body));
  t.true(frame.length < body.length);
  t.true(decompressBody(0x101, frame).equals(body));
});

test('an LZ4 frame of several 64 KiB blocks decodes whole', (t) => {
  // Built by hand around lz4js blocks: BD code 4 (64 KiB blocks), no checksums, like Java's layout.
  const body = Buffer.from(Array.from({ length: 200_000 }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26))).join(''));
  const parts = [Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82])];
  for (let start = 0; start < body.length; start += 64 << 10) {
    const chunk = body.subarray(start, start + (64 << 10));
    const block = new Uint8Array(lz4.compressBound(chunk.length));
    const size = lz4.compressBlock(chunk, block, 0, chunk.length, new Uint32Array(1 << 16));
    const header = Buffer.alloc(4);
    header.writeUInt32LE(size);
    parts.push(header, Buffer.from(block.subarray(0, size)));
  }
  parts.push(Buffer.alloc(4));
  t.true(decompressBody(0x101, Buffer.concat(parts)).equals(body));
});

test('an LZ4 frame claiming a huge content size decodes by its blocks, not by the claim', (t) => {
  const withSize = Buffer.concat([
    Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60 | 0x08, 0x70]), Buffer.from('0000000000001000', 'hex'),
    JAVA_LZ4.subarray(6),
  ]);
  t.is(decompressBody(0x101, withSize).toString('utf8'), TEXT);
});

test('truncated LZ4 frames and frame options lz4js cannot read are MessageDecodeErrors', (t) => {
  const blockChecksums = Buffer.from(JAVA_LZ4);
  blockChecksums[4] = 0x60 | 0x10;
  for (const frame of [JAVA_LZ4.subarray(0, JAVA_LZ4.length - 10), blockChecksums]) {
    const error = t.throws(() => decompressBody(0x101, frame), { instanceOf: MessageDecodeError });
    t.is(error?.codec, 'lz4');
  }
});

test('an unknown codec is a MessageDecodeError naming it', (t) => {
  const error = t.throws(() => decompressBody(0x401, deflateSync(Buffer.from('x'))), { instanceOf: MessageDecodeError });
  t.is(error?.code, 'MESSAGE_DECODE');
  t.is(error?.codec, 'unknown(0x400)');
  t.false(error?.retriable);
  t.regex(error?.message ?? '', /unknown\(0x400\)/);
});

test('bytes the declared codec rejects are a MessageDecodeError naming the codec, with the cause', (t) => {
  for (const [sysFlag, codec] of [[0x101, 'lz4'], [0x201, 'zstd'], [0x301, 'zlib']] as const) {
    const error = t.throws(() => decompressBody(sysFlag, Buffer.from('not compressed at all')),
      { instanceOf: MessageDecodeError });
    t.is(error?.codec, codec);
    t.truthy(error?.cause);
  }
});

test('codec names follow the sysFlag type bits', (t) => {
  t.deepEqual([0x1, 0x101, 0x201, 0x301, 0x701].map(compressionCodecName),
    ['zlib', 'lz4', 'zstd', 'zlib', 'unknown(0x700)']);
});
