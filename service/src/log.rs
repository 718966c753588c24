//! Logging to stderr through `tracing`, shaped for where stderr goes.
//!
//! Under systemd (`JOURNAL_STREAM` or `INVOCATION_ID` set) journald stamps every line
//! itself, so text lines carry no timestamp and start with a `<N>` syslog priority prefix,
//! which journald turns into the entry's priority (`journalctl -p warning` works). Elsewhere:
//! timestamps, and colour only on a terminal without `NO_COLOR`. `json` writes one JSON
//! object per event for log shippers. The filter (tracing `EnvFilter` syntax) can be replaced
//! while running: see [`LogHandle::set_filter`].

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Layer, Registry};

/// How each event is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event (the default).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("log format must be text or json, not {other:?}")),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Text => "text",
            Self::Json => "json",
        })
    }
}

/// True when stderr is (most likely) connected to journald: systemd sets `JOURNAL_STREAM`
/// for a journal-connected stderr and `INVOCATION_ID` for every service it runs.
pub fn under_systemd() -> bool {
    std::env::var_os("JOURNAL_STREAM").is_some() || std::env::var_os("INVOCATION_ID").is_some()
}

/// The live log filter; see [`init`].
pub struct LogHandle {
    reload: reload::Handle<EnvFilter, Registry>,
    current: Mutex<String>,
}

impl LogHandle {
    /// Replaces the filter. Returns the previous filter text when it changed, `None` when
    /// `filter` is what is already in force.
    ///
    /// # Errors
    /// A filter `EnvFilter` cannot parse; the old filter stays.
    pub fn set_filter(&self, filter: &str) -> Result<Option<String>, String> {
        let mut current = match self.current.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        if *current == filter {
            return Ok(None);
        }
        let parsed = parse_filter(filter)?;
        self.reload
            .reload(parsed)
            .map_err(|e| format!("cannot replace the log filter: {e}"))?;
        Ok(Some(std::mem::replace(&mut *current, filter.to_owned())))
    }
}

/// Checks a filter without installing it.
///
/// # Errors
/// The parser's message, naming the filter.
pub fn parse_filter(filter: &str) -> Result<EnvFilter, String> {
    EnvFilter::try_new(filter).map_err(|e| format!("invalid log filter {filter:?}: {e}"))
}

/// Installs the global subscriber writing to stderr.
///
/// # Errors
/// An invalid filter, or a subscriber already installed.
pub fn init(filter: &str, format: LogFormat) -> Result<LogHandle, String> {
    let (filter_layer, reload) = reload::Layer::new(parse_filter(filter)?);
    let journal = under_systemd();
    let ansi = !journal
        && std::env::var_os("NO_COLOR").is_none()
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    type Inner = tracing_subscriber::layer::Layered<reload::Layer<EnvFilter, Registry>, Registry>;
    let output: Box<dyn Layer<Inner> + Send + Sync> = match (format, journal) {
        (LogFormat::Text, false) => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(ansi)
            .boxed(),
        (LogFormat::Text, true) => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .event_format(SyslogPrefix(
                tracing_subscriber::fmt::format()
                    .without_time()
                    .with_level(false),
            ))
            .boxed(),
        (LogFormat::Json, false) => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed(),
        (LogFormat::Json, true) => tracing_subscriber::fmt::layer()
            .json()
            .without_time()
            .with_writer(std::io::stderr)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(filter_layer)
        .with(output)
        .try_init()
        .map_err(|e| format!("cannot install the logger: {e}"))?;
    Ok(LogHandle {
        reload,
        current: Mutex::new(filter.to_owned()),
    })
}

/// The syslog priority journald reads from a `<N>` line prefix (sd-daemon(3)).
pub fn syslog_priority(level: Level) -> u8 {
    match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

/// Prefixes each event with `<N>`, its syslog priority, then writes it with the inner format.
struct SyslogPrefix<F>(F);

impl<S, N, F> FormatEvent<S, N> for SyslogPrefix<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "<{}>", syslog_priority(*event.metadata().level()))?;
        self.0.format_event(ctx, writer, event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_follow_syslog() {
        assert_eq!(syslog_priority(Level::ERROR), 3);
        assert_eq!(syslog_priority(Level::WARN), 4);
        assert_eq!(syslog_priority(Level::INFO), 6);
        assert_eq!(syslog_priority(Level::TRACE), 7);
    }

    #[test]
    fn formats_and_filters_parse() {
        assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert!("xml".parse::<LogFormat>().is_err());
        assert!(parse_filter("info,tandem_proxy=debug").is_ok());
        assert!(parse_filter("info,[").is_err());
    }
}
