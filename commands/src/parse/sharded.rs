//! Sharded pub/sub (H7): the parser of `SPUBLISH`, which storaged answers (it sees every
//! proxy's shard-channel subscribers), and the rows of SPUBLISH, SSUBSCRIBE and
//! SUNSUBSCRIBE. Subscribing is per connection and stays in the proxy
//! (`proxy/src/local/subscribe.rs`). tandem is one shard, so every shard channel lives on
//! it, as on a standalone Redis 7.0.

use tandem_shared::Command;

use crate::args::{Args, ParseCtx};
use crate::error::CommandError;
use crate::spec::ArgType as T;
use crate::spec::{arg, index, range, CommandSpec, Doc, Handler, KeySpec, Local};
use crate::{acl, flags, key_flags};

/// `SPUBLISH shardchannel message`.
pub fn spublish(args: &mut Args, _: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::SPublish {
        channel: args.next_vec()?,
        message: args.next_vec()?,
    })
}

pub const COMMANDS: &[CommandSpec] = &[
    // From redis-server 7.0.15.
    CommandSpec {
        name: "spublish",
        arity: 3,
        flags: flags!(PUBSUB | LOADING | STALE | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(PUBSUB | FAST),
        tips: &[],
        key_specs: &[KeySpec::new(key_flags!(NOT_KEY), index(1), range(0, 1, 0))],
        subcommands: &[],
        doc: Doc {
            summary: "Post a message to a shard channel",
            since: "7.0.0",
            group: "pubsub",
            complexity:
                "O(N) where N is the number of clients subscribed to the receiving shard channel.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[arg("shardchannel", T::String), arg("message", T::String)],
        },
        handler: Handler::Storage(spublish),
    },
    // From redis-server 7.0.15.
    CommandSpec {
        name: "ssubscribe",
        arity: -2,
        flags: flags!(PUBSUB | NOSCRIPT | LOADING | STALE),
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: acl!(PUBSUB | SLOW),
        tips: &[],
        key_specs: &[KeySpec::new(key_flags!(NOT_KEY), index(1), range(-1, 1, 0))],
        subcommands: &[],
        doc: Doc {
            summary: "Listen for messages published to the given shard channels",
            since: "7.0.0",
            group: "pubsub",
            complexity: "O(N) where N is the number of shard channels to subscribe to.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[arg("shardchannel", T::String).multiple()],
        },
        handler: Handler::Local(Local::SSubscribe),
    },
    // From redis-server 7.0.15.
    CommandSpec {
        name: "sunsubscribe",
        arity: -1,
        flags: flags!(PUBSUB | NOSCRIPT | LOADING | STALE),
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: acl!(PUBSUB | SLOW),
        tips: &[],
        key_specs: &[KeySpec::new(key_flags!(NOT_KEY), index(1), range(-1, 1, 0))],
        subcommands: &[],
        doc: Doc {
            summary: "Stop listening for messages posted to the given shard channels",
            since: "7.0.0",
            group: "pubsub",
            complexity:
                "O(N) where N is the number of clients already subscribed to a shard channel.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[arg("shardchannel", T::String).optional().multiple()],
        },
        handler: Handler::Local(Local::SUnsubscribe),
    },
];
