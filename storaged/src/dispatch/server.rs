//! Commands about the server rather than keys: PUBLISH, PUBSUB CHANNELS/NUMSUB/NUMPAT
//! (through the [`Hub`] handle), the keyspace-event flags (CONFIG SET/GET
//! notify-keyspace-events), INFO's storage sections and CHECKPOINT (which reach the
//! RocksDB engine behind the view). All read-only, on the read path.

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
        _ => return None,
    })
}
