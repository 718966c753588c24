//! `SLOWLOG` and `LATENCY`: arguments checked here with Redis's errors, answered by storaged
//! from the pair's sums (`storaged/src/stats.rs`), after this proxy's own report travels in
//! the same command, so what this proxy just served is in the answer (`crate::stats`).

use tandem_commands::args::{parse_i64, Args};
use tandem_shared::stats::StatsOp;
use tandem_shared::wire::{Outcome, Response};
use tandem_shared::Reply;

use crate::error::CommandError;
use crate::session::{Flow, LocalResult, Session};

/// Sends `op` with this proxy's report and returns storaged's reply.
pub async fn ask(session: &mut Session, op: StatsOp) -> Result<Reply, CommandError> {
    let frame = crate::stats::call(&session.link, op)
        .await
        .map_err(|e| CommandError::Other(e.to_string()))?;
    let response = frame.access::<Response>().map_err(CommandError::err)?;
    let mut outcomes = rkyv::deserialize::<Vec<Outcome>, rkyv::rancor::Error>(&response.outcomes)
        .map_err(CommandError::err)?;
    match outcomes.pop() {
        Some(Outcome::Ok(reply)) => Ok(reply),
        Some(Outcome::Err(e)) => Err(CommandError::Other(e.to_string())),
        None => Err(CommandError::err("storage returned no reply")),
    }
}

fn help(lines: &[&str]) -> Reply {
    Reply::Array(
        lines
            .iter()
            .map(|s| Reply::Simple((*s).to_owned()))
            .collect(),
    )
}

/// The subcommand named first, checked against the table (unknown name, arity).
fn subcommand(container: &str, args: &mut Args) -> Result<(String, String), CommandError> {
    let sub = args.next_bytes()?;
    let spec = tandem_commands::lookup(container.as_bytes())
        .ok_or_else(|| CommandError::err("command table has no such container"))?;
    let found = spec.checked_subcommand(&sub, args.remaining())?;
    let name = found
        .name
        .split_once('|')
        .map_or(found.name, |(_, n)| n)
        .to_owned();
    Ok((name, String::from_utf8_lossy(&sub).into_owned()))
}

/// `SLOWLOG GET [count] | LEN | RESET | HELP`.
pub async fn slowlog(mut args: Args, session: &mut Session) -> LocalResult {
    let (sub, typed) = subcommand("slowlog", &mut args)?;
    let reply = match sub.as_str() {
        "get" => {
            if args.remaining() > 1 {
                return Err(CommandError::err(format!(
                    "unknown subcommand or wrong number of arguments for '{typed}'. Try SLOWLOG HELP."
                )));
            }
            let count = match args.remaining() {
                0 => 10,
                _ => match parse_i64(&args.next_bytes()?) {
                    Some(n) if n >= -1 => n,
                    _ => {
                        return Err(CommandError::err(
                            "count should be greater than or equal to -1",
                        ))
                    }
                },
            };
            ask(session, StatsOp::SlowlogGet(count)).await?
        }
        "len" => ask(session, StatsOp::SlowlogLen).await?,
        "reset" => ask(session, StatsOp::SlowlogReset).await?,
        _ => help(&[
            "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
            "HELP",
            "    Prints this help.",
        ]),
    };
    Ok((reply, Flow::Continue))
}

/// `LATENCY LATEST | HISTORY event | RESET [event ...] | HISTOGRAM [command ...] | DOCTOR |
/// HELP`.
pub async fn latency(mut args: Args, session: &mut Session) -> LocalResult {
    let (sub, _) = subcommand("latency", &mut args)?;
    let reply = match sub.as_str() {
        "latest" => ask(session, StatsOp::LatencyLatest).await?,
        "history" => {
            let event = args.next_vec()?;
            ask(session, StatsOp::LatencyHistory(event)).await?
        }
        "reset" => ask(session, StatsOp::LatencyReset(args.rest_vecs())).await?,
        "histogram" => {
            // Names as the table knows them (`config|get`); unknown ones are left out, as
            // Redis leaves them out.
            let asked = args.rest();
            let names: Vec<Vec<u8>> = asked
                .iter()
                .filter_map(|name| tandem_commands::find(name))
                .map(|spec| spec.name.as_bytes().to_vec())
                .collect();
            if names.is_empty() && !asked.is_empty() {
                // Every command when none is named; none when every name is unknown.
                Reply::Map(Vec::new())
            } else {
                ask(session, StatsOp::LatencyHistogram(names)).await?
            }
        }
        "doctor" => ask(session, StatsOp::LatencyDoctor).await?,
        _ => help(&[
            "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
            "HELP",
            "    Prints this help.",
        ]),
    };
    Ok((reply, Flow::Continue))
}
