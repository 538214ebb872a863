// Recursive-descent parser for RocketMQ's SQL92 message selector, following the grammar of
// SelectorParser.jj (precedence, loosest first):
//   OR  <  AND  <  = <> IS [NOT] NULL  <  > >= < <= [NOT] BETWEEN / IN / CONTAINS / STARTSWITH /
//   ENDSWITH  <  unary + - NOT  <  literal, property, ( … )
// Note that unary NOT binds tighter than comparisons, as in RocketMQ: `NOT a = 1` is
// `(NOT a) = 1`. The checks RocketMQ makes while building the tree (ComparisonExpression's
// operand checks, literal ranges, BETWEEN bounds) are made here too, each reported with the
// position of the operand or token it is about.

import { FilterParseError } from './errors.js';
import * as node from './expression.js';
import type { Expression, Ordering, StringTest } from './expression.js';
import { stringValue, tokenize, type Token, type TokenKind } from './lexer.js';
import { FilterEvaluationError, JAVA_INT_RANGE, JAVA_LONG_RANGE, formatValue, javaCompare } from './values.js';

/** A parsed sub-expression with where it starts and ends in the text (for messages). */
interface Parsed {
  e: Expression;
  at: Token;
  end: number;
}

/**
 * Limits that keep a hostile selector from exhausting the stack (parsing and evaluation both
 * recurse): nesting of parentheses and unary operators, and tokens overall (a chain of N ORs
 * is a tree N deep). RocketMQ has no explicit limits; its parser fails on a stack overflow.
 */
export const SELECTOR_MAX_NESTING = 100;
export const SELECTOR_MAX_TOKENS = 4096;

const DOUBLE_MAX = 'Double.MAX_VALUE (1.7976931348623157E308)';
const DOUBLE_MIN = 'Double.MIN_VALUE (4.9E-324)';

class Parser {
  readonly #text: string;
  readonly #tokens: Token[];
  #index = 0;
  #depth = 0;

  constructor(text: string) {
    this.#text = text;
    this.#tokens = tokenize(text);
    const extra = this.#tokens[SELECTOR_MAX_TOKENS];
    if (extra !== undefined) this.#fail(`selector is longer than ${SELECTOR_MAX_TOKENS} tokens`, extra);
  }

  parse(): Expression {
    const result = this.#or();
    const next = this.#peek();
    if (next.kind !== 'EOF') this.#unexpected(next, 'AND, OR, a comparison or the end');
    return this.#asBoolean(result).e;
  }

  #peek(ahead = 0): Token {
    return this.#tokens[Math.min(this.#index + ahead, this.#tokens.length - 1)]!;
  }

  #next(): Token {
    const token = this.#peek();
    if (token.kind !== 'EOF') this.#index += 1;
    return token;
  }

  #expect(kind: TokenKind, what: string): Token {
    const token = this.#peek();
    if (token.kind !== kind) this.#unexpected(token, what);
    return this.#next();
  }

  #unexpected(token: Token, expected: string): never {
    const found = token.kind === 'EOF' ? 'the end of the expression' : `"${token.image}"`;
    throw new FilterParseError(`encountered ${found}, expected ${expected}`, token);
  }

  #fail(message: string, at: Token): never {
    throw new FilterParseError(message, at);
  }

  #source(parsed: Parsed): string {
    return this.#text.slice(parsed.at.offset, parsed.end).trim();
  }

  #lastEnd(): number {
    const last = this.#tokens[this.#index - 1];
    return last === undefined ? 0 : last.offset + last.image.length;
  }

  #make(e: Expression, at: Token): Parsed {
    return { e, at, end: this.#lastEnd() };
  }

  #asBoolean(parsed: Parsed): Parsed {
    if (parsed.e.boolean) return parsed;
    if (parsed.e.shape === 'property') return { ...parsed, e: node.booleanCast(parsed.e) };
    this.#fail(`expression will not result in a boolean value: ${this.#source(parsed)}`, parsed.at);
  }

  #or(): Parsed {
    let left = this.#and();
    while (this.#peek().kind === 'OR') {
      this.#next();
      const right = this.#and();
      left = this.#make(node.or(this.#asBoolean(left).e, this.#asBoolean(right).e), left.at);
    }
    return left;
  }

  #and(): Parsed {
    let left = this.#equality();
    while (this.#peek().kind === 'AND') {
      this.#next();
      const right = this.#equality();
      left = this.#make(node.and(this.#asBoolean(left).e, this.#asBoolean(right).e), left.at);
    }
    return left;
  }

  #equality(): Parsed {
    let left = this.#comparison();
    for (;;) {
      const token = this.#peek();
      if (token.kind === '=' || token.kind === '<>') {
        this.#next();
        const right = this.#comparison();
        this.#checkEqualOperand(left);
        this.#checkEqualOperand(right);
        if (left.e.shape === 'constant' && right.e.shape === 'constant' && left.e.boolean && !right.e.boolean) {
          this.#fail(`'${this.#source(left)}' cannot be compared with '${this.#source(right)}'`, left.at);
        }
        const equal = node.equal(left.e, right.e);
        left = this.#make(token.kind === '=' ? equal : node.not(equal), left.at);
      } else if (token.kind === 'IS') {
        this.#next();
        const negated = this.#peek().kind === 'NOT';
        if (negated) this.#next();
        this.#expect('NULL', negated ? 'NULL' : 'NULL or NOT NULL');
        const isNull = node.equal(left.e, node.constant(null));
        left = this.#make(negated ? node.not(isNull) : isNull, left.at);
      } else {
        return left;
      }
    }
  }

  #comparison(): Parsed {
    let left = this.#unary();
    for (;;) {
      const token = this.#peek();
      const kind = token.kind;
      if (kind === '>' || kind === '>=' || kind === '<' || kind === '<=') {
        this.#next();
        const right = this.#unary();
        left = this.#make(this.#ordering(kind, left, right), left.at);
        continue;
      }
      const negated = kind === 'NOT';
      const operator = negated ? this.#peek(1) : token;
      if (operator.kind === 'CONTAINS' || operator.kind === 'STARTSWITH' || operator.kind === 'ENDSWITH') {
        this.#index += negated ? 2 : 1;
        const search = stringValue(this.#expect('STRING', 'a string literal').image);
        left = this.#make(node.stringTest(operator.kind as StringTest, negated, left.e, search), left.at);
      } else if (operator.kind === 'BETWEEN') {
        this.#index += negated ? 2 : 1;
        left = this.#make(this.#between(left, negated, operator), left.at);
      } else if (operator.kind === 'IN') {
        this.#index += negated ? 2 : 1;
        left = this.#make(this.#in(left, negated), left.at);
      } else {
        return left;
      }
    }
  }

  #ordering(operator: Ordering, left: Parsed, right: Parsed): Expression {
    this.#checkLessThanOperand(left);
    this.#checkLessThanOperand(right);
    return node.ordering(operator, left.e, right.e);
  }

  #between(value: Parsed, negated: boolean, at: Token): Expression {
    const low = this.#unary();
    this.#expect('AND', 'AND (BETWEEN low AND high)');
    const high = this.#unary();
    if (negated) return node.or(this.#ordering('<', value, low), this.#ordering('>', value, high));
    if (low.e.shape === 'constant' && high.e.shape === 'constant') {
      const lv = low.e.value ?? null;
      const hv = high.e.value ?? null;
      if (lv === null || hv === null) this.#fail('illegal values of BETWEEN: values can not be NULL', at);
      let order: number;
      try {
        order = javaCompare(hv, lv);
      } catch (error) {
        if (!(error instanceof FilterEvaluationError)) throw error;
        this.#fail(`illegal values of BETWEEN: ${error.message}`, at);
      }
      if (order < 0) {
        this.#fail(`illegal values of BETWEEN: left value (${formatValue(lv)}) must be less than or equal to `
          + `right value (${formatValue(hv)})`, at);
      }
    }
    return node.and(this.#ordering('>=', value, low), this.#ordering('<=', value, high));
  }

  #in(left: Parsed, negated: boolean): Expression {
    this.#expect('(', '"(" after IN');
    const values = [stringValue(this.#expect('STRING', 'a string literal').image)];
    while (this.#peek().kind === ',') {
      this.#next();
      values.push(stringValue(this.#expect('STRING', 'a string literal').image));
    }
    this.#expect(')', '"," or ")"');
    if (left.e.shape !== 'property') this.#fail(`expected a property for IN, got: ${this.#source(left)}`, left.at);
    return node.inList(left.e, values, negated);
  }

  #checkLessThanOperand(parsed: Parsed): void {
    const e = parsed.e;
    const comparable = e.shape === 'constant' ? e.value !== null && typeof e.value === 'object' : !e.boolean;
    if (!comparable) this.#fail(`value '${this.#source(parsed)}' cannot be compared`, parsed.at);
  }

  #checkEqualOperand(parsed: Parsed): void {
    if (parsed.e.shape === 'constant' && parsed.e.value === null) {
      this.#fail(`'${this.#source(parsed)}' cannot be compared (use IS NULL)`, parsed.at);
    }
  }

  #unary(): Parsed {
    const token = this.#peek();
    if (this.#depth >= SELECTOR_MAX_NESTING) this.#fail(`nested deeper than ${SELECTOR_MAX_NESTING} levels`, token);
    this.#depth += 1;
    try {
      return this.#unaryAt(token);
    } finally {
      this.#depth -= 1;
    }
  }

  #unaryAt(token: Token): Parsed {
    if (token.kind === '+') {
      this.#next();
      return { ...this.#unary(), at: token };
    }
    if (token.kind === '-') {
      this.#next();
      const operand = this.#unary();
      return this.#make(node.negate(operand.e), token);
    }
    if (token.kind === 'NOT') {
      this.#next();
      const operand = this.#asBoolean(this.#unary());
      return this.#make(node.not(operand.e), token);
    }
    return this.#primary();
  }

  #primary(): Parsed {
    const token = this.#next();
    switch (token.kind) {
      case 'STRING':
        return this.#make(node.constant(stringValue(token.image)), token);
      case 'DECIMAL':
        return this.#make(node.constant(this.#decimal(token)), token);
      case 'FLOAT':
        return this.#make(node.constant(this.#float(token)), token);
      case 'TRUE':
        return this.#make(node.constant(true), token);
      case 'FALSE':
        return this.#make(node.constant(false), token);
      case 'NULL':
        return this.#make(node.constant(null), token);
      case 'ID':
        return this.#make(node.property(token.image), token);
      case '(': {
        const inner = this.#or();
        this.#expect(')', '")"');
        return this.#make(inner.e, token);
      }
      default:
        this.#index -= token.kind === 'EOF' ? 0 : 1;
        this.#unexpected(token, 'a literal, a property name, "(", "+", "-" or NOT');
    }
  }

  /** ConstantExpression.createFromDecimal: Integer when it fits in 32 bits, else Long. */
  #decimal(token: Token): { kind: 'int'; value: number } | { kind: 'long'; value: bigint } {
    const digits = token.image.replace(/[lL]$/, '');
    const value = BigInt(digits);
    if (value > JAVA_LONG_RANGE.max) this.#fail(`number ${digits} is out of the Long range`, token);
    if (value <= BigInt(JAVA_INT_RANGE.max)) return { kind: 'int', value: Number(value) };
    return { kind: 'long', value };
  }

  /** ConstantExpression.createFloat: refuses values above Double.MAX_VALUE and below Double.MIN_VALUE (so 0.0 too). */
  #float(token: Token): { kind: 'double'; value: number } {
    const value = Number(token.image);
    if (value > Number.MAX_VALUE) this.#fail(`${token.image} is greater than ${DOUBLE_MAX}`, token);
    if (value < Number.MIN_VALUE) this.#fail(`${token.image} is less than ${DOUBLE_MIN}`, token);
    return { kind: 'double', value };
  }
}

/**
 * Compiles a selector.
 * @throws FilterParseError with the position of the problem.
 */
export function parseSelector(text: string): Expression {
  return new Parser(text).parse();
}
