//! `MEMORY`: USAGE asks storaged (the value lives there); STATS, DOCTOR, MALLOC-STATS,
//! PURGE and HELP describe the pair of processes as Redis 7.0 shapes its replies.
//! Moved out of `admin` so the MEMORY family has one owner; it writes nothing.

use tandem_shared::wire::Outcome;
use tandem_shared::{Command, Reply};

use tandem_commands::args::Args;

use crate::error::CommandError;
use crate::session::{Flow, LocalResult, Session};

/// Runs one storage command and returns its reply.
async fn storaged_param(session: &mut Session, command: Command) -> Result<Reply, CommandError> {
    match session
        .call_storage(session.state.db, vec![command])
        .await?
        .pop()
    {
        Some(Outcome::Ok(reply)) => Ok(reply),
        Some(Outcome::Err(e)) => Err(CommandError::Other(e.to_string())),
        None => Err(CommandError::err("storage returned no reply")),
    }
}

/// `MEMORY USAGE|DOCTOR|MALLOC-STATS|PURGE|HELP`. USAGE asks storaged (the value lives
/// there); the others describe the proxy, which holds no data.
pub async fn memory(mut args: Args, session: &mut Session) -> LocalResult {
    let sub_raw = String::from_utf8_lossy(&args.next_bytes()?).into_owned();
    let sub = sub_raw.to_ascii_lowercase();
    let n = args.remaining();
    let arity = || CommandError::WrongArity(format!("memory|{sub}"));
    let reply = match sub.as_str() {
        "usage" if n == 0 => return Err(arity()),
        "usage" => {
            let key = args.next_vec()?;
            // Redis's default sample count; 0 asks for every element.
            let mut samples = 5u64;
            while args.remaining() > 0 {
                if args.remaining() >= 2 && args.eat("SAMPLES") {
                    let n = args.next_i64()?;
                    samples = u64::try_from(n).map_err(|_| CommandError::Syntax)?;
                } else {
                    return Err(CommandError::Syntax);
                }
            }
            storaged_param(session, Command::MemoryUsage { key, samples }).await?
        }
        "doctor" | "malloc-stats" | "purge" | "help" if n > 0 => return Err(arity()),
        "doctor" => Reply::Verbatim(
            b"Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.".to_vec(),
        ),
        "malloc-stats" => Reply::Verbatim(b"Stats not supported for the current allocator".to_vec()),
        "purge" => Reply::ok(),
        "help" => Reply::Array(
            [
                "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DOCTOR",
                "    Return memory problems reports.",
                "MALLOC-STATS",
                "    Return internal statistics report from the memory allocator.",
                "PURGE",
                "    Attempt to purge dirty pages for reclamation by the allocator.",
                "USAGE <key> [SAMPLES <count>]",
                "    Return memory in bytes used by <key> and its value. Nested values are",
                "    sampled up to <count> times (default: 5, 0 means sample all).",
                "HELP",
                "    Prints this help.",
            ]
            .iter()
            .map(|s| Reply::Simple((*s).to_owned()))
            .collect(),
        ),
        _ => {
            return Err(CommandError::err(format!(
                "unknown subcommand '{sub_raw}'. Try MEMORY HELP."
            )))
        }
    };
    Ok((reply, Flow::Continue))
}
