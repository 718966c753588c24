//! Logging to stderr through `tracing`, shaped for where stderr goes.
//!
//! When stderr is the journal (`JOURNAL_STREAM` names stderr's device and inode) journald
//! stamps every line itself, so text lines carry no timestamp and start with a `<N>` syslog
//! priority prefix, which journald turns into the entry's priority (`journalctl -p warning`
//! works). Elsewhere: timestamps, and colour only on a terminal without `NO_COLOR`. `json`
//! writes one JSON object per event for log shippers. The filter (tracing `EnvFilter` syntax)
//! can be replaced while running: see [`LogHandle::set_filter`]. [`fatal`] writes the error
//! that ends `main` (before or after the subscriber exists) at error priority, and for the
//! journal a panic is written at critical priority.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::MakeWriter;
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

/// True when stderr is connected to journald: systemd sets `JOURNAL_STREAM` to `DEV:INO` of
/// the stream it gives a service (sd-daemon(3), systemd.exec(5)). Comparing them with
/// stderr's own device and inode tells an inherited variable (a child whose stderr was
/// redirected to a file or pipe, `StandardError=file:`) from the real thing.
pub fn stderr_is_journal() -> bool {
    use std::os::fd::AsFd;
    let value = std::env::var("JOURNAL_STREAM").ok();
    is_journal_stream(std::io::stderr().as_fd(), value.as_deref())
}

/// True when `journal_stream` (a `JOURNAL_STREAM` value, `DEV:INO` in decimal) names the
/// device and inode of `fd`.
fn is_journal_stream(fd: std::os::fd::BorrowedFd<'_>, journal_stream: Option<&str>) -> bool {
    let Some(expected) = journal_stream.and_then(parse_journal_stream) else {
        return false;
    };
    dev_ino(fd) == Some(expected)
}

/// `JOURNAL_STREAM`'s `DEV:INO`, both decimal.
fn parse_journal_stream(value: &str) -> Option<(u64, u64)> {
    let (dev, ino) = value.split_once(':')?;
    Some((dev.parse().ok()?, ino.parse().ok()?))
}

/// Device and inode of whatever `fd` is (a socket, pipe, file or terminal).
fn dev_ino(fd: std::os::fd::BorrowedFd<'_>) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    // fstat through a duplicate: a `File` owning the fd itself would close it on drop.
    let meta = std::fs::File::from(fd.try_clone_to_owned().ok()?)
        .metadata()
        .ok()?;
    Some((meta.dev(), meta.ino()))
}

/// The text [`fatal`] writes for `message`: `Error: message`, and with `journal` every line
/// starts with `<3>` (journald gives a line without a prefix the default, info, priority).
pub fn fatal_text(message: &str, journal: bool) -> String {
    let text = format!("Error: {message}");
    if !journal {
        return format!("{text}\n");
    }
    text.lines()
        .map(|line| format!("<{}>{line}\n", syslog_priority(Level::ERROR)))
        .collect()
}

/// What the panic hook writes for the journal: every line at critical priority (`<2>`).
pub fn panic_text(thread: &str, panic: &str) -> String {
    format!("thread '{thread}' {panic}")
        .lines()
        .map(|line| format!("<2>{line}\n"))
        .collect()
}

/// Writes the error that ends the process to stderr, at error priority when stderr is the
/// journal, so `journalctl -p err` shows why a service did not start. `main` calls it for
/// the error it would otherwise return (anyhow would print it unprefixed).
pub fn fatal(message: &str) {
    use std::io::Write;
    let text = fatal_text(message, stderr_is_journal());
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// The exit status of a binary's `main`: success, or `result`'s error (with its causes,
/// `{:#}`) written by [`fatal`] and failure.
pub fn exit_code<E: fmt::Display>(result: Result<(), E>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            fatal(&format!("{e:#}"));
            std::process::ExitCode::FAILURE
        }
    }
}

/// A binary's flags and variables. A usage error goes to the journal at error priority like
/// any fatal error; elsewhere (and `--help`/`--version`) clap prints and exits as usual.
pub fn parse_flags<T: clap::Parser>() -> T {
    T::try_parse().unwrap_or_else(|e| {
        if e.use_stderr() && stderr_is_journal() {
            let text = e.render().to_string();
            fatal(text.trim_end().trim_start_matches("error: "));
            std::process::exit(e.exit_code());
        }
        e.exit()
    })
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
    let journal = stderr_is_journal();
    let ansi = !journal
        && std::env::var_os("NO_COLOR").is_none()
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    type Inner = tracing_subscriber::layer::Layered<reload::Layer<EnvFilter, Registry>, Registry>;
    let output: Box<dyn Layer<Inner> + Send + Sync> = match (format, journal) {
        (LogFormat::Text, false) => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(ansi)
            .boxed(),
        (LogFormat::Text, true) => journal_text_layer(std::io::stderr).boxed(),
        (LogFormat::Json, false) => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed(),
        (LogFormat::Json, true) => journal_json_layer(std::io::stderr).boxed(),
    };
    tracing_subscriber::registry()
        .with(filter_layer)
        .with(output)
        .try_init()
        .map_err(|e| format!("cannot install the logger: {e}"))?;
    if journal {
        // The default hook's lines would be stored at info priority, like any unprefixed line.
        std::panic::set_hook(Box::new(|info| {
            use std::io::Write;
            let thread = std::thread::current();
            let text = panic_text(thread.name().unwrap_or("unnamed"), &info.to_string());
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
        }));
    }
    Ok(LogHandle {
        reload,
        current: Mutex::new(filter.to_owned()),
    })
}

/// Text lines for the journal: no timestamp, no level word, a `<N>` priority prefix.
fn journal_text_layer<S, W>(writer: W) -> impl Layer<S> + Send + Sync
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .event_format(SyslogPrefix(
            tracing_subscriber::fmt::format()
                .without_time()
                .with_level(false),
        ))
}

/// JSON objects for the journal: no timestamp, and the same `<N>` prefix, which journald
/// strips from the stored message (`journalctl -o cat` still prints one object per line).
fn journal_json_layer<S, W>(writer: W) -> impl Layer<S> + Send + Sync
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .with_writer(writer)
        .event_format(SyslogPrefix(
            tracing_subscriber::fmt::format().json().without_time(),
        ))
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

    /// Runs `emit` under a subscriber made of `layer` writing into a buffer; returns the text.
    fn capture<L>(layer: impl FnOnce(Capture) -> L, emit: impl FnOnce()) -> String
    where
        L: Layer<tracing_subscriber::layer::Layered<EnvFilter, Registry>> + Send + Sync,
    {
        let out = Capture::default();
        let subscriber = tracing_subscriber::registry()
            .with(EnvFilter::new("trace"))
            .with(layer(out.clone()));
        tracing::subscriber::with_default(subscriber, emit);
        let bytes = out.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8(bytes).expect("utf-8 log")
    }

    #[derive(Clone, Default)]
    struct Capture(std::sync::Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("capture").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Capture {
        type Writer = Capture;
        fn make_writer(&'a self) -> Capture {
            self.clone()
        }
    }

    fn one_event_per_level() {
        tracing::error!("at error");
        tracing::warn!("at warn");
        tracing::info!("at info");
        tracing::debug!("at debug");
        tracing::trace!("at trace");
    }

    const PREFIXES: [(&str, &str); 5] = [
        ("<3>", "at error"),
        ("<4>", "at warn"),
        ("<6>", "at info"),
        ("<7>", "at debug"),
        ("<7>", "at trace"),
    ];

    #[test]
    fn journal_text_lines_start_with_each_levels_priority_and_no_timestamp() {
        let text = capture(journal_text_layer, one_event_per_level);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), PREFIXES.len(), "{text}");
        for (line, (prefix, message)) in lines.iter().zip(PREFIXES) {
            assert!(
                line.starts_with(prefix),
                "{line:?} should start with {prefix}"
            );
            assert!(line.contains(message), "{line:?}");
            // Neither a timestamp nor the level word follows: journald has both.
            let rest = &line[prefix.len()..];
            assert!(!rest.starts_with(|c: char| c.is_ascii_digit()), "{line:?}");
            assert!(
                !rest.contains("ERROR") && !rest.contains("INFO"),
                "{line:?}"
            );
        }
    }

    #[test]
    fn journal_json_lines_are_prefixed_objects_without_timestamps() {
        let text = capture(journal_json_layer, one_event_per_level);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), PREFIXES.len(), "{text}");
        for (line, (prefix, message)) in lines.iter().zip(PREFIXES) {
            let object = line.strip_prefix(prefix).unwrap_or_else(|| {
                panic!("{line:?} should start with {prefix}");
            });
            assert!(object.starts_with('{') && object.ends_with('}'), "{line:?}");
            assert!(
                object.contains(message) && !object.contains("timestamp"),
                "{line:?}"
            );
        }
    }

    #[test]
    fn fatal_errors_carry_the_error_priority_on_every_line_only_for_the_journal() {
        assert_eq!(
            fatal_text("cannot read config file /x: denied", true),
            "<3>Error: cannot read config file /x: denied\n"
        );
        assert_eq!(
            fatal_text("bad value\n\nUsage: x", true),
            "<3>Error: bad value\n<3>\n<3>Usage: x\n"
        );
        assert_eq!(fatal_text("plain", false), "Error: plain\n");
    }

    #[test]
    fn panics_for_the_journal_are_critical_on_every_line() {
        assert_eq!(
            panic_text("storaged-io", "panicked at src/x.rs:1:2:\nboom"),
            "<2>thread 'storaged-io' panicked at src/x.rs:1:2:\n<2>boom\n"
        );
    }

    #[test]
    fn journal_stream_must_name_the_fds_own_device_and_inode() {
        use std::os::fd::AsFd;
        use std::os::unix::fs::MetadataExt;
        let file = tempfile::tempfile().expect("temp file");
        let meta = file.metadata().expect("stat");
        let (dev, ino) = (meta.dev(), meta.ino());
        let fd = file.as_fd();
        assert!(is_journal_stream(fd, Some(&format!("{dev}:{ino}"))));
        assert!(!is_journal_stream(fd, Some(&format!("{dev}:{}", ino + 1))));
        assert!(!is_journal_stream(fd, Some(&format!("{}:{ino}", dev + 1))));
        assert!(!is_journal_stream(fd, Some("garbage")));
        assert!(!is_journal_stream(fd, Some("")));
        assert!(!is_journal_stream(fd, None));
    }

    #[test]
    fn formats_and_filters_parse() {
        assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert!("xml".parse::<LogFormat>().is_err());
        assert!(parse_filter("info,tandem_proxy=debug").is_ok());
        assert!(parse_filter("info,[").is_err());
    }
}
