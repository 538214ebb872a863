import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { tempDir } from '../support/temp.js';

// The CLI runs in temp directories, where a bare `--import=tsx` would not resolve.
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
const CLI = [`--import=${tsxLoader}`, join(process.cwd(), 'ts/cli/main.ts')];

function run(args: string[], cwd: string) {
  const child = spawn(process.execPath, [...CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  return { child, stderr: () => stderr };
}

test('bolide dev starts a NameServer and a broker on loopback and shuts down cleanly on SIGTERM', async (t) => {
  const cwd = tempDir(t);
  const { child, stderr } = run(['dev', '--namesrvListenPort=0', '--listenPort=0', '--gatewayPort=0'], cwd);
  const lines: string[] = [];
  for await (const line of createInterface({ input: child.stdout })) {
    lines.push(line);
    if (line.includes('HTTP gateway:')) break;
  }
  t.regex(lines[0] ?? '', /^NameServer listening on 127\.0\.0\.1:\d+$/);
  t.regex(lines[1] ?? '', /^Broker broker-a \(cluster DefaultCluster\) listening on 127\.0\.0\.1:\d+/);
  const gateway = (lines.at(-1) ?? '').match(/HTTP gateway: (http:\/\/127\.0\.0\.1:\d+)/)?.[1];
  t.truthy(gateway, lines.join('\n'));
  const health = await fetch(`${gateway}/healthz`);
  t.is(health.status, 200);
  const store = join(cwd, '.bolide', 'store');
  t.true(existsSync(join(store, 'abort')), 'a running store has its abort marker');
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number];
  t.is(code, 0, stderr());
  t.false(existsSync(join(store, 'abort')), 'a clean shutdown removes the abort marker');
  t.true(existsSync(join(store, 'config', 'consumerOffset.json')));
});

test('a config error names the key and the line and exits with status 2', async (t) => {
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'broker.conf'), 'brokerName = b\nlistenPrt = 10911\n');
  const { child, stderr } = run(['broker', '-c', 'broker.conf'], cwd);
  const [code] = (await once(child, 'exit')) as [number];
  t.is(code, 2);
  t.regex(stderr(), /broker\.conf:2: unknown config key listenPrt/);
});

test('an unknown command prints the usage and exits with status 2', async (t) => {
  const { child, stderr } = run(['frobnicate'], tempDir(t));
  const [code] = (await once(child, 'exit')) as [number];
  t.is(code, 2);
  t.regex(stderr(), /unknown command "frobnicate"[\s\S]*Usage: bolide/);
});
