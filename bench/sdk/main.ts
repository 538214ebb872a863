// bench:sdk — the npm SDK's producer and push consumer through a Bolide broker, beside Apache's
// Java benchmark Producer / Consumer (rocketmq-example) run against the same broker in the same
// run: the ratio shows what the SDK itself costs. Figures, not pass/fail.
//
//   npm run bench:sdk
//   BENCH_SDK_SECONDS=10 BENCH_SDK_CONCURRENCY=64 BENCH_SIZES=128,1024 BENCH_TOOL_VERSION=5.5.0
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Admin, Producer, PushConsumer, silentLogger } from '../../ts/sdk/index.js';
import { startBolideProcess } from '../../test/support/bolide-process.js';
import { consumeFigures, ensureBenchmarkTool, produceFigures, startTool } from '../e2e/apache-tools.js';

const seconds = Number(process.env['BENCH_SDK_SECONDS'] ?? 10);
const concurrency = Number(process.env['BENCH_SDK_CONCURRENCY'] ?? 64);
const sizes = (process.env['BENCH_SIZES'] ?? '128,1024').split(',').map(Number);
const toolVersion = process.env['BENCH_TOOL_VERSION'] || '5.5.0';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function line(label: string, value: string, reference: string, ratio: number): void {
  console.log(`${label.padEnd(44)} ${value.padStart(16)}   ref ${reference.padStart(18)}   ratio ${ratio.toFixed(2)}`);
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** SDK producer: `concurrency` sends in flight for `seconds`; then a push consumer drains them. */
async function sdkCell(namesrvAddr: string, topic: string, size: number) {
  const producer = new Producer({ groupName: `bench-sdk-p-${size}`, namesrvAddr, logger: silentLogger });
  await producer.start();
  const body = Buffer.alloc(size, 0x61);
  const latencies: number[] = [];
  let sent = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      await producer.send({ topic, body });
      latencies.push(performance.now() - t0);
      sent += 1;
    }
  }));
  const sendSeconds = (performance.now() - started) / 1000;
  await producer.shutdown();
  latencies.sort((a, b) => a - b);

  let received = 0;
  const consumer = new PushConsumer({ groupName: `bench-sdk-c-${size}`, namesrvAddr, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', logger: silentLogger });
  consumer.subscribe(topic, '*');
  consumer.onMessage((messages) => { received += messages.length; });
  const consumeStart = performance.now();
  await consumer.start();
  const consumeDeadline = consumeStart + 120_000;
  while (received < sent && performance.now() < consumeDeadline) await sleep(20);
  const consumeSeconds = (performance.now() - consumeStart) / 1000;
  await consumer.shutdown();
  return { sendRate: sent / sendSeconds, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), consumeRate: received / consumeSeconds, received, sent };
}

async function main(): Promise<void> {
  const workDir = mkdtempSync(path.join(tmpdir(), 'bolide-bench-sdk-'));
  const children = new Set<ChildProcess>();
  const lib = await ensureBenchmarkTool(toolVersion);
  const bolide = await startBolideProcess(['--mappedFileSizeCommitLog=1073741824']);
  console.log(`# bolide bench:sdk (node ${process.version}, Bolide broker ${bolide.brokerAddr}, ref = Apache's Java benchmark tools ${toolVersion} against the same broker, ${seconds} s per run)`);
  const admin = new Admin({ namesrvAddr: bolide.namesrvAddr, logger: silentLogger });
  await admin.start();
  try {
    for (const size of sizes) {
      const sdkTopic = `BenchSdk${size}`;
      const javaTopic = `BenchJava${size}`;
      for (const topic of [sdkTopic, javaTopic]) {
        await admin.createTopic(topic, { queueNums: 8 });
        await admin.waitForRoute(topic);
      }
      const sdk = await sdkCell(bolide.namesrvAddr, sdkTopic, size);

      const env = { lib, workDir, children };
      const consumer = startTool(env, 'Consumer', ['-n', bolide.namesrvAddr, '-t', javaTopic, '-g', `bench_java_c_${size}`, '-ri', '1000'],
        path.join(workDir, `consumer-${size}.log`));
      await consumer.waitFor(/Consumer Started/, 60_000);
      await sleep(2000);
      const produceStart = performance.now();
      const producer = startTool(env, 'Producer', ['-n', bolide.namesrvAddr, '-t', javaTopic, '-w', String(concurrency), '-s', String(size),
        '-ri', '1000', '-y', 'false'], path.join(workDir, `producer-${size}.log`));
      await sleep(Math.max(12, seconds) * 1000); // the tool reports over ~9 s windows
      const produceEnd = performance.now();
      await producer.stop();
      await sleep(1500);
      await consumer.stop();
      const javaProduce = produceFigures(producer.lines);
      const javaConsume = consumeFigures(consumer.lines, produceStart, produceEnd);

      console.log(`## ${size} B bodies, ${concurrency} sends in flight`);
      line('send throughput', `${fmt(sdk.sendRate)} msg/s`, `${fmt(javaProduce.tps)} msg/s Java`, sdk.sendRate / javaProduce.tps);
      line('send latency p50 (SDK) vs average RT (Java)', `${fmt(sdk.p50, 2)} ms`, `${fmt(javaProduce.avgRt, 2)} ms Java`, sdk.p50 / javaProduce.avgRt);
      console.log(`send latency p99 (SDK)                       ${fmt(sdk.p99, 2).padStart(13)} ms   (Java's tool prints no percentiles)`);
      line('consume throughput (SDK: backlog drain)', `${fmt(sdk.consumeRate)} msg/s`, `${fmt(javaConsume.tps)} msg/s Java`, sdk.consumeRate / javaConsume.tps);
      console.log(`   SDK consumed ${sdk.received} of ${sdk.sent} sent; Java tool windows used: produce ${javaProduce.source}, consume ${javaConsume.lines} line(s)`);
    }
  } finally {
    await admin.shutdown();
    for (const child of children) child.kill('SIGKILL');
    await bolide.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
