// The SDK as an application gets it: `npm pack` of the bolide-client workspace, installed from the tarball
// into a scratch project outside the repository (no Rust, no storage addon, no repo node_modules on the
// resolution path), then used with both `import` and `require` to create a topic, send a message and
// receive it from a Bolide broker child process. The tarball is also checked for what it must not ship.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { startBolideProcess, type BolideProcess } from '../support/bolide-process.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const work = mkdtempSync(path.join(tmpdir(), 'bolide-sdk-package-'));
const scratch = path.join(work, 'app');
let tarball = '';
let packedFiles: string[] = [];
let broker: BolideProcess | undefined;

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

test.before(async () => {
  run(npm, ['run', 'build', '-w', 'bolide-client'], repoRoot);
  // Scripts are skipped here because the build just ran; the JSON report lists every packed file.
  const report = JSON.parse(run(npm, ['pack', '-w', 'bolide-client', '--ignore-scripts', '--json',
    '--pack-destination', work], repoRoot)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = path.join(work, report[0]!.filename);
  packedFiles = report[0]!.files.map((file) => file.path);
  mkdirSync(scratch, { recursive: true });
  writeFileSync(path.join(scratch, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true }, null, 2));
  // Its only dependencies (the pure-JS codecs) come from the npm cache when present.
  run(npm, ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], scratch);
  broker = await startBolideProcess();
});

test.after.always(async () => {
  await broker?.stop();
  rmSync(work, { recursive: true, force: true });
});

test('the tarball holds compiled ESM, CommonJS and .d.ts of the SDK and the protocol code it shares', (t) => {
  for (const file of [
    'package.json', 'README.md',
    'dist/esm/sdk/index.js', 'dist/esm/sdk/index.d.ts', 'dist/cjs/sdk/index.js', 'dist/cjs/sdk/index.d.ts',
    'dist/cjs/package.json', 'dist/esm/protocol/index.js', 'dist/cjs/protocol/index.js',
    'dist/esm/remoting/client.js', 'dist/esm/common/errors.js', 'dist/esm/sdk/compression.js',
  ]) t.true(packedFiles.includes(file), `${file} is packed`);
  t.deepEqual(packedFiles.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts')), [], 'no TypeScript sources');
});

test('the tarball holds no native addon, no broker/namesrv/store/config/cli code and no tests', (t) => {
  t.deepEqual(packedFiles.filter((file) => file.endsWith('.node') || /binding\.c?js$/.test(file)), []);
  t.deepEqual(packedFiles.filter((file) => /(^|\/)(broker|namesrv|store|config|cli)\//.test(file)), []);
  t.deepEqual(packedFiles.filter((file) => /(^|\/)test\/|\.test\.|\.spec\./.test(file)), []);
});

test('package.json exports the entry point with import, require and types conditions', (t) => {
  const manifest = JSON.parse(readFileSync(path.join(scratch, 'node_modules/bolide-client/package.json'), 'utf8')) as {
    exports: Record<string, Record<string, Record<string, string>>>; dependencies: Record<string, string>;
  };
  const root = manifest.exports['.']!;
  t.is(root['import']!['types'], './dist/esm/sdk/index.d.ts');
  t.is(root['import']!['default'], './dist/esm/sdk/index.js');
  t.is(root['require']!['types'], './dist/cjs/sdk/index.d.ts');
  t.is(root['require']!['default'], './dist/cjs/sdk/index.js');
  t.deepEqual(Object.keys(manifest.dependencies).sort(), ['flatbuffers', 'fzstd', 'lz4js', 'ws']);
});

test('installing the tarball pulls in only the SDK, its two pure-JS codecs, flatbuffers and ws (GatewayClient)', (t) => {
  const installed = readdirSync(path.join(scratch, 'node_modules')).filter((name) => !name.startsWith('.'));
  t.deepEqual(installed.sort(), ['bolide-client', 'flatbuffers', 'fzstd', 'lz4js', 'ws']);
});

// One script body for both module systems: create a topic, send a small and a compressed (> 4 KiB, zlib) message,
// receive both with a push consumer, print what arrived. It must exit by itself (all sockets and timers released).
const SCRIPT_BODY = `
const [namesrvAddr, topic] = process.argv.slice(2);
async function main() {
  const admin = new Admin({ namesrvAddr, logger: silentLogger });
  await admin.start();
  await admin.createTopic(topic, { queueNums: 2 });
  await admin.waitForRoute(topic, 15000);
  await admin.shutdown();
  const producer = new Producer({ groupName: topic + '-p', namesrvAddr, logger: silentLogger });
  await producer.start();
  const bodies = ['hello from ' + FLAVOUR, FLAVOUR.repeat(3000)];
  const sent = [];
  for (const body of bodies) sent.push(await producer.send({ topic, body, tags: 'TagA', keys: ['k-' + FLAVOUR] }));
  await producer.shutdown();
  const consumer = new PushConsumer({
    groupName: topic + '-c', namesrvAddr, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', logger: silentLogger,
  });
  consumer.subscribe(topic, '*');
  const received = [];
  const done = new Promise((resolve) => consumer.onMessage(async (messages) => {
    for (const m of messages) received.push(m);
    if (received.length >= bodies.length) resolve();
  }));
  await consumer.start();
  await done;
  await consumer.shutdown();
  console.log(JSON.stringify({
    resolved: RESOLVED,
    sent: sent.map((r) => r.msgId),
    received: received.map((m) => ({ msgId: m.msgId, body: m.body.toString('utf8'), tags: m.tags, keys: m.keys,
      compressed: (m.sysFlag & 1) === 1 })),
  }));
}
main().catch((error) => { console.error(error); process.exitCode = 1; });
`;

const ESM_SCRIPT = `import { Admin, Producer, PushConsumer, silentLogger } from 'bolide-client';
const FLAVOUR = 'esm';
const RESOLVED = import.meta.resolve('bolide-client');
${SCRIPT_BODY}`;

const CJS_SCRIPT = `const { Admin, Producer, PushConsumer, silentLogger } = require('bolide-client');
const FLAVOUR = 'cjs';
const RESOLVED = require.resolve('bolide-client');
${SCRIPT_BODY}`;

interface ScriptOutput {
  resolved: string;
  sent: string[];
  received: Array<{ msgId: string; body: string; tags: string; keys: string[]; compressed: boolean }>;
}

async function runScript(file: string, source: string, topic: string): Promise<ScriptOutput> {
  writeFileSync(path.join(scratch, file), source);
  const child = spawn(process.execPath, [file, broker!.namesrvAddr, topic], { cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8'); });
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
  // A safety net so a hung script fails the test instead of the whole run; the script must exit by itself.
  const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(killer);
  if (code !== 0) throw new Error(`${file} exited with ${code}:\n${stderr}`);
  return JSON.parse(stdout.trim()) as ScriptOutput;
}

for (const [flavour, file, script, entry] of [
  ['import (ESM)', 'app.mjs', ESM_SCRIPT, 'dist/esm/sdk/index.js'],
  ['require (CommonJS)', 'app.cjs', CJS_SCRIPT, 'dist/cjs/sdk/index.js'],
] as const) {
  test.serial(`an application using ${flavour} of the installed tarball sends and receives through Bolide`, async (t) => {
    t.timeout(120_000);
    const topic = `pkg-${file.replace('.', '-')}-${Date.now().toString(36)}`;
    const output = await runScript(file, script, topic);
    const resolved = output.resolved.startsWith('file:') ? fileURLToPath(output.resolved) : output.resolved;
    t.is(resolved, path.join(scratch, 'node_modules/bolide-client', entry));
    const tag = file.endsWith('.mjs') ? 'esm' : 'cjs';
    const byId = new Map(output.received.map((m) => [m.msgId, m]));
    t.is(byId.size, 2);
    t.is(byId.get(output.sent[0]!)?.body, `hello from ${tag}`);
    t.is(byId.get(output.sent[1]!)?.body, tag.repeat(3000));
    t.true(byId.get(output.sent[1]!)?.compressed, 'the 9000-byte body travelled compressed');
    for (const m of output.received) {
      t.is(m.tags, 'TagA');
      t.deepEqual(m.keys, [`k-${tag}`]);
    }
  });
}

test.serial('the installed type declarations check under NodeNext for both import and require', (t) => {
  writeFileSync(path.join(scratch, 'check.mts'),
    "import { Producer, type SendResult } from 'bolide-client';\n" +
    "const p: Producer = new Producer({ groupName: 'g', namesrvAddr: '127.0.0.1:9876' });\n" +
    'export const send = (): Promise<SendResult> => p.send({ topic: "T", body: "x" });\n');
  writeFileSync(path.join(scratch, 'check.cts'),
    "import sdk = require('bolide-client');\n" +
    "const p: sdk.Producer = new sdk.Producer({ groupName: 'g', namesrvAddr: '127.0.0.1:9876' });\n" +
    'export const send = (): Promise<sdk.SendResult> => p.send({ topic: "T", body: "x" });\n');
  const tsc = path.join(repoRoot, 'node_modules/typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution',
    'nodenext', '--target', 'es2022', '--typeRoots', path.join(repoRoot, 'node_modules/@types'), '--types', 'node',
    'check.mts', 'check.cts'], { cwd: scratch, encoding: 'utf8' });
  t.is(result.status, 0, result.stdout + result.stderr);
});
