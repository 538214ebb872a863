// The dashboard's server side in an in-process broker + gateway: the built page and assets
// served from memory with content types and caching headers, JSON 404s kept for unknown /api
// routes, and /api/stats counting real messages per topic per interval with bounded memory.
import test, { type ExecutionContext } from 'ava';
import { attachGateway } from '../../../ts/gateway/broker-server.js';
import { Dashboard, STATS_TOPICS_MAX } from '../../../ts/gateway/dashboard-routes.js';
import { IMMUTABLE, REVALIDATE, StaticAssets } from '../../../ts/gateway/static-assets.js';
import type { BrokerContext } from '../../../ts/broker/broker-context.js';
import { Admin, silentLogger } from '../../../ts/sdk/index.js';
import { startCluster } from '../../support/broker.js';

async function gatewayCluster(t: ExecutionContext): Promise<{ base: string; context: BrokerContext; namesrvAddr: string }> {
  const cluster = await startCluster(t);
  const gateway = await attachGateway(cluster.broker, { port: 0 });
  t.teardown(() => gateway.stop());
  return { base: `http://${gateway.address}`, context: cluster.broker.frontEnd().context, namesrvAddr: cluster.namesrvAddr };
}

/** Resolves once the store reported that `topic` holds `count` messages (after the sampler saw it: listeners run in order). */
function grownTo(context: BrokerContext, topic: string, count: number): Promise<void> {
  const maxima = new Map<number, number>();
  // Queues that already hold messages and do not grow again still count.
  for (let queueId = 0; queueId < 16; queueId += 1) maxima.set(queueId, Math.max(0, context.store.maxOffset(topic, queueId)));
  return new Promise((resolve) => {
    if ([...maxima.values()].reduce((a, b) => a + b, 0) >= count) {
      resolve();
      return;
    }
    const stop = context.store.onQueuesGrew((grown) => {
      for (const g of grown) if (g.topic === topic) maxima.set(g.queueId, g.maxOffset);
      if ([...maxima.values()].reduce((a, b) => a + b, 0) >= count) {
        stop();
        resolve();
      }
    });
  });
}

async function produce(base: string, topic: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    const response = await fetch(`${base}/topics/${topic}/messages`, { method: 'POST', body: `m${i}` });
    if (response.status !== 200) throw new Error(`produce answered ${response.status}`);
  }
}

test('GET / serves the built page as HTML with no-cache and an ETag, and answers 304 to If-None-Match', async (t) => {
  const { base } = await gatewayCluster(t);
  const page = await fetch(`${base}/`);
  t.is(page.status, 200);
  t.is(page.headers.get('content-type'), 'text/html; charset=utf-8');
  t.is(page.headers.get('cache-control'), REVALIDATE);
  const etag = page.headers.get('etag');
  t.regex(etag ?? '', /^".+"$/);
  t.regex(await page.text(), /<title>Bolide dashboard<\/title>/);
  const again = await fetch(`${base}/`, { headers: { 'if-none-match': etag ?? '' } });
  t.is(again.status, 304);
  t.is((await again.arrayBuffer()).byteLength, 0);
});

test('the assets the page references are served with their content types and immutable caching', async (t) => {
  const { base } = await gatewayCluster(t);
  const html = await (await fetch(`${base}/`)).text();
  const refs = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1] ?? '');
  t.true(refs.some((r) => r.endsWith('.js')), 'the page loads a script');
  t.true(refs.some((r) => r.endsWith('.css')), 'the page loads a stylesheet');
  for (const ref of refs) {
    const response = await fetch(`${base}${ref}`);
    t.is(response.status, 200, ref);
    t.is(response.headers.get('content-type'), ref.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
    t.is(response.headers.get('cache-control'), IMMUTABLE);
  }
});

test('unknown /api routes and unknown assets still answer a JSON 404', async (t) => {
  const { base } = await gatewayCluster(t);
  for (const path of ['/api/nope', '/api/stats/extra', '/assets/missing-abc.js', '/dashboard']) {
    const response = await fetch(`${base}${path}`);
    t.is(response.status, 404, path);
    t.is(response.headers.get('content-type'), 'application/json', path);
    t.is(((await response.json()) as { error: { code: string } }).error.code, 'NOT_FOUND', path);
  }
});

test('/api/stats refuses more topics than a page needs with a 400, and the broker keeps serving', async (t) => {
  const { base } = await gatewayCluster(t);
  const topics = Array.from({ length: STATS_TOPICS_MAX + 1 }, (_, i) => `T${i}`).join(',');
  const refused = await fetch(`${base}/api/stats?topics=${topics}`);
  t.is(refused.status, 400);
  t.is(((await refused.json()) as { error: { code: string } }).error.code, 'BAD_REQUEST');
  const fine = await fetch(`${base}/api/stats?topics=a,,a,b`);
  t.is(fine.status, 200);
  t.deepEqual(Object.keys(((await fine.json()) as { topics: Record<string, number[]> }).topics), ['a', 'b']);
});

test('/api/stats counts the messages a topic received in its newest interval, after history from before the start', async (t) => {
  const { base, context } = await gatewayCluster(t);
  await produce(base, 'StatsBefore', 3);
  t.true(context.store.waitDispatched());
  // A dashboard started now takes the 3 earlier messages as its baseline: they are not "new".
  const dashboard = new Dashboard(context, { intervalMs: 3_600_000, samples: 5 });
  t.teardown(() => dashboard.close());
  const grown = grownTo(context, 'StatsBefore', 7);
  await produce(base, 'StatsBefore', 4);
  await grown;
  dashboard.sampler.sample();
  const snapshot = dashboard.stats(new URLSearchParams('topics=StatsBefore,Idle'));
  t.deepEqual(snapshot.topics['StatsBefore'], [0, 0, 0, 0, 4]);
  t.deepEqual(snapshot.topics['Idle'], [0, 0, 0, 0, 0]);
  t.is(snapshot.put.at(-1), 4);
  t.is(snapshot.intervalMs, 3_600_000);
  dashboard.sampler.sample();
  t.deepEqual(dashboard.stats(new URLSearchParams('topics=StatsBefore')).topics['StatsBefore'], [0, 0, 0, 4, 0]);
});

test('a topic idle for a whole window loses its series, so memory follows active topics only', async (t) => {
  const { base, context } = await gatewayCluster(t);
  const dashboard = new Dashboard(context, { intervalMs: 3_600_000, samples: 3 });
  t.teardown(() => dashboard.close());
  const grown = grownTo(context, 'StatsIdle', 2);
  await produce(base, 'StatsIdle', 2);
  await grown;
  dashboard.sampler.sample();
  t.is(dashboard.sampler.seriesCount, 1);
  dashboard.sampler.sample();
  dashboard.sampler.sample();
  t.deepEqual(dashboard.stats(new URLSearchParams('topics=StatsIdle')).topics['StatsIdle'], [2, 0, 0]);
  dashboard.sampler.sample();
  t.is(dashboard.sampler.seriesCount, 0);
  t.deepEqual(dashboard.stats(new URLSearchParams('topics=StatsIdle')).topics['StatsIdle'], [0, 0, 0]);
});

test('a topic deleted (DELETE_TOPIC_IN_BROKER) and created again counts its new messages from zero', async (t) => {
  const { base, context, namesrvAddr } = await gatewayCluster(t);
  const dashboard = new Dashboard(context, { intervalMs: 3_600_000, samples: 4 });
  t.teardown(() => dashboard.close());
  const first = grownTo(context, 'StatsAgain', 5);
  await produce(base, 'StatsAgain', 5);
  await first;
  dashboard.sampler.sample();
  const admin = new Admin({ namesrvAddr, logger: silentLogger });
  await admin.start();
  try {
    await admin.deleteTopic('StatsAgain');
  } finally {
    await admin.shutdown();
  }
  t.is(context.topics.get('StatsAgain'), undefined);
  const second = grownTo(context, 'StatsAgain', 2);
  await produce(base, 'StatsAgain', 2);
  await second;
  dashboard.sampler.sample();
  t.deepEqual(dashboard.stats(new URLSearchParams('topics=StatsAgain')).topics['StatsAgain'], [0, 0, 5, 2]);
});

test('without a built dashboard directory the assets are unavailable and nothing is served', (t) => {
  const assets = new StaticAssets('/nonexistent/dashboard/build');
  t.false(assets.available);
  t.is(assets.get('/'), undefined);
  t.is(assets.size, 0);
});
