// The filter case table (test/support/filter-cases.ts) through the real Java client
// (rocketmq-client 5.3.3): DefaultMQPullConsumer with MessageSelector.bySql / byTag for every
// case, a DefaultMQPushConsumer for one SQL92 case (subscription registered by heartbeat), and a
// push consumer started with each refused selector (CHECK_CLIENT_CONFIG must refuse it). Run
// against Bolide and against Apache RocketMQ 5.3.3 (enablePropertyFilter=true), so the table's
// expectations are checked against the real thing. One test per case group and server.
//
// A refused selector carried by a pull (SUBSCRIPTION flag) is where the two differ on purpose:
// Apache 5.3.3 compiles it, fails, and then filters with no selector at all, so the pull
// delivers every message (seen with a fresh broker; sometimes SUBSCRIPTION_PARSE_FAILED
// instead). Bolide always answers SUBSCRIPTION_PARSE_FAILED. Both refuse it at consumer start.
//
// Slow (JVMs) and needs java + mvn: full tier only. Without them the tests skip, unless CI=true.
//   npx ava --tap test/compat/filters.test.ts
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { startApacheRocketMQ, type ApacheRocketMQ } from '../support/apache-rocketmq.js';
import { startBolideProcess, type BolideProcess } from '../support/bolide-process.js';
import { FILTER_CASE_GROUPS, FILTER_CASES, FILTER_MESSAGES, type FilterCase } from '../support/filter-cases.js';
import { ensureDriver, javaSkipReason, requireJava, runScenario, type ScenarioResult } from '../support/java-compat.js';

const skipReason = javaSkipReason();
if (skipReason) console.warn(`[filters] ${skipReason}`);
const jtest = skipReason ? test.skip : test;

const CLIENT = '5.3.3';
const SUBSCRIPTION_PARSE_FAILED = 23;
const PUSH_CASE = 'prec-not-parens';
const REFUSED = FILTER_CASES.filter((c) => !Array.isArray(c.expect));

const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** The driver's input file: messages, then subscriptions. */
function filterFile(): string {
  const lines = FILTER_MESSAGES.map((m) => {
    const properties = Object.entries(m.properties).map(([k, v]) => `${k}\u0001${v}\u0002`).join('');
    return ['M', m.seq, m.tag ?? '-', base64(properties)].join('\t');
  });
  for (const c of FILTER_CASES) lines.push(['Q', c.id, c.type, base64(c.expression)].join('\t'));
  return `${lines.join('\n')}\n`;
}

interface CaseResult { seqs?: number[]; errorCode?: number; error?: string }
interface TableDetails {
  results: Record<string, CaseResult>;
  push?: { id: string; seqs: number[] };
  pushBad?: Record<string, { started: boolean; errorCode?: number; error?: string }>;
}

interface Target {
  name: string;
  namesrv: () => string;
  /** Whether a pull carrying a refused selector must fail (see the top of the file). */
  pullRefusesBadSelector: boolean;
  run?: Promise<ScenarioResult<TableDetails>>;
}

let bolide: BolideProcess | undefined;
let apache: ApacheRocketMQ | undefined;
let workDir: string | undefined;

const targets: Target[] = [
  { name: 'Bolide', namesrv: () => bolide!.namesrvAddr, pullRefusesBadSelector: true },
  { name: 'Apache RocketMQ 5.3.3', namesrv: () => apache!.namesrvAddr, pullRefusesBadSelector: false },
];

test.before(async (t) => {
  t.timeout(20 * 60_000);
  if (!requireJava(t)) return;
  await ensureDriver(CLIENT);
  workDir = await mkdtemp(path.join(tmpdir(), 'bolide-filters-'));
  await writeFile(path.join(workDir, 'filters.txt'), filterFile());
  [bolide, apache] = await Promise.all([
    startBolideProcess(['--enablePropertyFilter=true']),
    startApacheRocketMQ({ brokerConfig: { enablePropertyFilter: true } }),
  ]);
  t.log(`Bolide ${bolide.namesrvAddr}; Apache ${apache.namesrvAddr}`);
});

test.after.always(async () => {
  await Promise.all([bolide?.stop(), apache?.stop()]);
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
});

// One driver JVM at a time: the machine has 2 cores and both servers are running.
let previousRun: Promise<unknown> = Promise.resolve();

/** The driver run against a target, once (shared by that target's tests). */
function tableRun(target: Target): Promise<ScenarioResult<TableDetails>> {
  const pushExpect = FILTER_CASES.find((c) => c.id === PUSH_CASE)!.expect as number[];
  target.run ??= previousRun.catch(() => undefined).then(() => runScenario<TableDetails>(CLIENT, target.namesrv(), 'filter-table', {
    queues: 1, driverTimeoutMs: 180_000,
    extraArgs: [
      '--filter-file', path.join(workDir!, 'filters.txt'), '--push-case', PUSH_CASE,
      '--push-expect', String(pushExpect.length), '--push-bad-cases', REFUSED.map((c) => c.id).join(','),
    ],
  }));
  previousRun = target.run;
  return target.run;
}

function describeCase(c: FilterCase): string {
  return `${c.id} [${c.type}] ${JSON.stringify(c.expression)}`;
}

for (const target of targets) {
  for (const group of FILTER_CASE_GROUPS) {
    jtest(`Java ${CLIENT} pull consumer against ${target.name}: ${group.name}`, async (t) => {
      t.timeout(6 * 60_000);
      const run = await tableRun(target);
      t.true(run.ok, `driver: ${run.error ?? ''}\n${run.stderrTail}`);
      for (const c of group.cases) {
        const got = run.details.results[c.id];
        if (Array.isArray(c.expect)) {
          t.deepEqual(got, { seqs: c.expect }, describeCase(c));
        } else {
          const atStart = run.details.pushBad?.[c.id];
          t.like(atStart, { started: false, errorCode: SUBSCRIPTION_PARSE_FAILED }, `push start: ${describeCase(c)}`);
          if (target.pullRefusesBadSelector) {
            t.is(got?.errorCode, SUBSCRIPTION_PARSE_FAILED, `pull: ${describeCase(c)}: ${JSON.stringify(got)}`);
          }
        }
      }
    });
  }

  jtest(`Java ${CLIENT} push consumer against ${target.name}: bySql through a registered subscription delivers the same messages`, async (t) => {
    t.timeout(6 * 60_000);
    const run = await tableRun(target);
    t.true(run.ok, `driver: ${run.error ?? ''}`);
    t.deepEqual(run.details.push, { id: PUSH_CASE, seqs: FILTER_CASES.find((c) => c.id === PUSH_CASE)!.expect });
  });
}
