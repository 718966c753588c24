//! Parser of `PUBLISH`, the one pub/sub command storaged answers from a typed [`Command`]
//! (it sees every proxy's subscribers). Subscribing is per connection and stays in the proxy.

use tandem_shared::Command;

use super::ParseCtx;
use crate::args::Args;
use crate::error::CommandError;

/// `PUBLISH channel message`.
pub fn publish(args: &mut Args, _: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::Publish {
        channel: args.next_vec()?,
        message: args.next_vec()?,
    })
}
