//! `DUMP` and `RESTORE`: a key's value to and from Redis 7.0's DUMP payload.
//!
//! The payload's bytes are `crate::rdb`'s; this file maps an [`rdb::Value`] onto tandem's
//! keys through the types' own commands (`hset`, `push`, `sadd`, `store_entries`, `set`)
//! and reads one back through their readers, so the storage layout stays theirs alone. It
//! also gives `import-rdb`/`export-rdb` their per-key read and write.

use tandem_shared::command::{ListEnd, SetExpiry};
use tandem_shared::{ExpireCondition, Reply, StorageError};

use super::hash::HashPart;
use super::string::SetOptions;
use super::{
    delete_key, hash, keyspace, list, lookup, lookup_write, set, string, zset, At, CmdResult,
};
use crate::engine::metadata::KeyType;
use crate::engine::{StoreRead, StoreWrite};
use crate::rdb::{self, Value};

/// Redis's reply when `RESTORE` without `REPLACE` meets a live key.
const BUSY_KEY: &str = "BUSYKEY Target key name already exists.";
/// Redis's reply to a negative TTL.
const NEGATIVE_TTL: &str = "ERR Invalid TTL value, must be >= 0";

/// What a `RESTORE` did, for its keyspace events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restored {
    /// The key was created (`restore`).
    Created,
    /// `REPLACE` with a TTL already in the past deleted the old key (`del`).
    Deleted,
    /// Nothing changed (an error, or a past TTL with no key to replace).
    Nothing,
}

/// `RESTORE`'s arguments after the payload.
#[derive(Debug, Clone, Copy)]
pub struct RestoreOptions {
    /// `None`: the TTL argument was not an integer.
    pub ttl: Option<i64>,
    pub replace: bool,
    /// The TTL is an absolute unix time in milliseconds.
    pub absttl: bool,
}

/// `DUMP key`: the payload, or nil for a missing key. Counts a keyspace hit or miss once,
/// as Redis's `lookupKeyRead`.
pub fn dump<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8]) -> CmdResult {
    let Some(r) = lookup(s, at, key)? else {
        s.services().stats().note_lookup(false);
        return Ok(Reply::Nil);
    };
    // The type's reader looks the key up again and counts the hit.
    match read_value(s, at, key, r.kind)? {
        Some(value) => Ok(Reply::Bulk(rdb::dump(&value))),
        None => Ok(Reply::Error(
            "ERR DUMP of a stream is not supported by tandem yet".to_owned(),
        )),
    }
}

fn bulks(reply: Reply) -> Result<Vec<Vec<u8>>, StorageError> {
    match reply {
        Reply::Array(items) | Reply::Set(items) => items
            .into_iter()
            .map(|r| match r {
                Reply::Bulk(b) => Ok(b),
                other => Err(unexpected(&other)),
            })
            .collect(),
        other => Err(unexpected(&other)),
    }
}

fn unexpected(reply: &Reply) -> StorageError {
    StorageError::Internal(format!(
        "unexpected reply while serialising a key: {reply:?}"
    ))
}

/// The live value of `key` (of type `kind`, looked up by the caller) as an [`rdb::Value`];
/// `None` for a type the RDB codec does not carry yet (streams).
///
/// # Errors
/// Storage failures.
pub fn read_value<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    kind: KeyType,
) -> Result<Option<Value>, StorageError> {
    Ok(Some(match kind {
        KeyType::String => match string::get(s, at, key)? {
            Reply::Bulk(b) => Value::String(b),
            other => return Err(unexpected(&other)),
        },
        KeyType::List => Value::List(bulks(list::lrange(s, at, key, 0, -1)?)?),
        KeyType::Set => Value::Set(bulks(set::smembers(s, at, key)?)?),
        KeyType::Hash => match hash::hgetall(s, at, key, HashPart::Both)? {
            Reply::Map(pairs) => Value::Hash(
                pairs
                    .into_iter()
                    .map(|p| match p {
                        (Reply::Bulk(f), Reply::Bulk(v)) => Ok((f, v)),
                        (other, _) => Err(unexpected(&other)),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            other => return Err(unexpected(&other)),
        },
        KeyType::ZSet => {
            let all = tandem_shared::command::ZRangeBy::Rank { start: 0, stop: -1 };
            match zset::zrange(s, at, key, &all, false, None, true)? {
                Reply::Pairs(pairs) => Value::ZSet(
                    pairs
                        .into_iter()
                        .map(|p| match p {
                            (Reply::Bulk(m), Reply::Double(score)) => Ok((m, score)),
                            (other, _) => Err(unexpected(&other)),
                        })
                        .collect::<Result<_, _>>()?,
                ),
                other => return Err(unexpected(&other)),
            }
        }
        KeyType::Stream => return Ok(None),
    }))
}

/// Writes `value` as the new key `key` (which must not exist in the group: deleted or
/// never there), with expiry `expire_at_ms` (0: none).
///
/// # Errors
/// Storage failures, and a string longer than `proto-max-bulk-len`.
pub fn write_value<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    value: &Value,
    expire_at_ms: u64,
) -> Result<(), StorageError> {
    if let Value::String(v) = value {
        let mut opts = SetOptions::PLAIN;
        if expire_at_ms != 0 {
            opts.expiry = SetExpiry::At(i64::try_from(expire_at_ms).unwrap_or(i64::MAX));
        }
        string::set(w, at, key, v, opts)?;
        return Ok(());
    }
    match value {
        Value::String(_) => {}
        Value::List(items) => {
            list::push(
                w,
                at,
                key,
                ListEnd::Right,
                items.iter().map(Vec::as_slice),
                false,
            )?;
        }
        Value::Set(members) => {
            set::sadd(w, at, key, members.iter().map(Vec::as_slice))?;
        }
        Value::Hash(fields) => {
            hash::hset(
                w,
                at,
                key,
                fields.iter().map(|(f, v)| (f.as_slice(), v.as_slice())),
            )?;
        }
        Value::ZSet(members) => {
            zset::store_entries(w, at, key, members)?;
        }
    }
    if expire_at_ms != 0 {
        keyspace::expire(
            w,
            at,
            key,
            i64::try_from(expire_at_ms).unwrap_or(i64::MAX),
            ExpireCondition::Always,
        )?;
    }
    Ok(())
}

/// `RESTORE key ttl payload [REPLACE] [ABSTTL]`, checks in Redis 7.0's order: the busy
/// key, the TTL, the payload's trailer, its value; then the old key goes (`REPLACE`) and a
/// TTL already past leaves no key.
pub fn restore<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    payload: &[u8],
    opts: RestoreOptions,
) -> (CmdResult, Restored) {
    match restore_inner(w, at, key, payload, opts) {
        Ok((reply, done)) => (Ok(reply), done),
        Err(e) => (Err(e), Restored::Nothing),
    }
}

fn restore_inner<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    payload: &[u8],
    opts: RestoreOptions,
) -> Result<(Reply, Restored), StorageError> {
    let error = |text: &str| Ok((Reply::Error(text.to_owned()), Restored::Nothing));
    if !opts.replace && lookup_write(w, at, key)?.is_some() {
        return error(BUSY_KEY);
    }
    let Some(ttl) = opts.ttl else {
        return Err(StorageError::NotInteger);
    };
    if ttl < 0 {
        return error(NEGATIVE_TTL);
    }
    let value = match rdb::restore(payload) {
        Ok(v) => v,
        Err(e) => {
            if let rdb::PayloadError::Data(reason) = &e {
                tracing::debug!(%reason, "RESTORE payload refused");
            }
            return error(e.reply_text());
        }
    };
    let deleted = opts.replace && delete_key(w, at, key)?;
    let expire_at = if ttl != 0 && !opts.absttl {
        ttl.saturating_add(at.now_ms as i64)
    } else {
        ttl
    };
    if expire_at != 0 && expire_at <= at.now_ms as i64 {
        let done = if deleted {
            Restored::Deleted
        } else {
            Restored::Nothing
        };
        return Ok((Reply::ok(), done));
    }
    write_value(w, at, key, &value, expire_at as u64)?;
    Ok((Reply::ok(), Restored::Created))
}
