//! Proxy-local commands: the handlers of the commands the table marks [`Local`] (PING,
//! HELLO, CLIENT, CONFIG, INFO, COMMAND, SUBSCRIBE …). They work on the client's connection
//! and return replies.
//!
//! The command table and the storage-command parsers live in the `tandem-commands` crate
//! (storaged parses scripts' commands with them too); they are re-exported here so the
//! proxy reads them under one path.

pub mod connection;
pub mod pubsub;
pub mod server;

pub use self::connection::run_local;
pub use tandem_commands::{
    all, args, is_container, lookup, CommandSpec, Handler, Local, ParseCtx, StorageParser,
};
