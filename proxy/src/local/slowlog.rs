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

/// `LATENCY LATEST | HISTORY event | GRAPH event | RESET [event ...] | HISTOGRAM [command ...]
/// | DOCTOR | HELP`.
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
        "graph" => {
            let event = args.next_vec()?;
            graph(session, &event).await?
        }
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

/// Redis's `LATENCY_GRAPH_COLS`: samples per block of the graph.
const GRAPH_COLS: usize = 80;

/// `LATENCY GRAPH event`: the event's samples (HISTORY) and its all-time high (LATEST's
/// fourth field) from storaged, drawn here as Redis's `latencyCommandGenSparkeline` draws
/// them.
async fn graph(session: &mut Session, event: &[u8]) -> Result<Reply, CommandError> {
    let history = ask(session, StatsOp::LatencyHistory(event.to_vec())).await?;
    let samples: Vec<(i64, i64)> = match history {
        Reply::Array(items) => items
            .iter()
            .filter_map(|item| match item {
                Reply::Array(pair) => match pair.as_slice() {
                    [Reply::Integer(t), Reply::Integer(ms)] => Some((*t, *ms)),
                    _ => None,
                },
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    if samples.is_empty() {
        return Err(CommandError::Other(format!(
            "ERR No samples available for event '{}'",
            String::from_utf8_lossy(event)
        )));
    }
    let all_time_high = match ask(session, StatsOp::LatencyLatest).await? {
        Reply::Array(events) => events.iter().find_map(|e| match e {
            Reply::Array(f) => match f.as_slice() {
                [Reply::Bulk(name), _, _, Reply::Integer(max)] if name.as_slice() == event => {
                    Some(*max)
                }
                _ => None,
            },
            _ => None,
        }),
        _ => None,
    }
    .unwrap_or_else(|| samples.iter().map(|s| s.1).max().unwrap_or(0));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let text = draw_graph(
        &String::from_utf8_lossy(event),
        &samples,
        all_time_high,
        now,
    );
    Ok(Reply::Verbatim(text.into_bytes()))
}

/// The graph's text: a header line (highest and lowest sample, all-time high), a rule of
/// [`GRAPH_COLS`] dashes, then the samples as a four-row filled sparkline with each one's
/// age (`12s`, `3m`, `2h`, `1d`) written downwards beneath it, 80 samples per block.
pub fn draw_graph(event: &str, samples: &[(i64, i64)], all_time_high: i64, now: i64) -> String {
    let high = samples.iter().map(|s| s.1).max().unwrap_or(0);
    let low = samples.iter().map(|s| s.1).min().unwrap_or(0);
    let mut out =
        format!("{event} - high {high} ms, low {low} ms (all time high {all_time_high} ms)\n");
    out.push_str(&"-".repeat(GRAPH_COLS));
    out.push('\n');
    let labelled: Vec<(f64, String)> = samples
        .iter()
        .map(|&(time, ms)| {
            let elapsed = now - time;
            let label = if elapsed < 60 {
                format!("{elapsed}s")
            } else if elapsed < 3600 {
                format!("{}m", elapsed / 60)
            } else if elapsed < 3600 * 24 {
                format!("{}h", elapsed / 3600)
            } else {
                format!("{}d", elapsed / (3600 * 24))
            };
            (ms as f64, label)
        })
        .collect();
    out.push_str(&sparkline(&labelled, GRAPH_COLS, 4));
    out
}

/// Redis's `sparklineRender` with `SPARKLINE_FILL` (sparkline.c): `rows` rows of `_o#`
/// steps with `|` below the top of each column, a blank line, then the labels written
/// vertically; blocks of `columns` samples separated by an empty line.
fn sparkline(samples: &[(f64, String)], columns: usize, rows: usize) -> String {
    const FILL: &[u8] = b"_o#";
    let steps = FILL.len() * rows;
    let min = samples.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
    let max = samples
        .iter()
        .map(|s| s.0)
        .fold(f64::NEG_INFINITY, f64::max);
    let relmax = if max - min == 0.0 { 1.0 } else { max - min };
    let has_labels = samples.iter().any(|s| !s.1.is_empty());
    let mut out = String::new();
    for (block, part) in samples.chunks(columns.max(1)).enumerate() {
        if block != 0 {
            out.push('\n');
        }
        let mut row = 0usize;
        loop {
            let mut line = vec![b' '; part.len()];
            let mut more = false;
            if row < rows {
                more = true;
                for (j, (value, _)) in part.iter().enumerate() {
                    // C's `(int) (relval*steps)/relmax`: the product truncated, then divided
                    // as a double and truncated again.
                    let step = (((value - min) * steps as f64).trunc() / relmax) as i64;
                    let step = step.clamp(0, steps as i64 - 1);
                    let at = step - ((rows - row - 1) * FILL.len()) as i64;
                    if (0..FILL.len() as i64).contains(&at) {
                        line[j] = FILL[at as usize];
                    } else if at >= FILL.len() as i64 {
                        line[j] = b'|';
                    }
                }
            } else if has_labels && row - rows < 1 {
                // The blank line between the graph and its labels.
                more = true;
            } else {
                let at = row - rows - 1;
                for (j, (_, label)) in part.iter().enumerate() {
                    if let Some(&c) = label.as_bytes().get(at) {
                        line[j] = c;
                        more = true;
                    }
                }
            }
            if !more {
                break;
            }
            row += 1;
            out.push_str(&String::from_utf8_lossy(&line));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_draws_like_redis_sparkline() {
        // Three samples 30 s, 20 s and 10 s ago: 100, 200 and 400 ms.
        let text = draw_graph("command", &[(70, 100), (80, 200), (90, 400)], 500, 100);
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(
            lines[0],
            "command - high 400 ms, low 100 ms (all time high 500 ms)"
        );
        assert_eq!(lines[1], "-".repeat(80));
        // Steps 0, 4 and 11 of 12: `_` on the bottom row, `o` one row up with `|` below,
        // `#` on the top row with `|` below.
        assert_eq!(&lines[2..6], &["  #", "  |", " o|", "_||"]);
        assert_eq!(lines[6], "   ");
        assert_eq!(&lines[7..10], &["321", "000", "sss"]);
        assert_eq!(lines[10], "");
        assert_eq!(lines.len(), 11);
    }

    #[test]
    fn graph_labels_age_in_units() {
        let text = draw_graph("e", &[(0, 5), (100, 5), (4000, 5), (90_000, 5)], 5, 100_000);
        let lines: Vec<&str> = text.split('\n').collect();
        // Equal samples sit on the bottom row; ages of 100000, 99900, 96000 s are a day,
        // 10000 s is two hours.
        assert_eq!(
            &lines[2..],
            &["    ", "    ", "    ", "____", "    ", "1112", "dddh", ""]
        );
    }
}
