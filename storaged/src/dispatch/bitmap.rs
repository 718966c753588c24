//! Bitmaps: GETBIT, BITCOUNT, BITPOS; SETBIT, BITOP.

use tandem_shared::command::ArchivedScanOptionError;
use tandem_shared::command::{ArchivedBitOpKind, ArchivedBitRange, ArchivedCommand};
use tandem_shared::{BitOpKind, BitRange, ScanOptionError};

use super::arm::{done, key_slices};
use crate::engine::group::WriteGroup;
use crate::engine::{KvEngine, StoreRead};
use crate::events::Flags;
use crate::types::bitmap;
use crate::types::{At, CmdResult};

const STR: u32 = Flags::STRING;

/// The light reads (see [`super::is_light_read`]): GETBIT reads one byte.
pub(super) fn light(cmd: &ArchivedCommand) -> bool {
    matches!(cmd, ArchivedCommand::GetBit { .. })
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
