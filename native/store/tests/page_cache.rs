//! Page-cache hints end to end: CommitLog residency sampled with mincore, and pulls classed
//! "in memory" or "on disk" by RocketMQ's distance-from-the-write-head estimate.

use std::net::SocketAddr;
use std::path::Path;

use bolide_store::read::{GetMessageRequest, GetMessageStatus};
use bolide_store::record::MessageInput;
use bolide_store::store::MessageStore;
use bolide_store::StoreConfig;

const SEGMENT: u64 = 64 * 1024;

fn config(dir: &Path) -> StoreConfig {
    let mut config = StoreConfig::new(dir);
    config.mapped_file_size_commit_log = SEGMENT;
    config.max_message_size = 16 * 1024;
    config.max_hash_slot_num = 128;
    config.max_index_num = 512;
    config.delete_when = vec![];
    // Samples are taken explicitly: the background thread would race the assertions.
    config.page_cache_sample_interval_ms = 0;
    config
}

fn append(store: &MessageStore, queue_id: i32, count: usize, body: &[u8]) -> Vec<(u64, u32)> {
    (0..count)
        .map(|_| {
            let input = MessageInput {
                topic: "PageTopic",
                queue_id,
                flag: 0,
                sys_flag: 0,
                born_timestamp: Some(1_700_000_000_000),
                born_host: SocketAddr::from(([127, 0, 0, 1], 40000)),
                reconsume_times: 0,
                prepared_transaction_offset: 0,
                body,
                properties: b"",
            };
            let result = &store.append(&[input]).unwrap()[0];
            (result.physical_offset, result.size)
        })
        .collect()
}

fn pull_all(store: &MessageStore, queue_id: i32) -> usize {
    let request = GetMessageRequest { topic: "PageTopic", queue_id, offset: 0, max_messages: 1000, max_bytes: 1 << 30, tag_codes: None };
    let result = store.get_messages(&request).unwrap();
    assert_eq!(result.status, GetMessageStatus::Found);
    result.messages.len()
}

#[test]
fn residency_covers_every_mapped_segment_and_never_exceeds_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    assert_eq!(store.page_cache_residency(), None, "no sampler thread, no sample yet");
    // 1 KiB bodies across more than two 64 KiB segments.
    append(&store, 0, 150, &[7u8; 1024]);
    store.flush_all().unwrap();
    let sample = store.sample_page_cache_now().unwrap();
    assert!(sample.segments >= 3, "{sample:?}");
    assert_eq!(sample.mapped_bytes, sample.segments * SEGMENT);
    assert!(sample.resident_bytes <= sample.mapped_bytes);
    // The hot tail is the whole log here (it is far smaller than HOT_TAIL_BYTES), page-rounded.
    let head = store.commit_log_max_offset();
    let first = store.commit_log_min_offset();
    assert!(sample.hot_tail_bytes >= head - first && sample.hot_tail_bytes <= head - first + 4096 * 3, "{sample:?}");
    assert!(sample.hot_tail_resident_bytes <= sample.hot_tail_bytes);
    // Just written through the mapping and msync'd: those pages are in the page cache.
    assert!(sample.hot_tail_resident_bytes > 0, "{sample:?}");
    assert_eq!(store.page_cache_residency(), Some(sample), "the explicit sample is the latest");
}

#[test]
fn a_store_with_a_sampler_thread_samples_on_request_and_closes_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.page_cache_sample_interval_ms = 3_600_000;
    let store = MessageStore::open(config).unwrap();
    append(&store, 0, 3, b"hello");
    // close() must join the sampler thread, which sleeps an hour between passes.
    let sample = store.sample_page_cache_now().unwrap();
    assert_eq!(sample.mapped_bytes, SEGMENT);
    store.close().unwrap();
}

#[test]
fn pulls_are_classed_by_distance_from_the_write_head() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    // "Physical memory" of 10,000 bytes at 40 %: reads within 4,000 bytes of the head are hot.
    config.total_physical_memory_size = Some(10_000);
    let store = MessageStore::open(config).unwrap();
    assert_eq!(store.in_memory_window(), 4_000);
    let records = append(&store, 1, 40, &[1u8; 200]);
    store.wait_dispatched(std::time::Duration::from_secs(10));
    let head = store.commit_log_max_offset();
    let hot: Vec<_> = records.iter().filter(|(offset, _)| head - offset <= 4_000).collect();
    assert!(!hot.is_empty() && hot.len() < records.len(), "the test needs both classes");
    assert_eq!(pull_all(&store, 1), 40);
    let stats = store.stats();
    assert_eq!(stats.read_messages_in_memory, hot.len() as u64);
    assert_eq!(stats.read_bytes_in_memory, hot.iter().map(|(_, size)| *size as u64).sum::<u64>());
    assert_eq!(stats.read_messages_on_disk, (records.len() - hot.len()) as u64);
    let all_bytes: u64 = records.iter().map(|(_, size)| *size as u64).sum();
    assert_eq!(stats.read_bytes_in_memory + stats.read_bytes_on_disk, all_bytes);
}

#[test]
fn a_zero_ratio_classes_every_pulled_message_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.access_message_in_memory_max_ratio = 0;
    let store = MessageStore::open(config).unwrap();
    append(&store, 2, 5, b"cold");
    store.wait_dispatched(std::time::Duration::from_secs(10));
    assert_eq!(pull_all(&store, 2), 5);
    let stats = store.stats();
    assert_eq!((stats.read_messages_in_memory, stats.read_messages_on_disk), (0, 5));
}

#[test]
fn a_ratio_above_100_is_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.access_message_in_memory_max_ratio = 101;
    let error = MessageStore::open(config).err().expect("open must fail");
    assert_eq!(error.code(), "INVALID_ARGUMENT");
}
