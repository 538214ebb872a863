// A Bolide broker killed with SIGKILL in the middle of transaction checks and started again on
// its store: the Java TransactionMQProducer's unknown transactions are still checked to their end
// and each is stored once. The broker runs as a child process (test/support/start-bolide.ts, broker only) at
// a fixed address; the name server runs here. Needs java + mvn (skips without, unless CI=true).
//   npx ava test/compat/transactions-crash.test.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { silentLogger } from '../../ts/common/index.js';
import { NameServer } from '../../ts/namesrv/index.js';
import { RequestCode, ResponseCode, makeRequest } from '../../ts/protocol/index.js';
import { RemotingClient } from '../../ts/remoting/index.js';
import { freePortPair, startBrokerProcess, type BrokerProcess } from '../support/broker-process.js';
import { ensureDriver, javaSkipReason, requireJava, runScenario } from '../support/java-compat.js';

const skipReason = javaSkipReason();
if (skipReason) console.warn(`[transactions-crash] ${skipReason}`);
const jtest = skipReason ? test.serial.skip : test.serial;
const CLIENT = '5.3.3';

const workDir = mkdtempSync(join(tmpdir(), 'bolide-tx-crash-'));
let namesrv: NameServer | undefined;
let broker: BrokerProcess | undefined;
const client = new RemotingClient({ logger: silentLogger });

test.after.always(async () => {
  await broker?.stop();
  await client.close();
  await namesrv?.stop();
  if (process.env['BOLIDE_KEEP_WORKDIR'] !== '1') rmSync(workDir, { recursive: true, force: true });
});

/** The half queue's max offset: every check appends a copy of its half message. */
async function halfQueueSize(brokerAddr: string): Promise<number> {
  try {
    const response = await client.invoke(brokerAddr, makeRequest(RequestCode.GET_MAX_OFFSET, {
      extFields: { topic: 'RMQ_SYS_TRANS_HALF_TOPIC', queueId: '0' },
    }), 2000);
    return response.code === ResponseCode.SUCCESS ? Number(response.extFields['offset']) : 0;
  } catch {
    return 0;
  }
}

jtest('a broker killed in the middle of checks and restarted on its store: every transaction ends once', async (t) => {
  t.timeout(6 * 60_000);
  if (!requireJava(t)) return;
  await ensureDriver(CLIENT);
  namesrv = new NameServer({ logger: silentLogger });
  const { port } = await namesrv.start({ host: '127.0.0.1', port: 0 });
  const args = [
    `--storePathRootDir=${join(workDir, 'store')}`, `--namesrvAddr=127.0.0.1:${port}`, `--listenPort=${await freePortPair()}`,
    '--transactionCheckInterval=1000', '--transactionTimeOut=1000', '--transactionCheckMax=100',
  ];
  const logFile = join(workDir, 'broker.log');
  broker = await startBrokerProcess(args, logFile);
  const brokerAddr = broker.brokerAddr;
  const count = 3;
  const running = runScenario(CLIENT, `127.0.0.1:${port}`, 'transaction-check-commit', {
    topic: `TxKill-${Date.now().toString(36)}`, count, queues: 2, extraArgs: ['--unknown-checks', '3'],
    driverTimeoutMs: 150_000,
  });
  let killedAt = -1;
  const killAndRestart = (async () => {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const size = await halfQueueSize(brokerAddr);
      // count halves plus one copy per check: every message has been checked at least once.
      if (size >= 2 * count) {
        killedAt = size;
        await broker!.kill();
        broker = await startBrokerProcess(args, logFile);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const [result] = await Promise.all([running, killAndRestart]);
  t.log(`killed with ${killedAt} half messages and copies; scenario ${result.ok ? 'ok' : `FAILED: ${result.error}`}`);
  if (!result.ok) t.log(`driver stderr (logs kept in ${result.logDir}; broker log ${logFile}):\n${result.stderrTail}`);
  t.true(killedAt >= 2 * count, 'the broker was killed while the checks ran');
  t.is(broker.brokerAddr, brokerAddr, 'restarted at the same address');
  t.true(result.ok, result.error ?? '');
  t.is(result.details['storedInTopic'], count);
  const checks = Object.values(result.details['checks'] as Record<string, number>);
  t.is(checks.length, count);
  t.true(checks.every((n) => n >= 4), `every message was checked until its COMMIT answer: ${JSON.stringify(checks)}`);
});
