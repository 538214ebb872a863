//! The per-message hot path as free functions over a per-thread table of open stores.
//!
//! Why not methods of `NativeStore`: napi-rs 3 tracks every borrow of a class instance's
//! `&self` (a lock, a hash-map insert and remove, a guard per call) so that it can refuse
//! conflicting `&mut self` borrows. Per single append that bookkeeping cost as much as the
//! engine's own work (perf, 128 B appends). A store is only ever used from the JS thread
//! that opened it, so a thread-local table indexed by a small handle needs no locking.

use std::cell::RefCell;
use std::sync::Arc;

use bolide_store::store::MessageStore;
use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;

use crate::convert::{binding_error, host_from_numbers, store_error, ErrorCode, MessageNumbers};
use crate::raw_call;

/// Numbers `append_one` reads from (and writes back into) its `io` array.
const APPEND_ONE_IO: usize = 12;
/// A bound on a store's interned topic names; the JS side clears them long before.
const MAX_INTERNED_TOPICS: usize = 1 << 20;

struct OpenStore {
    store: Arc<MessageStore>,
    /// Topic names interned by `register_topic`, indexed by id.
    topics: Vec<String>,
}

/// A slot of the table. A handle names the slot and the generation it was issued in, so the
/// late `unregister` of a store collected long after its `close` cannot remove the store
/// that reused its slot (a broker restarted on the same directory in one process).
#[derive(Default)]
struct Slot {
    generation: u16,
    open: Option<OpenStore>,
}

/// Stores open at once on one thread (the handle keeps 16 bits for the slot).
const MAX_OPEN_STORES: usize = 1 << 16;

thread_local! {
    static OPEN_STORES: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
}

fn split(handle: u32) -> (usize, u16) {
    ((handle & 0xffff) as usize, (handle >> 16) as u16)
}

/// Add a store to this thread's table; returns its handle (a free slot is reused).
pub fn register(store: Arc<MessageStore>) -> Result<u32, ErrorCode> {
    OPEN_STORES.with(|table| {
        let mut table = table.borrow_mut();
        let index = match table.iter().position(|slot| slot.open.is_none()) {
            Some(free) => free,
            None if table.len() < MAX_OPEN_STORES => {
                table.push(Slot::default());
                table.len() - 1
            }
            None => return Err(binding_error("INVALID_ARGUMENT", "too many stores open on this thread")),
        };
        let slot = &mut table[index];
        slot.generation = slot.generation.wrapping_add(1);
        slot.open = Some(OpenStore { store, topics: Vec::new() });
        Ok((u32::from(slot.generation) << 16) | index as u32)
    })
}

/// Drop a store from this thread's table (close, or the JS object was collected).
pub fn unregister(handle: u32) {
    let (index, generation) = split(handle);
    // `try_with`: a finalizer may run while the thread's locals are being torn down.
    let _ = OPEN_STORES.try_with(|table| {
        if let Ok(mut table) = table.try_borrow_mut() {
            if let Some(slot) = table.get_mut(index).filter(|slot| slot.generation == generation) {
                slot.open = None;
            }
        }
    });
}

fn with_store<T>(handle: u32, run: impl FnOnce(&mut OpenStore) -> Result<T, ErrorCode>) -> Result<T, ErrorCode> {
    let (index, generation) = split(handle);
    OPEN_STORES.with(|table| {
        let mut table = table
            .try_borrow_mut()
            .map_err(|_| binding_error("INTERNAL", "the store table is in use (re-entrant call)"))?;
        match table.get_mut(index) {
            Some(Slot { generation: current, open: Some(open) }) if *current == generation => run(open),
            _ => Err(binding_error("CLOSED", "the store is closed")),
        }
    })
}

/// Intern a topic name for `append_one`: converting the name from a JS string on every
/// append cost more than the record's CRC. Returns its id.
#[napi]
pub fn register_topic(handle: u32, name: String) -> Result<u32, ErrorCode> {
    with_store(handle, |open| {
        if open.topics.len() >= MAX_INTERNED_TOPICS {
            return Err(binding_error("INVALID_ARGUMENT", "too many interned topics: call clearTopics first"));
        }
        open.topics.push(name);
        Ok((open.topics.len() - 1) as u32)
    })
}

/// Forget every interned topic id of the store (the caller forgets its ids too).
#[napi]
pub fn clear_topics(handle: u32) -> Result<(), ErrorCode> {
    with_store(handle, |open| {
        open.topics.clear();
        Ok(())
    })
}

/// The hot path of a send, `appendOne(handle, topicId, body, properties, io)`: one message,
/// its topic as an id from `register_topic` and its numbers in `io`: in, [queueId, sysFlag,
/// flag, bornTimestamp (NaN: the store timestamp), reconsumeTimes, preparedTransactionOffset,
/// then the born host as `host_from_numbers` reads it]; out, [queueOffset, storeTimestamp,
/// size]. Returns the physical offset. (Each positional number argument was a separate N-API
/// conversion; a typed array is one.) A plain N-API callback, see `raw_call` for why.
unsafe extern "C" fn append_one(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: N-API calls this with the env and info of this call; the slices taken from the
    // arguments are dropped before it returns, and JS (blocked meanwhile) owns `io` alone.
    unsafe {
        raw_call::finish(env, || {
            let [handle, topic_id, body, properties, io] = raw_call::arguments::<5>(env, info)?;
            let handle = raw_call::uint32(env, handle, "handle")?;
            let topic_id = raw_call::uint32(env, topic_id, "topicId")?;
            let body = raw_call::bytes(env, body, "body")?;
            let properties = raw_call::bytes(env, properties, "properties")?;
            let io = raw_call::float64s(env, io, "io")?;
            append_one_numbers(handle, topic_id, body, properties, io)
        })
    }
}

fn append_one_numbers(
    handle: u32,
    topic_id: u32,
    body: &[u8],
    properties: &[u8],
    io: &mut [f64],
) -> Result<f64, ErrorCode> {
    if io.len() < APPEND_ONE_IO {
        return Err(binding_error("INVALID_ARGUMENT", format!("io must have room for {APPEND_ONE_IO} numbers")));
    }
    let numbers = MessageNumbers::read(io)?;
    let born_host = host_from_numbers(&io[6..])?;
    with_store(handle, |open| {
        let topic = open
            .topics
            .get(topic_id as usize)
            .ok_or_else(|| binding_error("INVALID_ARGUMENT", format!("unknown topic id {topic_id}")))?;
        let input = numbers.input(topic, born_host, body, properties);
        let result = open.store.append_one(&input).map_err(store_error)?;
        io[0] = result.queue_offset as f64;
        io[1] = result.store_timestamp as f64;
        io[2] = f64::from(result.size);
        Ok(result.physical_offset as f64)
    })
}

/// Adds the plain N-API functions to the addon's exports (napi-rs runs this at load).
#[napi(module_exports)]
pub fn export_plain_functions(exports: Object, env: Env) -> napi::Result<()> {
    raw_call::export(&env, &exports, c"appendOne", append_one)
}
