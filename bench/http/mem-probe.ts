// Broker memory under a steady remoting load: a Bolide process (with BROKER_NODE_FLAGS) and an
// SDK producer with 64 sends in flight for 15 s, then idle; prints RssAnon (from /proc) and the
// broker's own heap figures (from its /metrics) every 1.5 s. Extra arguments are broker.conf
// overrides, e.g. --sendDedupEnable=false.
//   node --import=tsx bench/http/mem-probe.ts [--key=value ...]
import { startBolideProcess } from '../../test/support/bolide-process.js';
import { Producer, silentLogger } from '../../ts/sdk/index.js';
import { readFileSync } from 'node:fs';
const b = await startBolideProcess([...(process.argv.slice(2))]);
const base = `http://${b.gatewayAddr}`;
const p = new Producer({ groupName: 'mem', namesrvAddr: b.namesrvAddr, logger: silentLogger });
await p.start();
const body = Buffer.alloc(1024, 'x');
let stop = false; let sent = 0;
const workers = Array.from({ length: 64 }, async () => { while (!stop) { await p.send({ topic: 'Mem', body }); sent++; } });
const sample = async () => {
  const m = await (await fetch(`${base}/metrics`)).text();
  const v = (n: string) => (Number(m.match(new RegExp(`^${n}(?:\\{[^}]*\\})? (\\S+)$`, 'm'))?.[1]) / 1048576).toFixed(0);
  const st = readFileSync(`/proc/${b.pid}/status`, 'utf8');
  const anon = Number(st.match(/RssAnon:\s+(\d+)/)![1]) / 1024;
  console.log(`sent ${sent} rssAnon ${anon.toFixed(0)} heapUsed ${v('nodejs_heap_used_bytes')} external ${v('nodejs_external_memory_bytes')} rss ${v('process_resident_memory_bytes')}`);
};
for (let i = 0; i < 10; i++) { await new Promise((r) => setTimeout(r, 1500)); await sample(); }
stop = true; await Promise.all(workers); await p.shutdown();
for (let i = 0; i < 3; i++) { await new Promise((r) => setTimeout(r, 1500)); await sample(); }
await b.stop();
