//! `tandem-commands`: the command registry and the parsers both processes share.
//!
//! - [`table`] is **the command table**: one [`CommandSpec`] per command (name, arity,
//!   flags, key positions, ACL categories, docs) and how it runs, found with [`lookup`].
//!   The rows are declared per family beside their parsers (`parse/<family>.rs`'s
//!   `COMMANDS`; the proxy-local commands' in [`local`]); [`spec`] defines what a row holds.
//! - [`parse`] holds **the parsers**, one file per family, turning a storage command's
//!   arguments into a typed [`tandem_shared::Command`].
//! - [`args`] is the argument cursor the parsers read through; [`CommandError`] is what
//!   they answer a client.
//! - [`flags`](mod@flags) holds the typed bitsets (command flags, ACL categories, key-spec flags);
//!   [`facts`] derives from the table what a typed command may do ([`CommandFacts::is_write`]);
//!   [`describe`] answers `COMMAND` and its subcommands from the table.
//!
//! The proxy parses its clients' commands with it; storaged will parse the commands Lua
//! scripts send (`redis.call`). The crate is pure: no tokio, no RocksDB, no I/O, and no
//! handler code of either process (proxy-local commands are a [`Local`] value the proxy
//! matches on).

pub mod acl;
pub mod args;
pub mod describe;
pub mod error;
pub mod facts;
pub mod flags;
pub mod local;
pub mod parse;
pub mod spec;
pub mod table;
#[cfg(test)]
pub(crate) mod testing;

pub use args::Args;
pub use args::{ParseCtx, StorageParser};
pub use error::CommandError;
pub use facts::CommandFacts;
pub use flags::{AclCategories, ArgFlags, Flags, KeySpecFlags};
pub use spec::{Arg, ArgType, BeginSearch, CommandSpec, Doc, FindKeys, Handler, KeySpec, Local};
pub use table::{all, find, is_container, lookup};
