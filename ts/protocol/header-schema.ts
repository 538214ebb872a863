// Typed custom headers. A RocketMQ "custom header" travels as extFields (a string map); each
// header class is described here as data: a name and a list of fields with a wire type and
// whether it is required (Java's @CFNotNull). One generic decoder/encoder serves them all.
//
// Number policy: `int` is a Java int, range-checked to int32. `long` is a Java long decoded to
// a JS `number`: offsets, timestamps and counters in practice stay far below 2^53 (a commit
// log would need 8 PiB to reach it), and `number` keeps arithmetic simple for every caller.
// A long outside ±(2^53 − 1) is rejected rather than silently rounded.

import { ProtocolError } from '../common/errors.js';

/** Wire type of a header field. */
export type HeaderFieldType = 'string' | 'int' | 'long' | 'bool';

/** One field of a header schema. */
export interface HeaderField {
  readonly name: string;
  readonly type: HeaderFieldType;
  readonly required: boolean;
}

/** Type and requiredness of a field, as written in a schema definition. */
export interface FieldSpec {
  readonly type: HeaderFieldType;
  readonly required: boolean;
}

/** JS type a wire type decodes to. */
export type FieldValue<T extends HeaderFieldType> = T extends 'string' ? string : T extends 'bool' ? boolean : number;

type RequiredKeys<S> = { [K in keyof S]: S[K] extends { required: true } ? K : never }[keyof S];
type OptionalKeys<S> = Exclude<keyof S, RequiredKeys<S>>;

/** The decoded object of a header defined by `S`. */
export type HeaderValues<S extends Record<string, FieldSpec>> = {
  [K in RequiredKeys<S>]: FieldValue<S[K]['type']>;
} & {
  [K in OptionalKeys<S>]?: FieldValue<S[K]['type']>;
};

/** A header schema: its Java class name (for error messages) and its fields. */
export interface HeaderSchema<S extends Record<string, FieldSpec> = Record<string, FieldSpec>> {
  readonly name: string;
  readonly fields: readonly HeaderField[];
  /** Type-level only: the field specs the schema was defined from. */
  readonly spec?: S;
}

/** Decoded values of a schema. */
export type HeaderOf<H> = H extends HeaderSchema<infer S> ? HeaderValues<S> : never;

/** A required field of type `type`. */
export function required<T extends HeaderFieldType>(type: T): { type: T; required: true } {
  return { type, required: true };
}

/** An optional field of type `type`. */
export function optional<T extends HeaderFieldType>(type: T): { type: T; required: false } {
  return { type, required: false };
}

/** Defines a header schema from `{ fieldName: required('int'), ... }`. */
export function defineHeader<const S extends Record<string, FieldSpec>>(name: string, spec: S): HeaderSchema<S> {
  const fields = Object.entries(spec).map(([field, { type, required: isRequired }]) => ({
    name: field,
    type,
    required: isRequired,
  }));
  return { name, fields: Object.freeze(fields) };
}

const INTEGER_TEXT = /^[+-]?\d+$/;

function fieldError(schema: HeaderSchema, field: HeaderField, raw: string, why: string): ProtocolError {
  return new ProtocolError(
    'HEADER_FIELD_INVALID',
    `${schema.name}.${field.name} ${why}: ${JSON.stringify(raw)}`,
    { field: field.name },
  );
}

function parseField(schema: HeaderSchema, field: HeaderField, raw: string): string | number | boolean {
  switch (field.type) {
    case 'string':
      return raw;
    case 'bool':
      // Java's Boolean.parseBoolean: "true" in any case is true, anything else false.
      return raw.toLowerCase() === 'true';
    case 'int': {
      if (!INTEGER_TEXT.test(raw)) throw fieldError(schema, field, raw, 'is not an integer');
      const value = Number(raw);
      if (value < -0x80000000 || value > 0x7fffffff) throw fieldError(schema, field, raw, 'is out of int32 range');
      return value;
    }
    case 'long': {
      if (!INTEGER_TEXT.test(raw)) throw fieldError(schema, field, raw, 'is not an integer');
      const value = Number(raw);
      if (!Number.isSafeInteger(value)) throw fieldError(schema, field, raw, 'exceeds ±(2^53 − 1)');
      return value;
    }
  }
}

/**
 * Decodes `extFields` against `schema`. Fields the schema does not list are ignored.
 * @throws ProtocolError `HEADER_FIELD_MISSING` naming the first absent required field, or
 *   `HEADER_FIELD_INVALID` for a value that does not parse as its type.
 */
export function decodeHeader<S extends Record<string, FieldSpec>>(
  schema: HeaderSchema<S>,
  extFields: Readonly<Record<string, string>> | undefined,
): HeaderValues<S> {
  const values: Record<string, string | number | boolean> = {};
  for (const field of schema.fields) {
    const raw = extFields !== undefined && Object.hasOwn(extFields, field.name) ? extFields[field.name] : undefined;
    if (raw === undefined) {
      if (field.required) {
        throw new ProtocolError('HEADER_FIELD_MISSING', `${schema.name}: required field ${field.name} is missing`, {
          field: field.name,
        });
      }
      continue;
    }
    values[field.name] = parseField(schema, field, raw);
  }
  return values as HeaderValues<S>;
}

function formatField(schema: HeaderSchema, field: HeaderField, value: unknown): string {
  const fail = (why: string): ProtocolError =>
    new ProtocolError('ENCODE_INVALID', `${schema.name}.${field.name} ${why}: ${String(value)}`, { field: field.name });
  switch (field.type) {
    case 'string':
      if (typeof value !== 'string') throw fail('is not a string');
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw fail('is not a boolean');
      return value ? 'true' : 'false';
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
        throw fail('is not an int32');
      }
      return String(value);
    case 'long':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw fail('is not a safe integer');
      return String(value);
  }
}

/**
 * Encodes header values as extFields (every value a string, absent optionals omitted).
 * @throws ProtocolError `HEADER_FIELD_MISSING` for an absent required field, `ENCODE_INVALID`
 *   for a value of the wrong type.
 */
export function encodeHeader<S extends Record<string, FieldSpec>>(
  schema: HeaderSchema<S>,
  values: HeaderValues<S>,
): Record<string, string> {
  const source = values as Record<string, unknown>;
  const extFields: Record<string, string> = {};
  for (const field of schema.fields) {
    const value = source[field.name];
    if (value === undefined || value === null) {
      if (field.required) {
        throw new ProtocolError('HEADER_FIELD_MISSING', `${schema.name}: required field ${field.name} is missing`, {
          field: field.name,
        });
      }
      continue;
    }
    extFields[field.name] = formatField(schema, field, value);
  }
  return extFields;
}
