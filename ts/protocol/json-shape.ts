// Small validators for JSON bodies received from peers. A body with the wrong shape becomes a
// ProtocolError naming the path (`topicConfigTable.T.perm`), never a TypeError deep inside a
// processor.

import { ProtocolError } from '../common/errors.js';

/** A JSON object. */
export type JsonObject = Record<string, unknown>;

function fail(path: string, expected: string, value: unknown): ProtocolError {
  const got = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return new ProtocolError('BODY_INVALID', `${path}: expected ${expected}, got ${got}`, { field: path });
}

export function asObject(value: unknown, path: string): JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw fail(path, 'an object', value);
  return value as JsonObject;
}

export function asArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw fail(path, 'an array', value);
  return value;
}

export function asString(value: unknown, path: string): string {
  if (typeof value !== 'string') throw fail(path, 'a string', value);
  return value;
}

/** An integer; numeric strings are accepted because fastjson peers sometimes quote longs. */
export function asInteger(value: unknown, path: string): number {
  const number = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number)) throw fail(path, 'an integer', value);
  return number;
}

export function asBoolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw fail(path, 'a boolean', value);
  return value;
}

/** `value` if present, else `fallback`; present values are checked by `check`. */
export function optionalField<T>(
  object: JsonObject,
  key: string,
  path: string,
  check: (value: unknown, path: string) => T,
  fallback: T,
): T {
  const value = object[key];
  return value === undefined || value === null ? fallback : check(value, `${path}.${key}`);
}

/** Own entries of an object, skipping `__proto__` so results can be stored in plain objects. */
export function entriesOf(object: JsonObject): Array<[string, unknown]> {
  return Object.entries(object).filter(([key]) => key !== '__proto__');
}
