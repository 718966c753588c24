//! One value's RDB record (`rdbSaveObject` / `rdbLoadObject` of Redis 7.0): the record
//! types, lengths, strings, doubles, and the choice of encoding on write.

use std::collections::HashSet;

use super::input::Input;
use super::listpack::{self, Element};
use super::primitive::*;
pub use super::primitive::{read_len, read_string, write_len, write_string};
use super::stream::{self, StreamValue};
use super::{ziplist, RdbError};
use crate::types::string::parse_i64;
use crate::types::zset::format_score;

/// Quicklist 2 node containers.
const CONTAINER_PLAIN: u64 = 1;
const CONTAINER_PACKED: u64 = 2;

/// Redis 7.0's defaults for the compact encodings (`redis.conf`); tandem has no
/// `CONFIG SET` for them, so a value's encoding is decided by these as on a default
/// redis-server.
pub const HASH_MAX_LISTPACK_ENTRIES: usize = 128;
pub const HASH_MAX_LISTPACK_VALUE: usize = 64;
pub const ZSET_MAX_LISTPACK_ENTRIES: usize = 128;
pub const ZSET_MAX_LISTPACK_VALUE: usize = 64;
pub const SET_MAX_INTSET_ENTRIES: usize = 512;
/// `list-max-listpack-size -2`: a quicklist node's listpack stays within 8 KiB.
const LIST_NODE_MAX_BYTES: usize = 8192;
/// Redis's `SIZE_ESTIMATE_OVERHEAD`: what it adds to an element's length when deciding
/// whether it still fits the node.
const LIST_NODE_ENTRY_OVERHEAD: usize = 8;

/// Collections are never pre-sized beyond this, whatever length a record claims.
const PRESIZE_MAX: u64 = 4096;

pub use super::listpack::FieldPairs;

/// One value, whatever its encoding was.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(Vec<u8>),
    /// Head to tail.
    List(Vec<Vec<u8>>),
    /// Distinct members.
    Set(Vec<Vec<u8>>),
    /// Distinct fields.
    Hash(FieldPairs),
    /// Distinct members, scores never NaN.
    ZSet(Vec<(Vec<u8>, f64)>),
    /// A stream with its consumer groups (`stream.rs`).
    Stream(Box<StreamValue>),
}

/// `rdbLoadDoubleValue`: the text scores of `RDB_TYPE_ZSET` (a length byte, 253 NaN, 254
/// +inf, 255 -inf, else that many bytes of `%.17g` text).
fn read_text_double<I: Input>(i: &mut I) -> Result<f64, RdbError> {
    let at = i.offset();
    match i.byte()? {
        253 => Ok(f64::NAN),
        254 => Ok(f64::INFINITY),
        255 => Ok(f64::NEG_INFINITY),
        n => {
            let text = i.bytes(u64::from(n))?;
            parse_double(&text).ok_or_else(|| RdbError::new(at, "score is not a number"))
        }
    }
}

/// A score as `strtod` reads Redis's own texts (`%.17g`, `inf`, `-inf`, `nan`).
fn parse_double(text: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(text).ok()?;
    match s {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ => s.parse::<f64>().ok(),
    }
}

/// A blob of a compact encoding (ziplist, listpack, intset, zipmap), as a string.
fn read_blob<I: Input>(i: &mut I) -> Result<(u64, Vec<u8>), RdbError> {
    let at = i.offset();
    Ok((at, read_string(i)?))
}

fn corrupt(at: u64, what: &str) -> RdbError {
    RdbError::new(at, what.to_owned())
}

/// The value of a record of type `kind` (its type byte already read).
///
/// # Errors
/// [`RdbError`] naming the offset of the record part that failed: truncation, a blob that
/// fails its integrity check, a repeated member or field, a NaN score, a module value
/// (tandem has no modules), an unknown type. An empty collection is returned as such:
/// `RESTORE` refuses it, loading a file skips it, as Redis does.
pub fn read<I: Input>(i: &mut I, kind: u8) -> Result<Value, RdbError> {
    let at = i.offset();
    let value = match kind {
        TYPE_STRING => Value::String(read_string(i)?),
        TYPE_LIST => {
            let n = read_len(i)?;
            let mut items = Vec::with_capacity(n.min(PRESIZE_MAX) as usize);
            for _ in 0..n {
                items.push(read_string(i)?);
            }
            Value::List(items)
        }
        TYPE_SET => {
            let n = read_len(i)?;
            let mut items = Vec::with_capacity(n.min(PRESIZE_MAX) as usize);
            for _ in 0..n {
                items.push(read_string(i)?);
            }
            Value::Set(distinct(at, items, "set")?)
        }
        TYPE_ZSET | TYPE_ZSET_2 => {
            let n = read_len(i)?;
            let mut items = Vec::with_capacity(n.min(PRESIZE_MAX) as usize);
            for _ in 0..n {
                let member = read_string(i)?;
                let score = if kind == TYPE_ZSET_2 {
                    let mut b = [0u8; 8];
                    i.fill(&mut b)?;
                    f64::from_le_bytes(b)
                } else {
                    read_text_double(i)?
                };
                items.push((member, score));
            }
            zset(at, items)?
        }
        TYPE_HASH => {
            let n = read_len(i)?;
            let mut items = Vec::with_capacity(n.min(PRESIZE_MAX) as usize);
            for _ in 0..n {
                let field = read_string(i)?;
                let value = read_string(i)?;
                items.push((field, value));
            }
            hash(at, items)?
        }
        TYPE_MODULE | TYPE_MODULE_2 => {
            return Err(RdbError::new(at, "module value: tandem loads no modules"))
        }
        TYPE_HASH_ZIPMAP => {
            let (b, blob) = read_blob(i)?;
            hash(b, ziplist::parse_zipmap(&blob).map_err(|e| corrupt(b, e))?)?
        }
        TYPE_LIST_ZIPLIST => {
            let (b, blob) = read_blob(i)?;
            let items = ziplist::parse(&blob).map_err(|e| corrupt(b, e))?;
            Value::List(items.into_iter().map(Element::into_bytes).collect())
        }
        TYPE_SET_INTSET => {
            let (b, blob) = read_blob(i)?;
            let items = ziplist::parse_intset(&blob).map_err(|e| corrupt(b, e))?;
            Value::Set(items.iter().map(|v| v.to_string().into_bytes()).collect())
        }
        TYPE_ZSET_ZIPLIST | TYPE_ZSET_LISTPACK => {
            let (b, blob) = read_blob(i)?;
            let items = if kind == TYPE_ZSET_ZIPLIST {
                ziplist::parse(&blob)
            } else {
                listpack::parse(&blob)
            }
            .map_err(|e| corrupt(b, e))?;
            zset(b, scored_pairs(b, items)?)?
        }
        TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK => {
            let (b, blob) = read_blob(i)?;
            let items = if kind == TYPE_HASH_ZIPLIST {
                ziplist::parse(&blob)
            } else {
                listpack::parse(&blob)
            }
            .map_err(|e| corrupt(b, e))?;
            hash(b, pairs(b, items)?)?
        }
        TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
            let nodes = read_len(i)?;
            let mut items = Vec::new();
            for _ in 0..nodes {
                let container = if kind == TYPE_LIST_QUICKLIST_2 {
                    let c = i.offset();
                    match read_len(i)? {
                        n @ (CONTAINER_PLAIN | CONTAINER_PACKED) => n,
                        _ => return Err(corrupt(c, "quicklist node of an unknown container")),
                    }
                } else {
                    CONTAINER_PACKED
                };
                let (b, blob) = read_blob(i)?;
                if container == CONTAINER_PLAIN {
                    items.push(blob);
                    continue;
                }
                let node = if kind == TYPE_LIST_QUICKLIST {
                    ziplist::parse(&blob)
                } else {
                    listpack::parse(&blob)
                }
                .map_err(|e| corrupt(b, e))?;
                // Redis skips empty nodes silently; an empty list is refused below.
                items.extend(node.into_iter().map(Element::into_bytes));
            }
            Value::List(items)
        }
        TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 => {
            Value::Stream(Box::new(stream::read(i, kind)?))
        }
        other => {
            return Err(RdbError::new(
                at.saturating_sub(1),
                format!("unknown value type {other}"),
            ))
        }
    };
    Ok(value)
}

impl Value {
    /// A collection without elements (a string is never empty in this sense, nor a
    /// stream: Redis keeps and loads empty streams).
    pub fn is_empty(&self) -> bool {
        match self {
            Value::String(_) | Value::Stream(_) => false,
            Value::List(v) | Value::Set(v) => v.is_empty(),
            Value::Hash(v) => v.is_empty(),
            Value::ZSet(v) => v.is_empty(),
        }
    }
}

fn distinct(at: u64, items: Vec<Vec<u8>>, what: &str) -> Result<Vec<Vec<u8>>, RdbError> {
    let mut seen = HashSet::with_capacity(items.len());
    for m in &items {
        if !seen.insert(m.as_slice()) {
            return Err(RdbError::new(at, format!("duplicate {what} members")));
        }
    }
    Ok(items)
}

fn hash(at: u64, items: Vec<(Vec<u8>, Vec<u8>)>) -> Result<Value, RdbError> {
    let mut seen = HashSet::with_capacity(items.len());
    for (f, _) in &items {
        if !seen.insert(f.as_slice()) {
            return Err(corrupt(at, "duplicate hash fields"));
        }
    }
    Ok(Value::Hash(items))
}

fn zset(at: u64, items: Vec<(Vec<u8>, f64)>) -> Result<Value, RdbError> {
    let mut seen = HashSet::with_capacity(items.len());
    for (m, score) in &items {
        if score.is_nan() {
            return Err(corrupt(at, "zset score is NaN"));
        }
        if !seen.insert(m.as_slice()) {
            return Err(corrupt(at, "duplicate zset members"));
        }
    }
    Ok(Value::ZSet(items))
}

/// Field/value pairs of a flat ziplist or listpack.
fn pairs(at: u64, items: Vec<Element>) -> Result<FieldPairs, RdbError> {
    if !items.len().is_multiple_of(2) {
        return Err(corrupt(at, "odd number of entries in a hash"));
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(f), Some(v)) = (it.next(), it.next()) {
        out.push((f.into_bytes(), v.into_bytes()));
    }
    Ok(out)
}

/// Member/score pairs of a flat ziplist or listpack (scores as integers or `%.17g` text).
fn scored_pairs(at: u64, items: Vec<Element>) -> Result<Vec<(Vec<u8>, f64)>, RdbError> {
    if !items.len().is_multiple_of(2) {
        return Err(corrupt(at, "odd number of entries in a zset"));
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(m), Some(s)) = (it.next(), it.next()) {
        let score = match s {
            Element::Int(v) => v as f64,
            Element::Str(text) => {
                parse_double(&text).ok_or_else(|| corrupt(at, "zset score is not a number"))?
            }
        };
        out.push((m.into_bytes(), score));
    }
    Ok(out)
}

/// A score as Redis's `d2string` writes it into a listpack: integers (below 2^52 in
/// magnitude) in decimal, anything else `%.17g`.
fn score_text(score: f64) -> String {
    const LIMIT: f64 = 4_503_599_627_370_496.0; // 2^52
    if score == 0.0 {
        return "0".to_owned();
    }
    if score > -(LIMIT - 1.0) && score < LIMIT && score == score.trunc() {
        return (score as i64).to_string();
    }
    format_score(score)
}

/// Writes `value`'s record (without its type byte) as redis-server 7.0 would encode it,
/// and returns the type byte.
pub fn write(value: &Value, out: &mut Vec<u8>) -> u8 {
    match value {
        Value::String(s) => {
            write_string(s, out);
            TYPE_STRING
        }
        Value::List(items) => {
            write_quicklist(items, out);
            TYPE_LIST_QUICKLIST_2
        }
        Value::Set(members) => {
            let ints: Option<Vec<i64>> = if members.len() <= SET_MAX_INTSET_ENTRIES {
                members.iter().map(|m| parse_i64(m)).collect()
            } else {
                None
            };
            match ints {
                Some(ints) => {
                    write_string(&ziplist::write_intset(&ints), out);
                    TYPE_SET_INTSET
                }
                None => {
                    write_len(members.len() as u64, out);
                    for m in members {
                        write_string(m, out);
                    }
                    TYPE_SET
                }
            }
        }
        Value::Hash(fields) => {
            let compact = fields.len() <= HASH_MAX_LISTPACK_ENTRIES
                && fields.iter().all(|(f, v)| {
                    f.len() <= HASH_MAX_LISTPACK_VALUE && v.len() <= HASH_MAX_LISTPACK_VALUE
                });
            if compact {
                let mut lp = listpack::Writer::new();
                for (f, v) in fields {
                    lp.push(f);
                    lp.push(v);
                }
                write_string(&lp.finish(), out);
                TYPE_HASH_LISTPACK
            } else {
                write_len(fields.len() as u64, out);
                for (f, v) in fields {
                    write_string(f, out);
                    write_string(v, out);
                }
                TYPE_HASH
            }
        }
        Value::ZSet(members) => {
            let compact = members.len() <= ZSET_MAX_LISTPACK_ENTRIES
                && members
                    .iter()
                    .all(|(m, _)| m.len() <= ZSET_MAX_LISTPACK_VALUE);
            if compact {
                let mut lp = listpack::Writer::new();
                for (m, score) in members {
                    lp.push(m);
                    lp.push(score_text(*score).as_bytes());
                }
                write_string(&lp.finish(), out);
                TYPE_ZSET_LISTPACK
            } else {
                // Redis writes its skiplist from the tail, so a load inserts at the head.
                write_len(members.len() as u64, out);
                for (m, score) in members.iter().rev() {
                    write_string(m, out);
                    out.extend_from_slice(&score.to_le_bytes());
                }
                TYPE_ZSET_2
            }
        }
        Value::Stream(s) => stream::write(s, out),
    }
}

/// A list as Redis 7.0's quicklist holds it with `list-max-listpack-size -2`: listpack
/// nodes of at most 8 KiB (by Redis's estimate), each written as a packed container.
fn write_quicklist(items: &[Vec<u8>], out: &mut Vec<u8>) {
    let mut nodes: Vec<listpack::Writer> = Vec::new();
    for item in items {
        let fits = nodes.last().is_some_and(|n| {
            n.bytes() + item.len() + LIST_NODE_ENTRY_OVERHEAD <= LIST_NODE_MAX_BYTES
        });
        if !fits {
            nodes.push(listpack::Writer::new());
        }
        if let Some(node) = nodes.last_mut() {
            node.push(item);
        }
    }
    write_len(nodes.len() as u64, out);
    for node in nodes {
        write_len(CONTAINER_PACKED, out);
        write_string(&node.finish(), out);
    }
}
