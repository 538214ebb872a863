//! Page-cache hints for operators: how much of the CommitLog the kernel holds in memory, and
//! whether pulls read from memory or (probably) from disk.
//!
//! Two independent signals, because neither alone is enough:
//! - residency (mincore(2) over the segment mappings) is the truth about the page cache, but
//!   costs a walk of every mapped page, so a background thread samples it every
//!   `page_cache_sample_interval_ms` and scrapes read the latest sample;
//! - the read-path class is RocketMQ's estimate (DefaultMessageStore.estimateInMemByCommitOffset):
//!   a read is "in memory" when `maxPhyOffset - offset <= totalPhysicalMemory *
//!   accessMessageInMemoryMaxRatio / 100`. It costs one subtraction per message, so every pull
//!   is classed, and it is the number a RocketMQ operator already knows how to read.

use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::commit_log::CommitLog;
use crate::error::{Result, StoreError};
use crate::mapped_file::Segment;
use crate::thread_priority::{lower_current_thread, Helper};

/// Bytes before the write head whose residency is reported on its own: consumers that keep up
/// read there, so misses in this window mean the tail itself is being evicted.
pub const HOT_TAIL_BYTES: u64 = 64 << 20;

/// RocketMQ's fallback when the physical memory size cannot be read (StoreUtil: 24 GiB).
const FALLBACK_PHYSICAL_MEMORY: u64 = 24 << 30;

/// Pages asked of mincore per call: bounds the residency vector to 16 KiB whatever the
/// segment size.
const MINCORE_CHUNK_PAGES: usize = 16 * 1024;

/// The kernel's page size (mincore reports one byte per page of this size).
pub fn page_size() -> u64 {
    static PAGE: OnceLock<u64> = OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf only reads a system constant.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        u64::try_from(size).ok().filter(|&s| s > 0).unwrap_or(4096)
    })
}

/// Physical memory of the machine, or RocketMQ's 24 GiB fallback where it cannot be read;
/// lowered to the cgroup memory limit when there is one, as a container-aware JVM reports it
/// to RocketMQ (page cache charged to the cgroup is bounded by that limit, not the host's RAM).
pub fn total_physical_memory() -> u64 {
    // SAFETY: sysconf only reads system constants.
    let pages = unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) };
    let machine = u64::try_from(pages)
        .ok()
        .filter(|&p| p > 0)
        .and_then(|p| p.checked_mul(page_size()))
        .unwrap_or(FALLBACK_PHYSICAL_MEMORY);
    ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| parse_cgroup_limit(&text))
        .map_or(machine, |limit| limit.min(machine))
}

/// A cgroup memory limit file's value; "max" (v2) or an absurd v1 sentinel means none.
fn parse_cgroup_limit(text: &str) -> Option<u64> {
    text.trim().parse::<u64>().ok().filter(|&limit| limit > 0 && limit < 1 << 60)
}

/// Classes a read by its distance from the write head, as RocketMQ does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryClassifier {
    window: u64,
}

impl MemoryClassifier {
    pub fn new(total_physical_memory: u64, access_message_in_memory_max_ratio: u32) -> Self {
        let window = u128::from(total_physical_memory) * u128::from(access_message_in_memory_max_ratio.min(100)) / 100;
        MemoryClassifier { window: u64::try_from(window).unwrap_or(u64::MAX) }
    }

    /// Bytes behind the write head still judged to be in memory.
    pub fn window(&self) -> u64 {
        self.window
    }

    pub fn in_memory(&self, max_offset: u64, offset: u64) -> bool {
        max_offset.saturating_sub(offset) <= self.window
    }
}

/// One residency measurement of the CommitLog.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResidencySample {
    pub segments: u64,
    /// Bytes of all mapped segments (whole preallocated files, written or not).
    pub mapped_bytes: u64,
    /// Of those, bytes whose pages are in the page cache.
    pub resident_bytes: u64,
    /// Size of the hot-tail window measured (page-aligned, at most HOT_TAIL_BYTES plus a page).
    pub hot_tail_bytes: u64,
    pub hot_tail_resident_bytes: u64,
    pub sampled_at_ms: i64,
    /// What the sample cost, so an operator can see whether the interval is too short.
    pub sample_micros: u64,
}

/// Resident bytes of `[pos, pos + len)` of a segment (rounded out to whole pages).
pub fn resident_bytes(segment: &Segment, pos: u64, len: u64) -> Result<u64> {
    let page = page_size();
    let end = pos.saturating_add(len).min(segment.size());
    let mut start = pos / page * page;
    let mut vector = Vec::new();
    let mut resident = 0u64;
    while start < end {
        let chunk = (end - start).min(MINCORE_CHUNK_PAGES as u64 * page);
        let pages = chunk.div_ceil(page) as usize;
        vector.resize(pages, 0u8);
        let offset = usize::try_from(start).map_err(|_| StoreError::InvalidArgument("segment offset overflows".into()))?;
        // SAFETY: `offset` is page-aligned and `[offset, offset + chunk)` lies inside the
        // segment's live mapping (end is clamped to its size, and `segment` keeps the mapping
        // alive); the vector holds one byte per page of that range, as mincore requires.
        let rc = unsafe { libc::mincore(segment.base_ptr().add(offset).cast(), chunk as usize, vector.as_mut_ptr()) };
        if rc != 0 {
            return Err(StoreError::io(
                format!("mincore of {}", segment.path().display()),
                std::io::Error::last_os_error(),
            ));
        }
        resident += vector.iter().filter(|&&flags| flags & 1 != 0).count() as u64 * page;
        start += chunk;
    }
    Ok(resident)
}

/// Remembers each segment's last measured residency, so one pass can re-measure only part of a
/// large CommitLog and still report a total.
///
/// Why a budget: mincore costs about 15 ms per GiB mapped (measured: 1 GiB segment, 2-core VM),
/// so walking a 1 TiB store every 10 s would keep a core busy. A pass always re-measures the
/// write head's segment and the hot tail, then older segments round-robin until `budget` bytes
/// were walked; the rest keep their last value.
#[derive(Debug, Default)]
pub struct ResidencyScanner {
    known: std::collections::BTreeMap<u64, u64>,
    /// First offset of the next older segment to visit.
    cursor: u64,
}

/// Bytes of segments a background pass walks at most (~120 ms of one core at 15 ms/GiB).
pub const SAMPLE_BUDGET_BYTES: u64 = 8 << 30;

impl ResidencyScanner {
    /// One pass. `budget` bounds the bytes of older segments walked (u64::MAX: all of them).
    /// Segments with a remembered measurement.
    pub fn measured_segments(&self) -> usize {
        self.known.len()
    }

    pub fn pass(&mut self, commit_log: &CommitLog, hot_tail: u64, budget: u64) -> Result<ResidencySample> {
        let started = Instant::now();
        let head = commit_log.write_position();
        let segments = commit_log.segments();
        let live: std::collections::HashSet<u64> = segments.iter().map(|s| s.file_from_offset()).collect();
        self.known.retain(|from, _| live.contains(from));
        let mut out = ResidencySample::default();
        if let Some((active, older)) = segments.split_last() {
            self.known.insert(active.file_from_offset(), resident_bytes(active, 0, active.size())?);
            // Round-robin from the cursor, wrapping once, so every older segment is reached.
            let begin = older.partition_point(|s| s.file_from_offset() < self.cursor);
            let mut spent = 0u64;
            for segment in older[begin..].iter().chain(&older[..begin]) {
                if spent >= budget {
                    break;
                }
                self.known.insert(segment.file_from_offset(), resident_bytes(segment, 0, segment.size())?);
                spent = spent.saturating_add(segment.size());
                self.cursor = segment.file_from_offset() + 1;
            }
            out.hot_tail_bytes = hot_tail_window(&segments, head, hot_tail, &mut out.hot_tail_resident_bytes)?;
        }
        for segment in &segments {
            out.segments += 1;
            out.mapped_bytes += segment.size();
            out.resident_bytes += self.known.get(&segment.file_from_offset()).copied().unwrap_or(0).min(segment.size());
        }
        out.sampled_at_ms = crate::store::now_ms();
        out.sample_micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        Ok(out)
    }
}

/// Measures the last `hot_tail` bytes before `head` (page-rounded); returns the window size and
/// adds its resident bytes to `resident`.
fn hot_tail_window(segments: &[Arc<Segment>], head: u64, hot_tail: u64, resident: &mut u64) -> Result<u64> {
    let page = page_size();
    let tail_from = head.saturating_sub(hot_tail);
    let mut window = 0;
    for segment in segments.iter().rev() {
        let from = segment.file_from_offset();
        let (lo, hi) = (tail_from.max(from), head.min(from + segment.size()));
        if lo < hi {
            let (start, end) = (lo / page * page, (hi.div_ceil(page) * page).min(from + segment.size()));
            window += end - start;
            *resident += resident_bytes(segment, start - from, end - start)?.min(end - start);
        } else if from + segment.size() <= tail_from {
            break;
        }
    }
    Ok(window)
}

/// Measure residency of every segment and of the last `hot_tail` bytes before the write head.
pub fn sample(commit_log: &CommitLog, hot_tail: u64) -> Result<ResidencySample> {
    ResidencyScanner::default().pass(commit_log, hot_tail, u64::MAX)
}

struct Shared {
    latest: Mutex<Option<ResidencySample>>,
    scanner: Mutex<ResidencyScanner>,
    stopping: Mutex<bool>,
    wake: Condvar,
}

/// Samples CommitLog residency on its own thread, so a scrape never walks the page tables.
pub struct ResidencySampler {
    commit_log: Arc<CommitLog>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// The sampler thread: a sample every `interval` until the sampler stops.
fn sample_until_stopped(commit_log: &CommitLog, shared: &Shared, interval: Duration) {
    loop {
        // A failed sample (mincore refused) keeps the previous one: hints only.
        let pass = shared.scanner.lock().expect("residency scanner lock").pass(commit_log, HOT_TAIL_BYTES, SAMPLE_BUDGET_BYTES);
        if let Ok(fresh) = pass {
            *shared.latest.lock().expect("residency lock") = Some(fresh);
        }
        let stopping = shared.stopping.lock().expect("residency stop lock");
        let (stopping, _) = shared.wake.wait_timeout_while(stopping, interval, |stopping| !*stopping).expect("residency stop lock");
        if *stopping {
            return;
        }
    }
}

impl ResidencySampler {
    /// `interval` zero: no thread; samples are taken only by `sample_now`.
    pub fn start(commit_log: Arc<CommitLog>, interval: Duration, lower_priority: bool) -> ResidencySampler {
        let shared = Arc::new(Shared {
            latest: Mutex::new(None),
            scanner: Mutex::new(ResidencyScanner::default()),
            stopping: Mutex::new(false), wake: Condvar::new() });
        let thread = (!interval.is_zero())
            .then(|| {
                let (commit_log, shared) = (commit_log.clone(), shared.clone());
                std::thread::Builder::new()
                    .name("bolide-pagecache".into())
                    .spawn(move || {
                        lower_current_thread(Helper::PageCacheSampler, lower_priority);
                        sample_until_stopped(&commit_log, &shared, interval);
                    })
                    .ok()
            })
            .flatten();
        ResidencySampler { commit_log, shared, thread }
    }

    pub fn latest(&self) -> Option<ResidencySample> {
        *self.shared.latest.lock().expect("residency lock")
    }

    /// Sample every segment now on the caller's thread (tests, an operator asking explicitly).
    pub fn sample_now(&self) -> Result<ResidencySample> {
        let fresh = self.shared.scanner.lock().expect("residency scanner lock").pass(&self.commit_log, HOT_TAIL_BYTES, u64::MAX)?;
        *self.shared.latest.lock().expect("residency lock") = Some(fresh);
        Ok(fresh)
    }

    pub fn stop(&mut self) {
        *self.shared.stopping.lock().expect("residency stop lock") = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifier_follows_rocketmq_ratio() {
        let classifier = MemoryClassifier::new(1000, 40);
        assert_eq!(classifier.window(), 400);
        assert!(classifier.in_memory(1000, 600), "exactly the window behind the head is in memory");
        assert!(!classifier.in_memory(1000, 599));
        assert!(classifier.in_memory(1000, 1000));
        let nothing = MemoryClassifier::new(1 << 40, 0);
        assert!(nothing.in_memory(10, 10), "a read at the head is never behind it");
        assert!(!nothing.in_memory(10, 9));
        assert_eq!(MemoryClassifier::new(u64::MAX, 100).window(), u64::MAX);
        assert_eq!(MemoryClassifier::new(100, 250).window(), 100, "ratios above 100 are capped");
    }

    #[test]
    fn resident_bytes_of_a_written_and_synced_segment() {
        let dir = tempfile::tempdir().unwrap();
        let size = 256 * 1024;
        let segment = Segment::create(dir.path(), 0, size, false).unwrap();
        assert!(resident_bytes(&segment, 0, size).unwrap() <= size);
        // SAFETY: this test is the segment's only user.
        unsafe { segment.slice_mut(0, 64 * 1024) }.fill(0xAB);
        segment.flush(0, 64 * 1024).unwrap();
        let written = resident_bytes(&segment, 0, 64 * 1024).unwrap();
        assert!(written > 0 && written <= 64 * 1024, "{written}");
        assert!(resident_bytes(&segment, 0, size).unwrap() >= written.min(size));
        assert_eq!(resident_bytes(&segment, size, 4096).unwrap(), 0, "ranges past the end are clamped");
        assert_eq!(resident_bytes(&segment, 0, 0).unwrap(), 0);
    }

    #[test]
    fn a_budgeted_scanner_reaches_every_segment_round_robin() {
        use crate::record::MessageInput;
        let dir = tempfile::tempdir().unwrap();
        let segment_size = 64 * 1024;
        let log = CommitLog::open(dir.path(), segment_size, 16 * 1024, crate::allocator::AllocatorOptions::default(), Arc::default()).unwrap();
        log.set_recovered_end(0);
        let body = [3u8; 8 * 1024];
        let input = MessageInput {
            topic: "T",
            queue_id: 0,
            flag: 0,
            sys_flag: 0,
            born_timestamp: Some(1),
            born_host: std::net::SocketAddr::from(([127, 0, 0, 1], 5000)),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: &body,
            properties: b"",
        };
        while log.segments().len() < 5 {
            log.append(std::slice::from_ref(&input), 1).unwrap();
        }
        let mut scanner = ResidencyScanner::default();
        // A budget of one byte still measures one older segment per pass, plus the active one.
        for expected in 2..=5 {
            let sample = scanner.pass(&log, HOT_TAIL_BYTES, 1).unwrap();
            assert_eq!(scanner.measured_segments(), expected);
            assert_eq!(sample.segments, 5);
            assert_eq!(sample.mapped_bytes, 5 * segment_size);
            assert!(sample.resident_bytes <= sample.mapped_bytes);
        }
        scanner.pass(&log, HOT_TAIL_BYTES, 1).unwrap();
        assert_eq!(scanner.measured_segments(), 5, "the cursor wraps instead of measuring past the end");
        let removed = log.remove_segments_before(2 * segment_size).unwrap();
        assert_eq!(removed.len(), 2);
        let sample = scanner.pass(&log, HOT_TAIL_BYTES, 1).unwrap();
        assert_eq!(scanner.measured_segments(), 3, "deleted segments are forgotten");
        assert_eq!(sample.mapped_bytes, 3 * segment_size);
        // The hot tail covers the whole written log here (it is smaller than HOT_TAIL_BYTES).
        assert!(sample.hot_tail_bytes >= log.write_position() - 2 * segment_size, "{sample:?}");
        assert!(sample.hot_tail_resident_bytes <= sample.hot_tail_bytes);
    }

    #[test]
    fn cgroup_limits_parse_and_unlimited_is_none() {
        assert_eq!(parse_cgroup_limit("2147483648\n"), Some(2 << 30));
        assert_eq!(parse_cgroup_limit("max\n"), None);
        assert_eq!(parse_cgroup_limit("9223372036854771712\n"), None, "cgroup v1's 'no limit'");
        assert_eq!(parse_cgroup_limit(""), None);
    }

    #[test]
    fn physical_memory_and_page_size_are_plausible() {
        assert!(page_size() >= 4096 && page_size().is_power_of_two());
        assert!(total_physical_memory() >= 16 << 20);
    }
}
