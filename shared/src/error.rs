//! Command outcomes that are errors in Redis terms, produced by storaged and carried back
//! over the link inside a [`crate::wire::Response`].
//!
//! These are *command* outcomes, not transport failures: the link layer has its own error
//! types on each side. `Display` gives the exact Redis 7 error text, prefix included, so the
//! proxy writes `-{error}\r\n` with no mapping table.

use rkyv::{Archive, Deserialize, Serialize};

/// An error reply from storage, with Redis's exact wording.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[rkyv(derive(Debug))]
pub enum StorageError {
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    #[error("ERR value is not a valid float")]
    NotFloat,
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    #[error("ERR increment would produce NaN or Infinity")]
    NanOrInfinity,
    #[error("ERR no such key")]
    NoSuchKey,
    #[error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")]
    StringTooLong,
    #[error("ERR source and destination objects are the same")]
    SameObject,
    #[error("ERR DB index is out of range")]
    DbOutOfRange,
    #[error("ERR The specified keys must contain string values")]
    LcsNotString,
    /// A RocksDB or internal failure; the text is for operators, the client sees `ERR`.
    #[error("ERR storage failure: {0}")]
    Internal(String),
    /// `LCS` whose dynamic-programming table would exceed `proto-max-bulk-len`.
    #[error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")]
    LcsTooLarge,
    #[error("ERR hash value is not an integer")]
    HashNotInteger,
    #[error("ERR hash value is not a float")]
    HashNotFloat,
    #[error("ERR syntax error")]
    Syntax,
    /// `ZINCRBY`/`ZADD INCR` adding `inf` and `-inf`.
    #[error("ERR resulting score is not a number (NaN)")]
    ScoreNan,
    /// `LSET` past either end of the list.
    #[error("ERR index out of range")]
    IndexOutOfRange,
    /// A blocked client released by `CLIENT UNBLOCK id ERROR`.
    #[error("UNBLOCKED client unblocked via CLIENT UNBLOCK")]
    Unblocked,
}

impl ArchivedStorageError {
    /// The exact Redis error text (prefix included) of an archived error.
    pub fn message(&self) -> String {
        match self {
            ArchivedStorageError::WrongType => StorageError::WrongType.to_string(),
            ArchivedStorageError::NotInteger => StorageError::NotInteger.to_string(),
            ArchivedStorageError::NotFloat => StorageError::NotFloat.to_string(),
            ArchivedStorageError::Overflow => StorageError::Overflow.to_string(),
            ArchivedStorageError::NanOrInfinity => StorageError::NanOrInfinity.to_string(),
            ArchivedStorageError::NoSuchKey => StorageError::NoSuchKey.to_string(),
            ArchivedStorageError::StringTooLong => StorageError::StringTooLong.to_string(),
            ArchivedStorageError::SameObject => StorageError::SameObject.to_string(),
            ArchivedStorageError::DbOutOfRange => StorageError::DbOutOfRange.to_string(),
            ArchivedStorageError::LcsNotString => StorageError::LcsNotString.to_string(),
            ArchivedStorageError::Internal(s) => format!("ERR storage failure: {}", s.as_str()),
            ArchivedStorageError::LcsTooLarge => StorageError::LcsTooLarge.to_string(),
            ArchivedStorageError::HashNotInteger => StorageError::HashNotInteger.to_string(),
            ArchivedStorageError::HashNotFloat => StorageError::HashNotFloat.to_string(),
            ArchivedStorageError::Syntax => StorageError::Syntax.to_string(),
            ArchivedStorageError::ScoreNan => StorageError::ScoreNan.to_string(),
            ArchivedStorageError::IndexOutOfRange => StorageError::IndexOutOfRange.to_string(),
            ArchivedStorageError::Unblocked => StorageError::Unblocked.to_string(),
        }
    }
}
