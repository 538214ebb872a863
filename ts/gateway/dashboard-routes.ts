// The dashboard's routes: the page and its built assets (static-assets.ts) and GET /api/stats
// (stats-sampler.ts), mounted by the gateway with one call so gateway.ts stays a route table.
//
//   GET /, /index.html          the page (no-cache + ETag; 304 on If-None-Match)
//   GET /assets/*               Vite's content-hashed files (immutable)
//   GET /api/stats?topics=a,b   cluster put/get per interval and per-topic counts, for charts
import type { BrokerContext } from '../broker/broker-context.js';
import { GatewayError } from './errors.js';
import type { Exchange } from './http.js';
import { StaticAssets, defaultDashboardDir } from './static-assets.js';
import { StatsSampler, type StatsSnapshot } from './stats-sampler.js';
import type { HttpRequest, HttpResponse, TemplatedApp } from './uws.js';

/** Most topics one /api/stats call may ask for (a page of the topic list is 50). */
export const STATS_TOPICS_MAX = 200;

export interface DashboardOptions {
  /** Directory of the built page; default dashboard/build of this package. */
  dir?: string;
  /** Sampling interval and window of /api/stats (default 2 s x 60: two minutes). */
  intervalMs?: number;
  samples?: number;
}

type ExchangeOf = (res: HttpResponse, req: HttpRequest) => Exchange;
type Fail = (exchange: Exchange, error: unknown) => void;

export class Dashboard {
  readonly assets: StaticAssets;
  readonly sampler: StatsSampler;

  /** Reads the built page into memory and starts sampling (stop with close()). */
  constructor(context: BrokerContext, options: DashboardOptions = {}) {
    this.assets = new StaticAssets(options.dir ?? defaultDashboardDir());
    const store = context.store;
    this.sampler = new StatsSampler({
      queues: () => store.queues(),
      maxOffset: (topic, queueId) => store.maxOffset(topic, queueId),
      onQueuesGrew: (listener) => store.onQueuesGrew(listener),
      // The topic table notifies puts and removals alike: a removal is a change after which it is gone.
      onTopicDeleted: (listener) => context.topics.onChange((changed) => {
        if (context.topics.get(changed.topicName) === undefined) listener(changed.topicName);
      }),
      putTotal: () => context.stats.putTotal,
      getTotal: () => context.stats.getTotal,
    }, { intervalMs: options.intervalMs ?? 2_000, samples: options.samples ?? 60 });
    this.sampler.start();
  }

  mount(app: TemplatedApp, exchangeOf: ExchangeOf, fail: Fail): void {
    const page = (res: HttpResponse, req: HttpRequest): void => this.#serve(exchangeOf(res, req), fail);
    app.get('/', page);
    app.get('/index.html', page);
    app.get('/assets/*', page);
    app.get('/api/stats', (res, req) => {
      const exchange = exchangeOf(res, req);
      try {
        exchange.json(200, this.stats(exchange.query));
      } catch (error) {
        fail(exchange, error);
      }
    });
  }

  stats(query: URLSearchParams): StatsSnapshot {
    const topics = [...new Set((query.get('topics') ?? '').split(',').filter((t) => t !== ''))];
    if (topics.length > STATS_TOPICS_MAX) {
      throw new GatewayError('BAD_REQUEST', `at most ${STATS_TOPICS_MAX} topics per /api/stats call, not ${topics.length}`);
    }
    return this.sampler.snapshot(topics);
  }

  close(): void {
    this.sampler.stop();
  }

  #serve(exchange: Exchange, fail: Fail): void {
    const asset = this.assets.get(exchange.url);
    if (asset === undefined) {
      fail(exchange, new GatewayError('NOT_FOUND', this.assets.available
        ? `no dashboard asset ${exchange.url}`
        : 'the dashboard is not built (dashboard/build is missing: run npm run build:dashboard)'));
      return;
    }
    const headers = { 'cache-control': asset.cacheControl, etag: asset.etag };
    if (exchange.header('if-none-match') === asset.etag) {
      exchange.send(304, asset.contentType, '', headers);
      return;
    }
    exchange.send(200, asset.contentType, asset.body, headers);
  }
}
