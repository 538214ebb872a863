// Which subscription a pull is filtered by, and the tag hash codes it turns into.
// TAG expressions: `*` or empty means everything, else `TagA || TagB`; the broker filters on
// the ConsumeQueue tagsCode (Java String.hashCode of the TAGS property) and the client
// re-checks the tag text, because hashes can collide.
// SQL92 expressions compile once per group, topic and subscription version
// (consumer-filter-cache.ts) and are evaluated on the stored properties (sql-pull.ts).

import { ResponseCode } from '../protocol/codes.js';
import { javaStringHashCode, type SubscriptionData } from '../protocol/broker-bodies.js';
import { FilterParseError, SqlFilter } from '../filter/index.js';
import type { ConsumerFilterCache } from './consumer-filter-cache.js';

export const ExpressionType = { TAG: 'TAG', SQL92: 'SQL92' } as const;

/** A TAG expression as a filter: null = everything. */
export function tagCodesOf(expression: string): number[] | null {
  const trimmed = expression.trim();
  if (trimmed === '' || trimmed === '*') return null;
  const codes = new Set<number>();
  for (const tag of trimmed.split('||')) {
    const name = tag.trim();
    if (name !== '') codes.add(javaStringHashCode(name));
  }
  return codes.size === 0 ? null : [...codes];
}

/** A subscription built from the pull request itself (SUBSCRIPTION sysFlag bit). */
export function subscriptionFromRequest(topic: string, expression: string, expressionType: string | undefined,
  subVersion: number): SubscriptionData {
  const type = expressionType === undefined || expressionType === '' ? ExpressionType.TAG : expressionType;
  const tags = type === ExpressionType.TAG && expression.trim() !== '*'
    ? expression.split('||').map((tag) => tag.trim()).filter((tag) => tag !== '')
    : [];
  return {
    topic, subString: expression, expressionType: type, tagsSet: tags, codeSet: tags.map(javaStringHashCode),
    subVersion, classFilterMode: false,
  };
}

/** What a pull filters by: tag hash codes (null = everything) or a compiled SQL92 selector. */
export type PullFilter = { tagCodes: number[] | null } | { sql: SqlFilter };

/** The filter of a subscription, or a RocketMQ error (code + remark). */
export function filterOf(subscription: SubscriptionData, enablePropertyFilter: boolean, group: string,
  cache: ConsumerFilterCache): PullFilter | { code: number; remark: string } {
  const type = subscription.expressionType === '' ? ExpressionType.TAG : subscription.expressionType;
  if (type === ExpressionType.TAG) return { tagCodes: tagCodesOf(subscription.subString) };
  if (type === ExpressionType.SQL92) {
    if (!enablePropertyFilter) {
      return { code: ResponseCode.SYSTEM_ERROR, remark: 'The broker does not support consumer to filter message by SQL92' };
    }
    const compiled = cache.get(group, subscription);
    if (compiled instanceof FilterParseError) {
      return { code: ResponseCode.SUBSCRIPTION_PARSE_FAILED, remark: compiled.message };
    }
    return { sql: compiled };
  }
  return { code: ResponseCode.SUBSCRIPTION_PARSE_FAILED, remark: `unknown expression type ${type}` };
}
