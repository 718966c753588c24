//! [`CommandError`]: what a parser or a command's argument check answers a client.
//!
//! A client-caused command outcome: it becomes an error reply and the connection carries on.
//! Both processes produce it (the proxy for its clients, storaged for scripts' `redis.call`),
//! so it lives here beside the parsers. Malformed RESP is `tandem_resp::ProtocolError`; link
//! failures are the proxy's `LinkError`.

/// A command-level error reply. `Display` is the exact Redis text, prefix included.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("ERR unknown command '{name}', with args beginning with: {args}")]
    UnknownCommand { name: String, args: String },
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(String),
    #[error("ERR syntax error")]
    Syntax,
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    #[error("ERR value is not a valid float")]
    NotFloat,
    /// Any other error; the string carries its own prefix (`ERR ...`, `NOAUTH ...`).
    #[error("{0}")]
    Other(String),
    /// An expiry that is not positive or overflows once made absolute; carries the
    /// lower-case command name Redis puts in the text (`set`, `setex`, `getex`, `expire` …).
    #[error("ERR invalid expire time in '{0}' command")]
    InvalidExpireTime(&'static str),
}

impl CommandError {
    /// An `ERR`-prefixed error with free text.
    pub fn err(text: impl std::fmt::Display) -> CommandError {
        CommandError::Other(format!("ERR {text}"))
    }
}
