// Typed reads of the gateway's JSON API (ts/gateway/admin-routes.ts, dashboard-routes.ts).

export interface Page<T> {
  total: number;
  offset: number;
  limit: number;
  items: T[];
}

export interface TopicRow {
  topic: string;
  readQueueNums: number;
  writeQueueNums: number;
  messages: number;
  kind: string;
}

export interface GroupRow {
  group: string;
  clients: number;
  topics: string[];
  lag: number;
  consumeTps: number;
}

export interface GroupQueue {
  topic: string;
  queueId: number;
  brokerOffset: number;
  consumerOffset: number;
  lag: number;
}

export interface GroupDetail extends GroupRow {
  clientIds: string[];
  queues: GroupQueue[];
}

export interface Cluster {
  clusterName: string;
  brokerName: string;
  brokerId: number;
  brokerRole: string;
  brokerAddr: string;
  gateway: string;
  flushDiskType: string;
  uptimeMs: number;
  commitLog: { minOffset: number; maxOffset: number };
  putTps: string;
  getTps: string;
}

export interface Stats {
  intervalMs: number;
  sampledAt: number;
  put: number[];
  get: number[];
  topics: Record<string, number[]>;
}

export interface Message {
  topic: string;
  queueId: number;
  queueOffset: number;
  msgId: string;
  offsetMsgId: string;
  tags: string | null;
  keys: string[];
  storeTimestamp: number;
  body: string;
  bodyEncoding: string;
}

/** An error answer of the gateway ({ error: { code, message } }) or a network failure. */
export class ApiError extends Error {
  constructor(readonly code: string, message: string, readonly status: number) {
    super(message);
    this.name = 'ApiError';
  }
}

export async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(error?.code ?? 'HTTP_ERROR', error?.message ?? `HTTP ${response.status}`, response.status);
  }
  return body as T;
}

export function query(params: Record<string, string | number>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== '') search.set(key, String(value));
  return search.toString();
}
