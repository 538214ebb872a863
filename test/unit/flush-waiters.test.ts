import test from 'ava';
import { FlushWaiters } from '../../ts/store/flush-waiters.js';
import { StoreError } from '../../ts/store/errors.js';

function fakeClock() {
  let now = 0;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

test('a flush report resolves every waiter it covers and no other', async (t) => {
  const clock = fakeClock();
  const waiters = new FlushWaiters({ now: clock.now });
  const settled: number[] = [];
  const promises = [100, 200, 300].map((end) => waiters.wait(end, 5000).then(() => settled.push(end)));
  waiters.flushed(250);
  await Promise.resolve();
  await Promise.resolve();
  t.deepEqual(settled, [100, 200]);
  t.is(waiters.pending, 1);
  waiters.flushed(300);
  await Promise.all(promises);
  t.deepEqual(settled, [100, 200, 300]);
  t.is(waiters.pending, 0);
});

test('waiters not covered within the timeout fail with FLUSH_DISK_TIMEOUT', async (t) => {
  const clock = fakeClock();
  const waiters = new FlushWaiters({ now: clock.now });
  const late = waiters.wait(500, 5000);
  const later = (clock.advance(1000), waiters.wait(600, 5000));
  clock.advance(4500);
  waiters.sweep();
  const error = await t.throwsAsync(late, { instanceOf: StoreError });
  t.is(error?.code, 'FLUSH_DISK_TIMEOUT');
  t.is(waiters.pending, 1, 'the younger waiter still has time');
  waiters.flushed(600);
  await t.notThrowsAsync(later);
});

test('an offset already flushed resolves at once and a failed flush rejects everyone', async (t) => {
  const waiters = new FlushWaiters();
  waiters.flushed(1000);
  await t.notThrowsAsync(waiters.wait(999, 10));
  const pending = waiters.wait(2000, 5000);
  waiters.flushed(1000, 'EIO');
  const error = await t.throwsAsync(pending, { instanceOf: StoreError });
  t.is(error?.code, 'FLUSH_FAILED');
});
