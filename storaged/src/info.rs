//! The text of storaged's INFO sections: `# Stats` (storage-side fields only), `# CPU`,
//! `# Storage` (RocksDB properties), `# Proxies` (the links up) and `# Keyspace` (non-empty
//! dbs). Reads counters and
//! the hub's; changes nothing.

use std::fmt::Write as _;

use crate::engine::keys::DB_COUNT;
use crate::engine::{Counts, Engine, StoreRead};
use crate::pubsub::Hub;

/// storaged's INFO sections, CRLF-separated as Redis prints them: `# Stats` (storage-side
/// fields only), `# Storage` (RocksDB properties) and `# Keyspace` (non-empty dbs).
pub fn info(engine: &Engine, hub: &Hub) -> String {
    info_with(engine, &engine.counts(), hub)
}

/// [`info`] with the per-db counts `counts` (a read view's, which may be a snapshot's).
pub fn info_with(engine: &Engine, counts: &Counts, hub: &Hub) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let stats = engine.stats();
    let mut out = String::new();
    out.push_str("# Stats\r\n");
    let _ = write!(out, "expired_keys:{}\r\n", stats.expired_keys.load(Relaxed));
    let _ = write!(
        out,
        "keyspace_hits:{}\r\n",
        stats.keyspace_hits.load(Relaxed)
    );
    let _ = write!(
        out,
        "keyspace_misses:{}\r\n",
        stats.keyspace_misses.load(Relaxed)
    );
    let _ = write!(
        out,
        "pubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\npubsub_messages_routed:{}\r\npubsub_links_cut:{}\r\n",
        hub.channels(None).len(),
        hub.numpat(),
        hub.shard_channels(None).len(),
        hub.delivered.load(Relaxed),
        hub.links_cut.load(Relaxed)
    );
    // SAVE/BGSAVE's state, for the proxy's Persistence section (absent in unit tests,
    // which never configure a save directory).
    if let Some(saves) = crate::checkpoint::saves() {
        let _ = write!(
            out,
            "\r\n# Persistence\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\n",
            u8::from(saves.in_progress()),
            saves.last_save(),
            if saves.last_ok() { "ok" } else { "err" }
        );
    }
    // The proxy prints these in its own CPU section, after its own lines.
    out.push_str("\r\n# CPU\r\n");
    out.push_str(&tandem_service::process::cpu_usage().info_lines("storaged_"));
    out.push_str("\r\n# Storage\r\n");
    let _ = write!(out, "storage_engine:rocksdb\r\n");
    let _ = write!(out, "fsync:{}\r\n", engine.fsync_policy());
    let _ = write!(
        out,
        "requests_replayed:{}\r\nrequests_refused_stale:{}\r\nblocked_requests:{}\r\n",
        stats.requests_replayed.load(Relaxed),
        stats.requests_refused_stale.load(Relaxed),
        stats.blocked_requests.load(Relaxed)
    );
    for (name, value) in engine.storage_properties() {
        let _ = write!(out, "{name}:{value}\r\n");
    }
    // The links up now and who is on their other end (`crate::peer`).
    out.push_str("\r\n");
    out.push_str(&crate::peer::linked().info_section());
    out.push_str("\r\n# Keyspace\r\n");
    // Counters are kept per physical database; clients know the logical ones (SWAPDB).
    let map = engine.services().databases().published();
    for db in 0..DB_COUNT {
        let p = usize::from(map.physical(db));
        if counts.keys[p] > 0 {
            let _ = write!(
                out,
                "db{db}:keys={},expires={},avg_ttl=0\r\n",
                counts.keys[p], counts.expires[p]
            );
        }
    }
    out
}
