// The filter case table: one message set (seq -> tag and user properties) and named groups of
// selectors with the seqs each must deliver, or the column where the selector is refused.
// The same table runs through ts/filter directly (test/unit/filter), through Bolide's pull
// path in-process (test/unit/broker/filters.test.ts) and through the real Java client against
// Bolide and Apache RocketMQ 5.3.3 (test/compat/filters.test.ts), which is where the expected
// seqs were checked against the real thing.

export interface FilterMessage {
  seq: number;
  tag?: string;
  properties: Record<string, string>;
}

/** Properties are user properties, except TAGS, which a Java producer sets with setTags. */
export const FILTER_MESSAGES: readonly FilterMessage[] = [
  { seq: 0, tag: 'TagA', properties: { a: '1', b: 'x' } },
  { seq: 1, tag: 'TagB', properties: { a: '5', b: "it's" } },
  { seq: 2, properties: { a: '10', b: 'hello world', c: 'true' } },
  { seq: 3, tag: 'TagC', properties: { a: '5.5', c: 'TRUE' } },
  { seq: 4, properties: { a: 'abc', b: 'x' } },
  { seq: 5, properties: { a: '3000000000', b: "O'Brien" } },
  { seq: 6, properties: {} },
  { seq: 7, properties: { a: '-3', c: 'false' } },
  { seq: 8, properties: { a: '7', b: 'yes', d: '2.0' } },
  { seq: 9, properties: { a: ' 8 ', b: 'prefix-middle-suffix' } },
];

export const ALL_SEQS = FILTER_MESSAGES.map((m) => m.seq);

export interface FilterCase {
  /** Unique id (also used by the Java driver). */
  id: string;
  type: 'SQL92' | 'TAG';
  expression: string;
  /** Seqs delivered, in order; or `error` for a refused selector. */
  expect: number[] | { error: { line: number; column: number } };
  /** Why the answer is what it is, when not obvious. */
  why?: string;
}

export interface FilterCaseGroup {
  name: string;
  cases: FilterCase[];
}

const sql = (id: string, expression: string, expect: FilterCase['expect'], why?: string): FilterCase =>
  ({ id, type: 'SQL92', expression, expect, ...(why === undefined ? {} : { why }) });
const tag = (id: string, expression: string, expect: number[]): FilterCase => ({ id, type: 'TAG', expression, expect });
const error = (column: number, line = 1): FilterCase['expect'] => ({ error: { line, column } });

export const FILTER_CASE_GROUPS: readonly FilterCaseGroup[] = [
  {
    name: 'operator precedence: AND before OR, NOT binds tighter than comparisons, parentheses',
    cases: [
      sql('prec-and-first', "a = '5' OR a = '1' AND b = 'nope'", [1]),
      sql('prec-parens', "(a = '5' OR a = '1') AND b = 'x'", [0]),
      sql('prec-not-binds-tight', "NOT a = '1'", [], '(NOT a) = \'1\': a Boolean compared with a String fails'),
      sql('prec-not-parens', "NOT (a = '1')", [1, 2, 3, 4, 5, 7, 8, 9]),
      sql('prec-true-or', "TRUE OR a = 'x'", ALL_SEQS),
      sql('prec-not-property', 'NOT b', [0, 1, 2, 4, 5, 8, 9], 'a property as a boolean is FALSE when present'),
    ],
  },
  {
    name: 'BETWEEN, IN and their NOT forms',
    cases: [
      sql('between-int', 'a BETWEEN 2 AND 9', [1, 8], 'Integer bounds: Integer.valueOf fails on 5.5, 3000000000, " 8 "'),
      sql('between-double', 'a BETWEEN 2.0 AND 9.0', [1, 3, 8, 9]),
      sql('not-between', 'a NOT BETWEEN 2 AND 9', [0, 2, 7]),
      sql('in', "b IN ('x', 'yes')", [0, 4, 8]),
      sql('not-in', "b NOT IN ('x', 'yes')", [1, 2, 5, 9]),
      sql('in-numeric-text', "a IN ('5', '7')", [1, 8]),
    ],
  },
  {
    name: 'IS NULL and IS NOT NULL',
    cases: [
      sql('is-null', 'c IS NULL', [0, 1, 4, 5, 6, 8, 9]),
      sql('is-not-null', 'c IS NOT NULL', [2, 3, 7]),
      sql('is-null-or', "c IS NULL OR c = 'true'", [0, 1, 2, 4, 5, 6, 8, 9]),
    ],
  },
  {
    name: "'' escapes in string literals",
    cases: [
      sql('escape-its', "b = 'it''s'", [1]),
      sql('escape-obrien', "b = 'O''Brien'", [5]),
      sql('escape-contains-quote', "b CONTAINS ''''", [1, 5]),
    ],
  },
  {
    name: 'Long versus Double literals',
    cases: [
      sql('int-literal-max', 'a > 2147483647', [], 'an Integer literal: Integer.valueOf("3000000000") fails'),
      sql('long-literal', 'a > 2147483648', [5]),
      sql('double-literal', 'a > 2147483647.0', [5]),
      sql('int-equal', 'a = 5', [1]),
      sql('double-equal', 'a = 5.0', [1]),
      sql('int-greater', 'a > 5', [2, 8]),
      sql('double-greater', 'a > 5.0', [2, 3, 5, 8, 9], 'Double.valueOf trims " 8 "'),
      sql('l-suffix-is-int', 'a > 5L', [2, 8]),
      sql('negative-literal', 'a < -2', [7]),
    ],
  },
  {
    name: 'string/number/boolean conversion',
    cases: [
      sql('two-properties-as-doubles', 'a > d', [8]),
      sql('int-vs-decimal-text', 'd = 2', [], 'Integer.valueOf("2.0") fails'),
      sql('double-vs-decimal-text', 'd = 2.0', [8]),
      sql('string-equality-is-textual', "a = '5'", [1]),
      sql('bool-literal-right', 'c = TRUE', [2, 3]),
      sql('bool-false', 'c = FALSE', [7]),
      sql('bool-literal-left', 'TRUE = c', [], 'Java casts the Boolean to String and fails'),
      sql('bool-not-equal', 'c <> TRUE', [7]),
    ],
  },
  {
    name: 'missing property means no match',
    cases: [
      sql('missing-equal', "zz = 'x'", []),
      sql('missing-not-equal', "zz <> 'x'", []),
      sql('missing-not-in', "zz NOT IN ('x')", []),
      sql('missing-not-contains', "zz NOT CONTAINS 'x'", []),
      sql('missing-not-parens', "NOT (zz = 'x')", []),
      sql('missing-is-null', 'zz IS NULL', ALL_SEQS),
      sql('missing-or-true', "zz = 'x' OR a = '1'", [0]),
      sql('missing-not-and', "NOT (zz = 'x' AND a = '1')", [1, 2, 3, 4, 5, 7, 8, 9]),
    ],
  },
  {
    name: 'CONTAINS, STARTSWITH, ENDSWITH and TAGS as a property',
    cases: [
      sql('contains', "b CONTAINS 'o'", [2]),
      sql('startswith', "b STARTSWITH 'pre'", [9]),
      sql('endswith', "b ENDSWITH 'suffix'", [9]),
      sql('not-startswith', "b NOT STARTSWITH 'h'", [0, 1, 4, 5, 8, 9]),
      sql('not-endswith', "b NOT ENDSWITH 's'", [0, 2, 4, 5, 9]),
      sql('contains-empty', "b CONTAINS ''", []),
      sql('not-contains-empty', "b NOT CONTAINS ''", []),
      sql('tags-equal', "TAGS = 'TagA'", [0]),
      sql('tags-in', "TAGS IN ('TagA', 'TagB')", [0, 1]),
    ],
  },
  {
    name: 'comments, keyword case and property-name case',
    cases: [
      sql('block-comment', "a = '1' /* comment */ OR a = '5'", [0, 1]),
      sql('line-comment', "a = '1' -- comment\nOR a = '5'", [0, 1]),
      sql('line-comment-at-end', "a = '1' -- no newline", [0]),
      sql('lowercase-keywords', "a = '1' or a = '5'", [0, 1]),
      sql('property-names-case-sensitive', "A = '1'", []),
    ],
  },
  {
    name: 'refused selectors and their positions',
    cases: [
      sql('err-unclosed-string', "a = 'x", error(5)),
      sql('err-bang-equal', 'a != 1', error(3), '!= is not in the grammar'),
      sql('err-unclosed-paren', "(a = '1'", error(8), 'the end of the text is reported at its last character'),
      sql('err-string-ordering', "a > '3'", error(5)),
      sql('err-equal-null', 'a = NULL', error(5)),
      sql('err-between-order', 'a BETWEEN 9 AND 2', error(3)),
      sql('err-in-needs-property', "NOT b IN ('x')", error(1)),
      sql('err-zero-double', 'a = 0.0', error(5), 'createFloat refuses values below Double.MIN_VALUE'),
      sql('err-not-boolean', '1', error(1)),
      sql('err-empty-in', 'a IN ()', error(7)),
      sql('err-dangling-and', "a = 'x' AND", error(11)),
      sql('err-second-line', "a = '1'\nOR b >", error(6, 2)),
    ],
  },
  {
    name: 'tag filters',
    cases: [
      tag('tag-all', '*', ALL_SEQS),
      tag('tag-one', 'TagB', [1]),
      tag('tag-or', 'TagA || TagB', [0, 1]),
      tag('tag-or-spaces', ' TagA ||  TagZ ', [0]),
    ],
  },
];

export const FILTER_CASES: readonly FilterCase[] = FILTER_CASE_GROUPS.flatMap((group) => group.cases);

/** The properties a message carries when stored (TAGS included). */
export function storedProperties(message: FilterMessage): Record<string, string> {
  return message.tag === undefined ? { ...message.properties } : { ...message.properties, TAGS: message.tag };
}
