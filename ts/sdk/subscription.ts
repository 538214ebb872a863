// Tag subscriptions: `*` (everything) or `TagA || TagB`. The broker filters by the Java
// String.hashCode of each tag; hashes collide, so the client re-checks the tag itself.
// SQL92 subscriptions (MessageSelector.bySql) are compiled here once so that a bad selector
// fails subscribe() with its position; the broker evaluates them exactly, so there is no
// client-side re-check (Java's client has none either).

import { SqlFilter } from '../filter/index.js';

/** A subscription expression with its type (Java's MessageSelector). */
export interface MessageSelector {
  type: 'TAG' | 'SQL92';
  expression: string;
}

export const MessageSelector = {
  byTag: (expression: string): MessageSelector => ({ type: 'TAG', expression }),
  /** An SQL92 selector on message properties; the broker needs enablePropertyFilter=true. */
  bySql: (expression: string): MessageSelector => ({ type: 'SQL92', expression }),
} as const;

/** A subscription as sent in heartbeats (Java's SubscriptionData). */
export interface SubscriptionData {
  topic: string;
  subString: string;
  tagsSet: string[];
  codeSet: number[];
  subVersion: number;
  expressionType: 'TAG' | 'SQL92';
}

/** Java's `String.hashCode()` (UTF-16 code units, int32 overflow). */
export function javaStringHash(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i += 1) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return hash;
}

/**
 * Parses a tag expression (empty or `*` subscribes to everything) or a selector.
 * @throws FilterParseError (code FILTER_PARSE_FAILED) for an SQL92 selector that does not compile.
 */
export function parseSubscription(topic: string, expression: string | MessageSelector, subVersion = Date.now()):
  SubscriptionData {
  if (typeof expression !== 'string' && expression.type === 'SQL92') {
    SqlFilter.compile(expression.expression);
    return { topic, subString: expression.expression, tagsSet: [], codeSet: [], subVersion, expressionType: 'SQL92' };
  }
  const trimmed = (typeof expression === 'string' ? expression : expression.expression).trim();
  const data: SubscriptionData = {
    topic, subString: trimmed.length === 0 ? '*' : trimmed, tagsSet: [], codeSet: [], subVersion, expressionType: 'TAG',
  };
  if (data.subString === '*') return data;
  for (const piece of trimmed.split('||')) {
    const tag = piece.trim();
    if (tag.length === 0 || data.tagsSet.includes(tag)) continue;
    data.tagsSet.push(tag);
    data.codeSet.push(javaStringHash(tag));
  }
  return data;
}

/** True when a message with `tags` passes the subscription (the client-side re-check). */
export function tagMatches(subscription: SubscriptionData, tags: string | undefined): boolean {
  if (subscription.expressionType === 'SQL92') return true;
  if (subscription.subString === '*' || subscription.tagsSet.length === 0) return true;
  return tags !== undefined && subscription.tagsSet.includes(tags);
}

/** JSON shape of a subscription in a heartbeat body. */
export function subscriptionJson(data: SubscriptionData): Record<string, unknown> {
  return {
    classFilterMode: false,
    codeSet: data.codeSet,
    expressionType: data.expressionType,
    subString: data.subString,
    subVersion: data.subVersion,
    tagsSet: data.tagsSet,
    topic: data.topic,
  };
}
