//! Config loading both binaries share: every setting has a command-line flag, a `TANDEM_*`
//! environment variable and a key in the TOML config file, taken in that order (flag, then
//! variable, then file, then the binary's default). This owns the layering — parse the
//! command line, find and read the file, merge by precedence — and, on SIGHUP, re-reading
//! the file, applying the log filter and reporting what changed, with the same log lines in
//! both binaries.
//!
//! The binaries declare only their keys: an `Options` struct written inside [`options!`]
//! (every field optional, with its flag, variable and help text) and a resolved `Config`
//! implementing [`Settings`] (defaults, validation, the keys a reload applies, and the keys
//! that need a restart, listed with [`restart_only!`]); [`check_keys`] proves in their unit
//! tests that every key is one or the other. Applying a reload to a running server stays
//! theirs.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::log::LogHandle;

/// A binary's options as parsed from one source (the command line with its variables, or
/// the config file): every setting optional, so sources can be layered. Implemented by
/// [`options!`]; the struct must have a `config: Option<PathBuf>` field (the file to read,
/// `#[serde(skip)]`).
pub trait Layered: clap::Parser + DeserializeOwned + Default + Clone {
    /// The file read when neither `--config` nor its variable names one, if it exists.
    const DEFAULT_FILE: &'static str;

    /// Each setting from `self` when set there, else from `lower`.
    #[must_use]
    fn or(self, lower: Self) -> Self;

    /// The config file these options name (`--config` or its variable).
    fn config_file(&self) -> Option<&Path>;

    /// These options naming `file` as their config file.
    #[must_use]
    fn with_config_file(self, file: Option<PathBuf>) -> Self;
}

/// The settings in force, resolved from layered [`Layered`] options.
pub trait Settings: Sized {
    /// The options these settings are resolved from.
    type Options: Layered;

    /// Fills what `options` leaves unset with the defaults and checks the values;
    /// `options.config` is the file that was read, if any.
    ///
    /// # Errors
    /// An invalid value, in words an operator can act on.
    fn from_options(options: Self::Options) -> Result<Self, String>;

    /// The log filter (tracing `EnvFilter` syntax) in force; always reloadable.
    fn log_filter(&self) -> &str;

    /// Keys (as the config file spells them) a reload applies to the running process.
    const RELOADABLE: &'static [&'static str];

    /// Keys that need a restart to take effect; written by [`restart_only!`].
    const RESTART_ONLY: &'static [&'static str];

    /// The [`Settings::RESTART_ONLY`] keys that differ between `self` and `new`; a reload
    /// warns about them and keeps the running values. Written by [`restart_only!`].
    fn restart_only_changes(&self, new: &Self) -> Vec<&'static str>;
}

/// Declares a binary's `Options` struct and implements [`Layered`] for it, so the merge by
/// precedence is written once. Every field must be `Option<_>`, and one must be
/// `config: Option<PathBuf>`.
///
/// ```ignore
/// tandem_service::options! {
///     default_file = "/etc/tandem/proxy.toml";
///     #[derive(clap::Parser, serde::Deserialize, Debug, Clone, Default)]
///     #[serde(deny_unknown_fields, rename_all = "kebab-case")]
///     pub struct Options {
///         #[arg(long, env = "TANDEM_PROXY_CONFIG")]
///         #[serde(skip)]
///         pub config: Option<PathBuf>,
///         /// Most simultaneous client connections [default: 10000].
///         #[arg(long, env = "TANDEM_MAXCLIENTS")]
///         pub maxclients: Option<usize>,
///     }
/// }
/// ```
#[macro_export]
macro_rules! options {
    (
        default_file = $default:literal;
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$field_meta:meta])* $field_vis:vis $field:ident : Option<$ty:ty> ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $( $(#[$field_meta])* $field_vis $field: Option<$ty>, )*
        }

        impl $crate::config::Layered for $name {
            const DEFAULT_FILE: &'static str = $default;

            fn or(self, lower: Self) -> Self {
                Self { $( $field: self.$field.or(lower.$field), )* }
            }

            fn config_file(&self) -> Option<&::std::path::Path> {
                self.config.as_deref()
            }

            fn with_config_file(self, file: Option<::std::path::PathBuf>) -> Self {
                Self { config: file, ..self }
            }
        }
    };
}

/// Inside `impl Settings for Config`: the keys that need a restart, each with the field of
/// `Config` that holds its value (`restart_only! { "tcp-backlog" => tcp_backlog, … }`).
/// Writes [`Settings::RESTART_ONLY`] and [`Settings::restart_only_changes`], which lists the
/// keys whose fields differ, in this order.
#[macro_export]
macro_rules! restart_only {
    ($( $key:literal => $field:ident ),* $(,)?) => {
        const RESTART_ONLY: &'static [&'static str] = &[$($key),*];

        fn restart_only_changes(&self, new: &Self) -> Vec<&'static str> {
            let mut changed: Vec<&'static str> = Vec::new();
            $( if self.$field != new.$field { changed.push($key); } )*
            changed
        }
    };
}

/// Merges `flags` (command line and environment) over the config file they name — or the
/// binary's default file, if it exists — over the defaults.
///
/// # Errors
/// An unreadable or invalid config file (unknown keys included; the message names the
/// file), or an invalid value.
pub fn resolve<S: Settings>(flags: &S::Options) -> Result<S, String> {
    let file = crate::file::locate(
        flags.config_file(),
        Path::new(<S::Options as Layered>::DEFAULT_FILE),
    );
    let from_file: S::Options = match &file {
        Some(path) => crate::file::load(path)?,
        None => S::Options::default(),
    };
    S::from_options(flags.clone().or(from_file).with_config_file(file))
}

/// Parses the command line and environment (a usage error exits as [`crate::log::parse_flags`]
/// says), then resolves the settings. Returns them with the flags and variables alone, which
/// a reload merges with the re-read file.
///
/// # Errors
/// As [`resolve`].
pub fn load<S: Settings>() -> Result<(S, S::Options), String> {
    let flags: S::Options = crate::log::parse_flags();
    let settings = resolve(&flags)?;
    Ok((settings, flags))
}

/// One SIGHUP's re-read, common to both binaries: logs it, resolves the settings again
/// (flags and variables still win over the re-read file) and applies the log filter.
/// Returns the new settings and whether the log filter changed; `None` when the file does
/// not parse (logged: then nothing changes). The caller applies the rest, then calls
/// [`reload_done`].
pub fn reread<S: Settings>(flags: &S::Options, log: &LogHandle) -> Option<(S, bool)> {
    tracing::info!("SIGHUP: reloading the config");
    let new: S = match resolve(flags) {
        Ok(new) => new,
        Err(e) => {
            tracing::error!(error = %e, "reload failed; keeping every setting");
            return None;
        }
    };
    let changed = match log.set_filter(new.log_filter()) {
        Ok(Some(old)) => {
            tracing::info!(%old, new = %new.log_filter(), "reload: log filter changed");
            true
        }
        Ok(None) => false,
        Err(e) => {
            tracing::error!(error = %e, "reload: log filter kept");
            false
        }
    };
    Some((new, changed))
}

/// Ends a reload: warns about each setting of `new` that differs from `running` but needs a
/// restart, then logs how many settings changed live.
pub fn reload_done<S: Settings>(running: &S, new: &S, changed: usize) {
    for name in running.restart_only_changes(new) {
        tracing::warn!(
            setting = name,
            "reload: changed in the config but needs a restart; keeping the running value"
        );
    }
    tracing::info!(changed, "reload done");
}

/// The keys of `O`: its long flags but `--config` (and clap's own `--help`, `--version`),
/// with whether each is hidden from `--help`.
fn keys<O: clap::CommandFactory>() -> Vec<(String, bool)> {
    O::command()
        .get_arguments()
        .filter_map(|a| {
            let long = a.get_long()?;
            (!matches!(long, "config" | "help" | "version"))
                .then(|| (long.to_owned(), a.is_hide_set()))
        })
        .collect()
}

/// How many keys a config file may hold for `O`: its long flags that are not hidden,
/// except `--config` (and clap's own `--help` and `--version`). The shipped files document
/// exactly these.
pub fn file_keys<O: clap::CommandFactory>() -> usize {
    keys::<O>().iter().filter(|(_, hidden)| !hidden).count()
}

/// Checks that every key of `S` (hidden ones included) is in exactly one of
/// [`Settings::RELOADABLE`] and [`Settings::RESTART_ONLY`], and that both name only keys:
/// a key in neither would change in the file and be ignored by a reload without a word.
///
/// # Errors
/// One line per key missing, listed twice, or unknown.
pub fn check_keys<S: Settings>() -> Result<(), String> {
    let keys: Vec<String> = keys::<S::Options>().into_iter().map(|(k, _)| k).collect();
    let mut problems = Vec::new();
    for key in &keys {
        let reloadable = S::RELOADABLE.contains(&key.as_str());
        let restart = S::RESTART_ONLY.contains(&key.as_str());
        match (reloadable, restart) {
            (false, false) => problems.push(format!(
                "{key}: neither reloadable nor restart-only (a reload would ignore it silently)"
            )),
            (true, true) => problems.push(format!("{key}: both reloadable and restart-only")),
            _ => {}
        }
    }
    for listed in S::RELOADABLE.iter().chain(S::RESTART_ONLY) {
        if !keys.iter().any(|k| k == listed) {
            problems.push(format!("{listed}: listed but not a key"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::options! {
        default_file = "/nonexistent/tandem-service-test.toml";
        /// A sample service.
        #[derive(clap::Parser, serde::Deserialize, Debug, Clone, Default, PartialEq)]
        #[command(name = "sample")]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        pub struct Options {
            /// The config file.
            #[arg(long)]
            #[serde(skip)]
            pub config: Option<PathBuf>,
            /// How many.
            #[arg(long)]
            pub max_things: Option<u32>,
            /// A list.
            #[arg(long, value_delimiter = ',')]
            pub ids: Option<Vec<u32>>,
            /// Never in the file.
            #[arg(long, hide = true)]
            pub secret_knob: Option<bool>,
        }
    }

    #[derive(Debug, PartialEq)]
    struct Config {
        file: Option<PathBuf>,
        max_things: u32,
        ids: Vec<u32>,
    }

    impl Settings for Config {
        type Options = Options;
        fn from_options(o: Options) -> Result<Config, String> {
            let max_things = o.max_things.unwrap_or(5);
            if max_things == 0 {
                return Err("max-things must be positive".into());
            }
            Ok(Config {
                file: o.config,
                max_things,
                ids: o.ids.unwrap_or_default(),
            })
        }
        fn log_filter(&self) -> &str {
            "info"
        }
        const RELOADABLE: &'static [&'static str] = &["secret-knob"];
        crate::restart_only! { "max-things" => max_things, "ids" => ids }
    }

    #[test]
    fn flags_beat_the_file_which_beats_defaults() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("s.toml");
        std::fs::write(&path, "max-things = 7\nids = [1, 2]\n").expect("write");
        let config_flag = format!("--config={}", path.display());
        let flags = <Options as clap::Parser>::try_parse_from(["s", &config_flag, "--ids", "9"])
            .expect("flags");
        let config: Config = resolve(&flags).expect("resolves");
        assert_eq!(
            config,
            Config {
                file: Some(path.clone()),
                max_things: 7,
                ids: vec![9]
            }
        );
        // No file named and the default one absent: defaults, and no file.
        let bare = <Options as clap::Parser>::try_parse_from(["s"]).expect("flags");
        let config: Config = resolve(&bare).expect("resolves");
        assert_eq!((config.file, config.max_things), (None, 5));
    }

    #[test]
    fn errors_name_the_file_or_the_value() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "max-thing = 7\n").expect("write");
        let flags = Options::default().with_config_file(Some(path));
        let err = resolve::<Config>(&flags).expect_err("unknown key");
        assert!(
            err.contains("bad.toml") && err.contains("unknown field `max-thing`"),
            "{err}"
        );
        let zero = Options {
            max_things: Some(0),
            ..Options::default()
        };
        assert_eq!(
            resolve::<Config>(&zero),
            Err("max-things must be positive".into())
        );
        let missing = Options::default().with_config_file(Some(dir.path().join("absent.toml")));
        let err = resolve::<Config>(&missing).expect_err("missing file");
        assert!(err.contains("cannot read config file"), "{err}");
    }

    #[test]
    fn restart_only_changes_list_differing_keys_in_order() {
        let old = Config::from_options(Options::default()).expect("valid");
        let mut new = Config::from_options(Options::default()).expect("valid");
        assert!(old.restart_only_changes(&new).is_empty());
        new.ids = vec![1];
        new.max_things = 6;
        assert_eq!(old.restart_only_changes(&new), ["max-things", "ids"]);
    }

    /// Every key is reloadable or restart-only; a new key in neither list is caught.
    #[test]
    fn every_key_is_classified() {
        assert_eq!(check_keys::<Config>(), Ok(()));
        struct Forgetful;
        impl Settings for Forgetful {
            type Options = Options;
            fn from_options(_: Options) -> Result<Forgetful, String> {
                Ok(Forgetful)
            }
            fn log_filter(&self) -> &str {
                "info"
            }
            const RELOADABLE: &'static [&'static str] = &["ids", "nope"];
            const RESTART_ONLY: &'static [&'static str] = &["ids"];
            fn restart_only_changes(&self, _: &Forgetful) -> Vec<&'static str> {
                Vec::new()
            }
        }
        let problems = check_keys::<Forgetful>().expect_err("misclassified");
        assert_eq!(
            problems,
            "max-things: neither reloadable nor restart-only (a reload would ignore it silently)\n\
             ids: both reloadable and restart-only\n\
             secret-knob: neither reloadable nor restart-only (a reload would ignore it silently)\n\
             nope: listed but not a key"
        );
    }

    #[test]
    fn hidden_flags_and_config_are_not_file_keys() {
        assert_eq!(file_keys::<Options>(), 2);
        let help = <Options as clap::CommandFactory>::command()
            .render_long_help()
            .to_string();
        // Doc comments written inside the macro still reach clap.
        assert!(help.contains("How many"), "{help}");
    }
}
