//! Stored-record codec: round trips, and rejection of every malformed variant.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bolide_store::record::{
    body_crc, decode_record, encode_record, offset_msg_id, property, record_size, Decoded, MessageInput, Placement,
    RecordError, SYSFLAG_BORNHOST_V6, SYSFLAG_STOREHOST_V6,
};
use proptest::prelude::*;

fn host(v6: bool, port: u16) -> SocketAddr {
    if v6 {
        SocketAddr::new(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7)), port)
    } else {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)), port)
    }
}

fn encode(message: &MessageInput<'_>, placement: Placement, store_host: &SocketAddr) -> Vec<u8> {
    let mut buf = vec![0u8; record_size(message, store_host)];
    encode_record(&mut buf, message, placement, store_host);
    buf
}

proptest! {
    #[test]
    fn every_field_survives_an_encode_decode_round_trip(
        topic in "[A-Za-z0-9_%|-]{1,200}",
        queue_id in 0i32..1024,
        flag in any::<i32>(),
        sys_flag in prop::sample::select(vec![0, 1, 2, 8, 0x100, 0x200]),
        born_timestamp in prop::option::of(any::<i64>()),
        reconsume_times in 0i32..100,
        prepared in any::<i64>(),
        body in prop::collection::vec(any::<u8>(), 0..2048),
        pairs in prop::collection::vec(("[a-zA-Z_]{1,12}", "[a-zA-Z0-9 #.-]{0,24}"), 0..12),
        born_v6 in any::<bool>(),
        store_v6 in any::<bool>(),
        queue_offset in 0i64..i64::MAX,
        physical_offset in 0i64..i64::MAX,
        store_timestamp in any::<i64>(),
    ) {
        let properties: String = pairs.iter().map(|(k, v)| format!("{k}\u{1}{v}\u{2}")).collect();
        let born_host = host(born_v6, 40000);
        let store_host = host(store_v6, 10911);
        let message = MessageInput {
            topic: &topic, queue_id, flag, sys_flag, born_timestamp, born_host, reconsume_times,
            prepared_transaction_offset: prepared, body: &body, properties: properties.as_bytes(),
        };
        let placement = Placement { queue_offset, physical_offset, store_timestamp };
        let bytes = encode(&message, placement, &store_host);
        let Decoded::Record(view) = decode_record(&bytes, true).expect("valid record") else {
            panic!("expected a record");
        };
        prop_assert_eq!(view.total_size, bytes.len());
        prop_assert_eq!(view.topic, topic.as_str());
        prop_assert_eq!(view.queue_id, queue_id);
        prop_assert_eq!(view.flag, flag);
        prop_assert_eq!(view.queue_offset, queue_offset);
        prop_assert_eq!(view.physical_offset, physical_offset);
        // An absent born timestamp is the store timestamp.
        prop_assert_eq!(view.born_timestamp, born_timestamp.unwrap_or(store_timestamp));
        prop_assert_eq!(view.store_timestamp, store_timestamp);
        prop_assert_eq!(view.born_host, born_host);
        prop_assert_eq!(view.store_host, store_host);
        prop_assert_eq!(view.reconsume_times, reconsume_times);
        prop_assert_eq!(view.prepared_transaction_offset, prepared);
        prop_assert_eq!(view.body, body.as_slice());
        prop_assert_eq!(view.properties, properties.as_bytes());
        prop_assert_eq!(view.sys_flag & SYSFLAG_BORNHOST_V6 != 0, born_v6);
        prop_assert_eq!(view.sys_flag & SYSFLAG_STOREHOST_V6 != 0, store_v6);
        prop_assert_eq!(view.sys_flag & !(SYSFLAG_BORNHOST_V6 | SYSFLAG_STOREHOST_V6), sys_flag);
    }

    #[test]
    fn any_truncation_of_a_record_is_rejected_never_misread(cut in 8usize..200) {
        let message = sample(b"payload for truncation");
        let bytes = encode(&message, Placement { queue_offset: 1, physical_offset: 2, store_timestamp: 3 }, &host(false, 1));
        let cut = cut.min(bytes.len() - 1);
        prop_assert!(decode_record(&bytes[..cut], true).is_err());
    }
}

fn sample(body: &[u8]) -> MessageInput<'_> {
    MessageInput {
        topic: "TopicTest",
        queue_id: 3,
        flag: 0,
        sys_flag: 0,
        born_timestamp: Some(1_700_000_000_000),
        born_host: host(false, 50000),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body,
        properties: b"TAGS\x01TagA\x02KEYS\x01k1 k2\x02",
    }
}

#[test]
fn the_ipv4_layout_has_rocketmq_field_positions() {
    let message = sample(b"hello");
    let store_host = host(false, 10911);
    let bytes = encode(&message, Placement { queue_offset: 7, physical_offset: 4096, store_timestamp: 99 }, &store_host);
    // 91 fixed bytes + body + topic + properties, as RocketMQ's calMsgLength.
    assert_eq!(bytes.len(), 91 + 5 + "TopicTest".len() + message.properties.len());
    assert_eq!(&bytes[4..8], &0xDAA3_20A7_u32.to_be_bytes());
    assert_eq!(i64::from_be_bytes(bytes[20..28].try_into().unwrap()), 7);
    assert_eq!(i64::from_be_bytes(bytes[28..36].try_into().unwrap()), 4096);
    assert_eq!(i64::from_be_bytes(bytes[56..64].try_into().unwrap()), 99, "store timestamp at 56");
    assert_eq!(&bytes[64..68], &[10, 1, 2, 3], "store host at 64");
    assert_eq!(i32::from_be_bytes(bytes[8..12].try_into().unwrap()), body_crc(b"hello"));
}

#[test]
fn an_ipv4_mapped_ipv6_born_host_is_stored_as_ipv4() {
    let mut message = sample(b"x");
    message.born_host = SocketAddr::new(IpAddr::V6(Ipv4Addr::new(192, 168, 1, 9).to_ipv6_mapped()), 4242);
    let bytes = encode(&message, Placement { queue_offset: 0, physical_offset: 0, store_timestamp: 0 }, &host(false, 1));
    let Decoded::Record(view) = decode_record(&bytes, true).unwrap() else { panic!() };
    assert_eq!(view.born_host, SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 9)), 4242));
    assert_eq!(view.sys_flag & SYSFLAG_BORNHOST_V6, 0);
}

#[test]
fn a_flipped_body_byte_fails_the_crc_check() {
    let message = sample(b"important body");
    let mut bytes = encode(&message, Placement { queue_offset: 0, physical_offset: 0, store_timestamp: 0 }, &host(false, 1));
    let body_start = 91 - 1 - 2 - 4 + 4; // fields before BODY's length, plus the length itself
    bytes[body_start + 2] ^= 0x40;
    assert!(matches!(decode_record(&bytes, true), Err(RecordError::BodyCrcMismatch { .. })));
    assert!(matches!(decode_record(&bytes, false), Ok(Decoded::Record(_))), "unchecked reads trust the bytes");
}

#[test]
fn zeroed_properties_or_topic_bytes_are_a_torn_record() {
    let message = sample(b"body");
    let clean = encode(&message, Placement { queue_offset: 0, physical_offset: 0, store_timestamp: 0 }, &host(false, 1));
    for cut in (clean.len() - message.properties.len() - 10)..clean.len() {
        let mut torn = clean.clone();
        torn[cut..].fill(0);
        assert!(decode_record(&torn, true).is_err(), "zeros from byte {cut} must be detected");
    }
}

#[test]
fn zeros_mean_end_of_data_and_garbage_is_an_error() {
    assert!(matches!(decode_record(&[0u8; 64], true), Ok(Decoded::End)));
    let mut garbage = [0x5Au8; 64];
    garbage[0..4].copy_from_slice(&64i32.to_be_bytes());
    assert!(matches!(decode_record(&garbage, true), Err(RecordError::BadMagic(_))));
}

#[test]
fn properties_are_found_by_exact_key() {
    let props = b"TAGS\x01TagA\x02KEYS\x01k1 k2\x02UNIQ_KEY\x01ABC\x02";
    assert_eq!(property(props, b"KEYS"), Some(&b"k1 k2"[..]));
    assert_eq!(property(props, b"TAG"), None);
    assert_eq!(property(props, b"UNIQ_KEY"), Some(&b"ABC"[..]));
}

#[test]
fn offset_msg_id_is_uppercase_hex_of_host_port_and_offset() {
    let id = offset_msg_id(&SocketAddr::from(([127, 0, 0, 1], 10911)), 0x1234);
    assert_eq!(id, "7F00000100002A9F0000000000001234");
}
