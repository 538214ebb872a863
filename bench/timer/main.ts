// Timer benchmark: schedule N messages (TIMER_DELIVER_MS, random within WINDOW_MS) through a
// broker's send path in-process, then report delivery lateness (delivered copy's store time −
// requested time, kept as TIMER_OUT_MS) p50/p99/max and the process's RssAnon with all timers pending.
//
//   node --import=tsx bench/timer/main.ts [count=200000] [windowMs=30000]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerController } from '../../ts/broker/index.js';
import { silentLogger } from '../../ts/common/index.js';
import { RemotingClient } from '../../ts/remoting/index.js';
import { decodeStoredMessages, ResponseCode } from '../../ts/protocol/index.js';
import { pullRequest, sendRequest } from '../../test/support/broker.js';

function rssAnonMiB(): number {
  const match = /RssAnon:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 200_000);
  const windowMs = Number(process.argv[3] ?? 30_000);
  const dir = mkdtempSync(join(tmpdir(), 'bolide-timer-bench-'));
  const broker = new BrokerController({
    logger: silentLogger, listenHost: '127.0.0.1', listenPort: 0, brokerIP1: '127.0.0.1', storePathRootDir: dir,
    mappedFileSizeCommitLog: 256 * 1024 * 1024,
  });
  await broker.start();
  const client = new RemotingClient({ logger: silentLogger });
  const topic = 'TimerBench';
  const rssBefore = rssAnonMiB();
  const start = Date.now();
  const inflight = new Set<Promise<unknown>>();
  for (let i = 0; i < count; i++) {
    // Relative to each send, so every message is a timer (sending 1 M takes about a minute).
    const due = Date.now() + 1000 + Math.floor(Math.random() * windowMs);
    const p = client.invoke(broker.brokerAddr, sendRequest({
      topic, queueId: i % 4, body: 'x'.repeat(64), properties: { TIMER_DELIVER_MS: String(due) },
    })).then((r) => { if (r.code !== ResponseCode.SUCCESS) throw new Error(r.remark ?? String(r.code)); });
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
    if (inflight.size >= 512) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  const sentMs = Date.now() - start;
  const rssPending = rssAnonMiB();
  const pendingAtPeak = count - broker.store.maxOffset(topic, 0) - broker.store.maxOffset(topic, 1) - broker.store.maxOffset(topic, 2) - broker.store.maxOffset(topic, 3);
  const lateness: number[] = [];
  const offsets = [0, 0, 0, 0];
  while (lateness.length < count) {
    const before = lateness.length;
    for (let q = 0; q < 4; q++) {
      const r = await client.invoke(broker.brokerAddr, pullRequest({ topic, queueId: q, queueOffset: offsets[q]!, maxMsgNums: 256 }));
      if (r.code !== ResponseCode.SUCCESS) continue;
      for (const m of decodeStoredMessages(r.body ?? Buffer.alloc(0))) {
        lateness.push(m.storeTimestamp - Number(m.properties['TIMER_OUT_MS']));
        offsets[q] = m.queueOffset + 1;
      }
    }
    if (lateness.length === before) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  lateness.sort((a, b) => a - b);
  const pct = (p: number) => lateness[Math.min(lateness.length - 1, Math.floor(lateness.length * p))];
  console.log(JSON.stringify({
    count, windowMs, sendMs: sentMs, sendsPerSec: Math.round(count / (sentMs / 1000)),
    latenessMs: { min: lateness[0], p50: pct(0.5), p99: pct(0.99), max: lateness.at(-1) },
    rssAnonMiB: { before: Math.round(rssBefore), afterSends: Math.round(rssPending) }, pendingAfterSends: pendingAtPeak,
  }));
  client.close();
  await broker.shutdown();
  rmSync(dir, { recursive: true, force: true });
}

await main();
