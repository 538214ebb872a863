// Tag subscriptions: `*` (everything) or `TagA || TagB`. The broker filters by the Java
// String.hashCode of each tag; hashes collide, so the client re-checks the tag itself.

/** A subscription as sent in heartbeats (Java's SubscriptionData). */
export interface SubscriptionData {
  topic: string;
  subString: string;
  tagsSet: string[];
  codeSet: number[];
  subVersion: number;
  expressionType: 'TAG';
}

/** Java's `String.hashCode()` (UTF-16 code units, int32 overflow). */
export function javaStringHash(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i += 1) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return hash;
}

/** Parses a tag expression; empty or `*` subscribes to everything. */
export function parseSubscription(topic: string, expression: string, subVersion = Date.now()): SubscriptionData {
  const trimmed = expression.trim();
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
