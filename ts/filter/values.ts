// Values of the SQL92 filter and Java's comparison rules for them. RocketMQ evaluates with
// java.lang types: literals are Integer (fits in 32 bits), Long, Double, String, Boolean;
// message properties are always Strings. ComparisonExpression.__compare (with string
// conversion on, as SelectorParser always sets it) converts the right-hand String to the
// left-hand type (or the left-hand String to the right-hand type) with Integer.valueOf,
// Long.valueOf, Double.valueOf, Boolean.valueOf; a failed conversion is an evaluation error,
// and RocketMQ treats an evaluation error as "no match". Mismatched types without a
// conversion compare as "less than" (-1), which is what Java does.

import { BolideError } from '../common/errors.js';

/** An Integer, Long or Double literal (or the negation of one). */
export type JavaNumber =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'long'; readonly value: bigint }
  | { readonly kind: 'double'; readonly value: number };

/** A value during evaluation: null is SQL NULL (a missing property). */
export type FilterValue = null | string | boolean | JavaNumber;

/** Thrown while evaluating (a conversion failed); SqlFilter.matches turns it into "no match". */
export class FilterEvaluationError extends BolideError {
  declare readonly code: 'FILTER_EVALUATION_FAILED';

  constructor(message: string) {
    super('FILTER_EVALUATION_FAILED', message);
  }
}

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

type Kind = 'string' | 'bool' | 'int' | 'long' | 'double';

function kindOf(value: Exclude<FilterValue, null>): Kind {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'bool';
  return value.kind;
}

function numberFormat(text: string): FilterEvaluationError {
  return new FilterEvaluationError(`For input string: "${text}"`);
}

/** Java's Long.parseLong (ASCII digits, optional sign, no spaces). */
export function parseJavaLong(text: string): bigint {
  if (!/^[+-]?[0-9]+$/.test(text)) throw numberFormat(text);
  const value = BigInt(text);
  if (value < LONG_MIN || value > LONG_MAX) throw numberFormat(text);
  return value;
}

/** Java's Integer.parseInt. */
export function parseJavaInt(text: string): number {
  if (!/^[+-]?[0-9]+$/.test(text)) throw numberFormat(text);
  const value = Number(text);
  if (value < INT_MIN || value > INT_MAX) throw numberFormat(text);
  return value;
}

// Double.valueOf: surrounding characters <= ' ' are trimmed; a decimal with an optional
// exponent and an optional f/F/d/D suffix, or NaN / Infinity, each with an optional sign.
// (Java's hexadecimal floating-point form is not accepted here.)
const JAVA_DOUBLE = /^[+-]?(?:NaN|Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?)$/;

/** Java's Double.valueOf. */
export function parseJavaDouble(text: string): number {
  // eslint-disable-next-line no-control-regex
  const trimmed = text.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '');
  if (!JAVA_DOUBLE.test(trimmed)) throw numberFormat(text);
  return Number(trimmed.replace(/[fFdD]$/, ''));
}

/** Java's Double.compare: -0.0 below 0.0, NaN above everything and equal to itself. */
function compareDouble(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  const aNaN = Number.isNaN(a);
  const bNaN = Number.isNaN(b);
  if (aNaN || bNaN) return aNaN && bNaN ? 0 : aNaN ? 1 : -1;
  if (a === 0 && b === 0) {
    const aNegative = Object.is(a, -0);
    const bNegative = Object.is(b, -0);
    return aNegative === bNegative ? 0 : aNegative ? -1 : 1;
  }
  return 0;
}

function sign(a: number | bigint, b: number | bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function asDouble(value: JavaNumber): number {
  return value.kind === 'long' ? Number(value.value) : value.value;
}

/** Java's Object.equals between two non-null values. */
export function javaEquals(left: Exclude<FilterValue, null>, right: Exclude<FilterValue, null>): boolean {
  if (typeof left !== 'object' || typeof right !== 'object') return left === right;
  if (left.kind !== right.kind) return false;
  // Double.equals compares bits: NaN equals NaN, 0.0 does not equal -0.0.
  return left.kind === 'double' ? Object.is(left.value, right.value) : left.value === right.value;
}

/** ComparisonExpression.__compare with string conversion on. */
export function javaCompare(left: Exclude<FilterValue, null>, right: Exclude<FilterValue, null>): number {
  let l = left;
  let r = right;
  const lk = kindOf(l);
  const rk = kindOf(r);
  if (lk !== rk) {
    switch (lk) {
      case 'bool':
        // Java casts the Boolean itself to String here and fails (ClassCastException).
        if (rk === 'string') throw new FilterEvaluationError('java.lang.Boolean cannot be cast to java.lang.String');
        return -1;
      case 'int':
        if (rk === 'long') l = { kind: 'long', value: BigInt((l as JavaNumber).value) };
        else if (rk === 'double') l = { kind: 'double', value: (l as JavaNumber).value as number };
        else if (rk === 'string') r = { kind: 'int', value: parseJavaInt(r as string) };
        else return -1;
        break;
      case 'long':
        if (rk === 'int') r = { kind: 'long', value: BigInt((r as JavaNumber).value) };
        else if (rk === 'double') l = { kind: 'double', value: asDouble(l as JavaNumber) };
        else if (rk === 'string') r = { kind: 'long', value: parseJavaLong(r as string) };
        else return -1;
        break;
      case 'double':
        if (rk === 'int' || rk === 'long') r = { kind: 'double', value: asDouble(r as JavaNumber) };
        else if (rk === 'string') r = { kind: 'double', value: parseJavaDouble(r as string) };
        else return -1;
        break;
      case 'string': {
        const text = l as string;
        if (rk === 'bool') l = text.toLowerCase() === 'true';
        else if (rk === 'int') l = { kind: 'int', value: parseJavaInt(text) };
        else if (rk === 'long') l = { kind: 'long', value: parseJavaLong(text) };
        else l = { kind: 'double', value: parseJavaDouble(text) };
        break;
      }
    }
  }
  if (typeof l === 'string' || typeof l === 'boolean') return sign(l as never, r as never);
  const rn = r as JavaNumber;
  if (l.kind === 'double') return compareDouble(l.value, rn.value as number);
  return sign(l.value, rn.value);
}

/** Java's toString of a constant, for messages (strings quoted as in the selector). */
export function formatValue(value: FilterValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'string') return `'${value.replaceAll("'", "''")}'`;
  return String(value.value);
}

export const JAVA_INT_RANGE = { min: INT_MIN, max: INT_MAX } as const;
export const JAVA_LONG_RANGE = { min: LONG_MIN, max: LONG_MAX } as const;
