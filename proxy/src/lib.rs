//! `tandem-proxy`: the stateless RESP front end.
//!
//! Accepts Redis clients over TCP, decodes RESP2/RESP3 (`tandem-resp`), looks commands up
//! in the command table (`tandem-commands`), answers proxy-local commands itself and ships
//! typed storage commands to `tandem-storaged` over a pool of multiplexed Unix-socket links.
//! It never touches RocksDB.
//!
//! Modules, each using only those listed before it (no `use` cycles):
//! `clock`, `error`, `monitor` (MONITOR's routing of lines), `pause` (the deployment's
//! CLIENT PAUSE and SHUTDOWN as storaged pushed them), `tls` (TLS settings and streams), `config`, `systemd`, `link` (storage
//! links; pub/sub reaches it as a `PushSink`, client tracking as a `TrackSink`), `pubsub`
//! (this proxy's subscription table), `tracking` (client-side caching's registry),
//! `clients` (connected clients for CLIENT LIST/KILL/UNBLOCK), `instance` (state all
//! connections share), `session` (one client's state that handlers work on), `blocked` (a
//! client waiting in a blocking pop), `local` (proxy-local commands over a session),
//! `connection` (the only owner of a client's stream, TCP or TLS), `protected` (Redis's
//! protected mode at accept), `server` (accept loop, drain, reload).

pub mod clock;
pub mod error;
pub mod monitor;
pub mod pause;
pub mod tls;

pub mod config;
pub mod systemd;

pub mod link;
pub mod pubsub;
pub mod tracking;

pub mod acl;
pub mod clients;
pub mod instance;
pub mod session;
pub mod stats;

pub mod blocked;
pub mod local;

pub mod connection;
pub mod protected;
pub mod server;
