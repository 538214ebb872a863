// Runs test/support/start-bolide.ts in broker-only mode (one Bolide broker, registering with name servers the test
// runs itself) as a child process. Unlike bolide-process.ts the store directory and port are
// the caller's, so a broker can be killed (SIGKILL: a crash) and started again on the same store
// at the same address.
import { BROKER_NODE_FLAGS } from '../../ts/cli/node-flags.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface BrokerProcess {
  brokerAddr: string;
  pid: number;
  /** SIGKILL (no shutdown at all) and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (clean shutdown) and wait for the exit. */
  stop(): Promise<void>;
}

/** Starts a broker; `args` are `--key=value` broker.conf keys; stderr goes to `logFile`. */
export async function startBrokerProcess(args: string[], logFile: string, startTimeoutMs = 60_000): Promise<BrokerProcess> {
  const log = createWriteStream(logFile, { flags: 'a' });
  // start-bolide.ts with --namesrvAddr starts the broker alone (no name server of its own).
  const child: ChildProcess = spawn(process.execPath, [...BROKER_NODE_FLAGS, '--import=tsx', path.join(repoRoot, 'test/support/start-bolide.ts'), ...args], {
    cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stderr?.pipe(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`the broker did not start within ${startTimeoutMs} ms (log: ${logFile})`)), startTimeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const newline = buffered.indexOf('\n');
      if (newline >= 0) {
        clearTimeout(timer);
        resolve(buffered.slice(0, newline));
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the broker exited before starting (log: ${logFile})`));
    });
  });
  const { brokerAddr } = JSON.parse(line) as { brokerAddr: string };
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    log.end();
  };
  return { brokerAddr, pid: child.pid ?? -1, kill: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free port p whose VIP port p − 2 is free too (a broker restarted on it keeps its address). */
export async function freePortPair(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (await canBind(port) && await canBind(port - 2)) return port;
  }
}
