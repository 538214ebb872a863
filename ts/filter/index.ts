// RocketMQ's SQL92 message selector (MessageSelector.bySql): compile once, then test many
// messages' properties. Pure code, shared by the broker (server-side filtering) and usable by
// the SDK; it imports nothing but ts/common.

import type { Expression, PropertyLookup } from './expression.js';
import { parseSelector } from './parser.js';

export { FilterParseError, type FilterPosition } from './errors.js';
export type { PropertyLookup } from './expression.js';

/** A compiled SQL92 selector. */
export class SqlFilter {
  readonly expression: string;
  readonly #root: Expression;

  private constructor(expression: string, root: Expression) {
    this.expression = expression;
    this.#root = root;
  }

  /**
   * Compiles a selector.
   * @throws FilterParseError (code FILTER_PARSE_FAILED) with the position of the problem.
   */
  static compile(expression: string): SqlFilter {
    return new SqlFilter(expression, parseSelector(expression));
  }

  /**
   * True when the selector evaluates to TRUE for these properties. NULL (a missing property)
   * and evaluation errors (a failed number conversion) are "no match", as in RocketMQ.
   */
  matches(lookup: PropertyLookup): boolean {
    try {
      return this.#root.evaluate(lookup) === true;
    } catch {
      return false;
    }
  }

  /** {@link matches} over a plain properties object (own keys only). */
  matchesProperties(properties: Readonly<Record<string, string>>): boolean {
    return this.matches((name) => (Object.hasOwn(properties, name) ? properties[name] : undefined));
  }
}
