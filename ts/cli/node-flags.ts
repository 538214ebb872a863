// V8 flags every broker process runs with (the `bolide` shebang, `npm start`, and the test and
// benchmark harnesses that start brokers).
//
// Node sizes the V8 heap from the machine's memory, so on a large host a busy broker lets
// garbage pile up to hundreds of MiB before a major GC: bench:e2e measured RssAnon 425-539 MiB
// at peak while the live heap after a GC was ~30 MiB. A broker's live JS data is small and
// bounded (send de-duplication window, client tables, POP state); message bytes live in the
// CommitLog mapping, not the heap. A capped old space makes the GC run before RSS grows: the
// same load (bench/http/mem-probe.ts, SDK producer, 64 in flight) then stayed near 160 MiB
// RssAnon instead of 331 MiB. Override with NODE_OPTIONS
// (e.g. NODE_OPTIONS=--max-old-space-size=1024) for very large deployments (sendDedupMaxKeys,
// tens of thousands of connections).
export const BROKER_NODE_FLAGS: readonly string[] = ['--max-old-space-size=256'];
