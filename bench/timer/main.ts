// Timer benchmark (figures, not pass/fail). A Bolide broker runs as its own process, so its
// memory is measured alone (/proc/<pid>/status RssAnon). In one run:
//   1. COUNT plain sends (the reference: send rate and RssAnon after them);
//   2. COUNT timer sends (TIMER_DELIVER_MS), all due within one WINDOW_MS window that starts after
//      the sends are expected to end, so all COUNT timers are pending at once: send rate and
//      RssAnon with them pending, beside the plain sends';
//   3. the deliveries: lateness (delivered copy's store time − requested time, kept as
//      TIMER_OUT_MS) p50 / p99 / max.
//
//   npm run bench:timer                   (1,000,000 timers within 60 s; about four minutes)
//   npm run bench:timer -- 200000 30000   (count, windowMs)
import { readFileSync } from 'node:fs';
import { silentLogger } from '../../ts/common/index.js';
import { RemotingClient } from '../../ts/remoting/index.js';
import { decodeStoredMessages, ResponseCode } from '../../ts/protocol/index.js';
import { pullRequest, sendRequest } from '../../test/support/broker.js';
import { startBolideProcess, type BolideProcess } from '../../test/support/bolide-process.js';

const QUEUES = 4;
const IN_FLIGHT = 512;

function rssAnonMiB(pid: number): number {
  const match = /RssAnon:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** Sends `count` messages with IN_FLIGHT outstanding; `properties(i)` per message. Returns msgs/s. */
async function sendAll(client: RemotingClient, brokerAddr: string, topic: string, count: number,
  properties: (i: number) => Record<string, string>): Promise<number> {
  const started = Date.now();
  const inflight = new Set<Promise<unknown>>();
  for (let i = 0; i < count; i++) {
    const p = client.invoke(brokerAddr, sendRequest({ topic, queueId: i % QUEUES, body: 'x'.repeat(64), properties: properties(i) }))
      .then((r) => { if (r.code !== ResponseCode.SUCCESS) throw new Error(`send refused: ${r.remark ?? r.code}`); });
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
    if (inflight.size >= IN_FLIGHT) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  return count / ((Date.now() - started) / 1000);
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 1_000_000);
  const windowMs = Number(process.argv[3] ?? 60_000);
  let bolide: BolideProcess | undefined;
  const client = new RemotingClient({ logger: silentLogger });
  try {
    // The gateway is on only for /metrics (the broker's own count of pending timers); no HTTP traffic.
    bolide = await startBolideProcess(['--mappedFileSizeCommitLog=1073741824']);
    const { brokerAddr, pid, gatewayAddr } = bolide;
    const timerMetrics = async (): Promise<{ pending: number; wheelBytes: number }> => {
      if (gatewayAddr === null) return { pending: Number.NaN, wheelBytes: Number.NaN };
      const text = await (await fetch(`http://${gatewayAddr}/metrics`)).text();
      const value = (name: string): number => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
      return { pending: value('bolide_timer_messages_pending'), wheelBytes: value('bolide_timer_wheel_bytes') };
    };
    console.log(`# bolide bench:timer (node ${process.version}, ${count.toLocaleString('en-US')} timers within ${windowMs / 1000} s, broker pid ${pid})`);
    const idle = rssAnonMiB(pid);

    const plainRate = await sendAll(client, brokerAddr, 'TimerBenchPlain', count, () => ({}));
    const afterPlain = rssAnonMiB(pid);

    // Due times start after the timer sends should be over (judged from the plain send rate).
    const windowStart = Date.now() + Math.ceil((count / plainRate) * 2500) + 10_000; // ms
    const timerTopic = 'TimerBench';
    const timerRate = await sendAll(client, brokerAddr, timerTopic, count,
      () => ({ TIMER_DELIVER_MS: String(windowStart + Math.floor(Math.random() * windowMs)) }));
    const pendingAt = Date.now();
    const withTimers = rssAnonMiB(pid);
    const atMeasurement = await timerMetrics();
    const late = pendingAt >= windowStart;

    const lateness: number[] = [];
    const offsets = new Array<number>(QUEUES).fill(0);
    let storedDirectly = 0;
    while (lateness.length + storedDirectly < count) {
      const before = lateness.length;
      for (let q = 0; q < QUEUES; q++) {
        const r = await client.invoke(brokerAddr, pullRequest({ topic: timerTopic, queueId: q, queueOffset: offsets[q]!, maxMsgNums: 256 }));
        if (r.code !== ResponseCode.SUCCESS) continue;
        for (const m of decodeStoredMessages(r.body ?? Buffer.alloc(0))) {
          const due = m.properties['TIMER_OUT_MS'];
          // A message whose time had passed when it was sent is stored directly, without a timer.
          if (due === undefined) storedDirectly++;
          else lateness.push(m.storeTimestamp - Number(due));
          offsets[q] = m.queueOffset + 1;
        }
      }
      if (lateness.length === before) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const afterDelivery = rssAnonMiB(pid);
    if (late) console.log(`note: the timer sends outlasted the estimate: ${storedDirectly} were due before they were sent (stored directly), some fired before memory was measured`);
    lateness.sort((a, b) => a - b);
    const pct = (p: number): number => lateness[Math.min(lateness.length - 1, Math.floor(lateness.length * p))] as number;
    const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
    const line = (label: string, value: string, reference: string, ratio?: number): void => {
      console.log(`${label.padEnd(46)} ${value.padStart(16)}   ref ${reference.padStart(28)}${ratio === undefined ? '' : `   ratio ${ratio.toFixed(2)}`}`);
    };
    line('timer sends', `${fmt(timerRate)} msg/s`, `${fmt(plainRate)} msg/s plain sends`, timerRate / plainRate);
    line(`broker RssAnon, ${fmt(count)} timers pending`, `${fmt(withTimers)} MiB`, `${fmt(afterPlain)} MiB after plain sends`, withTimers / afterPlain);
    line('  growth over the plain sends, per timer', `${((withTimers - afterPlain) * 1024 * 1024 / count).toFixed(1)} B`, `idle ${fmt(idle)} MiB`);
    line('  timers pending then (broker /metrics)', fmt(atMeasurement.pending), `wheel pool ${(atMeasurement.wheelBytes / 1048576).toFixed(1)} MiB`);
    line('broker RssAnon after every timer fired', `${fmt(afterDelivery)} MiB`, `${fmt(withTimers)} MiB pending`);
    line('delivery lateness p50', `${fmt(pct(0.5))} ms`, 'target p99 <= 100 ms');
    line('delivery lateness p99', `${fmt(pct(0.99))} ms`, 'target p99 <= 100 ms');
    line('delivery lateness max', `${fmt(lateness.at(-1) ?? 0)} ms`, `min ${fmt(lateness[0] ?? 0)} ms`);
  } finally {
    client.close();
    await bolide?.stop();
  }
}

await main();
