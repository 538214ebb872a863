// A real Apache RocketMQ NameServer + broker, run from the Maven Central jars, as the reference the compat
// harness is validated against. ensureApacheRocketMQ() resolves rocketmq-namesrv and rocketmq-broker (with all
// dependencies) into .test-cache/apache-rocketmq-<version>/lib once; startApacheRocketMQ() runs both as child
// processes on free loopback ports with their state in a fresh temp directory, and stop() removes it again.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { assertJavaTools, repoRoot, runCommand, tail, testCacheDir, withCacheLock } from './java-compat.js';

export const APACHE_ROCKETMQ_VERSION = '5.3.3';

export interface ApacheRocketMQOptions {
  /** Installation directory holding lib/ (default .test-cache/apache-rocketmq-<version>); filled if empty. */
  dir?: string;
  version?: string;
  /** Per-instance state (conf, store, logs): default a new temp dir, removed by stop(). */
  workDir?: string;
  /** Extra or overriding broker.conf entries. */
  brokerConfig?: Record<string, string | number | boolean>;
  /** JVM options for each of the two processes (default -Xms256m -Xmx512m). */
  jvmArgs?: string[];
  /** Until the broker is registered in the name server (default 120 s). */
  startTimeoutMs?: number;
  /** Keep workDir after stop() (also BOLIDE_KEEP_APACHE=1). */
  keepWorkDir?: boolean;
}

export interface ApacheRocketMQ {
  namesrvAddr: string;
  brokerAddr: string;
  brokerName: string;
  clusterName: string;
  version: string;
  workDir: string;
  /** Where namesrv.out / broker.out and the servers' own logs (home/logs/rocketmqlogs) are. */
  logDir: string;
  startupMs: number;
  /** From spawning the broker JVM until it printed "boot success" (polled every 200 ms). */
  brokerBootMs: number;
  /** The broker JVM's pid. */
  brokerPid: number;
  stop(): Promise<void>;
}

const DEFAULT_JVM_ARGS = ['-Xms256m', '-Xmx512m', '-XX:+UseG1GC'];

function libDir(dir: string): string {
  return path.join(dir, 'lib');
}

function hasJars(dir: string, version: string): boolean {
  try {
    const jars = readdirSync(libDir(dir));
    return jars.includes(`rocketmq-broker-${version}.jar`) && jars.includes(`rocketmq-namesrv-${version}.jar`);
  } catch {
    return false;
  }
}

/** Resolves namesrv + broker jars into <dir>/lib with Maven (once; cached). Returns the lib directory. */
export async function ensureApacheRocketMQ(
  version = APACHE_ROCKETMQ_VERSION,
  dir = path.join(testCacheDir, `apache-rocketmq-${version}`),
): Promise<string> {
  assertJavaTools();
  if (hasJars(dir, version)) return libDir(dir);
  return withCacheLock('maven', async () => {
    if (hasJars(dir, version)) return libDir(dir);
    await rm(libDir(dir), { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const logFile = path.join(dir, 'fetch.log');
    const result = await runCommand(
      'mvn',
      [
        '-B',
        '-q',
        '-Dstyle.color=never',
        '-f',
        path.join(repoRoot, 'test', 'compat', 'apache', 'pom.xml'),
        `-Drocketmq.version=${version}`,
        'dependency:copy-dependencies',
        `-DoutputDirectory=${libDir(dir)}`,
      ],
      { logFile, timeoutMs: 20 * 60_000 },
    );
    if (result.code !== 0 || !hasJars(dir, version)) {
      throw new Error(`fetching Apache RocketMQ ${version} failed (log ${logFile}):\n${tail(result.output)}`);
    }
    return libDir(dir);
  });
}

// ------------------------------------------------------------------------------------------------ ports

const handedOut = new Set<number>();

function portFree(port: number): Promise<boolean> {
  // Java binds the wildcard address, so probe the wildcard (dual-stack) too.
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A base port P such that every P+offset is free; drawn below the kernel's ephemeral range. */
async function freePorts(offsets: number[]): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    const ports = offsets.map((o) => base + o);
    if (ports.some((p) => handedOut.has(p))) continue;
    let ok = true;
    for (const p of ports) {
      if (!(await portFree(p))) {
        ok = false;
        break;
      }
    }
    if (ok) {
      for (const p of ports) handedOut.add(p);
      return base;
    }
  }
  throw new Error('no free loopback ports found');
}

// ------------------------------------------------------------------------------------------------ namesrv probe

/**
 * GET_BROKER_CLUSTER_INFO (code 106) against a name server over the remoting protocol (JSON header). Resolves
 * to the response body text, or null on any error. Enough to see whether a broker address is registered.
 */
export function brokerClusterInfo(namesrvAddr: string, timeoutMs = 3000): Promise<string | null> {
  const [host, portText] = namesrvAddr.split(':');
  return new Promise((resolve) => {
    const socket = net.connect({ host: host ?? '127.0.0.1', port: Number(portText) });
    let buffer = Buffer.alloc(0);
    const finish = (value: string | null) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(timeoutMs, () => finish(null));
    socket.on('error', () => finish(null));
    socket.on('connect', () => {
      const header = Buffer.from(
        JSON.stringify({ code: 106, language: 'JAVA', version: 479, opaque: 1, flag: 0, extFields: {} }),
      );
      const frame = Buffer.alloc(8);
      frame.writeInt32BE(4 + header.length, 0);
      frame.writeInt32BE(header.length & 0xffffff, 4); // serialize type 0 = JSON
      socket.write(Buffer.concat([frame, header]));
    });
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length < 4) return;
      const length = buffer.readInt32BE(0);
      if (buffer.length < 4 + length) return;
      const headerLength = buffer.readInt32BE(4) & 0xffffff;
      const type = buffer.readUInt8(4);
      if (type !== 0) return finish(null); // a binary header: not expected for a JSON request to Apache
      const header = JSON.parse(buffer.subarray(8, 8 + headerLength).toString('utf8')) as { code: number };
      if (header.code !== 0) return finish(null);
      finish(buffer.subarray(8 + headerLength, 4 + length).toString('utf8'));
    });
  });
}

// ------------------------------------------------------------------------------------------------ processes

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // If the test process dies without calling stop(), do not leave JVMs behind.
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

interface Started {
  child: ChildProcess;
  guard: ChildProcess | undefined;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * A detached watcher that SIGKILLs the JVM once this Node process is gone, however it died (an ava worker killed
 * on timeout runs no exit hooks). It re-checks that the pid still runs with our work dir on its command line
 * before killing, and stop() ends the watcher first, so it can never hit an unrelated process.
 */
function guard(child: ChildProcess, marker: string): ChildProcess | undefined {
  if (!child.pid || process.platform !== 'linux') return undefined;
  const script =
    `while kill -0 ${process.pid} 2>/dev/null; do sleep 2; done; ` +
    `grep -aq -- "$1" /proc/${child.pid}/cmdline 2>/dev/null && kill -9 ${child.pid}`;
  const watcher = spawn('sh', ['-c', script, 'guard', marker], { detached: true, stdio: 'ignore' });
  watcher.unref();
  return watcher;
}

function startJava(name: string, args: string[], cwd: string, logFile: string): Started {
  const child = spawn('java', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  installExitHook();
  const watcher = guard(child, cwd);
  const log = createWriteStream(logFile);
  let recent = '';
  const onData = (chunk: Buffer) => {
    log.write(chunk);
    recent = (recent + chunk.toString('utf8')).slice(-64_000);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', (e) => {
      recent += `\n[${name}] ${String(e)}`;
      live.delete(child);
      resolve(null);
    });
    child.on('exit', (code) => {
      live.delete(child);
      log.end();
      resolve(code);
    });
  });
  return { child, guard: watcher, output: () => recent, exited };
}

async function stopJava(p: Started | undefined, graceMs = 10_000): Promise<void> {
  if (!p) return;
  p.guard?.kill('SIGKILL');
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM'); // both servers have shutdown hooks (unregister, flush)
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(timer);
}

async function waitFor(what: string, p: Started, check: () => Promise<boolean> | boolean, deadline: number) {
  for (;;) {
    if (await check()) return;
    if (p.child.exitCode !== null || p.child.signalCode !== null) {
      throw new Error(`${what}: process exited (${p.child.exitCode ?? p.child.signalCode})\n${tail(p.output())}`);
    }
    if (Date.now() > deadline) throw new Error(`${what}: timed out\n${tail(p.output())}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function properties(entries: Record<string, string | number | boolean>): string {
  return `${Object.entries(entries)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join('\n')}\n`;
}

/**
 * Starts an Apache RocketMQ name server and one master broker (brokerIP1 127.0.0.1, autoCreateTopicEnable,
 * store in the work dir, small heaps) and resolves once the broker is registered in the name server.
 */
export async function startApacheRocketMQ(options: ApacheRocketMQOptions = {}): Promise<ApacheRocketMQ> {
  const version = options.version ?? APACHE_ROCKETMQ_VERSION;
  const lib = await ensureApacheRocketMQ(version, options.dir);
  let lastError: unknown;
  // A port taken between the probe and the JVM's bind (other engineers' processes) is retried with new ports.
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await startOnce(version, lib, options);
    } catch (error) {
      lastError = error;
      if (!/Address already in use|BindException/i.test(String(error))) break;
    }
  }
  throw lastError;
}

async function startOnce(version: string, lib: string, options: ApacheRocketMQOptions): Promise<ApacheRocketMQ> {
  const started = Date.now();
  const deadline = started + (options.startTimeoutMs ?? 120_000);
  const workDir = options.workDir ?? (await mkdtemp(path.join(tmpdir(), 'bolide-apache-rocketmq-')));
  const home = path.join(workDir, 'home');
  const store = path.join(workDir, 'store');
  await mkdir(home, { recursive: true });
  await mkdir(store, { recursive: true });

  const namesrvPort = await freePorts([0]);
  const brokerBase = await freePorts([-2, 0, 1]); // fast (VIP) port L-2, listen port L, HA port L+1
  const namesrvAddr = `127.0.0.1:${namesrvPort}`;
  const brokerAddr = `127.0.0.1:${brokerBase}`;
  const brokerName = 'broker-a';
  const clusterName = 'DefaultCluster';

  await writeFile(path.join(workDir, 'namesrv.conf'), properties({ listenPort: namesrvPort }));
  await writeFile(
    path.join(workDir, 'broker.conf'),
    properties({
      brokerClusterName: clusterName,
      brokerName,
      brokerId: 0,
      brokerRole: 'ASYNC_MASTER',
      flushDiskType: 'ASYNC_FLUSH',
      namesrvAddr,
      brokerIP1: '127.0.0.1',
      listenPort: brokerBase,
      haListenPort: brokerBase + 1,
      storePathRootDir: store,
      storePathCommitLog: path.join(store, 'commitlog'),
      autoCreateTopicEnable: true,
      autoCreateSubscriptionGroup: true,
      // A shared disk: never refuse writes or clean early because other people's files fill it.
      diskMaxUsedSpaceRatio: 95, // the broker clamps this to at most 95
      diskSpaceWarningLevelRatio: 98,
      diskSpaceCleanForciblyRatio: 97,
      // Small files: tests write little, and sparse 1 GiB commit log files still count against quotas.
      mappedFileSizeCommitLog: 64 * 1024 * 1024,
      // A loaded CI machine: Apache drops requests that waited over 200 ms in its send queue
      // (SYSTEM_BUSY), which a oneway sender never learns about. Let them wait instead.
      waitTimeMillsInSendQueue: 3000,
      // RECALL_MESSAGE is off by default in Apache 5.3 (on in Bolide): the suites test it on both.
      recallMessageEnable: true,
      ...options.brokerConfig,
    }),
  );

  const jvm = [
    ...(options.jvmArgs ?? DEFAULT_JVM_ARGS),
    `-Drocketmq.home.dir=${home}`,
    `-Duser.home=${home}`,
    '-Drocketmq.broker.diskSpaceWarningLevelRatio=0.98',
    '-Drocketmq.broker.diskSpaceCleanForciblyRatio=0.97',
    '-cp',
    path.join(lib, '*'),
  ];
  let namesrv: Started | undefined;
  let broker: Started | undefined;
  let brokerSpawned = 0;
  let brokerBootMs = NaN;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stopJava(broker);
    await stopJava(namesrv);
    for (const p of [namesrvPort, brokerBase - 2, brokerBase, brokerBase + 1]) handedOut.delete(p);
    if (!options.keepWorkDir && !process.env.BOLIDE_KEEP_APACHE && !options.workDir) {
      await rm(workDir, { recursive: true, force: true });
    }
  };
  try {
    namesrv = startJava(
      'namesrv',
      [...jvm, 'org.apache.rocketmq.namesrv.NamesrvStartup', '-c', path.join(workDir, 'namesrv.conf')],
      workDir,
      path.join(workDir, 'namesrv.out'),
    );
    await waitFor('Apache RocketMQ name server', namesrv, () => /boot success/.test(namesrv!.output()), deadline);
    brokerSpawned = Date.now();
    broker = startJava(
      'broker',
      [...jvm, 'org.apache.rocketmq.broker.BrokerStartup', '-c', path.join(workDir, 'broker.conf')],
      workDir,
      path.join(workDir, 'broker.out'),
    );
    await waitFor('Apache RocketMQ broker', broker, () => /boot success/.test(broker!.output()), deadline);
    brokerBootMs = Date.now() - brokerSpawned;
    await waitFor(
      `broker ${brokerAddr} registered in name server ${namesrvAddr}`,
      broker,
      async () => (await brokerClusterInfo(namesrvAddr))?.includes(brokerAddr) ?? false,
      deadline,
    );
  } catch (error) {
    const logs = await Promise.all(
      ['namesrv.out', 'broker.out'].map(async (f) => {
        const file = path.join(workDir, f);
        return existsSync(file) ? `--- ${f}\n${tail(await readFile(file, 'utf8'), 3000)}` : '';
      }),
    );
    await stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${logs.join('\n')}`);
  }
  return {
    namesrvAddr,
    brokerAddr,
    brokerName,
    clusterName,
    version,
    workDir,
    logDir: workDir,
    startupMs: Date.now() - started,
    brokerBootMs,
    brokerPid: broker.child.pid ?? -1,
    stop,
  };
}
