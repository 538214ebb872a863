// Delay levels and retry → DLQ through the real Java client (DelayRetryScenarios.java), against
// Bolide with rocketmq-client 4.9.8 and 5.3.3, and against Apache RocketMQ 5.3.3 (client 5.3.3)
// with the same short delay table, so the scenarios themselves are known-good.
//
// Slow (JVMs) and needs java + mvn: full tier only. Without them the tests skip, unless CI=true.
//   npx ava --tap test/compat/delay-retry.test.ts
import test, { type ExecutionContext } from 'ava';
import { startApacheRocketMQ, type ApacheRocketMQ } from '../support/apache-rocketmq.js';
import { startBolideProcess, type BolideProcess } from '../support/bolide-process.js';
import {
  COMPAT_CLIENT_VERSIONS, ensureDriver, javaSkipReason, requireJava, runScenario, type ScenarioName, type ScenarioOptions,
} from '../support/java-compat.js';

const skipReason = javaSkipReason();
if (skipReason) console.warn(`[delay-retry] ${skipReason}`);
const jtest = skipReason ? test.serial.skip : test.serial;

// Seconds only: Apache parses s, m, h, d. Level 1 = 1 s, level 3 = 3 s; retries use levels 3, 4, 5.
const DELAY_LEVELS = '1s 2s 3s 1s 1s 1s 1s 1s';
const LEVEL_DELAYS_MS = '1000,3000';
const MAX_RECONSUME = 2;

let bolide: BolideProcess | undefined;
let apache: ApacheRocketMQ | undefined;

test.before(async (t) => {
  t.timeout(20 * 60_000);
  if (!requireJava(t)) return;
  for (const version of COMPAT_CLIENT_VERSIONS) await ensureDriver(version);
  bolide = await startBolideProcess([`--messageDelayLevel=${DELAY_LEVELS}`]);
  t.log(`Bolide: namesrv ${bolide.namesrvAddr}, broker ${bolide.brokerAddr}`);
});

test.after.always(async () => {
  await bolide?.stop();
  await apache?.stop();
});

async function scenario(t: ExecutionContext, namesrv: string | undefined, version: string, name: ScenarioName,
  options: ScenarioOptions): Promise<Record<string, any>> {
  if (namesrv === undefined) throw new Error('the broker did not start (see the before hook)');
  const r = await runScenario(version, namesrv, name, options);
  t.log(`${version} ${name}: ${r.ok ? 'ok' : 'FAILED'} in ${(r.durationMs / 1000).toFixed(1)} s${r.ok ? '' : ` — ${r.error}`}`);
  if (!r.ok) t.log(`driver stderr (logs kept in ${r.logDir}):\n${r.stderrTail}`);
  t.true(r.ok, `${name} with client ${version}: ${r.error ?? ''}`);
  return r.details;
}

function checkDelays(t: ExecutionContext, details: Record<string, any>): void {
  const deliveries = details['deliveries'] as Array<{ level: number; afterMs: number | null }>;
  t.is(deliveries.length, 4);
  for (const d of deliveries) t.true(d.afterMs !== null && d.afterMs >= (d.level === 1 ? 1000 : 3000), JSON.stringify(d));
}

function checkDlq(t: ExecutionContext, details: Record<string, any>, topic: string): void {
  const dlq = details['dlq'] as Array<Record<string, unknown>>;
  t.is(dlq.length, 2);
  for (const d of dlq) {
    t.is(d['reconsumeTimes'], MAX_RECONSUME + 1);
    t.is(d['RETRY_TOPIC'], topic);
    t.truthy(d['ORIGIN_MESSAGE_ID']);
  }
  for (const seen of Object.values(details['attempts'] as Record<string, number[]>)) {
    t.deepEqual(seen.slice(0, MAX_RECONSUME + 1), [0, 1, 2]);
  }
}

const uniq = (prefix: string) => `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

for (const version of COMPAT_CLIENT_VERSIONS) {
  jtest(`Bolide, client ${version}: delay levels 1 and 3 are delivered, never early`, async (t) => {
    t.timeout(3 * 60_000);
    const details = await scenario(t, bolide?.namesrvAddr, version, 'delay-levels', {
      count: 4, queues: 2, extraArgs: ['--level-delays-ms', LEVEL_DELAYS_MS],
    });
    checkDelays(t, details);
  });

  jtest(`Bolide, client ${version}: RECONSUME_LATER retries through %RETRY% then lands in %DLQ% with its properties`, async (t) => {
    t.timeout(3 * 60_000);
    const topic = uniq('dr-retry');
    const details = await scenario(t, bolide?.namesrvAddr, version, 'retry-to-dlq', {
      topic, count: 2, queues: 2, extraArgs: ['--max-reconsume', String(MAX_RECONSUME)],
    });
    checkDlq(t, details, topic);
    // Bolide also stamps the dead letter with where it came from.
    for (const d of details['dlq'] as Array<Record<string, unknown>>) t.is(d['DLQ_ORIGIN_TOPIC'], topic);
  });

  jtest(`Bolide, client ${version}: TIMER_DELIVER_MS messages arrive, never early`, async (t) => {
    t.timeout(3 * 60_000);
    const details = await scenario(t, bolide?.namesrvAddr, version, 'timer-delivery', {
      count: 3, queues: 2, extraArgs: ['--timer-delay-ms', '1500'],
    });
    const deliveries = details['deliveries'] as Array<{ lateMs: number | null }>;
    t.is(deliveries.length, 3);
    for (const d of deliveries) t.true(d.lateMs !== null && d.lateMs >= 0, JSON.stringify(d));
  });
}

// RECALL_MESSAGE needs client 5.3+ (the 4.9 line has no recall).
jtest('Bolide, client 5.3.3: recalled timer messages are never delivered, the others arrive never early', async (t) => {
  t.timeout(3 * 60_000);
  checkRecall(t, await scenario(t, bolide?.namesrvAddr, '5.3.3', 'timer-recall', { count: 4, queues: 2, extraArgs: ['--timer-delay-ms', '2500'] }));
});

function checkRecall(t: ExecutionContext, details: Record<string, any>): void {
  t.is((details['recalled'] as string[]).length, 2);
  const kept = details['kept'] as Array<{ lateMs: number | null }>;
  t.is(kept.length, 2);
  for (const d of kept) t.true(d.lateMs !== null && d.lateMs >= 0, JSON.stringify(d));
}

// The same scenarios against Apache RocketMQ 5.3.3 with the same delay table (client 5.3.3 only: one JVM broker is slow enough).
jtest('Apache 5.3.3, client 5.3.3: delay levels, retry → DLQ, TIMER_DELIVER_MS and recall scenarios hold (self-check)', async (t) => {
  t.timeout(10 * 60_000);
  apache = await startApacheRocketMQ({ brokerConfig: { messageDelayLevel: DELAY_LEVELS } });
  const delays = await scenario(t, apache.namesrvAddr, '5.3.3', 'delay-levels', {
    count: 4, queues: 2, extraArgs: ['--level-delays-ms', LEVEL_DELAYS_MS],
  });
  checkDelays(t, delays);
  const topic = uniq('dr-retry');
  const retry = await scenario(t, apache.namesrvAddr, '5.3.3', 'retry-to-dlq', {
    topic, count: 2, queues: 2, extraArgs: ['--max-reconsume', String(MAX_RECONSUME)],
  });
  checkDlq(t, retry, topic);
  t.log(`Apache DLQ properties: ${JSON.stringify(retry['dlq'])}`);
  const timers = await scenario(t, apache.namesrvAddr, '5.3.3', 'timer-delivery', {
    count: 3, queues: 2, extraArgs: ['--timer-delay-ms', '1500'],
  });
  for (const d of timers['deliveries'] as Array<{ lateMs: number | null }>) t.true(d.lateMs !== null && d.lateMs >= 0, JSON.stringify(d));
  checkRecall(t, await scenario(t, apache.namesrvAddr, '5.3.3', 'timer-recall', { count: 4, queues: 2, extraArgs: ['--timer-delay-ms', '2500'] }));
});
