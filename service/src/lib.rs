//! What running as a service needs in both binaries, and nothing of either's job: sockets
//! handed over by systemd (`LISTEN_FDS`/`LISTEN_FDNAMES`), `sd_notify` messages, the process's CPU time for INFO, journald-friendly logs whose
//! filter can change live, and reading a TOML config file with errors that name the file.
//!
//! No tokio, no rocksdb, no policy: the binaries decide which socket, which keys, when to
//! reload.

pub mod file;
pub mod listen;
pub mod log;
pub mod notify;
pub mod process;
