// Runs test/support/start-bolide.ts (a Bolide NameServer + broker) as a child process and
// returns their addresses. The child's stdin is a pipe: if this process dies, the pipe
// closes and the child shuts itself down.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BROKER_NODE_FLAGS } from '../../ts/cli/node-flags.js';
import { terminateChild } from './child-stop.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface BolideProcess {
  namesrvAddr: string;
  brokerAddr: string;
  brokerName: string;
  /** host:port of the HTTP gateway (null with --gatewayEnable=false). */
  gatewayAddr: string | null;
  pid: number;
  workDir: string;
  startupMs: number;
  stop(): Promise<void>;
}

/**
 * Starts NameServer + broker in one child process; `brokerArgs` are `--key=value` broker.conf keys. With
 * `--namesrvAddr=host:port` among them only a broker starts, registered to that NameServer.
 * `prepare` runs before the start with the (empty) storePathRootDir, e.g. to write config files.
 */
export async function startBolideProcess(
  brokerArgs: string[] = [], startTimeoutMs = 60_000, prepare?: (storeDir: string) => Promise<void>,
): Promise<BolideProcess> {
  const started = Date.now();
  const workDir = await mkdtemp(path.join(tmpdir(), 'bolide-proc-'));
  if (prepare !== undefined) await prepare(path.join(workDir, 'store'));
  const log = createWriteStream(path.join(workDir, 'bolide.log'));
  const child: ChildProcess = spawn(process.execPath, [
    ...BROKER_NODE_FLAGS, '--import=tsx', path.join(repoRoot, 'test/support/start-bolide.ts'),
    `--storePathRootDir=${path.join(workDir, 'store')}`, ...brokerArgs,
  ], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stderr?.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const line = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`Bolide did not start within ${startTimeoutMs} ms (log: ${workDir}/bolide.log)`)), startTimeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const newline = buffered.indexOf('\n');
      if (newline >= 0) {
        clearTimeout(timer);
        resolve(buffered.slice(0, newline));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`Bolide exited with ${code} before starting (log: ${workDir}/bolide.log)`));
    });
  });
  const info = JSON.parse(line) as { namesrvAddr: string; brokerAddr: string; brokerName: string; gatewayAddr: string | null };
  let stopped = false;
  return {
    ...info,
    pid: child.pid ?? -1,
    workDir,
    startupMs: Date.now() - started,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await terminateChild(child, exited, 15_000);
      log.end();
      if (process.env['BOLIDE_KEEP_WORKDIR'] !== '1') await rm(workDir, { recursive: true, force: true });
    },
  };
}
