// The "broker under test" of the SDK integration tests, started per test file. The same tests
// run against a real Apache RocketMQ 5.3.3 (the SDK speaks its protocol) and against Bolide:
//
//   BOLIDE_SDK_TARGET=apache    (default) start Apache RocketMQ (NameServer + broker) from Maven jars
//   BOLIDE_SDK_TARGET=bolide    start a Bolide NameServer + broker child process (test/support/bolide-process.ts)
//   BOLIDE_SDK_TARGET=external  use BOLIDE_SDK_NAMESRV=host:port (a running cluster)
//
// test/integration/sdk/against-bolide/*.test.ts re-run every SDK test file with the bolide target.
//
// Tests only see { namesrvAddr, brokerAddr, brokerName, stop } and never assume Apache.
import type { ExecutionContext } from 'ava';
import { startApacheRocketMQ } from '../../support/apache-rocketmq.js';
import { startBolideProcess } from '../../support/bolide-process.js';
import { javaSkipReason, requireJava } from '../../support/java-compat.js';
import { Admin, silentLogger } from '../../../ts/sdk/index.js';

export interface BrokerUnderTest {
  kind: 'apache' | 'bolide' | 'external';
  namesrvAddr: string;
  /** Address of a master broker, when known (external targets may leave it empty). */
  brokerAddr: string;
  brokerName: string;
  stop(): Promise<void>;
}

function target(): BrokerUnderTest['kind'] {
  const value = process.env['BOLIDE_SDK_TARGET'] ?? 'apache';
  if (value === 'apache' || value === 'bolide' || value === 'external') return value;
  throw new Error(`BOLIDE_SDK_TARGET must be apache, bolide or external, not ${JSON.stringify(value)}`);
}

/** Whether the target delivers RocketMQ 5 timer messages (TIMER_DELIVER_MS): both servers do. */
export function timersSupported(): boolean {
  return true;
}

/** Reason to skip the suite at registration time (Apache target without java/mvn, not CI). */
export function brokerSkipReason(): string | null {
  return target() === 'apache' ? javaSkipReason() : null;
}

/**
 * Starts (or connects to) the broker under test. Inside a before hook; under CI=true a missing
 * Java fails the hook. Returns undefined when the suite must be skipped. `brokerConfig` are
 * broker.conf entries for the Apache or Bolide broker (an external cluster must be started with them).
 */
export async function startBrokerUnderTest(t: ExecutionContext,
  brokerConfig: Record<string, string | number | boolean> = {}): Promise<BrokerUnderTest | undefined> {
  if (target() === 'external') {
    const namesrvAddr = process.env['BOLIDE_SDK_NAMESRV'];
    if (namesrvAddr === undefined) throw new Error('BOLIDE_SDK_TARGET=external needs BOLIDE_SDK_NAMESRV');
    return {
      kind: 'external', namesrvAddr, brokerAddr: process.env['BOLIDE_SDK_BROKER'] ?? '',
      brokerName: process.env['BOLIDE_SDK_BROKER_NAME'] ?? 'broker-a', stop: async () => undefined,
    };
  }
  if (target() === 'bolide') {
    const bolide = await startBolideProcess(['--enablePropertyFilter=true',
      ...Object.entries(brokerConfig).map(([key, value]) => `--${key}=${String(value)}`)]);
    t.log(`Bolide NameServer ${bolide.namesrvAddr}, broker ${bolide.brokerAddr} (pid ${bolide.pid}, up in ${bolide.startupMs} ms)`);
    return { kind: 'bolide', namesrvAddr: bolide.namesrvAddr, brokerAddr: bolide.brokerAddr, brokerName: bolide.brokerName, stop: () => bolide.stop() };
  }
  if (!requireJava(t)) return undefined;
  const apache = await startApacheRocketMQ({ brokerConfig, jvmArgs: ['-Xms128m', '-Xmx384m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'] });
  return {
    kind: 'apache', namesrvAddr: apache.namesrvAddr, brokerAddr: apache.brokerAddr, brokerName: apache.brokerName,
    stop: () => apache.stop(),
  };
}

/** A unique name for a topic or group of one test. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
  return check();
}


/** Creates a topic with `queueNums` queues on every broker and waits until it is routed. */
export async function createTopic(namesrvAddr: string, topic: string, queueNums = 4): Promise<void> {
  const admin = new Admin({ namesrvAddr, logger: silentLogger });
  await admin.start();
  try {
    await admin.createTopic(topic, { queueNums });
    const deadline = Date.now() + 15_000;
    for (;;) {
      const route = await admin.waitForRoute(topic, 15_000);
      if (route.queueDatas.every((data) => data.writeQueueNums === queueNums) || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await admin.shutdown();
  }
}

/** The SDK logger for tests: silent unless BOLIDE_SDK_TEST_LOG=1. */
export const testLogger = process.env['BOLIDE_SDK_TEST_LOG'] === '1' ? undefined : silentLogger;
