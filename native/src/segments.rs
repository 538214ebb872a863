//! Zero-copy ways out of the CommitLog: one external Buffer per segment, and sendfile
//! transfers on the libuv thread pool.

use std::collections::HashSet;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bolide_store::read::MessageSlice;
use bolide_store::store::MessageStore;
use bolide_store::transfer::{duplicate_fd, send_slices, TransferError};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::convert::{binding_error, ErrorCode};

/// Tracks which segments currently have a JS Buffer. Node must not see two external buffers
/// over the same memory (nodejs/node#32463), so each segment is exported once; the TS wrapper
/// keeps that Buffer and hands out `subarray`s of it.
#[derive(Default)]
pub struct SegmentExports {
    exported: Mutex<HashSet<u64>>,
}

impl SegmentExports {
    pub fn export<'env>(self: &Arc<Self>, env: &'env Env, store: &MessageStore, start: i64) -> Result<BufferSlice<'env>, ErrorCode> {
        let start = u64::try_from(start).map_err(|_| binding_error("INVALID_ARGUMENT", "negative segment start"))?;
        let segment = store
            .segment_starting_at(start)
            .ok_or_else(|| binding_error("OFFSET_OUT_OF_RANGE", format!("no CommitLog segment starts at {start}")))?;
        if !self.exported.lock().expect("exports lock").insert(start) {
            return Err(binding_error(
                "ALREADY_EXPORTED",
                format!("segment {start} already has a Buffer; reuse it (a second external Buffer over the same memory is unsafe)"),
            ));
        }
        let len = segment.size() as usize;
        let data = segment.base_ptr();
        let exports = self.clone();
        // SAFETY: `data` points to `len` mapped bytes that stay mapped while `segment` (moved into
        // the finalize hint) is alive; the finalizer drops it only when V8 collects the Buffer.
        // JS may read bytes still being written above the published position, but only through
        // offsets the store handed out, which are all below it.
        let buffer = unsafe {
            BufferSlice::from_external(env, data, len, (segment, exports, start), |_env, (segment, exports, start)| {
                exports.exported.lock().expect("exports lock").remove(&start);
                drop(segment);
            })
        };
        buffer.map_err(|error| binding_error("IO", format!("creating the segment Buffer failed: {error}")))
    }

    /// Segments removed by retention will never be asked for again.
    pub fn forget_below(&self, min_offset: u64) {
        let _ = min_offset;
        // Entries are removed by the Buffer finalizers; nothing to do eagerly. Kept as the
        // hook where a future eager release would go.
    }
}

#[napi(object)]
pub struct TransferOutcome {
    pub bytes_sent: f64,
    /// "TIMEOUT" or "IO" when the transfer stopped early.
    pub error_code: Option<String>,
    pub error: Option<String>,
}

/// A sendfile of CommitLog slices to a duplicated socket descriptor.
pub struct Transfer {
    store: Arc<MessageStore>,
    socket: Option<OwnedFd>,
    slices: Vec<MessageSlice>,
    timeout: Duration,
}

impl Transfer {
    pub fn prepare(store: Arc<MessageStore>, fd: i32, layout: &[f64], timeout: Duration) -> Result<Transfer, ErrorCode> {
        if !layout.len().is_multiple_of(4) {
            return Err(binding_error("INVALID_ARGUMENT", "slices must be [segmentStart, position, length, queueOffset] groups"));
        }
        let mut slices = Vec::with_capacity(layout.len() / 4);
        for group in layout.chunks_exact(4) {
            let (start, pos, len) = (group[0] as u64, group[1] as usize, group[2] as usize);
            let segment = store
                .segment_starting_at(start)
                .ok_or_else(|| binding_error("OFFSET_OUT_OF_RANGE", format!("no CommitLog segment starts at {start}")))?;
            let end = start + (pos + len) as u64;
            if pos + len > segment.size() as usize || end > store.commit_log_max_offset() {
                return Err(binding_error("OFFSET_OUT_OF_RANGE", format!("slice {pos}+{len} of segment {start} is not readable")));
            }
            // Records stored back to back go out in one sendfile call, not one per record.
            if let Some(last) = slices.last_mut().filter(|last: &&mut MessageSlice| {
                Arc::ptr_eq(&last.segment, &segment) && last.pos + last.len == pos
            }) {
                last.len += len;
                continue;
            }
            slices.push(MessageSlice { segment, pos, len, physical_offset: start + pos as u64, queue_offset: group[3] as i64, tags_code: 0 });
        }
        let socket = duplicate_fd(fd).map_err(|error| binding_error("IO", format!("duplicating fd {fd}: {error}")))?;
        Ok(Transfer { store, socket: Some(socket), slices, timeout })
    }
}

impl Task for Transfer {
    type Output = TransferOutcome;
    type JsValue = TransferOutcome;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let Some(socket) = self.socket.take() else {
            return Ok(TransferOutcome { bytes_sent: 0.0, error_code: Some("IO".into()), error: Some("transfer already ran".into()) });
        };
        let outcome = match send_slices(&socket, &self.slices, self.timeout, self.store.stats_handle()) {
            Ok(sent) => TransferOutcome { bytes_sent: sent as f64, error_code: None, error: None },
            Err(error) => {
                let (code, sent) = match &error {
                    TransferError::Timeout { sent } => ("TIMEOUT", *sent),
                    TransferError::Io { sent, .. } => ("IO", *sent),
                };
                TransferOutcome { bytes_sent: sent as f64, error_code: Some(code.into()), error: Some(error.to_string()) }
            }
        };
        // The duplicate is closed here, on the worker thread, after the last byte.
        drop(socket);
        self.slices.clear();
        Ok(outcome)
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(output)
    }
}
