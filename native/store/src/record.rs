//! The stored message record: byte-compatible with RocketMQ's CommitLog layout, so that a
//! pull response body is a straight slice of the CommitLog and every RocketMQ client decodes
//! it unchanged.
//!
//! Layout (big-endian; IPv4 hosts shown, an IPv6 host takes 16+4 bytes instead of 4+4 and
//! sets SYSFLAG bit 0x10 for the born host, 0x20 for the store host):
//!
//! ```text
//!  0 TOTALSIZE  i32   whole record length, this field included
//!  4 MAGICCODE  i32   0xDAA320A7 (V1: 1-byte topic length) or 0xDAA320AB (V2: 2-byte)
//!  8 BODYCRC    i32   CRC-32 (IEEE) of BODY & 0x7FFFFFFF
//! 12 QUEUEID    i32
//! 16 FLAG       i32   user flag
//! 20 QUEUEOFFSET i64  logical offset in the ConsumeQueue (0 for prepared/rollback records)
//! 28 PHYSICALOFFSET i64  CommitLog offset of this record
//! 36 SYSFLAG    i32
//! 40 BORNTIMESTAMP i64
//! 48 BORNHOST   4+4 | 16+4
//!  . STORETIMESTAMP i64
//!  . STOREHOST  4+4 | 16+4
//!  . RECONSUMETIMES i32
//!  . PREPAREDTRANSACTIONOFFSET i64
//!  . BODY       i32 length + bytes
//!  . TOPIC      u8 (V1) / i16 (V2) length + bytes
//!  . PROPERTIES i16 length + bytes   ("key\x01value\x02" pairs)
//! ```
//!
//! A segment that cannot hold the next record ends with a BLANK record: TOTALSIZE = the bytes
//! left in the segment and MAGICCODE = 0xCBD43194; readers skip to the next segment.
//!
//! Crash story: a record is only readable once the writer has published a write position past
//! its end, and recovery re-verifies (magic, size, body CRC) every record after the last
//! checkpoint, truncating at the first one that fails. A torn record is never served.

use std::net::{IpAddr, SocketAddr};

use crate::java_hash::java_string_hash;

pub const MAGIC_V1: i32 = 0xDAA3_20A7_u32 as i32;
pub const MAGIC_V2: i32 = 0xDAA3_20AB_u32 as i32;
pub const BLANK_MAGIC: i32 = 0xCBD4_3194_u32 as i32;
/// A segment always keeps room for at least a BLANK header (size + magic).
pub const END_FILE_MIN_BLANK_LENGTH: usize = 8;

pub const SYSFLAG_BORNHOST_V6: i32 = 0x10;
pub const SYSFLAG_STOREHOST_V6: i32 = 0x20;
pub const SYSFLAG_TRANSACTION_MASK: i32 = 0xC;
pub const SYSFLAG_TRANSACTION_PREPARED: i32 = 0x4;
pub const SYSFLAG_TRANSACTION_ROLLBACK: i32 = 0xC;

pub const POS_QUEUE_OFFSET: usize = 20;
pub const POS_PHYSICAL_OFFSET: usize = 28;
pub const POS_SYSFLAG: usize = 36;
pub const POS_BORN_TIMESTAMP: usize = 40;
pub const POS_BORN_HOST: usize = 48;

/// Properties are written with a signed 16-bit length.
pub const PROPERTIES_SIZE_MAX: usize = i16::MAX as usize;
/// V2 topics use a signed 16-bit length; V1 topics (<= 127 bytes) a signed byte.
pub const TOPIC_SIZE_MAX: usize = i16::MAX as usize;
const TOPIC_SIZE_MAX_V1: usize = i8::MAX as usize;

pub const PROPERTY_SEPARATOR: u8 = 0x02;
pub const NAME_VALUE_SEPARATOR: u8 = 0x01;

/// What the caller provides for one message; the engine adds offsets, timestamps and hosts.
#[derive(Debug, Clone)]
pub struct MessageInput<'a> {
    pub topic: &'a str,
    pub queue_id: i32,
    pub flag: i32,
    pub sys_flag: i32,
    /// None: the message was born as it is stored (the store timestamp is written).
    pub born_timestamp: Option<i64>,
    pub born_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    pub body: &'a [u8],
    pub properties: &'a [u8],
}

impl MessageInput<'_> {
    /// Prepared and rolled-back transaction records take no ConsumeQueue slot.
    pub fn takes_queue_offset(&self) -> bool {
        takes_queue_offset(self.sys_flag)
    }
}

pub fn takes_queue_offset(sys_flag: i32) -> bool {
    let kind = sys_flag & SYSFLAG_TRANSACTION_MASK;
    kind != SYSFLAG_TRANSACTION_PREPARED && kind != SYSFLAG_TRANSACTION_ROLLBACK
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, what a dual-stack Node socket reports) are
/// stored as IPv4: clients that only decode 4-byte hosts must keep working.
pub fn canonical_host(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

fn host_size(addr: &SocketAddr) -> usize {
    match addr.ip() {
        IpAddr::V4(_) => 8,
        IpAddr::V6(_) => 20,
    }
}

fn topic_length_size(topic_len: usize) -> usize {
    if topic_len > TOPIC_SIZE_MAX_V1 {
        2
    } else {
        1
    }
}

/// Exact encoded size of `message` with the given store host.
pub fn record_size(message: &MessageInput<'_>, store_host: &SocketAddr) -> usize {
    let born_host = canonical_host(message.born_host);
    let topic_len = message.topic.len();
    4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8
        + host_size(&born_host)
        + 8
        + host_size(store_host)
        + 4
        + 8
        + 4
        + message.body.len()
        + topic_length_size(topic_len)
        + topic_len
        + 2
        + message.properties.len()
}

/// Offsets and times the engine assigns at append time.
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    pub queue_offset: i64,
    pub physical_offset: i64,
    pub store_timestamp: i64,
}

struct Writer<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.buf[self.pos..self.pos + bytes.len()].copy_from_slice(bytes);
        self.pos += bytes.len();
    }
    fn i32(&mut self, value: i32) {
        self.put(&value.to_be_bytes());
    }
    fn i64(&mut self, value: i64) {
        self.put(&value.to_be_bytes());
    }
    fn host(&mut self, addr: &SocketAddr) {
        match addr.ip() {
            IpAddr::V4(ip) => self.put(&ip.octets()),
            IpAddr::V6(ip) => self.put(&ip.octets()),
        }
        self.i32(i32::from(addr.port()));
    }
}

/// Encode `message` into `buf`, which must be exactly `record_size(message, store_host)` bytes.
/// Sizes must have been validated by the caller (see `validate`).
pub fn encode_record(buf: &mut [u8], message: &MessageInput<'_>, placement: Placement, store_host: &SocketAddr) {
    debug_assert_eq!(buf.len(), record_size(message, store_host));
    debug_assert!(validate(message, usize::MAX).is_ok());
    let born_host = canonical_host(message.born_host);
    let mut sys_flag = message.sys_flag & !(SYSFLAG_BORNHOST_V6 | SYSFLAG_STOREHOST_V6);
    if born_host.is_ipv6() {
        sys_flag |= SYSFLAG_BORNHOST_V6;
    }
    if store_host.is_ipv6() {
        sys_flag |= SYSFLAG_STOREHOST_V6;
    }
    let topic = message.topic.as_bytes();
    let long_topic = topic.len() > TOPIC_SIZE_MAX_V1;
    let total = buf.len();
    // Everything after TOTALSIZE and MAGICCODE is written first and those 8 bytes last: a
    // process killed mid-copy leaves no valid magic in front of a partial record.
    let mut w = Writer { buf, pos: 8 };
    w.i32(body_crc(message.body));
    w.i32(message.queue_id);
    w.i32(message.flag);
    w.i64(placement.queue_offset);
    w.i64(placement.physical_offset);
    w.i32(sys_flag);
    w.i64(message.born_timestamp.unwrap_or(placement.store_timestamp));
    w.host(&born_host);
    w.i64(placement.store_timestamp);
    w.host(store_host);
    w.i32(message.reconsume_times);
    w.i64(message.prepared_transaction_offset);
    w.i32(message.body.len() as i32);
    w.put(message.body);
    if long_topic {
        w.put(&(topic.len() as i16).to_be_bytes());
    } else {
        w.put(&[topic.len() as u8]);
    }
    w.put(topic);
    w.put(&(message.properties.len() as i16).to_be_bytes());
    w.put(message.properties);
    debug_assert_eq!(w.pos, total);
    std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
    w.pos = 0;
    w.i32(total as i32);
    w.i32(if long_topic { MAGIC_V2 } else { MAGIC_V1 });
}

/// The argument checks an append performs before touching the CommitLog.
pub fn validate(message: &MessageInput<'_>, max_message_size: usize) -> crate::error::Result<()> {
    use crate::error::StoreError;
    if message.body.len() > max_message_size {
        return Err(StoreError::MessageTooLarge { size: message.body.len(), max: max_message_size });
    }
    if message.properties.len() > PROPERTIES_SIZE_MAX {
        return Err(StoreError::PropertiesTooLarge { size: message.properties.len(), max: PROPERTIES_SIZE_MAX });
    }
    if message.topic.is_empty() {
        return Err(StoreError::InvalidArgument("topic is empty".into()));
    }
    if message.topic.len() > TOPIC_SIZE_MAX {
        return Err(StoreError::TopicTooLong { size: message.topic.len(), max: TOPIC_SIZE_MAX });
    }
    if message.queue_id < 0 {
        return Err(StoreError::InvalidArgument(format!("queueId {} is negative", message.queue_id)));
    }
    Ok(())
}

pub fn body_crc(body: &[u8]) -> i32 {
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

/// A decoded record borrowing from the CommitLog.
#[derive(Debug, Clone)]
pub struct RecordView<'a> {
    pub total_size: usize,
    pub queue_id: i32,
    pub flag: i32,
    pub queue_offset: i64,
    pub physical_offset: i64,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    pub body: &'a [u8],
    pub topic: &'a str,
    pub properties: &'a [u8],
}

impl RecordView<'_> {
    pub fn property(&self, key: &str) -> Option<&[u8]> {
        property(self.properties, key.as_bytes())
    }

    /// ConsumeQueue tagsCode: Java `String.hashCode` of the TAGS property, 0 without tags.
    pub fn tags_code(&self) -> i64 {
        self.property("TAGS")
            .and_then(|tags| std::str::from_utf8(tags).ok())
            .map_or(0, |tags| i64::from(java_string_hash(tags)))
    }

    pub fn takes_queue_offset(&self) -> bool {
        takes_queue_offset(self.sys_flag)
    }
}

/// What lies at a position of the CommitLog.
#[derive(Debug)]
pub enum Decoded<'a> {
    Record(RecordView<'a>),
    /// The segment's end filler; `size` bytes are skipped.
    Blank { size: usize },
    /// Zeros: nothing was ever written here.
    End,
}

/// Why bytes at a position are not a valid record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    Truncated { needed: usize, available: usize },
    BadMagic(i32),
    BadSize(i32),
    BodyCrcMismatch { stored: i32, computed: i32 },
    Malformed(&'static str),
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::Truncated { needed, available } => {
                write!(f, "record needs {needed} bytes but only {available} are present")
            }
            RecordError::BadMagic(magic) => write!(f, "bad magic code {magic:#x}"),
            RecordError::BadSize(size) => write!(f, "bad record size {size}"),
            RecordError::BodyCrcMismatch { stored, computed } => {
                write!(f, "body CRC {stored:#x} does not match computed {computed:#x}")
            }
            RecordError::Malformed(what) => write!(f, "malformed record: {what}"),
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], RecordError> {
        let end = self.pos.checked_add(len).ok_or(RecordError::Malformed("length overflow"))?;
        if end > self.buf.len() {
            return Err(RecordError::Malformed("field runs past the record end"));
        }
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }
    fn i32(&mut self) -> Result<i32, RecordError> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn i64(&mut self) -> Result<i64, RecordError> {
        Ok(i64::from_be_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn host(&mut self, v6: bool) -> Result<SocketAddr, RecordError> {
        let ip = if v6 {
            let octets: [u8; 16] = self.take(16)?.try_into().expect("16 bytes");
            IpAddr::from(octets)
        } else {
            let octets: [u8; 4] = self.take(4)?.try_into().expect("4 bytes");
            IpAddr::from(octets)
        };
        let port = self.i32()?;
        let port = u16::try_from(port).map_err(|_| RecordError::Malformed("host port out of range"))?;
        Ok(SocketAddr::new(ip, port))
    }
}

pub fn read_i32(buf: &[u8], pos: usize) -> i32 {
    i32::from_be_bytes(buf[pos..pos + 4].try_into().expect("4 bytes"))
}

pub fn read_i64(buf: &[u8], pos: usize) -> i64 {
    i64::from_be_bytes(buf[pos..pos + 8].try_into().expect("8 bytes"))
}

/// Decode the record at the start of `buf` (which may extend past it). With `verify_crc`
/// the body CRC is checked too: recovery does, the hot read path trusts published records.
pub fn decode_record(buf: &[u8], verify_crc: bool) -> Result<Decoded<'_>, RecordError> {
    if buf.len() < 8 {
        if buf.iter().all(|&b| b == 0) {
            return Ok(Decoded::End);
        }
        return Err(RecordError::Truncated { needed: 8, available: buf.len() });
    }
    let size = read_i32(buf, 0);
    let magic = read_i32(buf, 4);
    if size == 0 && magic == 0 {
        return Ok(Decoded::End);
    }
    if magic == BLANK_MAGIC {
        let size = usize::try_from(size).map_err(|_| RecordError::BadSize(size))?;
        if size < END_FILE_MIN_BLANK_LENGTH {
            return Err(RecordError::BadSize(size as i32));
        }
        return Ok(Decoded::Blank { size });
    }
    if magic != MAGIC_V1 && magic != MAGIC_V2 {
        return Err(RecordError::BadMagic(magic));
    }
    let total = usize::try_from(size).map_err(|_| RecordError::BadSize(size))?;
    if total < 91 {
        return Err(RecordError::BadSize(size));
    }
    if total > buf.len() {
        return Err(RecordError::Truncated { needed: total, available: buf.len() });
    }
    let view = parse_fields(&buf[..total], magic == MAGIC_V2)?;
    if verify_crc {
        verify(&view, read_i32(buf, 8))?;
    }
    Ok(Decoded::Record(view))
}

/// Recovery checks. Only BODY is covered by a CRC in RocketMQ's layout, so the other
/// variable fields are checked for the one way a torn write shows on disk: bytes that were
/// never written read as zeros (segments are preallocated and zero-filled). A topic never
/// contains NUL, and a non-empty properties string has no NUL and ends with 0x02.
fn verify(view: &RecordView<'_>, stored_crc: i32) -> Result<(), RecordError> {
    let computed = body_crc(view.body);
    if computed != stored_crc {
        return Err(RecordError::BodyCrcMismatch { stored: stored_crc, computed });
    }
    if view.topic.is_empty() || view.topic.as_bytes().contains(&0) {
        return Err(RecordError::Malformed("topic is empty or contains NUL (torn write)"));
    }
    if view.properties.contains(&0) || view.properties.last().is_some_and(|&b| b != PROPERTY_SEPARATOR) {
        return Err(RecordError::Malformed("properties contain NUL or are unterminated (torn write)"));
    }
    Ok(())
}

fn parse_fields(record: &[u8], long_topic: bool) -> Result<RecordView<'_>, RecordError> {
    let mut r = Reader { buf: record, pos: 12 };
    let queue_id = r.i32()?;
    let flag = r.i32()?;
    let queue_offset = r.i64()?;
    let physical_offset = r.i64()?;
    let sys_flag = r.i32()?;
    let born_timestamp = r.i64()?;
    let born_host = r.host(sys_flag & SYSFLAG_BORNHOST_V6 != 0)?;
    let store_timestamp = r.i64()?;
    let store_host = r.host(sys_flag & SYSFLAG_STOREHOST_V6 != 0)?;
    let reconsume_times = r.i32()?;
    let prepared_transaction_offset = r.i64()?;
    let body_len = usize::try_from(r.i32()?).map_err(|_| RecordError::Malformed("negative body length"))?;
    let body = r.take(body_len)?;
    let topic_len = if long_topic {
        usize::try_from(i16::from_be_bytes(r.take(2)?.try_into().expect("2 bytes")))
            .map_err(|_| RecordError::Malformed("negative topic length"))?
    } else {
        usize::from(r.take(1)?[0])
    };
    let topic = std::str::from_utf8(r.take(topic_len)?).map_err(|_| RecordError::Malformed("topic is not UTF-8"))?;
    let props_len = usize::try_from(i16::from_be_bytes(r.take(2)?.try_into().expect("2 bytes")))
        .map_err(|_| RecordError::Malformed("negative properties length"))?;
    let properties = r.take(props_len)?;
    if r.pos != record.len() {
        return Err(RecordError::Malformed("record size does not match its fields"));
    }
    Ok(RecordView {
        total_size: record.len(),
        queue_id,
        flag,
        queue_offset,
        physical_offset,
        sys_flag,
        born_timestamp,
        born_host,
        store_timestamp,
        store_host,
        reconsume_times,
        prepared_transaction_offset,
        body,
        topic,
        properties,
    })
}

/// Find `key` in a RocketMQ properties string (`key\x01value\x02`...).
pub fn property<'p>(properties: &'p [u8], key: &[u8]) -> Option<&'p [u8]> {
    properties
        .split(|&b| b == PROPERTY_SEPARATOR)
        .filter_map(|pair| {
            let split = pair.iter().position(|&b| b == NAME_VALUE_SEPARATOR)?;
            Some((&pair[..split], &pair[split + 1..]))
        })
        .find(|(name, _)| *name == key)
        .map(|(_, value)| value)
}

/// Offset message id: hex of store host IP + port (i32) + physical offset (i64), uppercase.
pub fn offset_msg_id(store_host: &SocketAddr, physical_offset: i64) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut bytes = Vec::with_capacity(28);
    match store_host.ip() {
        IpAddr::V4(ip) => bytes.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => bytes.extend_from_slice(&ip.octets()),
    }
    bytes.extend_from_slice(&i32::from(store_host.port()).to_be_bytes());
    bytes.extend_from_slice(&physical_offset.to_be_bytes());
    let mut id = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        id.push(char::from(HEX[usize::from(byte >> 4)]));
        id.push(char::from(HEX[usize::from(byte & 0xF)]));
    }
    id
}
