// End-to-end benchmark: a Bolide NameServer + broker (child process, loopback) beside Apache RocketMQ's own
// NameServer + broker, driven the same way in the same run; every figure is printed beside Apache's as a
// ratio Bolide/Apache. Figures, not pass/fail.
//
//   npm run bench:e2e        (about 8 minutes; needs java + mvn; writes ~3.5 GiB under $BENCH_DIR or /tmp)
//
// 1. Apache's benchmark tools (org.apache.rocketmq.example.benchmark.Producer / Consumer, binary headers) for
//    each flush mode x body size: consumer started first, producer bounded by -q and by a time limit.
// 2. A Node driver (RemotingClient, SEND_MESSAGE_V2, binary headers, pipelined over a few connections) for
//    send latency percentiles, which Apache's tools do not print.
// 3. Broker memory (/proc/<pid>/status) sampled under that load.
// 4. Bolide start-up: empty store, a multi-GiB store after a clean shutdown, and after SIGKILL mid-write.
// Sizes: see bench/README.md (BENCH_* environment variables).
import { BROKER_NODE_FLAGS } from '../../ts/cli/node-flags.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../ts/common/index.js';
import {
  CreateTopicRequestHeader, RequestCode, SerializeType, createUniqIdGenerator, encodeHeader, encodeProperties,
  encodeSendMessageHeader, makeRequest,
} from '../../ts/protocol/index.js';
import { RemotingClient } from '../../ts/remoting/index.js';
import { APACHE_ROCKETMQ_VERSION, startApacheRocketMQ } from '../../test/support/apache-rocketmq.js';
import { repoRoot, tail } from '../../test/support/java-compat.js';
import { terminateChild } from '../../test/support/child-stop.js';
import {
  consumeFigures, ensureBenchmarkTool, produceFigures, startTool as startToolIn, type ConsumeFigures, type ProduceFigures, type Tool,
} from './apache-tools.js';

// ------------------------------------------------------------------------------------------------ config

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name}=${raw}: not a number`);
  return value;
}

function envList(name: string, fallback: string): string[] {
  return (process.env[name] || fallback).split(',').map((s) => s.trim()).filter(Boolean);
}

const config = {
  sizes: envList('BENCH_SIZES', '128,1024').map(Number),
  modes: envList('BENCH_FLUSH', 'ASYNC_FLUSH,SYNC_FLUSH') as Array<'ASYNC_FLUSH' | 'SYNC_FLUSH'>,
  /** Producer -q: message cap per cell. */
  messages: envNumber('BENCH_MESSAGES', 300_000),
  /** Producer time limit per cell (its report windows are 9 s wide: keep this >= 12). */
  loadSeconds: envNumber('BENCH_LOAD_SECONDS', 16),
  threads: envNumber('BENCH_THREADS', 16),
  driverSeconds: envNumber('BENCH_DRIVER_SECONDS', 5),
  driverConnections: envNumber('BENCH_DRIVER_CONNECTIONS', 4),
  driverInflight: envNumber('BENCH_DRIVER_INFLIGHT', 8),
  storeGiB: envNumber('BENCH_STORE_GIB', 3),
  crashExtraMiB: envNumber('BENCH_CRASH_EXTRA_MIB', 512),
  segmentMiB: envNumber('BENCH_SEGMENT_MIB', 1024),
  /** rocketmq-example is not on Maven Central for 5.3.3 (the newest 5.x there is 5.5.0). */
  toolVersion: process.env['BENCH_TOOL_VERSION'] || '5.5.0',
  skipStartup: process.env['BENCH_SKIP_STARTUP'] === '1',
  /** Extra `--key=value` broker.conf overrides for the Bolide broker of the load phases. */
  bolideArgs: envList('BENCH_BOLIDE_ARGS', ''),
  root: process.env['BENCH_DIR'] || tmpdir(),
};
for (const mode of config.modes) if (mode !== 'ASYNC_FLUSH' && mode !== 'SYNC_FLUSH') throw new Error(`bad flush mode ${mode}`);

const root = mkdtempSync(path.join(config.root, 'bolide-e2e-'));
const liveChildren = new Set<ChildProcess>();
let cleaned = false;
function cleanup(): void {
  if (cleaned) return;
  cleaned = true;
  for (const child of liveChildren) child.kill('SIGKILL');
  if (process.env['BENCH_KEEP'] === '1') process.stderr.write(`kept ${root}\n`);
  else rmSync(root, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    cleanup();
    process.exit(130);
  });
}

// ------------------------------------------------------------------------------------------------ output

function fmt(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function line(label: string, value: string, reference: string, ratio: number): void {
  console.log(`${label.padEnd(46)} ${value.padStart(22)}   ref ${reference.padStart(22)}   ratio ${fmt(ratio, 2)}`);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const maxOf = (values: number[]): number => (values.length ? Math.max(...values) : NaN);
const median = (values: number[]): number => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

// ------------------------------------------------------------------------------------------------ Apache's tools

let toolLib = '';

function startTool(name: 'Producer' | 'Consumer', args: string[], logFile: string): Tool {
  return startToolIn({ lib: toolLib, workDir: root, children: liveChildren }, name, args, logFile);
}

interface CellResult {
  produce: ProduceFigures;
  consume: ConsumeFigures;
  killed: boolean;
  produceSeconds: number;
}

let cellCount = 0;

/** One tool cell: the consumer first (fresh group), then the producer, bounded by -q and by time. */
async function toolCell(target: Target, topic: string, size: number): Promise<CellResult> {
  const id = `${target.kind}-${target.mode}-${size}-${cellCount++}`;
  const consumer = startTool('Consumer', [
    '-n', target.namesrvAddr, '-t', topic, '-g', `bench_consumer_${cellCount}_${Date.now() % 100_000}`, '-ri', '1000',
  ], path.join(root, `consumer-${id}.log`));
  try {
    await consumer.waitFor(/Consumer Started/, 60_000);
    await sleep(2000); // first rebalance
    const produceStart = performance.now();
    const producer = startTool('Producer', [
      '-n', target.namesrvAddr, '-t', topic, '-w', String(config.threads), '-s', String(size),
      '-q', String(config.messages), '-ri', '1000', '-y', 'false',
    ], path.join(root, `producer-${id}.log`));
    const finished = await Promise.race([producer.exited.then(() => true), sleep(config.loadSeconds * 1000).then(() => false)]);
    const produceEnd = performance.now();
    if (!finished) await producer.stop();
    await sleep(1500); // let the consumer print a line covering the end of the load
    return {
      produce: produceFigures(producer.lines),
      consume: consumeFigures(consumer.lines, produceStart, produceEnd),
      killed: !finished,
      produceSeconds: (produceEnd - produceStart) / 1000,
    };
  } finally {
    await consumer.stop();
  }
}

// ------------------------------------------------------------------------------------------------ brokers

interface Target {
  kind: 'bolide' | 'apache';
  mode: 'ASYNC_FLUSH' | 'SYNC_FLUSH';
  namesrvAddr: string;
  brokerAddr: string;
  pid: number;
  startupMs: number;
  stop(): Promise<void>;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A listen port P with P-2 (VIP port) free too. */
async function freeBrokerPort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if ((await portFree(port)) && (await portFree(port - 2))) return port;
  }
  throw new Error('no free port');
}

function tryConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

interface BolideStart {
  namesrvAddr: string;
  brokerAddr: string;
  pid: number;
  /** Spawn until a TCP connect to the broker port succeeds. */
  connectMs: number;
  /** Spawn until the child printed its addresses (NameServer + broker started and registered). */
  readyMs: number;
  stop(): Promise<void>;
}

/** test/support/start-bolide.ts as a child on a known port, timing the connect and the ready line. */
async function startBolide(storeDir: string, args: string[], logName: string): Promise<BolideStart> {
  const port = await freeBrokerPort();
  const log = createWriteStream(path.join(root, `${logName}.log`));
  const started = performance.now();
  const child = spawn(process.execPath, [
    ...BROKER_NODE_FLAGS, '--import=tsx', path.join(repoRoot, 'test/support/start-bolide.ts'),
    `--storePathRootDir=${storeDir}`, `--listenPort=${port}`, ...args,
  ], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
  liveChildren.add(child);
  child.stderr!.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    liveChildren.delete(child);
    resolve(code);
  }));
  let dead = false;
  void exited.then(() => (dead = true));
  const ready = new Promise<{ at: number; info: { namesrvAddr: string; brokerAddr: string } }>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const at = performance.now();
      buffered += chunk.toString();
      const newline = buffered.indexOf('\n');
      if (newline >= 0) resolve({ at, info: JSON.parse(buffered.slice(0, newline)) });
    });
    void exited.then((code) => reject(new Error(`Bolide exited with ${code} before starting (log ${logName}.log):\n${readLog(logName)}`)));
  });
  ready.catch(() => undefined);
  const deadline = started + 300_000;
  let connectMs = NaN;
  while (!dead && performance.now() < deadline) {
    if (await tryConnect(port)) {
      connectMs = performance.now() - started;
      break;
    }
    await sleep(5);
  }
  const { at, info } = await ready;
  let stopped = false;
  return {
    ...info,
    pid: child.pid ?? -1,
    connectMs,
    readyMs: at - started,
    async stop() {
      if (stopped) return;
      stopped = true;
      await terminateChild(child, exited, 30_000);
      log.end();
    },
  };
}

function readLog(name: string): string {
  try {
    return tail(readFileSync(path.join(root, `${name}.log`), 'utf8'), 2000);
  } catch {
    return '';
  }
}

async function bolideTarget(mode: Target['mode']): Promise<Target> {
  const storeDir = path.join(root, `bolide-store-${mode}`);
  const started = await startBolide(storeDir, [`--flushDiskType=${mode}`, ...config.bolideArgs], `bolide-${mode}`);
  return {
    kind: 'bolide', mode, namesrvAddr: started.namesrvAddr, brokerAddr: started.brokerAddr, pid: started.pid,
    startupMs: started.readyMs,
    async stop() {
      await started.stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

interface ApacheStartup {
  /** NameServer + broker JVMs until the broker is registered in the name server. */
  totalMs: number;
  /** Broker JVM spawn until it printed "boot success". */
  brokerBootMs: number;
}

const apacheStartups: ApacheStartup[] = [];

async function apacheTarget(mode: Target['mode'], workDir?: string): Promise<Target> {
  const apache = await startApacheRocketMQ({ brokerConfig: { flushDiskType: mode }, ...(workDir ? { workDir } : {}) });
  apacheStartups.push({ totalMs: apache.startupMs, brokerBootMs: apache.brokerBootMs });
  return {
    kind: 'apache', mode, namesrvAddr: apache.namesrvAddr, brokerAddr: apache.brokerAddr,
    pid: apache.brokerPid, startupMs: apache.startupMs, stop: () => apache.stop(),
  };
}

/** Bytes allocated on disk under dir (sparse preallocated segments count only what was written). */
function allocatedBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? allocatedBytes(full) : statSync(full).blocks * 512;
  }
  return total;
}

interface ApacheRestarts {
  storeMiB: number;
  clean: ApacheStartup;
  crashStoreMiB: number;
  crash: ApacheStartup | null;
  crashError: string | null;
}

/**
 * Apache on the store its last load phase left (clean shutdown), then SIGKILL of its broker JVM under a producer
 * load and a start on that store (abnormal recovery).
 */
async function apacheRestarts(workDir: string, mode: Target['mode']): Promise<ApacheRestarts> {
  const commitLog = path.join(workDir, 'store', 'commitlog');
  const storeMiB = allocatedBytes(commitLog) / 2 ** 20;
  const first = await startApacheRocketMQ({ workDir, brokerConfig: { flushDiskType: mode } });
  const clean = { totalMs: first.startupMs, brokerBootMs: first.brokerBootMs };
  const producer = startTool('Producer', [
    '-n', first.namesrvAddr, '-t', `BenchE2E_${config.sizes.at(-1)}`, '-w', String(config.threads),
    '-s', String(config.sizes.at(-1)), '-q', String(config.messages), '-ri', '1000', '-y', 'false',
  ], path.join(root, 'producer-apache-crash.log'));
  await sleep(6000); // JVM start + a few seconds of sends
  process.kill(first.brokerPid, 'SIGKILL');
  await producer.stop();
  await first.stop();
  const crashStoreMiB = allocatedBytes(commitLog) / 2 ** 20;
  try {
    const second = await startApacheRocketMQ({ workDir, brokerConfig: { flushDiskType: mode } });
    await second.stop();
    return { storeMiB, clean, crashStoreMiB, crash: { totalMs: second.startupMs, brokerBootMs: second.brokerBootMs }, crashError: null };
  } catch (error) {
    return { storeMiB, clean, crashStoreMiB, crash: null, crashError: error instanceof Error ? error.message : String(error) };
  }
}

/** UPDATE_AND_CREATE_TOPIC on the broker, then wait until the name server serves the route. */
async function createTopic(target: Target, topic: string): Promise<void> {
  const client = new RemotingClient({ logger: silentLogger });
  try {
    const response = await client.invoke(target.brokerAddr, makeRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, {
      extFields: encodeHeader(CreateTopicRequestHeader, {
        topic, defaultTopic: 'TBW102', readQueueNums: 8, writeQueueNums: 8, perm: 6,
        topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false,
      }),
    }), 10_000);
    if (response.code !== 0) throw new Error(`create topic ${topic} on ${target.kind}: code ${response.code} ${response.remark ?? ''}`);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const route = await client.invoke(target.namesrvAddr, makeRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { extFields: { topic } }), 5000);
      if (route.code === 0) return;
      if (Date.now() > deadline) throw new Error(`route of ${topic} not in ${target.kind}'s name server`);
      await sleep(200);
    }
  } finally {
    await client.close();
  }
}

// ------------------------------------------------------------------------------------------------ memory

interface MemorySample {
  rssAnon: number;
  rssFile: number;
}

function readMemory(pid: number): MemorySample | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
    return { rssAnon: kb('RssAnon') / 1024, rssFile: kb('RssFile') / 1024 };
  } catch {
    return null;
  }
}

function sampleMemory(pid: number): { stop(): MemorySample[] } {
  const samples: MemorySample[] = [];
  const take = () => {
    const sample = readMemory(pid);
    if (sample) samples.push(sample);
  };
  take();
  const timer = setInterval(take, 250);
  return { stop: () => (clearInterval(timer), take(), samples) };
}

interface MemoryFigures {
  idle: MemorySample;
  max: MemorySample;
  steady: MemorySample;
}

function memoryFigures(idle: MemorySample | null, samples: MemorySample[]): MemoryFigures {
  const pick = (key: keyof MemorySample, f: (xs: number[]) => number) => f(samples.map((s) => s[key]));
  const max = maxOf;
  return {
    idle: idle ?? { rssAnon: NaN, rssFile: NaN },
    max: { rssAnon: pick('rssAnon', max), rssFile: pick('rssFile', max) },
    steady: { rssAnon: pick('rssAnon', median), rssFile: pick('rssFile', median) },
  };
}

// ------------------------------------------------------------------------------------------------ Node driver

interface DriverFigures {
  tps: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  count: number;
  errors: number;
}

/**
 * SEND_MESSAGE_V2 with binary headers, `inflight` requests pipelined on each of `connections` connections
 * (one RemotingClient each), for `seconds` after a 1 s warm-up that is not recorded.
 */
async function driveSends(target: Target, topic: string, size: number): Promise<DriverFigures> {
  const clients = Array.from({ length: config.driverConnections }, () =>
    new RemotingClient({ logger: silentLogger, serializeType: SerializeType.ROCKETMQ, requestTimeoutMs: 10_000 }));
  const body = Buffer.alloc(size, 0x61);
  const uniq = createUniqIdGenerator();
  const latencies = new Float64Array(4_000_000);
  let count = 0;
  let errors = 0;
  let queue = 0;
  const warmEnd = performance.now() + 1000;
  const end = warmEnd + config.driverSeconds * 1000;
  const request = () => makeRequest(RequestCode.SEND_MESSAGE_V2, {
    extFields: encodeSendMessageHeader(RequestCode.SEND_MESSAGE_V2, {
      producerGroup: 'bench_node_driver', topic, defaultTopic: 'TBW102', defaultTopicQueueNums: 4,
      queueId: queue++ % 8, sysFlag: 0, bornTimestamp: Date.now(), flag: 0,
      properties: encodeProperties({ UNIQ_KEY: uniq(), WAIT: 'true' }), reconsumeTimes: 0, unitMode: false,
      batch: false,
    }),
    body,
  });
  let measuredStart = 0;
  const loop = async (client: RemotingClient) => {
    for (;;) {
      const sent = performance.now();
      if (sent >= end) return;
      try {
        const response = await client.invoke(target.brokerAddr, request(), 10_000);
        if (response.code !== 0) errors++;
      } catch {
        errors++;
        await sleep(10);
      }
      if (sent >= warmEnd && count < latencies.length) {
        if (measuredStart === 0) measuredStart = sent;
        latencies[count++] = performance.now() - sent;
      }
    }
  };
  await Promise.all(clients.flatMap((client) => Array.from({ length: config.driverInflight }, () => loop(client))));
  const seconds = (performance.now() - Math.max(measuredStart, warmEnd)) / 1000;
  await Promise.all(clients.map((client) => client.close()));
  const sorted = latencies.subarray(0, count).sort();
  const at = (q: number) => (count ? sorted[Math.min(count - 1, Math.floor(q * count))]! : NaN);
  return { tps: count / seconds, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: count ? sorted[count - 1]! : NaN, count, errors };
}

// ------------------------------------------------------------------------------------------------ load phase

interface PhaseResult {
  startupMs: number;
  cells: Map<number, { tool: CellResult; driver: DriverFigures }>;
  memory: MemoryFigures;
}

async function loadPhase(target: Target): Promise<PhaseResult> {
  const cells = new Map<number, { tool: CellResult; driver: DriverFigures }>();
  for (const size of config.sizes) await createTopic(target, `BenchE2E_${size}`);
  const idle = readMemory(target.pid);
  const sampler = sampleMemory(target.pid);
  for (const size of config.sizes) {
    const tool = await toolCell(target, `BenchE2E_${size}`, size);
    const driver = await driveSends(target, `BenchE2E_${size}`, size);
    cells.set(size, { tool, driver });
    process.stderr.write(`  ${target.kind} ${target.mode} ${size} B: send ${fmt(tool.produce.tps)}/s, consume ${fmt(tool.consume.tps)}/s, driver ${fmt(driver.tps)}/s p99 ${fmt(driver.p99, 2)} ms\n`);
  }
  return { startupMs: target.startupMs, cells, memory: memoryFigures(idle, sampler.stop()) };
}

function printPhase(mode: string, bolide: PhaseResult, apache: PhaseResult): void {
  console.log(`## ${mode}: Apache benchmark tools (rocketmq-example ${config.toolVersion}, ${config.threads} sync sender threads, -q ${config.messages}, <= ${config.loadSeconds} s; consumer running meanwhile)`);
  for (const size of config.sizes) {
    const b = bolide.cells.get(size)!;
    const a = apache.cells.get(size)!;
    const s = `${size} B`;
    line(`${s} Send TPS (${b.tool.produce.source})`, `${fmt(b.tool.produce.tps)} msg/s`, `${fmt(a.tool.produce.tps)} msg/s`, b.tool.produce.tps / a.tool.produce.tps);
    line(`${s} Send Average RT`, `${fmt(b.tool.produce.avgRt, 3)} ms`, `${fmt(a.tool.produce.avgRt, 3)} ms`, b.tool.produce.avgRt / a.tool.produce.avgRt);
    line(`${s} Send Max RT`, `${fmt(b.tool.produce.maxRt)} ms`, `${fmt(a.tool.produce.maxRt)} ms`, b.tool.produce.maxRt / a.tool.produce.maxRt);
    const partial = !b.tool.consume.steady || !a.tool.consume.steady ? ' (partial window!)' : '';
    line(`${s} Consume TPS${partial}`, `${fmt(b.tool.consume.tps)} msg/s`, `${fmt(a.tool.consume.tps)} msg/s`, b.tool.consume.tps / a.tool.consume.tps);
    line(`${s} Consume AVG(B2C) RT`, `${fmt(b.tool.consume.b2c, 3)} ms`, `${fmt(a.tool.consume.b2c, 3)} ms`, b.tool.consume.b2c / a.tool.consume.b2c);
    line(`${s} Consume AVG(S2C) RT`, `${fmt(b.tool.consume.s2c, 3)} ms`, `${fmt(a.tool.consume.s2c, 3)} ms`, b.tool.consume.s2c / a.tool.consume.s2c);
    line(`${s} Consume MAX(B2C) RT`, `${fmt(b.tool.consume.maxB2c)} ms`, `${fmt(a.tool.consume.maxB2c)} ms`, b.tool.consume.maxB2c / a.tool.consume.maxB2c);
    const notes = (c: CellResult) => `${c.killed ? `stopped at ${fmt(c.produceSeconds, 1)} s` : `-q done in ${fmt(c.produceSeconds, 1)} s`}, send failed ${fmt(c.produce.failed)}, consume fail ${fmt(c.consume.failed)}`;
    console.log(`   bolide: ${notes(b.tool)}; apache: ${notes(a.tool)}`);
    console.log(`   MAX(S2C) RT: bolide ${fmt(b.tool.consume.maxS2c)} ms, apache ${fmt(a.tool.consume.maxS2c)} ms; consumer lines used: ${b.tool.consume.lines} / ${a.tool.consume.lines}`);
  }
  console.log(`## ${mode}: Node driver, SEND_MESSAGE_V2 binary headers, ${config.driverConnections} connections x ${config.driverInflight} in flight, ${config.driverSeconds} s`);
  for (const size of config.sizes) {
    const b = bolide.cells.get(size)!.driver;
    const a = apache.cells.get(size)!.driver;
    const s = `${size} B`;
    line(`${s} send throughput`, `${fmt(b.tps)} msg/s`, `${fmt(a.tps)} msg/s`, b.tps / a.tps);
    line(`${s} send latency p50`, `${fmt(b.p50, 3)} ms`, `${fmt(a.p50, 3)} ms`, b.p50 / a.p50);
    line(`${s} send latency p99`, `${fmt(b.p99, 3)} ms`, `${fmt(a.p99, 3)} ms`, b.p99 / a.p99);
    line(`${s} send latency p999`, `${fmt(b.p999, 3)} ms`, `${fmt(a.p999, 3)} ms`, b.p999 / a.p999);
    line(`${s} send latency max`, `${fmt(b.max, 1)} ms`, `${fmt(a.max, 1)} ms`, b.max / a.max);
    if (b.errors || a.errors) console.log(`   errors: bolide ${b.errors}, apache ${a.errors}`);
  }
  console.log(`## ${mode}: broker memory during the load above (/proc/<pid>/status, every 250 ms; steady = median)`);
  const bm = bolide.memory;
  const am = apache.memory;
  line('RssAnon idle (before load)', `${fmt(bm.idle.rssAnon)} MiB`, `${fmt(am.idle.rssAnon)} MiB JVM`, bm.idle.rssAnon / am.idle.rssAnon);
  line('RssAnon steady', `${fmt(bm.steady.rssAnon)} MiB`, `${fmt(am.steady.rssAnon)} MiB JVM`, bm.steady.rssAnon / am.steady.rssAnon);
  line('RssAnon max', `${fmt(bm.max.rssAnon)} MiB`, `${fmt(am.max.rssAnon)} MiB JVM`, bm.max.rssAnon / am.max.rssAnon);
  line('RssFile steady', `${fmt(bm.steady.rssFile)} MiB`, `${fmt(am.steady.rssFile)} MiB JVM`, bm.steady.rssFile / am.steady.rssFile);
  line('RssFile max', `${fmt(bm.max.rssFile)} MiB`, `${fmt(am.max.rssFile)} MiB JVM`, bm.max.rssFile / am.max.rssFile);
}

// ------------------------------------------------------------------------------------------------ start-up

function runWriter(dir: string, bytes: number, mode: 'clean' | 'crash'): Promise<{ bytes: number; ms: number }> {
  const segment = config.segmentMiB * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import=tsx', path.join(repoRoot, 'bench/e2e/store-writer.ts'), dir, String(bytes), String(segment), mode], {
      cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'],
    });
    liveChildren.add(child);
    let stderr = '';
    let buffered = '';
    let wrote = 0;
    let killed = false;
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const [kind, value] = buffered.slice(0, newline).split(' ');
        buffered = buffered.slice(newline + 1);
        if (kind === 'WROTE') wrote = Number(value);
        if (kind === 'DONE') wrote = Number(value);
        if (mode === 'crash' && kind === 'WROTE' && wrote >= bytes && !killed) {
          killed = true;
          child.kill('SIGKILL'); // mid-write: the writer appends in a tight loop
        }
      }
    });
    child.on('exit', (code, signal) => {
      liveChildren.delete(child);
      const result = { bytes: wrote, ms: performance.now() - started };
      if (mode === 'clean' && code === 0) resolve(result);
      else if (mode === 'crash' && signal === 'SIGKILL') resolve(result);
      else reject(new Error(`store writer (${mode}) exited with ${code ?? signal}:\n${stderr}`));
    });
  });
}

interface StartupFigures {
  emptyConnect: number;
  emptyReady: number;
  storeBytes: number;
  writeMBps: number;
  cleanConnect: number;
  cleanReady: number;
  crashBytes: number;
  crashConnect: number;
  crashReady: number;
  crashError: string | null;
}

async function startupPhase(): Promise<StartupFigures> {
  const segmentArg = `--mappedFileSizeCommitLog=${config.segmentMiB * 1024 * 1024}`;
  const connects: number[] = [];
  const readies: number[] = [];
  for (let i = 0; i < 3; i++) {
    const dir = path.join(root, `startup-empty-${i}`);
    const started = await startBolide(dir, [segmentArg], `startup-empty-${i}`);
    connects.push(started.connectMs);
    readies.push(started.readyMs);
    await started.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const dir = path.join(root, 'startup-big');
  const wrote = await runWriter(dir, config.storeGiB * 1024 ** 3, 'clean');
  process.stderr.write(`  wrote ${fmt(wrote.bytes / 1024 ** 3, 2)} GiB in ${fmt(wrote.ms / 1000, 1)} s\n`);
  const clean = await startBolide(dir, [segmentArg], 'startup-clean');
  await clean.stop();
  const crash = await runWriter(dir, config.crashExtraMiB * 1024 * 1024, 'crash');
  let crashConnect = NaN;
  let crashReady = NaN;
  let crashError: string | null = null;
  try {
    const recovered = await startBolide(dir, [segmentArg], 'startup-crash');
    crashConnect = recovered.connectMs;
    crashReady = recovered.readyMs;
    await recovered.stop();
  } catch (error) {
    crashError = error instanceof Error ? error.message : String(error);
  }
  rmSync(dir, { recursive: true, force: true });
  return {
    emptyConnect: median(connects), emptyReady: median(readies), storeBytes: wrote.bytes,
    writeMBps: wrote.bytes / 1024 ** 2 / (wrote.ms / 1000),
    cleanConnect: clean.connectMs, cleanReady: clean.readyMs, crashBytes: wrote.bytes + crash.bytes,
    crashConnect, crashReady, crashError,
  };
}

// ------------------------------------------------------------------------------------------------ main

async function main(): Promise<void> {
  const runStart = performance.now();
  toolLib = await ensureBenchmarkTool(config.toolVersion);
  console.log(`# bolide e2e bench (node ${process.version}, Apache RocketMQ ${APACHE_ROCKETMQ_VERSION} broker as reference, tools rocketmq-example ${config.toolVersion}, work dir ${root})`);
  console.log('# each line: Bolide figure, ref = Apache figure measured the same way in this run, ratio = Bolide/Apache');
  const apacheWorkDir = path.join(root, 'apache-last');
  let restarts: ApacheRestarts | null = null;
  for (const [index, mode] of config.modes.entries()) {
    const last = index === config.modes.length - 1;
    process.stderr.write(`- ${mode}: Bolide\n`);
    const bolide = await bolideTarget(mode);
    let bolidePhase: PhaseResult;
    try {
      bolidePhase = await loadPhase(bolide);
    } finally {
      await bolide.stop();
    }
    process.stderr.write(`- ${mode}: Apache\n`);
    // The last mode's Apache keeps its work dir: its store is reused for Apache's restart timings.
    const apache = await apacheTarget(mode, last && !config.skipStartup ? apacheWorkDir : undefined);
    let apachePhase: PhaseResult;
    try {
      apachePhase = await loadPhase(apache);
    } finally {
      await apache.stop();
    }
    printPhase(mode, bolidePhase, apachePhase);
    if (last && !config.skipStartup) {
      process.stderr.write('- Apache restarts\n');
      restarts = await apacheRestarts(apacheWorkDir, mode);
    }
  }
  if (!config.skipStartup) {
    process.stderr.write('- Bolide start-up\n');
    const s = await startupPhase();
    const emptyBoot = median(apacheStartups.map((a) => a.brokerBootMs));
    const emptyTotal = median(apacheStartups.map((a) => a.totalMs));
    const gib = (b: number) => fmt(b / 1024 ** 3, 2);
    console.log('## Start-up. Bolide: spawn of the NameServer + broker child -> broker port accepts a connection / child prints its');
    console.log('## addresses (registered). Apache: broker JVM spawn -> "boot success" (200 ms polling) / NameServer + broker JVMs -> registered');
    console.log(`   Apache empty-store start-ups in this run (broker boot / total): ${apacheStartups.map((a) => `${fmt(a.brokerBootMs)} / ${fmt(a.totalMs)} ms`).join(', ')}`);
    line('empty store: port accepts (median of 3)', `${fmt(s.emptyConnect)} ms`, `${fmt(emptyBoot)} ms boot`, s.emptyConnect / emptyBoot);
    line('empty store: ready (median of 3)', `${fmt(s.emptyReady)} ms`, `${fmt(emptyTotal)} ms total`, s.emptyReady / emptyTotal);
    console.log(`   Bolide store written by MessageStore directly: ${gib(s.storeBytes)} GiB at ${fmt(s.writeMBps)} MiB/s, ${config.segmentMiB} MiB segments` +
      (restarts ? `; Apache's store: what its ${config.modes.at(-1)} load phase left (${fmt(restarts.storeMiB)} MiB of CommitLog)` : ''));
    const cleanRef = restarts ? `${fmt(restarts.clean.brokerBootMs)} ms boot` : `${fmt(emptyBoot)} ms empty`;
    const cleanRatio = restarts ? restarts.clean.brokerBootMs : emptyBoot;
    line(`${gib(s.storeBytes)} GiB, clean shutdown: port accepts`, `${fmt(s.cleanConnect)} ms`, cleanRef, s.cleanConnect / cleanRatio);
    line(`${gib(s.storeBytes)} GiB, clean shutdown: ready`, `${fmt(s.cleanReady)} ms`, restarts ? `${fmt(restarts.clean.totalMs)} ms total` : 'n/a', s.cleanReady / (restarts?.clean.totalMs ?? NaN));
    if (restarts) {
      console.log(`   Apache crash: broker JVM SIGKILLed under a producer load (CommitLog ${fmt(restarts.storeMiB)} -> ${fmt(restarts.crashStoreMiB)} MiB)` +
        (restarts.crashError ? `; RESTART FAILED: ${restarts.crashError.split('\n')[0]}` : ''));
    }
    if (s.crashError) {
      console.log(`${gib(s.crashBytes)} GiB after SIGKILL mid-write: FAILED TO START: ${s.crashError}`);
    } else {
      const crash = restarts?.crash;
      line(`${gib(s.crashBytes)} GiB, SIGKILL mid-write: accepts`, `${fmt(s.crashConnect)} ms`, crash ? `${fmt(crash.brokerBootMs)} ms boot` : 'n/a', s.crashConnect / (crash?.brokerBootMs ?? NaN));
      line(`${gib(s.crashBytes)} GiB, SIGKILL mid-write: ready`, `${fmt(s.crashReady)} ms`, crash ? `${fmt(crash.totalMs)} ms total` : 'n/a', s.crashReady / (crash?.totalMs ?? NaN));
    }
  }
  console.log(`# total ${fmt((performance.now() - runStart) / 1000)} s`);
}

try {
  await main();
} finally {
  cleanup();
}
