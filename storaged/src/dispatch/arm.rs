//! What every dispatch arm uses: the native forms of archived arguments shared by several
//! families, [`done`] (which ends a write arm with its keyspace events) and the size bound
//! of a light read. A leaf: the family files use it, it uses none of them.

use rkyv::vec::ArchivedVec;
use tandem_shared::command::ArchivedScanOptionError;
use tandem_shared::{Reply, ScanOptionError};

use crate::engine::group::WriteGroup;
use crate::engine::KvEngine;
use crate::events::Emitter;
use crate::types::{CmdResult, MemberScanOptions};

/// Most keys or elements a read may name and still run on the socket thread.
pub(super) const LIGHT_READ_MAX: usize = 256;

/// Ends a write command's arm: queues, when the group records keyspace events, the
/// `expired` events of records the command reclaimed and, if it succeeded, the events
/// `events` declares for its reply (Redis 7.0's, in Redis's order).
pub(super) fn done<E: KvEngine>(
    w: &mut WriteGroup<'_, E>,
    result: CmdResult,
    events: impl FnOnce(&mut Emitter<'_>, &Reply),
) -> CmdResult {
    w.with_notes(|notes, group| notes.end_command(&result, group, events));
    result
}

/// The events of a write that announces nothing (beyond the `expired` of what it reclaimed).
pub(super) fn no_events(_: &mut Emitter<'_>, _: &Reply) {}

/// Borrowed key list of an archived multi-key command.
pub(super) fn key_slices(keys: &[ArchivedVec<u8>]) -> Vec<&[u8]> {
    keys.iter().map(|k| k.as_slice()).collect()
}

/// The options of an archived HSCAN, SSCAN or ZSCAN.
pub(super) fn member_scan_options<'a>(
    pattern: Option<&'a ArchivedVec<u8>>,
    count: u64,
    invalid: Option<&ArchivedScanOptionError>,
) -> MemberScanOptions<'a> {
    MemberScanOptions {
        pattern: pattern.map(|p| p.as_slice()),
        count,
        invalid: invalid.map(|e| match e {
            ArchivedScanOptionError::Syntax => ScanOptionError::Syntax,
            ArchivedScanOptionError::NotInteger => ScanOptionError::NotInteger,
        }),
    }
}
