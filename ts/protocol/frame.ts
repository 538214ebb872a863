// Remoting frame codec. One frame on the wire, big-endian:
//
//   +-----------------+-------------------------------------+----------+--------+
//   | length int32    | serializeType << 24 | headerLength  | header   | body   |
//   +-----------------+-------------------------------------+----------+--------+
//     4 bytes           4 bytes                               headerLen  rest
//
// `length` counts everything after itself: 4 + headerLength + bodyLength. The whole frame
// (prefix included) is at most `frameBytesMax` (16 MiB by default, as in Java). Any frame
// error is a ProtocolError; the transport closes the connection on it, because after a bad
// length prefix there is no way to find the next frame boundary.

import { ProtocolError } from '../common/errors.js';
import { FRAME_BYTES_MAX, HEADER_BYTES_MAX } from '../common/limits.js';
import { SerializeType, type RemotingCommand, type SerializeTypeValue } from './command.js';
import { decodeBinaryHeader, encodeBinaryHeader } from './header-binary.js';
import { decodeJsonHeader, encodeJsonHeader, type CommandHeader } from './header-json.js';

/** Frame-size options shared by the encoder and the decoders. */
export interface FrameOptions {
  /** Largest frame including its 4-byte length prefix. Default 16 MiB. */
  frameBytesMax?: number;
}

const LENGTH_PREFIX_BYTES = 4;
const HEADER_WORD_BYTES = 4;

function encodeHeader(command: CommandHeader, serializeType: SerializeTypeValue): Buffer {
  if (serializeType === SerializeType.JSON) return encodeJsonHeader(command);
  if (serializeType === SerializeType.ROCKETMQ) return encodeBinaryHeader(command);
  throw new ProtocolError('ENCODE_INVALID', `unknown serialize type ${String(serializeType)}`);
}

/**
 * Encodes the length prefix, header word and header of a frame whose body (`bodyLength`
 * bytes, not included) the caller writes separately, e.g. from a zero-copy source.
 * `command.body` is ignored.
 */
export function encodeFrameHeader(
  command: RemotingCommand,
  bodyLength: number,
  serializeType: SerializeTypeValue = SerializeType.JSON,
  options: FrameOptions = {},
): Buffer {
  const header = encodeHeader(command, serializeType);
  if (header.length > HEADER_BYTES_MAX) {
    throw new ProtocolError('ENCODE_INVALID', `header of ${header.length} bytes exceeds ${HEADER_BYTES_MAX}`);
  }
  if (!Number.isInteger(bodyLength) || bodyLength < 0) {
    throw new ProtocolError('ENCODE_INVALID', `body length ${bodyLength} is not a non-negative integer`);
  }
  const frameBytesMax = options.frameBytesMax ?? FRAME_BYTES_MAX;
  const frameBytes = LENGTH_PREFIX_BYTES + HEADER_WORD_BYTES + header.length + bodyLength;
  if (frameBytes > frameBytesMax) {
    throw new ProtocolError('ENCODE_INVALID', `frame of ${frameBytes} bytes exceeds the maximum of ${frameBytesMax}`);
  }
  const prefix = Buffer.allocUnsafe(LENGTH_PREFIX_BYTES + HEADER_WORD_BYTES + header.length);
  prefix.writeInt32BE(frameBytes - LENGTH_PREFIX_BYTES, 0);
  prefix.writeUInt32BE(((serializeType << 24) | header.length) >>> 0, 4);
  header.copy(prefix, LENGTH_PREFIX_BYTES + HEADER_WORD_BYTES);
  return prefix;
}

/** Encodes a whole frame (length prefix, header and body) into one buffer. */
export function encodeFrame(
  command: RemotingCommand,
  serializeType: SerializeTypeValue = SerializeType.JSON,
  options: FrameOptions = {},
): Buffer {
  const body = command.body;
  const prefix = encodeFrameHeader(command, body?.length ?? 0, serializeType, options);
  return body === undefined || body.length === 0 ? prefix : Buffer.concat([prefix, body]);
}

/**
 * Checks a length prefix as soon as its 4 bytes are known, so a peer announcing a 2 GiB frame
 * is rejected before we buffer anything.
 */
export function checkFrameLength(length: number, frameBytesMax: number): void {
  if (length < HEADER_WORD_BYTES) {
    throw new ProtocolError(
      'FRAME_LENGTH_INVALID',
      `frame length ${length} is below the minimum of ${HEADER_WORD_BYTES}`,
    );
  }
  if (length + LENGTH_PREFIX_BYTES > frameBytesMax) {
    throw new ProtocolError(
      'FRAME_TOO_LARGE',
      `frame of ${length + LENGTH_PREFIX_BYTES} bytes exceeds the maximum of ${frameBytesMax}`,
    );
  }
}

/**
 * Decodes a frame without its length prefix (header word, header, body). The body is a view
 * into `payload`, not a copy.
 */
export function decodeFramePayload(payload: Buffer): RemotingCommand {
  if (payload.length < HEADER_WORD_BYTES) {
    throw new ProtocolError('FRAME_LENGTH_INVALID', `frame payload of ${payload.length} bytes has no header word`);
  }
  const word = payload.readUInt32BE(0);
  const serializeType = word >>> 24;
  const headerLength = word & 0xffffff;
  if (headerLength > payload.length - HEADER_WORD_BYTES) {
    throw new ProtocolError(
      'HEADER_LENGTH_INVALID',
      `header length ${headerLength} exceeds the frame payload of ${payload.length - HEADER_WORD_BYTES} bytes`,
    );
  }
  const headerBytes = payload.subarray(HEADER_WORD_BYTES, HEADER_WORD_BYTES + headerLength);
  let header: CommandHeader;
  if (serializeType === SerializeType.JSON) header = decodeJsonHeader(headerBytes);
  else if (serializeType === SerializeType.ROCKETMQ) header = decodeBinaryHeader(headerBytes);
  else throw new ProtocolError('SERIALIZE_TYPE_UNKNOWN', `unknown serialize type ${serializeType}`);
  const command: RemotingCommand = header;
  const bodyStart = HEADER_WORD_BYTES + headerLength;
  if (bodyStart < payload.length) command.body = payload.subarray(bodyStart);
  return command;
}

/** Decodes exactly one whole frame, length prefix included. */
export function decodeFrame(frame: Buffer, options: FrameOptions = {}): RemotingCommand {
  if (frame.length < LENGTH_PREFIX_BYTES) {
    throw new ProtocolError('FRAME_LENGTH_INVALID', `frame of ${frame.length} bytes has no length prefix`);
  }
  const length = frame.readInt32BE(0);
  checkFrameLength(length, options.frameBytesMax ?? FRAME_BYTES_MAX);
  if (length !== frame.length - LENGTH_PREFIX_BYTES) {
    throw new ProtocolError(
      'FRAME_LENGTH_INVALID',
      `frame length prefix ${length} does not match the ${frame.length - LENGTH_PREFIX_BYTES} bytes given`,
    );
  }
  return decodeFramePayload(frame.subarray(LENGTH_PREFIX_BYTES));
}

/**
 * Streaming decoder: feed arbitrary Buffer chunks with {@link push}, take whole commands with
 * {@link next}. Handles frames split across chunks and several frames in one chunk.
 *
 * Once a frame error is thrown the decoder stays failed (every later call rethrows it): the
 * byte stream has lost its framing and the connection must be closed.
 *
 * Memory is bounded by one frame plus one chunk: chunks are kept as a list and joined only
 * when a whole frame is present, so many small chunks cost no quadratic copying.
 */
export class FrameDecoder {
  readonly #frameBytesMax: number;
  #chunks: Buffer[] = [];
  #bufferedBytes = 0;
  /** Total bytes of the frame being assembled (prefix included), or -1 before its prefix. */
  #frameBytes = -1;
  #failure: ProtocolError | null = null;

  constructor(options: FrameOptions = {}) {
    this.#frameBytesMax = options.frameBytesMax ?? FRAME_BYTES_MAX;
    if (!Number.isInteger(this.#frameBytesMax) || this.#frameBytesMax < LENGTH_PREFIX_BYTES + HEADER_WORD_BYTES) {
      throw new RangeError(`frameBytesMax must be an integer >= 8, got ${this.#frameBytesMax}`);
    }
  }

  /** Bytes received but not yet returned as commands. */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /** Appends received bytes. Rethrows the earlier error if the decoder has failed. */
  push(chunk: Buffer): void {
    if (this.#failure !== null) throw this.#failure;
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#bufferedBytes += chunk.length;
  }

  /**
   * The next whole command, or null if more bytes are needed.
   * @throws ProtocolError on a malformed frame (the decoder is then failed for good).
   */
  next(): RemotingCommand | null {
    if (this.#failure !== null) throw this.#failure;
    try {
      return this.#next();
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.#failure = error;
        this.#chunks = [];
        this.#bufferedBytes = 0;
      }
      throw error;
    }
  }

  #next(): RemotingCommand | null {
    if (this.#frameBytes < 0) {
      if (this.#bufferedBytes < LENGTH_PREFIX_BYTES) return null;
      const length = this.#peekInt32();
      checkFrameLength(length, this.#frameBytesMax);
      this.#frameBytes = length + LENGTH_PREFIX_BYTES;
    }
    if (this.#bufferedBytes < this.#frameBytes) return null;
    const frame = this.#take(this.#frameBytes);
    this.#frameBytes = -1;
    return decodeFramePayload(frame.subarray(LENGTH_PREFIX_BYTES));
  }

  #peekInt32(): number {
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= LENGTH_PREFIX_BYTES) return first.readInt32BE(0);
    const joined = Buffer.concat(this.#chunks, LENGTH_PREFIX_BYTES);
    return joined.readInt32BE(0);
  }

  /** Removes and returns the first `bytes` buffered bytes (a view when one chunk holds them). */
  #take(bytes: number): Buffer {
    this.#bufferedBytes -= bytes;
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= bytes) {
      if (first.length === bytes) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(bytes);
      return first.subarray(0, bytes);
    }
    const parts: Buffer[] = [];
    let remaining = bytes;
    while (remaining > 0) {
      const chunk = this.#chunks[0];
      if (chunk === undefined) throw new Error('FrameDecoder invariant: buffered byte count out of sync');
      if (chunk.length <= remaining) {
        parts.push(chunk);
        this.#chunks.shift();
        remaining -= chunk.length;
      } else {
        parts.push(chunk.subarray(0, remaining));
        this.#chunks[0] = chunk.subarray(remaining);
        remaining = 0;
      }
    }
    return Buffer.concat(parts, bytes);
  }
}
