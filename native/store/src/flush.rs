//! CommitLog flushing.
//!
//! SYNC_FLUSH is a group commit: appends wake the flusher, which makes everything written so
//! far durable with one msync of the dirty range and then reports the new flushed offset once.
//! Appends that arrive while an msync is running are covered by the next one, so the number of
//! syncs grows with time, not with the number of waiting appends.
//!
//! ASYNC_FLUSH flushes every `flush_interval_commit_log_ms` once at least
//! `flush_commit_log_least_pages` pages are dirty, and everything at least every
//! `flush_commit_log_thorough_interval_ms`.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::commit_log::CommitLog;
use crate::config::{FlushDiskType, StoreConfig};
use crate::mapped_file::PAGE_SIZE;

/// What the flusher reports after each sync.
#[derive(Debug, Clone)]
pub struct FlushEvent {
    pub flushed_offset: u64,
    /// Set when the sync failed; waiters past `flushed_offset` should fail.
    pub error: Option<String>,
}

pub type FlushListener = Arc<dyn Fn(FlushEvent) + Send + Sync>;

#[derive(Default)]
struct FlushState {
    requested: bool,
    stopping: bool,
}

pub(crate) struct FlushShared {
    state: Mutex<FlushState>,
    wake: Condvar,
    listener: Mutex<Option<FlushListener>>,
}

pub struct FlushService {
    shared: Arc<FlushShared>,
    thread: Option<JoinHandle<()>>,
    mode: FlushDiskType,
}

impl FlushService {
    pub fn start(commit_log: Arc<CommitLog>, config: &StoreConfig) -> FlushService {
        let shared = Arc::new(FlushShared {
            state: Mutex::new(FlushState::default()),
            wake: Condvar::new(),
            listener: Mutex::new(None),
        });
        let worker = shared.clone();
        let settings = Settings::from(config);
        let thread = std::thread::Builder::new()
            .name("bolide-flush".into())
            .spawn(move || match settings.mode {
                FlushDiskType::SyncFlush => run_group_commit(&worker, &commit_log),
                FlushDiskType::AsyncFlush => run_periodic(&worker, &commit_log, &settings),
            })
            .ok();
        FlushService { shared, thread, mode: config.flush_disk_type }
    }

    pub fn set_listener(&self, listener: Option<FlushListener>) {
        *self.shared.listener.lock().expect("listener lock") = listener;
    }

    /// Called after an append in SYNC_FLUSH mode: start (or queue) a group commit.
    pub fn request(&self) {
        if self.mode == FlushDiskType::SyncFlush {
            let mut state = self.shared.state.lock().expect("flush lock");
            if !state.requested {
                state.requested = true;
                self.shared.wake.notify_one();
            }
        }
    }

    pub fn mode(&self) -> FlushDiskType {
        self.mode
    }

    /// Stop the thread; the caller then flushes everything itself.
    pub fn stop(&mut self) {
        self.shared.state.lock().expect("flush lock").stopping = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for FlushService {
    fn drop(&mut self) {
        self.stop();
    }
}

#[derive(Clone, Copy)]
struct Settings {
    mode: FlushDiskType,
    interval: Duration,
    least_bytes: u64,
    thorough_interval: Duration,
}

impl From<&StoreConfig> for Settings {
    fn from(config: &StoreConfig) -> Self {
        Settings {
            mode: config.flush_disk_type,
            interval: Duration::from_millis(config.flush_interval_commit_log_ms.max(1)),
            least_bytes: config.flush_commit_log_least_pages * PAGE_SIZE,
            thorough_interval: Duration::from_millis(config.flush_commit_log_thorough_interval_ms.max(1)),
        }
    }
}

fn flush_and_report(shared: &FlushShared, commit_log: &CommitLog) {
    // Staged records (deferred pwrite) are written first: the sync covers them too.
    let committed = commit_log.commit();
    let target = commit_log.write_position();
    if committed.is_ok() && target <= commit_log.flushed_position() {
        return;
    }
    let event = match committed.and_then(|_| commit_log.flush_to(target)) {
        Ok(flushed_offset) => FlushEvent { flushed_offset, error: None },
        Err(error) => FlushEvent { flushed_offset: commit_log.flushed_position(), error: Some(error.to_string()) },
    };
    let listener = shared.listener.lock().expect("listener lock").clone();
    if let Some(listener) = listener {
        listener(event);
    }
}

fn run_group_commit(shared: &FlushShared, commit_log: &CommitLog) {
    loop {
        {
            let mut state = shared.state.lock().expect("flush lock");
            while !state.requested && !state.stopping {
                // The timeout is a safety net only: requests normally wake us at once.
                state = shared.wake.wait_timeout(state, Duration::from_millis(10)).expect("flush lock").0;
                if commit_log.appended_position() > commit_log.flushed_position() {
                    break;
                }
            }
            if state.stopping {
                return;
            }
            state.requested = false;
        }
        flush_and_report(shared, commit_log);
    }
}

fn run_periodic(shared: &FlushShared, commit_log: &CommitLog, settings: &Settings) {
    let mut last_thorough = Instant::now();
    loop {
        {
            let state = shared.state.lock().expect("flush lock");
            let (state, _) = shared
                .wake
                .wait_timeout_while(state, settings.interval, |state| !state.stopping)
                .expect("flush lock");
            if state.stopping {
                return;
            }
        }
        let dirty = commit_log.appended_position().saturating_sub(commit_log.flushed_position());
        let thorough_due = last_thorough.elapsed() >= settings.thorough_interval;
        if dirty >= settings.least_bytes || (thorough_due && dirty > 0) {
            flush_and_report(shared, commit_log);
        }
        if thorough_due {
            last_thorough = Instant::now();
        }
    }
}
