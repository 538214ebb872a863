// Child process for the crash test: appends SYNC_FLUSH messages forever and prints one line
// per acknowledged (durable) append: `ACK <index> <physicalOffset> <queueOffset>`.
// The parent kills it with SIGKILL at a moment of its choosing.
import { MessageStore } from '../../ts/store/index.js';
import { encodeProperties } from './properties.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: crash-writer <storeDir>');
const store = MessageStore.open({
  storePathRootDir: dir,
  mappedFileSizeCommitLog: 256 * 1024,
  maxMessageSize: 64 * 1024,
  consumeQueueEntriesPerFile: 1000,
  maxHashSlotNum: 1024,
  maxIndexNum: 4096,
  flushDiskType: 'SYNC_FLUSH',
  flushIntervalConsumeQueue: 20,
  diskMaxUsedSpaceRatio: 99,
  diskCleanForciblyRatio: 99,
  diskFullRatio: 100,
  deleteWhen: [],
});

export function crashBody(index: number): Buffer {
  return Buffer.from(`crash-test-body-${index}-${'z'.repeat(index % 200)}`);
}

let index = Number(process.argv[3] ?? 0);
// Keep several appends in flight so kills land between append and acknowledgement too.
const inFlight = 16;
function next(): void {
  const i = index++;
  const result = store.append({
    topic: 'CrashTopic',
    queueId: i % 4,
    body: crashBody(i),
    properties: encodeProperties({ KEYS: `k${i}` }),
  });
  store.waitFlushed(result.endOffset).then(
    () => {
      process.stdout.write(`ACK ${i} ${result.physicalOffset} ${result.queueOffset}\n`);
      next();
    },
    (error: unknown) => {
      process.stderr.write(`append ${i} failed: ${String(error)}\n`);
      process.exit(2);
    },
  );
}
for (let i = 0; i < inFlight; i++) next();
