//! Reads: pulls by queue and offset (RocketMQ's getMessage), offset queries, lookups by key
//! and by physical offset. Results are slices of the CommitLog mapping (`MessageSlice`) that
//! keep their segment alive, so they can be handed to sendfile or wrapped as JS Buffers
//! without a copy.

use std::sync::Arc;

use crate::commit_log::CommitLog;
use crate::consume_queue::{BoundaryType, CqEntry};
use crate::error::{Result, StoreError};
use crate::mapped_file::Segment;
use crate::store::MessageStore;

/// Entries scanned per pull at most when filtering (RocketMQ's maxFilterMessageSize/20).
const FILTER_SCAN_ENTRIES_MAX: usize = 800;

/// One stored record inside the CommitLog mapping.
#[derive(Debug, Clone)]
pub struct MessageSlice {
    pub segment: Arc<Segment>,
    pub pos: usize,
    pub len: usize,
    pub physical_offset: u64,
    pub queue_offset: i64,
    pub tags_code: i64,
}

impl MessageSlice {
    pub fn bytes(&self) -> &[u8] {
        self.segment.slice(self.pos, self.len)
    }
}

/// RocketMQ's GetMessageStatus; the broker maps it to a pull response code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetMessageStatus {
    Found,
    NoMatchedMessage,
    MessageWasRemoving,
    OffsetFoundNull,
    OffsetOverflowBadly,
    OffsetOverflowOne,
    OffsetTooSmall,
    NoMatchedLogicQueue,
    NoMessageInQueue,
}

impl GetMessageStatus {
    pub fn name(self) -> &'static str {
        match self {
            GetMessageStatus::Found => "FOUND",
            GetMessageStatus::NoMatchedMessage => "NO_MATCHED_MESSAGE",
            GetMessageStatus::MessageWasRemoving => "MESSAGE_WAS_REMOVING",
            GetMessageStatus::OffsetFoundNull => "OFFSET_FOUND_NULL",
            GetMessageStatus::OffsetOverflowBadly => "OFFSET_OVERFLOW_BADLY",
            GetMessageStatus::OffsetOverflowOne => "OFFSET_OVERFLOW_ONE",
            GetMessageStatus::OffsetTooSmall => "OFFSET_TOO_SMALL",
            GetMessageStatus::NoMatchedLogicQueue => "NO_MATCHED_LOGIC_QUEUE",
            GetMessageStatus::NoMessageInQueue => "NO_MESSAGE_IN_QUEUE",
        }
    }
}

#[derive(Debug, Clone)]
pub struct GetMessageResult {
    pub status: GetMessageStatus,
    pub next_begin_offset: i64,
    pub min_offset: i64,
    pub max_offset: i64,
    pub messages: Vec<MessageSlice>,
    pub total_bytes: usize,
}

/// What a pull asks for.
#[derive(Debug, Clone)]
pub struct GetMessageRequest<'a> {
    pub topic: &'a str,
    pub queue_id: i32,
    pub offset: i64,
    pub max_messages: usize,
    pub max_bytes: usize,
    /// Tag hash codes to keep; `None` keeps everything (subscription `*`).
    pub tag_codes: Option<&'a [i64]>,
}

impl MessageStore {
    pub fn max_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.consume_queues.max_offset(topic, queue_id)
    }

    pub fn min_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.consume_queues.min_offset(topic, queue_id)
    }

    /// Every (topic, queueId) with a ConsumeQueue.
    pub fn queues(&self) -> Vec<(String, i32)> {
        self.consume_queues.queues()
    }

    pub fn get_messages(&self, request: &GetMessageRequest<'_>) -> Result<GetMessageResult> {
        let (topic, queue_id, offset) = (request.topic, request.queue_id, request.offset);
        let exists = self.consume_queues.contains_queue(topic, queue_id);
        let min_offset = self.consume_queues.min_offset(topic, queue_id);
        let max_offset = self.consume_queues.max_offset(topic, queue_id);
        let empty = |status, next_begin_offset| GetMessageResult {
            status,
            next_begin_offset,
            min_offset,
            max_offset,
            messages: Vec::new(),
            total_bytes: 0,
        };
        if !exists {
            return Ok(empty(GetMessageStatus::NoMatchedLogicQueue, 0));
        }
        if max_offset == 0 {
            return Ok(empty(GetMessageStatus::NoMessageInQueue, 0));
        }
        if offset < min_offset {
            return Ok(empty(GetMessageStatus::OffsetTooSmall, min_offset));
        }
        if offset == max_offset {
            return Ok(empty(GetMessageStatus::OffsetOverflowOne, offset));
        }
        if offset > max_offset {
            return Ok(empty(GetMessageStatus::OffsetOverflowBadly, max_offset));
        }
        let scan_max = if request.tag_codes.is_some() {
            FILTER_SCAN_ENTRIES_MAX.max(request.max_messages)
        } else {
            request.max_messages.max(1)
        };
        let entries = self.consume_queues.read(topic, queue_id, offset, scan_max)?;
        let mut result = empty(GetMessageStatus::NoMatchedMessage, offset);
        let commit_log_min = self.commit_log.min_offset() as i64;
        let mut scanned = 0i64;
        let mut found_null = 0usize;
        for (index, entry) in entries.iter().enumerate() {
            if result.messages.len() >= request.max_messages {
                break;
            }
            let too_big = result.total_bytes + entry.size as usize > request.max_bytes;
            if too_big && !result.messages.is_empty() {
                break;
            }
            scanned = index as i64 + 1;
            if entry.commit_log_offset < commit_log_min {
                found_null += 1;
                continue;
            }
            if !tag_matches(request.tag_codes, entry.tags_code) {
                continue;
            }
            match slice_of(&self.commit_log, entry, offset + index as i64) {
                Some(slice) => {
                    result.total_bytes += slice.len;
                    result.messages.push(slice);
                }
                None => found_null += 1,
            }
        }
        self.read_ahead_if_catching_up(&result.messages);
        self.record_read_sources(&result.messages);
        result.next_begin_offset = offset + scanned;
        result.status = if !result.messages.is_empty() {
            GetMessageStatus::Found
        } else if found_null > 0 && found_null as i64 == scanned {
            GetMessageStatus::OffsetFoundNull
        } else {
            GetMessageStatus::NoMatchedMessage
        };
        Ok(result)
    }

    /// Class each message as RocketMQ would (in memory when close enough to the write head):
    /// one subtraction per message, so every pull is counted.
    fn record_read_sources(&self, messages: &[MessageSlice]) {
        if messages.is_empty() {
            return;
        }
        let head = self.commit_log.write_position();
        let (mut memory, mut disk) = ((0u64, 0u64), (0u64, 0u64));
        for message in messages {
            let class = if self.memory_classifier.in_memory(head, message.physical_offset) { &mut memory } else { &mut disk };
            class.0 += 1;
            class.1 += message.len as u64;
        }
        self.stats.record_reads(memory, disk);
    }

    /// A reader in an older segment than the write head is catching up: its next pages are
    /// probably not in memory, so ask the kernel to start reading them now (MADV_WILLNEED),
    /// overlapping the disk read with sending this batch.
    fn read_ahead_if_catching_up(&self, messages: &[MessageSlice]) {
        const READ_AHEAD_BYTES: usize = 4 << 20;
        let Some(last) = messages.last() else { return };
        if !self.config.catch_up_read_ahead {
            return;
        }
        let head = self.commit_log.write_position();
        let segment_size = self.commit_log.segment_size();
        if last.segment.file_from_offset() + segment_size > head {
            return; // reading in the write head's segment: those pages are hot
        }
        last.segment.advise_will_need(last.pos + last.len, READ_AHEAD_BYTES);
    }

    /// The record at a physical offset (VIEW_MESSAGE_BY_ID).
    pub fn message_at(&self, physical_offset: u64) -> Result<MessageSlice> {
        let size = self.commit_log.with_record(physical_offset, |view| (view.total_size, view.queue_offset, view.tags_code()))?;
        let (segment, pos, _) = self.commit_log.readable_at(physical_offset)?;
        Ok(MessageSlice { segment, pos, len: size.0, physical_offset, queue_offset: size.1, tags_code: size.2 })
    }

    /// Physical offsets of records indexed under `topic#key`, newest first, deduplicated
    /// (recovery may index a record twice). Callers re-check keys: hashes can collide.
    pub fn query_by_key(&self, topic: &str, key: &str, max_num: usize, begin_ms: i64, end_ms: i64) -> Result<Vec<u64>> {
        let Some(index) = &self.index else {
            return Err(StoreError::InvalidArgument("messageIndexEnable is false".into()));
        };
        let mut offsets = index.query(&format!("{topic}#{key}"), max_num.saturating_mul(2), begin_ms, end_ms);
        let min = self.commit_log.min_offset() as i64;
        let mut seen = std::collections::HashSet::new();
        offsets.retain(|offset| *offset >= min && seen.insert(*offset));
        offsets.truncate(max_num);
        Ok(offsets.into_iter().map(|offset| offset as u64).collect())
    }

    /// SEARCH_OFFSET_BY_TIMESTAMP: `upper == false` finds the first entry stored at or after
    /// `timestamp`, `upper == true` the last one stored at or before it.
    pub fn offset_by_time(&self, topic: &str, queue_id: i32, timestamp: i64, upper: bool) -> Result<i64> {
        let commit_log = &self.commit_log;
        let boundary = if upper { BoundaryType::Upper } else { BoundaryType::Lower };
        let lookup = |phys: i64, _size: i32| commit_log.with_record(phys as u64, |view| view.store_timestamp).ok();
        Ok(self.consume_queues.search_offset_by_time(topic, queue_id, timestamp, lookup, boundary)?)
    }

    /// Store timestamp of the record at a queue offset (GET_EARLIEST_MSG_STORETIME and friends).
    pub fn store_time_at(&self, topic: &str, queue_id: i32, queue_offset: i64) -> Result<Option<i64>> {
        let entries = self.consume_queues.read(topic, queue_id, queue_offset, 1)?;
        let Some(entry) = entries.first() else { return Ok(None) };
        Ok(self.commit_log.with_record(entry.commit_log_offset as u64, |view| view.store_timestamp).ok())
    }
}

fn tag_matches(codes: Option<&[i64]>, tags_code: i64) -> bool {
    codes.is_none_or(|codes| codes.contains(&tags_code))
}

fn slice_of(commit_log: &CommitLog, entry: &CqEntry, queue_offset: i64) -> Option<MessageSlice> {
    let (segment, pos, available) = commit_log.readable_at(entry.commit_log_offset as u64).ok()?;
    let len = usize::try_from(entry.size).ok()?;
    if len > available {
        return None;
    }
    Some(MessageSlice { segment, pos, len, physical_offset: entry.commit_log_offset as u64, queue_offset, tags_code: entry.tags_code })
}
