// Self-check of the Java compatibility harness: every scenario of test/compat/java, with rocketmq-client 4.9.8
// and 5.3.3, against a real Apache RocketMQ 5.3.3 name server + broker. When this passes, the scenarios and
// their assertions are known-good, so the same runs against Bolide fail only for Bolide's reasons.
//
// Slow (JVMs, Maven on first run) and needs java + mvn: full tier only (test/compat/**).
//   npx ava --tap test/compat/apache-selfcheck.test.ts
import test, { type ExecutionContext } from 'ava';
import { startApacheRocketMQ, type ApacheRocketMQ, APACHE_ROCKETMQ_VERSION } from '../support/apache-rocketmq.js';
import {
  COMPAT_CLIENT_VERSIONS,
  ensureDriver,
  javaSkipReason,
  requireJava,
  runScenario,
  type ScenarioName,
  type ScenarioOptions,
  type ScenarioResult,
} from '../support/java-compat.js';

const skipReason = javaSkipReason();
if (skipReason) console.warn(`[apache-selfcheck] ${skipReason}`);
const jtest = skipReason ? test.skip : test;

let server: ApacheRocketMQ | undefined;
const suiteStarted = Date.now();
const runs: { version: string; scenario: string; ok: boolean; ms: number }[] = [];

// Scenario JVMs share 2 cores with the broker: at most 2 at a time, and the 10k-message push run alone.
const CAPACITY = 2;
let inUse = 0;
const waiting: (() => void)[] = [];
async function withSlots<T>(weight: number, fn: () => Promise<T>): Promise<T> {
  while (inUse + weight > CAPACITY) await new Promise<void>((resolve) => waiting.push(resolve));
  inUse += weight;
  try {
    return await fn();
  } finally {
    inUse -= weight;
    waiting.splice(0).forEach((wake) => wake());
  }
}

test.before(async (t) => {
  t.timeout(20 * 60_000); // the first run downloads from Maven Central
  if (!requireJava(t)) return;
  let started = Date.now();
  const builds = [];
  for (const version of COMPAT_CLIENT_VERSIONS) builds.push(await ensureDriver(version));
  for (const b of builds) {
    t.log(`driver for rocketmq-client ${b.version}: ${b.built ? `built in ${(b.buildMs / 1000).toFixed(1)} s` : 'cached'}`);
  }
  t.log(`drivers ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  started = Date.now();
  server = await startApacheRocketMQ();
  t.log(
    `Apache RocketMQ ${server.version}: namesrv ${server.namesrvAddr}, broker ${server.brokerAddr}, up in ${(server.startupMs / 1000).toFixed(1)} s (incl. jar resolution ${((Date.now() - started - server.startupMs) / 1000).toFixed(1)} s)`,
  );
});

test.after.always(async (t) => {
  await server?.stop();
  const ok = runs.filter((r) => r.ok).length;
  const line =
    `apache self-check: ${runs.length} scenario runs (${ok} ok, ${runs.length - ok} failed) with rocketmq-client ` +
    `${COMPAT_CLIENT_VERSIONS.join(' + ')} against Apache RocketMQ ${APACHE_ROCKETMQ_VERSION} in ` +
    `${((Date.now() - suiteStarted) / 1000).toFixed(1)} s`;
  t.log(line);
  console.log(line);
});

/** Runs one scenario, logs a one-line outcome, and fails the test (with the driver's error) unless ok. */
async function scenario(
  t: ExecutionContext,
  version: string,
  name: ScenarioName,
  options: ScenarioOptions = {},
  /** Log a failure without failing the test (the caller retries once). */
  tolerateFailure = false,
): Promise<ScenarioResult> {
  if (!server) throw new Error('Apache RocketMQ did not start (see the before hook)');
  const namesrv = server.namesrvAddr;
  const r = await withSlots(name.startsWith('push-') ? CAPACITY : 1, () => runScenario(version, namesrv, name, options));
  runs.push({ version, scenario: name, ok: r.ok, ms: r.durationMs });
  t.log(`${version} ${name}: ${r.ok ? 'ok' : 'FAILED'} in ${(r.durationMs / 1000).toFixed(1)} s${r.ok ? '' : ` — ${r.error}`}`);
  if (!r.ok) t.log(`driver stderr (logs kept in ${r.logDir}):\n${r.stderrTail}`);
  if (tolerateFailure && !r.ok) {
    t.log(`${name}: first run failed on Apache; running it once more`);
    return r;
  }
  t.true(r.ok, `${name} with client ${version}: ${r.error ?? ''}`);
  t.is(r.details.clientVersion, `V${version.replaceAll('.', '_')}`);
  return r;
}

const MSG_ID = /^[0-9A-F]{32}(?:[0-9A-F]{24})?$/; // client unique id: IPv4 (16 bytes) or IPv6 (28 bytes) host

/** An offset msgId starts with the store host the broker advertises: IPv4 address then port, in hex. */
function storeHostHex(addr: string): string {
  const [ip, port] = addr.split(':');
  const octets = (ip ?? '').split('.').map((o) => Number(o).toString(16).padStart(2, '0'));
  return (octets.join('') + Number(port).toString(16).padStart(8, '0')).toUpperCase();
}

function checkSendRecords(t: ExecutionContext, messages: any[], count: number, withPositions: boolean) {
  t.is(messages.length, count);
  t.is(new Set(messages.map((m) => m.msgId)).size, count, 'msgIds unique');
  for (const m of messages) t.regex(m.msgId, MSG_ID);
  if (!withPositions) return;
  const prefix = storeHostHex(server!.brokerAddr);
  const perQueue = new Map<number, number[]>();
  for (const m of messages) {
    t.is(m.status, 'SEND_OK');
    t.is(m.brokerName, server!.brokerName);
    t.true(m.offsetMsgId.startsWith(prefix), `offsetMsgId ${m.offsetMsgId} encodes the broker address`);
    perQueue.set(m.queueId, [...(perQueue.get(m.queueId) ?? []), m.queueOffset]);
  }
  // A fresh topic: each queue holds offsets 0..n-1 exactly once.
  for (const [queueId, offsets] of perQueue) {
    t.deepEqual(
      offsets.sort((a, b) => a - b),
      offsets.map((_, i) => i),
      `queue ${queueId} offsets`,
    );
  }
}

for (const version of COMPAT_CLIENT_VERSIONS) {
  for (const mode of ['sync', 'async', 'oneway', 'batch'] as const) {
    jtest(`client ${version}: produce-${mode}`, async (t) => {
      t.timeout(5 * 60_000);
      const count = 100;
      let r = await scenario(t, version, `produce-${mode}`, { count }, mode === 'oneway');
      // Oneway is best effort on Apache (flow control drops without telling the sender): a
      // failed oneway self-check gets one more run before it counts.
      if (!r.ok && mode === 'oneway') r = await scenario(t, version, `produce-${mode}`, { count });
      checkSendRecords(t, r.details.messages, count, mode !== 'oneway');
      t.like(r.details.verify, { received: count, duplicates: 0, missing: 0, mismatches: [] });
      if (mode === 'batch') t.is(r.details.batches, Math.ceil(count / 16));
    });
  }

  jtest(`client ${version}: produce-sync to an auto-created topic`, async (t) => {
    t.timeout(5 * 60_000);
    const r = await scenario(t, version, 'produce-sync', { count: 40, createTopic: 'auto' });
    checkSendRecords(t, r.details.messages, 40, true);
    t.like(r.details.verify, { received: 40, missing: 0, mismatches: [] });
  });

  jtest(`client ${version}: push-cluster-two-consumers, 10,000 messages`, async (t) => {
    t.timeout(6 * 60_000);
    const count = 10_000;
    const r = await scenario(t, version, 'push-cluster-two-consumers', { count });
    const d = r.details;
    t.true(d.assignment.stable);
    t.true(d.assignment.c1.length > 0 && d.assignment.c2.length > 0, 'each consumer owns queues');
    t.deepEqual([...d.assignment.c1, ...d.assignment.c2].sort((a: number, b: number) => a - b), d.assignment.queues);
    t.like(d, { sent: count, received: count, duplicates: 0, missing: 0, mismatches: 0, sendFailures: 0 });
    t.true(d.perConsumer.c1 > 0 && d.perConsumer.c2 > 0, 'both consumers received messages');
    t.is(d.perConsumer.c1 + d.perConsumer.c2, count);
    t.log(`  ${version} push: sent in ${d.sendMs} ms (${d.sendTps}/s), all consumed after ${d.consumeMs} ms; per consumer ${JSON.stringify(d.perConsumer)}`);
  });

  jtest(`client ${version}: lite-pull-assign-seek`, async (t) => {
    t.timeout(5 * 60_000);
    const r = await scenario(t, version, 'lite-pull-assign-seek', { count: 100 });
    const d = r.details;
    t.true(d.expected > 0);
    t.is(d.received, d.expected);
    for (const [queueId, q] of Object.entries<any>(d.perQueue)) {
      t.is(q.received, q.expected, `queue ${queueId}`);
      if (q.expected > 0) t.is(q.first, q.seek, `queue ${queueId} starts at the seek offset`);
    }
  });

  jtest(`client ${version}: query-by-key`, async (t) => {
    t.timeout(5 * 60_000);
    const count = 20;
    const r = await scenario(t, version, 'query-by-key', { count });
    const d = r.details;
    t.is(d.sharedKey.found, count);
    t.true(d.singleKeys.length > 0);
    for (const s of d.singleKeys) t.is(s.seqs.length, 1, s.key);
    for (const u of d.uniqKeys) t.is(u.returnedMsgId, u.msgId);
  });

  jtest(`client ${version}: view-by-offset-msgid`, async (t) => {
    t.timeout(5 * 60_000);
    const count = 10;
    const r = await scenario(t, version, 'view-by-offset-msgid', { count });
    t.is(r.details.views.length, count);
    for (const v of r.details.views) {
      t.deepEqual(v.problems, []);
      t.is(v.viewedOffsetMsgId, v.offsetMsgId);
      t.is(v.queueOffset, v.sentQueueOffset);
    }
  });
}

// produce-for / consume-from are the two halves of cross-client tests (later: Bolide's own SDK on one side).
// Here each Java client version consumes what the other produced.
for (const [producer, consumer] of [
  ['4.9.8', '5.3.3'],
  ['5.3.3', '4.9.8'],
] as const) {
  jtest(`produce-for with client ${producer}, consume-from with client ${consumer}`, async (t) => {
    t.timeout(5 * 60_000);
    const count = 20;
    const topic = `bolide-compat-cross-${producer.replaceAll('.', '')}-${Date.now().toString(36)}`;
    const sent = await scenario(t, producer, 'produce-for', { count, topic });
    const got = await scenario(t, consumer, 'consume-from', { count, topic });
    t.is(got.details.received, count);
    t.is(got.details.duplicates, 0);
    const byId = new Map<string, any>(got.details.messages.map((m: any) => [m.msgId, m]));
    for (const s of sent.details.messages) {
      const m = byId.get(s.msgId);
      if (!m) {
        t.fail(`message seq ${s.seq} (${s.msgId}) not consumed`);
        continue;
      }
      t.like(m, {
        topic,
        body: s.body,
        bodyLength: s.bodyLength,
        tags: s.tags,
        keys: s.keys,
        offsetMsgId: s.offsetMsgId,
        queueId: s.queueId,
        queueOffset: s.queueOffset,
        properties: s.properties,
      });
    }
  });
}
