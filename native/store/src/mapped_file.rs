//! One CommitLog segment: a preallocated file of `mappedFileSizeCommitLog` bytes, mapped
//! shared and read/write for its whole life.
//!
//! Why the file is preallocated (fallocate) and created under a temporary name: a mapped
//! write to a hole can fail with SIGBUS when the disk is full, and a half-created file must
//! never look like a segment. The file is renamed into place only once it has its full size.
//!
//! Lifetime: segments are shared as `Arc<Segment>`. Retention removes a segment from the
//! CommitLog's list and unlinks its file, but the mapping lives until the last holder (a reader,
//! a sendfile in flight, a JS Buffer's finalizer) drops its `Arc`. Files are never truncated
//! while mapped, so no access can SIGBUS.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use memmap2::{MmapOptions, MmapRaw};

use crate::error::{IoContext, Result};

pub const PAGE_SIZE: u64 = 4096;

pub struct Segment {
    file_from_offset: u64,
    size: u64,
    path: PathBuf,
    file: File,
    map: MmapRaw,
    /// End of the range already advised WILLNEED, so readers advise each window once.
    read_ahead_until: std::sync::atomic::AtomicUsize,
    /// End of the written range already dropped from this process's page tables.
    unmapped_until: std::sync::atomic::AtomicUsize,
    /// Written pages before this position were handed to writeback (`start_writeback`).
    written_back_until: std::sync::atomic::AtomicUsize,
    /// Everything before this position holds zeros written by `zero_fill_ahead` or records
    /// (so its blocks are allocated and initialized), and `zero_fill_ahead` never writes
    /// below it again. Raised under `zero_fill` by the zero-filler and by writers claiming a
    /// range (`claim_for_write`), which is what keeps zeros from landing on records.
    zeroed_until: std::sync::atomic::AtomicUsize,
    zero_fill: std::sync::Mutex<()>,
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment").field("path", &self.path).field("size", &self.size).finish()
    }
}

/// Segment files are named by their first physical offset, zero-padded to 20 digits.
pub fn segment_file_name(file_from_offset: u64) -> String {
    format!("{file_from_offset:020}")
}

impl Segment {
    /// Create, preallocate and map a new segment file.
    pub fn create(dir: &Path, file_from_offset: u64, size: u64, warm: bool) -> Result<Segment> {
        let path = dir.join(segment_file_name(file_from_offset));
        let temp = dir.join(format!("{}.tmp", segment_file_name(file_from_offset)));
        if path.exists() {
            // Replacing a segment that may be mapped would silently drop its writes.
            return Err(crate::error::StoreError::InvalidArgument(format!(
                "segment {} already exists",
                path.display()
            )));
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)
            .context(|| format!("creating segment {}", temp.display()))?;
        preallocate(&file, size).context(|| format!("preallocating {size} bytes for {}", temp.display()))?;
        file.sync_all().context(|| format!("syncing new segment {}", temp.display()))?;
        std::fs::rename(&temp, &path).context(|| format!("renaming {} into place", temp.display()))?;
        sync_dir(dir)?;
        let segment = Self::map(path, file, file_from_offset, size)?;
        if warm {
            segment.warm();
        }
        Ok(segment)
    }

    /// Map an existing segment file; a file of the wrong size is extended (never shrunk).
    pub fn open(path: PathBuf, file_from_offset: u64, size: u64) -> Result<Segment> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .context(|| format!("opening segment {}", path.display()))?;
        let actual = file.metadata().context(|| format!("stat of {}", path.display()))?.len();
        if actual < size {
            preallocate(&file, size).context(|| format!("extending segment {}", path.display()))?;
        }
        let segment = Self::map(path, file, file_from_offset, size)?;
        // Holds records from before: never zero-filled (see `zero_fill_ahead`).
        segment.zeroed_until.store(segment.size as usize, std::sync::atomic::Ordering::Release);
        Ok(segment)
    }

    fn map(path: PathBuf, file: File, file_from_offset: u64, size: u64) -> Result<Segment> {
        let len = usize::try_from(size).map_err(|_| {
            crate::error::StoreError::InvalidArgument(format!("segment size {size} does not fit in memory"))
        })?;
        let map = MmapOptions::new()
            .len(len)
            .map_raw(&file)
            .context(|| format!("mapping segment {}", path.display()))?;
        Ok(Segment {
            file_from_offset,
            size,
            path,
            file,
            map,
            read_ahead_until: std::sync::atomic::AtomicUsize::new(0),
            unmapped_until: std::sync::atomic::AtomicUsize::new(0),
            written_back_until: std::sync::atomic::AtomicUsize::new(0),
            zeroed_until: std::sync::atomic::AtomicUsize::new(0),
            zero_fill: std::sync::Mutex::new(()),
        })
    }

    pub fn file_from_offset(&self) -> u64 {
        self.file_from_offset
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    /// Bytes `[pos, pos + len)` of the segment, for reading.
    ///
    /// The caller guarantees the range lies below the CommitLog's published write position (so
    /// the single writer never touches it again) or that it holds the writer lock.
    pub fn slice(&self, pos: usize, len: usize) -> &[u8] {
        assert!(pos.checked_add(len).is_some_and(|end| end as u64 <= self.size), "read past segment end");
        // SAFETY: the mapping is `size` bytes long and lives as long as `self`; the range was
        // bounds-checked above. Published bytes are immutable (the writer only writes past the
        // published position), so no `&mut` alias to this range exists.
        unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(pos), len) }
    }

    /// Writable bytes `[pos, pos + len)`.
    ///
    /// # Safety
    /// The caller must be the CommitLog's single writer (holding its write lock) and the range
    /// must lie at or above the published write position, so no reader can observe it.
    // The mapping is shared memory behind a raw pointer: exclusivity comes from the writer lock
    // the caller holds (the `# Safety` contract), not from `&mut self`.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn slice_mut(&self, pos: usize, len: usize) -> &mut [u8] {
        assert!(pos.checked_add(len).is_some_and(|end| end as u64 <= self.size), "write past segment end");
        // SAFETY: bounds checked above; exclusivity is the caller's contract (see # Safety).
        unsafe { std::slice::from_raw_parts_mut(self.map.as_mut_ptr().add(pos), len) }
    }

    /// Make `[from, to)` durable: msync of the page-aligned range (a ranged fdatasync).
    pub fn flush(&self, from: usize, to: usize) -> Result<()> {
        if to <= from {
            return Ok(());
        }
        let start = (from as u64 / PAGE_SIZE * PAGE_SIZE) as usize;
        let end = to.min(self.size as usize);
        self.map.flush_range(start, end - start).context(|| format!("msync of {}", self.path.display()))
    }

    /// Pre-fault `[pos, pos + len)` writable without changing its contents
    /// (MADV_POPULATE_WRITE), so the writer does not page-fault there. Safe while the
    /// writer is writing nearby: the kernel only installs page-table entries. Returns false
    /// where the kernel lacks the advice (before 5.14).
    pub fn prefault(&self, pos: usize, len: usize) -> bool {
        const MADV_POPULATE_WRITE: libc::c_int = 23;
        let Some((start, aligned_len)) = self.aligned(pos, len) else { return true };
        // SAFETY: the range lies inside this segment's mapping (checked by `aligned`), and
        // POPULATE_WRITE never changes the contents of the pages it faults in.
        let rc = unsafe { libc::madvise(self.map.as_mut_ptr().add(start).cast(), aligned_len, MADV_POPULATE_WRITE) };
        rc == 0
    }

    /// Bring `[pos, pos + len)` into the page cache without mapping it (readahead(2)): for the
    /// not yet written part of a preallocated file that allocates zeroed pages on the allocator
    /// thread, so a pwrite there later finds its page (with 256 SYNC_FLUSH waiters, finding or
    /// allocating pages inside the appender's pwrite fell from 7% to 3% of the samples, perf).
    pub fn preload(&self, pos: usize, len: usize) {
        if let Some((start, aligned_len)) = self.aligned(pos, len) {
            // SAFETY: a plain system call on our own descriptor over a range of our file; it
            // touches none of our memory.
            let _ = unsafe { libc::readahead(self.file.as_raw_fd(), start as i64, aligned_len) };
        }
    }

    /// Write zeros over `[zeroed_until, pos + len)` and wait until they are on disk, so the
    /// blocks there stop being the preallocated kind (fallocate's "unwritten" extents) before
    /// the writer reaches them. Why: the first write into an unwritten extent changes file
    /// metadata, so every group commit there was also a journal commit; over written blocks a
    /// fdatasync of ~110 KB took 136 us instead of 284 us (Python probe on this VM's ext4).
    /// Costs writing each byte twice. Safe beside the writer: see `claim_for_write`.
    pub fn zero_fill_ahead(&self, pos: usize, len: usize) -> Result<()> {
        use std::os::unix::fs::FileExt;
        use std::sync::atomic::Ordering;
        // One chunk per hold of the lock: a writer that catches up waits for one pwrite of
        // this size at most, never for the disk.
        static ZEROS: [u8; 1 << 20] = [0; 1 << 20];
        let end = pos.saturating_add(len).min(self.size as usize);
        loop {
            let (start, chunk_end) = {
                let _filling = self.zero_fill.lock().expect("zero-fill lock");
                let start = self.zeroed_until.load(Ordering::Acquire);
                if start >= end {
                    return Ok(());
                }
                let chunk_end = end.min(start + ZEROS.len());
                self.file
                    .write_all_at(&ZEROS[..chunk_end - start], start as u64)
                    .context(|| format!("zero-filling {} at {start}", self.path.display()))?;
                self.zeroed_until.store(chunk_end, Ordering::Release);
                (start, chunk_end)
            };
            // Written out now, on this thread, so a group commit does not find these pages
            // dirty. (Records a writer put there meanwhile are simply written out with them.)
            let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE | libc::SYNC_FILE_RANGE_WRITE | libc::SYNC_FILE_RANGE_WAIT_AFTER;
            // SAFETY: a plain system call on our own descriptor over a range of our file.
            let rc = unsafe { libc::sync_file_range(self.file.as_raw_fd(), start as i64, (chunk_end - start) as i64, flags) };
            if rc != 0 {
                return std::io::Result::<()>::Err(std::io::Error::last_os_error())
                    .context(|| format!("writing back zeros of {}", self.path.display()));
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn zeroed_until(&self) -> usize {
        self.zeroed_until.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Called before writing records into `[.., end)` of the file: a zero-fill in progress
    /// there finishes first, and none starts below `end` afterwards.
    pub fn claim_for_write(&self, end: usize) {
        use std::sync::atomic::Ordering;
        if end <= self.zeroed_until.load(Ordering::Acquire) {
            return;
        }
        let _filling = self.zero_fill.lock().expect("zero-fill lock");
        self.zeroed_until.fetch_max(end, Ordering::AcqRel);
    }

    /// Drop the page-table entries of the written range `[.., end)` from this process
    /// (MADV_DONTNEED) without touching the pages: they stay dirty in the page cache and any
    /// access faults them back in. Called before each flush. Why: writeback must
    /// write-protect every page still mapped writable, one TLB-shootdown IPI to the other
    /// cores per page (msync of 220 MB ran 1.5-2x slower than fdatasync of the same bytes
    /// written with write(2)); dropping the entries first costs one shootdown for the range.
    /// The page holding `end` is dropped every time (the writer takes one fault per flush).
    pub fn unmap_written(&self, end: usize) {
        use std::sync::atomic::Ordering;
        let from = self.unmapped_until.load(Ordering::Relaxed);
        if end <= from {
            return;
        }
        if let Some((start, aligned_len)) = self.aligned(from, end - from) {
            // SAFETY: the range lies inside this segment's mapping (checked by `aligned`). On a
            // shared file mapping DONTNEED only removes page-table entries: dirty bits move
            // to the page cache, so no written byte is lost, and a concurrent access (the
            // writer never writes this far back; readers may) simply faults the page back in.
            let _ = unsafe { self.map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, aligned_len) };
        }
        self.unmapped_until.fetch_max(end, Ordering::Relaxed);
    }

    /// Start writeback of what was written before `end` and not handed to writeback yet,
    /// without waiting for it (sync_file_range WRITE). Why: the next flush then finds most of
    /// the range already on its way to the disk instead of issuing it all at once (the final
    /// flush of 220 MB of appends went from ~80 ms to ~10 ms, bench/store).
    pub fn start_writeback(&self, end: usize) {
        use std::sync::atomic::Ordering;
        let from = self.written_back_until.fetch_max(end, Ordering::Relaxed);
        if end <= from {
            return;
        }
        if let Some((start, aligned_len)) = self.aligned(from, end - from) {
            // SAFETY: a plain system call on our own descriptor over a range of our file; it
            // touches none of our memory.
            let _ = unsafe {
                libc::sync_file_range(self.file.as_raw_fd(), start as i64, aligned_len as i64, libc::SYNC_FILE_RANGE_WRITE)
            };
        }
    }

    /// Written pages before this were handed to writeback.
    #[cfg(test)]
    pub(crate) fn written_back_until(&self) -> usize {
        self.written_back_until.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Fault every page in, writable, so appends into this segment never page-fault.
    /// MADV_POPULATE_WRITE (Linux 5.14+) does it in one call without changing the contents;
    /// older kernels get the classic pre-touch (safe: the segment is not in use yet).
    fn warm(&self) {
        const MADV_POPULATE_WRITE: libc::c_int = 23;
        // SAFETY: the range is exactly this segment's mapping; POPULATE_WRITE only pre-faults
        // pages and never changes their contents.
        let rc = unsafe { libc::madvise(self.map.as_mut_ptr().cast(), self.size as usize, MADV_POPULATE_WRITE) };
        if rc == 0 {
            return;
        }
        let len = self.size as usize;
        let mut pos = 0;
        while pos < len {
            // SAFETY: the segment was just created, nobody else holds it, and pos < len.
            unsafe { std::ptr::write_volatile(self.map.as_mut_ptr().add(pos), 0) };
            pos += PAGE_SIZE as usize;
        }
    }

    /// The write head is accessed sequentially: let the kernel read ahead and drop behind.
    pub fn advise_sequential(&self) {
        let _ = self.map.advise(memmap2::Advice::Sequential);
    }

    /// A reader catching up will touch `[pos, pos + len)` soon: start reading it in. Each
    /// window is advised once: when a reader gets within a quarter window of the end of what
    /// was advised, the next window is. (Re-advising the same pages on every pull costs more
    /// than the read-ahead buys, measured in bench/store.)
    pub fn advise_will_need(&self, pos: usize, len: usize) {
        use std::sync::atomic::Ordering;
        let advised = self.read_ahead_until.load(Ordering::Relaxed);
        if pos + len / 4 < advised {
            return;
        }
        let from = pos.max(advised);
        if let Some((start, aligned_len)) = self.aligned(from, pos + len - from) {
            let _ = self.map.advise_range(memmap2::Advice::WillNeed, start, aligned_len);
            self.read_ahead_until.fetch_max(start + aligned_len, Ordering::Relaxed);
        }
    }

    /// A cold segment: release its page-cache pages (they are clean once flushed).
    pub fn advise_dont_need(&self) {
        // SAFETY: DONTNEED on a shared file mapping only drops clean pages from this mapping;
        // later accesses re-read the file, so no content is lost for any holder.
        let _ = unsafe { self.map.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) };
    }

    fn aligned(&self, pos: usize, len: usize) -> Option<(usize, usize)> {
        let start = pos / PAGE_SIZE as usize * PAGE_SIZE as usize;
        let end = pos.checked_add(len)?.min(self.size as usize);
        (end > start).then_some((start, end - start))
    }

    /// Start of the mapping, for exporting it as one external JS Buffer.
    pub fn base_ptr(&self) -> *mut u8 {
        self.map.as_mut_ptr()
    }

    pub fn raw_fd(&self) -> i32 {
        self.file.as_raw_fd()
    }
}

fn preallocate(file: &File, size: u64) -> std::io::Result<()> {
    let len = libc::off_t::try_from(size).map_err(|_| std::io::Error::other("segment size too large"))?;
    // SAFETY: plain syscall on a valid open file descriptor.
    let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len) };
    if rc == 0 {
        return Ok(());
    }
    let error = std::io::Error::last_os_error();
    match error.raw_os_error() {
        // Filesystems without fallocate: write the zeros so the blocks really exist.
        Some(libc::EOPNOTSUPP) => write_zeros(file, size),
        _ => Err(error),
    }
}

fn write_zeros(file: &File, size: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let chunk = vec![0u8; 1 << 20];
    let mut pos = 0u64;
    while pos < size {
        let len = (size - pos).min(chunk.len() as u64) as usize;
        file.write_all_at(&chunk[..len], pos)?;
        pos += len as u64;
    }
    Ok(())
}

/// fsync a directory so a create, rename or unlink inside it survives a power loss.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .context(|| format!("syncing directory {}", dir.display()))
}

/// Write `contents` to `path` atomically: temp file, fsync, rename, fsync of the directory.
pub fn write_file_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let temp = path.with_extension("tmp");
    let mut file = File::create(&temp).context(|| format!("creating {}", temp.display()))?;
    file.write_all(contents).context(|| format!("writing {}", temp.display()))?;
    file.sync_all().context(|| format!("syncing {}", temp.display()))?;
    std::fs::rename(&temp, path).context(|| format!("renaming {} into place", temp.display()))?;
    sync_dir(dir)
}
