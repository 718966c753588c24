//! `OBJECT ENCODING|REFCOUNT|FREQ|IDLETIME` and `DEBUG OBJECT`: what Redis 7.0 would say
//! about the same value (`docs/PROTOCOL.md`, "OBJECT, MEMORY, DEBUG, LOLWUT").
//!
//! tandem stores every type the same way (records in RocksDB), so an encoding is *named*,
//! not read: the value's current size and element lengths against the thresholds the proxy
//! passes in [`ObjectLimits`] pick the name Redis 7.0 gives a value of that shape (`int`,
//! `embstr` or `raw` strings, a HyperLogLog always `raw`; `quicklist` lists; `intset` or `hashtable` sets; `listpack`
//! or `hashtable` hashes; `listpack` or `skiplist` sorted sets; `stream`). Redis never
//! converts a value back to the compact encoding when it shrinks; tandem names the current
//! value, so a hash grown past 512 fields and cut back reports `listpack` here and
//! `hashtable` in Redis. Likewise a short string Redis built in place (`APPEND` to an
//! existing key, `SETRANGE`, `SETBIT`, `INCRBYFLOAT`'s result) keeps the encoding that
//! operation gave it there, while tandem names it by its bytes. Only as many elements as the entry threshold allows are read (a
//! larger collection is named by its size alone), so the cost is bounded by the threshold.
//!
//! tandem keeps no per-key access clock or counter: `IDLETIME` is 0 and `FREQ` (allowed
//! under an LFU policy only, as in Redis) is 0. Owns no state and writes nothing.

use tandem_shared::command::{ObjectField, ObjectLimits};
use tandem_shared::{Reply, StorageError};

use super::{lookup_read, string_value as value, At, CmdResult};
use crate::engine::keys;
use crate::engine::metadata::{KeyType, Record};
use crate::engine::{Cf, StoreRead};
use crate::types::zset::MEMBER_TAG;

/// Redis's `OBJ_SHARED_REFCOUNT` (`INT_MAX`): the refcount of a shared integer object.
const SHARED_REFCOUNT: i64 = 2_147_483_647;
/// Redis's `OBJ_SHARED_INTEGERS`: 0..10000 are shared when sharing is allowed.
const SHARED_INTEGERS: i64 = 10_000;
/// Redis's `OBJ_ENCODING_EMBSTR_SIZE_LIMIT`.
const EMBSTR_MAX: u64 = 44;
/// Longest string Redis tries as an integer (`tryObjectEncoding`).
const INT_MAX_LEN: u64 = 20;

const LFU_NOT_SELECTED: &str = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
const LFU_SELECTED: &str = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";

/// `OBJECT <field> key` (and `DEBUG OBJECT key`): nil for a missing key (DEBUG OBJECT:
/// Redis's `no such key` error), then the field.
pub fn object<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    field: ObjectField,
    limits: &ObjectLimits,
) -> CmdResult {
    let Some(record) = lookup_read(s, at, key)? else {
        return match field {
            ObjectField::Debug => Err(StorageError::NoSuchKey),
            _ => Ok(Reply::Nil),
        };
    };
    match field {
        ObjectField::Encoding => {
            let shape = shape(s, at, key, &record, limits)?;
            Ok(Reply::Bulk(shape.encoding.as_bytes().to_vec()))
        }
        ObjectField::RefCount => {
            let shape = shape(s, at, key, &record, limits)?;
            Ok(Reply::Integer(refcount(&shape, limits)))
        }
        ObjectField::Freq if !limits.lfu => Ok(Reply::Error(LFU_NOT_SELECTED.to_owned())),
        ObjectField::IdleTime if limits.lfu => Ok(Reply::Error(LFU_SELECTED.to_owned())),
        // No access is recorded: see the module documentation.
        ObjectField::Freq | ObjectField::IdleTime => Ok(Reply::Integer(0)),
        ObjectField::Debug => debug_object(s, at, key, &record, limits),
    }
}

/// What the encoding name is decided by, read once.
struct Shape {
    encoding: &'static str,
    /// The integer of an `int`-encoded string.
    int: Option<i64>,
}

fn refcount(shape: &Shape, limits: &ObjectLimits) -> i64 {
    match shape.int {
        Some(n) if limits.shared_integers && (0..SHARED_INTEGERS).contains(&n) => SHARED_REFCOUNT,
        _ => 1,
    }
}

fn shape<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    record: &Record,
    limits: &ObjectLimits,
) -> Result<Shape, StorageError> {
    let named = |encoding| Shape {
        encoding,
        int: None,
    };
    Ok(match record.kind {
        KeyType::String => {
            let len = value::len(record);
            let head = if len <= EMBSTR_MAX {
                value::read(s, at.db, key, record, 0, len)?
            } else {
                Vec::new()
            };
            let int = if len <= INT_MAX_LEN {
                strict_i64(&head)
            } else {
                None
            };
            match int {
                Some(n) => Shape {
                    encoding: "int",
                    int: Some(n),
                },
                // PFADD/PFMERGE make their value raw whatever its size (`createHLLObject`).
                None if len <= EMBSTR_MAX && !head.starts_with(b"HYLL") => named("embstr"),
                None => named("raw"),
            }
        }
        // Redis 7.0 keeps every list as a quicklist (the listpack list came in 7.2).
        KeyType::List => named("quicklist"),
        KeyType::Stream => named("stream"),
        KeyType::Set => {
            let small = record.size <= limits.set_max_intset_entries;
            let all_ints =
                small && every_sub(s, at, key, record, &[], |m, _| strict_i64(m).is_some())?;
            named(if all_ints { "intset" } else { "hashtable" })
        }
        KeyType::Hash => {
            let max = limits.hash_max_listpack_value;
            let small = record.size <= limits.hash_max_listpack_entries
                && every_sub(s, at, key, record, &[], |f, v| {
                    f.len() as u64 <= max && v.len() as u64 <= max
                })?;
            named(if small { "listpack" } else { "hashtable" })
        }
        KeyType::ZSet => {
            let max = limits.zset_max_listpack_value;
            let small = record.size <= limits.zset_max_listpack_entries
                && every_sub(s, at, key, record, &[MEMBER_TAG], |m, _| {
                    m.len() as u64 <= max
                })?;
            named(if small { "listpack" } else { "skiplist" })
        }
    })
}

/// True when `test(element, value)` holds for every sub-record under the key's prefix plus
/// `tag` (the element is the sub-key after them); stops at the first that fails.
fn every_sub<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    record: &Record,
    tag: &[u8],
    mut test: impl FnMut(&[u8], &[u8]) -> bool,
) -> Result<bool, StorageError> {
    let mut prefix = keys::sub_prefix(at.db, key, record.version);
    prefix.extend_from_slice(tag);
    let end = keys::prefix_end(&prefix).unwrap_or_default();
    let mut ok = true;
    s.scan(Cf::Sub, &prefix, &end, &mut |k, v| {
        ok = test(&k[prefix.len()..], v);
        ok
    })?;
    Ok(ok)
}

/// Redis's `string2ll`: an optional `-`, no `+`, no leading zeros, no spaces, in range.
pub fn strict_i64(s: &[u8]) -> Option<i64> {
    let digits = s.strip_prefix(b"-").unwrap_or(s);
    let leading_zero = digits.first() == Some(&b'0') && (digits.len() > 1 || s.len() > 1);
    if digits.is_empty() || leading_zero || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// `DEBUG OBJECT key`: Redis's status line. The address is the key's storage version (a
/// stable identity, as an address is for Redis); `serializedlength` is the length of the
/// value's RDB form without compression (strings exactly, collections as the sum of their
/// elements' string forms); `lru` fields are 0, as no access clock is kept.
fn debug_object<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    record: &Record,
    limits: &ObjectLimits,
) -> CmdResult {
    let shape = shape(s, at, key, record, limits)?;
    let serialized = match (record.kind, shape.int) {
        (KeyType::String, Some(n)) => rdb_int_len(n),
        (KeyType::String, None) => rdb_string_len(value::len(record)),
        _ => {
            let prefix = keys::sub_prefix(at.db, key, record.version);
            let end = keys::prefix_end(&prefix).unwrap_or_default();
            let mut total = rdb_len_len(record.size);
            let mut nodes = ListNodes::new(limits.list_max_listpack_size);
            let zset = record.kind == KeyType::ZSet;
            s.scan(Cf::Sub, &prefix, &end, &mut |k, v| {
                let sub = &k[prefix.len()..];
                match record.kind {
                    KeyType::Hash => {
                        total += rdb_string_len(sub.len() as u64) + rdb_string_len(v.len() as u64)
                    }
                    KeyType::Set => total += rdb_string_len(sub.len() as u64),
                    KeyType::ZSet if sub.first() == Some(&MEMBER_TAG) => {
                        total += rdb_string_len(sub.len() as u64 - 1) + 8
                    }
                    KeyType::List => {
                        total += rdb_string_len(v.len() as u64);
                        nodes.push(v.len() as u64);
                    }
                    _ => total += (sub.len() + v.len()) as u64,
                }
                // A zset's score index follows its member records: stop there.
                !(zset && sub.first() > Some(&MEMBER_TAG))
            })?;
            if record.kind == KeyType::List {
                let addr = record.version;
                let nodes_n = nodes.count();
                let avg = if nodes_n == 0 {
                    0.0
                } else {
                    record.size as f64 / nodes_n as f64
                };
                return Ok(Reply::Simple(format!(
                    "Value at:0x{addr:x} refcount:1 encoding:quicklist serializedlength:{total} lru:0 lru_seconds_idle:0 ql_nodes:{nodes_n} ql_avg_node:{avg:.2} ql_listpack_max:{} ql_compressed:0 ql_uncompressed_size:{}",
                    limits.list_max_listpack_size,
                    nodes.bytes
                )));
            }
            total
        }
    };
    Ok(Reply::Simple(format!(
        "Value at:0x{:x} refcount:{} encoding:{} serializedlength:{serialized} lru:0 lru_seconds_idle:0",
        record.version,
        refcount(&shape, limits),
        shape.encoding
    )))
}

/// RDB's length prefix: 1, 2, 5 or 9 bytes.
fn rdb_len_len(n: u64) -> u64 {
    match n {
        0..=63 => 1,
        64..=16383 => 2,
        16384..=0xffff_ffff => 5,
        _ => 9,
    }
}

fn rdb_string_len(n: u64) -> u64 {
    rdb_len_len(n) + n
}

/// RDB's integer string forms: 8, 16 or 32 bits after a one-byte tag, else the digits.
fn rdb_int_len(n: i64) -> u64 {
    if i8::try_from(n).is_ok() {
        2
    } else if i16::try_from(n).is_ok() {
        3
    } else if i32::try_from(n).is_ok() {
        5
    } else {
        rdb_string_len(n.to_string().len() as u64)
    }
}

/// How Redis would pack a list's elements into quicklist nodes: listpacks of at most
/// `list-max-listpack-size` entries (positive) or bytes (-1..-5: 4 KiB..64 KiB).
struct ListNodes {
    max_entries: u64,
    max_bytes: u64,
    nodes: u64,
    in_node: u64,
    node_bytes: u64,
    bytes: u64,
}

impl ListNodes {
    /// A listpack's header and end byte.
    const LISTPACK_OVERHEAD: u64 = 7;

    fn new(size: i64) -> ListNodes {
        let (max_entries, max_bytes) = match size {
            n if n > 0 => (n.unsigned_abs(), u64::MAX),
            n => (u64::MAX, 4096u64 << (n.unsigned_abs().clamp(1, 5) - 1)),
        };
        ListNodes {
            max_entries,
            max_bytes,
            nodes: 0,
            in_node: 0,
            node_bytes: 0,
            bytes: 0,
        }
    }

    /// One element of `len` bytes (encoding byte(s), data, back-length).
    fn push(&mut self, len: u64) {
        let entry = len + rdb_len_len(len) + rdb_len_len(len);
        if self.nodes == 0
            || self.in_node >= self.max_entries
            || self.node_bytes + entry > self.max_bytes
        {
            self.nodes += 1;
            self.in_node = 0;
            self.node_bytes = Self::LISTPACK_OVERHEAD;
            self.bytes += Self::LISTPACK_OVERHEAD;
        }
        self.in_node += 1;
        self.node_bytes += entry;
        self.bytes += entry;
    }

    fn count(&self) -> u64 {
        self.nodes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::testing::TestDb;
    use crate::types::{hash, list, set, string, zset};

    use tandem_shared::command::{ListEnd, ZAddCompare, ZAddCondition, ZAddOptions};

    const PLAIN: string::SetOptions = string::SetOptions::PLAIN;
    const ZADD: ZAddOptions = ZAddOptions {
        condition: ZAddCondition::Always,
        compare: ZAddCompare::Any,
        changed: false,
        incr: false,
    };
    const LIMITS: ObjectLimits = ObjectLimits {
        hash_max_listpack_entries: 512,
        hash_max_listpack_value: 64,
        zset_max_listpack_entries: 128,
        zset_max_listpack_value: 64,
        set_max_intset_entries: 512,
        list_max_listpack_size: -2,
        lfu: false,
        shared_integers: true,
    };

    fn ask(db: &TestDb, key: &str, field: ObjectField, limits: ObjectLimits) -> CmdResult {
        db.read(|s, at| object(s, at, key.as_bytes(), field, &limits))
    }

    fn encoding(db: &TestDb, key: &str) -> String {
        match ask(db, key, ObjectField::Encoding, LIMITS) {
            Ok(Reply::Bulk(b)) => String::from_utf8_lossy(&b).into_owned(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn strict_integers_follow_string2ll() {
        for ok in [
            "0",
            "-1",
            "123",
            "9223372036854775807",
            "-9223372036854775808",
        ] {
            assert!(strict_i64(ok.as_bytes()).is_some(), "{ok}");
        }
        for bad in [
            "",
            "-",
            "-0",
            "01",
            "+1",
            " 1",
            "1 ",
            "9223372036854775808",
            "1.0",
        ] {
            assert_eq!(strict_i64(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn strings_are_int_embstr_or_raw_by_value() {
        let mut db = TestDb::open();
        for (k, v) in [
            ("i", "123"),
            ("e", "hello"),
            ("z", "0123"),
            ("r", &"x".repeat(45)[..]),
            ("b", &"x".repeat(44)[..]),
        ] {
            db.write(|w, at| string::set(w, at, k.as_bytes(), v.as_bytes(), PLAIN))
                .expect("set");
        }
        assert_eq!(encoding(&db, "i"), "int");
        assert_eq!(encoding(&db, "e"), "embstr");
        assert_eq!(encoding(&db, "z"), "embstr");
        assert_eq!(encoding(&db, "b"), "embstr");
        assert_eq!(encoding(&db, "r"), "raw");
        let refcount = |limits| match ask(&db, "i", ObjectField::RefCount, limits) {
            Ok(Reply::Integer(n)) => n,
            other => panic!("{other:?}"),
        };
        assert_eq!(refcount(LIMITS), SHARED_REFCOUNT);
        let unshared = ObjectLimits {
            shared_integers: false,
            ..LIMITS
        };
        assert_eq!(refcount(unshared), 1);
        assert!(matches!(
            ask(&db, "nokey", ObjectField::Encoding, LIMITS),
            Ok(Reply::Nil)
        ));
    }

    #[test]
    fn collections_switch_names_at_the_thresholds() {
        let mut db = TestDb::open();
        db.write(|w, at| set::sadd(w, at, b"ints", [&b"1"[..], b"2"].into_iter()))
            .expect("sadd");
        db.write(|w, at| set::sadd(w, at, b"words", [&b"1"[..], b"a"].into_iter()))
            .expect("sadd");
        assert_eq!(encoding(&db, "ints"), "intset");
        assert_eq!(encoding(&db, "words"), "hashtable");
        let long = [b'v'; 65];
        db.write(|w, at| hash::hset(w, at, b"h", [(&b"f"[..], &b"v"[..])].into_iter()))
            .expect("hset");
        db.write(|w, at| hash::hset(w, at, b"hl", [(&b"f"[..], &long[..])].into_iter()))
            .expect("hset");
        assert_eq!(encoding(&db, "h"), "listpack");
        assert_eq!(encoding(&db, "hl"), "hashtable");
        let members: Vec<Vec<u8>> = (0..129).map(|i| format!("m{i}").into_bytes()).collect();
        let pairs: Vec<(f64, &[u8])> = members.iter().map(|m| (1.0, m.as_slice())).collect();
        db.write(|w, at| zset::zadd(w, at, b"big", ZADD, &pairs))
            .expect("zadd");
        db.write(|w, at| zset::zadd(w, at, b"small", ZADD, &[(1.0, &b"m"[..])]))
            .expect("zadd");
        assert_eq!(encoding(&db, "big"), "skiplist");
        assert_eq!(encoding(&db, "small"), "listpack");
        db.write(|w, at| list::push(w, at, b"l", ListEnd::Right, [&b"a"[..]].into_iter(), false))
            .expect("rpush");
        assert_eq!(encoding(&db, "l"), "quicklist");
    }

    #[test]
    fn freq_and_idletime_follow_the_policy() {
        let mut db = TestDb::open();
        db.write(|w, at| string::set(w, at, b"k", b"v", PLAIN))
            .expect("set");
        let lfu = ObjectLimits {
            lfu: true,
            ..LIMITS
        };
        assert!(
            matches!(ask(&db, "k", ObjectField::Freq, LIMITS), Ok(Reply::Error(e)) if e == LFU_NOT_SELECTED)
        );
        assert!(matches!(
            ask(&db, "k", ObjectField::Freq, lfu),
            Ok(Reply::Integer(0))
        ));
        assert!(
            matches!(ask(&db, "k", ObjectField::IdleTime, lfu), Ok(Reply::Error(e)) if e == LFU_SELECTED)
        );
        assert!(matches!(
            ask(&db, "k", ObjectField::IdleTime, LIMITS),
            Ok(Reply::Integer(0))
        ));
        // A missing key is nil before the policy is looked at, as in Redis.
        assert!(matches!(
            ask(&db, "nokey", ObjectField::Freq, LIMITS),
            Ok(Reply::Nil)
        ));
    }
}
