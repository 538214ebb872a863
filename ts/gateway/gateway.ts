// The HTTP gateway: uWebSockets.js in the broker process (no separate proxy to deploy).
//
//   POST /topics/{topic}/messages   produce (produce.ts)
//   POST /groups/{group}/topics/{topic}/fetch, /groups/{group}/ack, /groups/{group}/nack
//                                   POP consumption (consume-routes.ts, pop-service.ts)
//   GET  /topics/{topic}/queues/{queueId}/messages   reads by offset
//   GET  /ws                        WebSocket, FlatBuffers frames (ws-session.ts, schema/gateway.fbs)
//   GET  /api/cluster | /api/topics[/{topic}] | /api/groups[/{group}] | /api/messages[/{id}]
//   GET  /metrics                   Prometheus text (metrics.ts)
//   GET  /healthz                   200 once the broker serves
//   GET  /, /assets/*, /api/stats   the dashboard (dashboard-routes.ts)
//
// Every handler copies what it needs out of the uWS request synchronously (the request object
// is only valid until the handler returns), registers onAborted before any await, and answers
// through Exchange, which never touches a response after abort or end.
import type { Logger } from '../common/logger.js';
import type { BrokerContext } from '../broker/broker-context.js';
import type { InProcessSend, SendService } from '../broker/send-processor.js';
import { clusterInfo, groupDetail, listGroups, listTopics, messageById, messagesByKey, topicDetail } from './admin-routes.js';
import { GatewayError } from './errors.js';
import { Exchange, type KnownRequest } from './http.js';
import { renderMetrics } from './metrics.js';
import { isBatchRequest, produce, produceResultJson, type ProduceResult, type ProduceTarget } from './produce.js';
import { fetchRoute, parseSettleBody, queueMessages } from './consume-routes.js';
import { PopService } from './pop-service.js';
import { Dashboard } from './dashboard-routes.js';
import { WsSession } from './ws-session.js';
import type { RemotingCommand } from '../protocol/command.js';
import { loadUws, type HttpRequest, type HttpResponse, type ListenSocket, type TemplatedApp } from './uws.js';

/** What the gateway needs from its broker. */
export interface GatewayBroker {
  readonly context: BrokerContext;
  readonly send: SendService;
  readonly startedAt: number;
  connectionCount(): number;
  parkedPulls(): number;
}

export interface GatewayOptions {
  host: string;
  port: number;
  /** Largest request body accepted (a batch envelope); single bodies are also bound by maxMessageSize. */
  maxBodyBytes: number;
  /**
   * WebSocket: bytes a socket may hold unsent before uWS closes it (the hard bound); deliveries
   * pause at a sixteenth of it.
   */
  wsMaxBufferedBytes: number;
  logger: Logger;
}

/** The last path parameter decoded, and what it decoded to (see pathParameter). */
let lastRawParameter = '';
let lastDecodedParameter = '';

/**
 * A path parameter, URL-decoded (topics like %RETRY%g arrive as %25RETRY%25g). A repeat of the
 * previous one (a producer sending to one topic) gets the same string object back: its hash is
 * then computed once, not by every map the send path looks the topic up in.
 */
function pathParameter(req: HttpRequest, index: number): string {
  const raw = req.getParameter(index) ?? '';
  if (raw === lastRawParameter) return lastDecodedParameter;
  let decoded: string;
  try {
    decoded = raw.includes('%') ? decodeURIComponent(raw) : raw;
  } catch {
    throw new GatewayError('BAD_REQUEST', `path segment ${JSON.stringify(raw)} is not valid percent-encoding`);
  }
  lastRawParameter = raw;
  lastDecodedParameter = decoded;
  return decoded;
}

export class Gateway {
  readonly #broker: GatewayBroker;
  readonly #options: GatewayOptions;
  #app: TemplatedApp | undefined;
  #listenSocket: ListenSocket | undefined;
  #port = 0;
  #pop: PopService | undefined;
  #dashboard: Dashboard | undefined;
  readonly #produceTarget: ProduceTarget;
  readonly counters = { requests: 0, produced: 0, errors: 0 };

  constructor(broker: GatewayBroker, options: GatewayOptions) {
    this.#broker = broker;
    this.#options = options;
    const o = broker.context.options;
    this.#produceTarget = {
      send: (request: RemotingCommand, bornAddress: string, inProcess?: InProcessSend) => broker.send.send(request, bornAddress, inProcess),
      maxMessageSize: o.maxMessageSize, brokerName: o.brokerName,
    };
  }

  get port(): number {
    return this.#port;
  }

  get address(): string {
    return `${this.#options.host}:${this.#port}`;
  }

  /** Listens. @throws GatewayError UWS_NATIVE_UNAVAILABLE or LISTEN_FAILED */
  async start(): Promise<string> {
    const uws = loadUws();
    const app = uws.App();
    this.#pop = new PopService(this.#broker.context, {
      maxInflightPerTopic: 10_000, popGroupTtlMs: this.#broker.context.options.channelExpiredTimeout,
    });
    this.#dashboard = new Dashboard(this.#broker.context);
    this.#routes(app);
    const socket = await new Promise<ListenSocket | false>((resolve) => {
      app.listen(this.#options.host, this.#options.port, (listenSocket) => resolve(listenSocket));
    });
    if (socket === false) {
      this.#dashboard.close();
      throw new GatewayError('LISTEN_FAILED', `the gateway could not listen on ${this.#options.host}:${this.#options.port} (port in use or address not local); set gatewayPort or gatewayEnable=false`);
    }
    this.#app = app;
    this.#listenSocket = socket;
    this.#port = uws.us_socket_local_port(socket as unknown as Parameters<typeof uws.us_socket_local_port>[0]);
    return this.address;
  }

  /** Stops accepting connections. Requests in progress still get their answer. */
  stop(): void {
    if (this.#listenSocket === undefined) return;
    loadUws().us_listen_socket_close(this.#listenSocket);
    this.#listenSocket = undefined;
    this.#pop?.close();
    this.#dashboard?.close();
  }

  #routes(app: TemplatedApp): void {
    const context = this.#broker.context;
    app.post('/topics/:topic/messages', (res, req) => this.#produce(res, req));
    app.any('/topics/:topic/messages', (res, req) => this.#sync(res, req, () => {
      throw new GatewayError('METHOD_NOT_ALLOWED', 'use POST to produce');
    }));
    this.#webSocket(app);
    app.post('/groups/:group/topics/:topic/fetch', (res, req) => {
      const group = this.#param(res, req, 0);
      const topic = group === undefined ? undefined : this.#param(res, req, 1);
      if (group === undefined || topic === undefined) return;
      this.#async(res, req, (ex) => fetchRoute(this.#popService, ex, group, topic));
    });
    app.post('/groups/:group/ack', (res, req) => {
      const group = this.#param(res, req, 0);
      if (group !== undefined) this.#withJsonBody(res, req, (body) => this.#popService.ack(group, parseSettleBody(body).handles));
    });
    app.post('/groups/:group/nack', (res, req) => {
      const group = this.#param(res, req, 0);
      if (group === undefined) return;
      this.#withJsonBody(res, req, (body) => {
        const { handles, delayMs } = parseSettleBody(body);
        return this.#popService.nack(group, handles, delayMs);
      });
    });
    app.get('/topics/:topic/queues/:queueId/messages', (res, req) => {
      const topic = this.#param(res, req, 0);
      const queueId = topic === undefined ? undefined : this.#param(res, req, 1);
      if (topic !== undefined && queueId !== undefined) this.#sync(res, req, (ex) => queueMessages(context, topic, queueId, ex.query));
    });
    app.get('/api/cluster', (res, req) => this.#sync(res, req, () => clusterInfo(context, this.#broker.startedAt, this.address)));
    app.get('/api/topics', (res, req) => this.#sync(res, req, (ex) => listTopics(context, ex.query)));
    app.get('/api/topics/:topic', (res, req) => {
      const topic = this.#param(res, req, 0);
      if (topic !== undefined) this.#sync(res, req, () => topicDetail(context, topic));
    });
    app.get('/api/groups', (res, req) => this.#sync(res, req, (ex) => listGroups(context, ex.query)));
    app.get('/api/groups/:group', (res, req) => {
      const group = this.#param(res, req, 0);
      if (group !== undefined) this.#sync(res, req, () => groupDetail(context, group));
    });
    app.get('/api/messages', (res, req) => this.#sync(res, req, (ex) => messagesByKey(context, ex.query)));
    app.get('/api/messages/:id', (res, req) => {
      const id = this.#param(res, req, 0);
      if (id !== undefined) this.#sync(res, req, (ex) => messageById(context, id, ex.query));
    });
    app.get('/metrics', (res, req) => {
      const exchange = this.#exchange(res, req);
      try {
        exchange.send(200, 'text/plain; version=0.0.4; charset=utf-8', renderMetrics({ ...this.#broker, connectionCount: () => this.#broker.connectionCount(), parkedPulls: () => this.#broker.parkedPulls(), gateway: this.counters }));
      } catch (error) {
        this.#fail(exchange, error);
      }
    });
    app.get('/healthz', (res, req) => this.#exchange(res, req).json(200, { status: 'UP' }));
    this.#dashboard?.mount(app, (res, req) => this.#exchange(res, req), (exchange, error) => this.#fail(exchange, error));
    app.any('/*', (res, req) => this.#sync(res, req, (ex) => {
      throw new GatewayError('NOT_FOUND', `no route for ${ex.method} ${ex.url}`);
    }));
  }

  #exchange(res: HttpResponse, req: HttpRequest, known?: KnownRequest): Exchange {
    this.counters.requests += 1;
    return new Exchange(res, req, known);
  }

  /** A path parameter, or undefined after answering 400 for a bad encoding. */
  #param(res: HttpResponse, req: HttpRequest, index: number): string | undefined {
    try {
      return pathParameter(req, index);
    } catch (error) {
      this.#fail(this.#exchange(res, req), error);
      return undefined;
    }
  }

  /** A read endpoint: computes JSON synchronously and answers 200, or the error's status. */
  #sync(res: HttpResponse, req: HttpRequest, compute: (exchange: Exchange) => unknown): void {
    const exchange = this.#exchange(res, req);
    try {
      exchange.json(200, compute(exchange));
    } catch (error) {
      this.#fail(exchange, error);
    }
  }

  #webSocket(app: TemplatedApp): void {
    const options = this.#broker.context.options;
    const target = this.#produceTarget;
    const hardLimit = this.#options.wsMaxBufferedBytes;
    app.ws<{ session?: WsSession }>('/ws', {
      maxPayloadLength: this.#options.maxBodyBytes,
      maxBackpressure: hardLimit,
      closeOnBackpressureLimit: 1,
      idleTimeout: 120,
      sendPingsAutomatically: true,
      open: (ws) => {
        this.counters.requests += 1;
        const ip = Buffer.from(ws.getRemoteAddressAsText()).toString('latin1');
        ws.getUserData().session = new WsSession(ws, this.#popService, target, {
          softBufferBytes: Math.max(64 * 1024, Math.floor(hardLimit / 16)), fetchBatch: 32, longPollMs: 20_000,
        }, `${ip.startsWith('::ffff:') ? ip.slice(7) : ip}:0`);
      },
      message: (ws, message, isBinary) => ws.getUserData().session?.onMessage(message, isBinary),
      drain: (ws) => ws.getUserData().session?.onDrain(),
      close: (ws) => ws.getUserData().session?.onClose(),
    });
  }

  get #popService(): PopService {
    if (this.#pop === undefined) throw new GatewayError('NOT_FOUND', 'the gateway is not started');
    return this.#pop;
  }

  /** An endpoint whose answer is computed asynchronously (long polls). */
  #async(res: HttpResponse, req: HttpRequest, compute: (exchange: Exchange) => Promise<unknown>): void {
    const exchange = this.#exchange(res, req);
    compute(exchange).then((value) => exchange.json(200, value), (error: unknown) => this.#fail(exchange, error));
  }

  /** A POST with a small JSON body (ack/nack): read it, then compute synchronously. */
  #withJsonBody(res: HttpResponse, req: HttpRequest, compute: (body: Buffer) => unknown): void {
    const exchange = this.#exchange(res, req);
    exchange.readBody(1024 * 1024).then((body) => {
      try {
        exchange.json(200, compute(body));
      } catch (error) {
        this.#fail(exchange, error);
      }
    }, (error: unknown) => this.#fail(exchange, error, true));
  }

  #fail(exchange: Exchange, error: unknown, close = false): void {
    this.counters.errors += 1;
    if (!(error instanceof GatewayError)) this.#options.logger.error('gateway request failed', { url: exchange.url, error: String(error) });
    exchange.fail(error, close);
  }

  #produce(res: HttpResponse, req: HttpRequest): void {
    let topic: string;
    try {
      topic = pathParameter(req, 0);
    } catch (error) {
      this.#fail(this.#exchange(res, req), error, true);
      return;
    }
    const exchange = this.#exchange(res, req, { method: 'POST', url: `/topics/${topic}/messages` });
    const options = this.#broker.context.options;
    // A single message's body is the request body; a batch envelope may be larger (JSON, base64).
    const isBatch = isBatchRequest(exchange);
    const target = this.#produceTarget;
    const answer = (result: ProduceResult): void => {
      this.counters.produced += result.messages.length;
      exchange.send(result.status === 'SEND_OK' ? 200 : 202, 'application/json', produceResultJson(result));
    };
    exchange.onBody(isBatch ? this.#options.maxBodyBytes : options.maxMessageSize, (body) => {
      // ASYNC_FLUSH answers inside this callback; only a SYNC_FLUSH wait goes through a promise.
      try {
        const result = produce(target, exchange, topic, body, isBatch);
        if (result instanceof Promise) result.then(answer, (error: unknown) => this.#fail(exchange, error));
        else answer(result);
      } catch (error) {
        this.#fail(exchange, error);
      }
    },
    // The rest of an oversized body is not read: close the connection after the answer.
    (error) => this.#fail(exchange, error, true));
  }
}
