// Tokens of RocketMQ's SQL92 message selector (filter/…/parser/SelectorParser.jj): keywords
// and identifiers case-insensitive, keywords win over identifiers of the same text, the
// longest token wins. A line comment may end the text without a newline (RocketMQ 5.3.3
// accepts that too). The end of the text is reported at its last character, as JavaCC does.

import { FilterParseError } from './errors.js';

export type TokenKind =
  | 'NOT' | 'AND' | 'OR' | 'BETWEEN' | 'IN' | 'TRUE' | 'FALSE' | 'NULL' | 'IS'
  | 'CONTAINS' | 'STARTSWITH' | 'ENDSWITH'
  | 'DECIMAL' | 'FLOAT' | 'STRING' | 'ID'
  | '=' | '<>' | '>' | '>=' | '<' | '<=' | '(' | ')' | ',' | '+' | '-' | 'EOF';

export interface Token {
  kind: TokenKind;
  /** The source text of the token (for STRING: with quotes and doubled quotes). */
  image: string;
  /** 0-based character offset, 1-based line and column. */
  offset: number;
  line: number;
  column: number;
}

const KEYWORDS = new Set<TokenKind>([
  'NOT', 'AND', 'OR', 'BETWEEN', 'IN', 'TRUE', 'FALSE', 'NULL', 'IS', 'CONTAINS', 'STARTSWITH', 'ENDSWITH',
]);

const WHITESPACE = ' \t\n\r\f';

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

function isIdStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c === '$';
}

function isIdPart(c: string): boolean {
  return isIdStart(c) || isDigit(c);
}

/** Length of an exponent (`E[+-]digits`) at `i`, or 0. */
function exponentLength(text: string, i: number): number {
  if (text[i] !== 'e' && text[i] !== 'E') return 0;
  let j = i + 1;
  if (text[j] === '+' || text[j] === '-') j += 1;
  const digits = j;
  while (j < text.length && isDigit(text[j]!)) j += 1;
  return j > digits ? j - i : 0;
}

/** Longest numeric token at `i`: [kind, length], or null when no digit/dot-digit starts here. */
function numberAt(text: string, i: number): [TokenKind, number] | null {
  let j = i;
  while (j < text.length && isDigit(text[j]!)) j += 1;
  const intDigits = j - i;
  if (text[j] === '.' && (intDigits > 0 || isDigit(text[j + 1] ?? ''))) {
    j += 1;
    while (j < text.length && isDigit(text[j]!)) j += 1;
    return ['FLOAT', j - i + exponentLength(text, j)];
  }
  if (intDigits === 0) return null;
  const exponent = exponentLength(text, j);
  if (exponent > 0) return ['FLOAT', j - i + exponent];
  // DECIMAL_LITERAL is "0" or [1-9][0-9]* with an optional L: "012" is "0" then "12".
  if (text[i] === '0') return ['DECIMAL', 1];
  if (text[j] === 'l' || text[j] === 'L') j += 1;
  return ['DECIMAL', j - i];
}

/**
 * Splits a selector into tokens (EOF last).
 * @throws FilterParseError for a character no token starts with, an unterminated string or comment.
 */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const at = (offset: number): { offset: number; line: number; column: number } =>
    ({ offset, line, column: offset - lineStart + 1 });
  const advanceLines = (from: number, to: number): void => {
    for (let k = from; k < to; k += 1) {
      const c = text[k];
      if (c === '\n' || (c === '\r' && text[k + 1] !== '\n')) {
        line += 1;
        lineStart = k + 1;
      }
    }
  };
  const push = (kind: TokenKind, length: number): void => {
    tokens.push({ kind, image: text.slice(i, i + length), ...at(i) });
    i += length;
  };
  while (i < text.length) {
    const c = text[i]!;
    if (WHITESPACE.includes(c)) {
      advanceLines(i, i + 1);
      i += 1;
      continue;
    }
    if (c === '-' && text[i + 1] === '-') {
      const end = text.slice(i).search(/[\r\n]/);
      const stop = end < 0 ? text.length : i + end + (text[i + end] === '\r' && text[i + end + 1] === '\n' ? 2 : 1);
      advanceLines(i, stop);
      i = stop;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new FilterParseError('comment "/*" is never closed', at(i));
      advanceLines(i, end + 2);
      i = end + 2;
      continue;
    }
    if (c === "'") {
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw new FilterParseError('string literal is never closed', at(i));
        if (text[j] === "'") {
          if (text[j + 1] === "'") {
            j += 2;
            continue;
          }
          break;
        }
        j += 1;
      }
      const start = at(i);
      tokens.push({ kind: 'STRING', image: text.slice(i, j + 1), ...start });
      advanceLines(i, j + 1);
      i = j + 1;
      continue;
    }
    const number = numberAt(text, i);
    if (number !== null) {
      push(number[0], number[1]);
      continue;
    }
    if (isIdStart(c)) {
      let j = i + 1;
      while (j < text.length && isIdPart(text[j]!)) j += 1;
      const upper = text.slice(i, j).toUpperCase() as TokenKind;
      push(KEYWORDS.has(upper) ? upper : 'ID', j - i);
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === '<>' || two === '>=' || two === '<=') {
      push(two, 2);
      continue;
    }
    if ('=<>(),+-'.includes(c)) {
      push(c as TokenKind, 1);
      continue;
    }
    throw new FilterParseError(`unexpected character "${c}"`, at(i));
  }
  tokens.push({ kind: 'EOF', image: '', ...positionOf(text, Math.max(0, text.length - 1)) });
  return tokens;
}

/** Line and column of an offset. */
function positionOf(text: string, offset: number): { offset: number; line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < offset; k += 1) {
    const c = text[k];
    if (c === '\n' || (c === '\r' && text[k + 1] !== '\n')) {
      line += 1;
      lineStart = k + 1;
    }
  }
  return { offset, line, column: offset - lineStart + 1 };
}

/** The text of a STRING token: quotes removed, `''` read as one quote. */
export function stringValue(image: string): string {
  return image.slice(1, -1).replaceAll("''", "'");
}
