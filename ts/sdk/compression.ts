// Decompression of received message bodies. A producer that compresses a body sets COMPRESSED
// in the sysFlag and (5.x) the codec in bits 8..10: 0 (4.x, zlib), 1 LZ4, 2 ZSTD, 3 ZLIB.
// Java 5.x writes LZ4 as an LZ4 *frame* (net.jpountz LZ4FrameOutputStream) and ZSTD as a
// standard zstd frame (zstd-jni ZstdOutputStream), so frame decoders are what we need.
// Both decoders are pure JavaScript (lz4js, fzstd) so the SDK installs without a native build;
// Node 20's zlib has no zstd.

import { inflateSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import lz4 from 'lz4js';
import { MessageSysFlag } from '../protocol/index.js';
import { MessageDecodeError } from './errors.js';

/** The three codec bits of a sysFlag (Java's COMPRESSION_TYPE_COMPARATOR). */
const COMPRESSION_MASK = 0x700;

/** Name of the codec a sysFlag declares (meaningful only when COMPRESSED is set). */
export function compressionCodecName(sysFlag: number): string {
  const type = sysFlag & COMPRESSION_MASK;
  if (type === 0 || type === MessageSysFlag.COMPRESSION_ZLIB) return 'zlib';
  if (type === MessageSysFlag.COMPRESSION_LZ4) return 'lz4';
  if (type === MessageSysFlag.COMPRESSION_ZSTD) return 'zstd';
  return `unknown(0x${type.toString(16)})`;
}

const LZ4_MAGIC = 0x184d2204;
/** Maximum block size by the BD byte's code (bits 4..6): 4 = 64 KiB ... 7 = 4 MiB (Java's default). */
const LZ4_BLOCK_MAX: Record<number, number> = { 4: 64 << 10, 5: 256 << 10, 6: 1 << 20, 7: 4 << 20 };
/**
 * One input byte of an LZ4 block yields at most 255 output bytes (a match-length extension byte), so
 * 255 × the compressed size bounds a block's output.
 */
const LZ4_MAX_RATIO = 255;

/**
 * Output capacity an LZ4 frame needs, from its block headers. lz4js's own bound reserves the frame's
 * maximum block size per block (8 MiB for a one-block Java body) or trusts the content-size field,
 * so a small or corrupt body could cost a huge allocation; this bound is at most 255 × the input.
 * Also refuses the frame options lz4js would misread (block checksums, dictionary ids).
 */
function lz4FrameCapacity(src: Buffer): number {
  if (src.length < 7 || src.readUInt32LE(0) !== LZ4_MAGIC) throw new Error('not an LZ4 frame (bad magic number)');
  const flags = src[4]!;
  const blockCode = (src[5]! >> 4) & 0x7;
  if ((flags & 0xc0) !== 0x40) throw new Error(`unsupported LZ4 frame version ${flags >> 6}`);
  if ((flags & 0x10) !== 0) throw new Error('LZ4 frames with block checksums are not supported');
  if ((flags & 0x01) !== 0) throw new Error('LZ4 frames with a dictionary id are not supported');
  const blockMax = LZ4_BLOCK_MAX[blockCode];
  if (blockMax === undefined) throw new Error(`invalid LZ4 block size code ${blockCode}`);
  let offset = 6 + ((flags & 0x08) !== 0 ? 8 : 0) + 1;
  let capacity = 0;
  for (;;) {
    if (offset + 4 > src.length) throw new Error('truncated LZ4 frame');
    const word = src.readUInt32LE(offset);
    offset += 4;
    if (word === 0) return capacity;
    const size = word & 0x7fffffff;
    if (size > blockMax || offset + size > src.length) throw new Error('truncated or invalid LZ4 block');
    const stored = word >= 0x80000000;
    capacity += stored ? size : Math.min(blockMax, size * LZ4_MAX_RATIO);
    offset += size;
  }
}

function decodeLz4Frame(src: Buffer): Uint8Array {
  const out = new Uint8Array(lz4FrameCapacity(src));
  const written = lz4.decompressFrame(src, out);
  if (written > out.length) throw new Error('LZ4 frame decodes to more than its blocks allow');
  return out.subarray(0, written);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Returns the body as the producer gave it: unchanged when sysFlag has no COMPRESSED bit,
 * otherwise decompressed with the codec the sysFlag names.
 * @throws MessageDecodeError for an unknown codec or bytes the codec rejects.
 */
export function decompressBody(sysFlag: number, body: Buffer): Buffer {
  if ((sysFlag & MessageSysFlag.COMPRESSED) === 0) return body;
  const codec = compressionCodecName(sysFlag);
  let decoded: Uint8Array;
  try {
    if (codec === 'zlib') decoded = inflateSync(body);
    else if (codec === 'lz4') decoded = decodeLz4Frame(body);
    else if (codec === 'zstd') decoded = zstdDecompress(body);
    else {
      throw new MessageDecodeError(codec,
        `message body is compressed with an unknown codec ${codec} (sysFlag 0x${sysFlag.toString(16)})`);
    }
  } catch (error) {
    if (error instanceof MessageDecodeError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new MessageDecodeError(codec, `cannot decompress a ${codec} message body: ${reason}`, { cause: error });
  }
  return asBuffer(decoded);
}
