//! One memory-mapped IndexFile: header codec, insert, chain walk, flush and open-time repair.
//! The layout and crash story are in the parent module's doc.
//!
//! # Memory access discipline
//!
//! The file is mapped with `MmapRaw` (a raw pointer, no Rust references into the map) so that
//! the flush path can `msync` and write the header while the dispatcher keeps inserting:
//! * the body (`[HEADER_SIZE, len)`) is written only through `&mut IndexFile`, which
//!   `IndexService` hands out only under its write lock, and read only through `&IndexFile`
//!   under its read lock, so body reads and writes never overlap;
//! * the header bytes (`[0, HEADER_SIZE)`) are written only by [`FlushJob::run`] (serialised
//!   by `IndexService`'s flush mutex) and read only while opening, before the file is shared;
//!   the running header lives in [`IndexFile::header`].
//!
//! The store directory is owned by one process (the engine's `lock` file), so no other writer
//! can change or truncate the file under the map; the file is fully allocated up front
//! (`posix_fallocate`), so writing a page can not fail with SIGBUS on a full disk.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use memmap2::{MmapOptions, MmapRaw};

use super::{IndexFileError, Result};

pub(super) const HEADER_SIZE: usize = 40;
const SLOT_SIZE: usize = 4;
const ENTRY_SIZE: usize = 20;

/// Source of [`IndexFile::id`]: a path can be reused after a file is deleted, an id cannot.
static NEXT_FILE_ID: AtomicU64 = AtomicU64::new(1);

/// The 40-byte header: six big-endian fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct IndexHeader {
    pub begin_timestamp: i64,
    pub end_timestamp: i64,
    pub begin_phy_offset: i64,
    pub end_phy_offset: i64,
    pub hash_slot_count: i32,
    /// Number of the next entry; entry 0 is never used, so an empty file has 1.
    pub index_count: i32,
}

impl IndexHeader {
    fn encode(&self) -> [u8; HEADER_SIZE] {
        let mut bytes = [0_u8; HEADER_SIZE];
        bytes[0..8].copy_from_slice(&self.begin_timestamp.to_be_bytes());
        bytes[8..16].copy_from_slice(&self.end_timestamp.to_be_bytes());
        bytes[16..24].copy_from_slice(&self.begin_phy_offset.to_be_bytes());
        bytes[24..32].copy_from_slice(&self.end_phy_offset.to_be_bytes());
        bytes[32..36].copy_from_slice(&self.hash_slot_count.to_be_bytes());
        bytes[36..40].copy_from_slice(&self.index_count.to_be_bytes());
        bytes
    }

    fn decode(bytes: &[u8; HEADER_SIZE]) -> Self {
        Self {
            begin_timestamp: be_i64(&bytes[0..8]),
            end_timestamp: be_i64(&bytes[8..16]),
            begin_phy_offset: be_i64(&bytes[16..24]),
            end_phy_offset: be_i64(&bytes[24..32]),
            hash_slot_count: be_i32(&bytes[32..36]),
            index_count: be_i32(&bytes[36..40]),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.index_count <= 1
    }
}

/// Slot and entry counts of a file, fixed by the config.
#[derive(Clone, Copy, Debug)]
pub(super) struct Geometry {
    pub slots: u32,
    pub entries: u32,
}

impl Geometry {
    pub(super) fn file_size(self) -> u64 {
        HEADER_SIZE as u64 + u64::from(self.slots) * 4 + u64::from(self.entries) * 20
    }

    fn slot_position(self, key_hash: i32) -> usize {
        let slot = key_hash.unsigned_abs() % self.slots;
        HEADER_SIZE + slot as usize * SLOT_SIZE
    }

    fn entry_position(self, index: i32) -> usize {
        HEADER_SIZE + self.slots as usize * SLOT_SIZE + index.unsigned_abs() as usize * ENTRY_SIZE
    }
}

/// A header write-back to run outside the service's locks (see [`IndexFile::flush_job`]).
pub(super) struct FlushJob {
    pub file_id: u64,
    pub path: PathBuf,
    pub header: IndexHeader,
    map: Arc<MmapRaw>,
}

impl FlushJob {
    /// msync the body, then write and msync the header: the header on disk never counts an
    /// entry whose bytes are not durable.
    pub(super) fn run(&self) -> Result<()> {
        let len = self.map.len();
        let io_error = |source| IndexFileError::Io {
            path: self.path.clone(),
            source,
        };
        self.map
            .flush_range(HEADER_SIZE, len - HEADER_SIZE)
            .map_err(io_error)?;
        let bytes = self.header.encode();
        // SAFETY: `[0, HEADER_SIZE)` lies inside the mapping (its length is at least
        // HEADER_SIZE, checked when the file was opened or created) and `self.map` keeps it
        // mapped. Header bytes are written only here, and flush jobs are serialised by the
        // service's flush mutex; no reader dereferences header bytes after open (see the module
        // doc), so nothing else accesses this range concurrently.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.map.as_mut_ptr(), HEADER_SIZE)
        };
        self.map.flush_range(0, HEADER_SIZE).map_err(io_error)
    }
}

pub(super) struct IndexFile {
    /// Unique within the process.
    pub id: u64,
    pub path: PathBuf,
    /// The instant the file name encodes.
    pub name_ms: i64,
    /// The running header (the one on disk is updated by flush).
    pub header: IndexHeader,
    geometry: Geometry,
    map: Arc<MmapRaw>,
    /// The header last made durable.
    flushed: IndexHeader,
    /// Slots were rebuilt at open and must be flushed even if the header did not change.
    body_dirty: bool,
}

impl IndexFile {
    /// Creates and fully allocates a new empty file.
    pub(super) fn create(path: &Path, name_ms: i64, geometry: Geometry) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path);
        let file = file.map_err(io_error(path))?;
        allocate(&file, geometry.file_size()).map_err(io_error(path))?;
        let map = map(&file, path)?;
        let header = IndexHeader {
            index_count: 1,
            ..IndexHeader::default()
        };
        Ok(Self::new(
            path,
            name_ms,
            geometry,
            map,
            (header, IndexHeader::default()),
        ))
    }

    /// Opens an existing file, validating its size and header. A file that is not full on
    /// disk may have been written after its last flush: its slots are checked and, if any
    /// points past the durable entries, rebuilt from those entries.
    pub(super) fn open(path: &Path, name_ms: i64, geometry: Geometry) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io_error(path))?;
        let len = file.metadata().map_err(io_error(path))?.len();
        if len != geometry.file_size() {
            let reason = format!("{len} bytes, config expects {}", geometry.file_size());
            return Err(corrupt(path, reason));
        }
        let map = map(&file, path)?;
        let mut bytes = [0_u8; HEADER_SIZE];
        // SAFETY: the mapping is at least HEADER_SIZE bytes long (its length equals the file
        // size checked above) and is not yet shared with any other thread.
        unsafe { std::ptr::copy_nonoverlapping(map.as_ptr(), bytes.as_mut_ptr(), HEADER_SIZE) };
        let flushed = IndexHeader::decode(&bytes);
        validate_header(path, &flushed, geometry)?;
        // A header of zeros was never flushed: the file is empty.
        let header = IndexHeader {
            index_count: flushed.index_count.max(1),
            ..flushed
        };
        let mut index_file = Self::new(path, name_ms, geometry, map, (header, flushed));
        if !index_file.is_full() {
            index_file.repair_slots()?;
        }
        Ok(index_file)
    }

    /// The header pair is (running header, header on disk).
    fn new(
        path: &Path,
        name_ms: i64,
        geometry: Geometry,
        map: Arc<MmapRaw>,
        (header, flushed): (IndexHeader, IndexHeader),
    ) -> Self {
        Self {
            id: NEXT_FILE_ID.fetch_add(1, Ordering::Relaxed),
            path: path.into(),
            name_ms,
            header,
            geometry,
            map,
            flushed,
            body_dirty: false,
        }
    }

    pub(super) fn is_full(&self) -> bool {
        self.header.index_count.unsigned_abs() >= self.geometry.entries
    }

    /// Whether the file's time range `[begin, end]` meets the query window.
    fn overlaps(&self, begin_ms: i64, end_ms: i64) -> bool {
        !self.header.is_empty()
            && self.header.begin_timestamp <= end_ms
            && self.header.end_timestamp >= begin_ms
    }

    /// Inserts one key. The caller checks `!is_full()` and `key_hash >= 0`.
    pub(super) fn put(&mut self, key_hash: i32, phys_offset: i64, store_ts_ms: i64) {
        assert!(
            !self.is_full() && key_hash >= 0,
            "put on a full file or with a negative hash"
        );
        let index = self.header.index_count;
        let slot_position = self.geometry.slot_position(key_hash);
        let head = be_i32(&self.read_body::<SLOT_SIZE>(slot_position));
        let prev_index = if head > 0 && head < index { head } else { 0 };
        if self.header.is_empty() {
            self.header.begin_timestamp = store_ts_ms;
            self.header.begin_phy_offset = phys_offset;
        }
        let seconds = (store_ts_ms - self.header.begin_timestamp) / 1000;
        let time_diff = seconds.clamp(0, i64::from(i32::MAX)) as i32;
        let mut entry = [0_u8; ENTRY_SIZE];
        entry[0..4].copy_from_slice(&key_hash.to_be_bytes());
        entry[4..12].copy_from_slice(&phys_offset.to_be_bytes());
        entry[12..16].copy_from_slice(&time_diff.to_be_bytes());
        entry[16..20].copy_from_slice(&prev_index.to_be_bytes());
        self.write_body(self.geometry.entry_position(index), &entry);
        self.write_body(slot_position, &index.to_be_bytes());
        if prev_index == 0 {
            self.header.hash_slot_count += 1;
        }
        self.header.index_count += 1;
        self.header.end_timestamp = self.header.end_timestamp.max(store_ts_ms);
        self.header.end_phy_offset = self.header.end_phy_offset.max(phys_offset);
    }

    /// Appends to `found` (newest first, without duplicates, up to `max` in total) the physical
    /// offsets of entries with `key_hash` whose second-truncated time may lie in
    /// `[begin_ms, end_ms]`.
    pub(super) fn lookup(
        &self,
        key_hash: i32,
        (begin_ms, end_ms): (i64, i64),
        max: usize,
        found: &mut Vec<i64>,
    ) {
        if !self.overlaps(begin_ms, end_ms) {
            return;
        }
        let count = self.header.index_count;
        let slot_position = self.geometry.slot_position(key_hash);
        let mut index = be_i32(&self.read_body::<SLOT_SIZE>(slot_position));
        while index > 0 && index < count && found.len() < max {
            let entry = self.read_body::<ENTRY_SIZE>(self.geometry.entry_position(index));
            let time_ms = self.header.begin_timestamp + i64::from(be_i32(&entry[12..16])) * 1000;
            if time_ms + 999 < begin_ms {
                break; // a chain runs newest to oldest: the rest is older still
            }
            let phys_offset = be_i64(&entry[4..12]);
            let matches = be_i32(&entry[0..4]) == key_hash && time_ms <= end_ms;
            if matches && !found.contains(&phys_offset) {
                found.push(phys_offset);
            }
            let prev_index = be_i32(&entry[16..20]);
            if prev_index <= 0 || prev_index >= index {
                break; // end of chain (or a corrupt link: links always point backwards)
            }
            index = prev_index;
        }
    }

    /// A flush to run if anything changed since the last one.
    pub(super) fn flush_job(&self) -> Option<FlushJob> {
        let changed = self.body_dirty || self.header != self.flushed;
        changed.then(|| FlushJob {
            file_id: self.id,
            path: self.path.clone(),
            header: self.header,
            map: Arc::clone(&self.map),
        })
    }

    pub(super) fn mark_flushed(&mut self, header: IndexHeader) {
        self.flushed = header;
        self.body_dirty = false;
    }

    /// Rebuilds the slots from the durable entries `[1, index_count)` if any slot points
    /// outside them. The entries' chain links were written before the header that counts
    /// them, and replaying the entries in order reproduces the slot heads exactly.
    fn repair_slots(&mut self) -> Result<()> {
        let count = self.header.index_count;
        let slot_bytes = self.geometry.slots as usize * SLOT_SIZE;
        let dangling = (0..self.geometry.slots as usize).any(|slot| {
            let head = be_i32(&self.read_body::<SLOT_SIZE>(HEADER_SIZE + slot * SLOT_SIZE));
            head < 0 || head >= count
        });
        if !dangling {
            return Ok(());
        }
        self.write_body(HEADER_SIZE, &vec![0_u8; slot_bytes]);
        self.header.hash_slot_count = 0;
        for index in 1..count {
            let key_hash = be_i32(&self.read_body::<4>(self.geometry.entry_position(index)));
            if key_hash < 0 {
                let reason = format!("entry {index} has a negative key hash");
                return Err(corrupt(&self.path, reason));
            }
            let slot_position = self.geometry.slot_position(key_hash);
            if be_i32(&self.read_body::<SLOT_SIZE>(slot_position)) == 0 {
                self.header.hash_slot_count += 1;
            }
            self.write_body(slot_position, &index.to_be_bytes());
        }
        self.body_dirty = true;
        Ok(())
    }

    fn read_body<const N: usize>(&self, position: usize) -> [u8; N] {
        assert!(
            position >= HEADER_SIZE && position + N <= self.map.len(),
            "read out of body"
        );
        let mut bytes = [0_u8; N];
        // SAFETY: `[position, position + N)` is inside the body of the mapping (asserted),
        // which `self.map` keeps mapped. Body bytes are only written through `&mut self`
        // (`write_body`), and the service never lets `&mut IndexFile` coexist with this
        // `&self` (write lock vs read lock); the flush path writes only the header range.
        // Any byte pattern is a valid `u8`.
        unsafe {
            std::ptr::copy_nonoverlapping(self.map.as_ptr().add(position), bytes.as_mut_ptr(), N)
        };
        bytes
    }

    fn write_body(&mut self, position: usize, bytes: &[u8]) {
        let end = position + bytes.len();
        assert!(
            position >= HEADER_SIZE && end <= self.map.len(),
            "write out of body"
        );
        // SAFETY: `[position, end)` is inside the body of the mapping (asserted), which
        // `self.map` keeps mapped. `&mut self` is only reachable under the service's write
        // lock, so no reader is reading the body; the flush path touches only the header
        // range, and `msync` running concurrently does not access the memory as Rust data.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.map.as_mut_ptr().add(position),
                bytes.len(),
            );
        }
    }
}

fn validate_header(path: &Path, header: &IndexHeader, geometry: Geometry) -> Result<()> {
    let count_ok = (0..=i64::from(geometry.entries)).contains(&i64::from(header.index_count));
    let slots_ok = (0..=i64::from(geometry.slots)).contains(&i64::from(header.hash_slot_count));
    if count_ok && slots_ok {
        Ok(())
    } else {
        Err(corrupt(path, format!("bad header {header:?}")))
    }
}

fn map(file: &File, path: &Path) -> Result<Arc<MmapRaw>> {
    let map = MmapOptions::new().map_raw(file).map_err(io_error(path))?;
    Ok(Arc::new(map))
}

/// Allocates every block of the file so that later stores into the map can not hit ENOSPC.
fn allocate(file: &File, len: u64) -> io::Result<()> {
    let len =
        libc::off_t::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `posix_fallocate` only reads its integer arguments; the descriptor is valid for
    // the duration of the call because `file` is borrowed.
    let result = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(result))
    }
}

fn be_i32(bytes: &[u8]) -> i32 {
    let mut array = [0_u8; 4];
    array.copy_from_slice(&bytes[..4]);
    i32::from_be_bytes(array)
}

fn be_i64(bytes: &[u8]) -> i64 {
    let mut array = [0_u8; 8];
    array.copy_from_slice(&bytes[..8]);
    i64::from_be_bytes(array)
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> IndexFileError + '_ {
    move |source| IndexFileError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn corrupt(path: &Path, reason: String) -> IndexFileError {
    IndexFileError::CorruptFile {
        path: path.to_path_buf(),
        reason,
    }
}
