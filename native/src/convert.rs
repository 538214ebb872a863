//! Conversions between JS objects and engine types, and the error mapping.

use std::net::{IpAddr, SocketAddr};

use bolide_store::read::GetMessageResult;
use bolide_store::record::MessageInput;
use bolide_store::page_cache::ResidencySample;
use bolide_store::stats::StatsSnapshot;
use bolide_store::store::RecoveryReport;
use bolide_store::{FlushDiskType, StoreConfig, StoreError};
use napi::bindgen_prelude::*;
use napi_derive::napi;

/// The JS error's `code`: the engine's stable error code.
pub struct ErrorCode(pub String);

impl AsRef<str> for ErrorCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<Status> for ErrorCode {
    fn from(status: Status) -> Self {
        ErrorCode(status.as_ref().to_owned())
    }
}

pub type BindingResult<T> = std::result::Result<T, napi::Error<ErrorCode>>;

pub fn binding_error(code: &str, message: impl Into<String>) -> napi::Error<ErrorCode> {
    napi::Error::new(ErrorCode(code.to_owned()), message.into())
}

pub fn store_error(error: StoreError) -> napi::Error<ErrorCode> {
    binding_error(error.code(), error.to_string())
}

/// Store settings, with RocketMQ's broker.conf names.
#[napi(object)]
pub struct StoreOptions {
    pub store_path_root_dir: String,
    pub mapped_file_size_commit_log: Option<f64>,
    pub mapped_file_size_consume_queue_entries: Option<f64>,
    /// "SYNC_FLUSH" or "ASYNC_FLUSH".
    pub flush_disk_type: Option<String>,
    pub flush_interval_commit_log: Option<u32>,
    pub flush_commit_log_least_pages: Option<u32>,
    pub flush_commit_log_thorough_interval: Option<u32>,
    pub flush_interval_consume_queue: Option<u32>,
    pub max_message_size: Option<u32>,
    pub warm_mapped_file: Option<bool>,
    pub file_reserved_time: Option<u32>,
    /// Hours of the day, e.g. [4] for deleteWhen=04.
    pub delete_when: Option<Vec<u32>>,
    pub disk_max_used_space_ratio: Option<u32>,
    pub disk_clean_forcibly_ratio: Option<u32>,
    pub disk_full_ratio: Option<u32>,
    pub clean_resource_interval: Option<u32>,
    pub message_index_enable: Option<bool>,
    pub max_hash_slot_num: Option<u32>,
    pub max_index_num: Option<u32>,
    /// Bolide: MADV_WILLNEED ahead of readers catching up in older segments (default true).
    pub catch_up_read_ahead: Option<bool>,
    /// Bolide: MADV_DONTNEED on segments the writer left behind (default true).
    pub release_cold_segments: Option<bool>,
    /// Bolide: start writeback of what the writer left behind, without waiting (default true).
    pub write_back_behind_head: Option<bool>,
    /// Bolide: write appends with pwrite rather than through the mapping (default: with SYNC_FLUSH).
    pub append_by_pwrite: Option<bool>,
    /// Bolide: with appends by pwrite, write zeros to disk ahead of the write head (default false).
    pub zero_fill_ahead: Option<bool>,
    /// Bolide: run the helper threads at a higher nice value than the opening thread (default true).
    pub lower_helper_thread_priority: Option<bool>,
    /// Percent of physical memory behind the write head that reads count as "in memory" (40).
    pub access_message_in_memory_max_ratio: Option<u32>,
    /// Bolide: physical memory size for that estimate, bytes (default: RAM or the cgroup limit if lower).
    pub total_physical_memory_size: Option<f64>,
    /// Bolide: ms between CommitLog residency samples (mincore); 0 = only on request.
    pub page_cache_sample_interval: Option<u32>,
}

pub fn to_config(options: &StoreOptions) -> BindingResult<StoreConfig> {
    let mut config = StoreConfig::new(&options.store_path_root_dir);
    if let Some(size) = options.mapped_file_size_commit_log {
        config.mapped_file_size_commit_log = whole_number("mappedFileSizeCommitLog", size)?;
    }
    if let Some(entries) = options.mapped_file_size_consume_queue_entries {
        config.consume_queue_entries_per_file = whole_number("consumeQueueEntriesPerFile", entries)?;
    }
    if let Some(kind) = &options.flush_disk_type {
        config.flush_disk_type = match kind.as_str() {
            "SYNC_FLUSH" => FlushDiskType::SyncFlush,
            "ASYNC_FLUSH" => FlushDiskType::AsyncFlush,
            other => {
                return Err(binding_error(
                    "INVALID_ARGUMENT",
                    format!("flushDiskType must be SYNC_FLUSH or ASYNC_FLUSH, got {other:?}"),
                ))
            }
        };
    }
    let millis = |value: Option<u32>, default: u64| value.map_or(default, u64::from);
    config.flush_interval_commit_log_ms = millis(options.flush_interval_commit_log, config.flush_interval_commit_log_ms);
    config.flush_commit_log_least_pages = millis(options.flush_commit_log_least_pages, config.flush_commit_log_least_pages);
    config.flush_commit_log_thorough_interval_ms =
        millis(options.flush_commit_log_thorough_interval, config.flush_commit_log_thorough_interval_ms);
    config.flush_interval_consume_queue_ms =
        millis(options.flush_interval_consume_queue, config.flush_interval_consume_queue_ms);
    config.clean_resource_interval_ms = millis(options.clean_resource_interval, config.clean_resource_interval_ms);
    config.file_reserved_time_hours = millis(options.file_reserved_time, config.file_reserved_time_hours);
    if let Some(size) = options.max_message_size {
        config.max_message_size = size as usize;
    }
    if let Some(warm) = options.warm_mapped_file {
        config.warm_mapped_file = warm;
    }
    if let Some(hours) = &options.delete_when {
        config.delete_when = hours.clone();
    }
    if let Some(ratio) = options.disk_max_used_space_ratio {
        config.disk_max_used_space_ratio = ratio;
    }
    if let Some(ratio) = options.disk_clean_forcibly_ratio {
        config.disk_clean_forcibly_ratio = ratio;
    }
    if let Some(ratio) = options.disk_full_ratio {
        config.disk_full_ratio = ratio;
    }
    if let Some(enable) = options.message_index_enable {
        config.message_index_enable = enable;
    }
    if let Some(slots) = options.max_hash_slot_num {
        config.max_hash_slot_num = slots;
    }
    if let Some(entries) = options.max_index_num {
        config.max_index_num = entries;
    }
    if let Some(enable) = options.catch_up_read_ahead {
        config.catch_up_read_ahead = enable;
    }
    if let Some(enable) = options.release_cold_segments {
        config.release_cold_segments = enable;
    }
    if let Some(enable) = options.write_back_behind_head {
        config.write_back_behind_head = enable;
    }
    config.append_by_pwrite = options.append_by_pwrite;
    if let Some(enable) = options.zero_fill_ahead {
        config.zero_fill_ahead = enable;
    }
    if let Some(enable) = options.lower_helper_thread_priority {
        config.lower_helper_thread_priority = enable;
    }
    if let Some(ratio) = options.access_message_in_memory_max_ratio {
        config.access_message_in_memory_max_ratio = ratio;
    }
    if let Some(size) = options.total_physical_memory_size {
        config.total_physical_memory_size = Some(whole_number("totalPhysicalMemorySize", size)?);
    }
    config.page_cache_sample_interval_ms = millis(options.page_cache_sample_interval, config.page_cache_sample_interval_ms);
    config.validate().map_err(store_error)?;
    Ok(config)
}

fn whole_number(name: &str, value: f64) -> BindingResult<u64> {
    if value.fract() != 0.0 || value <= 0.0 || value > 9.0e15 {
        return Err(binding_error("INVALID_ARGUMENT", format!("{name} must be a positive whole number, got {value}")));
    }
    Ok(value as u64)
}

/// A host pre-encoded as RocketMQ stores it: 4-byte IPv4 or 16-byte IPv6 address followed by
/// a big-endian 4-byte port (the JS side encodes it once per connection).
pub fn decode_packed_host(bytes: &[u8]) -> BindingResult<SocketAddr> {
    let (ip, port): (IpAddr, &[u8]) = match bytes.len() {
        8 => (IpAddr::from(<[u8; 4]>::try_from(&bytes[..4]).expect("4 bytes")), &bytes[4..]),
        20 => (IpAddr::from(<[u8; 16]>::try_from(&bytes[..16]).expect("16 bytes")), &bytes[16..]),
        other => return Err(binding_error("INVALID_ARGUMENT", format!("a packed host is 8 or 20 bytes, got {other}"))),
    };
    let port = u32::from_be_bytes(port.try_into().expect("4 bytes"));
    parse_port(port).map(|port| SocketAddr::new(ip, port))
}

/// A born host carried as numbers (`append_one`'s `io[6..12]`): [port, address words (1 for
/// IPv4, 4 for IPv6), the address as big-endian u32 words]. Numbers, not a packed Buffer:
/// one typed-array argument less per append.
pub fn host_from_numbers(numbers: &[f64]) -> BindingResult<SocketAddr> {
    let word = |index: usize| meta_int(numbers[index], "born host word", 0, i64::from(u32::MAX)).map(|v| v as u32);
    let ip = match meta_int(numbers[1], "born host word count", 1, 4)? {
        1 => IpAddr::from(word(2)?.to_be_bytes()),
        4 => {
            let mut octets = [0u8; 16];
            for (i, chunk) in octets.chunks_exact_mut(4).enumerate() {
                chunk.copy_from_slice(&word(2 + i)?.to_be_bytes());
            }
            IpAddr::from(octets)
        }
        other => return Err(binding_error("INVALID_ARGUMENT", format!("a born host has 1 (IPv4) or 4 (IPv6) address words, got {other}"))),
    };
    let port = meta_int(numbers[0], "born port", 0, i64::from(u16::MAX))?;
    Ok(SocketAddr::new(ip, port as u16))
}

fn parse_port(port: u32) -> BindingResult<u16> {
    u16::try_from(port).map_err(|_| binding_error("INVALID_ARGUMENT", format!("port {port} out of range")))
}

/// Numbers per message in `append_many`'s `meta`.
pub const META_FIELDS: usize = 10;

/// A `meta` number that must be an integer in `[min, max]`.
#[inline]
fn meta_int(value: f64, what: &str, min: i64, max: i64) -> BindingResult<i64> {
    // `as i64` then back is the integer test without a libm trunc call (this runs for
    // every number of every append); NaN fails it, and the range check follows.
    if (value as i64) as f64 != value || value < min as f64 || value > max as f64 {
        return Err(not_an_integer_in(value, what, min, max));
    }
    Ok(value as i64)
}

/// Out of line: formatting the error kept `meta_int` from being inlined into its callers.
#[cold]
#[inline(never)]
fn not_an_integer_in(value: f64, what: &str, min: i64, max: i64) -> napi::Error<ErrorCode> {
    binding_error("INVALID_ARGUMENT", format!("{what} {value} is not an integer in [{min}, {max}]"))
}

/// A message's six numbers, checked: `append_one`'s `io` array and `append_many`'s `meta`
/// (after the topic index) carry them in this order. A NaN born timestamp means "not given":
/// the store timestamp is written (one clock read instead of two per append).
pub struct MessageNumbers {
    queue_id: i32,
    sys_flag: i32,
    flag: i32,
    born_timestamp: Option<i64>,
    reconsume_times: i32,
    prepared_transaction_offset: i64,
}

impl MessageNumbers {
    /// Reads `numbers[0..6]`; the caller checks there are six.
    pub fn read(numbers: &[f64]) -> BindingResult<MessageNumbers> {
        let int32 = |value: f64, what: &str| meta_int(value, what, i64::from(i32::MIN), i64::from(i32::MAX)).map(|v| v as i32);
        Ok(MessageNumbers {
            queue_id: int32(numbers[0], "queueId")?,
            sys_flag: int32(numbers[1], "sysFlag")?,
            flag: int32(numbers[2], "flag")?,
            born_timestamp: match numbers[3] {
                absent if absent.is_nan() => None,
                given => Some(meta_int(given, "bornTimestamp", -MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)?),
            },
            reconsume_times: int32(numbers[4], "reconsumeTimes")?,
            prepared_transaction_offset: meta_int(numbers[5], "preparedTransactionOffset", -MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)?,
        })
    }

    /// The message these numbers describe, with its borrowed parts.
    pub fn input<'a>(&self, topic: &'a str, born_host: SocketAddr, body: &'a [u8], properties: &'a [u8]) -> MessageInput<'a> {
        MessageInput {
            topic,
            queue_id: self.queue_id,
            flag: self.flag,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            born_host,
            reconsume_times: self.reconsume_times,
            prepared_transaction_offset: self.prepared_transaction_offset,
            body,
            properties,
        }
    }
}

/// The messages `append_many` describes (see there), borrowed from its arguments.
pub fn unpack_messages<'a>(topics: &'a [String], meta: &[f64], data: &'a [u8]) -> BindingResult<Vec<MessageInput<'a>>> {
    if meta.is_empty() || !meta.chunks_exact(META_FIELDS).remainder().is_empty() {
        return Err(binding_error("INVALID_ARGUMENT", format!("meta has {} numbers, not a positive multiple of {META_FIELDS}", meta.len())));
    }
    let mut inputs = Vec::with_capacity(meta.len() / META_FIELDS);
    let mut rest = data;
    let mut take = |len: i64, what: &str| -> BindingResult<&'a [u8]> {
        let len = len as usize;
        if len > rest.len() {
            return Err(binding_error("INVALID_ARGUMENT", format!("{what} runs past the end of data")));
        }
        let (head, tail) = rest.split_at(len);
        rest = tail;
        Ok(head)
    };
    for m in meta.chunks_exact(META_FIELDS) {
        let topic = topics
            .get(meta_int(m[0], "topic index", 0, i64::from(u32::MAX))? as usize)
            .ok_or_else(|| binding_error("INVALID_ARGUMENT", "topic index out of range"))?;
        let numbers = MessageNumbers::read(&m[1..7])?;
        let host_len = meta_int(m[7], "born host length", 0, 20)?;
        let body_len = meta_int(m[8], "body length", 0, i64::from(u32::MAX))?;
        let properties_len = meta_int(m[9], "properties length", 0, i64::from(u32::MAX))?;
        let born_host = decode_packed_host(take(host_len, "a born host")?)?;
        let body = take(body_len, "a body")?;
        let properties = take(properties_len, "a properties string")?;
        inputs.push(numbers.input(topic, born_host, body, properties));
    }
    if !rest.is_empty() {
        return Err(binding_error("INVALID_ARGUMENT", format!("{} bytes of data are not described by meta", rest.len())));
    }
    Ok(inputs)
}

/// JavaScript's Number.MAX_SAFE_INTEGER: larger doubles are not exact integers.
const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

pub fn parse_host(host: &str, port: u32) -> BindingResult<SocketAddr> {
    let ip: IpAddr = host
        .parse()
        .map_err(|_| binding_error("INVALID_ARGUMENT", format!("{host:?} is not an IP address")))?;
    let port = u16::try_from(port).map_err(|_| binding_error("INVALID_ARGUMENT", format!("port {port} out of range")))?;
    Ok(SocketAddr::new(ip, port))
}

#[napi(object)]
pub struct PullBatch {
    /// RocketMQ's GetMessageStatus name (FOUND, OFFSET_OVERFLOW_ONE, ...).
    pub status: String,
    pub next_begin_offset: f64,
    pub min_offset: f64,
    pub max_offset: f64,
    pub message_count: u32,
    pub total_bytes: u32,
    /// [segmentStart, position, length, queueOffset] per message.
    pub slices: Float64Array,
}

impl From<GetMessageResult> for PullBatch {
    fn from(result: GetMessageResult) -> Self {
        let mut slices = Vec::with_capacity(result.messages.len() * 4);
        for message in &result.messages {
            slices.push(message.segment.file_from_offset() as f64);
            slices.push(message.pos as f64);
            slices.push(message.len as f64);
            slices.push(message.queue_offset as f64);
        }
        PullBatch {
            status: result.status.name().to_owned(),
            next_begin_offset: result.next_begin_offset as f64,
            min_offset: result.min_offset as f64,
            max_offset: result.max_offset as f64,
            message_count: result.messages.len() as u32,
            total_bytes: result.total_bytes as u32,
            slices: Float64Array::new(slices),
        }
    }
}

#[napi(object)]
pub struct FlushedEvent {
    pub flushed_offset: f64,
    pub error: Option<String>,
}

#[napi(object)]
pub struct DispatchedQueue {
    pub topic: String,
    pub queue_id: i32,
    pub max_offset: f64,
}

#[napi(object)]
pub struct StoreStatistics {
    pub appended_messages: f64,
    pub appended_bytes: f64,
    pub fsyncs: f64,
    pub allocation_stalls: f64,
    pub segments_allocated: f64,
    pub dispatched_messages: f64,
    pub transferred_bytes: f64,
    pub segments_deleted: f64,
    /// CommitLog fsyncs per latency bucket (bounds in `fsyncBucketBoundsMicros`, then overflow).
    pub fsync_buckets: Vec<f64>,
    pub fsync_bucket_bounds_micros: Vec<f64>,
    pub fsync_micros_total: f64,
    /// Messages and bytes returned by getMessages, classed by RocketMQ's in-memory estimate.
    pub read_messages_in_memory: f64,
    pub read_bytes_in_memory: f64,
    pub read_messages_on_disk: f64,
    pub read_bytes_on_disk: f64,
}

impl From<StatsSnapshot> for StoreStatistics {
    fn from(s: StatsSnapshot) -> Self {
        StoreStatistics {
            appended_messages: s.appended_messages as f64,
            appended_bytes: s.appended_bytes as f64,
            fsyncs: s.fsyncs as f64,
            allocation_stalls: s.allocation_stalls as f64,
            segments_allocated: s.segments_allocated as f64,
            dispatched_messages: s.dispatched_messages as f64,
            transferred_bytes: s.transferred_bytes as f64,
            segments_deleted: s.segments_deleted as f64,
            fsync_buckets: s.fsync_buckets.iter().map(|&count| count as f64).collect(),
            fsync_bucket_bounds_micros: bolide_store::stats::FSYNC_BUCKETS_MICROS.iter().map(|&bound| bound as f64).collect(),
            fsync_micros_total: s.fsync_micros_total as f64,
            read_messages_in_memory: s.read_messages_in_memory as f64,
            read_bytes_in_memory: s.read_bytes_in_memory as f64,
            read_messages_on_disk: s.read_messages_on_disk as f64,
            read_bytes_on_disk: s.read_bytes_on_disk as f64,
        }
    }
}

/// One CommitLog residency sample (mincore over the segment mappings).
#[napi(object)]
pub struct PageCacheResidency {
    pub segments: f64,
    pub mapped_bytes: f64,
    pub resident_bytes: f64,
    /// The window before the write head measured on its own (page-rounded, <= 64 MiB + a page).
    pub hot_tail_bytes: f64,
    pub hot_tail_resident_bytes: f64,
    pub sampled_at_ms: f64,
    pub sample_micros: f64,
}

impl From<ResidencySample> for PageCacheResidency {
    fn from(s: ResidencySample) -> Self {
        PageCacheResidency {
            segments: s.segments as f64,
            mapped_bytes: s.mapped_bytes as f64,
            resident_bytes: s.resident_bytes as f64,
            hot_tail_bytes: s.hot_tail_bytes as f64,
            hot_tail_resident_bytes: s.hot_tail_resident_bytes as f64,
            sampled_at_ms: s.sampled_at_ms as f64,
            sample_micros: s.sample_micros as f64,
        }
    }
}

#[napi(object)]
pub struct PageCacheInfo {
    /// Bytes behind the write head within which reads count as served from memory.
    pub in_memory_window_bytes: f64,
    /// The latest residency sample; absent until the sampler's first pass.
    pub residency: Option<PageCacheResidency>,
}

#[napi(object)]
pub struct RecoveryInfo {
    pub was_aborted: bool,
    pub checkpoint_offset: f64,
    pub end_offset: f64,
    pub verified_bytes: f64,
    pub truncated_corrupt_tail: bool,
}

impl From<RecoveryReport> for RecoveryInfo {
    fn from(r: RecoveryReport) -> Self {
        RecoveryInfo {
            was_aborted: r.was_aborted,
            checkpoint_offset: r.checkpoint_offset as f64,
            end_offset: r.end_offset as f64,
            verified_bytes: r.verified_bytes as f64,
            truncated_corrupt_tail: r.truncated_corrupt_tail,
        }
    }
}
