//! The sparse encoding: after the header, a run-length sequence of opcodes covering the
//! [`REGISTERS`] registers in order.
//!
//! - `ZERO`  `00xxxxxx`: 1 to 64 registers at 0;
//! - `XZERO` `01xxxxxx yyyyyyyy`: 1 to 16384 registers at 0 (14 bits, big end first);
//! - `VAL`   `1vvvvvxx`: 1 to 4 registers at 1 to 32.
//!
//! Owns reading and editing that sequence exactly as Redis 7.0 does, so the bytes a
//! sequence of commands leaves are Redis's (`hllSparseSet`'s split and merge steps, its
//! promotion to dense). The bytes come from clients (`SET` can store anything after a
//! `HYLL` header), so every read is bounds-checked: where Redis reads the byte just past
//! the end (an `XZERO` cut in half) it reads the SDS terminator, a zero, and so does this
//! code; a sequence that does not cover exactly the registers is [`Corrupt`].

use super::{dense, Corrupt, DENSE_BYTES, ENCODING_DENSE, HDR_SIZE, REGISTERS};

const XZERO_BIT: u8 = 0x40;
const VAL_BIT: u8 = 0x80;
/// The largest register value a `VAL` opcode holds; a larger one makes the value dense.
pub const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
const XZERO_MAX_LEN: usize = 16384;

/// One decoded opcode: the registers it covers and their value, and its size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Op {
    /// 0 for `ZERO` and `XZERO`.
    value: u8,
    span: usize,
    len: usize,
    xzero: bool,
}

fn is_zero(b: u8) -> bool {
    b & 0xc0 == 0
}

fn is_xzero(b: u8) -> bool {
    b & 0xc0 == XZERO_BIT
}

fn is_val(b: u8) -> bool {
    b & VAL_BIT != 0
}

fn val_value(b: u8) -> u8 {
    ((b >> 2) & 0x1f) + 1
}

fn val_len(b: u8) -> usize {
    usize::from(b & 0x3) + 1
}

fn val(value: u8, len: usize) -> u8 {
    // value in 1..=32 and len in 1..=4 by every caller.
    ((value - 1) << 2 | (len - 1) as u8) | VAL_BIT
}

fn zero(len: usize) -> u8 {
    (len - 1) as u8
}

fn xzero(len: usize) -> [u8; 2] {
    let l = len - 1;
    [(l >> 8) as u8 | XZERO_BIT, (l & 0xff) as u8]
}

/// The byte at `i` of `v`, or the SDS terminator (0) Redis would read just past the end.
fn byte(v: &[u8], i: usize) -> u8 {
    v.get(i).copied().unwrap_or(0)
}

/// The opcode at `p` (`p` inside `v`).
fn op_at(v: &[u8], p: usize) -> Op {
    let b = v[p];
    if is_zero(b) {
        Op {
            value: 0,
            span: usize::from(b & 0x3f) + 1,
            len: 1,
            xzero: false,
        }
    } else if is_xzero(b) {
        Op {
            value: 0,
            span: ((usize::from(b & 0x3f) << 8) | usize::from(byte(v, p + 1))) + 1,
            len: 2,
            xzero: true,
        }
    } else {
        Op {
            value: val_value(b),
            span: val_len(b),
            len: 1,
            xzero: false,
        }
    }
}

/// The opcodes of the value `v` (header included), in order.
fn ops(v: &[u8]) -> impl Iterator<Item = Op> + '_ {
    let mut p = HDR_SIZE;
    std::iter::from_fn(move || {
        (p < v.len()).then(|| {
            let op = op_at(v, p);
            p += op.len;
            op
        })
    })
}

/// A new value's body: every register at 0 (one `XZERO`).
pub fn empty_body() -> Vec<u8> {
    let mut body = Vec::with_capacity(2);
    let mut left = REGISTERS;
    while left > 0 {
        let n = left.min(XZERO_MAX_LEN);
        body.extend_from_slice(&xzero(n));
        left -= n;
    }
    body
}

/// Calls `f(first, span, value)` for each run of non-zero registers, checking that runs
/// stay inside the registers as redis-server 7.0.15's `hllSparseToDense`/`hllMerge` do (a
/// `VAL` past the end is corrupt at once), and that the opcodes cover exactly the
/// registers.
fn walk_values(v: &[u8], mut f: impl FnMut(usize, usize, u8)) -> Result<(), Corrupt> {
    let mut idx = 0usize;
    for op in ops(v) {
        if op.value == 0 {
            idx += op.span;
        } else {
            if idx + op.span > REGISTERS {
                return Err(Corrupt);
            }
            f(idx, op.span, op.value);
            idx += op.span;
        }
    }
    if idx == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// The dense value with the same registers: the header copied (magic, cached cardinality
/// and its validity, the unused bytes) with the dense encoding byte.
///
/// # Errors
/// [`Corrupt`] if the opcodes do not cover exactly the registers.
pub fn to_dense(v: &[u8]) -> Result<Vec<u8>, Corrupt> {
    let mut out = vec![0u8; HDR_SIZE + DENSE_BYTES];
    out[..HDR_SIZE].copy_from_slice(&v[..HDR_SIZE]);
    out[4] = ENCODING_DENSE;
    let registers = &mut out[HDR_SIZE..];
    walk_values(v, |first, span, value| {
        for i in first..first + span {
            dense::put(registers, i, value);
        }
    })?;
    Ok(out)
}

/// Raises each of `max` (one byte per register) to this value's registers.
///
/// # Errors
/// [`Corrupt`] as [`to_dense`]; `max` may then hold part of the value.
pub fn merge_into(v: &[u8], max: &mut [u8]) -> Result<(), Corrupt> {
    walk_values(v, |first, span, value| {
        for m in &mut max[first..first + span] {
            if value > *m {
                *m = value;
            }
        }
    })
}

/// Adds each register's value to `histogram` (Redis's `hllSparseRegHisto`; Redis counts
/// every opcode before it reports a sequence that covers too many registers, and its
/// caller then drops the histogram, so stopping at the first excess register is the same).
/// `histogram` holds partial counts after an error.
///
/// # Errors
/// [`Corrupt`] when the opcodes cover more or fewer registers than there are.
pub fn histogram(v: &[u8], histogram: &mut [u32; 64]) -> Result<(), Corrupt> {
    let mut idx = 0usize;
    for op in ops(v) {
        idx += op.span;
        if idx > REGISTERS {
            // Corrupt whatever follows; stopping here keeps the counts below 2^14 each.
            return Err(Corrupt);
        }
        histogram[usize::from(op.value)] += op.span as u32;
    }
    if idx == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// What [`set`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOutcome {
    /// The register already held at least the count.
    Unchanged,
    /// The register was raised in the sparse sequence.
    Updated,
    /// The count (over [`VAL_MAX_VALUE`]) or the size the sequence would grow to (over
    /// `max_bytes`) needs the dense encoding: the caller converts and sets it there.
    Promote,
}

/// Raises register `index` to `count` in the sparse value `v`, as Redis's `hllSparseSet`
/// does byte for byte: the opcode covering it is split into at most three, then adjacent
/// equal `VAL`s around it are merged, and the cached cardinality is marked invalid.
///
/// # Errors
/// [`Corrupt`] when no opcode covers `index`.
pub fn set(
    v: &mut Vec<u8>,
    index: usize,
    count: u8,
    max_bytes: usize,
) -> Result<SetOutcome, Corrupt> {
    if count > VAL_MAX_VALUE {
        return Ok(SetOutcome::Promote);
    }
    // Step 1: the opcode covering `index`, the one before it, and its first register.
    let end = v.len();
    let mut p = HDR_SIZE;
    let mut first = 0usize;
    let mut prev = None;
    let mut found = None;
    while p < end {
        let op = op_at(v, p);
        if index < first + op.span {
            found = Some(op);
            break;
        }
        prev = Some(p);
        p += op.len;
        first += op.span;
    }
    let Some(op) = found else {
        return Err(Corrupt);
    };
    let next = p + op.len;
    let has_next = next < end;

    // Step 2: the trivial updates in place, else the split sequence.
    if op.value != 0 && op.value >= count {
        return Ok(SetOutcome::Unchanged);
    }
    if op.span == 1 && !op.xzero {
        // A VAL of one register (lower) or a ZERO of one: replaced by one VAL.
        v[p] = val(count, 1);
    } else {
        let last = first + op.span - 1;
        let mut seq = Vec::with_capacity(5);
        let run = |seq: &mut Vec<u8>, len: usize| {
            if op.value != 0 {
                seq.push(val(op.value, len));
            } else if len > ZERO_MAX_LEN {
                seq.extend_from_slice(&xzero(len));
            } else {
                seq.push(zero(len));
            }
        };
        if index != first {
            run(&mut seq, index - first);
        }
        seq.push(val(count, 1));
        if index != last {
            run(&mut seq, last - index);
        }
        // Step 3: put the sequence in place of the opcode.
        let grows = seq.len() > op.len;
        if grows && end + seq.len() - op.len > max_bytes {
            return Ok(SetOutcome::Promote);
        }
        // Redis's length arithmetic assumes the whole opcode is inside the value; an XZERO
        // cut at the end (its second byte the terminator) leaves the new length one short,
        // dropping the sequence's last byte, as Redis does.
        let new_len = end + seq.len() - op.len;
        let tail = if has_next {
            v[next..end].to_vec()
        } else {
            Vec::new()
        };
        v.truncate(p);
        v.extend_from_slice(&seq);
        v.extend_from_slice(&tail);
        v.truncate(new_len);
    }

    // Step 4: merge adjacent VALs of one value, scanning up to 5 opcodes from `prev`.
    let mut p = prev.unwrap_or(HDR_SIZE);
    let mut scan = 5;
    while p < v.len() && scan > 0 {
        scan -= 1;
        let b = v[p];
        if is_xzero(b) {
            p += 2;
            continue;
        }
        if is_zero(b) {
            p += 1;
            continue;
        }
        if let Some(&b2) = v.get(p + 1) {
            if is_val(b2) && val_value(b) == val_value(b2) {
                let len = val_len(b) + val_len(b2);
                if len <= VAL_MAX_LEN {
                    v[p + 1] = val(val_value(b), len);
                    v.remove(p);
                    continue;
                }
            }
        }
        p += 1;
    }
    super::invalidate(v);
    Ok(SetOutcome::Updated)
}

/// `PFDEBUG DECODE`'s text: `z:len` for a ZERO, `Z:len` for an XZERO, `v:value,len` for a
/// VAL, separated by spaces.
pub fn decode(v: &[u8]) -> String {
    let mut out = Vec::new();
    let mut p = HDR_SIZE;
    while p < v.len() {
        let op = op_at(v, p);
        let b = v[p];
        out.push(if is_zero(b) {
            format!("z:{}", op.span)
        } else if op.xzero {
            format!("Z:{}", op.span)
        } else {
            format!("v:{},{}", op.value, op.span)
        });
        p += op.len;
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::hyperloglog::{new_value, SPARSE_MAX_BYTES};

    fn body(v: &[u8]) -> &[u8] {
        &v[HDR_SIZE..]
    }

    fn registers(v: &[u8]) -> Vec<u8> {
        let mut max = vec![0u8; REGISTERS];
        merge_into(v, &mut max).expect("valid");
        max
    }

    #[test]
    fn a_new_value_is_one_xzero() {
        let v = new_value();
        assert_eq!(body(&v), [0x7f, 0xff]);
        assert_eq!(decode(&v), "Z:16384");
        let mut h = [0u32; 64];
        histogram(&v, &mut h).expect("valid");
        assert_eq!(h[0], REGISTERS as u32);
    }

    #[test]
    fn splits_merges_and_their_bytes() {
        let mut v = new_value();
        assert_eq!(set(&mut v, 0, 3, SPARSE_MAX_BYTES), Ok(SetOutcome::Updated));
        // VAL(3,1) XZERO(16383).
        assert_eq!(body(&v), [0x88, 0x7f, 0xfe]);
        assert_eq!(
            set(&mut v, 0, 2, SPARSE_MAX_BYTES),
            Ok(SetOutcome::Unchanged)
        );
        assert_eq!(set(&mut v, 1, 3, SPARSE_MAX_BYTES), Ok(SetOutcome::Updated));
        // The new VAL(3,1) merges with the one before it: VAL(3,2).
        assert_eq!(decode(&v), "v:3,2 Z:16382");
        set(&mut v, 100, 5, SPARSE_MAX_BYTES).expect("valid");
        assert_eq!(decode(&v), "v:3,2 Z:98 v:5,1 Z:16283");
        set(&mut v, 40, 1, SPARSE_MAX_BYTES).expect("valid");
        // Runs of up to 64 zeros are ZEROs, longer ones XZEROs.
        assert_eq!(decode(&v), "v:3,2 z:38 v:1,1 z:59 v:5,1 Z:16283");
        let regs = registers(&v);
        assert_eq!(
            (regs[0], regs[1], regs[40], regs[100], regs[101]),
            (3, 3, 1, 5, 0)
        );
        // A split VAL: its value on both sides.
        set(&mut v, 1, 4, SPARSE_MAX_BYTES).expect("valid");
        assert_eq!(decode(&v), "v:3,1 v:4,1 z:38 v:1,1 z:59 v:5,1 Z:16283");
        // The cache is marked invalid by every update.
        assert_eq!(v[15] & 0x80, 0x80);
    }

    #[test]
    fn large_counts_and_large_sequences_ask_for_dense() {
        let mut v = new_value();
        assert_eq!(
            set(&mut v, 7, 33, SPARSE_MAX_BYTES),
            Ok(SetOutcome::Promote)
        );
        assert_eq!(
            set(&mut v, 7, 32, SPARSE_MAX_BYTES),
            Ok(SetOutcome::Updated)
        );
        let len = v.len();
        // An XZERO split in the middle grows by 3 bytes.
        assert_eq!(set(&mut v, 5000, 1, len + 2), Ok(SetOutcome::Promote));
        assert_eq!(v.len(), len);
        assert_eq!(set(&mut v, 5000, 1, len + 3), Ok(SetOutcome::Updated));
        assert_eq!(v.len(), len + 3);
    }

    #[test]
    fn dense_conversion_keeps_the_header_and_the_registers() {
        let mut v = new_value();
        for (i, c) in [(0, 1), (5, 7), (16383, 32), (9000, 2)] {
            set(&mut v, i, c, SPARSE_MAX_BYTES).expect("valid");
        }
        v[6] = 0xab; // an unused byte travels as is
        let d = to_dense(&v).expect("valid");
        assert_eq!(d.len(), HDR_SIZE + DENSE_BYTES);
        assert_eq!(&d[..4], b"HYLL");
        assert_eq!(d[4], ENCODING_DENSE);
        assert_eq!(d[5..HDR_SIZE], v[5..HDR_SIZE]);
        let regs = &d[HDR_SIZE..];
        for i in 0..REGISTERS {
            assert_eq!(dense::get(regs, i), registers(&v)[i], "register {i}");
        }
    }

    #[test]
    fn corrupt_sequences_are_refused_without_reading_past_the_end() {
        let header = new_value()[..HDR_SIZE].to_vec();
        let with = |body: &[u8]| [header.as_slice(), body].concat();
        let cases: Vec<Vec<u8>> = vec![
            with(&[]),                 // no opcode
            with(&[0x7f]),             // XZERO cut in half: 0x3f00 + 1 registers
            with(&[0x7f, 0xfe]),       // one register short
            with(&[0x7f, 0xff, 0x80]), // a VAL past the end
            with(&[0x7f, 0xff, 0x7f, 0xff]),
            with(&[0xff; 5000]), // VALs far past the last register
            with(&[0x3f; 300]),  // ZEROs past the end
        ];
        for v in &cases {
            let mut h = [0u32; 64];
            assert_eq!(histogram(v, &mut h), Err(Corrupt), "{v:02x?}");
            assert_eq!(to_dense(v), Err(Corrupt), "{v:02x?}");
            let mut max = vec![0u8; REGISTERS];
            assert_eq!(merge_into(v, &mut max), Err(Corrupt), "{v:02x?}");
            let _ = decode(v);
        }
        // Setting a register no opcode reaches is refused; one inside a short sequence works
        // (Redis only checks the whole sequence when it counts or converts).
        let mut short = with(&[0x7f, 0xfe]);
        assert_eq!(set(&mut short, 16383, 1, SPARSE_MAX_BYTES), Err(Corrupt));
        assert_eq!(
            set(&mut short, 0, 1, SPARSE_MAX_BYTES),
            Ok(SetOutcome::Updated)
        );
        // An XZERO cut in half at the end, split: Redis's length arithmetic drops a byte.
        let mut cut = with(&[0x7f]);
        assert_eq!(
            set(&mut cut, 3, 1, SPARSE_MAX_BYTES),
            Ok(SetOutcome::Updated)
        );
        assert_eq!(body(&cut), [0x02, 0x80, 0x7e]);
        assert_eq!(decode(&with(&[])), "");
        assert_eq!(decode(&with(&[0x7f])), "Z:16129");
    }
}
