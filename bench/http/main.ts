// bench:http — HTTP produce through the gateway, beside bare hello endpoints measured in the
// same run (uWebSockets.js and node:http, each in its own process), all driven by autocannon
// with pipelining so the generator is not the limit. Figures, not pass/fail.
//
//   npm run bench:http
//   BENCH_HTTP_SECONDS=10 BENCH_HTTP_CONNECTIONS=32 BENCH_HTTP_PIPELINING=16 BENCH_HTTP_BODY=128
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startBolideProcess, type BolideProcess } from '../../test/support/bolide-process.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const seconds = Number(process.env['BENCH_HTTP_SECONDS'] ?? 10);
const connections = Number(process.env['BENCH_HTTP_CONNECTIONS'] ?? 32);
const pipelining = Number(process.env['BENCH_HTTP_PIPELINING'] ?? 16);
const bodySize = Number(process.env['BENCH_HTTP_BODY'] ?? 128);

interface Row {
  name: string;
  reqPerSec: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function helloServer(kind: 'uws' | 'node'): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import=tsx', path.join(repoRoot, 'bench/http/hello-servers.ts'), kind], {
    cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('exit', (code) => reject(new Error(`${kind} hello server exited with ${code}`)));
  });
  return { port, child };
}

async function load(name: string, url: string, method: 'GET' | 'POST', body?: Buffer,
  shape: { connections: number; pipelining: number } = { connections, pipelining }): Promise<Row> {
  const result = await autocannon({
    url, method, connections: shape.connections, pipelining: shape.pipelining, duration: seconds,
    ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/octet-stream' } }),
  });
  return {
    name, reqPerSec: result.requests.average, p50: result.latency.p50, p99: result.latency.p99,
    non2xx: result.non2xx, errors: result.errors,
  };
}

function print(rows: Row[], reference: Row): void {
  const pad = (text: string, width: number) => text.padEnd(width);
  const num = (n: number, width: number) => Math.round(n).toLocaleString('en-US').padStart(width);
  console.log(`${pad('endpoint', 56)} ${'req/s'.padStart(10)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'non2xx'.padStart(7)} ${'errors'.padStart(7)}  ratio to bare uWS`);
  for (const r of rows) {
    console.log(`${pad(r.name, 56)} ${num(r.reqPerSec, 10)} ${String(r.p50).padStart(7)} ${String(r.p99).padStart(7)} ${num(r.non2xx, 7)} ${num(r.errors, 7)}  ${(r.reqPerSec / reference.reqPerSec).toFixed(2)}`);
  }
}

async function main(): Promise<void> {
  console.log(`# bolide bench:http (node ${process.version}, autocannon ${connections} connections x pipelining ${pipelining}, ${seconds} s per run, ${bodySize} B bodies)`);
  const body = Buffer.alloc(bodySize, 'x');
  const rows: Row[] = [];
  const uws = await helloServer('uws');
  const node = await helloServer('node');
  let bolide: BolideProcess | undefined;
  try {
    const bareUws = await load('bare uWebSockets.js POST (hello)', `http://127.0.0.1:${uws.port}/`, 'POST', body);
    rows.push(bareUws);
    rows.push(await load('bare node:http POST (hello)', `http://127.0.0.1:${node.port}/`, 'POST', body));
    for (const flush of ['ASYNC_FLUSH', 'SYNC_FLUSH']) {
      bolide = await startBolideProcess([`--flushDiskType=${flush}`, '--mappedFileSizeCommitLog=1073741824']);
      const base = `http://${bolide.gatewayAddr}`;
      // Create the topic first so the run measures steady produce, not auto-creation.
      await fetch(`${base}/topics/BenchHttp/messages`, { method: 'POST', body });
      // uWebSockets.js does not support HTTP pipelining for answers given after the request's
      // callback (uNetworking/uWebSockets.js#277): a SYNC_FLUSH answer waits for the group commit,
      // so that run uses as many connections as the others have requests in flight, unpipelined.
      const shape = flush === 'SYNC_FLUSH' ? { connections: Math.min(connections * pipelining, 512), pipelining: 1 } : { connections, pipelining };
      rows.push(await load(`gateway POST /topics/T/messages ${flush} (${shape.connections}x${shape.pipelining})`, `${base}/topics/BenchHttp/messages`, 'POST', body, shape));
      rows.push(await load(`gateway GET /healthz (${flush} broker)`, `${base}/healthz`, 'GET'));
      await bolide.stop();
      bolide = undefined;
    }
    print(rows, bareUws);
  } finally {
    await bolide?.stop();
    uws.child.kill();
    node.child.kill();
  }
}

await main();
