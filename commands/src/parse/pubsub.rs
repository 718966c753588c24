//! Parser of `PUBLISH`, the one pub/sub command storaged answers from a typed [`Command`]
//! (it sees every proxy's subscribers). Subscribing is per connection and stays in the proxy.

use tandem_shared::Command;

use crate::args::Args;
use crate::args::ParseCtx;
use crate::error::CommandError;
use crate::spec::ArgType as T;
use crate::spec::{arg, CommandSpec, Doc, Handler};
use crate::{acl, flags};

/// `PUBLISH channel message`.
pub fn publish(args: &mut Args, _: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::Publish {
        channel: args.next_vec()?,
        message: args.next_vec()?,
    })
}

/// PUBLISH's row of the command table ([`crate::table`]), beside its parser above;
/// values from redis-server 7.0's `COMMAND INFO`/`COMMAND DOCS`.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "publish",
        arity: 3,
        flags: flags!(PUBSUB | LOADING | STALE | FAST),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(PUBSUB | FAST),
        tips: &[],
        key_specs: &[],
        subcommands: &[],
        doc: Doc {
            summary: "Post a message to a channel",
            since: "2.0.0",
            group: "pubsub",
            complexity: "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("channel", T::String),
                arg("message", T::String),
            ],
        },
        handler: Handler::Storage(publish),
    },
];
