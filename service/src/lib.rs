//! What running as a service needs in both binaries, and nothing of either's job: sockets
//! handed over by systemd (`LISTEN_FDS`/`LISTEN_FDNAMES`), `sd_notify` messages, the
//! process's CPU time for INFO, journald-friendly logs whose filter can change live, and
//! config loading: flags over variables over a TOML file (whose errors name it) over
//! defaults, re-read on SIGHUP.
//!
//! No tokio, no rocksdb, no policy: the binaries decide which socket, which keys, when to
//! reload.

pub mod config;
pub mod file;
pub mod listen;
pub mod log;
pub mod process;
pub mod sd_notify;
