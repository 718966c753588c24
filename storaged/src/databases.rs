//! `SWAPDB` as the writer runs it (issue 18), over the logical → physical database map of
//! `tandem_engine::databases`.
//!
//! What a swap does, in the writer's group: it exchanges two entries of the group's map
//! and puts the map's one record (`MAP_KEY`) into the group, so it is O(1) whatever the
//! databases hold, stored atomically with the request's remembered reply (exactly once),
//! and visible to readers only once the group has committed (`Databases::settle`). Keys,
//! sub-keys, counters, the expiry sweeper and the compaction filter keep physical ids and
//! never notice.
//!
//! Where the map is applied (the one place each): a request's database in
//! `dispatch::check_db` (readers the committed map, the writer its group's), MOVE/COPY's
//! target database in `dispatch/keyspace.rs`, keyspace-event channels when a committed
//! group publishes (`events::Notifications::publish`), INFO keyspace (`info.rs`), RDB
//! export and import (`rdb/`). The tables clients wait on — WATCH (`writer/watch.rs`) and
//! parked blocking pops (`writer/parked.rs`) — are kept by logical database, as Redis keeps
//! `watched_keys` and `blocking_keys` with the database index (they are not swapped): the
//! keys a job modified are handed to them by logical database ([`take_touched`]), and
//! after a swap, as Redis's `dbSwapDatabases` does, every watched key of either database
//! that exists in either is changed (`WatchTable::swap_dbs`) and every key clients block
//! on in either database is checked for data (`Blocked::waiting_keys`). Client tracking
//! keys by name only, and Redis 7.0 neither invalidates nor notifies on SWAPDB.
//!
//! Must not touch sockets or decide where a request runs.

use std::cell::RefCell;

use tandem_engine::databases::{DbMap, MAP_KEY};
use tandem_shared::command::ArchivedCommand;
use tandem_shared::{Reply, StorageError};

use crate::engine::group::{Touched, WriteGroup};
use crate::engine::keys::DB_COUNT;
use crate::engine::{Cf, StoreRead, StoreWrite};
use crate::types::CmdResult;

/// What the writer thread notes between a swap and the next settle of modified keys
/// ([`take_touched`]). Only the writer thread runs swaps and settles.
#[derive(Default)]
struct SwapNotes {
    /// Logical pairs swapped since the last settle, in order.
    swapped: Vec<(u8, u8)>,
    /// Keys modified before a swap of the same job, named by the map they were written under.
    before: Touched,
}

thread_local! {
    static NOTES: RefCell<SwapNotes> = RefCell::default();
}

/// The commands of this module in the writer's group; `None` for any other.
pub fn write(w: &mut WriteGroup<'_>, cmd: &ArchivedCommand) -> Option<CmdResult> {
    match cmd {
        ArchivedCommand::SwapDb { a, b } => Some(swap(w, *a, *b)),
        _ => None,
    }
}

/// `SWAPDB a b` in the writer's group, from any path (a request, EXEC, a script).
///
/// # Errors
/// `DbOutOfRange` for an index the parser should have refused.
pub fn swap(w: &mut WriteGroup<'_>, a: u8, b: u8) -> CmdResult {
    if a >= DB_COUNT || b >= DB_COUNT {
        return Err(StorageError::DbOutOfRange);
    }
    if a == b {
        // Redis answers OK and changes nothing, WATCH included.
        return Ok(Reply::ok());
    }
    let old = w.services().databases().pending();
    let new = old.swapped(a, b);
    let (pa, pb) = (old.physical(a), old.physical(b));
    // Keys this job modified so far were named under the old map (a MULTI or a script
    // writes, then swaps): settle their names now; keyspace events move with their data.
    let before = logical(old, w.take_touched());
    w.with_notes(|notes, _| notes.swap_dbs(pa, pb));
    w.put(Cf::Meta, MAP_KEY.to_vec(), new.encode());
    // The map's own record is no user key.
    let _ = w.take_touched();
    w.services().databases().set_pending(new);
    NOTES.with(|n| {
        let mut n = n.borrow_mut();
        merge(&mut n.before, before);
        n.swapped.push((a, b));
    });
    Ok(Reply::ok())
}

/// The keys modified since the last call, named by logical database (the writer's map),
/// with the pairs of databases swapped meanwhile: what the WATCH table, the parked pops
/// and client tracking are fed (`writer::settle_touched`).
pub fn take_touched(w: &mut WriteGroup<'_>) -> (Touched, Vec<(u8, u8)>) {
    let map = w.services().databases().pending();
    let mut touched = logical(map, w.take_touched());
    let notes = NOTES.with(|n| std::mem::take(&mut *n.borrow_mut()));
    merge(&mut touched, notes.before);
    (touched, notes.swapped)
}

/// `t` (physical ids) named by logical database under `map`; records outside the
/// databases (the map's and counters' `0xff` records) are dropped.
fn logical(map: DbMap, t: Touched) -> Touched {
    if t.is_empty() {
        return t;
    }
    let name = |(db, key): (u8, Vec<u8>)| (db < DB_COUNT).then(|| (map.logical(db), key));
    Touched {
        keys: t.keys.into_iter().filter_map(name).collect(),
        ready: t.ready.into_iter().filter_map(name).collect(),
        flushed: t
            .flushed
            .into_iter()
            .filter(|db| *db < DB_COUNT)
            .map(|db| map.logical(db))
            .collect(),
    }
}

fn merge(into: &mut Touched, from: Touched) {
    into.keys.extend(from.keys);
    into.ready.extend(from.ready);
    for db in from.flushed {
        if !into.flushed.contains(&db) {
            into.flushed.push(db);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touched_keys_take_their_logical_names() {
        let map = DbMap::IDENTITY.swapped(0, 3);
        let mut t = Touched::default();
        t.keys.insert((3, b"k".to_vec()));
        t.keys.insert((0xff, b"tandem-db-map".to_vec()));
        t.ready.insert((0, b"r".to_vec()));
        t.flushed.push(5);
        let l = logical(map, t);
        assert!(l.keys.contains(&(0, b"k".to_vec())));
        assert_eq!(l.keys.len(), 1, "the map record is no user key");
        assert!(l.ready.contains(&(3, b"r".to_vec())));
        assert_eq!(l.flushed, vec![5]);
    }
}
