// Child process of bench/e2e/main.ts: fills a broker store quickly through ts/store MessageStore directly
// (batches of 64 x 64 KiB bodies), with the store options the benchmark's broker uses, so the broker can be
// started on it afterwards.
//
//   node --import=tsx bench/e2e/store-writer.ts <storeDir> <bytes> <segmentBytes> clean|crash
//
// clean: writes <bytes>, flushes, waits for dispatch, closes, prints `DONE <commitLogMaxOffset>`, exits 0.
// crash: writes forever, printing `WROTE <bytes>` after every batch; the parent SIGKILLs it mid-write.
import { MessageStore } from '../../ts/store/index.js';

const [dir, bytesText, segmentText, mode] = process.argv.slice(2);
if (!dir || !bytesText || !segmentText || (mode !== 'clean' && mode !== 'crash')) {
  throw new Error('usage: store-writer <storeDir> <bytes> <segmentBytes> clean|crash');
}
const target = Number(bytesText);

// Must match the broker started by bench/e2e/main.ts (test/support/start-bolide.ts defaults + the overrides).
const store = MessageStore.open({
  storePathRootDir: dir,
  mappedFileSizeCommitLog: Number(segmentText),
  consumeQueueEntriesPerFile: 300_000,
  maxHashSlotNum: 50_000,
  maxIndexNum: 200_000,
  flushDiskType: 'ASYNC_FLUSH',
  diskMaxUsedSpaceRatio: 95,
  diskCleanForciblyRatio: 97,
  diskFullRatio: 99,
  deleteWhen: [],
});

const body = Buffer.alloc(64 * 1024, 0x42);
const properties = Buffer.from('TAGS\u0001BigTag\u0002');
const batch = Array.from({ length: 64 }, (_, i) => ({ topic: 'BenchBigStore', queueId: i % 8, body, properties }));
const start = store.commitLogMaxOffset;
let written = 0;
let nextReport = 0;
const started = performance.now();
while (mode === 'crash' || written < target) {
  store.appendBatch(batch);
  written = store.commitLogMaxOffset - start;
  if (mode === 'crash' || written >= nextReport) {
    process.stdout.write(`WROTE ${written}\n`);
    nextReport += 256 << 20;
  }
}
store.flushAll();
store.waitDispatched(300_000);
const max = store.commitLogMaxOffset;
store.close();
process.stdout.write(`DONE ${max} ${Math.round(performance.now() - started)}\n`);
