//! String commands (`GET`, `SET`, `INCRBY`, `APPEND`, `LCS` …) with Redis 7 semantics.
//!
//! Strings live inline in their metadata record (no sub-keys). Every write goes through
//! [`super::store_record`]/[`super::remove_record`] so counters stay right. Integer and
//! float parsing follow Redis's `string2ll` and `string2ld`; see [`incr_by_float`] for
//! the one known precision difference.

use tandem_shared::{GetExExpiry, LcsMode, Reply, SetCondition, SetExpiry, StorageError};

use super::{
    lookup_read, lookup_write, remove_record, store_record, string_of, At, CmdResult,
    MAX_STRING_LEN,
};
use crate::engine::metadata::{KeyType, Record};
use crate::engine::{StoreRead, StoreWrite};

/// `GET`.
pub fn get<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8]) -> CmdResult {
    Ok(string_of(lookup_read(s, at, key)?)?.map_or(Reply::Nil, Reply::Bulk))
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
            Some(r) if r.kind == KeyType::String => Reply::Bulk(r.payload),
            _ => Reply::Nil,
        });
    }
    Ok(Reply::Array(out))
}

/// `STRLEN`.
pub fn strlen<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8]) -> CmdResult {
    let len = string_of(lookup_read(s, at, key)?)?.map_or(0, |v| v.len());
    Ok(Reply::Integer(len as i64))
}

/// `GETRANGE` with Redis 7.0's clamping (a missing key is an empty string).
pub fn getrange<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    start: i64,
    end: i64,
) -> CmdResult {
    let value = string_of(lookup_read(s, at, key)?)?.unwrap_or_default();
    Ok(Reply::Bulk(range_of(&value, start, end).to_vec()))
}

fn range_of(value: &[u8], mut start: i64, mut end: i64) -> &[u8] {
    let len = value.len() as i64;
    if start < 0 && end < 0 && start > end {
        return &[];
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
        return &[];
    }
    &value[start as usize..=end as usize]
}

/// What `SET` needs beyond key and value.
#[derive(Debug, Clone, Copy)]
pub struct SetOptions {
    pub condition: SetCondition,
    pub expiry: SetExpiry,
    /// `GET`: reply with the old value (and refuse a non-string old value).
    pub get: bool,
}

/// `SET` (and `SETEX`, `PSETEX`, `GETSET`).
pub fn set<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    value: &[u8],
    opts: SetOptions,
) -> CmdResult {
    let old = lookup_write(w, at, key)?;
    let old_value = if opts.get {
        w.engine().stats().note_lookup(old.is_some());
        match &old {
            Some(r) if r.kind != KeyType::String => return Err(StorageError::WrongType),
            Some(r) => Reply::Bulk(r.payload.clone()),
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
    write_string(w, at, key, old.as_ref(), value.to_vec(), expire_at);
    Ok(old_value)
}

/// Stores a string under a fresh version (a new key, or a replacement of any type).
fn write_string<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    old: Option<&Record>,
    value: Vec<u8>,
    expire_at_ms: u64,
) {
    let version = w.new_version();
    store_record(
        w,
        at.db,
        key,
        old,
        &Record::string(value, expire_at_ms, version),
    );
}

/// Rewrites an existing string in place (same version and expiry), or creates it.
fn update_string<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    old: Option<Record>,
    value: Vec<u8>,
) {
    match old {
        Some(old) => {
            let new = Record {
                size: value.len() as u64,
                payload: value,
                ..old.clone()
            };
            store_record(w, at.db, key, Some(&old), &new);
        }
        None => write_string(w, at, key, None, value, 0),
    }
}

/// `SETNX`: 1 if set, 0 if the key existed.
pub fn setnx<W: StoreWrite + ?Sized>(w: &mut W, at: At, key: &[u8], value: &[u8]) -> CmdResult {
    if lookup_write(w, at, key)?.is_some() {
        return Ok(Reply::Integer(0));
    }
    write_string(w, at, key, None, value.to_vec(), 0);
    Ok(Reply::Integer(1))
}

/// `MSET`.
pub fn mset<'k, W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    pairs: impl Iterator<Item = (&'k [u8], &'k [u8])>,
) -> CmdResult {
    for (key, value) in pairs {
        let old = lookup_write(w, at, key)?;
        write_string(w, at, key, old.as_ref(), value.to_vec(), 0);
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
    for (key, value) in pairs {
        // A repeated key: the later value wins, as in Redis.
        let old = super::raw_record(w, at.db, key)?;
        write_string(w, at, key, old.as_ref(), value.to_vec(), 0);
    }
    Ok(Reply::Integer(1))
}

/// `GETDEL`.
pub fn getdel<W: StoreWrite + ?Sized>(w: &mut W, at: At, key: &[u8]) -> CmdResult {
    let old = lookup_write(w, at, key)?;
    w.engine().stats().note_lookup(old.is_some());
    match old {
        None => Ok(Reply::Nil),
        Some(r) if r.kind != KeyType::String => Err(StorageError::WrongType),
        Some(r) => {
            remove_record(w, at.db, key, Some(&r));
            Ok(Reply::Bulk(r.payload))
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
    w.engine().stats().note_lookup(old.is_some());
    let r = match old {
        None => return Ok(Reply::Nil),
        Some(r) if r.kind != KeyType::String => return Err(StorageError::WrongType),
        Some(r) => r,
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
    Ok(Reply::Bulk(r.payload))
}

/// `APPEND`: the new length.
pub fn append<W: StoreWrite + ?Sized>(w: &mut W, at: At, key: &[u8], value: &[u8]) -> CmdResult {
    let old = lookup_write(w, at, key)?;
    if old.as_ref().is_some_and(|r| r.kind != KeyType::String) {
        return Err(StorageError::WrongType);
    }
    let old_len = old.as_ref().map_or(0, |r| r.payload.len() as u64);
    if old_len + value.len() as u64 > MAX_STRING_LEN {
        return Err(StorageError::StringTooLong);
    }
    let mut new = old.as_ref().map(|r| r.payload.clone()).unwrap_or_default();
    new.extend_from_slice(value);
    let len = new.len();
    update_string(w, at, key, old, new);
    Ok(Reply::Integer(len as i64))
}

/// `SETRANGE`: the new length; zero-pads, and never creates a key for an empty value.
pub fn setrange<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    offset: u64,
    value: &[u8],
) -> CmdResult {
    let old = lookup_write(w, at, key)?;
    if old.as_ref().is_some_and(|r| r.kind != KeyType::String) {
        return Err(StorageError::WrongType);
    }
    if value.is_empty() {
        return Ok(Reply::Integer(old.map_or(0, |r| r.payload.len() as i64)));
    }
    let end = offset
        .checked_add(value.len() as u64)
        .ok_or(StorageError::StringTooLong)?;
    if end > MAX_STRING_LEN {
        return Err(StorageError::StringTooLong);
    }
    let mut new = old.as_ref().map(|r| r.payload.clone()).unwrap_or_default();
    let (offset, end) = (offset as usize, end as usize);
    if new.len() < end {
        new.resize(end, 0);
    }
    new[offset..end].copy_from_slice(value);
    let len = new.len();
    update_string(w, at, key, old, new);
    Ok(Reply::Integer(len as i64))
}

/// `INCRBY` family.
pub fn incr_by<W: StoreWrite + ?Sized>(w: &mut W, at: At, key: &[u8], delta: i64) -> CmdResult {
    let old = lookup_write(w, at, key)?;
    let current = match &old {
        None => 0,
        Some(r) if r.kind != KeyType::String => return Err(StorageError::WrongType),
        Some(r) => parse_i64(&r.payload).ok_or(StorageError::NotInteger)?,
    };
    let next = current.checked_add(delta).ok_or(StorageError::Overflow)?;
    update_string(w, at, key, old, next.to_string().into_bytes());
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
/// Redis adds in C `long double` and prints `%.17Lf` with trailing zeros trimmed. This
/// adds the two numbers exactly in decimal and rounds to 17 fractional digits, which
/// gives Redis's text whenever the long double sum is exact to 1e-17 (every "human"
/// value below about 100, e.g. 0.1 + 0.2 = "0.3"). Above that Redis prints the binary
/// rounding noise of an 80-bit float (`1000.09999999999999998`) that this does not
/// reproduce (we print `1000.1`), and the increment arrives as an `f64`, already rounded.
/// Hexadecimal float syntax (`0x1p3`), which `strtold` accepts, is refused as not a float.
pub fn incr_by_float<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    delta: f64,
) -> CmdResult {
    let old = lookup_write(w, at, key)?;
    let current = match &old {
        None => Number::Finite(Decimal::zero()),
        Some(r) if r.kind != KeyType::String => return Err(StorageError::WrongType),
        Some(r) => parse_long_double(&r.payload).ok_or(StorageError::NotFloat)?,
    };
    if !delta.is_finite() {
        return Err(StorageError::NanOrInfinity);
    }
    let Number::Finite(current) = current else {
        return Err(StorageError::NanOrInfinity);
    };
    let delta = match parse_long_double(format!("{delta:e}").as_bytes()) {
        Some(Number::Finite(d)) => d,
        _ => return Err(StorageError::NotFloat),
    };
    let sum = current.add(&delta);
    if sum.magnitude_exponent().is_some_and(|e| e > LDBL_MAX_EXP10) {
        return Err(StorageError::NanOrInfinity);
    }
    let text = sum.to_fixed_17();
    update_string(w, at, key, old, text.clone().into_bytes());
    Ok(Reply::Bulk(text.into_bytes()))
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

    /// Digits aligned to exponent `exp` (which must be <= self.exp), least significant
    /// first, padded to `len`.
    fn aligned_le(&self, exp: i64, len: usize) -> Vec<u8> {
        let shift = (self.exp - exp) as usize;
        let mut out = vec![0u8; len.max(shift + self.digits.len())];
        for (i, &d) in self.digits.iter().rev().enumerate() {
            out[shift + i] = d;
        }
        out
    }

    fn add(&self, other: &Decimal) -> Decimal {
        if self.digits.is_empty() {
            return other.clone();
        }
        if other.digits.is_empty() {
            return self.clone();
        }
        let exp = self.exp.min(other.exp);
        let len = (self.exp - exp) as usize + self.digits.len();
        let len = len.max((other.exp - exp) as usize + other.digits.len()) + 1;
        let a = self.aligned_le(exp, len);
        let b = other.aligned_le(exp, len);
        let (neg, mut digits_le) = if self.neg == other.neg {
            let mut out = vec![0u8; len];
            let mut carry = 0;
            for i in 0..len {
                let s = a[i] + b[i] + carry;
                out[i] = s % 10;
                carry = s / 10;
            }
            (self.neg, out)
        } else {
            // Subtract the smaller magnitude from the larger; the sign is the larger's.
            let a_bigger = a.iter().rev().cmp(b.iter().rev()) != std::cmp::Ordering::Less;
            let (big, small, neg) = if a_bigger {
                (&a, &b, self.neg)
            } else {
                (&b, &a, other.neg)
            };
            let mut out = vec![0u8; len];
            let mut borrow = 0i8;
            for i in 0..len {
                let mut d = big[i] as i8 - small[i] as i8 - borrow;
                borrow = 0;
                if d < 0 {
                    d += 10;
                    borrow = 1;
                }
                out[i] = d as u8;
            }
            (neg, out)
        };
        digits_le.reverse();
        Decimal {
            neg,
            digits: digits_le,
            exp,
        }
        .normalized()
    }

    /// `%.17Lf` with trailing zeros (and a bare `.`) removed and `-0` printed as `0`,
    /// as Redis's `ld2string(.., LD_STR_HUMAN)`.
    fn to_fixed_17(&self) -> String {
        let mut d = self.clone();
        if d.exp < -17 {
            let drop = (-17 - d.exp) as usize;
            if drop > d.digits.len() {
                d.digits.clear();
            } else {
                let keep = d.digits.len() - drop;
                let tail = d.digits.split_off(keep);
                let round_up = match tail.first() {
                    Some(&f) if f > 5 => true,
                    Some(&5) => {
                        tail[1..].iter().any(|&x| x != 0)
                            || d.digits.last().is_some_and(|&l| l % 2 == 1)
                    }
                    _ => false,
                };
                if round_up {
                    let mut i = d.digits.len();
                    loop {
                        if i == 0 {
                            d.digits.insert(0, 1);
                            break;
                        }
                        i -= 1;
                        if d.digits[i] == 9 {
                            d.digits[i] = 0;
                        } else {
                            d.digits[i] += 1;
                            break;
                        }
                    }
                }
            }
            d.exp = -17;
            d = d.normalized();
        }
        if d.digits.is_empty() {
            return "0".to_owned();
        }
        let mut int_part = String::new();
        let mut frac_part = String::new();
        let n = d.digits.len() as i64;
        for (i, &digit) in d.digits.iter().enumerate() {
            let pos = d.exp + (n - 1 - i as i64); // power of ten of this digit
            let c = char::from(b'0' + digit);
            if pos >= 0 {
                int_part.push(c);
            } else {
                let want = (-pos - 1) as usize; // index in the fraction
                while frac_part.len() < want {
                    frac_part.push('0');
                }
                frac_part.push(c);
            }
        }
        if d.exp > 0 {
            int_part.extend(std::iter::repeat_n('0', d.exp as usize));
        }
        if int_part.is_empty() {
            int_part.push('0');
        }
        let trimmed = frac_part.trim_end_matches('0');
        let mut out = String::with_capacity(int_part.len() + trimmed.len() + 2);
        if d.neg {
            out.push('-');
        }
        out.push_str(&int_part);
        if !trimmed.is_empty() {
            out.push('.');
            out.push_str(trimmed);
        }
        out
    }
}

/// Redis's `string2ld`: what `strtold` accepts over the whole string, no leading space,
/// neither overflow nor total underflow, not NaN. (Hex floats are not supported here.)
fn parse_long_double(s: &[u8]) -> Option<Number> {
    if s.is_empty() || s.len() >= MAX_LONG_DOUBLE_CHARS {
        return None;
    }
    // strtold sees a C string: it stops at an embedded NUL, and Redis then checks only
    // that the parse ended there.
    let s = match s.iter().position(|&b| b == 0) {
        Some(i) => &s[..i],
        None => s,
    };
    if s.is_empty() {
        return Some(Number::Finite(Decimal::zero()));
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
    let fetch = |key: &[u8]| -> Result<Vec<u8>, StorageError> {
        match lookup_read(s, at, key)? {
            None => Ok(Vec::new()),
            Some(r) if r.kind == KeyType::String => Ok(r.payload),
            Some(_) => Err(StorageError::LcsNotString),
        }
    };
    let a = fetch(key1)?;
    let b = fetch(key2)?;
    lcs_reply(&a, &b, mode)
}

/// The algorithm and reply shapes of Redis's `lcsCommand`, including the order in which
/// IDX ranges are emitted (from the end of the strings).
fn lcs_reply(a: &[u8], b: &[u8], mode: LcsMode) -> CmdResult {
    let (alen, blen) = (a.len(), b.len());
    let cells = (alen as u128 + 1) * (blen as u128 + 1);
    if cells * 4 > u128::from(MAX_STRING_LEN) {
        return Err(StorageError::LcsTooLarge);
    }
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
            Number::Finite(d) => d.to_fixed_17(),
            Number::Infinite => "inf".into(),
        }
    }

    fn add(a: &str, b: f64) -> String {
        let Some(Number::Finite(a)) = parse_long_double(a.as_bytes()) else {
            panic!()
        };
        let Some(Number::Finite(b)) = parse_long_double(format!("{b:e}").as_bytes()) else {
            panic!()
        };
        a.add(&b).to_fixed_17()
    }

    #[test]
    fn long_double_text() {
        assert_eq!(fmt("1.5"), "1.5");
        assert_eq!(fmt("10.5e3"), "10500");
        assert_eq!(fmt("3.0"), "3");
        assert_eq!(fmt("-0.0"), "0");
        assert_eq!(fmt("1e-20"), "0");
        assert_eq!(fmt("5e-18"), "0");
        assert_eq!(fmt("1.5e-17"), "0.00000000000000002");
        assert_eq!(fmt(".5"), "0.5");
        assert_eq!(fmt("1."), "1");
        assert_eq!(fmt("inf"), "inf");
        for bad in [
            " 1", "1 ", "", ".", "e5", "1e", "abc", "nan", "1e5000", "1e-5000", "0x10",
        ] {
            assert_eq!(parse_long_double(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn float_sums_match_redis_for_human_values() {
        assert_eq!(add("1.5", 1.1), "2.6");
        assert_eq!(add("0.1", 0.2), "0.3");
        assert_eq!(add("1", -1.1), "-0.1");
        assert_eq!(add("17179869184", 1.5), "17179869185.5");
        assert_eq!(add("10.5", 0.1), "10.6");
        assert_eq!(add("5", -5.0), "0");
        assert_eq!(add("0", 1e308), format!("1{}", "0".repeat(308)));
    }

    #[test]
    fn ranges_follow_redis_7_0() {
        let v = b"Hello World";
        assert_eq!(range_of(v, 0, -1), v);
        assert_eq!(range_of(v, -3, -1), b"rld");
        assert_eq!(range_of(v, 5, 3), b"");
        assert_eq!(range_of(v, -100, -50), b"H");
        assert_eq!(range_of(v, 0, 100), v);
        assert_eq!(range_of(v, -1, -5), b"");
        assert_eq!(range_of(v, 20, 30), b"");
        assert_eq!(range_of(b"", 0, -1), b"");
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
}
