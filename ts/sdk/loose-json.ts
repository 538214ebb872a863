// A parser for the fastjson output some RocketMQ bodies use, which is not JSON: maps keyed by
// objects (`{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"t"}:{"maxOffset":3}}}`,
// topic stats, consume stats, reset-offset bodies) and bare integer keys (`{0:12}`).
// Objects with non-string keys are returned as `LooseMap` entries so callers can read them.

import { InvalidMessageError } from './errors.js';

/** An object whose keys were not all strings: its entries in document order. */
export interface LooseMap {
  readonly looseEntries: Array<[unknown, unknown]>;
}

/** True for an object parsed with at least one non-string key. */
export function isLooseMap(value: unknown): value is LooseMap {
  return typeof value === 'object' && value !== null && 'looseEntries' in value;
}

/** Entries of a parsed object, whichever form it took. */
export function looseEntries(value: unknown): Array<[unknown, unknown]> {
  if (isLooseMap(value)) return value.looseEntries;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return Object.entries(value);
  return [];
}

/** Nesting bound: bodies are shallow, so deep input is malformed or hostile. */
const DEPTH_MAX = 64;

class Parser {
  position = 0;

  constructor(readonly text: string) {}

  fail(what: string): never {
    throw new InvalidMessageError(`malformed JSON body at ${this.position}: ${what}`);
  }

  space(): void {
    while (this.position < this.text.length && /\s/.test(this.text[this.position]!)) this.position += 1;
  }

  value(depth: number): unknown {
    if (depth > DEPTH_MAX) this.fail('nested too deeply');
    this.space();
    const char = this.text[this.position];
    if (char === '{') return this.object(depth);
    if (char === '[') return this.array(depth);
    if (char === '"') return this.string();
    const head = this.text.slice(this.position, this.position + 40);
    const match = /^(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(head);
    if (match === null) this.fail(`unexpected ${JSON.stringify(char ?? 'end')}`);
    this.position += match[0].length;
    return JSON.parse(match[0]) as unknown;
  }

  string(): string {
    const start = this.position;
    this.position += 1;
    while (this.position < this.text.length) {
      const char = this.text[this.position];
      if (char === '\\') this.position += 2;
      else if (char === '"') {
        this.position += 1;
        return JSON.parse(this.text.slice(start, this.position)) as string;
      } else this.position += 1;
    }
    return this.fail('unterminated string');
  }

  array(depth: number): unknown[] {
    this.position += 1;
    const out: unknown[] = [];
    this.space();
    if (this.text[this.position] === ']') {
      this.position += 1;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1));
      this.space();
      const char = this.text[this.position++];
      if (char === ']') return out;
      if (char !== ',') this.fail('expected , or ]');
    }
  }

  object(depth: number): unknown {
    this.position += 1;
    const entries: Array<[unknown, unknown]> = [];
    let loose = false;
    this.space();
    if (this.text[this.position] === '}') {
      this.position += 1;
      return {};
    }
    for (;;) {
      const key = this.value(depth + 1);
      if (typeof key !== 'string') loose = true;
      this.space();
      if (this.text[this.position++] !== ':') this.fail('expected :');
      entries.push([key, this.value(depth + 1)]);
      this.space();
      const char = this.text[this.position++];
      if (char === '}') break;
      if (char !== ',') this.fail('expected , or }');
    }
    if (loose) return { looseEntries: entries } satisfies LooseMap;
    const out: Record<string, unknown> = {};
    for (const [key, value] of entries) {
      if (key === '__proto__') continue;
      out[key as string] = value;
    }
    return out;
  }
}

/**
 * Parses fastjson text. Numbers beyond 2^53 lose precision (offsets and timestamps do not get there).
 * @throws InvalidMessageError on malformed input.
 */
export function parseLooseJson(text: string): unknown {
  const parser = new Parser(text);
  const value = parser.value(0);
  parser.space();
  if (parser.position !== text.length) parser.fail('trailing characters');
  return value;
}
