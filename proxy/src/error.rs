//! The proxy's error types.
//!
//! [`CommandError`] is a client-caused command outcome: it becomes a `-ERR ...` reply and the
//! connection carries on. It is defined in `tandem-commands` beside the parsers that return
//! it (storaged's scripts parse commands too) and re-exported here. Malformed RESP is
//! `tandem_resp::ProtocolError` (Redis replies `-ERR Protocol error: ...` and closes, and so
//! do we). Link failures live in `link`.

pub use tandem_commands::CommandError;
