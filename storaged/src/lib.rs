//! `tandem-storaged`: the RocksDB storage daemon.
//!
//! Serves typed commands from proxies over a Unix socket. Socket I/O runs on tokio; all
//! RocksDB work runs on dedicated threads (one ordered writer with group commit, a pool of
//! readers), never on the I/O threads.

pub mod acl;
pub mod checkpoint;
pub mod config;
pub mod control;
pub mod databases;
pub mod dedup;
pub mod dispatch;
pub mod engine;
pub mod error;
pub mod events;
pub mod executor;
pub mod expire;
pub mod info;
pub mod link;
pub mod monitor;
pub mod outbox;
pub mod peer;
pub mod pubsub;
pub mod rdb;
pub mod request;
pub mod restore;
pub mod scripts;
pub mod server;
pub mod stats;
pub mod systemd;
pub mod tracking;
pub mod transport;
pub mod types;
pub mod writer;
