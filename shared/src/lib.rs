//! The contract between `tandem-proxy` and `tandem-storaged`.
//!
//! This crate owns everything both processes must agree on byte for byte: the typed
//! [`Command`] model the proxy sends, the [`Reply`] model storaged answers with, the
//! [`StorageError`] outcomes carried inside replies, and the [`wire`] frame codec with its
//! handshake and protocol version.
//!
//! It must stay pure: no tokio, no rocksdb, no I/O. Both binaries pin the same rkyv
//! version and features through the workspace, because rkyv's format flags change the wire.

pub mod command;
pub mod error;
pub mod glob;
pub mod monitor;
pub mod notify;
pub mod reply;
pub mod stats;
pub mod wire;

pub use command::{
    BitFieldOp, BitFieldType, BitOpKind, BitOverflow, BitRange, Command, CommandKind, CopyTarget,
    ExpireCondition, GetExExpiry, LcsMode, ScanOptionError, ScanType, SetCondition, SetExpiry,
    TimeUnit,
};
pub use error::StorageError;
pub use reply::Reply;

/// Number of logical databases (`SELECT 0..15`), as in Redis's default config.
pub const DATABASES: u8 = 16;
