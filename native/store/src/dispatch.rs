//! The dispatcher ("reput" in RocketMQ): reads records the CommitLog has published past the
//! dispatched offset and builds the ConsumeQueue entries and IndexFile keys for them, then
//! reports which queues grew, in one batch per round, so long-polling pulls can wake.
//!
//! Because an entry's position is derived from the record itself (its QUEUEOFFSET field),
//! dispatching a range twice writes the same bytes: recovery simply re-dispatches everything
//! after the checkpoint.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::commit_log::CommitLog;
use crate::consume_queue::{ConsumeQueueStore, CqEntry};
use crate::error::{Result, StoreError};
use crate::index_file::IndexService;
use crate::mapped_file::Segment;
use crate::record::{decode_record, Decoded, RecordView};
use crate::stats::StoreStats;
use crate::thread_priority::{lower_current_thread, Helper};

pub use crate::consume_queue::QueueGrowth;

pub type DispatchListener = Arc<dyn Fn(Vec<QueueGrowth>) + Send + Sync>;

/// Bytes dispatched per round before results are published (bounds latency under load).
const ROUND_BYTES_MAX: u64 = 4 << 20;

/// Everything the dispatch thread needs, shared with the store.
pub struct DispatchContext {
    pub commit_log: Arc<CommitLog>,
    pub consume_queues: Arc<ConsumeQueueStore>,
    pub index: Option<Arc<IndexService>>,
    pub stats: Arc<StoreStats>,
    /// Everything below is in the ConsumeQueues and the index (written by the dispatcher).
    pub dispatched_offset: Arc<AtomicU64>,
}

impl DispatchContext {
    /// Dispatch records in `[from, to)`; returns where it stopped (a record boundary).
    pub fn dispatch_range(&self, from: u64, to: u64) -> Result<(u64, Vec<QueueGrowth>)> {
        let mut offset = from;
        let mut dispatched = 0u64;
        let segment_size = self.commit_log.segment_size();
        // Decode against everything published: the last record of a round may end past
        // `to`, which only bounds how many records a round starts.
        let published = self.commit_log.write_position();
        // The segment being read, kept across records: looking it up per record (a lock and
        // a reference count) was a tenth of the dispatcher's time.
        let mut current: Option<Arc<Segment>> = None;
        let mut key = String::new();
        while offset < to {
            let in_current = current
                .as_ref()
                .is_some_and(|segment| offset >= segment.file_from_offset() && offset < segment.file_from_offset() + segment_size);
            if !in_current {
                current = Some(self.commit_log.readable_at(offset)?.0);
            }
            let segment = current.as_ref().expect("set just above");
            let base = segment.file_from_offset();
            let end = published.max(to).min(base + segment_size);
            let bytes = segment.slice((offset - base) as usize, (end - offset) as usize);
            match decode_record(bytes, false) {
                Ok(Decoded::Record(view)) => {
                    self.dispatch_record(&view, offset, &mut key)?;
                    offset += view.total_size as u64;
                    dispatched += 1;
                }
                Ok(Decoded::Blank { .. }) => {
                    offset = base + segment_size;
                }
                Ok(Decoded::End) => break,
                Err(error) => return Err(StoreError::Corrupt { offset, reason: error.to_string() }),
            }
        }
        let grown = self.consume_queues.commit_batch()?;
        self.stats.dispatched_messages.fetch_add(dispatched, Ordering::Relaxed);
        Ok((offset, grown))
    }

    /// `key` is a scratch buffer for the index keys, reused from record to record.
    fn dispatch_record(&self, view: &RecordView<'_>, offset: u64, key: &mut String) -> Result<()> {
        debug_assert_eq!(view.physical_offset as u64, offset, "record claims another position");
        if !view.takes_queue_offset() {
            return Ok(());
        }
        let entry = CqEntry { commit_log_offset: offset as i64, size: view.total_size as i32, tags_code: view.tags_code() };
        self.consume_queues.put(view.topic, view.queue_id, view.queue_offset, entry)?;
        if let Some(index) = &self.index {
            visit_index_keys(view, key, |key| index.put_key(key, offset as i64, view.store_timestamp).map(|_| ()))?;
        }
        Ok(())
    }
}

/// Calls `visit` with each of `topic#UNIQ_KEY` and `topic#<each KEYS word>` (as RocketMQ
/// indexes them), built in `key`; stops at the first error.
pub fn visit_index_keys<E>(
    view: &RecordView<'_>,
    key: &mut String,
    mut visit: impl FnMut(&str) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    let mut emit = |word: &str| {
        key.clear();
        key.push_str(view.topic);
        key.push('#');
        key.push_str(word);
        visit(key)
    };
    if let Some(unique) = view.property("UNIQ_KEY").and_then(|v| std::str::from_utf8(v).ok()) {
        if !unique.is_empty() {
            emit(unique)?;
        }
    }
    if let Some(words) = view.property("KEYS").and_then(|v| std::str::from_utf8(v).ok()) {
        for word in words.split(' ').filter(|w| !w.is_empty()) {
            emit(word)?;
        }
    }
    Ok(())
}

#[derive(Default)]
struct Signal {
    pending: bool,
    stopping: bool,
}

/// How long the worker lets appends accumulate after an append woke it (see `Worker::sleep`).
/// Bounds the extra latency a long-polling consumer sees on an otherwise idle broker.
const COALESCE_AFTER_WAKE: Duration = Duration::from_micros(200);

/// How long the worker waits before looking again after a round found work, while sends keep
/// coming (RocketMQ's reput service waits 1 ms). Each round that finds something ends with a
/// report into JS (a wake-up of the event loop and an array of queue objects), so under a
/// steady stream this bounds those reports to about a thousand a second.
const POLL_WHILE_BUSY: Duration = Duration::from_millis(1);

pub struct Dispatcher {
    context: Arc<DispatchContext>,
    dispatched: Arc<AtomicU64>,
    signal: Arc<(Mutex<Signal>, Condvar)>,
    idle: Arc<AtomicBool>,
    listener: Arc<Mutex<Option<DispatchListener>>>,
    last_error: Arc<Mutex<Option<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl Dispatcher {
    pub fn start(context: Arc<DispatchContext>, from: u64, lower_priority: bool) -> Dispatcher {
        context.dispatched_offset.store(from, Ordering::Release);
        let mut dispatcher = Dispatcher {
            dispatched: context.dispatched_offset.clone(),
            context,
            signal: Arc::new((Mutex::new(Signal::default()), Condvar::new())),
            idle: Arc::new(AtomicBool::new(false)),
            listener: Arc::new(Mutex::new(None)),
            last_error: Arc::new(Mutex::new(None)),
            thread: None,
        };
        let worker = Worker {
            context: dispatcher.context.clone(),
            dispatched: dispatcher.dispatched.clone(),
            signal: dispatcher.signal.clone(),
            idle: dispatcher.idle.clone(),
            listener: dispatcher.listener.clone(),
            last_error: dispatcher.last_error.clone(),
        };
        dispatcher.thread = std::thread::Builder::new()
            .name("bolide-dispatch".into())
            .spawn(move || {
                lower_current_thread(Helper::Dispatcher, lower_priority);
                worker.run()
            })
            .ok();
        dispatcher
    }

    pub fn set_listener(&self, listener: Option<DispatchListener>) {
        *self.listener.lock().expect("listener lock") = listener;
    }

    /// Everything below this offset is in the ConsumeQueues and the index.
    pub fn dispatched_offset(&self) -> u64 {
        self.dispatched.load(Ordering::Acquire)
    }

    /// The dispatched offset as a shared atomic, for the checkpoint thread.
    pub fn offset_handle(&self) -> Arc<AtomicU64> {
        self.dispatched.clone()
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().expect("error lock").clone()
    }

    /// Called after an append; cheap when the dispatcher is busy (no lock, no syscall).
    pub fn wake(&self) {
        // Pairs with the fence in `Worker::sleep`: either we see the worker idle, or it sees
        // the position we published before calling this.
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.idle.load(Ordering::Relaxed) {
            let (lock, condvar) = &*self.signal;
            lock.lock().expect("dispatch lock").pending = true;
            condvar.notify_one();
        }
    }

    /// Wait until everything written so far is dispatched (shutdown, tests).
    pub fn wait_caught_up(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        while self.dispatched_offset() < self.context.commit_log.appended_position() {
            if std::time::Instant::now() >= deadline || self.thread.is_none() {
                return false;
            }
            self.wake();
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }

    pub fn stop(&mut self) {
        {
            let (lock, condvar) = &*self.signal;
            lock.lock().expect("dispatch lock").stopping = true;
            condvar.notify_all();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Worker {
    context: Arc<DispatchContext>,
    dispatched: Arc<AtomicU64>,
    signal: Arc<(Mutex<Signal>, Condvar)>,
    idle: Arc<AtomicBool>,
    listener: Arc<Mutex<Option<DispatchListener>>>,
    last_error: Arc<Mutex<Option<String>>>,
}

impl Worker {
    fn run(self) {
        // Whether the last look found work: then linger once more before going idle.
        let mut busy = false;
        loop {
            if self.signal.0.lock().expect("dispatch lock").stopping {
                return;
            }
            let from = self.dispatched.load(Ordering::Relaxed);
            // Staged records (deferred pwrite) are written here at the latest, so consumers
            // see them within a round even when no flush comes.
            let target = match self.context.commit_log.commit() {
                Ok(target) => target,
                Err(error) => {
                    *self.last_error.lock().expect("error lock") = Some(error.to_string());
                    std::thread::sleep(Duration::from_millis(100));
                    self.context.commit_log.write_position()
                }
            };
            if from < target {
                self.round(from, target.min(from + ROUND_BYTES_MAX));
                busy = true;
                continue;
            }
            if busy {
                // Under a steady stream of sends, poll rather than park: a parked worker
                // costs every burst of appends a futex wake-up on the JS thread (16,000 a
                // second under HTTP produce load, perf). Not idle meanwhile, so appends skip
                // the notify; the first look that finds nothing parks.
                busy = false;
                std::thread::sleep(POLL_WHILE_BUSY);
                continue;
            }
            if !self.sleep() {
                return;
            }
        }
    }

    fn round(&self, from: u64, to: u64) {
        match self.context.dispatch_range(from, to) {
            Ok((end, grown)) => {
                self.dispatched.store(end, Ordering::Release);
                if grown.is_empty() {
                    return;
                }
                let listener = self.listener.lock().expect("listener lock").clone();
                if let Some(listener) = listener {
                    listener(grown);
                }
            }
            Err(error) => {
                // Keep the error visible and retry later rather than spin on it.
                *self.last_error.lock().expect("error lock") = Some(error.to_string());
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// Park until woken by an append (or a short timeout); false when stopping.
    fn sleep(&self) -> bool {
        let (lock, condvar) = &*self.signal;
        let mut signal = lock.lock().expect("dispatch lock");
        self.idle.store(true, Ordering::Relaxed);
        std::sync::atomic::fence(Ordering::SeqCst);
        // Re-check after announcing idleness: an append may have published in between.
        if self.context.commit_log.appended_position() > self.dispatched.load(Ordering::Relaxed) {
            self.idle.store(false, Ordering::Release);
            return !signal.stopping;
        }
        while !signal.pending && !signal.stopping {
            let (guard, timeout) = condvar.wait_timeout(signal, Duration::from_millis(50)).expect("dispatch lock");
            signal = guard;
            if timeout.timed_out() {
                break;
            }
        }
        let woken = signal.pending;
        signal.pending = false;
        self.idle.store(false, Ordering::Release);
        let stopping = signal.stopping;
        drop(signal);
        if woken && !stopping {
            // Coalesce: appends arriving one per request would otherwise cost a wake-up, a
            // one-message round and a listener call (a hop into JS) each. While we linger the
            // worker is not idle, so those appends skip the notify; the next round takes them all.
            std::thread::sleep(COALESCE_AFTER_WAKE);
        }
        !stopping
    }
}
