// Drives the real Apache RocketMQ Java client (test/compat/java, class org.bolide.compat.Scenarios) against any
// RocketMQ-protocol name server + broker. ensureDriver() builds the driver once per client version with Maven
// into .test-cache/compat/<version>/ (jar + classpath file); runScenario() runs it with plain `java -cp`.
//
// Java and Maven are required. Without them, tests skip with a clear message, except under CI=true where a
// missing tool is a failure (requireJava / javaSkipReason / JavaUnavailableError).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const testCacheDir = path.join(repoRoot, '.test-cache');
export const driverProjectDir = path.join(repoRoot, 'test', 'compat', 'java');

/** Client versions the self-check covers; any released rocketmq-client version builds. */
export const COMPAT_CLIENT_VERSIONS = ['4.9.8', '5.3.3'] as const;

/** Scenarios of FeatureScenarios.java (one line per feature class). */
export type FeatureScenarioName =
  | 'transaction-commit' | 'transaction-rollback' | 'transaction-check-commit' | 'transaction-crash' | 'transaction-checker'
  | 'filter-table'
  | 'produce-compressed'
  | 'delay-levels' | 'retry-to-dlq' | 'timer-delivery' | 'timer-recall';

export type ScenarioName =
  | FeatureScenarioName
  | 'produce-sync'
  | 'produce-async'
  | 'produce-oneway'
  | 'produce-batch'
  | 'push-cluster-two-consumers'
  | 'lite-pull-assign-seek'
  | 'query-by-key'
  | 'view-by-offset-msgid'
  | 'produce-for'
  | 'consume-from';

export interface ScenarioOptions {
  topic?: string;
  /** Consumer group. */
  group?: string;
  producerGroup?: string;
  count?: number;
  /** Queue count when the driver creates the topic (default 8). */
  queues?: number;
  /** admin (default): createTopic through TBW102; auto: broker autoCreateTopicEnable; none: must exist. */
  createTopic?: 'admin' | 'auto' | 'none';
  createTopicKey?: string;
  /** Run id stamped into every message (default random); consume-from checks messages of this run byte for byte. */
  run?: string;
  bodySize?: number;
  /** Every Nth message gets a 6000-byte body (compressed by the client); 0 = never. Default 50. */
  bigEvery?: number;
  batchSize?: number;
  /** Sender threads of push-cluster-two-consumers (default 4). */
  threads?: number;
  seekOffset?: number;
  tagExpression?: string;
  /** produce-*: read everything back and compare (default true). */
  verify?: boolean;
  settleMs?: number;
  sendTimeoutMs?: number;
  /** The driver's own deadline (--timeout-ms; default 60 s, push 240 s). */
  driverTimeoutMs?: number;
  /** Hard limit for the process; default driver deadline + 60 s. */
  timeoutMs?: number;
  /** JVM options; default small heap, serial GC, C1 only (fast start, enough for these loads). */
  jvmArgs?: string[];
  /** Extra raw driver arguments. */
  extraArgs?: string[];
  /** Where the client writes its own logs and the driver's stderr goes (default: a temp dir, removed if ok). */
  logDir?: string;
}

export interface ScenarioResult<D = Record<string, any>> {
  scenario: string;
  ok: boolean;
  details: D;
  error: string | null;
  /** Added by runScenario: */
  exitCode: number | null;
  durationMs: number;
  stderrTail: string;
  logDir: string;
}

export interface DriverBuild {
  version: string;
  jar: string;
  /** Full runtime classpath (driver jar first), ready for `java -cp`. */
  classpath: string;
  dir: string;
  /** Built by this call (false: taken from the cache). */
  built: boolean;
  buildMs: number;
}

export class JavaUnavailableError extends Error {
  override name = 'JavaUnavailableError';
}

export function isCI(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

export interface ToolStatus {
  ok: boolean;
  java: string | null;
  mvn: string | null;
  missing: string[];
}

let toolStatus: ToolStatus | undefined;

/** Which of java / mvn answer on PATH (cached; synchronous so test files can decide at load time). */
export function javaToolStatus(): ToolStatus {
  if (toolStatus) return toolStatus;
  const probe = (cmd: string, args: string[]): string | null => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
    if (r.error || r.status !== 0) return null;
    return `${r.stdout}\n${r.stderr}`.trim().split('\n')[0] ?? cmd;
  };
  const java = probe('java', ['-version']);
  const mvn = probe('mvn', ['-v', '-B']);
  const missing = [...(java ? [] : ['java']), ...(mvn ? [] : ['mvn'])];
  toolStatus = { ok: missing.length === 0, java, mvn, missing };
  return toolStatus;
}

function unavailableMessage(s: ToolStatus): string {
  return `Java compatibility tests need ${s.missing.join(' and ')} on PATH (JDK 11+ and Maven 3.6+)`;
}

/** Throws JavaUnavailableError when java or mvn is missing (whatever CI says: nothing can run without them). */
export function assertJavaTools(): void {
  const s = javaToolStatus();
  if (!s.ok) throw new JavaUnavailableError(unavailableMessage(s));
}

/**
 * For registering tests: a reason to skip them (tools missing, not CI), or null (run them; under CI a missing
 * tool then fails them). Use as `const jtest = javaSkipReason() ? test.skip : test`.
 */
export function javaSkipReason(): string | null {
  const s = javaToolStatus();
  if (s.ok || isCI()) return null;
  return `${unavailableMessage(s)}: skipped (set CI=true to make this a failure)`;
}

/**
 * Inside a test or hook: true when java and mvn are there. Otherwise under CI=true it throws (the test fails);
 * elsewhere it logs why, marks the test passed, and returns false so the test can return early.
 */
export function requireJava(t: ExecutionContext): boolean {
  const s = javaToolStatus();
  if (s.ok) return true;
  if (isCI()) throw new JavaUnavailableError(`${unavailableMessage(s)} (CI=true: failing instead of skipping)`);
  t.log(`SKIPPED: ${unavailableMessage(s)}`);
  t.pass();
  return false;
}

// ------------------------------------------------------------------------------------------------ processes

export interface CommandResult {
  code: number | null;
  output: string;
}

/** Runs a command, capturing stdout+stderr together (and into logFile when given). */
export function runCommand(
  cmd: string,
  args: string[],
  options: { cwd?: string; logFile?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: options.cwd ?? repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = options.logFile ? createWriteStream(options.logFile) : undefined;
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      log?.write(chunk);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = options.timeoutMs
      ? setTimeout(() => {
          output += `\n[killed after ${options.timeoutMs} ms]`;
          child.kill('SIGKILL');
        }, options.timeoutMs)
      : undefined;
    child.on('error', (error) => {
      clearTimeout(timer);
      log?.end();
      resolve({ code: null, output: output + String(error) });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      log?.end();
      resolve({ code, output });
    });
  });
}

export function tail(text: string, chars = 4000): string {
  return text.length <= chars ? text : `…${text.slice(-chars)}`;
}

// ------------------------------------------------------------------------------------------------ cache lock

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs fn while holding .test-cache/locks/<name> (a directory: mkdir is atomic), so parallel ava workers never
 * run Maven on the same cache at once. A lock whose owner process is gone, or older than staleMs, is broken.
 */
export async function withCacheLock<T>(
  name: string,
  fn: () => Promise<T>,
  { waitMs = 20 * 60_000, staleMs = 30 * 60_000 } = {},
): Promise<T> {
  const lockDir = path.join(testCacheDir, 'locks', `${name}.lock`);
  const owner = path.join(lockDir, 'owner.json');
  await mkdir(path.dirname(lockDir), { recursive: true });
  const started = Date.now();
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(owner, JSON.stringify({ pid: process.pid, host: hostname(), at: new Date().toISOString() }));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let stale = false;
      try {
        const info = JSON.parse(await readFile(owner, 'utf8')) as { pid: number; host: string };
        const age = Date.now() - (await stat(lockDir)).mtimeMs;
        stale = (info.host === hostname() && !processAlive(info.pid)) || age > staleMs;
      } catch {
        // owner.json not written yet (or torn): only stale if the directory itself is old
        try {
          stale = Date.now() - (await stat(lockDir)).mtimeMs > 60_000;
        } catch {
          continue; // lock vanished: retry now
        }
      }
      if (stale) {
        await rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() - started > waitMs) throw new Error(`timed out waiting for lock ${lockDir}`);
      await sleep(300);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------------------------ the driver

async function driverSourceHash(version: string): Promise<string> {
  const hash = createHash('sha256').update(`rocketmq-client ${version}\n`);
  const files: string[] = [path.join(driverProjectDir, 'pom.xml')];
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.name.endsWith('.java')) files.push(full);
    }
  };
  await walk(path.join(driverProjectDir, 'src'));
  files.sort();
  for (const file of files) {
    hash.update(path.relative(driverProjectDir, file)).update('\0').update(await readFile(file)).update('\0');
  }
  return hash.digest('hex');
}

async function cachedDriver(dir: string, version: string, hash: string): Promise<DriverBuild | null> {
  try {
    const stamp = JSON.parse(await readFile(path.join(dir, 'stamp.json'), 'utf8')) as { hash: string };
    if (stamp.hash !== hash) return null;
    const jar = path.join(dir, 'bolide-compat-driver.jar');
    const deps = (await readFile(path.join(dir, 'classpath.txt'), 'utf8')).trim();
    const entries = deps.split(path.delimiter).filter(Boolean);
    if (!existsSync(jar) || entries.length === 0 || !entries.every((e) => existsSync(e))) return null;
    return { version, jar, classpath: [jar, ...entries].join(path.delimiter), dir, built: false, buildMs: 0 };
  } catch {
    return null;
  }
}

const driverBuilds = new Map<string, Promise<DriverBuild>>();

/**
 * The driver for one rocketmq-client version, built with Maven on first use and cached under
 * .test-cache/compat/<version>/ (rebuilt when the pom or a Java source changes, or a dependency jar vanished).
 */
export function ensureDriver(version: string): Promise<DriverBuild> {
  if (!/^\d+\.\d+\.\d+$/.test(version)) return Promise.reject(new Error(`bad rocketmq-client version ${version}`));
  let build = driverBuilds.get(version);
  if (!build) {
    build = buildDriver(version);
    build.catch(() => driverBuilds.delete(version));
    driverBuilds.set(version, build);
  }
  return build;
}

async function buildDriver(version: string): Promise<DriverBuild> {
  assertJavaTools();
  const dir = path.join(testCacheDir, 'compat', version);
  const hash = await driverSourceHash(version);
  const cached = await cachedDriver(dir, version, hash);
  if (cached) return cached;
  return withCacheLock('maven', async () => {
    const again = await cachedDriver(dir, version, hash); // another process may have built it meanwhile
    if (again) return again;
    const started = Date.now();
    const buildDir = path.join(dir, 'build');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const logFile = path.join(dir, 'build.log');
    const result = await runCommand(
      'mvn',
      [
        '-B',
        '-q',
        '-Dstyle.color=never',
        '-f',
        path.join(driverProjectDir, 'pom.xml'),
        `-Drocketmq.version=${version}`,
        `-Dcompat.buildDir=${buildDir}`,
        `-Dcompat.classpathFile=${path.join(dir, 'classpath.txt')}`,
        'package',
      ],
      { logFile, timeoutMs: 15 * 60_000 },
    );
    if (result.code !== 0) {
      throw new Error(`building the compat driver for rocketmq-client ${version} failed (log ${logFile}):\n${tail(result.output)}`);
    }
    await copyFile(path.join(buildDir, 'bolide-compat-driver.jar'), path.join(dir, 'bolide-compat-driver.jar'));
    await writeFile(path.join(dir, 'stamp.json'), JSON.stringify({ hash, version, builtAt: new Date().toISOString() }));
    const built = await cachedDriver(dir, version, hash);
    if (!built) throw new Error(`compat driver for ${version} built but its classpath is incomplete (see ${logFile})`);
    return { ...built, built: true, buildMs: Date.now() - started };
  });
}

const DEFAULT_JVM_ARGS = ['-Xms64m', '-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'];

function scenarioArgs(options: ScenarioOptions): string[] {
  const flags: [string, unknown][] = [
    ['topic', options.topic],
    ['group', options.group],
    ['producer-group', options.producerGroup],
    ['count', options.count],
    ['queues', options.queues],
    ['create-topic', options.createTopic],
    ['create-topic-key', options.createTopicKey],
    ['run', options.run],
    ['body-size', options.bodySize],
    ['big-every', options.bigEvery],
    ['batch-size', options.batchSize],
    ['threads', options.threads],
    ['seek-offset', options.seekOffset],
    ['tag-expression', options.tagExpression],
    ['verify', options.verify],
    ['settle-ms', options.settleMs],
    ['send-timeout-ms', options.sendTimeoutMs],
    ['timeout-ms', options.driverTimeoutMs],
  ];
  const args: string[] = [];
  for (const [name, value] of flags) if (value !== undefined) args.push(`--${name}`, String(value));
  return [...args, ...(options.extraArgs ?? [])];
}

/**
 * Runs one scenario of the driver for a client version against namesrvAddr and returns its JSON result (ok or
 * not). Throws when the driver could not produce a result at all: no JSON line, crash before printing, or the
 * hard timeout.
 */
export async function runScenario<D = Record<string, any>>(
  version: string,
  namesrvAddr: string,
  scenario: ScenarioName,
  options: ScenarioOptions = {},
): Promise<ScenarioResult<D>> {
  const build = await ensureDriver(version);
  const logDir = options.logDir ?? (await mkdtemp(path.join(tmpdir(), `bolide-compat-${scenario}-`)));
  await mkdir(logDir, { recursive: true });
  const driverTimeout = options.driverTimeoutMs ?? (scenario.startsWith('push-') ? 240_000 : 60_000);
  const hardTimeout = options.timeoutMs ?? driverTimeout + 60_000;
  const args = [
    ...(options.jvmArgs ?? DEFAULT_JVM_ARGS),
    '-cp',
    build.classpath,
    'org.bolide.compat.Scenarios',
    '--namesrv',
    namesrvAddr,
    '--scenario',
    scenario,
    '--log-dir',
    logDir,
    ...scenarioArgs(options),
  ];
  const started = Date.now();
  const { code, stdout, stderr, timedOut } = await new Promise<{
    code: number | null;
    stdout: string;
    stderr: string;
    timedOut: boolean;
  }>((resolve) => {
    const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const errLog = createWriteStream(path.join(logDir, 'driver.stderr.log'));
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => {
      errLog.write(c);
      stderr = tail(stderr + c.toString('utf8'), 16_000);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, hardTimeout);
    const done = (code: number | null) => {
      clearTimeout(timer);
      errLog.end();
      resolve({ code, stdout, stderr, timedOut });
    };
    child.on('error', (e) => {
      stderr += String(e);
      done(null);
    });
    child.on('close', done);
  });
  const durationMs = Date.now() - started;
  const line = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('{'))
    .pop();
  if (!line) {
    throw new Error(
      `${scenario} (client ${version}) printed no result ${timedOut ? `and was killed after ${hardTimeout} ms` : `(exit code ${code})`}; logs in ${logDir}\n${tail(stderr)}`,
    );
  }
  const parsed = JSON.parse(line) as Omit<ScenarioResult<D>, 'exitCode' | 'durationMs' | 'stderrTail' | 'logDir'>;
  const result: ScenarioResult<D> = { ...parsed, exitCode: code, durationMs, stderrTail: tail(stderr), logDir };
  if (result.ok && !options.logDir && !process.env.BOLIDE_COMPAT_KEEP_LOGS) {
    await rm(logDir, { recursive: true, force: true });
  }
  return result;
}

// ------------------------------------------------------------------------------------------------ mqadmin

export const MQADMIN_VERSION = '5.3.3';
export const mqadminProjectDir = path.join(repoRoot, 'test', 'compat', 'mqadmin');

export interface MqadminBuild {
  version: string;
  /** Runtime classpath of rocketmq-tools, ready for `java -cp`. */
  classpath: string;
  dir: string;
  /** Resolved by this call (false: taken from the cache). */
  resolved: boolean;
  resolveMs: number;
}

async function cachedMqadmin(dir: string, version: string, hash: string): Promise<MqadminBuild | null> {
  try {
    const stamp = JSON.parse(await readFile(path.join(dir, 'stamp.json'), 'utf8')) as { hash: string };
    if (stamp.hash !== hash) return null;
    const classpath = (await readFile(path.join(dir, 'classpath.txt'), 'utf8')).trim();
    const entries = classpath.split(path.delimiter).filter(Boolean);
    if (entries.length === 0 || !entries.every((e) => existsSync(e))) return null;
    if (!entries.some((e) => path.basename(e).startsWith('rocketmq-tools-'))) return null;
    return { version, classpath: entries.join(path.delimiter), dir, resolved: false, resolveMs: 0 };
  } catch {
    return null;
  }
}

const mqadminBuilds = new Map<string, Promise<MqadminBuild>>();

/**
 * Apache's mqadmin (rocketmq-tools) for one version: its classpath resolved by Maven on first use and cached
 * in .test-cache/mqadmin/<version>/ (classpath.txt + stamp.json), under the same lock as the driver builds.
 */
export function ensureMqadmin(version: string = MQADMIN_VERSION): Promise<MqadminBuild> {
  if (!/^\d+\.\d+\.\d+$/.test(version)) return Promise.reject(new Error(`bad rocketmq-tools version ${version}`));
  let build = mqadminBuilds.get(version);
  if (!build) {
    build = resolveMqadmin(version);
    build.catch(() => mqadminBuilds.delete(version));
    mqadminBuilds.set(version, build);
  }
  return build;
}

async function resolveMqadmin(version: string): Promise<MqadminBuild> {
  assertJavaTools();
  const dir = path.join(testCacheDir, 'mqadmin', version);
  const pom = path.join(mqadminProjectDir, 'pom.xml');
  const hash = createHash('sha256').update(`rocketmq-tools ${version}\n`).update(await readFile(pom)).digest('hex');
  const cached = await cachedMqadmin(dir, version, hash);
  if (cached) return cached;
  return withCacheLock('maven', async () => {
    const again = await cachedMqadmin(dir, version, hash);
    if (again) return again;
    const started = Date.now();
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const logFile = path.join(dir, 'resolve.log');
    const result = await runCommand(
      'mvn',
      ['-B', '-q', '-Dstyle.color=never', '-f', pom, `-Drocketmq.version=${version}`,
        `-Dmdep.outputFile=${path.join(dir, 'classpath.txt')}`, 'dependency:build-classpath'],
      { logFile, timeoutMs: 15 * 60_000 },
    );
    if (result.code !== 0) {
      throw new Error(`resolving rocketmq-tools ${version} failed (log ${logFile}):\n${tail(result.output)}`);
    }
    await writeFile(path.join(dir, 'stamp.json'), JSON.stringify({ hash, version, resolvedAt: new Date().toISOString() }));
    const built = await cachedMqadmin(dir, version, hash);
    if (!built) throw new Error(`rocketmq-tools ${version} resolved but its classpath is incomplete (see ${logFile})`);
    return { ...built, resolved: true, resolveMs: Date.now() - started };
  });
}

export interface MqadminResult {
  command: string;
  args: string[];
  code: number | null;
  /** stdout + stderr, in arrival order. */
  output: string;
  durationMs: number;
}

/** JVM options for mqadmin: small heap, fast start. */
const MQADMIN_JVM_ARGS = ['-Xms32m', '-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xshare:auto'];

/**
 * Runs `mqadmin <command> <args...> -n <namesrvAddr>` (MQAdminStartup) with user.home and the client log root in
 * `homeDir`, so nothing lands in the real home directory.
 */
export async function runMqadmin(
  namesrvAddr: string,
  command: string,
  args: string[],
  options: { homeDir: string; version?: string; timeoutMs?: number },
): Promise<MqadminResult> {
  const build = await ensureMqadmin(options.version ?? MQADMIN_VERSION);
  await mkdir(path.join(options.homeDir, 'logs'), { recursive: true });
  const started = Date.now();
  const jvm = [
    ...MQADMIN_JVM_ARGS,
    `-Duser.home=${options.homeDir}`,
    `-Drocketmq.client.logRoot=${path.join(options.homeDir, 'logs')}`,
    `-Drocketmq.log.root=${path.join(options.homeDir, 'logs')}`,
    `-Drocketmq.home.dir=${options.homeDir}`,
    '-Drocketmq.client.logUseSlf4j=false',
  ];
  const result = await runCommand(
    'java',
    [...jvm, '-cp', build.classpath, 'org.apache.rocketmq.tools.command.MQAdminStartup', command, ...args, '-n', namesrvAddr],
    { timeoutMs: options.timeoutMs ?? 90_000 },
  );
  return { command, args, code: result.code, output: result.output, durationMs: Date.now() - started };
}
