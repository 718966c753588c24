//! Reading a service's TOML config file. Which keys exist is the binary's business (its
//! serde struct, with `deny_unknown_fields`); this owns finding the file and making every
//! error name it.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// The file to read: `explicit` (from `--config` or its variable) when given, else
/// `default` when it exists, else none.
pub fn locate(explicit: Option<&Path>, default: &Path) -> Option<PathBuf> {
    match explicit {
        Some(path) => Some(path.to_owned()),
        None => default.exists().then(|| default.to_owned()),
    }
}

/// Reads and parses `path`.
///
/// # Errors
/// An unreadable file, invalid TOML, an unknown key or a value of the wrong type; the
/// message names the file and, where TOML knows it, the line.
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("config file {}: {e}", path.display()))
}

/// The shipped config files list every key commented out as `#key = default`: this returns
/// those lines uncommented, so a test can check the file against the built-in defaults.
pub fn uncomment_keys(shipped: &str) -> String {
    shipped
        .lines()
        .filter_map(|l| l.strip_prefix('#').filter(|l| l.contains(" = ")))
        .map(|l| format!("{}\n", l.trim_start()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields, rename_all = "kebab-case")]
    struct Sample {
        max_clients: Option<u32>,
    }

    #[test]
    fn unknown_keys_are_named_with_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x.toml");
        std::fs::write(&path, "max-clients = 3\n").expect("write");
        assert_eq!(
            load::<Sample>(&path),
            Ok(Sample {
                max_clients: Some(3)
            })
        );
        std::fs::write(&path, "max-client = 3\n").expect("write");
        let err = load::<Sample>(&path).expect_err("unknown key");
        assert!(
            err.contains("x.toml") && err.contains("unknown field `max-client`"),
            "{err}"
        );
        assert_eq!(locate(None, &dir.path().join("absent.toml")), None);
        assert_eq!(locate(None, &path), Some(path.clone()));
    }
}
