// The transaction scenarios of transactions.test.ts against Apache RocketMQ 5.3.3 itself, so the
// scenarios (not only Bolide) are known to be right: commit, rollback, check-back, and a producer
// killed inside a local transaction whose halves are checked with another producer of the group.
// The broker restart case is Bolide's only (it needs the broker in this process).
//
// transactionTimeOut stays at Apache's 6 s here: Apache writes op records in batches (every
// transactionOpBatchInterval, 3 s), so with a shorter timeout its checker asks about halves that
// were already committed, and a COMMIT answer stores them a second time (seen: 30 messages for 20
// transactions). Bolide writes the op record with the commit and stores a commit once (its suite
// runs with a 1 s timeout).
//   npx ava test/compat/transactions-apache.test.ts
import test, { type ExecutionContext } from 'ava';
import { startApacheRocketMQ, type ApacheRocketMQ } from '../support/apache-rocketmq.js';
import {
  ensureDriver, javaSkipReason, requireJava, runScenario, type ScenarioName, type ScenarioOptions, type ScenarioResult,
} from '../support/java-compat.js';

const skipReason = javaSkipReason();
if (skipReason) console.warn(`[transactions-apache] ${skipReason}`);
const jtest = skipReason ? test.serial.skip : test.serial;
const CLIENT = '5.3.3';
let apache: ApacheRocketMQ | undefined;

test.before(async (t) => {
  t.timeout(20 * 60_000);
  if (!requireJava(t)) return;
  await ensureDriver(CLIENT);
  apache = await startApacheRocketMQ({
    // transactionOpBatchInterval: Apache writes op records every 3 s by default, and a checker
    // that runs in between asks again about a half it was already told to commit (stored twice).
    brokerConfig: { transactionCheckInterval: 1000, transactionTimeOut: 6000, transactionCheckMax: 100, transactionOpBatchInterval: 200 },
    jvmArgs: ['-Xms128m', '-Xmx384m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'],
  });
});

test.after.always(async () => {
  await apache?.stop();
});

async function scenario(t: ExecutionContext, name: ScenarioName, options: ScenarioOptions = {}): Promise<ScenarioResult> {
  if (apache === undefined) throw new Error('Apache RocketMQ did not start (see the before hook)');
  const result = await runScenario(CLIENT, apache.namesrvAddr, name, options);
  t.log(`${name}: ${result.ok ? 'ok' : 'FAILED'} in ${(result.durationMs / 1000).toFixed(1)} s${result.ok ? '' : ` — ${result.error}`}`);
  if (!result.ok) t.log(`driver stderr (logs kept in ${result.logDir}):\n${result.stderrTail}`);
  return result;
}

function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

jtest('Apache: committed local transactions are delivered once each', async (t) => {
  t.timeout(5 * 60_000);
  if (!requireJava(t)) return;
  const result = await scenario(t, 'transaction-commit', { topic: unique('TxCommit'), count: 20, queues: 4 });
  t.true(result.ok, result.error ?? '');
});

jtest('Apache: rolled-back local transactions are never delivered', async (t) => {
  t.timeout(5 * 60_000);
  if (!requireJava(t)) return;
  const result = await scenario(t, 'transaction-rollback', { topic: unique('TxRollback'), count: 10, queues: 1 });
  t.true(result.ok, result.error ?? '');
});

jtest('Apache: unknown local transactions are checked back and committed once', async (t) => {
  t.timeout(5 * 60_000);
  if (!requireJava(t)) return;
  const result = await scenario(t, 'transaction-check-commit', {
    topic: unique('TxCheck'), count: 5, queues: 2, extraArgs: ['--unknown-checks', '1'],
  });
  t.true(result.ok, result.error ?? '');
});

jtest('Apache: a producer killed inside a local transaction is replaced by another producer of the group', async (t) => {
  t.timeout(5 * 60_000);
  if (!requireJava(t)) return;
  const shared = { topic: unique('TxCrash'), producerGroup: unique('tx-crash-pg'), run: unique('run'), count: 5, queues: 2 };
  const crashed = await scenario(t, 'transaction-crash', shared);
  t.true(crashed.ok, crashed.error ?? '');
  const checker = await scenario(t, 'transaction-checker', { ...shared, group: unique('tx-crash-reader') });
  t.true(checker.ok, checker.error ?? '');
  t.is(checker.details['checkedMessages'], 5);
});
