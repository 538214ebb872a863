//! The 20-byte ConsumeQueue entry codec and the file arithmetic (see the format table in the
//! parent module's doc).

use super::{CQ_ENTRY_SIZE, FILE_NAME_DIGITS};

/// One ConsumeQueue entry: where a message is in the CommitLog and its tag hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CqEntry {
    pub commit_log_offset: i64,
    pub size: i32,
    /// Java `String.hashCode()` of the TAGS property (0 if none); the delivery time for
    /// `SCHEDULE_TOPIC_XXXX`.
    pub tags_code: i64,
}

impl CqEntry {
    /// Encodes the entry as 20 big-endian bytes.
    #[must_use]
    pub fn encode(&self) -> [u8; CQ_ENTRY_SIZE] {
        let mut bytes = [0_u8; CQ_ENTRY_SIZE];
        bytes[0..8].copy_from_slice(&self.commit_log_offset.to_be_bytes());
        bytes[8..12].copy_from_slice(&self.size.to_be_bytes());
        bytes[12..20].copy_from_slice(&self.tags_code.to_be_bytes());
        bytes
    }

    /// Decodes 20 big-endian bytes. Panics if `bytes` is not exactly 20 bytes long.
    #[must_use]
    pub fn decode(bytes: &[u8]) -> Self {
        assert_eq!(
            bytes.len(),
            CQ_ENTRY_SIZE,
            "a ConsumeQueue entry is 20 bytes"
        );
        let mut offset = [0_u8; 8];
        let mut size = [0_u8; 4];
        let mut tags = [0_u8; 8];
        offset.copy_from_slice(&bytes[0..8]);
        size.copy_from_slice(&bytes[8..12]);
        tags.copy_from_slice(&bytes[12..20]);
        Self {
            commit_log_offset: i64::from_be_bytes(offset),
            size: i32::from_be_bytes(size),
            tags_code: i64::from_be_bytes(tags),
        }
    }

    /// Whether the slot holds an entry (a zero size means never written).
    #[must_use]
    pub fn is_present(&self) -> bool {
        self.size > 0
    }

    /// CommitLog offset just past the record.
    #[must_use]
    pub fn end_offset(&self) -> i64 {
        self.commit_log_offset + i64::from(self.size)
    }
}

/// File arithmetic for one `entries_per_file`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Geometry {
    pub(super) entries_per_file: i64,
}

impl Geometry {
    pub(super) fn file_start(self, queue_offset: i64) -> i64 {
        queue_offset - queue_offset.rem_euclid(self.entries_per_file)
    }

    pub(super) fn file_bytes(self) -> i64 {
        self.entries_per_file * CQ_ENTRY_SIZE as i64
    }

    pub(super) fn byte_position(self, queue_offset: i64) -> u64 {
        (queue_offset - self.file_start(queue_offset)) as u64 * CQ_ENTRY_SIZE as u64
    }

    pub(super) fn file_name(self, file_start: i64) -> String {
        format!("{:020}", file_start * CQ_ENTRY_SIZE as i64)
    }

    pub(super) fn parse_file_name(name: &str) -> Option<i64> {
        let digits = name.len() == FILE_NAME_DIGITS && name.bytes().all(|b| b.is_ascii_digit());
        digits.then(|| name.parse().ok()).flatten()
    }
}
