//! Creates the next CommitLog segment in the background (create, fallocate, map, optionally
//! pre-touch) so that an append crossing a segment boundary does not wait for the file system.
//! If the allocator is behind, the appender creates the segment itself and counts a stall.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use crate::error::Result;
use crate::mapped_file::Segment;
use crate::stats::StoreStats;
use crate::thread_priority::{lower_current_thread, Helper};

#[derive(Default)]
struct Slot {
    /// The offset the writer will need next.
    wanted: Option<u64>,
    ready: Option<(u64, Result<Segment>)>,
    prefault: Option<PrefaultJob>,
    stopping: bool,
}

/// What is done to the window ahead of the write head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AheadWork {
    /// Appends write the mapping: fault its pages in writable (`Segment::prefault`).
    Prefault,
    /// Appends reach the file by pwrite: bring its pages into the page cache without mapping
    /// them (`Segment::preload`).
    Preload,
    /// Appends by pwrite, `zeroFillAhead`: write zeros there and wait for the disk
    /// (`Segment::zero_fill_ahead`).
    ZeroFill,
}

/// Work behind and ahead of the write head, done off the writer's thread.
pub struct PrefaultJob {
    pub segment: Arc<Segment>,
    /// The window just ahead of the head to pre-fault.
    pub pos: usize,
    pub len: usize,
    pub ahead: AheadWork,
    /// Written pages before this are unmapped (see `Segment::unmap_written`).
    pub unmap_before: usize,
    /// Written pages before this are handed to writeback (see `Segment::start_writeback`).
    pub write_back_before: Option<usize>,
}

struct Shared {
    slot: Mutex<Slot>,
    changed: Condvar,
}

/// How the allocator prepares segments.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllocatorOptions {
    /// Touch every page of a new segment before it is used (`warmMappedFile`).
    pub warm: bool,
    /// Run the allocator thread below the request path's priority (`thread_priority`).
    pub lower_priority: bool,
}

pub struct SegmentAllocator {
    dir: PathBuf,
    segment_size: u64,
    warm: bool,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    stats: Arc<StoreStats>,
}

impl SegmentAllocator {
    pub fn start(dir: PathBuf, segment_size: u64, options: AllocatorOptions, stats: Arc<StoreStats>) -> SegmentAllocator {
        let AllocatorOptions { warm, lower_priority } = options;
        let shared = Arc::new(Shared { slot: Mutex::new(Slot::default()), changed: Condvar::new() });
        let worker = shared.clone();
        let (worker_dir, worker_stats) = (dir.clone(), stats.clone());
        let thread = std::thread::Builder::new()
            .name("bolide-allocate".into())
            .spawn(move || {
                lower_current_thread(Helper::Allocator, lower_priority);
                run(&worker, &worker_dir, segment_size, warm, &worker_stats)
            })
            .ok();
        SegmentAllocator { dir, segment_size, warm, shared, thread, stats }
    }

    /// Ask for the segment starting at `offset` to be made ready in the background.
    pub fn prepare(&self, offset: u64) {
        let mut slot = self.shared.slot.lock().expect("allocator lock");
        let already = slot.wanted == Some(offset) || slot.ready.as_ref().is_some_and(|(o, _)| *o == offset);
        if !already {
            slot.wanted = Some(offset);
            self.shared.changed.notify_all();
        }
    }

    /// Pre-fault a window ahead of the write head in the background, so the appender does
    /// not take a page fault every few records (measured: 1 KiB appends ~3x faster), and
    /// unmap (and start writing back) what lies behind it, so the next flush finds it
    /// unmapped and mostly written.
    pub fn prefault_ahead(&self, job: PrefaultJob) {
        let mut slot = self.shared.slot.lock().expect("allocator lock");
        slot.prefault = Some(job);
        self.shared.changed.notify_all();
    }

    /// The segment starting at `offset`: the prepared one, or a fresh one created now.
    pub fn take(&self, offset: u64) -> Result<Segment> {
        let mut slot = self.shared.slot.lock().expect("allocator lock");
        loop {
            if let Some((ready_offset, result)) = slot.ready.take() {
                if ready_offset == offset {
                    return result;
                }
                // Prepared for an offset nobody will ask for: discard it, free the worker.
                if let Ok(stale) = result {
                    let _ = std::fs::remove_file(stale.path());
                }
                self.shared.changed.notify_all();
                continue;
            }
            if slot.wanted == Some(offset) && self.thread.is_some() {
                // In progress: waiting is cheaper than racing the allocator on the same file.
                slot = self.shared.changed.wait(slot).expect("allocator lock");
                continue;
            }
            break;
        }
        drop(slot);
        self.stats.allocation_stalls.fetch_add(1, Ordering::Relaxed);
        self.stats.segments_allocated.fetch_add(1, Ordering::Relaxed);
        Segment::create(&self.dir, offset, self.segment_size, self.warm)
    }
}

fn run(shared: &Shared, dir: &std::path::Path, segment_size: u64, warm: bool, stats: &StoreStats) {
    let mut slot = shared.slot.lock().expect("allocator lock");
    loop {
        if slot.stopping {
            return;
        }
        if let Some(PrefaultJob { segment, pos, len, ahead, unmap_before, write_back_before }) = slot.prefault.take() {
            drop(slot);
            match ahead {
                AheadWork::Prefault => {
                    segment.prefault(pos, len);
                }
                AheadWork::Preload => segment.preload(pos, len),
                // Only a speed-up: where it fails, the writer meets preallocated blocks.
                AheadWork::ZeroFill => {
                    if segment.zero_fill_ahead(pos, len).is_err() {
                        segment.preload(pos, len);
                    }
                }
            }
            segment.unmap_written(unmap_before);
            if let Some(end) = write_back_before {
                segment.start_writeback(end);
            }
            drop(segment);
            slot = shared.slot.lock().expect("allocator lock");
            continue;
        }
        match slot.wanted {
            Some(offset) if slot.ready.is_none() => {
                drop(slot);
                let result = Segment::create(dir, offset, segment_size, warm);
                stats.segments_allocated.fetch_add(1, Ordering::Relaxed);
                slot = shared.slot.lock().expect("allocator lock");
                slot.wanted = None;
                slot.ready = Some((offset, result));
                shared.changed.notify_all();
            }
            _ => slot = shared.changed.wait(slot).expect("allocator lock"),
        }
    }
}

impl Drop for SegmentAllocator {
    fn drop(&mut self) {
        self.shared.slot.lock().expect("allocator lock").stopping = true;
        self.shared.changed.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        // A prepared but unused segment would be an empty file past the end: remove it.
        if let Some((_, Ok(segment))) = self.shared.slot.lock().expect("allocator lock").ready.take() {
            let _ = std::fs::remove_file(segment.path());
        }
    }
}
