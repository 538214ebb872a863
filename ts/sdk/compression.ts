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
    else if (codec === 'lz4') decoded = lz4.decompress(body);
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
