//! The parsers: one file per command family, each turning a storage command's arguments
//! (arity already checked against the table) into a typed [`tandem_shared::Command`]. Each family file
//! also declares its commands' table rows (its `COMMANDS`), so a command's declaration sits
//! beside its parser; [`crate::table`] joins them.
//!
//! Parsers hold no state and never look at data: they resolve options, make relative
//! times absolute from [`crate::args::ParseCtx::now_ms`] and answer syntax errors with
//! Redis 7's texts. Errors that depend on a key's value or type are storaged's to produce.

pub mod bitmap;
pub mod blocking;
pub mod databases;
pub mod geo;
pub mod hash;
pub mod hyperloglog;
pub mod keyspace;
pub mod list;
pub mod object;
pub mod pubsub;
pub mod scripting;
pub mod serialize;
pub mod server;
pub mod set;
pub mod sharded;
pub mod sort;
pub mod stream;
pub mod stream_info;
pub mod string;
pub mod zset;
