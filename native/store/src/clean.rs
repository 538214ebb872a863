//! Retention and disk protection (RocketMQ's CleanCommitLogService and disk checks).
//!
//! - At the `deleteWhen` hours, or at any hour once disk usage passes
//!   `diskMaxUsedSpaceRatio`, CommitLog segments older than `fileReservedTime` are deleted.
//! - Above the clean-forcibly ratio the oldest segment goes even before it expires.
//! - Above the disk-full ratio appends fail with `DiskFull`; stored data is untouched, and
//!   appends succeed again once a pass sees usage below the limit.
//!
//! Only segments that are completely written, flushed and dispatched can go, never the one
//! being written. Removing a segment unlinks its file; its mapping stays valid until the
//! last reader, transfer or JS Buffer drops it (see `mapped_file.rs`), so nothing can SIGBUS.
//! ConsumeQueue and index files that only point below the new minimum go with it.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crate::config::StoreConfig;
use crate::dispatch::DispatchContext;
use crate::error::{Result, StoreError};
use crate::thread_priority::{lower_current_thread, Helper};

/// Reports how full the disk holding a path is, in percent (0..=100).
pub trait DiskUsageProbe: Send + Sync {
    fn used_percent(&self, path: &Path) -> std::io::Result<f64>;
}

/// The real probe: statvfs of the store's file system.
pub struct StatvfsProbe;

impl DiskUsageProbe for StatvfsProbe {
    fn used_percent(&self, path: &Path) -> std::io::Result<f64> {
        use std::os::unix::ffi::OsStrExt;
        let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
        let mut stat = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
        // SAFETY: `c_path` is a valid NUL-terminated string and `stat` points to writable memory
        // of the right type; statvfs fills it on success.
        let rc = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: statvfs returned 0, so the struct is initialised.
        let stat = unsafe { stat.assume_init() };
        let total = stat.f_blocks as f64;
        if total == 0.0 {
            return Ok(0.0);
        }
        Ok((total - stat.f_bavail as f64) / total * 100.0)
    }
}

/// What one retention pass did.
#[derive(Debug, Clone, Copy, Default)]
pub struct CleanReport {
    pub used_percent: f64,
    pub deleted_segments: usize,
    pub disk_full: bool,
}

struct Shared {
    config: StoreConfig,
    context: Arc<DispatchContext>,
    probe: Arc<dyn DiskUsageProbe>,
    disk_full: AtomicBool,
    used_percent_bits: AtomicU64,
    pass_lock: Mutex<()>,
}

pub struct CleanService {
    shared: Arc<Shared>,
    signal: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl CleanService {
    pub fn start(config: StoreConfig, context: Arc<DispatchContext>, probe: Arc<dyn DiskUsageProbe>) -> CleanService {
        let interval = Duration::from_millis(config.clean_resource_interval_ms.max(10));
        let lower_priority = config.lower_helper_thread_priority;
        let shared = Arc::new(Shared {
            config,
            context,
            probe,
            disk_full: AtomicBool::new(false),
            used_percent_bits: AtomicU64::new(0),
            pass_lock: Mutex::new(()),
        });
        // The first pass runs now, so a store opened on a full disk refuses appends at once.
        let _ = shared.run_once();
        let signal = Arc::new((Mutex::new(false), Condvar::new()));
        let (worker, worker_signal) = (shared.clone(), signal.clone());
        let thread = std::thread::Builder::new()
            .name("bolide-clean".into())
            .spawn(move || {
                lower_current_thread(Helper::Clean, lower_priority);
                let (lock, condvar) = &*worker_signal;
                loop {
                    let stopping = lock.lock().expect("clean lock");
                    let (stopping, _) = condvar
                        .wait_timeout_while(stopping, interval, |stopping| !*stopping)
                        .expect("clean lock");
                    if *stopping {
                        return;
                    }
                    drop(stopping);
                    let _ = worker.run_once();
                }
            })
            .ok();
        CleanService { shared, signal, thread }
    }

    /// `Err(DiskFull)` while the last pass saw usage at or above the disk-full ratio.
    pub fn check_writable(&self) -> Result<()> {
        if self.shared.disk_full.load(Ordering::Acquire) {
            return Err(StoreError::DiskFull {
                used_percent: f64::from_bits(self.shared.used_percent_bits.load(Ordering::Relaxed)),
                limit_percent: self.shared.config.disk_full_ratio,
            });
        }
        Ok(())
    }

    pub fn run_once(&self) -> Result<CleanReport> {
        self.shared.run_once()
    }

    pub fn used_percent(&self) -> f64 {
        f64::from_bits(self.shared.used_percent_bits.load(Ordering::Relaxed))
    }

    pub fn stop(&mut self) {
        *self.signal.0.lock().expect("clean lock") = true;
        self.signal.1.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for CleanService {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Shared {
    fn probe(&self) -> f64 {
        // A failing probe must not stop appends: treat it as "not full".
        let used = self.probe.used_percent(&self.config.store_path_root_dir).unwrap_or(0.0);
        self.used_percent_bits.store(used.to_bits(), Ordering::Relaxed);
        used
    }

    fn run_once(&self) -> Result<CleanReport> {
        let _pass = self.pass_lock.lock().expect("clean pass lock");
        let used = self.probe();
        let config = &self.config;
        let at_delete_hour = config.delete_when.contains(&local_hour());
        let over_max = used >= f64::from(config.disk_max_used_space_ratio);
        let forcibly = used >= f64::from(config.disk_clean_forcibly_ratio);
        let mut deleted = 0;
        if at_delete_hour || over_max || forcibly {
            deleted = self.delete_segments(forcibly)?;
        }
        let used = if deleted > 0 { self.probe() } else { used };
        let disk_full = used >= f64::from(config.disk_full_ratio);
        self.disk_full.store(disk_full, Ordering::Release);
        Ok(CleanReport { used_percent: used, deleted_segments: deleted, disk_full })
    }

    /// Delete expired segments (oldest first); with `forcibly`, at least the oldest one.
    fn delete_segments(&self, forcibly: bool) -> Result<usize> {
        let commit_log = &self.context.commit_log;
        let reserved = Duration::from_secs(self.config.file_reserved_time_hours * 3600);
        let done = commit_log.flushed_position().min(self.context_dispatched());
        let mut delete_below = None;
        for (position, segment) in commit_log.segments().iter().enumerate() {
            let end = segment.file_from_offset() + commit_log.segment_size();
            if end > done {
                break;
            }
            let expired = std::fs::metadata(segment.path())
                .and_then(|m| m.modified())
                .ok()
                .and_then(|modified| SystemTime::now().duration_since(modified).ok())
                .is_some_and(|age| age >= reserved);
            if expired || (forcibly && position == 0) {
                delete_below = Some(end);
            } else {
                break;
            }
        }
        let Some(below) = delete_below else { return Ok(0) };
        let removed = commit_log.remove_segments_before(below)?;
        let min_offset = commit_log.min_offset() as i64;
        self.context.consume_queues.delete_expired(min_offset)?;
        if let Some(index) = &self.context.index {
            index.delete_expired(min_offset)?;
        }
        self.context.stats.segments_deleted.fetch_add(removed.len() as u64, Ordering::Relaxed);
        Ok(removed.len())
    }

    fn context_dispatched(&self) -> u64 {
        self.context.dispatched_offset.load(Ordering::Acquire)
    }
}

/// The current hour of the day in local time (deleteWhen is local, as in RocketMQ).
fn local_hour() -> u32 {
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs()) as libc::time_t;
    let mut tm = std::mem::MaybeUninit::<libc::tm>::zeroed();
    // SAFETY: both pointers are valid; localtime_r is the thread-safe variant.
    let result = unsafe { libc::localtime_r(&now, tm.as_mut_ptr()) };
    if result.is_null() {
        return 0;
    }
    // SAFETY: localtime_r succeeded, so `tm` is initialised.
    u32::try_from(unsafe { tm.assume_init() }.tm_hour).unwrap_or(0)
}
