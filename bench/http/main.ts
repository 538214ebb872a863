// bench:http — HTTP produce through the gateway, beside bare hello endpoints measured in the
// same run (uWebSockets.js and node:http, each in its own process), all driven by autocannon
// with pipelining so the generator is not the limit. Figures, not pass/fail.
//
//   npm run bench:http
//   BENCH_HTTP_SECONDS=5 BENCH_HTTP_ROUNDS=3 BENCH_HTTP_CONNECTIONS=32 BENCH_HTTP_PIPELINING=16 BENCH_HTTP_BODY=128
//
// The ASYNC_FLUSH produce figure and its reference (the bare uWebSockets.js endpoint) are taken
// in alternating rounds and each reported as the median: on a shared machine the load changes
// within a run, and a reference measured once, minutes apart, skews the ratio either way.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { WebSocket } from 'ws';
import { decodeGatewayFrame, encodeGatewayFrame } from '../../ts/protocol/gateway-frames.js';
import { startCompiledBroker, type CompiledBroker } from './compiled-broker.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const seconds = Number(process.env['BENCH_HTTP_SECONDS'] ?? 5);
const rounds = Math.max(1, Number(process.env['BENCH_HTTP_ROUNDS'] ?? 3));
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
  /** Ratio to the reference when it is not simply reqPerSec / reference (paired rounds). */
  ratio?: number;
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

/**
 * WebSocket produce: `sockets` connections, each keeping `inFlight` Produce frames (one message
 * of `bodySize` bytes) outstanding; counts ProduceAcks per second over `seconds`.
 */
async function wsProduce(url: string, sockets: number, inFlight: number): Promise<{ rate: number; errors: number }> {
  const body = new Uint8Array(bodySize).fill(120);
  let acked = 0;
  let errors = 0;
  const deadline = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: sockets }, async () => {
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    let requestId = 0;
    const sendOne = () => ws.send(encodeGatewayFrame({ type: 'produce', requestId: ++requestId, topic: 'BenchWs', queueId: -1, messages: [{ body }] }));
    await new Promise<void>((resolve) => {
      ws.on('message', (data: Buffer) => {
        const frame = decodeGatewayFrame(new Uint8Array(data));
        if (frame.type === 'produceAck') acked += 1;
        else errors += 1;
        if (Date.now() < deadline) sendOne();
        else resolve();
      });
      for (let i = 0; i < inFlight; i += 1) sendOne();
    });
    ws.close();
  }));
  return { rate: acked / seconds, errors };
}

function print(rows: Row[], reference: Row): void {
  const pad = (text: string, width: number) => text.padEnd(width);
  const num = (n: number, width: number) => Math.round(n).toLocaleString('en-US').padStart(width);
  console.log(`${pad('endpoint', 72)} ${'req/s'.padStart(10)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'non2xx'.padStart(7)} ${'errors'.padStart(7)}  ratio to bare uWS`);
  for (const r of rows) {
    console.log(`${pad(r.name, 72)} ${num(r.reqPerSec, 10)} ${String(r.p50).padStart(7)} ${String(r.p99).padStart(7)} ${num(r.non2xx, 7)} ${num(r.errors, 7)}  ${(r.ratio ?? r.reqPerSec / reference.reqPerSec).toFixed(2)}`);
  }
}

/** The row with the median req/s of `runs` (an odd count is typical; the lower middle otherwise). */
function median(runs: Row[]): Row {
  const sorted = [...runs].sort((a, b) => a.reqPerSec - b.reqPerSec);
  return sorted[Math.floor((sorted.length - 1) / 2)] as Row;
}

async function main(): Promise<void> {
  console.log(`# bolide bench:http (node ${process.version}, autocannon ${connections} connections x pipelining ${pipelining}, ${seconds} s per run, ${bodySize} B bodies, ASYNC_FLUSH produce and bare uWS in ${rounds} alternating rounds, medians; the broker is the compiled bolide dev, as npm start runs it)`);
  const body = Buffer.alloc(bodySize, 'x');
  const rows: Row[] = [];
  const wsRows: string[] = [];
  const roundLines: string[] = [];
  const uws = await helloServer('uws');
  const node = await helloServer('node');
  let bolide: CompiledBroker | undefined;
  try {
    const bareUwsUrl = `http://127.0.0.1:${uws.port}/`;
    const bareRuns: Row[] = [];
    let bareUws = await load('bare uWebSockets.js POST (hello)', bareUwsUrl, 'POST', body);
    rows.push(bareUws);
    rows.push(await load('bare node:http POST (hello)', `http://127.0.0.1:${node.port}/`, 'POST', body));
    for (const flush of ['ASYNC_FLUSH', 'SYNC_FLUSH']) {
      bolide = await startCompiledBroker([`--flushDiskType=${flush}`]);
      const base = `http://${bolide.gatewayAddr}`;
      // Create the topic first so the run measures steady produce, not auto-creation.
      await fetch(`${base}/topics/BenchHttp/messages`, { method: 'POST', body });
      // uWebSockets.js does not support HTTP pipelining for answers given after the request's
      // callback (uNetworking/uWebSockets.js#277): a SYNC_FLUSH answer waits for the group commit,
      // so that run uses as many connections as the others have requests in flight, unpipelined.
      const shape = flush === 'SYNC_FLUSH' ? { connections: Math.min(connections * pipelining, 512), pipelining: 1 } : { connections, pipelining };
      const produceName = `gateway POST /topics/T/messages ${flush} (${shape.connections}x${shape.pipelining})`;
      if (flush === 'ASYNC_FLUSH') {
        // Alternate: bare, produce, bare, produce... (the first bare run was taken above).
        const produceRuns: Row[] = [];
        bareRuns.push(bareUws);
        for (let round = 0; round < rounds; round++) {
          if (round > 0) bareRuns.push(await load('bare uWebSockets.js POST (hello)', bareUwsUrl, 'POST', body));
          produceRuns.push(await load(produceName, `${base}/topics/BenchHttp/messages`, 'POST', body, shape));
        }
        bareUws = median(bareRuns);
        rows[0] = { ...bareUws, name: `bare uWebSockets.js POST (hello), median of ${bareRuns.length}` };
        const produced = median(produceRuns);
        // Each produce run against the bare run just before it; the median of those ratios is
        // the figure (robust to the machine's load drifting during the run).
        const pairRatios = produceRuns.map((r, i) => r.reqPerSec / (bareRuns[i] as Row).reqPerSec);
        const pairRatio = [...pairRatios].sort((a, b) => a - b)[Math.floor((pairRatios.length - 1) / 2)] as number;
        rows.push({ ...produced, name: `${produceName}, median of ${produceRuns.length}`, ratio: pairRatio });
        roundLines.push(`rounds (req/s, bare uWS -> produce, ratio): ${produceRuns.map((r, i) => `${Math.round((bareRuns[i] as Row).reqPerSec)} -> ${Math.round(r.reqPerSec)} ${(pairRatios[i] as number).toFixed(2)}`).join('; ')}`);
        roundLines.push(`ASYNC_FLUSH produce / bare uWS, median of per-round ratios: ${pairRatio.toFixed(2)} (target >= 0.50)`);
      } else {
        rows.push(await load(produceName, `${base}/topics/BenchHttp/messages`, 'POST', body, shape));
      }
      rows.push(await load(`gateway GET /healthz (${flush} broker)`, `${base}/healthz`, 'GET'));
      const ws = await wsProduce(`ws://${bolide.gatewayAddr}/ws`, 4, 64);
      wsRows.push(`WebSocket produce ${flush} (4 sockets x 64 in flight, FlatBuffers): ${Math.round(ws.rate).toLocaleString('en-US')} msg/s, ${ws.errors} errors, ratio to bare uWS HTTP ${(ws.rate / bareUws.reqPerSec).toFixed(2)}`);
      await bolide.stop();
      bolide = undefined;
    }
    print(rows, bareUws);
    for (const line of roundLines) console.log(line);
    for (const line of wsRows) console.log(line);
  } finally {
    await bolide?.stop();
    uws.child.kill();
    node.child.kill();
  }
}

await main();
