// JSON command header (serialize type 0), as written by fastjson in Java peers and by ali-ons:
//   {"code":105,"extFields":{"topic":"T"},"flag":0,"language":"JAVA","opaque":3,
//    "serializeTypeCurrentRPC":"JSON","version":479}
// Keys are written in alphabetical order, `remark` only when set. On decode we accept what
// lenient peers send: extFields values as JSON numbers or booleans (ali-ons sends
// `"queueId":0`), a numeric `language`, absent optional fields.

import { ProtocolError } from '../common/errors.js';
import type { RemotingCommand } from './command.js';
import { LanguageCode, languageFromJson } from './language.js';

/** A decoded header: every command field except the body. */
export type CommandHeader = Omit<RemotingCommand, 'body'>;

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

function invalid(message: string, field?: string): ProtocolError {
  return new ProtocolError('HEADER_JSON_INVALID', message, field === undefined ? undefined : { field });
}

function readInt32(object: Record<string, unknown>, key: string, required: boolean): number {
  const value = object[key];
  if (value === undefined || value === null) {
    if (required) throw invalid(`JSON header has no "${key}"`, key);
    return 0;
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
    throw invalid(`JSON header "${key}" is not an int32: ${JSON.stringify(value)}`, key);
  }
  return value;
}

/**
 * Coerces extFields to a string map. Numbers and booleans become their text (what the Java
 * side would have sent); null entries are dropped (fastjson omits them); nested objects are a
 * protocol error because no header field is structured.
 */
function readExtFields(value: unknown): Record<string, string> {
  const extFields: Record<string, string> = {};
  if (value === undefined || value === null) return extFields;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalid('JSON header "extFields" is not an object', 'extFields');
  }
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    // Assigning "__proto__" on a plain object would replace its prototype; no header uses it.
    if (key === '__proto__') continue;
    if (raw === null || raw === undefined) continue;
    if (typeof raw === 'string') extFields[key] = raw;
    else if (typeof raw === 'number' || typeof raw === 'boolean') extFields[key] = String(raw);
    else throw invalid(`JSON header extFields["${key}"] is not a scalar`, key);
  }
  return extFields;
}

/** Decodes a JSON header. Throws {@link ProtocolError} `HEADER_JSON_INVALID`. */
export function decodeJsonHeader(bytes: Uint8Array): CommandHeader {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (error) {
    const why = (error as Error).message;
    throw new ProtocolError('HEADER_JSON_INVALID', `JSON header does not parse: ${why}`, { cause: error });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalid('JSON header is not an object');
  }
  const object = parsed as Record<string, unknown>;
  const header: CommandHeader = {
    code: readInt32(object, 'code', true),
    language: languageFromJson(object['language']),
    version: readInt32(object, 'version', false),
    opaque: readInt32(object, 'opaque', false),
    flag: readInt32(object, 'flag', false),
    extFields: readExtFields(object['extFields']),
  };
  const remark = object['remark'];
  if (typeof remark === 'string') header.remark = remark;
  else if (remark !== undefined && remark !== null) throw invalid('JSON header "remark" is not a string', 'remark');
  return header;
}

function checkInt32(value: number, field: string): number {
  if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
    throw new ProtocolError('ENCODE_INVALID', `command ${field} is not an int32: ${value}`, { field });
  }
  return value;
}

/**
 * String map for the wire. Types already say extFields are strings; this also guards callers
 * that bypass the types, so a peer never receives a number or boolean.
 */
export function stringifyExtFields(extFields: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(extFields)) {
    if (value === undefined || value === null) continue;
    out[key] = typeof value === 'string' ? value : String(value);
  }
  return out;
}

/** Encodes a JSON header (UTF-8), keys in fastjson's alphabetical order. */
export function encodeJsonHeader(command: CommandHeader): Buffer {
  if (!Object.hasOwn(LanguageCode, command.language)) {
    throw new ProtocolError('ENCODE_INVALID', `unknown language ${String(command.language)}`, { field: 'language' });
  }
  const object: Record<string, unknown> = {
    code: checkInt32(command.code, 'code'),
    extFields: stringifyExtFields(command.extFields),
    flag: checkInt32(command.flag, 'flag'),
    language: command.language,
    opaque: checkInt32(command.opaque, 'opaque'),
  };
  if (command.remark !== undefined) object['remark'] = command.remark;
  object['serializeTypeCurrentRPC'] = 'JSON';
  object['version'] = checkInt32(command.version, 'version');
  return Buffer.from(JSON.stringify(object), 'utf8');
}
