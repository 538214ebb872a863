//! The CommitLog's recovery calls: find the end of the valid records after a crash, and cut
//! the log there (nothing after a torn or corrupt record may ever be served).

use crate::error::{IoContext, Result};
use crate::record::{self, decode_record, Decoded};

use super::CommitLog;

impl CommitLog {
    /// Recovery: walk records from `from`, verifying each (magic, size, body CRC), and return
    /// the end of the last valid one together with whether the walk stopped on bad bytes.
    pub(crate) fn scan_valid_end(&self, from: u64, mut on_record: impl FnMut(&record::RecordView<'_>)) -> (u64, bool) {
        let mut offset = from;
        loop {
            let Some(segment) = self.segment_for(offset) else { return (offset, false) };
            let base = segment.file_from_offset();
            let pos = (offset - base) as usize;
            let bytes = segment.slice(pos, (self.segment_size - (offset - base)) as usize);
            match decode_record(bytes, true) {
                Ok(Decoded::Record(view)) if view.physical_offset as u64 == offset => {
                    on_record(&view);
                    offset += view.total_size as u64;
                }
                Ok(Decoded::Blank { size }) if base + self.segment_size == offset + size as u64 => {
                    offset = base + self.segment_size;
                }
                Ok(Decoded::End) => return (offset, false),
                _ => return (offset, true),
            }
        }
    }

    /// Recovery: make `end` the end of the log: zero what follows it in its segment (old
    /// records after a corrupt one must never resurface) and delete later segments.
    pub(crate) fn truncate_after(&self, end: u64, zero_tail: bool) -> Result<()> {
        let mut segments = self.segments.write().expect("segment list lock");
        while let Some(last) = segments.last() {
            if last.file_from_offset() <= end && end < last.file_from_offset() + self.segment_size {
                break;
            }
            if last.file_from_offset() < end {
                break;
            }
            let last = segments.pop().expect("checked non-empty");
            std::fs::remove_file(last.path()).context(|| format!("deleting {}", last.path().display()))?;
        }
        if zero_tail {
            if let Some(last) = segments.last() {
                let base = last.file_from_offset();
                if end >= base && end < base + self.segment_size {
                    let pos = (end - base) as usize;
                    let len = (self.segment_size - (end - base)) as usize;
                    // SAFETY: recovery runs before the store is shared; nothing reads past `end`.
                    unsafe { last.slice_mut(pos, len) }.fill(0);
                    last.flush(pos, pos + len)?;
                }
            }
        }
        Ok(())
    }
}
