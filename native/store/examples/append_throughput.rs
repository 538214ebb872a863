//! Engine-only append throughput (no napi, no JS): the ceiling the binding can reach.
//!
//!     cargo run --release -p bolide-store --example append_throughput [body_bytes] [count]

use std::net::SocketAddr;
use std::time::Instant;

use bolide_store::record::MessageInput;
use bolide_store::store::MessageStore;
use bolide_store::StoreConfig;

fn main() {
    let mut args = std::env::args().skip(1);
    let body_size: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1024);
    let count: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = StoreConfig::new(dir.path());
    config.disk_max_used_space_ratio = 95;
    config.disk_clean_forcibly_ratio = 97;
    config.disk_full_ratio = 99;
    config.warm_mapped_file = std::env::var("WARM").is_ok();
    let store = MessageStore::open(config).expect("open");
    let body = vec![b'a'; body_size];
    let props = b"TAGS\x01TagA\x02KEYS\x01order-1\x02";
    let message = MessageInput {
        topic: "BenchTopic",
        queue_id: 0,
        flag: 0,
        sys_flag: 0,
        born_timestamp: Some(1),
        born_host: SocketAddr::from(([127, 0, 0, 1], 5000)),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: &body,
        properties: props,
    };
    let start = Instant::now();
    for _ in 0..count {
        store.append(std::slice::from_ref(&message)).expect("append");
    }
    let elapsed = start.elapsed().as_secs_f64();
    let bytes = store.commit_log_max_offset() as f64;
    println!(
        "{count} appends of {body_size} B: {:.0} msg/s, {:.0} MB/s, {:.2} us/append",
        count as f64 / elapsed,
        bytes / elapsed / 1048576.0,
        elapsed * 1e6 / count as f64
    );
    if let Some(error) = store.dispatch_error() {
        println!("dispatch error: {error}");
    }
    store.close().expect("close");
}
