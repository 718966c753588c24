//! Bitmaps: GETBIT, BITCOUNT, BITPOS, BITFIELD_RO; SETBIT, BITOP, BITFIELD.

use rkyv::vec::ArchivedVec;
use tandem_shared::command::ArchivedScanOptionError;
use tandem_shared::command::{
    ArchivedBitFieldOp, ArchivedBitFieldType, ArchivedBitOpKind, ArchivedBitOverflow,
    ArchivedBitRange, ArchivedCommand,
};
use tandem_shared::{
    BitFieldOp, BitFieldType, BitOpKind, BitOverflow, BitRange, Reply, ScanOptionError,
};

use super::arm::{done, key_slices};
use crate::engine::group::WriteGroup;
use crate::engine::{KvEngine, StoreRead};
use crate::events::Flags;
use crate::types::bitmap;
use crate::types::{At, CmdResult};

const STR: u32 = Flags::STRING;

/// The light reads (see [`super::is_light_read`]): GETBIT reads one byte; BITCOUNT counts
/// at most an inline value's bytes there (a longer range makes the in-memory view give
/// up, `StoreRead::yield_heavy_read`, and the read pool counts it).
pub(super) fn light(cmd: &ArchivedCommand) -> bool {
    matches!(
        cmd,
        ArchivedCommand::GetBit { .. } | ArchivedCommand::BitCount { .. }
    )
}

/// The read-only bitmap commands; `None` for any other command.
pub(super) fn read<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    use ArchivedCommand as C;
    Some(match cmd {
        C::GetBit { key, offset } => bitmap::getbit(s, at, key, offset.to_native()),
        C::BitCount { key, range } => bitmap::bitcount(s, at, key, bit_range(range)),
        C::BitPos { key, bit, range } => bitmap::bitpos(s, at, key, *bit, bit_range(range)),
        C::BitFieldRo { key, ops } => bitmap::bitfield_ro(s, at, key, &field_ops(ops)),
        _ => return None,
    })
}

/// The bitmap commands that write, each with its keyspace events; `None` for any other.
pub(super) fn write<E: KvEngine>(
    w: &mut WriteGroup<'_, E>,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    use ArchivedCommand as C;
    let db = at.db;
    Some(match cmd {
        C::SetBit { key, offset, on } => {
            let r = bitmap::setbit(w, at, key, offset.to_native(), *on);
            done(w, r, |e, _| {
                // Redis signals only a created or extended string or a flipped bit.
                if e.touched(db, key) {
                    e.write(STR, "setbit", db, key);
                }
            })
        }
        C::BitOp { op, dest, keys } => {
            let r = bitmap::bitop(w, at, bit_op(op), dest, key_slices(keys).into_iter());
            done(w, r, |e, reply| e.store(STR, "set", db, dest, reply))
        }
        C::BitField { key, ops } => {
            let r = bitmap::bitfield(w, at, key, &field_ops(ops));
            done(w, r, |e, reply| {
                if !e.touched(db, key) {
                    return;
                }
                // Redis signals `setbit` once a SET/INCRBY ran (not failed under OVERFLOW
                // FAIL) on a created or extended string or changed its field; a string
                // created for writes that all failed only gets `new`.
                let ran = match reply {
                    Reply::Array(replies) => ops.iter().zip(replies).any(|(op, r)| {
                        !matches!(op, ArchivedBitFieldOp::Get { .. }) && *r != Reply::Nil
                    }),
                    _ => false,
                };
                if ran {
                    e.write(STR, "setbit", db, key);
                } else if !e.was_live(db, key) {
                    e.new_key(db, key);
                }
            })
        }
        _ => return None,
    })
}

fn bit_range(r: &ArchivedBitRange) -> BitRange {
    match r {
        ArchivedBitRange::Whole => BitRange::Whole,
        ArchivedBitRange::Span { start, end, bits } => BitRange::Span {
            start: start.to_native(),
            end: end.as_ref().map(|e| e.to_native()),
            bits: *bits,
        },
        ArchivedBitRange::Empty => BitRange::Empty,
        ArchivedBitRange::Invalid(e) => BitRange::Invalid(match e {
            ArchivedScanOptionError::Syntax => ScanOptionError::Syntax,
            ArchivedScanOptionError::NotInteger => ScanOptionError::NotInteger,
        }),
    }
}

fn bit_op(op: &ArchivedBitOpKind) -> BitOpKind {
    match op {
        ArchivedBitOpKind::And => BitOpKind::And,
        ArchivedBitOpKind::Or => BitOpKind::Or,
        ArchivedBitOpKind::Xor => BitOpKind::Xor,
        ArchivedBitOpKind::Not => BitOpKind::Not,
    }
}

fn field_ops(ops: &ArchivedVec<ArchivedBitFieldOp>) -> Vec<BitFieldOp> {
    let ty = |t: &ArchivedBitFieldType| BitFieldType {
        signed: t.signed,
        bits: t.bits,
    };
    let mode = |o: &ArchivedBitOverflow| match o {
        ArchivedBitOverflow::Wrap => BitOverflow::Wrap,
        ArchivedBitOverflow::Sat => BitOverflow::Sat,
        ArchivedBitOverflow::Fail => BitOverflow::Fail,
    };
    ops.iter()
        .map(|op| match op {
            ArchivedBitFieldOp::Get { ty: t, offset } => BitFieldOp::Get {
                ty: ty(t),
                offset: offset.to_native(),
            },
            ArchivedBitFieldOp::Set {
                ty: t,
                offset,
                value,
                overflow,
            } => BitFieldOp::Set {
                ty: ty(t),
                offset: offset.to_native(),
                value: value.to_native(),
                overflow: mode(overflow),
            },
            ArchivedBitFieldOp::IncrBy {
                ty: t,
                offset,
                delta,
                overflow,
            } => BitFieldOp::IncrBy {
                ty: ty(t),
                offset: offset.to_native(),
                delta: delta.to_native(),
                overflow: mode(overflow),
            },
        })
        .collect()
}
