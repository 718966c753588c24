//! Maps an archived [`Command`](tandem_shared::Command) onto the type functions: one
//! place per command.
//!
//! One file per family (`string.rs`, `bitmap.rs`, `keyspace.rs`, `hash.rs`, `set.rs`, `zset.rs`,
//! `list.rs`, `pop.rs`, `server.rs`). Each holds, per command, the arm that turns the
//! archived arguments into native ones for its `types/` function, beside it the command's
//! keyspace events (declared through `arm::done`, see `crate::events`), and the family's light
//! reads (`light`, see [`is_light_read`]). `types/` never sees an `Archived*` type.
//!
//! Entry points: [`execute_read`] and friends run read-only commands against committed
//! state (any number of threads at once); [`execute_write`] runs any command inside the
//! writer's group. This module owns no sockets and no threads, and decides nothing about
//! where a request runs (`crate::executor` does).

mod arm;
mod bitmap;
mod geo;
mod hash;
mod hyperloglog;
mod keyspace;
mod list;
mod object;
mod pop;
mod serialize;
mod server;
mod set;
mod sharded;
mod sort;
mod stream;
mod stream_info;
mod string;
mod zset;

#[cfg(test)]
mod tests;

use tandem_shared::command::ArchivedCommand;
use tandem_shared::wire::Outcome;
use tandem_shared::StorageError;

use crate::engine::group::WriteGroup;
use crate::engine::keys::DB_COUNT;
use crate::engine::{now_ms, Engine, EngineView, StoreRead};
use crate::pubsub::Hub;
use crate::types::{At, CmdResult};

pub use object::active_expire;
pub use pop::{pop_op, stream_read_ids};

/// Runs a read-only command (`cmd.is_write() == false`) against committed state.
/// A write command here is answered with an internal error: route it to the writer.
pub fn execute_read(engine: &Engine, hub: &Hub, db: u8, cmd: &ArchivedCommand) -> Outcome {
    execute_read_on(engine, hub, db, cmd)
}

/// [`execute_read`] against any read view, e.g. an [`crate::engine::SnapshotRead`] shared
/// by every command of one read request.
pub fn execute_read_on<S: EngineView + ?Sized>(
    s: &S,
    hub: &Hub,
    db: u8,
    cmd: &ArchivedCommand,
) -> Outcome {
    try_read_on(s, hub, db, cmd).unwrap_or_else(|| {
        Outcome::Err(StorageError::Internal(
            "command must run on the writer".to_owned(),
        ))
    })
}

/// [`execute_read_on`] for a caller that can hand the command to the writer: `None` when
/// what the read found needs the writer after all (`PFCOUNT` of a HyperLogLog whose cached
/// cardinality is stale: Redis writes the fresh estimate back). Nothing was logged then,
/// and the writer runs the command (with the rest of its request) in order with the
/// writes.
pub fn try_read_on<S: EngineView + ?Sized>(
    s: &S,
    hub: &Hub,
    db: u8,
    cmd: &ArchivedCommand,
) -> Option<Outcome> {
    match check_db(s.services().databases().published().physical(db)) {
        Ok(at) => read_or_defer(s, hub, at, cmd).map(into_outcome),
        Err(e) => Some(into_outcome(Err(e))),
    }
}

/// What a read against a memory-only view came to ([`execute_in_memory`]).
pub enum InMemory {
    Done(Outcome),
    /// It needed the disk: nothing was logged; run it again on the read pool.
    Disk,
    /// It needs the writer ([`try_read_on`]'s `None`).
    Writer,
}

/// Runs a read against a memory-only view (see [`InMemory`]).
pub fn execute_in_memory(
    view: &crate::engine::CachedRead<'_>,
    hub: &Hub,
    db: u8,
    cmd: &ArchivedCommand,
) -> InMemory {
    let result = match check_db(view.services().databases().published().physical(db)) {
        Ok(at) => read_or_defer(view, hub, at, cmd),
        Err(e) => Some(Err(e)),
    };
    if view.missed() {
        return InMemory::Disk;
    }
    match result {
        Some(r) => InMemory::Done(into_outcome(r)),
        None => InMemory::Writer,
    }
}

/// Runs any command in `group`, seeing committed state plus the group's earlier writes,
/// and records its keyspace events when the group records any; `hub` serves the pub/sub
/// commands.
pub fn execute_write(
    group: &mut WriteGroup<'_>,
    hub: &Hub,
    db: u8,
    cmd: &ArchivedCommand,
) -> Outcome {
    // The writer's map: its group's own SWAPDB counts at once.
    let result = check_db(group.services().databases().pending().physical(db)).and_then(|at| {
        group.with_notes(|notes, _| notes.begin(at.now_ms));
        write(group, hub, at, cmd)
    });
    into_outcome(result)
}

/// True for a read that costs about as much as a few point lookups (GET, HGET, MGET of a
/// few keys, LRANGE of a short window …): such a read may run on the socket thread from
/// memory instead of paying a hop to the read pool. Scans, set algebra and whole-collection
/// reads are never light, whatever their size turns out to be. Each family lists its own.
pub fn is_light_read(cmd: &ArchivedCommand) -> bool {
    string::light(cmd)
        || bitmap::light(cmd)
        || keyspace::light(cmd)
        || hash::light(cmd)
        || set::light(cmd)
        || zset::light(cmd)
        || geo::light(cmd)
        || list::light(cmd)
        || stream::light(cmd)
        || hyperloglog::light(cmd)
}

/// Read-only commands of every family; `None` for a command that writes.
fn read<S: EngineView + ?Sized>(
    s: &S,
    hub: &Hub,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    string::read(s, at, cmd)
        .or_else(|| bitmap::read(s, at, cmd))
        .or_else(|| hyperloglog::read(s, at, cmd))
        .or_else(|| keyspace::read(s, at, cmd))
        .or_else(|| hash::read(s, at, cmd))
        .or_else(|| set::read(s, at, cmd))
        .or_else(|| zset::read(s, at, cmd))
        .or_else(|| geo::read(s, at, cmd))
        .or_else(|| list::read(s, at, cmd))
        .or_else(|| stream::read(s, at, cmd))
        .or_else(|| stream_info::read(s, at, cmd))
        .or_else(|| sort::read(s, at, cmd))
        .or_else(|| server::read(s, hub, at, cmd))
        .or_else(|| object::read(s, at, cmd))
        .or_else(|| sharded::read(hub, cmd))
        .or_else(|| serialize::read(s, at, cmd))
        .or_else(|| crate::acl::read(cmd))
        .or_else(|| crate::control::read(s, cmd))
}

/// [`read_or_refuse`], except `None` for a command that must run on the writer after all
/// (see [`try_read_on`]).
fn read_or_defer<S: EngineView + ?Sized>(
    s: &S,
    hub: &Hub,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    hyperloglog::read_or_defer(s, at, cmd).unwrap_or_else(|| Some(read_or_refuse(s, hub, at, cmd)))
}

fn read_or_refuse<S: EngineView + ?Sized>(
    s: &S,
    hub: &Hub,
    at: At,
    cmd: &ArchivedCommand,
) -> CmdResult {
    read(s, hub, at, cmd).unwrap_or_else(|| {
        Err(StorageError::Internal(
            "write command sent to the read path".to_owned(),
        ))
    })
}

/// Any command, inside a write group: the writing ones through their family, the others
/// as reads of the group's state.
fn write(w: &mut WriteGroup<'_>, hub: &Hub, at: At, cmd: &ArchivedCommand) -> CmdResult {
    let written = string::write(w, at, cmd)
        .or_else(|| bitmap::write(w, at, cmd))
        .or_else(|| hyperloglog::write(w, at, cmd))
        .or_else(|| keyspace::write(w, at, cmd))
        .or_else(|| hash::write(w, at, cmd))
        .or_else(|| set::write(w, at, cmd))
        .or_else(|| zset::write(w, at, cmd))
        .or_else(|| geo::write(w, at, cmd))
        .or_else(|| list::write(w, at, cmd))
        .or_else(|| stream::write(w, at, cmd))
        .or_else(|| stream_info::write(w, at, cmd))
        .or_else(|| sort::write(w, at, cmd))
        .or_else(|| pop::write(w, at, cmd))
        .or_else(|| object::write(w, cmd))
        .or_else(|| serialize::write(w, at, cmd))
        .or_else(|| crate::databases::write(w, cmd));
    written.unwrap_or_else(|| {
        read(&*w, hub, at, cmd).unwrap_or_else(|| {
            Err(StorageError::Internal(
                "command has no storage implementation".to_owned(),
            ))
        })
    })
}

/// The physical database `db` names (the caller maps a request's logical database through
/// [`tandem_engine::databases`]: readers the committed map, the writer its group's) with the
/// time the command runs at.
fn check_db(db: u8) -> Result<At, StorageError> {
    if db < DB_COUNT {
        Ok(At {
            db,
            now_ms: now_ms(),
        })
    } else {
        Err(StorageError::DbOutOfRange)
    }
}

fn into_outcome(r: CmdResult) -> Outcome {
    match r {
        Ok(reply) => Outcome::Ok(reply),
        Err(e) => {
            if let StorageError::Internal(msg) = &e {
                tracing::error!(error = %msg, "storage failure while executing a command");
            }
            Outcome::Err(e)
        }
    }
}
