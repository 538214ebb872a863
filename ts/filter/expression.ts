// Expression nodes of the SQL92 filter and their evaluation, with RocketMQ's three-valued
// logic: a comparison with a NULL side is NULL, AND/OR treat NULL as "unknown", NOT NULL is
// NULL, and only TRUE matches. CONTAINS / STARTSWITH / ENDSWITH and their NOT forms are FALSE
// (not NULL) for a missing or non-string value and for an empty search string. IN only
// matches strings. The checks RocketMQ makes while building the tree (which operands may be
// compared) live in parser.ts.

import {
  FilterEvaluationError, javaCompare, javaEquals, parseJavaDouble, type FilterValue, type JavaNumber,
} from './values.js';

/** Looks a message property up by its exact (case-sensitive) name; undefined when absent. */
export type PropertyLookup = (name: string) => string | undefined;

/**
 * What the parser needs to know about a node: `constant` (a literal, with its value),
 * `property` (a bare property name), `boolean` (RocketMQ's BooleanExpression: comparisons,
 * logic, TRUE/FALSE/NULL literals).
 */
export interface Expression {
  readonly shape: 'constant' | 'property' | 'other';
  readonly boolean: boolean;
  readonly value?: FilterValue;
  readonly name?: string;
  evaluate(lookup: PropertyLookup): FilterValue;
}

export function constant(value: FilterValue): Expression {
  const boolean = value === null || typeof value === 'boolean';
  return { shape: 'constant', boolean, value, evaluate: () => value };
}

export function property(name: string): Expression {
  return { shape: 'property', boolean: false, name, evaluate: (lookup) => lookup(name) ?? null };
}

function booleanNode(evaluate: (lookup: PropertyLookup) => FilterValue): Expression {
  return { shape: 'other', boolean: true, evaluate };
}

function truth(value: FilterValue): boolean | null {
  if (value === null) return null;
  // Only Booleans reach logic operators (the parser casts everything else).
  return value === true;
}

export function and(left: Expression, right: Expression): Expression {
  return booleanNode((lookup) => {
    const l = truth(left.evaluate(lookup));
    if (l === false) return false;
    const r = truth(right.evaluate(lookup));
    if (r === false) return false;
    return l === null || r === null ? null : true;
  });
}

export function or(left: Expression, right: Expression): Expression {
  return booleanNode((lookup) => {
    const l = truth(left.evaluate(lookup));
    if (l === true) return true;
    const r = truth(right.evaluate(lookup));
    if (r === true) return true;
    return l === null || r === null ? null : false;
  });
}

export function not(operand: Expression): Expression {
  return booleanNode((lookup) => {
    const value = truth(operand.evaluate(lookup));
    return value === null ? null : !value;
  });
}

/** A property used where a boolean is expected: properties are strings, so never TRUE. */
export function booleanCast(operand: Expression): Expression {
  return booleanNode((lookup) => {
    const value = operand.evaluate(lookup);
    if (value === null) return null;
    return typeof value === 'boolean' ? value : false;
  });
}

function negateNumber(value: JavaNumber): JavaNumber {
  switch (value.kind) {
    case 'int':
      return { kind: 'int', value: -value.value | 0 };
    case 'long':
      return { kind: 'long', value: BigInt.asIntN(64, -value.value) };
    case 'double':
      return { kind: 'double', value: -value.value };
  }
}

/** Unary minus: numbers only; anything else (a property's string too) is NULL. */
export function negate(operand: Expression): Expression {
  return {
    shape: 'other',
    boolean: false,
    evaluate: (lookup) => {
      const value = operand.evaluate(lookup);
      return value !== null && typeof value === 'object' ? negateNumber(value) : null;
    },
  };
}

/** `=`, and IS NULL as "= NULL" (both NULL is TRUE; one NULL side: NULL if the left is). */
export function equal(left: Expression, right: Expression): Expression {
  return booleanNode((lookup) => {
    const l = left.evaluate(lookup);
    const r = right.evaluate(lookup);
    if ((l === null) !== (r === null)) return l === null ? null : false;
    if (l === null || r === null) return true;
    if (javaEquals(l, r)) return true;
    return javaCompare(l, r) === 0;
  });
}

export type Ordering = '>' | '>=' | '<' | '<=';

const ORDERING_TEST: Record<Ordering, (answer: number) => boolean> = {
  '>': (answer) => answer > 0,
  '>=': (answer) => answer >= 0,
  '<': (answer) => answer < 0,
  '<=': (answer) => answer <= 0,
};

/** `>`, `>=`, `<`, `<=`: two strings are both read as Doubles (failing that: error). */
export function ordering(operator: Ordering, left: Expression, right: Expression): Expression {
  const test = ORDERING_TEST[operator];
  return booleanNode((lookup) => {
    const l = left.evaluate(lookup);
    if (l === null) return null;
    const r = right.evaluate(lookup);
    if (r === null) return null;
    if (typeof l === 'string' && typeof r === 'string') {
      const toDouble = (text: string): JavaNumber => {
        try {
          return { kind: 'double', value: parseJavaDouble(text) };
        } catch {
          throw new FilterEvaluationError(`It's illegal to compare string by '${operator}'. lv=${l}, rv=${r}`);
        }
      };
      return test(javaCompare(toDouble(l), toDouble(r)));
    }
    return test(javaCompare(l, r));
  });
}

export type StringTest = 'CONTAINS' | 'STARTSWITH' | 'ENDSWITH';

const STRING_TEST: Record<StringTest, (value: string, search: string) => boolean> = {
  CONTAINS: (value, search) => value.includes(search),
  STARTSWITH: (value, search) => value.startsWith(search),
  ENDSWITH: (value, search) => value.endsWith(search),
};

export function stringTest(test: StringTest, negated: boolean, operand: Expression, search: string): Expression {
  const check = STRING_TEST[test];
  return booleanNode((lookup) => {
    if (search.length === 0) return false;
    const value = operand.evaluate(lookup);
    if (typeof value !== 'string') return false;
    return check(value, search) !== negated;
  });
}

export function inList(operand: Expression, values: readonly string[], negated: boolean): Expression {
  const set = new Set(values);
  return booleanNode((lookup) => {
    const value = operand.evaluate(lookup);
    if (typeof value !== 'string') return null;
    return set.has(value) !== negated;
  });
}
