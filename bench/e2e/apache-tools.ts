// Apache RocketMQ's own benchmark tools (org.apache.rocketmq.example.benchmark.Producer /
// Consumer from rocketmq-example) as child processes, and the figures they print: shared by
// bench/e2e (Bolide vs Apache broker) and bench/sdk (Bolide's SDK vs the Java tools).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, renameSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { assertJavaTools, repoRoot, runCommand, tail, testCacheDir, withCacheLock } from '../../test/support/java-compat.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const maxOf = (values: number[]): number => (values.length ? Math.max(...values) : NaN);

/** Where the tools run and who tracks their processes (for cleanup on exit). */
export interface ToolEnvironment {
  /** lib/ directory from ensureBenchmarkTool. */
  lib: string;
  /** Working directory (the tools write under its java-home). */
  workDir: string;
  children: Set<ChildProcess>;
}

/** rocketmq-example + its runtime dependencies in .test-cache/rocketmq-example-<version>/lib (Maven, once). */
export async function ensureBenchmarkTool(version: string): Promise<string> {
  assertJavaTools();
  const dir = path.join(testCacheDir, `rocketmq-example-${version}`);
  const lib = path.join(dir, 'lib');
  const ready = () => existsSync(path.join(lib, `rocketmq-example-${version}.jar`));
  if (ready()) return lib;
  return withCacheLock('maven', async () => {
    if (ready()) return lib;
    await mkdir(dir, { recursive: true });
    const partial = path.join(dir, 'lib.partial');
    await rm(partial, { recursive: true, force: true });
    const logFile = path.join(dir, 'fetch.log');
    const result = await runCommand(
      'mvn',
      ['-B', '-q', '-Dstyle.color=never', '-f', path.join(repoRoot, 'bench', 'e2e', 'pom.xml'),
        `-Drocketmq.version=${version}`, 'dependency:copy-dependencies', `-DoutputDirectory=${partial}`],
      { logFile, timeoutMs: 20 * 60_000 },
    );
    if (result.code !== 0 || !existsSync(path.join(partial, `rocketmq-example-${version}.jar`))) {
      throw new Error(`fetching rocketmq-example ${version} failed (log ${logFile}):\n${tail(result.output)}`);
    }
    await rm(lib, { recursive: true, force: true });
    renameSync(partial, lib); // only a complete set of jars ever appears as lib/
    return lib;
  });
}

export interface OutputLine {
  at: number;
  text: string;
}

export interface Tool {
  lines: OutputLine[];
  exited: Promise<number | null>;
  waitFor(pattern: RegExp, timeoutMs: number): Promise<OutputLine>;
  stop(): Promise<void>;
}

export function startTool(env: ToolEnvironment, name: 'Producer' | 'Consumer', args: string[], logFile: string): Tool {
  const home = path.join(env.workDir, 'java-home');
  const child = spawn('java', [
    '-Xms256m', '-Xmx512m', '-XX:+UseSerialGC', `-Duser.home=${home}`, '-cp', path.join(env.lib, '*'),
    `org.apache.rocketmq.example.benchmark.${name}`, ...args,
  ], { cwd: env.workDir, stdio: ['ignore', 'pipe', 'pipe'] });
  env.children.add(child);
  const log = createWriteStream(logFile);
  const lines: OutputLine[] = [];
  const waiters: Array<() => void> = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    log.write(chunk);
    buffered += chunk.toString('utf8');
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      lines.push({ at: performance.now(), text: buffered.slice(0, newline) });
      buffered = buffered.slice(newline + 1);
    }
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr!.on('data', (chunk: Buffer) => log.write(chunk));
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      env.children.delete(child);
      log.end();
      for (const wake of waiters.splice(0)) wake();
      resolve(code);
    });
    child.on('error', () => resolve(null));
  });
  return {
    lines,
    exited,
    async waitFor(pattern, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const found = lines.find((l) => pattern.test(l.text));
        if (found) return found;
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited (log ${logFile})`);
        if (performance.now() > deadline) throw new Error(`${name}: no ${pattern} within ${timeoutMs} ms (log ${logFile})`);
        await Promise.race([new Promise<void>((r) => waiters.push(r)), sleep(200)]);
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const field = (text: string, pattern: RegExp): number => {
  const match = pattern.exec(text);
  return match ? Number(match[1]) : NaN;
};

export interface ProduceFigures {
  tps: number;
  avgRt: number;
  maxRt: number;
  failed: number;
  source: string;
}

/**
 * The producer's figures. Its periodic lines average over a sliding window of the last ~9 s; the last one is
 * the steady state. Only when no periodic line came (a run under ~10 s) is the [Complete] line used.
 */
export function produceFigures(lines: OutputLine[]): ProduceFigures {
  const periodic = lines.filter((l) => l.text.startsWith('Current Time:') && l.text.includes('Send TPS'));
  const complete = lines.find((l) => l.text.startsWith('[Complete]'));
  const chosen = periodic.at(-1) ?? complete;
  if (!chosen) return { tps: NaN, avgRt: NaN, maxRt: NaN, failed: NaN, source: 'no output' };
  const all = [...periodic, ...(complete ? [complete] : [])];
  return {
    tps: field(chosen.text, /Send TPS: (\d+)/),
    avgRt: field(chosen.text, /Average RT\(ms\):\s*([\d.]+)/),
    maxRt: maxOf(all.map((l) => field(l.text, /Max RT\(ms\): (\d+)/)).filter(Number.isFinite)),
    failed: Math.max(0, ...all.map((l) => field(l.text, /Send Failed: (\d+)/) + field(l.text, /Response Failed: (\d+)/)).filter(Number.isFinite)),
    source: periodic.length > 0 ? 'last 9 s window' : '[Complete] line',
  };
}

export interface ConsumeFigures {
  tps: number;
  b2c: number;
  s2c: number;
  maxB2c: number;
  maxS2c: number;
  failed: number;
  lines: number;
  steady: boolean;
}

/** The consumer's lines whose ~9 s window lies inside the producing period; else any line up to its end. */
export function consumeFigures(lines: OutputLine[], produceStart: number, produceEnd: number): ConsumeFigures {
  const periodic = lines.filter((l) => l.text.includes('Consume TPS'));
  let chosen = periodic.filter((l) => l.at >= produceStart + 9_500 && l.at <= produceEnd + 500);
  const steady = chosen.length > 0;
  if (!steady) chosen = periodic.filter((l) => l.at >= produceStart && l.at <= produceEnd + 3_000);
  const values = (pattern: RegExp) => chosen.map((l) => field(l.text, pattern)).filter(Number.isFinite);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  return {
    tps: mean(values(/Consume TPS: (\d+)/)),
    b2c: mean(values(/AVG\(B2C\) RT\(ms\):\s*([\d.]+)/)),
    s2c: mean(values(/AVG\(S2C\) RT\(ms\):\s*([\d.]+)/)),
    maxB2c: maxOf(values(/MAX\(B2C\) RT\(ms\): (\d+)/)),
    maxS2c: maxOf(values(/MAX\(S2C\) RT\(ms\): (\d+)/)),
    failed: Math.max(0, ...values(/Consume Fail: (\d+)/)),
    lines: chosen.length,
    steady,
  };
}

