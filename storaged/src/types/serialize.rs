//! `DUMP` and `RESTORE`: a key's value to and from Redis 7.0's DUMP payload.
//!
//! The payload's bytes are `crate::rdb`'s; this file maps an [`rdb::Value`] onto tandem's
//! keys through the types' own commands (`hset`, `push`, `sadd`, `store_entries`, `set`,
//! and for streams `stream::serial`) and reads one back through their readers, so the
//! storage layout stays theirs alone. It
//! also gives `import-rdb`/`export-rdb` their per-key read and write.

use tandem_shared::command::{ListEnd, SetExpiry};
use tandem_shared::{ExpireCondition, Reply, StorageError};

use super::hash::HashPart;
use super::string::SetOptions;
use super::{
    delete_key, hash, keyspace, list, lookup, lookup_write, set, stream, string, zset, At,
    CmdResult,
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
    let value = read_value(s, at, key, r.kind)?;
    Ok(Reply::Bulk(rdb::dump(&value)))
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

/// The live value of `key` (of type `kind`, looked up by the caller) as an [`rdb::Value`].
///
/// # Errors
/// Storage failures.
pub fn read_value<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    kind: KeyType,
) -> Result<Value, StorageError> {
    Ok(match kind {
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
        KeyType::Stream => match stream::serial::read_value(s, at, key)? {
            Some(v) => Value::Stream(Box::new(v)),
            None => {
                return Err(StorageError::Internal(
                    "a stream looked up for DUMP is gone".to_owned(),
                ))
            }
        },
    })
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
        Value::Stream(v) => stream::serial::write_value(w, at, key, v)?,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::testing::TestDb;

    fn opts(ttl: i64) -> RestoreOptions {
        RestoreOptions {
            ttl: Some(ttl),
            replace: false,
            absttl: false,
        }
    }

    fn dumped(db: &TestDb, key: &[u8]) -> Option<Vec<u8>> {
        match db.read(|s, at| dump(s, at, key)) {
            Ok(Reply::Bulk(b)) => Some(b),
            Ok(Reply::Nil) => None,
            other => panic!("DUMP: {other:?}"),
        }
    }

    #[test]
    fn every_type_round_trips_through_its_payload() {
        let mut db = TestDb::open();
        let values = [
            Value::String(b"12345".to_vec()),
            Value::String(vec![7u8; 100_000]),
            Value::List(vec![b"a".to_vec(), b"".to_vec(), b"-3".to_vec()]),
            Value::Set(vec![b"1".to_vec(), b"x".to_vec()]),
            Value::Hash(vec![(b"f".to_vec(), b"v".to_vec())]),
            Value::ZSet(vec![(b"m".to_vec(), -1.5), (b"n".to_vec(), f64::INFINITY)]),
        ];
        for (i, v) in values.iter().enumerate() {
            let key = format!("k{i}").into_bytes();
            let payload = rdb::dump(v);
            let (r, done) = db.write(|w, at| restore(w, at, &key, &payload, opts(0)));
            assert_eq!(r, Ok(Reply::ok()));
            assert_eq!(done, Restored::Created);
            let back = dumped(&db, &key).expect("restored key");
            assert_eq!(norm(rdb::restore(&back).expect("loads")), norm(v.clone()));
        }
        assert_eq!(dumped(&db, b"missing"), None);
    }

    /// Sets come back in byte order.
    fn norm(v: Value) -> Value {
        match v {
            Value::Set(mut m) => {
                m.sort();
                Value::Set(m)
            }
            other => other,
        }
    }

    #[test]
    fn busy_key_ttl_and_replace_as_redis() {
        let mut db = TestDb::open();
        let payload = rdb::dump(&Value::String(b"v".to_vec()));
        let (r, _) = db.write(|w, at| restore(w, at, b"k", &payload, opts(0)));
        assert_eq!(r, Ok(Reply::ok()));
        let (r, done) = db.write(|w, at| restore(w, at, b"k", &payload, opts(0)));
        assert_eq!(r, Ok(Reply::Error(BUSY_KEY.to_owned())));
        assert_eq!(done, Restored::Nothing);
        // The busy key is checked before the TTL, as in Redis.
        let bad_ttl = RestoreOptions {
            ttl: None,
            ..opts(0)
        };
        let (r, _) = db.write(|w, at| restore(w, at, b"k", &payload, bad_ttl));
        assert_eq!(r, Ok(Reply::Error(BUSY_KEY.to_owned())));
        let (r, _) = db.write(|w, at| restore(w, at, b"new", &payload, bad_ttl));
        assert_eq!(r, Err(StorageError::NotInteger));
        let (r, _) = db.write(|w, at| restore(w, at, b"new", &payload, opts(-1)));
        assert_eq!(r, Ok(Reply::Error(NEGATIVE_TTL.to_owned())));
        // REPLACE with an absolute TTL in the past deletes the old key and creates nothing.
        let past = RestoreOptions {
            ttl: Some(1),
            replace: true,
            absttl: true,
        };
        let (r, done) = db.write(|w, at| restore(w, at, b"k", &payload, past));
        assert_eq!(r, Ok(Reply::ok()));
        assert_eq!(done, Restored::Deleted);
        assert_eq!(dumped(&db, b"k"), None);
        // A relative TTL is kept.
        let (r, _) = db.write(|w, at| restore(w, at, b"t", &payload, opts(100_000)));
        assert_eq!(r, Ok(Reply::ok()));
        let ttl = db.read(|s, at| keyspace::ttl(s, at, b"t", tandem_shared::TimeUnit::Seconds));
        assert_eq!(ttl, Ok(Reply::Integer(100)));
    }
}
