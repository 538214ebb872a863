// uWebSockets.js request/response plumbing: reading a bounded body, answering once (and never
// after the client went away), JSON and error replies.
//
// uWS rules this module encodes: a response must get onAborted before any asynchronous work;
// after abort (or end) the response object must not be touched; writes outside the handler's
// synchronous part go inside cork() so status, headers and body leave in one syscall.
import { errorMessage } from '../common/errors.js';
import type { HttpRequest, HttpResponse } from './uws.js';
import { GatewayError } from './errors.js';

/**
 * What a route already knows about its requests (the produce route: its method, and a URL made
 * from the topic, with no query read), so the exchange does not copy them out of uWS: each copy
 * is a fresh string made in C++, and the produce route runs tens of thousands of times a second.
 */
export interface KnownRequest {
  method: string;
  url: string;
}

/** One HTTP exchange: request facts copied out of the (stack-only) uWS request, and the reply side. */
export class Exchange {
  #aborted = false;
  #done = false;
  readonly method: string;
  readonly url: string;
  readonly #queryText: string;
  #query: URLSearchParams | undefined;
  /**
   * Header names (lower case) and values, alternating. A flat array rather than a Map: a
   * request has a handful of headers, and a Map hashed every freshly made name string.
   */
  readonly #headers: string[] = [];

  constructor(readonly res: HttpResponse, req: HttpRequest, known?: KnownRequest) {
    if (known === undefined) {
      const method = req.getMethod();
      this.method = UPPER_METHODS.get(method) ?? method.toUpperCase();
      this.url = req.getUrl();
      this.#queryText = req.getQuery() ?? '';
    } else {
      this.method = known.method;
      this.url = known.url;
      this.#queryText = '';
    }
    const headers = this.#headers;
    req.forEach((key, value) => {
      headers.push(key, value);
    });
    res.onAborted(() => {
      this.#aborted = true;
    });
  }

  /** The query string, parsed on first use (produce requests rarely have one). */
  get query(): URLSearchParams {
    this.#query ??= new URLSearchParams(this.#queryText);
    return this.#query;
  }

  /** True once the client went away or a reply was sent. */
  get finished(): boolean {
    return this.#aborted || this.#done;
  }

  /** The value of header `name` (lower case); the first one if it was sent more than once. */
  header(name: string): string | undefined {
    const headers = this.#headers;
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i] === name) return headers[i + 1];
    }
    return undefined;
  }

  /** Calls `visit` with each header whose name starts with `prefix`, the name without it. */
  forEachHeaderWithPrefix(prefix: string, visit: (rest: string, value: string) => void): void {
    const headers = this.#headers;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string;
      if (name.length > prefix.length && name.startsWith(prefix)) visit(name.slice(prefix.length), headers[i + 1] as string);
    }
  }

  /** The client's address as "ip:port" (IPv4-mapped IPv6 shown as IPv4), for BORNHOST. */
  remoteAddress(): string {
    if (this.#aborted) return '0.0.0.0:0';
    return addressText(this.res.getRemoteAddress());
  }

  /**
   * Reads the whole body; rejects with BODY_TOO_LARGE as soon as it passes `limit` bytes (the
   * rest is not buffered). Must be called in the handler's synchronous part.
   */
  readBody(limit: number): Promise<Buffer> {
    return new Promise((resolve, reject) => this.onBody(limit, resolve, reject));
  }

  /**
   * Callback form of readBody: `onBody` runs inside uWS's data callback (a body that arrived
   * with the headers is handled without leaving it). Must be called in the handler's synchronous part.
   */
  onBody(limit: number, onBody: (body: Buffer) => void, onError: (error: GatewayError) => void): void {
    const declared = Number(this.header('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > limit) {
      onError(new GatewayError('BODY_TOO_LARGE', `the body of ${declared} bytes is over the limit of ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    this.res.onData((chunk, isLast) => {
      if (failed) return;
      size += chunk.byteLength;
      if (size > limit) {
        failed = true;
        onError(new GatewayError('BODY_TOO_LARGE', `the body is over the limit of ${limit} bytes`));
        return;
      }
      // uWS reuses the chunk's memory after this callback: copy. Into Buffer's shared pool for
      // small bodies: a fresh ArrayBuffer per request cost a malloc, and a free under the
      // allocator's lock on a GC thread.
      const copy = Buffer.allocUnsafe(chunk.byteLength);
      copy.set(new Uint8Array(chunk));
      chunks.push(copy);
      if (isLast) onBody(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    });
  }

  /** Sends a reply (once; ignored after an abort). `close` ends the connection after it. */
  send(status: number, contentType: string, body: string | Buffer, extraHeaders: Record<string, string> = NO_HEADERS, close = false): void {
    if (this.finished) return;
    this.#done = true;
    this.res.cork(() => {
      this.res.writeStatus(statusLine(status)).writeHeader('content-type', contentType);
      if (extraHeaders !== NO_HEADERS) for (const [name, value] of Object.entries(extraHeaders)) this.res.writeHeader(name, value);
      this.res.end(body, close);
    });
  }

  json(status: number, value: unknown): void {
    this.send(status, 'application/json', JSON.stringify(value));
  }

  /** A JSON error body `{ error: { code, message } }`; a body we did not read closes the connection. */
  fail(error: unknown, close = false): void {
    const { status, ...described } = describeError(error);
    const retryAfter = error instanceof GatewayError ? error.retryAfterSeconds : undefined;
    const headers: Record<string, string> = retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) };
    this.send(status, 'application/json', JSON.stringify({ error: described }), headers, close);
  }
}

// uWS asks the kernel (getpeername) on every call and has no per-connection hook in HTTP, so
// the cheaper binary form is used and its text cached: formatting the text form cost more than
// the append itself in a produce profile. Clients are few; the cache is bounded anyway.
const addressTexts = new Map<string, string>();
const ipv4Texts = new Map<number, string>();
const ADDRESS_CACHE_MAX = 4096;

function addressText(raw: ArrayBuffer): string {
  const bytes = new Uint8Array(raw);
  const v4 = bytes.length === 4 ? 0 : isV4Mapped(bytes) ? 12 : -1;
  if (v4 >= 0) {
    // Cached by number too: the same string object every time keeps its hash, so the send
    // path's per-address cache finds it without hashing a fresh string per request.
    const key = (((bytes[v4] as number) << 24) | ((bytes[v4 + 1] as number) << 16) | ((bytes[v4 + 2] as number) << 8) | (bytes[v4 + 3] as number)) >>> 0;
    let text = ipv4Texts.get(key);
    if (text === undefined) {
      text = `${bytes[v4]}.${bytes[v4 + 1]}.${bytes[v4 + 2]}.${bytes[v4 + 3]}:0`;
      if (ipv4Texts.size >= ADDRESS_CACHE_MAX) ipv4Texts.clear();
      ipv4Texts.set(key, text);
    }
    return text;
  }
  const cacheKey = Buffer.from(raw).toString('latin1');
  let text = addressTexts.get(cacheKey);
  if (text === undefined) {
    const groups: string[] = [];
    for (let i = 0; i + 1 < bytes.length; i += 2) groups.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)).toString(16));
    text = `${groups.join(':')}:0`;
    if (addressTexts.size >= ADDRESS_CACHE_MAX) addressTexts.clear();
    addressTexts.set(cacheKey, text);
  }
  return text;
}

function isV4Mapped(bytes: Uint8Array): boolean {
  if (bytes.length !== 16 || bytes[10] !== 0xff || bytes[11] !== 0xff) return false;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return true;
}

export function describeError(error: unknown): { status: number; code: string; message: string; responseCode?: number } {
  if (error instanceof GatewayError) {
    return {
      status: error.status, code: error.code, message: error.message,
      ...(error.responseCode === undefined ? {} : { responseCode: error.responseCode }),
    };
  }
  return { status: 500, code: 'INTERNAL', message: errorMessage(error) };
}

const REASONS: Record<number, string> = {
  200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 304: 'Not Modified', 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 409: 'Conflict', 413: 'Payload Too Large', 415: 'Unsupported Media Type',
  429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

const NO_HEADERS: Record<string, string> = Object.freeze({});
/** uWS reports methods in lower case; upper-casing a fresh string per request showed in profiles. */
const UPPER_METHODS: ReadonlyMap<string, string> = new Map(
  ['get', 'post', 'put', 'delete', 'head', 'options', 'patch'].map((m) => [m, m.toUpperCase()]),
);
const statusLines = new Map<number, string>();

/** "200 OK" and friends, built once per status (every reply writes one). */
function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `${status} ${REASONS[status] ?? 'Status'}`;
    statusLines.set(status, line);
  }
  return line;
}

/** An integer query parameter within [min, max], or the default; BAD_REQUEST otherwise. */
export function intParam(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const text = query.get(name);
  if (text === null || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new GatewayError('BAD_REQUEST', `query parameter ${name} must be an integer in [${min}, ${max}], not ${JSON.stringify(text)}`);
  }
  return value;
}
