//! Sharded pub/sub (H7): SPUBLISH, PUBSUB SHARDCHANNELS and SHARDNUMSUB, through the
//! [`Hub`], which keeps shard channels apart from channels and patterns. Read path, like
//! PUBLISH; nothing here touches keys.

use tandem_shared::command::ArchivedCommand;
use tandem_shared::Reply;

use crate::pubsub::Hub;
use crate::types::CmdResult;

/// The sharded pub/sub commands; `None` for any other command.
pub(super) fn read(hub: &Hub, cmd: &ArchivedCommand) -> Option<CmdResult> {
    use ArchivedCommand as C;
    Some(Ok(match cmd {
        C::SPublish { channel, message } => Reply::Integer(hub.spublish(channel, message)),
        C::PubSubShardChannels { pattern } => Reply::Array(
            hub.shard_channels(pattern.as_ref().map(|p| p.as_slice()))
                .into_iter()
                .map(Reply::Bulk)
                .collect(),
        ),
        C::PubSubShardNumSub { channels } => Reply::Array(
            channels
                .iter()
                .flat_map(|c| [Reply::Bulk(c.to_vec()), Reply::Integer(hub.shard_numsub(c))])
                .collect(),
        ),
        _ => return None,
    }))
}
