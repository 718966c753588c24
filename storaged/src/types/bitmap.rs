//! Bitmap commands (`SETBIT`, `GETBIT`, `BITCOUNT`, `BITPOS`, `BITOP`, `BITFIELD`,
//! `BITFIELD_RO`) with Redis 7.0 semantics. A bitmap is a string: bit 0 is the most significant bit of byte 0.
//!
//! Bytes are read and written through [`super::string_value`], so a bit command costs
//! the bytes it covers, not the whole value: `SETBIT` rewrites one chunk of a chunked
//! value (a value the bit commands make chunked gets small chunks,
//! [`super::string_value::BITMAP_CHUNK_SIZE`]), `GETBIT` reads one byte, a `BITFIELD` operation the (at most 9) bytes of its field, and `BITCOUNT`/`BITPOS` walk their range a window at a
//! time. `BITOP` reads its sources whole and writes a new value, as Redis does. Argument
//! errors Redis gives before looking at the key are the parser's; what is here needs the
//! key (its type, its length).

use std::ops::ControlFlow;

use tandem_shared::{
    BitFieldOp, BitFieldType, BitOpKind, BitOverflow, BitRange, Reply, ScanOptionError,
    StorageError,
};

use super::string_value as value;
use super::{lookup_read, lookup_write, remove_record, At, CmdResult};
use crate::engine::metadata::{KeyType, Record};
use crate::engine::{StoreRead, StoreWrite};

/// Bytes read at a time when a command walks a range: bounds what a `BITCOUNT` of a
/// 512 MiB value holds in memory.
const WINDOW: u64 = 256 * 1024;

/// A live record that must be a string: `WrongType` for another type.
fn string_record(r: Option<Record>) -> Result<Option<Record>, StorageError> {
    match r {
        Some(r) if r.kind != KeyType::String => Err(StorageError::WrongType),
        other => Ok(other),
    }
}

/// The byte holding bit `offset`, and that bit's mask within it.
fn locate(offset: u64) -> (u64, u8) {
    (offset >> 3, 0x80 >> (offset & 7))
}

/// The byte at `index` of the live string `r`; 0 past its end.
fn byte_at<S: StoreRead + ?Sized>(
    s: &S,
    db: u8,
    key: &[u8],
    r: &Record,
    index: u64,
) -> Result<u8, StorageError> {
    Ok(value::read(s, db, key, r, index, index + 1)?
        .first()
        .copied()
        .unwrap_or(0))
}

/// `GETBIT`: 0 for a missing key or an offset past the end.
pub fn getbit<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8], offset: u64) -> CmdResult {
    let Some(r) = string_record(lookup_read(s, at, key)?)? else {
        return Ok(Reply::Integer(0));
    };
    let (index, mask) = locate(offset);
    let byte = byte_at(s, at.db, key, &r, index)?;
    Ok(Reply::Integer(i64::from(byte & mask != 0)))
}

/// `SETBIT`: the bit's old value. Creates or zero-extends the string to cover the bit and
/// writes the one byte (one chunk of a chunked value); a bit already set as asked on a
/// string that long writes nothing, as Redis then signals nothing.
pub fn setbit<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    offset: u64,
    on: bool,
) -> CmdResult {
    let old = string_record(lookup_write(w, at, key)?)?;
    let (index, mask) = locate(offset);
    let (len, byte) = match &old {
        Some(r) => (value::len(r), byte_at(w, at.db, key, r, index)?),
        None => (0, 0),
    };
    let was = byte & mask != 0;
    if old.is_none() || index >= len || was != on {
        let new = if on { byte | mask } else { byte & !mask };
        value::write_at_chunked(w, at.db, key, old, index, &[new], value::BITMAP_CHUNK_SIZE)?;
    }
    Ok(Reply::Integer(i64::from(was)))
}

/// The bits `[first, last]` a `BYTE|BIT` range selects from a value of `len` bytes, as
/// Redis resolves it (negative indexes from the end, clamped); `None` when empty.
fn span_bits(len: u64, start: i64, end: i64, bits: bool) -> Option<(u64, u64)> {
    // A value is at most 512 MiB, so its length in bits fits an i64.
    let total = i64::try_from(if bits { len * 8 } else { len }).unwrap_or(i64::MAX);
    let start = if start < 0 { start + total } else { start }.max(0);
    let end = if end < 0 { end + total } else { end }.max(0);
    let end = end.min(total - 1);
    if start > end {
        return None;
    }
    let (start, end) = (start as u64, end as u64);
    Some(if bits {
        (start, end)
    } else {
        (start * 8, end * 8 + 7)
    })
}

fn range_error(e: ScanOptionError) -> StorageError {
    match e {
        ScanOptionError::Syntax => StorageError::Syntax,
        ScanOptionError::NotInteger => StorageError::NotInteger,
    }
}

/// Calls `f` with each byte of bits `[first, last]` of the live string `r`, masked to the
/// bits inside the range (`mask` has a 1 for each), and the byte's bit offset, reading
/// [`WINDOW`] bytes at a time; stops early when `f` breaks.
fn walk<S: StoreRead + ?Sized, T>(
    s: &S,
    db: u8,
    key: &[u8],
    r: &Record,
    (first, last): (u64, u64),
    mut f: impl FnMut(u64, u8, u8) -> ControlFlow<T>,
) -> Result<Option<T>, StorageError> {
    let (first_byte, last_byte) = (first / 8, last / 8);
    let mut from = first_byte;
    while from <= last_byte {
        let to = (from + WINDOW).min(last_byte + 1);
        let bytes = value::read(s, db, key, r, from, to)?;
        for (i, &b) in bytes.iter().enumerate() {
            let index = from + i as u64;
            let lo = if index == first_byte { first % 8 } else { 0 };
            let hi = if index == last_byte { last % 8 } else { 7 };
            let mask = (0xffu8 >> lo) & (0xffu8 << (7 - hi));
            if let ControlFlow::Break(t) = f(index * 8, b, mask) {
                return Ok(Some(t));
            }
        }
        from = to;
    }
    Ok(None)
}

/// `BITCOUNT`: set bits in the range (the whole value without one); 0 for a missing key,
/// whatever the range.
pub fn bitcount<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8], range: BitRange) -> CmdResult {
    let Some(r) = string_record(lookup_read(s, at, key)?)? else {
        return Ok(Reply::Integer(0));
    };
    let len = value::len(&r);
    let bits = match range {
        BitRange::Invalid(e) => return Err(range_error(e)),
        BitRange::Empty => None,
        BitRange::Whole => span_bits(len, 0, -1, false),
        BitRange::Span { start, end, bits } => span_bits(len, start, end.unwrap_or(-1), bits),
    };
    let Some(bits) = bits else {
        return Ok(Reply::Integer(0));
    };
    let (first, last) = bits;
    let (first_byte, last_byte) = (first / 8, last / 8);
    let mut count = 0u64;
    let mut from = first_byte;
    while from <= last_byte {
        let to = (from + WINDOW).min(last_byte + 1);
        let mut bytes = value::read(s, at.db, key, &r, from, to)?;
        // Only the range's first and last bytes are partly in it: mask them, then count
        // the window eight bytes at a time.
        if from == first_byte {
            if let Some(b) = bytes.first_mut() {
                *b &= 0xff >> (first % 8);
            }
        }
        if to == last_byte + 1 {
            if let Some(b) = bytes.last_mut() {
                *b &= 0xff << (7 - last % 8);
            }
        }
        count += count_ones(&bytes);
        from = to;
    }
    Ok(Reply::Integer(count as i64))
}

/// Set bits in `bytes`.
fn count_ones(bytes: &[u8]) -> u64 {
    let words = bytes.chunks_exact(8);
    let tail: u64 = words
        .remainder()
        .iter()
        .map(|b| u64::from(b.count_ones()))
        .sum();
    words
        .map(|w| {
            let mut word = [0u8; 8];
            word.copy_from_slice(w);
            u64::from(u64::from_ne_bytes(word).count_ones())
        })
        .sum::<u64>()
        + tail
}

/// `BITPOS`: the first bit equal to `bit` in the range. A missing key is all zeros (0 for
/// a clear bit, -1 for a set one). Without an explicit end, a value of all ones has its
/// first clear bit just past the range (Redis pads the right with zeros); with one, or
/// looking for a set bit, nothing found is -1.
pub fn bitpos<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    bit: bool,
    range: BitRange,
) -> CmdResult {
    let Some(r) = string_record(lookup_read(s, at, key)?)? else {
        return Ok(Reply::Integer(if bit { -1 } else { 0 }));
    };
    let len = value::len(&r);
    let (bits, end_given) = match range {
        BitRange::Invalid(e) => return Err(range_error(e)),
        // Only BITCOUNT's parser produces `Empty`; it selects nothing.
        BitRange::Empty => (None, true),
        BitRange::Whole => (span_bits(len, 0, -1, false), false),
        BitRange::Span { start, end, bits } => (
            span_bits(len, start, end.unwrap_or(-1), bits),
            end.is_some(),
        ),
    };
    let Some((first, last)) = bits else {
        return Ok(Reply::Integer(-1));
    };
    let found = walk(s, at.db, key, &r, (first, last), |at_bit, b, mask| {
        // Bits outside the range read as the opposite of what is sought.
        let b = if bit { b & mask } else { b | !mask };
        let hit = if bit { b } else { !b };
        if hit == 0 {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(at_bit + u64::from(hit.leading_zeros()))
        }
    })?;
    Ok(Reply::Integer(match found {
        Some(pos) => pos as i64,
        None if bit || end_given => -1,
        None => last as i64 + 1,
    }))
}

/// `BITOP`: stores the operation over the sources (missing ones are empty strings,
/// shorter ones zero-padded) at `dest`, replacing whatever it held and its expiry; an
/// empty result deletes `dest`. The reply is the result's length.
pub fn bitop<'k, W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    op: BitOpKind,
    dest: &[u8],
    keys: impl Iterator<Item = &'k [u8]>,
) -> CmdResult {
    let mut sources = Vec::new();
    for key in keys {
        let r = lookup_write(w, at, key)?;
        w.services().stats().note_lookup(r.is_some());
        sources.push(match string_record(r)? {
            Some(r) => value::read_all(w, at.db, key, r)?,
            None => Vec::new(),
        });
    }
    let len = sources.iter().map(Vec::len).max().unwrap_or(0);
    let old = lookup_write(w, at, dest)?;
    if len == 0 {
        remove_record(w, at.db, dest, old.as_ref());
        return Ok(Reply::Integer(0));
    }
    let mut out = vec![0u8; len];
    if let Some((head, rest)) = sources.split_first() {
        out[..head.len()].copy_from_slice(head);
        match op {
            BitOpKind::Not => out.iter_mut().for_each(|b| *b = !*b),
            BitOpKind::And => {
                for src in rest {
                    // Past a source's end its bytes are 0: AND clears the tail.
                    for (i, o) in out.iter_mut().enumerate() {
                        *o &= src.get(i).copied().unwrap_or(0);
                    }
                }
            }
            BitOpKind::Or | BitOpKind::Xor => {
                for src in rest {
                    for (o, s) in out.iter_mut().zip(src) {
                        if op == BitOpKind::Or {
                            *o |= s;
                        } else {
                            *o ^= s;
                        }
                    }
                }
            }
        }
    }
    value::store_new(w, at.db, dest, old.as_ref(), &out, 0);
    Ok(Reply::Integer(len as i64))
}

/// The bytes `[from, to)` holding the field of `ty` at bit `offset`.
fn field_bytes(ty: BitFieldType, offset: u64) -> (u64, u64) {
    (offset / 8, (offset + u64::from(ty.bits) - 1) / 8 + 1)
}

/// The field's bits as an unsigned number, most significant first; `window` starts at
/// the field's first byte and `shift` is the field's first bit within it.
fn get_bits(window: &[u8], shift: u64, bits: u8) -> u64 {
    (0..u64::from(bits)).fold(0, |v, i| {
        let p = shift + i;
        (v << 1) | u64::from((window[(p / 8) as usize] >> (7 - p % 8)) & 1)
    })
}

/// Writes the low `bits` bits of `v` as the field (see [`get_bits`]).
fn set_bits(window: &mut [u8], shift: u64, bits: u8, v: u64) {
    for i in 0..u64::from(bits) {
        let p = shift + i;
        let mask = 0x80u8 >> (p % 8);
        let byte = &mut window[(p / 8) as usize];
        if (v >> (u64::from(bits) - 1 - i)) & 1 == 1 {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
    }
}

/// A field's bits read as `ty` (sign-extended for `i<bits>`), as an `i64` reply.
fn typed(raw: u64, ty: BitFieldType) -> i64 {
    if ty.signed && ty.bits < 64 && raw & (1 << (ty.bits - 1)) != 0 {
        (raw | (u64::MAX << ty.bits)) as i64
    } else {
        raw as i64
    }
}

/// The bytes of the field of `ty` at `offset` of the string `r` (a missing key or bytes
/// past its end read as zeros).
fn field_window<S: StoreRead + ?Sized>(
    s: &S,
    db: u8,
    key: &[u8],
    r: Option<&Record>,
    ty: BitFieldType,
    offset: u64,
) -> Result<Vec<u8>, StorageError> {
    let (from, to) = field_bytes(ty, offset);
    let mut window = match r {
        Some(r) => value::read(s, db, key, r, from, to)?,
        None => Vec::new(),
    };
    window.resize((to - from) as usize, 0);
    Ok(window)
}

/// Redis's `checkUnsignedBitfieldOverflow`: `None` if `value + incr` fits `bits`, else
/// the wrapped or saturated value (unused for `FAIL`). Wrapping arithmetic as Redis's C.
fn unsigned_overflow(value: u64, incr: i64, bits: u8, mode: BitOverflow) -> Option<u64> {
    // Unsigned fields have at most 63 bits.
    let max = (1u64 << bits) - 1;
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = value.wrapping_neg() as i64;
    let wrapped = || value.wrapping_add(incr as u64) & max;
    if value > max || (incr > 0 && incr > max_incr) {
        Some(if mode == BitOverflow::Sat {
            max
        } else {
            wrapped()
        })
    } else if incr < 0 && incr < min_incr {
        Some(if mode == BitOverflow::Sat {
            0
        } else {
            wrapped()
        })
    } else {
        None
    }
}

/// Redis's `checkSignedBitfieldOverflow`, as [`unsigned_overflow`].
fn signed_overflow(value: i64, incr: i64, bits: u8, mode: BitOverflow) -> Option<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = (min as u64).wrapping_sub(value as u64) as i64;
    let wrapped = || {
        let c = (value as u64).wrapping_add(incr as u64);
        if bits == 64 {
            c as i64
        } else if c & (1 << (bits - 1)) != 0 {
            (c | (u64::MAX << bits)) as i64
        } else {
            (c & !(u64::MAX << bits)) as i64
        }
    };
    let wide = bits != 64;
    if value > max || (wide && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr) {
        Some(if mode == BitOverflow::Sat {
            max
        } else {
            wrapped()
        })
    } else if value < min || (wide && incr < min_incr) || (value < 0 && incr < 0 && incr < min_incr)
    {
        Some(if mode == BitOverflow::Sat {
            min
        } else {
            wrapped()
        })
    } else {
        None
    }
}

/// One `SET` or `INCRBY` on a field holding `raw`: the reply and the bits to store, or
/// `None` when the overflow mode is `FAIL` and it overflowed.
fn apply(raw: u64, ty: BitFieldType, op: &BitFieldOp) -> Option<(i64, u64)> {
    let (n, is_incr, mode) = match *op {
        BitFieldOp::Set {
            value, overflow, ..
        } => (value, false, overflow),
        BitFieldOp::IncrBy {
            delta, overflow, ..
        } => (delta, true, overflow),
        BitFieldOp::Get { .. } => return None,
    };
    if ty.signed {
        let old = typed(raw, ty);
        let (value, incr) = if is_incr { (old, n) } else { (n, 0) };
        let over = signed_overflow(value, incr, ty.bits, mode);
        if over.is_some() && mode == BitOverflow::Fail {
            return None;
        }
        let new = over.unwrap_or_else(|| value.wrapping_add(incr));
        Some((if is_incr { new } else { old }, new as u64))
    } else {
        let (value, incr) = if is_incr { (raw, n) } else { (n as u64, 0) };
        let over = unsigned_overflow(value, incr, ty.bits, mode);
        if over.is_some() && mode == BitOverflow::Fail {
            return None;
        }
        let new = over.unwrap_or_else(|| value.wrapping_add(incr as u64));
        Some((if is_incr { new as i64 } else { raw as i64 }, new))
    }
}

fn field_of(op: &BitFieldOp) -> (BitFieldType, u64) {
    match *op {
        BitFieldOp::Get { ty, offset }
        | BitFieldOp::Set { ty, offset, .. }
        | BitFieldOp::IncrBy { ty, offset, .. } => (ty, offset),
    }
}

/// The replies of `GET`s on the string `r` (`None`: a missing key, all zeros).
fn gets<S: StoreRead + ?Sized>(
    s: &S,
    db: u8,
    key: &[u8],
    r: Option<&Record>,
    ops: &[BitFieldOp],
) -> CmdResult {
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        let (ty, offset) = field_of(op);
        let window = field_window(s, db, key, r, ty, offset)?;
        out.push(Reply::Integer(typed(
            get_bits(&window, offset % 8, ty.bits),
            ty,
        )));
    }
    Ok(Reply::Array(out))
}

/// `BITFIELD_RO` (only `GET`s, checked by the parser).
pub fn bitfield_ro<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    ops: &[BitFieldOp],
) -> CmdResult {
    let r = string_record(lookup_read(s, at, key)?)?;
    gets(s, at.db, key, r.as_ref(), ops)
}

/// `BITFIELD`: one reply per `GET`/`SET`/`INCRBY`, in order (nil for an overflow under
/// `FAIL`). With only `GET`s it reads and creates nothing; otherwise, as Redis, it first
/// creates or zero-extends the string to cover the farthest field written, then runs each
/// operation on the bytes of its field.
pub fn bitfield<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    ops: &[BitFieldOp],
) -> CmdResult {
    let highest = ops
        .iter()
        .filter(|op| !matches!(op, BitFieldOp::Get { .. }))
        .map(|op| {
            let (ty, offset) = field_of(op);
            offset + u64::from(ty.bits) - 1
        })
        .max();
    let old = string_record(lookup_write(w, at, key)?)?;
    let Some(highest) = highest else {
        w.services().stats().note_lookup(old.is_some());
        return gets(w, at.db, key, old.as_ref(), ops);
    };
    let need = highest / 8 + 1;
    if old.as_ref().is_none_or(|r| value::len(r) < need) {
        value::write_at_chunked(w, at.db, key, old, need, &[], value::BITMAP_CHUNK_SIZE)?;
    }
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        let r = string_record(lookup_write(w, at, key)?)?;
        let (ty, offset) = field_of(op);
        let mut window = field_window(w, at.db, key, r.as_ref(), ty, offset)?;
        let shift = offset % 8;
        let raw = get_bits(&window, shift, ty.bits);
        if let BitFieldOp::Get { .. } = op {
            out.push(Reply::Integer(typed(raw, ty)));
            continue;
        }
        match apply(raw, ty, op) {
            None => out.push(Reply::Nil),
            Some((reply, new)) => {
                out.push(Reply::Integer(reply));
                set_bits(&mut window, shift, ty.bits, new);
                if get_bits(&window, shift, ty.bits) != raw {
                    value::write_at_chunked(
                        w,
                        at.db,
                        key,
                        r,
                        offset / 8,
                        &window,
                        value::BITMAP_CHUNK_SIZE,
                    )?;
                }
            }
        }
    }
    Ok(Reply::Array(out))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tandem_engine::KvEngine;

    use super::*;
    use crate::engine::{keys, Cf};
    use crate::types::string_value::BITMAP_CHUNK_SIZE as CHUNK_SIZE;
    use crate::types::testing::{TestDb, MODEL_CASES};

    fn int_of(r: CmdResult) -> i64 {
        match r {
            Ok(Reply::Integer(n)) => n,
            other => panic!("expected an integer reply, got {other:?}"),
        }
    }

    /// The chunk indexes of `key` at its current version.
    fn chunks<E: KvEngine>(db: &TestDb<E>, key: &[u8]) -> Vec<u32> {
        let r = db
            .read(|s, at| super::super::lookup(s, at, key))
            .unwrap()
            .expect("the key exists");
        let prefix = keys::sub_prefix(0, key, r.version);
        let end = keys::prefix_end(&prefix).unwrap();
        let mut out = Vec::new();
        db.read(|s, _| {
            s.scan(Cf::Sub, &prefix, &end, &mut |k, _| {
                out.push(u32::from_be_bytes(k[prefix.len()..].try_into().unwrap()));
                true
            })
        })
        .unwrap();
        out
    }

    #[test]
    fn a_far_setbit_writes_one_chunk_and_later_bits_only_theirs() {
        let mut db = TestDb::open();
        let far = u64::from(u32::MAX);
        assert_eq!(int_of(db.write(|w, at| setbit(w, at, b"b", far, true))), 0);
        let last = (far / 8 / u64::from(CHUNK_SIZE)) as u32;
        assert_eq!(chunks(&db, b"b"), vec![last]);
        assert_eq!(int_of(db.write(|w, at| setbit(w, at, b"b", 9, true))), 0);
        assert_eq!(int_of(db.write(|w, at| setbit(w, at, b"b", 9, true))), 1);
        assert_eq!(chunks(&db, b"b"), vec![0, last]);
        assert_eq!(int_of(db.read(|s, at| getbit(s, at, b"b", far))), 1);
        assert_eq!(int_of(db.read(|s, at| getbit(s, at, b"b", far - 1))), 0);
        let tail = BitRange::Span {
            start: -2,
            end: Some(-1),
            bits: false,
        };
        assert_eq!(int_of(db.read(|s, at| bitcount(s, at, b"b", tail))), 1);
        let from_one = BitRange::Span {
            start: 10,
            end: None,
            bits: true,
        };
        let pos = db.read(|s, at| bitpos(s, at, b"b", true, from_one));
        assert_eq!(int_of(pos), far as i64);
    }

    #[test]
    fn bitfield_on_a_512_mib_bitmap_writes_only_its_field() {
        let mut db = TestDb::open();
        db.write(|w, at| setbit(w, at, b"b", u64::from(u32::MAX), true))
            .unwrap();
        let (u16t, i64t) = (
            BitFieldType {
                signed: false,
                bits: 16,
            },
            BitFieldType {
                signed: true,
                bits: 64,
            },
        );
        // A field across the boundary of chunks 5 and 6, and one at the very end.
        let edge = u64::from(CHUNK_SIZE) * 6 * 8 - 8;
        let ops = [
            BitFieldOp::Set {
                ty: u16t,
                offset: edge,
                value: 0xffff,
                overflow: BitOverflow::Wrap,
            },
            BitFieldOp::IncrBy {
                ty: i64t,
                offset: u64::from(u32::MAX) - 63,
                delta: -2,
                overflow: BitOverflow::Sat,
            },
            BitFieldOp::Get {
                ty: u16t,
                offset: edge - 4,
            },
        ];
        let r = db.write(|w, at| bitfield(w, at, b"b", &ops));
        assert_eq!(
            r,
            Ok(Reply::Array(vec![
                Reply::Integer(0),
                Reply::Integer(-1),
                Reply::Integer(0x0fff),
            ]))
        );
        let last = (u64::from(u32::MAX) / 8 / u64::from(CHUNK_SIZE)) as u32;
        assert_eq!(chunks(&db, b"b"), vec![5, 6, last]);
        let len = db
            .read(|s, at| lookup_read(s, at, b"b"))
            .unwrap()
            .map(|r| value::len(&r));
        assert_eq!(len, Some(512 * 1024 * 1024));
    }

    #[test]
    fn overflow_checks_follow_redis() {
        use BitOverflow::*;
        assert_eq!(unsigned_overflow(250, 10, 8, Wrap), Some(4));
        assert_eq!(unsigned_overflow(250, 10, 8, Sat), Some(255));
        assert_eq!(unsigned_overflow(5, -6, 8, Sat), Some(0));
        assert_eq!(unsigned_overflow(5, -5, 8, Sat), None);
        // A negative SET value is a huge unsigned one: it saturates high.
        assert_eq!(unsigned_overflow(-1i64 as u64, 0, 8, Sat), Some(255));
        assert_eq!(signed_overflow(127, 1, 8, Wrap), Some(-128));
        assert_eq!(signed_overflow(-128, -1, 8, Sat), Some(-128));
        assert_eq!(signed_overflow(i64::MAX, 1, 64, Wrap), Some(i64::MIN));
        assert_eq!(signed_overflow(i64::MIN, -1, 64, Sat), Some(i64::MIN));
        assert_eq!(signed_overflow(-5, 3, 4, Sat), None);
        // As Redis's wrapping C: a SET of i64::MIN into i8 overflows high.
        assert_eq!(signed_overflow(i64::MIN, 0, 8, Sat), Some(127));
    }

    #[test]
    fn another_type_is_wrongtype_and_bitop_replaces_it() {
        let mut db = TestDb::open();
        db.write(|w, at| crate::types::set::sadd(w, at, b"l", [&b"x"[..]].into_iter()))
            .unwrap();
        assert_eq!(
            db.write(|w, at| setbit(w, at, b"l", 1, true)),
            Err(StorageError::WrongType)
        );
        assert_eq!(
            db.read(|s, at| bitcount(s, at, b"l", BitRange::Whole)),
            Err(StorageError::WrongType)
        );
        db.write(|w, at| setbit(w, at, b"s", 0, true)).unwrap();
        let r = db.write(|w, at| bitop(w, at, BitOpKind::Not, b"l", [&b"s"[..]].into_iter()));
        assert_eq!(int_of(r), 1);
        assert_eq!(int_of(db.read(|s, at| getbit(s, at, b"l", 1))), 1);
    }

    /// Redis's reading of a `BYTE|BIT` range, bit by bit: the model for [`walk`].
    fn model_bits(v: &[u8], start: i64, end: i64, bits: bool) -> Vec<(u64, bool)> {
        match span_bits(v.len() as u64, start, end, bits) {
            None => Vec::new(),
            Some((first, last)) => (first..=last)
                .map(|i| (i, v[(i / 8) as usize] & (0x80 >> (i % 8)) != 0))
                .collect(),
        }
    }

    fn values_behave_like_a_bit_vector<E: KvEngine>(
        mut db: TestDb<E>,
        sets: Vec<(u64, bool)>,
        queries: Vec<(i64, i64, bool, bool)>,
    ) -> Result<(), TestCaseError> {
        let mut model: Vec<u8> = Vec::new();
        for (offset, on) in sets {
            let (index, mask) = locate(offset);
            if model.len() <= index as usize {
                model.resize(index as usize + 1, 0);
            }
            let was = model[index as usize] & mask != 0;
            model[index as usize] = if on {
                model[index as usize] | mask
            } else {
                model[index as usize] & !mask
            };
            let got = int_of(db.write(|w, at| setbit(w, at, b"b", offset, on)));
            prop_assert_eq!(got, i64::from(was));
        }
        for (start, end, bits, bit) in queries {
            let span = model_bits(&model, start, end, bits);
            let range = BitRange::Span {
                start,
                end: Some(end),
                bits,
            };
            let count = span.iter().filter(|(_, b)| *b).count() as i64;
            prop_assert_eq!(int_of(db.read(|s, at| bitcount(s, at, b"b", range))), count);
            let pos = span
                .iter()
                .find(|(_, b)| *b == bit)
                .map_or(-1, |(i, _)| *i as i64);
            prop_assert_eq!(
                int_of(db.read(|s, at| bitpos(s, at, b"b", bit, range))),
                pos
            );
        }
        Ok(())
    }

    fn sets() -> impl Strategy<Value = Vec<(u64, bool)>> {
        // Offsets across the inline limit (64 KiB = 524 288 bits) and chunk boundaries.
        proptest::collection::vec((0u64..1_200_000, any::<bool>()), 1..40)
    }

    fn queries() -> impl Strategy<Value = Vec<(i64, i64, bool, bool)>> {
        let index = -1_300_000i64..1_300_000;
        proptest::collection::vec((index.clone(), index, any::<bool>(), any::<bool>()), 1..8)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(MODEL_CASES / 10))]

        #[test]
        fn bits_behave_like_a_bit_vector_in_memory(sets in sets(), queries in queries()) {
            values_behave_like_a_bit_vector(TestDb::open(), sets, queries)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn bits_behave_like_a_bit_vector_on_rocksdb(sets in sets(), queries in queries()) {
            values_behave_like_a_bit_vector(TestDb::open_rocks(), sets, queries)?;
        }
    }
}
