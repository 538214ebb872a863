// ROCKETMQ binary command header (serialize type 1), big-endian:
//
//   code int16 | language int8 | version int16 | opaque int32 | flag int32
//   | remarkLength int32 | remark (UTF-8)
//   | extFieldsLength int32 | { keyLength int16 | key | valueLength int32 | value } ...
//
// A zero-length remark means null. A zero-length key or value means null in Java; we drop
// such extFields entries, so a required field sent empty is reported as missing, as in Java.

import { ProtocolError } from '../common/errors.js';
import type { CommandHeader } from './header-json.js';
import { stringifyExtFields } from './header-json.js';
import { LanguageCode, languageFromCode } from './language.js';

const FIXED_BYTES = 2 + 1 + 2 + 4 + 4;

class Reader {
  #position = 0;

  constructor(readonly buffer: Buffer) {}

  get position(): number {
    return this.#position;
  }

  need(bytes: number, what: string): void {
    if (bytes < 0 || this.#position + bytes > this.buffer.length) {
      throw new ProtocolError(
        'HEADER_BINARY_TRUNCATED',
        `binary header truncated reading ${what}: need ${bytes} bytes at ${this.#position}, have ${this.buffer.length}`,
        { field: what },
      );
    }
  }

  int8(what: string): number {
    this.need(1, what);
    const value = this.buffer.readInt8(this.#position);
    this.#position += 1;
    return value;
  }

  int16(what: string): number {
    this.need(2, what);
    const value = this.buffer.readInt16BE(this.#position);
    this.#position += 2;
    return value;
  }

  int32(what: string): number {
    this.need(4, what);
    const value = this.buffer.readInt32BE(this.#position);
    this.#position += 4;
    return value;
  }

  utf8(length: number, what: string): string {
    this.need(length, what);
    const value = this.buffer.toString('utf8', this.#position, this.#position + length);
    this.#position += length;
    return value;
  }
}

function decodeExtFields(reader: Reader, end: number): Record<string, string> {
  const extFields: Record<string, string> = {};
  while (reader.position < end) {
    const keyLength = reader.int16('extFields key length');
    const key = reader.utf8(keyLength, 'extFields key');
    const valueLength = reader.int32('extFields value length');
    const value = reader.utf8(valueLength, 'extFields value');
    if (reader.position > end) {
      throw new ProtocolError('HEADER_BINARY_TRUNCATED', 'binary header extFields entry overruns its declared length', {
        field: 'extFields',
      });
    }
    if (keyLength === 0 || valueLength === 0 || key === '__proto__') continue;
    extFields[key] = value;
  }
  return extFields;
}

/** Decodes a ROCKETMQ binary header. Throws {@link ProtocolError} `HEADER_BINARY_TRUNCATED`. */
export function decodeBinaryHeader(bytes: Uint8Array): CommandHeader {
  const reader = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  reader.need(FIXED_BYTES, 'fixed fields');
  const code = reader.int16('code');
  const language = languageFromCode(reader.int8('language') & 0xff);
  const version = reader.int16('version');
  const opaque = reader.int32('opaque');
  const flag = reader.int32('flag');
  const remarkLength = reader.int32('remark length');
  const remark = remarkLength === 0 ? undefined : reader.utf8(remarkLength, 'remark');
  const extFieldsLength = reader.int32('extFields length');
  reader.need(extFieldsLength, 'extFields');
  const extFields = decodeExtFields(reader, reader.position + extFieldsLength);
  const header: CommandHeader = { code, language, version, opaque, flag, extFields };
  if (remark !== undefined) header.remark = remark;
  return header;
}

function checkRange(value: number, min: number, max: number, field: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    const message = `binary header ${field} out of range [${min}, ${max}]: ${value}`;
    throw new ProtocolError('ENCODE_INVALID', message, { field });
  }
  return value;
}

/** Encodes a ROCKETMQ binary header. Code and version must fit in an int16. */
export function encodeBinaryHeader(command: CommandHeader): Buffer {
  const remark = command.remark === undefined ? Buffer.alloc(0) : Buffer.from(command.remark, 'utf8');
  const entries: Array<[Buffer, Buffer]> = [];
  let extFieldsLength = 0;
  for (const [key, value] of Object.entries(stringifyExtFields(command.extFields))) {
    const keyBytes = Buffer.from(key, 'utf8');
    const valueBytes = Buffer.from(value, 'utf8');
    checkRange(keyBytes.length, 0, 0x7fff, `extFields key length of ${key}`);
    entries.push([keyBytes, valueBytes]);
    extFieldsLength += 2 + keyBytes.length + 4 + valueBytes.length;
  }
  const language = LanguageCode[command.language];
  if (language === undefined) {
    throw new ProtocolError('ENCODE_INVALID', `unknown language ${String(command.language)}`, { field: 'language' });
  }
  const buffer = Buffer.allocUnsafe(FIXED_BYTES + 4 + remark.length + 4 + extFieldsLength);
  let position = 0;
  position = buffer.writeInt16BE(checkRange(command.code, -0x8000, 0x7fff, 'code'), position);
  position = buffer.writeInt8(language, position);
  position = buffer.writeInt16BE(checkRange(command.version, -0x8000, 0x7fff, 'version'), position);
  position = buffer.writeInt32BE(checkRange(command.opaque, -0x80000000, 0x7fffffff, 'opaque'), position);
  position = buffer.writeInt32BE(checkRange(command.flag, -0x80000000, 0x7fffffff, 'flag'), position);
  position = buffer.writeInt32BE(remark.length, position);
  position += remark.copy(buffer, position);
  position = buffer.writeInt32BE(extFieldsLength, position);
  for (const [key, value] of entries) {
    position = buffer.writeInt16BE(key.length, position);
    position += key.copy(buffer, position);
    position = buffer.writeInt32BE(value.length, position);
    position += value.copy(buffer, position);
  }
  return buffer;
}
