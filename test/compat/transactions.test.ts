// Transactional messages with the real Java TransactionMQProducer against Bolide: commit,
// rollback, unknown -> check-back commits, a producer process that dies inside a local
// transaction (its half messages are checked with another live producer of the group, in a
// second JVM), and a broker restarted in the middle of checks.
//
// The broker runs in this process on a fixed port (so a restarted broker is found at the same
// address) and checks every second. Slow (JVMs) and needs java + mvn; without them the tests
// skip, unless CI=true.
//   npx ava test/compat/transactions.test.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { BrokerController, type BrokerOptions } from '../../ts/broker/index.js';
import { silentLogger } from '../../ts/common/index.js';
import { NameServer } from '../../ts/namesrv/index.js';
import { decodeStoredMessage } from '../../ts/protocol/index.js';
import { SMALL_STORE } from '../support/broker.js';
import {
  ensureDriver, javaSkipReason, requireJava, runScenario, type ScenarioName, type ScenarioOptions, type ScenarioResult,
} from '../support/java-compat.js';

const skipReason = javaSkipReason();
if (skipReason) console.warn(`[transactions] ${skipReason}`);
const jtest = skipReason ? test.serial.skip : test.serial;
const CLIENT = '5.3.3';
const HALF = 'RMQ_SYS_TRANS_HALF_TOPIC';

let namesrv: NameServer | undefined;
let namesrvAddr = '';
let broker: BrokerController | undefined;
let brokerOptions: BrokerOptions = {};
const storeDir = mkdtempSync(join(tmpdir(), 'bolide-tx-compat-'));

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port p with p − 2 (the VIP port) free too. */
async function freePortPair(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (await canBind(port) && await canBind(port - 2)) return port;
  }
}

async function startBroker(): Promise<BrokerController> {
  const started = new BrokerController(brokerOptions);
  await started.start();
  return started;
}

test.before(async (t) => {
  t.timeout(20 * 60_000);
  if (!requireJava(t)) return;
  const build = await ensureDriver(CLIENT);
  t.log(`driver for rocketmq-client ${CLIENT}: ${build.built ? `built in ${(build.buildMs / 1000).toFixed(1)} s` : 'cached'}`);
  namesrv = new NameServer({ logger: silentLogger });
  const { port } = await namesrv.start({ host: '127.0.0.1', port: 0 });
  namesrvAddr = `127.0.0.1:${port}`;
  brokerOptions = {
    ...SMALL_STORE, logger: silentLogger, listenHost: '127.0.0.1', brokerIP1: '127.0.0.1', listenPort: await freePortPair(),
    namesrvAddr: [namesrvAddr], storePathRootDir: storeDir,
    // Check every second, halves older than a second; a crashed producer's halves must survive
    // the checks made before the second producer is up, so allow many.
    transactionCheckInterval: 1000, transactionTimeOut: 1000, transactionCheckMax: 100,
  };
  broker = await startBroker();
});

test.after.always(async () => {
  await broker?.shutdown();
  await namesrv?.stop();
  rmSync(storeDir, { recursive: true, force: true });
});

async function scenario(t: ExecutionContext, name: ScenarioName, options: ScenarioOptions = {}): Promise<ScenarioResult> {
  const result = await runScenario(CLIENT, namesrvAddr, name, options);
  t.log(`${name}: ${result.ok ? 'ok' : 'FAILED'} in ${(result.durationMs / 1000).toFixed(1)} s${result.ok ? '' : ` — ${result.error}`}`);
  if (!result.ok) t.log(`driver stderr (logs kept in ${result.logDir}):\n${result.stderrTail}`);
  return result;
}

/** Distinct messages of `topic` with at least one check copy in the half queue. */
function checkedHalves(controller: BrokerController, topic: string): number {
  const store = controller.store;
  const ids = new Set<string>();
  for (let offset = store.minOffset(HALF, 0); offset < store.maxOffset(HALF, 0);) {
    const result = store.getMessages(HALF, 0, offset, 64, 16 * 1024 * 1024);
    if (result.status !== 'FOUND') break;
    for (const record of store.messageBuffers(result)) {
      const { message } = decodeStoredMessage(record);
      if (message.properties['REAL_TOPIC'] === topic && message.properties['TRANSACTION_CHECK_TIMES'] !== undefined) {
        ids.add(message.properties['UNIQ_KEY'] ?? '');
      }
    }
    offset = result.nextBeginOffset;
  }
  return ids.size;
}

function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

jtest('TransactionMQProducer: committed local transactions are delivered once each, unchanged', async (t) => {
  if (!requireJava(t)) return;
  const result = await scenario(t, 'transaction-commit', { topic: unique('TxCommit'), count: 20, queues: 4 });
  t.true(result.ok, result.error ?? '');
  t.is(result.details['storedInTopic'], 20);
});

jtest('TransactionMQProducer: rolled-back local transactions are never delivered', async (t) => {
  if (!requireJava(t)) return;
  const result = await scenario(t, 'transaction-rollback', { topic: unique('TxRollback'), count: 10, queues: 1 });
  t.true(result.ok, result.error ?? '');
  t.deepEqual(result.details['receivedSeqs'], [10]);
});

jtest('TransactionMQProducer: unknown local transactions are checked back and committed once', async (t) => {
  if (!requireJava(t)) return;
  const result = await scenario(t, 'transaction-check-commit', { topic: unique('TxCheck'), count: 5, queues: 2 });
  t.true(result.ok, result.error ?? '');
  t.is(result.details['storedInTopic'], 5);
});

jtest('a producer killed inside a local transaction: another live producer of the group answers the checks', async (t) => {
  if (!requireJava(t)) return;
  const shared = { topic: unique('TxCrash'), producerGroup: unique('tx-crash-pg'), run: unique('run'), count: 5, queues: 2 };
  const crashed = await scenario(t, 'transaction-crash', shared);
  t.true(crashed.ok, crashed.error ?? '');
  t.is(crashed.exitCode, 0);
  t.regex(String(crashed.details['crashed']), /inside the local transaction of seq 4/);
  t.is((crashed.details['messages'] as unknown[]).length, 5);
  const checker = await scenario(t, 'transaction-checker', { ...shared, group: unique('tx-crash-reader') });
  t.true(checker.ok, checker.error ?? '');
  t.is(checker.details['checkedMessages'], 5);
  t.is(checker.details['storedInTopic'], 5);
});

jtest('a broker restarted in the middle of checks: every transaction is still checked to its end and stored once', async (t) => {
  if (!requireJava(t)) return;
  const count = 3;
  const topic = unique('TxRestart');
  const running = scenario(t, 'transaction-check-commit', {
    topic, count, queues: 2, extraArgs: ['--unknown-checks', '3'], driverTimeoutMs: 120_000,
  });
  // Each check appends a copy of its half message carrying TRANSACTION_CHECK_TIMES: once every
  // message of this topic has been checked at least once, the checks are under way.
  let restarted = false;
  const restart = (async () => {
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      if (checkedHalves(broker!, topic) >= count) {
        await broker!.shutdown();
        broker = await startBroker();
        restarted = true;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const [result] = await Promise.all([running, restart]);
  t.true(restarted, 'the checks started, and the broker was restarted while they ran');
  t.true(result.ok, result.error ?? '');
  t.is(result.details['storedInTopic'], count);
  const checks = Object.values(result.details['checks'] as Record<string, number>);
  t.is(checks.length, count);
  t.true(checks.every((n) => n >= 4), `every message was checked until its COMMIT answer: ${JSON.stringify(checks)}`);
});
