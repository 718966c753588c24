//! Commands about the server rather than keys: PUBLISH, PUBSUB CHANNELS/NUMSUB/NUMPAT
//! (through the [`Hub`] handle), the keyspace-event flags (CONFIG SET/GET
//! notify-keyspace-events), INFO's storage sections, CHECKPOINT and SAVE/BGSAVE/LASTSAVE
//! (which reach the RocksDB engine behind the view; the save state is
//! `crate::checkpoint::Saves`). All read-only, on the read path.

use tandem_shared::command::ArchivedCommand;
use tandem_shared::{Reply, StorageError};

use crate::engine::EngineView;
use crate::events::Flags;
use crate::pubsub::Hub;
use crate::types::{At, CmdResult};

/// The server commands; `None` for any other command. None of them is a light read.
pub(super) fn read<S: EngineView + ?Sized>(
    s: &S,
    hub: &Hub,
    _at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    use ArchivedCommand as C;
    Some(match cmd {
        C::Publish { channel, message } => Ok(Reply::Integer(hub.publish(channel, message))),
        C::PubSubChannels { pattern } => Ok(Reply::Array(
            hub.channels(pattern.as_ref().map(|p| p.as_slice()))
                .into_iter()
                .map(Reply::Bulk)
                .collect(),
        )),
        C::PubSubNumSub { channels } => Ok(Reply::Array(
            channels
                .iter()
                .flat_map(|c| [Reply::Bulk(c.to_vec()), Reply::Integer(hub.numsub(c))])
                .collect(),
        )),
        C::PubSubNumPat => Ok(Reply::Integer(hub.numpat())),
        C::SetNotifyKeyspaceEvents { flags } => match Flags::parse(flags.as_bytes()) {
            Some(f) => {
                hub.set_event_flags(f);
                Ok(Reply::ok())
            }
            None => Err(StorageError::Internal(
                "invalid notify-keyspace-events flags".to_owned(),
            )),
        },
        C::GetNotifyKeyspaceEvents => Ok(Reply::Bulk(hub.event_flags().to_string().into_bytes())),
        C::Info => Ok(Reply::Bulk(
            crate::info::info_with(s.engine(), &s.counts(), hub).into_bytes(),
        )),
        C::Checkpoint { dir } => {
            use std::os::unix::ffi::OsStrExt;
            let path = std::path::Path::new(std::ffi::OsStr::from_bytes(dir));
            s.engine()
                .checkpoint(path)
                .map(|()| Reply::Bulk(dir.to_vec()))
                .map_err(|e| StorageError::Internal(e.to_string()))
        }
        C::Save | C::BgSave { .. } | C::LastSave => Ok(save(s, cmd)),
        C::BgRewriteAof => Ok(rewrite_log(s)),
        C::Stats { push, op } => Ok(crate::stats::run(s.engine().stats(), push, op)),
        _ => return None,
    })
}

/// `BGREWRITEAOF`: flushes the memtables on a thread of its own (tandem's log is the WAL,
/// and a flush is what lets RocksDB drop its files), one at a time, with Redis's replies.
fn rewrite_log<S: EngineView + ?Sized>(s: &S) -> Reply {
    use std::sync::atomic::{AtomicBool, Ordering};
    static RUNNING: AtomicBool = AtomicBool::new(false);
    if RUNNING.swap(true, Ordering::AcqRel) {
        return Reply::Error(
            "ERR Background append only file rewriting already in progress".to_owned(),
        );
    }
    let engine = s.engine().clone();
    let started = std::thread::Builder::new()
        .name("bgrewriteaof".into())
        .spawn(move || {
            let began = std::time::Instant::now();
            match engine.flush_memtables() {
                Ok(()) => tracing::info!(
                    ms = began.elapsed().as_millis() as u64,
                    "log rewritten (memtables flushed)"
                ),
                Err(e) => tracing::error!(error = %e, "BGREWRITEAOF: flush failed"),
            }
            RUNNING.store(false, Ordering::Release);
        });
    match started {
        Ok(_) => Reply::Simple("Background append only file rewriting started".to_owned()),
        Err(e) => {
            RUNNING.store(false, Ordering::Release);
            tracing::error!(error = %e, "cannot start the BGREWRITEAOF thread");
            Reply::Error("ERR Can't rewrite append only file in background: fork failed".to_owned())
        }
    }
}

/// SAVE, BGSAVE and LASTSAVE over the process's [`crate::checkpoint::Saves`], with Redis's
/// replies (a failed SAVE is Redis's bare `ERR`; the reason is in storaged's log).
fn save<S: EngineView + ?Sized>(s: &S, cmd: &ArchivedCommand) -> Reply {
    use crate::checkpoint::SaveError;
    use ArchivedCommand as C;
    let Some(saves) = crate::checkpoint::saves() else {
        return Reply::Error("ERR this storaged has no save directory".to_owned());
    };
    let refused = |e: SaveError| match e {
        SaveError::InProgress => Reply::Error("ERR Background save already in progress".to_owned()),
    };
    match cmd {
        C::Save => match saves.save(s.engine()) {
            Ok(Ok(())) => Reply::ok(),
            Ok(Err(_)) => Reply::Error("ERR".to_owned()),
            Err(e) => refused(e),
        },
        C::BgSave { .. } => match saves.background(s.engine()) {
            Ok(()) => Reply::Simple("Background saving started".to_owned()),
            Err(e) => refused(e),
        },
        _ => Reply::Integer(saves.last_save()),
    }
}
