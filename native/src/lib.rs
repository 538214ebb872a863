//! napi-rs binding for the storage engine. Thin on purpose: it checks arguments, hands work to
//! `bolide_store`, and maps engine errors to JS errors whose `code` is the engine's stable
//! code (`DISK_FULL`, `STORE_LOCKED`, ...). Nothing here panics across the FFI boundary:
//! every fallible call returns a `Result`.
//!
//! Only `ts/store/index.ts` imports this module.

mod convert;
pub mod fast_path;
mod raw_call;
mod segments;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use bolide_store::read::GetMessageRequest;
use bolide_store::store::MessageStore;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use crate::convert::{
    binding_error, parse_host, store_error, to_config, ErrorCode, DispatchedQueue,
    FlushedEvent, PageCacheInfo, PageCacheResidency, PullBatch, RecoveryInfo, StoreOptions, StoreStatistics,
};
use crate::segments::{SegmentExports, Transfer};


/// An open message store (one per broker). Closing it is a clean shutdown.
#[napi]
pub struct NativeStore {
    // Behind a lock so `close` can take `&self`: napi-rs tracks borrows of this object, and an
    // async transfer still running holds a shared one, which a `&mut self` close would collide
    // with ("cannot be borrowed mutably while another borrow is active").
    store: RwLock<Option<Arc<MessageStore>>>,
    exports: Arc<SegmentExports>,
    /// This store's slot in the per-thread table of `fast_path`'s free functions.
    fast_handle: u32,
}

#[napi]
impl NativeStore {
    /// Open (and recover) the store under `options.storePathRootDir`.
    #[napi(constructor)]
    pub fn new(options: StoreOptions) -> Result<Self, ErrorCode> {
        let config = to_config(&options)?;
        let store = Arc::new(MessageStore::open(config).map_err(store_error)?);
        let fast_handle = fast_path::register(store.clone())?;
        Ok(NativeStore { store: RwLock::new(Some(store)), exports: Arc::new(SegmentExports::default()), fast_handle })
    }

    /// The handle `appendOne`, `registerTopic` and `clearTopics` take (see `fast_path`).
    #[napi(getter)]
    pub fn fast_handle(&self) -> u32 {
        self.fast_handle
    }

    fn store(&self) -> Result<Arc<MessageStore>, ErrorCode> {
        let store = self.store.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        store.as_ref().cloned().ok_or_else(|| binding_error("CLOSED", "the store is closed"))
    }

    /// The address written as STOREHOST into every record (brokerIP1 and the bound port).
    #[napi]
    pub fn set_store_host(&self, host: String, port: u32) -> Result<(), ErrorCode> {
        let addr = parse_host(&host, port)?;
        self.store()?.set_store_host(addr);
        Ok(())
    }

    /// Called (on the JS thread, batched) each time the CommitLog's flushed offset advances.
    #[napi]
    pub fn on_flushed(&self, callback: ThreadsafeFunction<FlushedEvent, (), FlushedEvent, Status, false, true>) -> Result<(), ErrorCode> {
        let callback = Arc::new(callback);
        self.store()?.set_flush_listener(Some(Arc::new(move |event: bolide_store::flush::FlushEvent| {
            let payload = FlushedEvent { flushed_offset: event.flushed_offset as f64, error: event.error };
            callback.call(payload, ThreadsafeFunctionCallMode::NonBlocking);
        })));
        Ok(())
    }

    /// Called with the queues that grew each time the dispatcher publishes new entries.
    #[napi]
    pub fn on_dispatched(
        &self,
        callback: ThreadsafeFunction<Vec<DispatchedQueue>, (), Vec<DispatchedQueue>, Status, false, true>,
    ) -> Result<(), ErrorCode> {
        let callback = Arc::new(callback);
        self.store()?.set_dispatch_listener(Some(Arc::new(move |grown: Vec<bolide_store::dispatch::QueueGrowth>| {
            let payload = grown
                .into_iter()
                .map(|g| DispatchedQueue { topic: g.topic, queue_id: g.queue_id, max_offset: g.max_offset as f64 })
                .collect();
            callback.call(payload, ThreadsafeFunctionCallMode::NonBlocking);
        })));
        Ok(())
    }

    /// SYNC_FLUSH: start a group commit of everything appended so far (call once per burst).
    #[napi]
    pub fn request_flush(&self) -> Result<(), ErrorCode> {
        self.store()?.request_flush();
        Ok(())
    }

    /// Append messages as one unit (all or none) without a JS object per message, the batch
    /// form of `append_one`. Per message, `meta` holds [META_FIELDS]: topic index (into
    /// `topics`), queueId, sysFlag, flag, bornTimestamp (NaN: the store timestamp),
    /// reconsumeTimes, preparedTransactionOffset and the lengths of its packed born host, body and properties,
    /// which follow each other in `data` message after message. Results go to `out`,
    /// [physicalOffset, queueOffset, storeTimestamp, size] per message. Returns the count.
    #[napi]
    pub fn append_many(
        &self,
        topics: Vec<String>,
        meta: Float64ArraySlice<'_>,
        data: &[u8],
        mut out: Float64ArraySlice<'_>,
    ) -> Result<u32, ErrorCode> {
        let meta: &[f64] = meta.as_ref();
        // SAFETY: the typed array belongs to the calling JS code, which is blocked in this call
        // on the only thread that can touch it; the view does not outlive the call.
        let out = unsafe { out.as_mut() };
        let inputs = convert::unpack_messages(&topics, meta, data)?;
        if out.len() < inputs.len() * 4 {
            return Err(binding_error("INVALID_ARGUMENT", "out must have room for 4 numbers per message"));
        }
        let results = self.store()?.append(&inputs).map_err(store_error)?;
        for (slot, result) in out.chunks_exact_mut(4).zip(&results) {
            slot[0] = result.physical_offset as f64;
            slot[1] = result.queue_offset as f64;
            slot[2] = result.store_timestamp as f64;
            slot[3] = f64::from(result.size);
        }
        Ok(results.len() as u32)
    }

    /// RocketMQ's getMessage: matching records of a queue as positions inside segments
    /// (`slices` = [segmentStart, position, length, queueOffset] * n), to be turned into
    /// zero-copy Buffers with `segmentBuffer` or sent with `transfer`.
    #[napi]
    pub fn get_messages(
        &self,
        topic: String,
        queue_id: i32,
        offset: i64,
        max_messages: u32,
        max_bytes: u32,
        tag_codes: Option<Vec<i64>>,
    ) -> Result<PullBatch, ErrorCode> {
        let request = GetMessageRequest {
            topic: &topic,
            queue_id,
            offset,
            max_messages: max_messages as usize,
            max_bytes: max_bytes as usize,
            tag_codes: tag_codes.as_deref(),
        };
        let result = self.store()?.get_messages(&request).map_err(store_error)?;
        Ok(PullBatch::from(result))
    }

    /// One Buffer over a whole CommitLog segment, created once per segment and shared by all
    /// readers (`subarray` of it is a record). Its finalizer keeps the segment mapped.
    #[napi]
    pub fn segment_buffer<'env>(&self, env: &'env Env, segment_start: i64) -> Result<BufferSlice<'env>, ErrorCode> {
        let store = self.store()?;
        self.exports.export(env, &store, segment_start)
    }

    /// sendfile the given slices to the socket `fd` off the JS thread; resolves with the
    /// number of bytes sent. The descriptor is duplicated first, so closing the socket while
    /// the transfer runs cannot redirect bytes to another connection.
    #[napi]
    pub fn transfer(&self, fd: i32, slices: Float64Array, timeout_ms: u32) -> Result<AsyncTask<Transfer>, ErrorCode> {
        let store = self.store()?.clone();
        let task = Transfer::prepare(store, fd, &slices, Duration::from_millis(u64::from(timeout_ms)))?;
        Ok(AsyncTask::new(task))
    }

    #[napi]
    pub fn max_offset(&self, topic: String, queue_id: i32) -> Result<i64, ErrorCode> {
        Ok(self.store()?.max_offset_in_queue(&topic, queue_id))
    }

    #[napi]
    pub fn min_offset(&self, topic: String, queue_id: i32) -> Result<i64, ErrorCode> {
        Ok(self.store()?.min_offset_in_queue(&topic, queue_id))
    }

    /// Every (topic, queueId) that has a ConsumeQueue, as `[topic, queueId]` pairs.
    #[napi]
    pub fn queues(&self) -> Result<Vec<(String, i32)>, ErrorCode> {
        Ok(self.store()?.queues())
    }

    #[napi]
    pub fn offset_by_time(&self, topic: String, queue_id: i32, timestamp: i64, upper: bool) -> Result<i64, ErrorCode> {
        self.store()?.offset_by_time(&topic, queue_id, timestamp, upper).map_err(store_error)
    }

    #[napi]
    pub fn store_time_at(&self, topic: String, queue_id: i32, queue_offset: i64) -> Result<Option<i64>, ErrorCode> {
        self.store()?.store_time_at(&topic, queue_id, queue_offset).map_err(store_error)
    }

    /// Physical offsets of records indexed under `topic#key` (newest first).
    #[napi]
    pub fn query_by_key(&self, topic: String, key: String, max_num: u32, begin_ms: i64, end_ms: i64) -> Result<Vec<f64>, ErrorCode> {
        let offsets = self.store()?.query_by_key(&topic, &key, max_num as usize, begin_ms, end_ms).map_err(store_error)?;
        Ok(offsets.into_iter().map(|o| o as f64).collect())
    }

    /// The record at a physical offset, as `[segmentStart, position, length, queueOffset]`.
    #[napi]
    pub fn message_at(&self, physical_offset: i64) -> Result<Float64Array, ErrorCode> {
        let offset = u64::try_from(physical_offset).map_err(|_| binding_error("INVALID_ARGUMENT", "negative offset"))?;
        let slice = self.store()?.message_at(offset).map_err(store_error)?;
        Ok(Float64Array::new(vec![
            slice.segment.file_from_offset() as f64,
            slice.pos as f64,
            slice.len as f64,
            slice.queue_offset as f64,
        ]))
    }

    /// Replication, master side: raw CommitLog bytes from `offset` (within one segment).
    #[napi]
    pub fn read_replication_range(&self, offset: i64, max_len: u32) -> Result<Buffer, ErrorCode> {
        let offset = u64::try_from(offset).map_err(|_| binding_error("INVALID_ARGUMENT", "negative offset"))?;
        let bytes = self.store()?.read_replication_range(offset, max_len as usize).map_err(store_error)?;
        Ok(bytes.into())
    }

    /// Replication, slave side: append raw bytes at `offset`; returns the new readable end.
    #[napi]
    pub fn append_replicated(&self, offset: i64, bytes: Buffer) -> Result<f64, ErrorCode> {
        let offset = u64::try_from(offset).map_err(|_| binding_error("INVALID_ARGUMENT", "negative offset"))?;
        let end = self.store()?.append_replicated(offset, &bytes).map_err(store_error)?;
        Ok(end as f64)
    }

    #[napi]
    pub fn commit_log_min_offset(&self) -> Result<f64, ErrorCode> {
        Ok(self.store()?.commit_log_min_offset() as f64)
    }

    #[napi]
    pub fn commit_log_max_offset(&self) -> Result<f64, ErrorCode> {
        Ok(self.store()?.commit_log_max_offset() as f64)
    }

    #[napi]
    pub fn flushed_offset(&self) -> Result<f64, ErrorCode> {
        Ok(self.store()?.flushed_offset() as f64)
    }

    #[napi]
    pub fn dispatched_offset(&self) -> Result<f64, ErrorCode> {
        Ok(self.store()?.dispatched_offset() as f64)
    }

    /// Wait (blocking, bounded) until the dispatcher has caught up; for tests and tools.
    #[napi]
    pub fn wait_dispatched(&self, timeout_ms: u32) -> Result<bool, ErrorCode> {
        Ok(self.store()?.wait_dispatched(Duration::from_millis(u64::from(timeout_ms))))
    }

    /// Drop a topic's ConsumeQueues and queue offsets; true if it had queues.
    #[napi]
    pub fn delete_topic(&self, topic: String) -> Result<bool, ErrorCode> {
        self.store()?.delete_topic(&topic).map_err(store_error)
    }

    #[napi]
    pub fn flush_all(&self) -> Result<f64, ErrorCode> {
        Ok(self.store()?.flush_all().map_err(store_error)? as f64)
    }

    #[napi]
    pub fn checkpoint_now(&self) -> Result<f64, ErrorCode> {
        Ok(self.store()?.checkpoint_now().map_err(store_error)?.safe_offset as f64)
    }

    /// Run one retention / disk check pass now; returns the number of deleted segments.
    #[napi]
    pub fn clean_now(&self) -> Result<u32, ErrorCode> {
        let report = self.store()?.clean_now().map_err(store_error)?;
        self.exports.forget_below(self.store()?.commit_log_min_offset());
        Ok(report.deleted_segments as u32)
    }

    #[napi]
    pub fn stats(&self) -> Result<StoreStatistics, ErrorCode> {
        Ok(StoreStatistics::from(self.store()?.stats()))
    }

    /// Page-cache hints: the in-memory window and the latest residency sample (cheap: no
    /// mincore here, the engine's sampler thread does that).
    #[napi]
    pub fn page_cache(&self) -> Result<PageCacheInfo, ErrorCode> {
        let store = self.store()?;
        Ok(PageCacheInfo {
            in_memory_window_bytes: store.in_memory_window() as f64,
            residency: store.page_cache_residency().map(PageCacheResidency::from),
        })
    }

    /// Take a residency sample now (a mincore walk of every segment, on this thread).
    #[napi]
    pub fn sample_page_cache_now(&self) -> Result<PageCacheResidency, ErrorCode> {
        Ok(PageCacheResidency::from(self.store()?.sample_page_cache_now().map_err(store_error)?))
    }

    #[napi]
    pub fn recovery(&self) -> Result<RecoveryInfo, ErrorCode> {
        Ok(RecoveryInfo::from(self.store()?.recovery_report()))
    }

    /// Clean shutdown. Buffers handed out earlier stay valid (they hold their segments).
    #[napi]
    pub fn close(&self) -> Result<(), ErrorCode> {
        // First, so the table's reference does not keep the store open below.
        fast_path::unregister(self.fast_handle);
        let taken = self.store.write().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        let Some(store) = taken else { return Ok(()) };
        store.set_flush_listener(None);
        store.set_dispatch_listener(None);
        match Arc::try_unwrap(store) {
            Ok(store) => store.close().map_err(store_error),
            // A transfer still holds the store: it finishes, and the last holder's drop
            // performs the same clean shutdown.
            Err(_shared) => Ok(()),
        }
    }
}

impl Drop for NativeStore {
    /// Collected without `close`: the table must not keep the store alive forever.
    fn drop(&mut self) {
        fast_path::unregister(self.fast_handle);
    }
}

/// On-disk format version this addon reads and writes.
#[napi]
pub fn engine_version() -> u32 {
    bolide_store::engine_version()
}
