// The SQL92 case table (test/support/filter-cases.ts) through ts/filter directly: one test per
// group. The same table runs through the broker's pull path (test/unit/broker/filters.test.ts)
// and through Java clients against Bolide and Apache RocketMQ (test/compat/filters.test.ts).
import test from 'ava';
import { FilterParseError, SqlFilter } from '../../../ts/filter/index.js';
import { FILTER_CASE_GROUPS, FILTER_MESSAGES, storedProperties } from '../../support/filter-cases.js';

for (const group of FILTER_CASE_GROUPS) {
  const cases = group.cases.filter((c) => c.type === 'SQL92');
  if (cases.length === 0) continue;
  test(`SQL92 selector cases: ${group.name}`, (t) => {
    for (const c of cases) {
      if (Array.isArray(c.expect)) {
        const filter = SqlFilter.compile(c.expression);
        const seqs = FILTER_MESSAGES.filter((m) => filter.matchesProperties(storedProperties(m))).map((m) => m.seq);
        t.deepEqual(seqs, c.expect, `${c.id}: ${c.expression}`);
      } else {
        const failure = t.throws(() => SqlFilter.compile(c.expression), { instanceOf: FilterParseError }, c.id);
        t.is(failure?.code, 'FILTER_PARSE_FAILED');
        t.deepEqual({ line: failure?.position.line, column: failure?.position.column }, c.expect.error,
          `${c.id}: ${c.expression} -> ${failure?.message}`);
        t.regex(failure?.message ?? '', new RegExp(`at line ${c.expect.error.line}, column ${c.expect.error.column}$`));
      }
    }
  });
}

test('a selector is compiled once and evaluated many times without re-parsing', (t) => {
  const filter = SqlFilter.compile("a = '1'");
  t.true(filter.matchesProperties({ a: '1' }));
  t.false(filter.matchesProperties({ a: '2' }));
  t.is(filter.expression, "a = '1'");
});

test('property lookup uses own keys only: names like constructor are not inherited values', (t) => {
  t.false(SqlFilter.compile('constructor IS NOT NULL').matchesProperties({}));
  t.true(SqlFilter.compile("constructor = 'x'").matchesProperties({ constructor: 'x' }));
});

test('keywords are not property names; longer identifiers that start with one are', (t) => {
  t.throws(() => SqlFilter.compile("in = 'x'"), { instanceOf: FilterParseError });
  t.true(SqlFilter.compile("in_x = 'x' AND notes = 'y'").matchesProperties({ in_x: 'x', notes: 'y' }));
});

test('Long arithmetic keeps 64-bit precision beyond 2^53', (t) => {
  const filter = SqlFilter.compile('a = 9007199254740993');
  t.true(filter.matchesProperties({ a: '9007199254740993' }));
  t.false(filter.matchesProperties({ a: '9007199254740992' }));
  t.throws(() => SqlFilter.compile('a = 9223372036854775808'), { instanceOf: FilterParseError });
  t.true(SqlFilter.compile('a = 9223372036854775807').matchesProperties({ a: '9223372036854775807' }));
});

test('deep nesting and long selectors are refused with a position instead of overflowing the stack', (t) => {
  const nested = (n: number): string => `${'('.repeat(n)}a = '1'${')'.repeat(n)}`;
  t.true(SqlFilter.compile(nested(50)).matchesProperties({ a: '1' }));
  const deep = t.throws(() => SqlFilter.compile(nested(5000)), { instanceOf: FilterParseError });
  t.is(deep?.position.line, 1);
  t.true((deep?.position.column ?? 0) > 1);
  t.throws(() => SqlFilter.compile(`${'NOT '.repeat(5000)}a`), { instanceOf: FilterParseError });
  const orChain = (n: number): string => Array.from({ length: n }, (_, i) => `a = '${i}'`).join(' OR ');
  t.true(SqlFilter.compile(orChain(500)).matchesProperties({ a: '499' }));
  t.throws(() => SqlFilter.compile(orChain(100_000)), { instanceOf: FilterParseError });
  for (const bad of ['', '   ', '(', ')', "'", '/*', 'a =', 'AND', 'a IN', 'a BETWEEN 1', 'a IS', 'a IS NOT', '- -', '\u0000']) {
    t.throws(() => SqlFilter.compile(bad), { instanceOf: FilterParseError }, JSON.stringify(bad));
  }
});
