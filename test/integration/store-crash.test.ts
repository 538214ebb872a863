import test from 'ava';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MessageStore } from '../../ts/store/index.js';
import { tempDir } from '../support/temp.js';

const OPTIONS = {
  mappedFileSizeCommitLog: 256 * 1024,
  maxMessageSize: 64 * 1024,
  consumeQueueEntriesPerFile: 1000,
  maxHashSlotNum: 1024,
  maxIndexNum: 4096,
  diskMaxUsedSpaceRatio: 99,
  diskCleanForciblyRatio: 99,
  diskFullRatio: 100,
  deleteWhen: [],
};

function body(index: number): Buffer {
  return Buffer.from(`crash-test-body-${index}-${'z'.repeat(index % 200)}`);
}

interface Ack {
  index: number;
  physicalOffset: number;
  queueOffset: number;
}

/** Run the writer child until it has acknowledged `acks` appends, then SIGKILL it. */
async function runAndKill(dir: string, acks: number, startIndex: number): Promise<Ack[]> {
  const child = spawn(process.execPath, ['--import=tsx', 'test/support/crash-writer.ts', dir, String(startIndex)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const seen: Ack[] = [];
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    const [tag, index, physicalOffset, queueOffset] = line.split(' ');
    if (tag !== 'ACK') continue;
    seen.push({ index: Number(index), physicalOffset: Number(physicalOffset), queueOffset: Number(queueOffset) });
    if (seen.length >= acks) {
      child.kill('SIGKILL');
      break;
    }
  }
  await new Promise((resolve) => child.once('exit', resolve));
  return seen;
}

function assertAllPresent(t: import('ava').ExecutionContext, store: MessageStore, acked: Ack[]): void {
  for (const ack of acked) {
    const record = store.messageAt(ack.physicalOffset);
    const expected = body(ack.index);
    // BODY sits after the fixed fields (84 bytes with IPv4 hosts) and its 4-byte length.
    t.true(record.subarray(88, 88 + expected.length).equals(expected), `record ${ack.index} intact`);
  }
}

test('every acknowledged SYNC_FLUSH append survives kill -9 at several points', async (t) => {
  const dir = tempDir(t);
  const acked: Ack[] = [];
  let nextIndex = 0;
  for (const killAfter of [50, 300, 1000, 7]) {
    const round = await runAndKill(dir, killAfter, nextIndex);
    t.true(round.length >= killAfter);
    acked.push(...round);
    nextIndex = Math.max(...acked.map((a) => a.index)) + 1000;
    const store = MessageStore.open({ storePathRootDir: dir, ...OPTIONS });
    t.true(store.recovery().wasAborted, 'the kill left the abort marker');
    assertAllPresent(t, store, acked);
    t.true(store.waitDispatched(5000));
    // Every acknowledged message is reachable through its ConsumeQueue too.
    const maxByQueue = [0, 1, 2, 3].map((q) => store.maxOffset('CrashTopic', q));
    for (const ack of acked) {
      t.true(ack.queueOffset < maxByQueue[ack.index % 4]!, `queue entry of ${ack.index}`);
    }
    store.close();
  }
  t.log(`${acked.length} acknowledged appends checked across 4 kills`);
});

test('a byte flipped in the unchecked tail is detected at recovery and never served', async (t) => {
  const dir = tempDir(t);
  const acked = await runAndKill(dir, 400, 0);
  // Flip a body byte of one of the last acknowledged records (after the last checkpoint).
  const victim = acked[acked.length - 3]!;
  const segmentSize = OPTIONS.mappedFileSizeCommitLog;
  const segments = readdirSync(join(dir, 'commitlog')).sort();
  const name = segments.find((s) => Number(s) === Math.floor(victim.physicalOffset / segmentSize) * segmentSize)!;
  const path = join(dir, 'commitlog', name);
  const bytes = readFileSync(path);
  const flipAt = (victim.physicalOffset % segmentSize) + 90;
  bytes[flipAt] = bytes[flipAt]! ^ 0xff;
  writeFileSync(path, bytes);
  writeFileSync(join(dir, 'checkpoint'), Buffer.alloc(0)); // force verification from the start
  const store = MessageStore.open({ storePathRootDir: dir, ...OPTIONS });
  t.teardown(() => store.close());
  const recovery = store.recovery();
  t.true(recovery.truncatedCorruptTail);
  t.is(recovery.endOffset, victim.physicalOffset);
  t.throws(() => store.messageAt(victim.physicalOffset));
  assertAllPresent(t, store, acked.filter((a) => a.physicalOffset < victim.physicalOffset));
  t.true(store.waitDispatched(5000));
  for (let q = 0; q < 4; q++) {
    const pull = store.getMessages('CrashTopic', q, 0, 100000, 64 << 20);
    for (const record of store.messageBuffers(pull)) {
      t.false(record.subarray(88).includes(body(victim.index)), 'the corrupt record is never served');
    }
  }
});
