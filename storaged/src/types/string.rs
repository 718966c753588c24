//! String commands (`GET`, `SET`, `INCRBY`, `APPEND`, `LCS` …) with Redis 7 semantics.
//!
//! Where the bytes live (inline in the metadata record, or in chunk sub-keys for values
//! over 64 KiB) is [`super::string_value`]'s business: every read and write of a value
//! goes through it, so `APPEND`, `SETRANGE`, `GETRANGE` and `STRLEN` cost what they touch,
//! not the whole value. Every write goes through [`super::store_record`]/
//! [`super::remove_record`] so counters stay right. Integer and float parsing follow
//! Redis's `string2ll` and `string2ld`; see [`incr_by_float`] for the one known precision
//! difference.

use tandem_shared::{GetExExpiry, LcsMode, Reply, SetCondition, SetExpiry, StorageError};

use super::string_value as value;
use super::{
    lookup_read, lookup_write, remove_record, store_record, At, CmdResult, MAX_STRING_LEN,
};
use crate::engine::metadata::{KeyType, Record};
use crate::engine::{StoreRead, StoreWrite};

/// A live record that must be a string: `WrongType` for another type.
fn string_record(r: Option<Record>) -> Result<Option<Record>, StorageError> {
    match r {
        Some(r) if r.kind != KeyType::String => Err(StorageError::WrongType),
        other => Ok(other),
    }
}

/// `GET`.
pub fn get<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8]) -> CmdResult {
    match string_record(lookup_read(s, at, key)?)? {
        None => Ok(Reply::Nil),
        Some(r) => Ok(Reply::Bulk(value::read_all(s, at.db, key, r)?)),
    }
}

/// `MGET`: a non-string key reads as nil, as in Redis.
pub fn mget<'k, S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    keys: impl Iterator<Item = &'k [u8]>,
) -> CmdResult {
    let mut out = Vec::new();
    for key in keys {
        out.push(match lookup_read(s, at, key)? {
            Some(r) if r.kind == KeyType::String => Reply::Bulk(value::read_all(s, at.db, key, r)?),
            _ => Reply::Nil,
        });
    }
    Ok(Reply::Array(out))
}

/// `STRLEN`: the metadata record alone, whatever the value's size.
pub fn strlen<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8]) -> CmdResult {
    let len = string_record(lookup_read(s, at, key)?)?.map_or(0, |r| value::len(&r));
    Ok(Reply::Integer(len as i64))
}

/// `GETRANGE` with Redis 7.0's clamping (a missing key is an empty string); reads only
/// the chunks the range covers.
pub fn getrange<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    start: i64,
    end: i64,
) -> CmdResult {
    let Some(r) = string_record(lookup_read(s, at, key)?)? else {
        return Ok(Reply::Bulk(Vec::new()));
    };
    Ok(Reply::Bulk(
        match range_bounds(value::len(&r), start, end) {
            Some((from, to)) => value::read(s, at.db, key, &r, from, to)?,
            None => Vec::new(),
        },
    ))
}

/// The bytes `[from, to)` that `GETRANGE start end` selects from a value of `len` bytes,
/// `None` for an empty reply.
fn range_bounds(len: u64, mut start: i64, mut end: i64) -> Option<(u64, u64)> {
    let len = len as i64;
    if start < 0 && end < 0 && start > end {
        return None;
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return None;
    }
    Some((start as u64, end as u64 + 1))
}

/// What `SET` needs beyond key and value.
#[derive(Debug, Clone, Copy)]
pub struct SetOptions {
    pub condition: SetCondition,
    pub expiry: SetExpiry,
    /// `GET`: reply with the old value (and refuse a non-string old value).
    pub get: bool,
}

impl SetOptions {
    /// A plain `SET key value`: always, clearing any TTL, replying OK.
    pub const PLAIN: SetOptions = SetOptions {
        condition: SetCondition::Always,
        expiry: SetExpiry::Clear,
        get: false,
    };
}

/// `SET` (and `SETEX`, `PSETEX`, `GETSET`).
pub fn set<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    new_value: &[u8],
    opts: SetOptions,
) -> CmdResult {
    let old = lookup_write(w, at, key)?;
    let old_value = if opts.get {
        w.services().stats().note_lookup(old.is_some());
        match &old {
            Some(r) if r.kind != KeyType::String => return Err(StorageError::WrongType),
            Some(r) => Reply::Bulk(value::read_all(w, at.db, key, r.clone())?),
            None => Reply::Nil,
        }
    } else {
        Reply::ok()
    };
    let allowed = match opts.condition {
        SetCondition::Always => true,
        SetCondition::IfAbsent => old.is_none(),
        SetCondition::IfPresent => old.is_some(),
    };
    if !allowed {
        return Ok(if opts.get { old_value } else { Reply::Nil });
    }
    let expire_at = match opts.expiry {
        SetExpiry::Clear => 0,
        SetExpiry::Keep => old.as_ref().map_or(0, |r| r.expire_at_ms),
        SetExpiry::At(t) => {
            if t <= at.now_ms as i64 {
                // Already expired: Redis replies as if it set the key, and the key is gone
                // (deleted, not counted as expired).
                remove_record(w, at.db, key, old.as_ref());
                return Ok(old_value);
            }
            t as u64
        }
    };
    value::store_new(w, at.db, key, old.as_ref(), new_value, expire_at);
    Ok(old_value)
}

/// Replaces the value of an existing inline string in place (same version and expiry:
/// INCR and friends), or creates it. `old` is never chunked here: a chunked value is no
/// number, so the callers refused it.
fn replace_small<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    old: Option<Record>,
    new_value: Vec<u8>,
) {
    match old {
        Some(old) => {
            let new = Record {
                size: new_value.len() as u64,
                payload: new_value,
                ..old.clone()
            };
            store_record(w, at.db, key, Some(&old), &new);
        }
        None => value::store_new(w, at.db, key, None, &new_value, 0),
    }
}

/// `SETNX`: 1 if set, 0 if the key existed.
pub fn setnx<W: StoreWrite + ?Sized>(w: &mut W, at: At, key: &[u8], new_value: &[u8]) -> CmdResult {
    if lookup_write(w, at, key)?.is_some() {
        return Ok(Reply::Integer(0));
    }
    value::store_new(w, at.db, key, None, new_value, 0);
    Ok(Reply::Integer(1))
}

/// `MSET`.
pub fn mset<'k, W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    pairs: impl Iterator<Item = (&'k [u8], &'k [u8])>,
) -> CmdResult {
    for (key, new_value) in pairs {
        let old = lookup_write(w, at, key)?;
        value::store_new(w, at.db, key, old.as_ref(), new_value, 0);
    }
    Ok(Reply::ok())
}

/// `MSETNX`: all or nothing.
pub fn msetnx<'k, W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    pairs: impl Iterator<Item = (&'k [u8], &'k [u8])> + Clone,
) -> CmdResult {
    for (key, _) in pairs.clone() {
        if lookup_write(w, at, key)?.is_some() {
            return Ok(Reply::Integer(0));
        }
    }
    for (key, new_value) in pairs {
        // A repeated key: the later value wins, as in Redis.
        let old = super::raw_record(w, at.db, key)?;
        value::store_new(w, at.db, key, old.as_ref(), new_value, 0);
    }
    Ok(Reply::Integer(1))
}

/// `GETDEL`.
pub fn getdel<W: StoreWrite + ?Sized>(w: &mut W, at: At, key: &[u8]) -> CmdResult {
    let old = lookup_write(w, at, key)?;
    w.services().stats().note_lookup(old.is_some());
    match string_record(old)? {
        None => Ok(Reply::Nil),
        Some(r) => {
            remove_record(w, at.db, key, Some(&r));
            // The chunks (if any) stay readable under the old version until compaction.
            Ok(Reply::Bulk(value::read_all(w, at.db, key, r)?))
        }
    }
}

/// `GETEX`.
pub fn getex<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    expiry: GetExExpiry,
) -> CmdResult {
    let old = lookup_write(w, at, key)?;
    w.services().stats().note_lookup(old.is_some());
    let Some(r) = string_record(old)? else {
        return Ok(Reply::Nil);
    };
    match expiry {
        GetExExpiry::Unchanged => {}
        GetExExpiry::Persist => {
            if r.expire_at_ms != 0 {
                let new = Record {
                    expire_at_ms: 0,
                    ..r.clone()
                };
                store_record(w, at.db, key, Some(&r), &new);
            }
        }
        GetExExpiry::At(t) if t <= at.now_ms as i64 => remove_record(w, at.db, key, Some(&r)),
        GetExExpiry::At(t) => {
            let new = Record {
                expire_at_ms: t as u64,
                ..r.clone()
            };
            store_record(w, at.db, key, Some(&r), &new);
        }
    }
    Ok(Reply::Bulk(value::read_all(w, at.db, key, r)?))
}

/// `APPEND`: the new length. Writes only the last chunk(s) of a chunked value.
pub fn append<W: StoreWrite + ?Sized>(w: &mut W, at: At, key: &[u8], tail: &[u8]) -> CmdResult {
    let old = string_record(lookup_write(w, at, key)?)?;
    let old_len = old.as_ref().map_or(0, value::len);
    if old_len + tail.len() as u64 > MAX_STRING_LEN {
        return Err(StorageError::StringTooLong);
    }
    let len = value::write_at(w, at.db, key, old, old_len, tail)?;
    Ok(Reply::Integer(len as i64))
}

/// `SETRANGE`: the new length; zero-pads, and never creates a key for an empty value.
/// Writes only the chunks the range covers (a far offset leaves the gap unwritten: it
/// reads as zeros).
pub fn setrange<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    offset: u64,
    patch: &[u8],
) -> CmdResult {
    let old = string_record(lookup_write(w, at, key)?)?;
    if patch.is_empty() {
        return Ok(Reply::Integer(old.map_or(0, |r| value::len(&r) as i64)));
    }
    let end = offset
        .checked_add(patch.len() as u64)
        .ok_or(StorageError::StringTooLong)?;
    if end > MAX_STRING_LEN {
        return Err(StorageError::StringTooLong);
    }
    let len = value::write_at(w, at.db, key, old, offset, patch)?;
    Ok(Reply::Integer(len as i64))
}

/// `INCRBY` family. A chunked value (over 64 KiB) is refused unread: no integer is that
/// long.
pub fn incr_by<W: StoreWrite + ?Sized>(w: &mut W, at: At, key: &[u8], delta: i64) -> CmdResult {
    let old = string_record(lookup_write(w, at, key)?)?;
    let current = match &old {
        None => 0,
        Some(r) if r.is_chunked() => return Err(StorageError::NotInteger),
        Some(r) => parse_i64(&r.payload).ok_or(StorageError::NotInteger)?,
    };
    let next = current.checked_add(delta).ok_or(StorageError::Overflow)?;
    replace_small(w, at, key, old, next.to_string().into_bytes());
    Ok(Reply::Integer(next))
}

/// Redis's `string2ll`: an optional `-`, then `0` or a digit string without leading
/// zeros, fitting an `i64`. No spaces, no `+`, no `-0`.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        let d = i64::from(b - b'0');
        v = v.checked_mul(10)?;
        v = if neg {
            v.checked_sub(d)?
        } else {
            v.checked_add(d)?
        };
    }
    Some(v)
}

/// `INCRBYFLOAT`.
///
/// Redis parses both numbers with `strtold`, adds them in x86-64 `long double` (80-bit,
/// 64-bit mantissa) and prints `%.17Lf` with trailing zeros trimmed, binary rounding noise
/// included (`5005.60000000000000009`). This emulates exactly that ([`long_double`]). The
/// increment arrives as an `f64`; its shortest round-trip text (the client's text whenever
/// that had at most 17 significant digits) is what gets parsed, so `0.1 + 0.2` is `0.3` as
/// in Redis. Hexadecimal float syntax (`0x1p3`), which `strtold` accepts, is refused as not
/// a float, and subnormal long doubles keep full precision.
pub fn incr_by_float<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    delta: f64,
) -> CmdResult {
    if !delta.is_finite() {
        return Err(StorageError::NanOrInfinity);
    }
    incr_by_float_text(w, at, key, format!("{delta:e}").as_bytes())
}

/// `INCRBYFLOAT` with the increment as the client sent it, parsed like Redis's
/// `string2ld`: exact for every input (the `f64` form loses digits past the 17th, e.g.
/// `123456789012345678`).
pub fn incr_by_float_text<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    delta: &[u8],
) -> CmdResult {
    let old = string_record(lookup_write(w, at, key)?)?;
    let current = match &old {
        None => Number::Finite(Decimal::zero()),
        // Longer than any float text (5 KiB): refused unread.
        Some(r) if r.is_chunked() => return Err(StorageError::NotFloat),
        Some(r) => parse_long_double(&r.payload).ok_or(StorageError::NotFloat)?,
    };
    let delta = parse_long_double(delta).ok_or(StorageError::NotFloat)?;
    let (Number::Finite(current), Number::Finite(delta)) = (current, delta) else {
        return Err(StorageError::NanOrInfinity);
    };
    let (Some(a), Some(b)) = (current.to_f80(), delta.to_f80()) else {
        return Err(StorageError::NotFloat);
    };
    let sum = long_double::F80::add(a, b).ok_or(StorageError::NanOrInfinity)?;
    let text = sum.to_fixed_17();
    replace_small(w, at, key, old, text.clone().into_bytes());
    Ok(Reply::Bulk(text.into_bytes()))
}

/// The `long double` sum Redis computes for `INCRBYFLOAT`-style commands, printed as
/// `INCRBYFLOAT` prints it: `current` (absent counts as 0) plus `delta`, both as text.
/// `HINCRBYFLOAT` shares it; `not_float` is the error for an unparsable `current`.
///
/// # Errors
/// `not_float` for a bad `current`, [`StorageError::NotFloat`] for a bad `delta`,
/// [`StorageError::NanOrInfinity`] when either side or the sum is infinite.
pub(crate) fn add_long_double_text(
    current: Option<&[u8]>,
    delta: &[u8],
    not_float: StorageError,
) -> Result<String, StorageError> {
    let current = match current {
        None => Number::Finite(Decimal::zero()),
        Some(text) => parse_long_double(text).ok_or(not_float.clone())?,
    };
    let delta = parse_long_double(delta).ok_or(StorageError::NotFloat)?;
    let (Number::Finite(current), Number::Finite(delta)) = (current, delta) else {
        return Err(StorageError::NanOrInfinity);
    };
    let a = current.to_f80().ok_or(not_float)?;
    let b = delta.to_f80().ok_or(StorageError::NotFloat)?;
    let sum = long_double::F80::add(a, b).ok_or(StorageError::NanOrInfinity)?;
    Ok(sum.to_fixed_17())
}

/// Decimal exponent of `LDBL_MAX` (≈ 1.19e4932): larger sums are infinite in Redis.
const LDBL_MAX_EXP10: i64 = 4932;
/// Below this decimal exponent `strtold` underflows to zero and Redis refuses the value.
const LDBL_MIN_EXP10: i64 = -4951;
/// Redis's `MAX_LONG_DOUBLE_CHARS`: longer strings are not floats.
const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

/// A parsed `strtold` result.
#[derive(Debug, PartialEq)]
enum Number {
    Finite(Decimal),
    Infinite,
}

/// An exact decimal: `(-1)^neg × digits × 10^exp`, digits most significant first.
#[derive(Debug, Clone, PartialEq)]
struct Decimal {
    neg: bool,
    digits: Vec<u8>,
    exp: i64,
}

impl Decimal {
    fn zero() -> Decimal {
        Decimal {
            neg: false,
            digits: Vec::new(),
            exp: 0,
        }
    }

    fn normalized(mut self) -> Decimal {
        let lead = self.digits.iter().take_while(|&&d| d == 0).count();
        self.digits.drain(..lead);
        while self.digits.last() == Some(&0) {
            self.digits.pop();
            self.exp += 1;
        }
        if self.digits.is_empty() {
            return Decimal::zero();
        }
        self
    }

    /// Exponent of the leading digit (value in `[10^e, 10^(e+1))`), `None` for zero.
    fn magnitude_exponent(&self) -> Option<i64> {
        if self.digits.is_empty() {
            None
        } else {
            Some(self.exp + self.digits.len() as i64 - 1)
        }
    }

    /// The nearest 80-bit long double, `None` on overflow or total underflow.
    fn to_f80(&self) -> Option<long_double::F80> {
        long_double::F80::from_decimal(self.neg, &self.digits, self.exp)
    }
}

/// Redis's `string2ld`: what `strtold` accepts over the whole string, no leading space,
/// neither overflow nor total underflow, not NaN. (Hex floats are not supported here.)
fn parse_long_double(s: &[u8]) -> Option<Number> {
    if s.is_empty() || s.len() >= MAX_LONG_DOUBLE_CHARS {
        return None;
    }
    // strtold stops at an embedded NUL, and Redis then requires the parse to have used
    // all `slen` bytes: any NUL makes the text no float ("-1\0\0" included).
    if s.contains(&0) {
        return None;
    }
    if s[0].is_ascii_whitespace() || s[0] == 0x0b {
        return None;
    }
    let (neg, body) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    if lower == b"inf" || lower == b"infinity" {
        return Some(Number::Infinite);
    }
    let mut digits = Vec::new();
    let mut exp: i64 = 0;
    let mut i = 0;
    let mut seen_digit = false;
    while i < body.len() && body[i].is_ascii_digit() {
        digits.push(body[i] - b'0');
        seen_digit = true;
        i += 1;
    }
    if i < body.len() && body[i] == b'.' {
        i += 1;
        while i < body.len() && body[i].is_ascii_digit() {
            digits.push(body[i] - b'0');
            exp -= 1;
            seen_digit = true;
            i += 1;
        }
    }
    if !seen_digit {
        return None;
    }
    if i < body.len() && (body[i] == b'e' || body[i] == b'E') {
        i += 1;
        let eneg = match body.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        let mut e: i64 = 0;
        while i < body.len() && body[i].is_ascii_digit() {
            // Saturate: anything this large over- or underflows a long double anyway.
            e = (e * 10 + i64::from(body[i] - b'0')).min(1_000_000_000);
            i += 1;
        }
        if i == start {
            return None;
        }
        exp += if eneg { -e } else { e };
    }
    if i != body.len() {
        return None;
    }
    let d = Decimal { neg, digits, exp }.normalized();
    match d.magnitude_exponent() {
        Some(e) if !(LDBL_MIN_EXP10..=LDBL_MAX_EXP10).contains(&e) => None,
        _ => Some(Number::Finite(d)),
    }
}

/// `LCS`.
pub fn lcs<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key1: &[u8],
    key2: &[u8],
    mode: LcsMode,
) -> CmdResult {
    let record = |key: &[u8]| -> Result<Option<Record>, StorageError> {
        match lookup_read(s, at, key)? {
            Some(r) if r.kind != KeyType::String => Err(StorageError::LcsNotString),
            other => Ok(other),
        }
    };
    let (r1, r2) = (record(key1)?, record(key2)?);
    // Refuse a table too large from the lengths alone, before reading any chunk.
    if !lcs_fits(
        r1.as_ref().map_or(0, value::len),
        r2.as_ref().map_or(0, value::len),
    ) {
        return Err(StorageError::LcsTooLarge);
    }
    let fetch = |key: &[u8], r: Option<Record>| match r {
        Some(r) => value::read_all(s, at.db, key, r),
        None => Ok(Vec::new()),
    };
    let a = fetch(key1, r1)?;
    let b = fetch(key2, r2)?;
    lcs_reply(&a, &b, mode)
}

/// The bytes `LCS key1 key2` will hold at once (its table and both values), judged from the
/// keys' metadata alone so a caller can wait for that much memory before running it. 0 when
/// it fails before allocating: a key of another type, or a table over the limit. A missing
/// key counts as empty, as in LCS itself.
pub fn lcs_memory<S: StoreRead + ?Sized>(s: &S, at: At, key1: &[u8], key2: &[u8]) -> u64 {
    let len = |key: &[u8]| match lookup_read(s, at, key) {
        Ok(Some(r)) if r.kind == KeyType::String => Some(value::len(&r)),
        Ok(None) => Some(0),
        _ => None,
    };
    match (len(key1), len(key2)) {
        (Some(a), Some(b)) if lcs_fits(a, b) => (a + 1) * (b + 1) * 4 + a + b,
        _ => 0,
    }
}

/// Whether the LCS table of strings of these lengths (4 bytes a cell) stays within the
/// string size limit, as Redis requires.
fn lcs_fits(alen: u64, blen: u64) -> bool {
    let cells = (u128::from(alen) + 1) * (u128::from(blen) + 1);
    cells * 4 <= u128::from(MAX_STRING_LEN)
}

/// The algorithm and reply shapes of Redis's `lcsCommand`, including the order in which
/// IDX ranges are emitted (from the end of the strings).
fn lcs_reply(a: &[u8], b: &[u8], mode: LcsMode) -> CmdResult {
    let (alen, blen) = (a.len(), b.len());
    if !lcs_fits(alen as u64, blen as u64) {
        return Err(StorageError::LcsTooLarge);
    }
    let cells = (alen as u128 + 1) * (blen as u128 + 1);
    let width = blen + 1;
    let mut table = vec![0u32; cells as usize];
    let at = |i: usize, j: usize| j + i * width;
    for i in 1..=alen {
        for j in 1..=blen {
            table[at(i, j)] = if a[i - 1] == b[j - 1] {
                table[at(i - 1, j - 1)] + 1
            } else {
                table[at(i - 1, j)].max(table[at(i, j - 1)])
            };
        }
    }
    let total = table[at(alen, blen)];
    let (get_idx, min_match, with_len) = match mode {
        LcsMode::Indexes {
            min_match_len,
            with_match_len,
        } => (true, min_match_len, with_match_len),
        _ => (false, 0, false),
    };
    if matches!(mode, LcsMode::Length) {
        return Ok(Reply::Integer(i64::from(total)));
    }
    let mut result = vec![0u8; total as usize];
    let mut idx = total as usize;
    let mut matches = Vec::new();
    // `alen` in arange_start means "no range open", as in Redis.
    let (mut arange_start, mut arange_end, mut brange_start, mut brange_end) = (alen, 0, 0, 0);
    let (mut i, mut j) = (alen, blen);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            result[idx - 1] = a[i - 1];
            if arange_start == alen {
                arange_start = i - 1;
                arange_end = i - 1;
                brange_start = j - 1;
                brange_end = j - 1;
            } else if arange_start == i && brange_start == j {
                arange_start -= 1;
                brange_start -= 1;
            } else {
                emit = true;
            }
            if arange_start == 0 || brange_start == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[at(i - 1, j)] > table[at(i, j - 1)] {
                i -= 1;
            } else {
                j -= 1;
            }
            if arange_start != alen {
                emit = true;
            }
        }
        if emit {
            let match_len = (arange_end - arange_start + 1) as u64;
            if get_idx && (min_match == 0 || match_len >= min_match) {
                let mut entry = vec![
                    Reply::Array(vec![
                        Reply::Integer(arange_start as i64),
                        Reply::Integer(arange_end as i64),
                    ]),
                    Reply::Array(vec![
                        Reply::Integer(brange_start as i64),
                        Reply::Integer(brange_end as i64),
                    ]),
                ];
                if with_len {
                    entry.push(Reply::Integer(match_len as i64));
                }
                matches.push(Reply::Array(entry));
            }
            arange_start = alen;
        }
    }
    if get_idx {
        return Ok(Reply::Map(vec![
            (Reply::bulk("matches"), Reply::Array(matches)),
            (Reply::bulk("len"), Reply::Integer(i64::from(total))),
        ]));
    }
    Ok(Reply::Bulk(result))
}

/// A software x86-64 `long double` (sign, 64-bit mantissa, binary exponent): exactly the
/// arithmetic Redis's `INCRBYFLOAT` does, with correctly rounded (half-even) decimal
/// parsing, addition and `%.17Lf` printing, over a small unsigned bignum.
mod long_double {
    use std::cmp::Ordering;

    /// Largest binary exponent of the top mantissa bit (`LDBL_MAX < 2^16384`).
    const MAX_TOP_EXP: i64 = 16383;
    /// Smallest binary exponent of a (subnormal) long double's top bit.
    const MIN_TOP_EXP: i64 = -16445;

    /// `(-1)^neg × m × 2^e`; `m == 0` is zero, otherwise bit 63 of `m` is set.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct F80 {
        neg: bool,
        m: u64,
        e: i64,
    }

    impl F80 {
        fn zero() -> F80 {
            F80 {
                neg: false,
                m: 0,
                e: 0,
            }
        }

        fn checked(self) -> Option<F80> {
            if self.m == 0 {
                return Some(self);
            }
            let top = self.e + 63;
            (MIN_TOP_EXP..=MAX_TOP_EXP).contains(&top).then_some(self)
        }

        /// The long double nearest `(-1)^neg × digits × 10^exp10` (`digits` most
        /// significant first), `None` when it overflows or underflows to zero.
        pub fn from_decimal(neg: bool, digits: &[u8], exp10: i64) -> Option<F80> {
            let mut d = Big::zero();
            for &digit in digits {
                d.mul_small(10);
                d.add_small(u64::from(digit));
            }
            if d.is_zero() {
                return Some(F80::zero());
            }
            let (m, shift) = if exp10 >= 0 {
                let mut n = d;
                n.mul_pow10(exp10 as u64);
                round64(&n, false)
            } else {
                let mut p = Big::from_u64(1);
                p.mul_pow10(exp10.unsigned_abs());
                // Scale so the quotient has 66 or more bits: 64 kept plus rounding bits.
                let s = (66 + p.bit_len() as i64 - d.bit_len() as i64).max(0) as u64;
                let (q, r) = d.shl(s).div_rem(&p);
                let (m, shift) = round64(&q, !r.is_zero());
                (m, shift - s as i64)
            };
            F80 { neg, m, e: shift }.checked()
        }

        /// `a + b` rounded half-even, `None` when the sum overflows.
        pub fn add(a: F80, b: F80) -> Option<F80> {
            if a.m == 0 {
                return Some(b);
            }
            if b.m == 0 {
                return Some(a);
            }
            let (x, y) = if (a.e, a.m) >= (b.e, b.m) {
                (a, b)
            } else {
                (b, a)
            };
            let d = (x.e - y.e) as u64;
            // 62 guard bits below the mantissa; bits shifted out of y survive as a sticky
            // bit 0, which is enough for correct rounding.
            let xa = u128::from(x.m) << 62;
            let ys = u128::from(y.m) << 62;
            let yb = if d >= 126 {
                1
            } else {
                let lost = d > 0 && ys & ((1u128 << d) - 1) != 0;
                (ys >> d) | u128::from(lost)
            };
            let base = x.e - 62;
            let sum = if x.neg == y.neg { xa + yb } else { xa - yb };
            if sum == 0 {
                return Some(F80::zero());
            }
            let top = 127 - sum.leading_zeros() as i64;
            let (mut m, mut e) = if top >= 63 {
                let sh = (top - 63) as u32;
                let mut m = sum >> sh;
                if sh > 0 {
                    let rem = sum & ((1u128 << sh) - 1);
                    let half = 1u128 << (sh - 1);
                    if rem > half || (rem == half && m & 1 == 1) {
                        m += 1;
                    }
                }
                (m, base + i64::from(sh))
            } else {
                let sh = (63 - top) as u32;
                (sum << sh, base - i64::from(sh))
            };
            if m >> 64 != 0 {
                m >>= 1;
                e += 1;
            }
            F80 {
                neg: x.neg,
                m: m as u64,
                e,
            }
            .checked()
        }

        /// glibc's `%.17Lf`, then Redis's trimming: trailing fractional zeros and a bare
        /// `.` removed, `-0` printed as `0`.
        pub fn to_fixed_17(self) -> String {
            if self.m == 0 {
                return "0".to_owned();
            }
            let mut n = Big::from_u64(self.m);
            n.mul_small(100_000_000_000_000_000); // 10^17
            let q = if self.e >= 0 {
                n.shl(self.e as u64)
            } else {
                let sh = self.e.unsigned_abs();
                let mut q = n.shr(sh);
                let half = n.bit(sh - 1);
                let sticky = n.any_below(sh - 1);
                if half && (sticky || q.bit(0)) {
                    q.add_small(1);
                }
                q
            };
            let mut digits = q.to_decimal();
            while digits.len() < 18 {
                digits.insert(0, '0');
            }
            let (int, frac) = digits.split_at(digits.len() - 17);
            let frac = frac.trim_end_matches('0');
            let mut out = String::with_capacity(digits.len() + 2);
            if self.neg {
                out.push('-');
            }
            out.push_str(int);
            if !frac.is_empty() {
                out.push('.');
                out.push_str(frac);
            }
            if out == "-0" {
                out = "0".to_owned();
            }
            out
        }
    }

    /// Rounds `n` to 64 significant bits (half-even; `sticky` says the true value is a
    /// little above `n`): `n ≈ m × 2^shift`.
    fn round64(n: &Big, sticky: bool) -> (u64, i64) {
        let bits = n.bit_len();
        if bits <= 64 {
            // Exact; `sticky` cannot matter as callers scale to 66+ bits first.
            let v = n.low_u64();
            let sh = 64 - bits;
            return (v << sh, -(sh as i64));
        }
        let sh = bits - 64;
        let mut q = n.shr(sh).low_u64() as u128;
        let half = n.bit(sh - 1);
        let below = sticky || n.any_below(sh - 1);
        if half && (below || q & 1 == 1) {
            q += 1;
        }
        let mut shift = sh as i64;
        if q >> 64 != 0 {
            q >>= 1;
            shift += 1;
        }
        (q as u64, shift)
    }

    /// Unsigned bignum, little-endian 64-bit limbs, no high zero limbs.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Big(Vec<u64>);

    impl Big {
        fn zero() -> Big {
            Big(Vec::new())
        }

        fn from_u64(v: u64) -> Big {
            let mut b = Big(vec![v]);
            b.trim();
            b
        }

        fn trim(&mut self) {
            while self.0.last() == Some(&0) {
                self.0.pop();
            }
        }

        fn is_zero(&self) -> bool {
            self.0.is_empty()
        }

        fn low_u64(&self) -> u64 {
            self.0.first().copied().unwrap_or(0)
        }

        fn bit_len(&self) -> u64 {
            match self.0.last() {
                None => 0,
                Some(&top) => self.0.len() as u64 * 64 - u64::from(top.leading_zeros()),
            }
        }

        fn bit(&self, i: u64) -> bool {
            let limb = (i / 64) as usize;
            self.0.get(limb).is_some_and(|l| (l >> (i % 64)) & 1 == 1)
        }

        /// Whether any of bits `0..n` is set.
        fn any_below(&self, n: u64) -> bool {
            let full = (n / 64) as usize;
            if self.0.iter().take(full).any(|&l| l != 0) {
                return true;
            }
            let rem = n % 64;
            rem > 0
                && self
                    .0
                    .get(full)
                    .is_some_and(|&l| l & ((1u64 << rem) - 1) != 0)
        }

        fn mul_small(&mut self, m: u64) {
            let mut carry = 0u128;
            for limb in &mut self.0 {
                let v = u128::from(*limb) * u128::from(m) + carry;
                *limb = v as u64;
                carry = v >> 64;
            }
            if carry != 0 {
                self.0.push(carry as u64);
            }
            self.trim();
        }

        fn add_small(&mut self, a: u64) {
            let mut carry = a;
            for limb in &mut self.0 {
                if carry == 0 {
                    return;
                }
                let (v, overflow) = limb.overflowing_add(carry);
                *limb = v;
                carry = u64::from(overflow);
            }
            if carry != 0 {
                self.0.push(carry);
            }
        }

        fn mul_pow10(&mut self, mut k: u64) {
            const TEN19: u64 = 10_000_000_000_000_000_000;
            while k >= 19 {
                self.mul_small(TEN19);
                k -= 19;
            }
            self.mul_small(10u64.pow(k as u32));
        }

        fn shl(&self, n: u64) -> Big {
            if self.is_zero() {
                return Big::zero();
            }
            let (limbs, bits) = ((n / 64) as usize, (n % 64) as u32);
            let mut out = vec![0u64; limbs];
            let mut carry = 0u64;
            for &l in &self.0 {
                if bits == 0 {
                    out.push(l);
                } else {
                    out.push((l << bits) | carry);
                    carry = l >> (64 - bits);
                }
            }
            if carry != 0 {
                out.push(carry);
            }
            let mut b = Big(out);
            b.trim();
            b
        }

        fn shr(&self, n: u64) -> Big {
            let (limbs, bits) = ((n / 64) as usize, (n % 64) as u32);
            if limbs >= self.0.len() {
                return Big::zero();
            }
            let src = &self.0[limbs..];
            let mut out = Vec::with_capacity(src.len());
            for i in 0..src.len() {
                let lo = src[i] >> bits;
                let hi = if bits == 0 {
                    0
                } else {
                    src.get(i + 1).map_or(0, |&h| h << (64 - bits))
                };
                out.push(lo | hi);
            }
            let mut b = Big(out);
            b.trim();
            b
        }

        fn cmp_big(&self, o: &Big) -> Ordering {
            self.0
                .len()
                .cmp(&o.0.len())
                .then_with(|| self.0.iter().rev().cmp(o.0.iter().rev()))
        }

        fn sub_assign(&mut self, o: &Big) {
            let mut borrow = false;
            for i in 0..self.0.len() {
                let b = o.0.get(i).copied().unwrap_or(0);
                let (v1, o1) = self.0[i].overflowing_sub(b);
                let (v2, o2) = v1.overflowing_sub(u64::from(borrow));
                self.0[i] = v2;
                borrow = o1 || o2;
            }
            self.trim();
        }

        /// Schoolbook binary division; the quotients used here are short.
        fn div_rem(&self, d: &Big) -> (Big, Big) {
            let mut rem = self.clone();
            let mut q = Big::zero();
            if self.cmp_big(d) == Ordering::Less {
                return (q, rem);
            }
            let top = self.bit_len() - d.bit_len();
            for i in (0..=top).rev() {
                let shifted = d.shl(i);
                if rem.cmp_big(&shifted) != Ordering::Less {
                    rem.sub_assign(&shifted);
                    let limb = (i / 64) as usize;
                    if q.0.len() <= limb {
                        q.0.resize(limb + 1, 0);
                    }
                    q.0[limb] |= 1u64 << (i % 64);
                }
            }
            q.trim();
            (q, rem)
        }

        fn to_decimal(&self) -> String {
            const TEN19: u64 = 10_000_000_000_000_000_000;
            if self.is_zero() {
                return "0".to_owned();
            }
            let mut n = self.clone();
            let mut chunks = Vec::new();
            while !n.is_zero() {
                let mut rem = 0u128;
                for limb in n.0.iter_mut().rev() {
                    let cur = (rem << 64) | u128::from(*limb);
                    *limb = (cur / u128::from(TEN19)) as u64;
                    rem = cur % u128::from(TEN19);
                }
                n.trim();
                chunks.push(rem as u64);
            }
            let mut out = chunks.pop().map(|c| c.to_string()).unwrap_or_default();
            for c in chunks.iter().rev() {
                out.push_str(&format!("{c:019}"));
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"1a",
            b"9223372036854775808",
            b"1.0",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    fn fmt(s: &str) -> String {
        match parse_long_double(s.as_bytes()).unwrap() {
            Number::Finite(d) => d.to_f80().unwrap().to_fixed_17(),
            Number::Infinite => "inf".into(),
        }
    }

    /// What `INCRBYFLOAT` stores after adding `deltas` to `start`, one at a time.
    fn sums(start: &str, deltas: &[f64]) -> Vec<String> {
        let mut cur = start.to_owned();
        let mut out = Vec::new();
        for &delta in deltas {
            let Some(Number::Finite(a)) = parse_long_double(cur.as_bytes()) else {
                panic!("{cur}")
            };
            let Some(Number::Finite(b)) = parse_long_double(format!("{delta:e}").as_bytes()) else {
                panic!()
            };
            cur = long_double::F80::add(a.to_f80().unwrap(), b.to_f80().unwrap())
                .unwrap()
                .to_fixed_17();
            out.push(cur.clone());
        }
        out
    }

    #[test]
    fn long_double_text() {
        assert_eq!(fmt("1.5"), "1.5");
        assert_eq!(fmt("10.5e3"), "10500");
        assert_eq!(fmt("3.0"), "3");
        assert_eq!(fmt("-0.0"), "0");
        assert_eq!(fmt("1e-20"), "0");
        assert_eq!(fmt("-1e-20"), "0");
        assert_eq!(fmt(".5"), "0.5");
        assert_eq!(fmt("1."), "1");
        assert_eq!(fmt("0.1"), "0.1");
        assert_eq!(fmt("inf"), "inf");
        for bad in [
            " 1", "1 ", "", ".", "e5", "1e", "abc", "nan", "1e5000", "1e-5000", "0x10", "-1\0\0",
            "1\0", "\0", "\u{0}1",
        ] {
            assert_eq!(parse_long_double(bad.as_bytes()), None, "{bad}");
        }
        assert!(Decimal {
            neg: false,
            digits: vec![1, 2],
            exp: 4931
        }
        .to_f80()
        .is_none());
    }

    /// Vectors recorded from Redis 7.0.15 on x86-64.
    #[test]
    fn float_sums_match_redis() {
        assert_eq!(
            sums("0", &[10.5, 0.1, -5.0, 5.0e3, 2.0e-2]),
            [
                "10.5",
                "10.6",
                "5.6",
                "5005.60000000000000009",
                "5005.62000000000000011"
            ]
        );
        assert_eq!(sums("1.5", &[1.1]), ["2.6"]);
        assert_eq!(sums("0.1", &[0.2]), ["0.3"]);
        assert_eq!(sums("0", &[0.1, 0.7]), ["0.1", "0.8"]);
        assert_eq!(sums("1", &[-1.1]), ["-0.1"]);
        assert_eq!(sums("1000", &[0.1]), ["1000.09999999999999998"]);
        assert_eq!(sums("123456789", &[0.3]), ["123456789.30000000000291038"]);
        assert_eq!(sums("5000", &[0.7]), ["5000.70000000000000018"]);
        assert_eq!(sums("17179869184", &[1.5]), ["17179869185.5"]);
        assert_eq!(sums("5", &[-5.0]), ["0"]);
        assert_eq!(sums("0", &[1e-10]), ["0.0000000001"]);
        // Redis prints ...678: its increment is text, ours an f64 that already lost the
        // 18th digit (see `incr_by_float_text`).
        assert_eq!(sums("0", &[123456789012345678.0]), ["123456789012345680"]);
        assert_eq!(
            sums("1.7976931348623157e308", &[1.7976931348623157e308]),
            ["359538626972463139991842093548208868096772893888658356970628841530353257046248792709403737216774171128857586838851041378617416726902272110715794556052955234146997955372576789671236326588091188869859074894581254961338834769297758245552436667197907705664206565009503223382416235440319971852753604933726679072768"]
        );
        assert_eq!(
            sums("0.8", &[1e300]),
            ["1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105690089424915104006144"]
        );
        assert_eq!(
            sums("1e308", &[1e308]),
            ["199999999999999999993371759311691291321120199694831134415594095989843469737676123744200253843777078640893494450108026446304269499187921167194841628860392837535918200039206381557326219209014213335878306791577877829121087126122536729803237260434173178506889763247582601711514636284849020905456510092687857156096"]
        );
    }

    #[test]
    fn ranges_follow_redis_7_0() {
        let v = b"Hello World";
        let range_of = |start, end| match range_bounds(v.len() as u64, start, end) {
            Some((from, to)) => &v[from as usize..to as usize],
            None => &b""[..],
        };
        assert_eq!(range_of(0, -1), v);
        assert_eq!(range_of(-3, -1), b"rld");
        assert_eq!(range_of(5, 3), b"");
        assert_eq!(range_of(-100, -50), b"H");
        assert_eq!(range_of(0, 100), v);
        assert_eq!(range_of(-1, -5), b"");
        assert_eq!(range_of(20, 30), b"");
        assert_eq!(range_bounds(0, 0, -1), None);
    }

    #[test]
    fn lcs_matches_redis_examples() {
        let (a, b) = (b"ohmytext", b"mynewtext");
        assert_eq!(
            lcs_reply(a, b, LcsMode::String).unwrap(),
            Reply::bulk("mytext")
        );
        assert_eq!(lcs_reply(a, b, LcsMode::Length).unwrap(), Reply::Integer(6));
        let pair = |a0, a1, b0, b1| {
            vec![
                Reply::Array(vec![Reply::Integer(a0), Reply::Integer(a1)]),
                Reply::Array(vec![Reply::Integer(b0), Reply::Integer(b1)]),
            ]
        };
        let idx = lcs_reply(
            a,
            b,
            LcsMode::Indexes {
                min_match_len: 0,
                with_match_len: false,
            },
        )
        .unwrap();
        assert_eq!(
            idx,
            Reply::Map(vec![
                (
                    Reply::bulk("matches"),
                    Reply::Array(vec![
                        Reply::Array(pair(4, 7, 5, 8)),
                        Reply::Array(pair(2, 3, 0, 1))
                    ])
                ),
                (Reply::bulk("len"), Reply::Integer(6)),
            ])
        );
        let idx = lcs_reply(
            a,
            b,
            LcsMode::Indexes {
                min_match_len: 4,
                with_match_len: true,
            },
        )
        .unwrap();
        let mut m = pair(4, 7, 5, 8);
        m.push(Reply::Integer(4));
        assert_eq!(
            idx,
            Reply::Map(vec![
                (Reply::bulk("matches"), Reply::Array(vec![Reply::Array(m)])),
                (Reply::bulk("len"), Reply::Integer(6)),
            ])
        );
        assert_eq!(
            lcs_reply(b"", b"", LcsMode::String).unwrap(),
            Reply::bulk("")
        );
        let big = vec![b'a'; 12_000];
        assert_eq!(
            lcs_reply(&big, &big, LcsMode::Length),
            Err(StorageError::LcsTooLarge)
        );
    }

    // ---- the value layout (inline / chunked), against a temp-dir engine ----

    use super::value::{CHUNK_SIZE, INLINE_MAX};
    use crate::engine::{keys, Cf};
    use crate::types::keyspace;
    use crate::types::testing::{TestDb, MODEL_CASES};
    use proptest::prelude::*;
    use tandem_engine::KvEngine;

    const PLAIN: SetOptions = SetOptions::PLAIN;
    const CHUNK: usize = CHUNK_SIZE as usize;

    /// `n` bytes that differ from their neighbours, starting at `seed`.
    fn bytes(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| seed.wrapping_add((i % 251) as u8).wrapping_mul(3) | 1)
            .collect()
    }

    fn bulk_of(r: CmdResult) -> Vec<u8> {
        match r {
            Ok(Reply::Bulk(v)) => v,
            other => panic!("expected a bulk reply, got {other:?}"),
        }
    }

    fn int_of(r: CmdResult) -> i64 {
        match r {
            Ok(Reply::Integer(n)) => n,
            other => panic!("expected an integer reply, got {other:?}"),
        }
    }

    fn record<E: KvEngine>(db: &TestDb<E>, key: &[u8]) -> Record {
        db.read(|s, at| super::super::lookup(s, at, key))
            .unwrap()
            .expect("the key exists")
    }

    /// The chunk records of `key` at its current version.
    fn chunks<E: KvEngine>(db: &TestDb<E>, key: &[u8]) -> Vec<(u32, usize)> {
        let r = record(db, key);
        let prefix = keys::sub_prefix(0, key, r.version);
        let end = keys::prefix_end(&prefix).unwrap();
        let mut out = Vec::new();
        db.read(|s, _| {
            s.scan(Cf::Sub, &prefix, &end, &mut |k, v| {
                let index = u32::from_be_bytes(k[prefix.len()..].try_into().unwrap());
                out.push((index, v.len()));
                true
            })
        })
        .unwrap();
        out
    }

    #[derive(Debug, Clone)]
    enum Op {
        Set(usize, u8),
        Append(usize, u8),
        SetRange(u64, usize, u8),
        GetRange(i64, i64),
        Copy,
    }

    fn op() -> impl Strategy<Value = Op> {
        let len = prop_oneof![
            0usize..64,
            0usize..3 * CHUNK,
            INLINE_MAX - 8..INLINE_MAX + 8
        ];
        let offset = prop_oneof![0u64..2 * INLINE_MAX as u64, 0u64..1_000_000];
        let index = prop_oneof![-300_000i64..300_000, -20i64..20];
        prop_oneof![
            (len.clone(), any::<u8>()).prop_map(|(n, s)| Op::Set(n, s)),
            (len.clone(), any::<u8>()).prop_map(|(n, s)| Op::Append(n, s)),
            (offset, len, any::<u8>()).prop_map(|(o, n, s)| Op::SetRange(o, n, s)),
            (index.clone(), index).prop_map(|(a, b)| Op::GetRange(a, b)),
            Just(Op::Copy),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(MODEL_CASES))]

        #[test]
        fn values_behave_like_a_byte_vector_in_memory(ops in proptest::collection::vec(op(), 1..14)) {
            values_behave_like_a_byte_vector(TestDb::open(), ops)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn values_behave_like_a_byte_vector_on_rocksdb(ops in proptest::collection::vec(op(), 1..14)) {
            values_behave_like_a_byte_vector(TestDb::open_rocks(), ops)?;
        }
    }

    /// APPEND, SETRANGE, GETRANGE, STRLEN, GET and COPY against a `Vec<u8>` model,
    /// across the inline/chunked threshold and chunk boundaries, sparse gaps included.
    fn values_behave_like_a_byte_vector<E: KvEngine>(
        mut db: TestDb<E>,
        ops: Vec<Op>,
    ) -> Result<(), TestCaseError> {
        let mut model: Option<Vec<u8>> = None;
        for op in ops {
            match op {
                Op::Set(n, seed) => {
                    let v = bytes(n, seed);
                    db.write(|w, at| set(w, at, b"k", &v, PLAIN)).unwrap();
                    model = Some(v);
                }
                Op::Append(n, seed) => {
                    let v = bytes(n, seed);
                    let got = int_of(db.write(|w, at| append(w, at, b"k", &v)));
                    let m = model.get_or_insert_with(Vec::new);
                    m.extend_from_slice(&v);
                    prop_assert_eq!(got, m.len() as i64);
                }
                Op::SetRange(offset, n, seed) => {
                    let v = bytes(n, seed);
                    let got = int_of(db.write(|w, at| setrange(w, at, b"k", offset, &v)));
                    if !v.is_empty() {
                        let m = model.get_or_insert_with(Vec::new);
                        let end = offset as usize + v.len();
                        if m.len() < end {
                            m.resize(end, 0);
                        }
                        m[offset as usize..end].copy_from_slice(&v);
                    }
                    prop_assert_eq!(got, model.as_ref().map_or(0, |m| m.len() as i64));
                }
                Op::GetRange(a, b) => {
                    let m = model.clone().unwrap_or_default();
                    let want = match range_bounds(m.len() as u64, a, b) {
                        Some((from, to)) => m[from as usize..to as usize].to_vec(),
                        None => Vec::new(),
                    };
                    let got = bulk_of(db.read(|s, at| getrange(s, at, b"k", a, b)));
                    prop_assert!(got == want, "GETRANGE {} {}", a, b);
                }
                Op::Copy => {
                    // COPY then RENAME back: the value survives under new versions.
                    if model.is_some() {
                        db.write(|w, at| keyspace::copy(w, at, b"k", b"c", 0, true))
                            .unwrap();
                        db.write(|w, at| {
                            keyspace::rename(w, at, b"c", b"k", keyspace::RenameMode::Overwrite)
                        })
                        .unwrap();
                    }
                }
            }
            let len = int_of(db.read(|s, at| strlen(s, at, b"k")));
            prop_assert_eq!(len, model.as_ref().map_or(0, |m| m.len() as i64));
            match &model {
                Some(m) => {
                    prop_assert!(bulk_of(db.read(|s, at| get(s, at, b"k"))) == *m);
                    prop_assert_eq!(record(&db, b"k").is_chunked(), m.len() > INLINE_MAX);
                }
                None => prop_assert_eq!(db.read(|s, at| get(s, at, b"k")), Ok(Reply::Nil)),
            }
        }
        Ok(())
    }

    #[test]
    fn large_values_are_chunked_and_small_ones_inline() {
        let mut db = TestDb::open();
        let v = bytes(INLINE_MAX, 1);
        db.write(|w, at| set(w, at, b"edge", &v, PLAIN)).unwrap();
        assert!(!record(&db, b"edge").is_chunked());
        assert!(chunks(&db, b"edge").is_empty());
        let v = bytes(INLINE_MAX + 1, 2);
        db.write(|w, at| set(w, at, b"big", &v, PLAIN)).unwrap();
        let r = record(&db, b"big");
        assert!(r.is_chunked());
        assert_eq!(r.size, v.len() as u64);
        let expected: Vec<(u32, usize)> = (0..=(INLINE_MAX / CHUNK) as u32)
            .map(|i| {
                (
                    i,
                    if i as usize == INLINE_MAX / CHUNK {
                        1
                    } else {
                        CHUNK
                    },
                )
            })
            .collect();
        assert_eq!(chunks(&db, b"big"), expected);
        assert_eq!(bulk_of(db.read(|s, at| get(s, at, b"big"))), v);
        // MGET, GETSET (SET … GET), GETEX and GETDEL read chunked values whole.
        assert_eq!(
            db.read(|s, at| mget(s, at, [&b"big"[..], b"nope"].into_iter())),
            Ok(Reply::Array(vec![Reply::Bulk(v.clone()), Reply::Nil]))
        );
        let got = db.write(|w, at| {
            let opts = SetOptions { get: true, ..PLAIN };
            set(w, at, b"big", b"small", opts)
        });
        assert_eq!(bulk_of(got), v);
        assert!(!record(&db, b"big").is_chunked());
        db.write(|w, at| set(w, at, b"big", &v, PLAIN)).unwrap();
        let got = db.write(|w, at| getex(w, at, b"big", GetExExpiry::At(i64::MAX / 2)));
        assert_eq!(bulk_of(got), v);
        assert!(record(&db, b"big").is_chunked(), "GETEX keeps the layout");
        assert_eq!(bulk_of(db.write(|w, at| getdel(w, at, b"big"))), v);
        assert_eq!(db.read(|s, at| get(s, at, b"big")), Ok(Reply::Nil));
    }

    #[test]
    fn edits_touch_only_the_chunks_they_cover() {
        let mut db = TestDb::open();
        // A far SETRANGE on a missing key writes one chunk: the gap is sparse.
        let far = 100_000_000u64;
        assert_eq!(
            int_of(db.write(|w, at| setrange(w, at, b"s", far, b"xy"))),
            far as i64 + 2
        );
        let first = (far / CHUNK_SIZE as u64) as u32;
        let within = (far % CHUNK_SIZE as u64) as usize;
        assert_eq!(chunks(&db, b"s"), vec![(first, within + 2)]);
        assert_eq!(int_of(db.read(|s, at| strlen(s, at, b"s"))), far as i64 + 2);
        let got = bulk_of(db.read(|s, at| getrange(s, at, b"s", far as i64 - 3, -1)));
        assert_eq!(got, b"\0\0\0xy");
        assert_eq!(
            bulk_of(db.read(|s, at| getrange(s, at, b"s", 5, 9))),
            vec![0; 5]
        );
        // APPEND writes the last chunk and the next one only.
        let tail = bytes(CHUNK, 9);
        db.write(|w, at| append(w, at, b"s", &tail)).unwrap();
        assert_eq!(
            chunks(&db, b"s"),
            vec![(first, CHUNK), (first + 1, within + 2)]
        );
        // A SETRANGE across a chunk boundary in the middle of the gap adds two chunks.
        db.write(|w, at| setrange(w, at, b"s", CHUNK_SIZE as u64 * 10 - 1, b"ab"))
            .unwrap();
        assert_eq!(chunks(&db, b"s").len(), 4);
        assert_eq!(
            bulk_of(db.read(|s, at| getrange(
                s,
                at,
                b"s",
                CHUNK_SIZE as i64 * 10 - 2,
                CHUNK_SIZE as i64 * 10 + 1
            ))),
            b"\0ab\0"
        );
        // Numbers are refused unread; the limit holds for APPEND and SETRANGE.
        assert_eq!(
            db.write(|w, at| incr_by(w, at, b"s", 1)),
            Err(StorageError::NotInteger)
        );
        assert_eq!(
            db.write(|w, at| incr_by_float_text(w, at, b"s", b"1")),
            Err(StorageError::NotFloat)
        );
        assert_eq!(
            db.write(|w, at| setrange(w, at, b"s", MAX_STRING_LEN - 1, b"ab")),
            Err(StorageError::StringTooLong)
        );
        let max = db.write(|w, at| setrange(w, at, b"s", MAX_STRING_LEN - 1, b"a"));
        assert_eq!(max, Ok(Reply::Integer(MAX_STRING_LEN as i64)));
        assert_eq!(
            db.write(|w, at| append(w, at, b"s", b"a")),
            Err(StorageError::StringTooLong)
        );
        assert_eq!(
            bulk_of(db.read(|s, at| getrange(s, at, b"s", -2, -1))),
            b"\0a"
        );
    }

    #[test]
    fn inline_values_of_older_builds_still_read_and_grow_into_chunks() {
        let mut db = TestDb::open();
        // Builds before chunking stored every value inline, however large.
        let old = bytes(3 * INLINE_MAX, 4);
        db.write(|w, at| {
            let version = w.new_version();
            store_record(
                w,
                at.db,
                b"o",
                None,
                &Record::string(old.clone(), 0, version),
            );
        });
        assert!(!record(&db, b"o").is_chunked());
        assert_eq!(bulk_of(db.read(|s, at| get(s, at, b"o"))), old);
        assert_eq!(
            int_of(db.read(|s, at| strlen(s, at, b"o"))),
            old.len() as i64
        );
        assert_eq!(
            bulk_of(db.read(|s, at| getrange(s, at, b"o", 10, 19))),
            &old[10..20]
        );
        let version = record(&db, b"o").version;
        db.write(|w, at| append(w, at, b"o", b"!")).unwrap();
        let r = record(&db, b"o");
        assert!(r.is_chunked());
        assert_eq!(r.version, version, "grown in place");
        let mut want = old;
        want.push(b'!');
        assert_eq!(bulk_of(db.read(|s, at| get(s, at, b"o"))), want);
    }

    /// A view that refuses heavy reads as the socket thread's does, and remembers being
    /// asked (the RocksDB side of that view is tested in `engine/rocks.rs`).
    struct SocketThreadView<'a, S>(&'a S, std::cell::Cell<bool>);

    impl<S: StoreRead> StoreRead for SocketThreadView<'_, S> {
        fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, crate::engine::EngineError> {
            self.0.get(cf, key)
        }

        fn scan(
            &self,
            cf: Cf,
            start: &[u8],
            end: &[u8],
            visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
        ) -> Result<(), crate::engine::EngineError> {
            self.0.scan(cf, start, end, visit)
        }

        fn last_key(
            &self,
            cf: Cf,
            start: &[u8],
            end: &[u8],
        ) -> Result<Option<Vec<u8>>, crate::engine::EngineError> {
            self.0.last_key(cf, start, end)
        }

        fn services(&self) -> &crate::engine::Services {
            self.0.services()
        }

        fn yield_heavy_read(&self) -> bool {
            self.1.set(true);
            true
        }

        fn counts(&self) -> crate::engine::Counts {
            self.0.counts()
        }
    }

    #[test]
    fn the_socket_threads_view_leaves_large_values_to_the_read_pool() {
        let mut db = TestDb::open();
        db.write(|w, at| set(w, at, b"small", b"v", PLAIN)).unwrap();
        let big = bytes(INLINE_MAX + 1, 5);
        db.write(|w, at| set(w, at, b"big", &big, PLAIN)).unwrap();
        let at = db.at();
        let view = SocketThreadView(&db.engine, std::cell::Cell::new(false));
        assert_eq!(get(&view, at, b"small"), Ok(Reply::Bulk(b"v".to_vec())));
        assert_eq!(
            strlen(&view, at, b"big"),
            Ok(Reply::Integer(big.len() as i64))
        );
        assert!(!view.1.get(), "small reads and STRLEN read on");
        let _ = get(&view, at, b"big");
        assert!(view.1.get(), "a large GET gives up on the socket thread");
        assert_eq!(db.read(|s, at| get(s, at, b"big")), Ok(Reply::Bulk(big)));
    }

    #[test]
    fn stale_chunks_are_reclaimed_after_overwrite_and_delete() {
        let mut db = TestDb::open();
        let big = bytes(4 * INLINE_MAX, 6);
        db.write(|w, at| set(w, at, b"k", &big, PLAIN)).unwrap();
        db.write(|w, at| set(w, at, b"gone", &big, PLAIN)).unwrap();
        let count_all = |db: &TestDb| {
            let (start, end) = keys::all_dbs_range();
            let mut n = 0;
            db.read(|s, _| {
                s.scan(Cf::Sub, &start, &end, &mut |_, _| {
                    n += 1;
                    true
                })
            })
            .unwrap();
            n
        };
        assert_eq!(count_all(&db), 2 * 4 * INLINE_MAX / CHUNK);
        db.write(|w, at| set(w, at, b"k", &big[..INLINE_MAX + 10], PLAIN))
            .unwrap();
        db.write(|w, at| keyspace::del(w, at, [&b"gone"[..]].into_iter()))
            .unwrap();
        db.engine.compact().unwrap();
        assert_eq!(
            count_all(&db),
            INLINE_MAX / CHUNK + 1,
            "only k's new chunks remain"
        );
        assert_eq!(
            bulk_of(db.read(|s, at| get(s, at, b"k"))),
            &big[..INLINE_MAX + 10]
        );
    }

    #[test]
    fn lcs_memory_is_the_table_and_both_values_from_metadata() {
        let mut db = TestDb::open();
        db.write(|w, at| set(w, at, b"a", &[b'x'; 999], PLAIN))
            .expect("set a");
        db.write(|w, at| set(w, at, b"big", &vec![b'y'; 200_000], PLAIN))
            .expect("set big");
        db.write(|w, at| {
            crate::types::hash::hset(w, at, b"h", [(&b"f"[..], &b"v"[..])].into_iter())
        })
        .expect("hset");
        let memory = |k1: &[u8], k2: &[u8]| db.read(|s, at| lcs_memory(s, at, k1, k2));
        assert_eq!(memory(b"a", b"a"), 1000 * 1000 * 4 + 999 * 2);
        // A missing key is an empty string: a one-column table.
        assert_eq!(memory(b"a", b"none"), 1000 * 4 + 999);
        // Chunked values are sized from their metadata too.
        assert_eq!(memory(b"big", b"none"), 200_001 * 4 + 200_000);
        // LCS refuses these before allocating anything.
        assert_eq!(memory(b"a", b"h"), 0);
        assert_eq!(memory(b"big", b"big"), 0, "table over 512 MiB");
    }
}
