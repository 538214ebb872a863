// The read of a pull filtered by an SQL92 selector (DefaultMessageStore.getMessage with
// ExpressionMessageFilter.isMatchedByCommitLog). The store reads unfiltered batches; each
// record's PROPERTIES (user and system properties, TAGS included) are decoded from its bytes
// in the CommitLog mapping (storedPropertiesText: only the properties are decoded, nothing is
// copied but them) and the compiled selector decides. Matching records keep their slices, so
// the response is still written from the mapping (writev or sendfile) like any other pull.
// At most SQL_SCAN_MAX_ENTRIES ConsumeQueue entries are scanned per pull (RocketMQ scans
// maxFilterMessageCount bytes of ConsumeQueue, 800 entries); a pull that matched nothing
// answers NO_MATCHED_MESSAGE with the offset it reached, and the client pulls again from there.

import type { SqlFilter } from '../filter/index.js';
import { storedPropertiesText } from '../protocol/message-record.js';
import { NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR } from '../protocol/properties.js';
import type { MessageStore, PullResult } from '../store/index.js';

/** ConsumeQueue entries scanned per SQL92 pull at most. */
export const SQL_SCAN_MAX_ENTRIES = 800;
/** Records read from the store per round of the scan. */
const SCAN_BATCH = 32;

/** A lookup over a properties text, parsed into a Map on the first lookup only. */
function propertyLookup(text: string): (name: string) => string | undefined {
  let map: Map<string, string> | undefined;
  return (name) => {
    if (map === undefined) {
      map = new Map();
      for (const piece of text.split(PROPERTY_SEPARATOR)) {
        const separator = piece.indexOf(NAME_VALUE_SEPARATOR);
        if (separator > 0) map.set(piece.slice(0, separator), piece.slice(separator + 1));
      }
    }
    return map.get(name);
  };
}

/** True when the stored record passes the selector; an unreadable record never does. */
export function recordMatches(filter: SqlFilter, record: Buffer): boolean {
  let text: string;
  try {
    text = storedPropertiesText(record);
  } catch {
    return false;
  }
  return filter.matches(propertyLookup(text));
}

/** getMessages filtered by an SQL92 selector; same result shape and statuses as the store's. */
export function getMessagesBySql(store: MessageStore, topic: string, queueId: number, offset: number,
  maxMessages: number, maxBytes: number, filter: SqlFilter): PullResult {
  const kept: number[] = [];
  let totalBytes = 0;
  let cursor = offset;
  let scanned = 0;
  let first: PullResult | undefined;
  let last: PullResult | undefined;
  scan: while (kept.length / 4 < maxMessages && scanned < SQL_SCAN_MAX_ENTRIES) {
    const batch = Math.min(SCAN_BATCH, SQL_SCAN_MAX_ENTRIES - scanned);
    const result = store.getMessages(topic, queueId, cursor, batch, maxBytes, null);
    first ??= result;
    last = result;
    if (result.status !== 'FOUND') {
      // Nothing more to read here: the first round answers as the store did; a later one
      // ends the scan at the offset reached.
      if (result === first) return result;
      break;
    }
    const buffers = store.messageBuffers(result);
    const slices = result.slices;
    for (let i = 0; i < buffers.length; i += 1) {
      const length = slices[i * 4 + 2]!;
      const queueOffset = slices[i * 4 + 3]!;
      if (recordMatches(filter, buffers[i]!)) {
        if (kept.length > 0 && (totalBytes + length > maxBytes || kept.length / 4 >= maxMessages)) {
          cursor = queueOffset;
          break scan;
        }
        kept.push(slices[i * 4]!, slices[i * 4 + 1]!, length, queueOffset);
        totalBytes += length;
      }
      cursor = queueOffset + 1;
    }
    scanned += result.messageCount;
    cursor = Math.max(cursor, result.nextBeginOffset);
    if (cursor >= result.maxOffset) break;
  }
  const base = last ?? first!;
  return {
    status: kept.length > 0 ? 'FOUND' : 'NO_MATCHED_MESSAGE',
    nextBeginOffset: cursor,
    minOffset: base.minOffset,
    maxOffset: base.maxOffset,
    messageCount: kept.length / 4,
    totalBytes,
    slices: Float64Array.from(kept),
  };
}
