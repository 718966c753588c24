//! `tandem-proxy`: the stateless RESP front end.
//!
//! Accepts Redis clients over TCP, decodes RESP2/RESP3, looks commands up in the command
//! table, answers proxy-local commands itself and ships typed storage commands to
//! `tandem-storaged` over a pool of multiplexed Unix-socket links. It never touches RocksDB.

pub mod blocking;
pub mod client;
pub mod clock;
pub mod commands;
pub mod config;
pub mod connection;
pub mod error;
pub mod instance;
pub mod link;
pub mod pubsub;
pub mod server;
pub mod session;
pub mod systemd;
pub mod transaction;
