//! MessageStore end to end: append, dispatch, read, recovery after crashes, retention and
//! the disk-full guard.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bolide_store::clean::DiskUsageProbe;
use bolide_store::read::{GetMessageRequest, GetMessageStatus};
use bolide_store::record::MessageInput;
use bolide_store::store::MessageStore;
use bolide_store::{StoreConfig, StoreError};

const SEGMENT: u64 = 64 * 1024;

fn config(dir: &Path) -> StoreConfig {
    let mut config = StoreConfig::new(dir);
    config.mapped_file_size_commit_log = SEGMENT;
    config.max_message_size = 16 * 1024;
    config.consume_queue_entries_per_file = 64;
    config.max_hash_slot_num = 128;
    config.max_index_num = 512;
    config.disk_max_used_space_ratio = 95;
    config.disk_clean_forcibly_ratio = 97;
    config.disk_full_ratio = 99;
    config.delete_when = vec![];
    config
}

/// A disk-usage probe the test controls (percent * 100).
struct FakeDisk(AtomicU64);

impl DiskUsageProbe for FakeDisk {
    fn used_percent(&self, _path: &Path) -> std::io::Result<f64> {
        Ok(self.0.load(Ordering::Relaxed) as f64 / 100.0)
    }
}

fn message<'a>(topic: &'a str, queue_id: i32, body: &'a [u8], properties: &'a [u8]) -> MessageInput<'a> {
    MessageInput {
        topic,
        queue_id,
        flag: 0,
        sys_flag: 0,
        born_timestamp: Some(1_700_000_000_000),
        born_host: SocketAddr::from(([127, 0, 0, 1], 40000)),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body,
        properties,
    }
}

fn body_of(i: usize) -> Vec<u8> {
    format!("message-{i:06}-{}", "x".repeat(i % 300)).into_bytes()
}

fn append_numbered(store: &MessageStore, from: usize, count: usize) -> Vec<u64> {
    (from..from + count)
        .map(|i| {
            let body = body_of(i);
            let props = format!("TAGS\x01Tag{}\x02KEYS\x01key-{i}\x02", i % 3);
            store.append(&[message("TopicTest", (i % 4) as i32, &body, props.as_bytes())]).unwrap()[0].physical_offset
        })
        .collect()
}

/// Every message of queue `queue_id`, in order, by reading through the ConsumeQueue.
fn read_queue(store: &MessageStore, queue_id: i32) -> Vec<Vec<u8>> {
    let mut bodies = Vec::new();
    let mut offset = store.min_offset_in_queue("TopicTest", queue_id);
    loop {
        let request = GetMessageRequest { topic: "TopicTest", queue_id, offset, max_messages: 32, max_bytes: 1 << 20, tag_codes: None };
        let result = store.get_messages(&request).unwrap();
        if result.status != GetMessageStatus::Found {
            return bodies;
        }
        for slice in &result.messages {
            let bolide_store::record::Decoded::Record(view) = bolide_store::record::decode_record(slice.bytes(), true).unwrap() else {
                panic!("not a record");
            };
            bodies.push(view.body.to_vec());
        }
        offset = result.next_begin_offset;
    }
}

#[test]
fn appended_messages_are_readable_through_their_consume_queue_after_a_clean_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = MessageStore::open(config(dir.path())).unwrap();
        append_numbered(&store, 0, 400);
        assert!(store.wait_dispatched(Duration::from_secs(5)));
        assert_eq!(read_queue(&store, 1).len(), 100);
        store.close().unwrap();
    }
    let store = MessageStore::open(config(dir.path())).unwrap();
    let report = store.recovery_report();
    assert!(!report.was_aborted);
    assert_eq!(report.verified_bytes, 0, "a clean start scans nothing");
    assert_eq!(store.max_offset_in_queue("TopicTest", 2), 100);
    let next = append_numbered(&store, 400, 4);
    assert!(next[0] > 0);
    assert!(store.wait_dispatched(Duration::from_secs(5)));
    let bodies = read_queue(&store, 0);
    assert_eq!(bodies.len(), 101);
    assert_eq!(bodies[100], body_of(400), "queue offsets continue after the restart");
}

#[test]
fn delete_topic_drops_its_queues_and_a_recreated_topic_starts_at_offset_zero() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    append_numbered(&store, 0, 40);
    let other = store.append(&[message("Other", 0, b"keep", b"")]).unwrap();
    assert_eq!(other[0].queue_offset, 0);
    assert!(store.delete_topic("TopicTest").unwrap(), "the topic had queues");
    assert_eq!(store.max_offset_in_queue("TopicTest", 0), 0);
    assert!(!store.queues().iter().any(|(topic, _)| topic == "TopicTest"));
    assert!(!dir.path().join("consumequeue").join("TopicTest").exists());
    assert!(!store.delete_topic("TopicTest").unwrap(), "already gone");
    let again = store.append(&[message("TopicTest", 1, b"again", b"")]).unwrap();
    assert_eq!(again[0].queue_offset, 0, "queue offsets restart");
    assert!(store.wait_dispatched(Duration::from_secs(5)));
    assert_eq!(read_queue(&store, 1), vec![b"again".to_vec()]);
    assert_eq!(store.max_offset_in_queue("Other", 0), 1, "other topics are untouched");
    store.close().unwrap();
}

#[test]
fn pull_status_follows_rocketmq_for_every_offset_case() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    let status = |topic: &str, offset: i64| {
        let request = GetMessageRequest { topic, queue_id: 0, offset, max_messages: 8, max_bytes: 1 << 20, tag_codes: None };
        let result = store.get_messages(&request).unwrap();
        (result.status, result.next_begin_offset)
    };
    assert_eq!(status("Nope", 0).0, GetMessageStatus::NoMatchedLogicQueue);
    append_numbered(&store, 0, 40);
    assert!(store.wait_dispatched(Duration::from_secs(5)));
    assert_eq!(status("TopicTest", 0), (GetMessageStatus::Found, 8));
    assert_eq!(status("TopicTest", 10), (GetMessageStatus::OffsetOverflowOne, 10));
    assert_eq!(status("TopicTest", 15), (GetMessageStatus::OffsetOverflowBadly, 10));
    let tag1 = [i64::from(bolide_store::java_hash::java_string_hash("Tag1"))];
    let request = GetMessageRequest { topic: "TopicTest", queue_id: 0, offset: 0, max_messages: 32, max_bytes: 1 << 20, tag_codes: Some(&tag1) };
    let filtered = store.get_messages(&request).unwrap();
    // Queue 0 holds i = 0,4,8,...; Tag(i % 3) == Tag1 for i = 4, 16, 28.
    assert_eq!(filtered.messages.len(), 3);
    assert_eq!(filtered.next_begin_offset, 10);
}

#[test]
fn keys_and_times_are_searchable() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    let offsets = append_numbered(&store, 0, 50);
    assert!(store.wait_dispatched(Duration::from_secs(5)));
    let found = store.query_by_key("TopicTest", "key-17", 10, 0, i64::MAX).unwrap();
    assert_eq!(found, vec![offsets[17]]);
    assert!(store.query_by_key("TopicTest", "key-999", 10, 0, i64::MAX).unwrap().is_empty());
    let future = store.offset_by_time("TopicTest", 0, i64::MAX / 2, false).unwrap();
    assert_eq!(future, store.max_offset_in_queue("TopicTest", 0));
    assert_eq!(store.offset_by_time("TopicTest", 0, 0, false).unwrap(), 0);
}

/// Simulates kill -9: no clean-shutdown path, the abort marker stays.
fn crash(store: MessageStore) {
    store.abandon();
}

fn last_segment(dir: &Path) -> std::path::PathBuf {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("commitlog")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files.pop().unwrap()
}

#[test]
fn a_torn_last_record_is_truncated_at_every_cut_point() {
    let template = tempfile::tempdir().unwrap();
    let (last_offset, last_size) = {
        let store = MessageStore::open(config(template.path())).unwrap();
        let offsets = append_numbered(&store, 0, 30);
        store.flush_all().unwrap();
        assert!(store.wait_dispatched(Duration::from_secs(5)));
        let size = store.commit_log_max_offset() - offsets[29];
        let last = offsets[29];
        crash(store);
        (last, size)
    };
    for cut in 0..last_size {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(template.path(), dir.path());
        // Zero the record's bytes from `cut` on: a write that stopped part way.
        let segment = last_segment(dir.path());
        let mut bytes = std::fs::read(&segment).unwrap();
        let start = (last_offset % SEGMENT) as usize;
        bytes[start + cut as usize..start + last_size as usize].fill(0);
        std::fs::write(&segment, &bytes).unwrap();
        std::fs::remove_file(dir.path().join("checkpoint")).ok();
        let store = MessageStore::open(config(dir.path())).unwrap();
        let report = store.recovery_report();
        assert!(report.was_aborted);
        assert_eq!(report.end_offset, last_offset, "cut at byte {cut}");
        assert_eq!(store.max_offset_in_queue("TopicTest", 29 % 4), 7, "the torn record left its queue");
        store.close().unwrap();
    }
}

#[test]
fn garbage_after_the_tail_and_a_flipped_body_byte_are_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let offsets = {
        let store = MessageStore::open(config(dir.path())).unwrap();
        let offsets = append_numbered(&store, 0, 20);
        store.flush_all().unwrap();
        crash(store);
        offsets
    };
    let segment = last_segment(dir.path());
    let mut bytes = std::fs::read(&segment).unwrap();
    let body_pos = offsets[15] as usize + 91 + 4 - 4 + 4; // inside record 15's body
    bytes[body_pos] ^= 0x20;
    let end = offsets[19] as usize + 500;
    bytes[end..end + 64].fill(0xA5);
    std::fs::write(&segment, &bytes).unwrap();
    std::fs::remove_file(dir.path().join("checkpoint")).ok();
    let store = MessageStore::open(config(dir.path())).unwrap();
    let report = store.recovery_report();
    assert!(report.truncated_corrupt_tail);
    assert_eq!(report.end_offset, offsets[15]);
    for queue in 0..4 {
        for body in read_queue(&store, queue) {
            let index: usize = std::str::from_utf8(&body[8..14]).unwrap().parse().unwrap();
            assert!(index < 15, "record {index} at or after the corrupt one was served");
        }
    }
    // New appends reuse the space; old records after the corruption never resurface.
    append_numbered(&store, 100, 3);
    store.close().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    let total: usize = (0..4).map(|q| read_queue(&store, q).len()).sum();
    assert_eq!(total, 15 + 3);
}

#[test]
fn a_crash_recovery_verifies_only_the_tail_after_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = MessageStore::open(config(dir.path())).unwrap();
        append_numbered(&store, 0, 500);
        store.flush_all().unwrap();
        assert!(store.wait_dispatched(Duration::from_secs(5)));
        store.checkpoint_now().unwrap();
        append_numbered(&store, 500, 10);
        store.flush_all().unwrap();
        crash(store);
    }
    let store = MessageStore::open(config(dir.path())).unwrap();
    let report = store.recovery_report();
    assert!(report.was_aborted);
    assert!(report.verified_bytes < 10 * 400, "verified {} bytes", report.verified_bytes);
    let total: usize = (0..4).map(|q| read_queue(&store, q).len()).sum();
    assert_eq!(total, 510);
}

#[test]
fn a_full_disk_refuses_appends_without_damage_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let disk = Arc::new(FakeDisk(AtomicU64::new(5000)));
    let store = MessageStore::open_with_probe(config(dir.path()), disk.clone()).unwrap();
    append_numbered(&store, 0, 10);
    disk.0.store(9950, Ordering::Relaxed);
    let report = store.clean_now().unwrap();
    assert!(report.disk_full);
    let body = b"refused";
    match store.append(&[message("TopicTest", 0, body, b"")]) {
        Err(error @ StoreError::DiskFull { .. }) => assert_eq!(error.code(), "DISK_FULL"),
        other => panic!("expected DiskFull, got {other:?}"),
    }
    disk.0.store(5000, Ordering::Relaxed);
    store.clean_now().unwrap();
    append_numbered(&store, 10, 2);
    assert!(store.wait_dispatched(Duration::from_secs(5)));
    let total: usize = (0..4).map(|q| read_queue(&store, q).len()).sum();
    assert_eq!(total, 12);
}

#[test]
fn retention_deletes_old_segments_while_held_slices_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.file_reserved_time_hours = 0;
    let disk = Arc::new(FakeDisk(AtomicU64::new(9600))); // above diskMaxUsedSpaceRatio
    let store = MessageStore::open_with_probe(cfg, disk.clone()).unwrap();
    disk.0.store(1000, Ordering::Relaxed);
    append_numbered(&store, 0, 600);
    store.flush_all().unwrap();
    assert!(store.wait_dispatched(Duration::from_secs(5)));
    let held = store.message_at(0).unwrap();
    let held_bytes = held.bytes().to_vec();
    let segments_before = std::fs::read_dir(dir.path().join("commitlog")).unwrap().count();
    disk.0.store(9600, Ordering::Relaxed);
    let report = store.clean_now().unwrap();
    assert!(report.deleted_segments > 0);
    assert!(std::fs::read_dir(dir.path().join("commitlog")).unwrap().count() < segments_before);
    assert_eq!(held.bytes(), &held_bytes[..], "a held slice still reads its bytes after deletion");
    assert!(store.commit_log_min_offset() > 0);
    let request = GetMessageRequest { topic: "TopicTest", queue_id: 0, offset: 0, max_messages: 4, max_bytes: 1 << 20, tag_codes: None };
    let result = store.get_messages(&request).unwrap();
    assert_eq!(result.status, GetMessageStatus::OffsetTooSmall);
    assert!(result.next_begin_offset > 0);
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "lock" {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}


#[test]
fn replaying_a_masters_raw_range_yields_identical_commit_log_and_consume_queues() {
    let (master_dir, slave_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = MessageStore::open(config(master_dir.path())).unwrap();
    let slave = MessageStore::open(config(slave_dir.path())).unwrap();
    append_numbered(&master, 0, 700);
    assert!(master.wait_dispatched(Duration::from_secs(5)));
    // Ship in chunks that split records, as the HA protocol does (32 KiB batches).
    let mut received = 0;
    while received < master.commit_log_max_offset() {
        let chunk = master.read_replication_range(received, 5000).unwrap();
        received = slave.append_replicated(received, &chunk).unwrap();
    }
    assert!(slave.wait_dispatched(Duration::from_secs(5)));
    assert_eq!(slave.commit_log_max_offset(), master.commit_log_max_offset());
    let mut offset = 0;
    while offset < master.commit_log_max_offset() {
        let ours = master.read_replication_range(offset, 1 << 20).unwrap();
        let theirs = slave.read_replication_range(offset, 1 << 20).unwrap();
        assert_eq!(ours, theirs, "CommitLog bytes differ at {offset}");
        offset += ours.len() as u64;
    }
    for queue_id in 0..4 {
        assert_eq!(slave.max_offset_in_queue("TopicTest", queue_id), master.max_offset_in_queue("TopicTest", queue_id));
        let entries = |store: &MessageStore| {
            let request = GetMessageRequest { topic: "TopicTest", queue_id, offset: 0, max_messages: 1000, max_bytes: 64 << 20, tag_codes: None };
            store.get_messages(&request).unwrap().messages.iter().map(|m| (m.physical_offset, m.len, m.tags_code)).collect::<Vec<_>>()
        };
        assert_eq!(entries(&slave), entries(&master), "ConsumeQueue {queue_id} differs");
    }
    assert_eq!(slave.query_by_key("TopicTest", "key-321", 4, 0, i64::MAX).unwrap(), master.query_by_key("TopicTest", "key-321", 4, 0, i64::MAX).unwrap());
}

/// 10,000 topics x 8 queues: more ConsumeQueues than vm.max_map_count (65,530) allows
/// mappings for and more than the open-file limit: they must work anyway.
#[test]
fn eighty_thousand_queues_stay_within_map_and_file_limits() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.mapped_file_size_commit_log = 64 << 20;
    cfg.consume_queue_open_files_max = 256;
    let store = MessageStore::open(cfg).unwrap();
    let body = b"scale";
    let topics: Vec<String> = (0..10_000).map(|t| format!("ScaleTopic{t}")).collect();
    for topic in &topics {
        for queue_id in 0..8 {
            store.append(&[message(topic, queue_id, body, b"TAGS\x01t\x02")]).unwrap();
        }
    }
    assert!(store.wait_dispatched(Duration::from_secs(120)));
    assert_eq!(store.queues().len(), 80_000);
    for (index, topic) in topics.iter().enumerate().step_by(97) {
        let queue_id = (index % 8) as i32;
        let request = GetMessageRequest { topic, queue_id, offset: 0, max_messages: 4, max_bytes: 1 << 20, tag_codes: None };
        let result = store.get_messages(&request).unwrap();
        assert_eq!(result.status, GetMessageStatus::Found, "{topic}/{queue_id}");
        assert_eq!(result.messages.len(), 1);
    }
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap().lines().count();
    let open_files = std::fs::read_dir("/proc/self/fd").unwrap().count();
    assert!(maps < 10_000, "{maps} mappings");
    assert!(open_files < 2_000, "{open_files} open files");
    store.close().unwrap();
}

/// `(thread name, nice value)` of every thread of this process.
fn thread_priorities() -> Vec<(String, i32)> {
    let mut threads = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").expect("task list").flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        // `pid (comm) state ...`: comm may hold spaces, so split after its closing parenthesis.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let name = stat[open + 1..close].to_string();
        // Fields after comm start at field 3 (state); nice is field 19.
        let nice = stat[close + 2..].split(' ').nth(16).and_then(|n| n.parse().ok());
        if let Some(nice) = nice {
            threads.push((name, nice));
        }
    }
    threads
}

#[test]
fn helper_threads_run_below_the_opening_threads_priority_and_the_flusher_does_not() {
    use bolide_store::thread_priority::{current_thread_nice, Helper};
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.page_cache_sample_interval_ms = 60_000;
    let base = current_thread_nice().expect("nice of the test thread");
    let store = MessageStore::open(config).unwrap();
    let expected = [
        ("bolide-allocate", Helper::Allocator.niceness()),
        ("bolide-dispatch", Helper::Dispatcher.niceness()),
        ("bolide-clean", Helper::Clean.niceness()),
        ("bolide-pagecach", Helper::PageCacheSampler.niceness()),
        ("bolide-flush", 0),
    ];
    // Each helper lowers itself as it starts: wait until every one has started.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mismatches = loop {
        let threads = thread_priorities();
        let mismatches: Vec<String> = expected
            .iter()
            .filter_map(|(name, niceness)| {
                let found: Vec<i32> = threads.iter().filter(|(n, _)| n == name).map(|(_, nice)| *nice).collect();
                let want = (base + niceness).min(19);
                (found.is_empty() || found.iter().any(|nice| *nice != want)).then(|| format!("{name}: {found:?}, want {want}"))
            })
            .collect();
        if mismatches.is_empty() || std::time::Instant::now() > deadline {
            break mismatches;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    drop(store);
    assert!(mismatches.is_empty(), "thread priorities differ: {mismatches:?}");
}
