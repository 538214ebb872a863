// Starts the broker the way users run it: the compiled CLI (`node dist/ts/cli/main.js dev`,
// what `npm start` runs), not the TypeScript sources through tsx. Why: tsx compiles with
// esbuild's keepNames, which wraps every closure created on a hot path in an
// Object.defineProperty call; under bench:http that was 7-8% of the broker's CPU (perf), a
// cost the shipped build does not have.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BROKER_NODE_FLAGS } from '../../ts/cli/node-flags.js';
import { terminateChild } from '../../test/support/child-stop.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const cli = path.join(repoRoot, 'dist/ts/cli/main.js');

export interface CompiledBroker {
  /** host:port of the HTTP gateway. */
  gatewayAddr: string;
  stop(): Promise<void>;
}

/** NameServer + broker (`bolide dev`) on free ports with a temporary store; `brokerArgs` are broker.conf overrides. */
export async function startCompiledBroker(brokerArgs: string[], startTimeoutMs = 60_000): Promise<CompiledBroker> {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build:ts (npm install does it)`);
  const workDir = await mkdtemp(path.join(tmpdir(), 'bolide-bench-'));
  const child: ChildProcess = spawn(process.execPath, [
    ...BROKER_NODE_FLAGS, cli, 'dev', '--namesrvListenPort=0', '--listenPort=0', '--gatewayPort=0',
    `--storePathRootDir=${path.join(workDir, 'store')}`, ...brokerArgs,
  ], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const gatewayAddr = await new Promise<string>((resolve, reject) => {
    let printed = '';
    const timer = setTimeout(() => reject(new Error(`the broker did not start within ${startTimeoutMs} ms:\n${stderr}`)), startTimeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
      const match = /HTTP gateway: http:\/\/([^\s]+)/.exec(printed);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the broker exited with ${code} before starting:\n${stderr}`));
    });
  });
  let stopped = false;
  return {
    gatewayAddr,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await terminateChild(child, exited, 15_000);
      await rm(workDir, { recursive: true, force: true });
    },
  };
}
