// The one error of the SQL92 filter: a selector that does not compile. Evaluation never
// throws to callers (a failing evaluation is "no match", as in RocketMQ).

import { BolideError } from '../common/errors.js';

/** Where in the selector text an error is: 0-based offset, 1-based line and column. */
export interface FilterPosition {
  offset: number;
  line: number;
  column: number;
}

/** A selector that RocketMQ's SelectorParser would refuse, with the position of the problem. */
export class FilterParseError extends BolideError {
  declare readonly code: 'FILTER_PARSE_FAILED';
  readonly position: FilterPosition;
  /** The problem without the position (the message adds "at line L, column C"). */
  readonly detail: string;

  constructor(detail: string, position: FilterPosition) {
    super('FILTER_PARSE_FAILED', `Invalid MessageSelector: ${detail} at line ${position.line}, column ${position.column}`);
    this.position = position;
    this.detail = detail;
  }
}
