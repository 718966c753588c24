//! `SORT` and `SORT_RO` as Redis 7.0's `sortCommandGeneric` does them: load the elements of
//! a list, set or sorted set, weigh them (the element itself, or the key or hash field a
//! `BY` pattern names), sort, cut the `LIMIT` range and answer each element or the values
//! its `GET` patterns name; with `STORE`, replace the destination with a list of them.
//!
//! Reads go through the families' own functions (`list::lrange`, `set::smembers`,
//! `zset::zrange`, `string::get`, `hash::hget`); this module owns only SORT's rules, never
//! an encoding.

use tandem_shared::command::{ListEnd, SortOptions, ZRangeBy};
use tandem_shared::{Reply, StorageError};

use super::{delete_key, hash, list, lookup, set, string, zset, At, CmdResult};
use crate::engine::metadata::KeyType;
use crate::engine::{StoreRead, StoreWrite};

/// Redis's reply when a weight is not a number (`strtod` leaves text, overflows or NaN).
const NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";

/// The outcome of one sort: the values to answer (or store), element by element and `GET`
/// by `GET`; `None` is a missing value.
enum Sorted {
    Values(Vec<Option<Vec<u8>>>),
    NotDouble,
}

/// `SORT`/`SORT_RO` without `STORE`: an array of elements, or of `GET` values (nil when
/// missing).
pub fn sort<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8], opts: &SortOptions) -> CmdResult {
    match run(s, at, key, opts, false)? {
        Sorted::Values(v) => Ok(Reply::Array(
            v.into_iter()
                .map(|x| x.map_or(Reply::Nil, Reply::Bulk))
                .collect(),
        )),
        Sorted::NotDouble => Ok(Reply::Error(NOT_DOUBLE.to_owned())),
    }
}

/// `SORT … STORE dest`: `dest` becomes a list of the values (a missing `GET` value stored
/// as an empty string), whatever it held; no values deletes it. Replies the count.
pub fn sort_store<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    opts: &SortOptions,
    dest: &[u8],
) -> CmdResult {
    let values = match run(&*w, at, key, opts, true)? {
        Sorted::Values(v) => v,
        Sorted::NotDouble => return Ok(Reply::Error(NOT_DOUBLE.to_owned())),
    };
    delete_key(w, at, dest)?;
    let n = values.len();
    if n > 0 {
        let values: Vec<Vec<u8>> = values.into_iter().map(Option::unwrap_or_default).collect();
        list::push(
            w,
            at,
            dest,
            ListEnd::Right,
            values.iter().map(Vec::as_slice),
            false,
        )?;
    }
    Ok(Reply::Integer(i64::try_from(n).unwrap_or(i64::MAX)))
}

/// The bytes C's string functions see: up to the first NUL (Redis's `strchr`, `strstr`,
/// `strtod` and `strcoll` stop there).
fn c_str(b: &[u8]) -> &[u8] {
    b.iter().position(|&c| c == 0).map_or(b, |i| &b[..i])
}

fn elements_of(reply: Reply) -> Vec<Vec<u8>> {
    match reply {
        Reply::Array(items) | Reply::Set(items) => items
            .into_iter()
            .filter_map(|r| match r {
                Reply::Bulk(b) => Some(b),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn run<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    opts: &SortOptions,
    store: bool,
) -> Result<Sorted, StorageError> {
    // One keyspace hit or miss per key looked up, as Redis's `lookupKeyRead`: the family
    // read below counts the hit of a key of the right type.
    let kind = match lookup(s, at, key)? {
        None => {
            note(s, false);
            None
        }
        Some(r) => match r.kind {
            KeyType::List | KeyType::Set | KeyType::ZSet => Some(r.kind),
            _ => {
                note(s, true);
                return Err(StorageError::WrongType);
            }
        },
    };
    let mut by = opts.by.as_deref();
    let mut alpha = opts.alpha;
    // A BY pattern without `*` means "do not sort".
    let mut dontsort = by.is_some_and(|p| !c_str(p).contains(&b'*'));
    // A set has no order of its own: Redis sorts it (ALPHA, by the elements) when it
    // stores the result or runs in a script, so replicas agree. tandem always does, since
    // storaged cannot tell a script's SORT from a client's and any order is right for a
    // client's.
    if dontsort && kind == Some(KeyType::Set) {
        dontsort = false;
        alpha = true;
        by = None;
    }
    let mut elements = match kind {
        None => Vec::new(),
        Some(KeyType::List) => elements_of(list::lrange(s, at, key, 0, -1)?),
        Some(KeyType::Set) => elements_of(set::smembers(s, at, key)?),
        Some(_) => elements_of(zset::zrange(
            s,
            at,
            key,
            &ZRangeBy::Rank { start: 0, stop: -1 },
            false,
            None,
            false,
        )?),
    };
    let len = i64::try_from(elements.len()).unwrap_or(i64::MAX);
    let (offset, count) = opts.limit.unwrap_or((0, -1));
    let mut start = offset.max(0);
    let mut end = if count < 0 {
        len - 1
    } else {
        start.saturating_add(count) - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    if dontsort {
        // Lists and sorted sets keep their order (reversed by DESC); a set its own.
        if opts.desc && kind != Some(KeyType::Set) {
            elements.reverse();
        }
    } else {
        let mut weighed = Vec::with_capacity(elements.len());
        let mut not_double = false;
        for e in elements {
            let w = match by {
                Some(p) => lookup_pattern(s, at, p, &e)?,
                None => None,
            };
            let weight = if alpha {
                Weight::Text(w)
            } else {
                let text = match by {
                    Some(_) => w,
                    None => Some(e.clone()),
                };
                match text.map(|t| strtod(&t)) {
                    Some(None) => {
                        not_double = true;
                        Weight::Number(0.0)
                    }
                    Some(Some(x)) => Weight::Number(x),
                    None => Weight::Number(0.0),
                }
            };
            weighed.push((e, weight));
        }
        if not_double {
            return Ok(Sorted::NotDouble);
        }
        let by_pattern = by.is_some();
        weighed.sort_by(|(a, wa), (b, wb)| {
            let cmp = match (wa, wb) {
                (Weight::Number(x), Weight::Number(y)) => x
                    .partial_cmp(y)
                    .filter(|o| o.is_ne())
                    .unwrap_or_else(|| a.cmp(b)),
                (Weight::Text(x), Weight::Text(y)) if by_pattern => match (x, y) {
                    (None, None) => std::cmp::Ordering::Equal,
                    (None, Some(_)) => std::cmp::Ordering::Less,
                    (Some(_), None) => std::cmp::Ordering::Greater,
                    (Some(x), Some(y)) => collate(x, y, store),
                },
                _ => collate(a, b, store),
            };
            if opts.desc {
                cmp.reverse()
            } else {
                cmp
            }
        });
        elements = weighed.into_iter().map(|(e, _)| e).collect();
    }
    let mut out = Vec::new();
    if end >= start {
        let (a, b) = (
            usize::try_from(start).unwrap_or(0),
            usize::try_from(end).unwrap_or(0),
        );
        for e in elements.get(a..=b).unwrap_or_default() {
            if opts.get.is_empty() {
                out.push(Some(e.clone()));
            }
            for p in &opts.get {
                out.push(lookup_pattern(s, at, p, e)?);
            }
        }
    }
    Ok(Sorted::Values(out))
}

/// What an element is sorted by.
enum Weight {
    Number(f64),
    Text(Option<Vec<u8>>),
}

/// Counts a keyspace hit or miss for a key the family functions do not read.
fn note<S: StoreRead + ?Sized>(s: &S, hit: bool) {
    s.services().stats().note_lookup(hit);
}

/// Redis compares binary-safe (`memcmp`) when storing and with `strcoll` (the C locale's
/// `strcmp`, which stops at a NUL) when answering.
fn collate(a: &[u8], b: &[u8], store: bool) -> std::cmp::Ordering {
    if store {
        a.cmp(b)
    } else {
        c_str(a).cmp(c_str(b))
    }
}

/// Redis's `lookupKeyByPattern`: `#` is the element itself; otherwise the first `*` is
/// replaced by the element, and a `->field` after it reads that field of a hash. A pattern
/// without `*`, a missing key or one of another type gives `None`.
fn lookup_pattern<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    pattern: &[u8],
    element: &[u8],
) -> Result<Option<Vec<u8>>, StorageError> {
    let cp = c_str(pattern);
    if cp == b"#" {
        return Ok(Some(element.to_vec()));
    }
    let Some(star) = cp.iter().position(|&c| c == b'*') else {
        return Ok(None);
    };
    let after = &cp[star + 1..];
    let field = after
        .windows(2)
        .position(|w| w == b"->")
        .filter(|&i| i + 2 < after.len())
        .map(|i| star + 1 + i);
    let (key_end, field) = match field {
        // The field runs to the pattern's real end, NULs included, as Redis copies it.
        Some(arrow) => (arrow, Some(&pattern[arrow + 2..])),
        None => (pattern.len(), None),
    };
    let mut key = Vec::with_capacity(key_end + element.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(element);
    key.extend_from_slice(&pattern[star + 1..key_end]);
    let Some(r) = lookup(s, at, &key)? else {
        note(s, false);
        return Ok(None);
    };
    let reply = match (field, r.kind) {
        (Some(f), KeyType::Hash) => hash::hget(s, at, &key, f)?,
        (None, KeyType::String) => string::get(s, at, &key)?,
        _ => {
            note(s, true);
            return Ok(None);
        }
    };
    Ok(match reply {
        Reply::Bulk(b) => Some(b),
        _ => None,
    })
}

/// A weight as Redis reads it with `strtod`: leading spaces allowed, nothing after the
/// number (up to a NUL), an empty string is 0; NaN, an overflow or underflow (`ERANGE`)
/// is `None`.
fn strtod(raw: &[u8]) -> Option<f64> {
    let t = c_str(raw);
    if t.is_empty() {
        return Some(0.0);
    }
    let lead = t
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))?;
    let text = std::str::from_utf8(&t[lead..]).ok()?;
    let lower = text.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    if lower.len() - unsigned.len() > 1 {
        return None;
    }
    let v: f64 = if let Some(hex) = unsigned.strip_prefix("0x") {
        let m = hex_float(hex)?;
        if lower.starts_with('-') {
            -m
        } else {
            m
        }
    } else {
        if !unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == 'i' || c == 'n') {
            return None;
        }
        lower.parse().ok()?
    };
    if v.is_nan() {
        return None;
    }
    let literal_inf = unsigned.starts_with("inf");
    if v.is_infinite() && !literal_inf {
        return None;
    }
    let mantissa = unsigned.split(['e', 'p']).next().unwrap_or_default();
    let nonzero = mantissa
        .trim_start_matches("0x")
        .chars()
        .any(|c| c.is_ascii_hexdigit() && c != '0');
    if (v == 0.0 && nonzero) || (v != 0.0 && v.abs() < f64::MIN_POSITIVE) {
        return None;
    }
    Some(v)
}

/// The digits of a C hex float after `0x` (`1.8p3`).
fn hex_float(hex: &str) -> Option<f64> {
    let (mantissa, exp) = match hex.split_once('p') {
        Some((m, e)) => (m, Some(e)),
        None => (hex, None),
    };
    let mut v = 0f64;
    let mut scale = 0i32;
    let mut seen_point = false;
    let mut digits = 0;
    for c in mantissa.chars() {
        if c == '.' && !seen_point {
            seen_point = true;
            continue;
        }
        v = v * 16.0 + f64::from(c.to_digit(16)?);
        digits += 1;
        if seen_point {
            scale -= 4;
        }
    }
    if digits == 0 {
        return None;
    }
    let e: i32 = match exp {
        Some(e) => e.parse().ok()?,
        None => 0,
    };
    Some(v * 2f64.powi(scale.saturating_add(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtod_as_c() {
        assert_eq!(strtod(b""), Some(0.0));
        assert_eq!(strtod(b"  1.5"), Some(1.5));
        assert_eq!(strtod(b"1.5 "), None);
        assert_eq!(strtod(b"   "), None);
        assert_eq!(strtod(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(strtod(b"nan"), None);
        assert_eq!(strtod(b"1e400"), None);
        assert_eq!(strtod(b"1e-400"), None);
        assert_eq!(strtod(b"0x1p3"), Some(8.0));
        assert_eq!(strtod(b"7\0junk"), Some(7.0));
        assert_eq!(strtod(b"abc"), None);
        assert_eq!(strtod(b"--1"), None);
    }
}
