//! Script bodies before Lua sees them: the SHA1 that names an `EVAL` script, the `#!lua`
//! shebang of a script (its flags) and of a `FUNCTION LOAD` library (its name).
//!
//! Error texts are Redis 7.0's (`evalExtractShebangFlags`, `functionExtractLibMetaData`), and
//! the shebang line is split as Redis's `sdssplitargs` splits it, quotes included.

use crate::error::ScriptError;

/// The lowercase hex SHA1 of `body`: the name `EVALSHA` and `SCRIPT EXISTS` use.
pub fn sha1_hex(body: &[u8]) -> String {
    sha1_smol::Sha1::from(body).digest().to_string()
}

/// Script and function flags (`#!lua flags=…`, `register_function{flags={…}}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct ScriptFlags(u8);

impl ScriptFlags {
    /// `no-writes`: the script may only read (required for `EVAL_RO`/`FCALL_RO`).
    pub const NO_WRITES: ScriptFlags = ScriptFlags(1);
    /// `allow-oom`: runs even when the server is out of memory.
    pub const ALLOW_OOM: ScriptFlags = ScriptFlags(1 << 1);
    /// `allow-stale`: runs on a stale replica.
    pub const ALLOW_STALE: ScriptFlags = ScriptFlags(1 << 2);
    /// `no-cluster`: refused in cluster mode.
    pub const NO_CLUSTER: ScriptFlags = ScriptFlags(1 << 3);
    /// `allow-cross-slot-keys`: may touch keys of several slots.
    pub const ALLOW_CROSS_SLOT_KEYS: ScriptFlags = ScriptFlags(1 << 4);
    /// An `EVAL` body without a shebang: Redis runs it in "compatibility mode" (writes allowed,
    /// OOM and stale checks made per command rather than up front).
    pub const EVAL_COMPAT_MODE: ScriptFlags = ScriptFlags(1 << 5);

    /// The named flags, in the order Redis lists them (`FUNCTION LIST`).
    pub const NAMED: [(&'static str, ScriptFlags); 5] = [
        ("no-writes", ScriptFlags::NO_WRITES),
        ("allow-oom", ScriptFlags::ALLOW_OOM),
        ("allow-stale", ScriptFlags::ALLOW_STALE),
        ("no-cluster", ScriptFlags::NO_CLUSTER),
        ("allow-cross-slot-keys", ScriptFlags::ALLOW_CROSS_SLOT_KEYS),
    ];

    /// No flag set.
    pub const fn empty() -> ScriptFlags {
        ScriptFlags(0)
    }

    /// Whether every flag of `other` is set in `self`.
    pub const fn contains(self, other: ScriptFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// `self` with the flags of `other` added.
    #[must_use]
    pub const fn union(self, other: ScriptFlags) -> ScriptFlags {
        ScriptFlags(self.0 | other.0)
    }

    /// The flag spelled `name` (exact case, as the shebang requires).
    pub fn from_name(name: &[u8]) -> Option<ScriptFlags> {
        ScriptFlags::NAMED
            .iter()
            .find(|(n, _)| n.as_bytes() == name)
            .map(|&(_, f)| f)
    }

    /// The names of the set flags, in Redis's order.
    pub fn names(self) -> Vec<&'static str> {
        ScriptFlags::NAMED
            .iter()
            .filter(|(_, f)| self.contains(*f))
            .map(|&(n, _)| n)
            .collect()
    }
}

/// What the shebang of an `EVAL` body declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shebang {
    pub flags: ScriptFlags,
    /// Bytes of the shebang line, not counting its '\n': Lua compiles the body from the '\n'
    /// on, so line numbers in errors stay those of the whole body.
    pub len: usize,
}

/// Reads the optional `#!lua flags=…` line of an `EVAL` body.
///
/// # Errors
/// [`ScriptError::Invalid`] with Redis's text for a shebang without newline, an engine other
/// than `lua`, an unknown option or an unknown flag.
pub fn parse_shebang(body: &[u8]) -> Result<Shebang, ScriptError> {
    if !body.starts_with(b"#!") {
        return Ok(Shebang {
            flags: ScriptFlags::EVAL_COMPAT_MODE,
            len: 0,
        });
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err(ScriptError::invalid("Invalid script shebang"));
    };
    let parts = match split_args(&body[..end]) {
        Some(parts) if !parts.is_empty() => parts,
        _ => return Err(ScriptError::invalid("Invalid engine in script shebang")),
    };
    if parts[0] != b"#!lua" {
        return Err(ScriptError::invalid(format!(
            "Unexpected engine in script shebang: {}",
            String::from_utf8_lossy(&parts[0])
        )));
    }
    let mut flags = ScriptFlags::empty();
    for part in &parts[1..] {
        let Some(list) = part.strip_prefix(b"flags=") else {
            return Err(ScriptError::invalid(format!(
                "Unknown lua shebang option: {}",
                String::from_utf8_lossy(part)
            )));
        };
        // An empty list declares no flag; ",," declares the empty flag, which is unknown.
        if list.is_empty() {
            continue;
        }
        for name in list.split(|&b| b == b',') {
            let Some(flag) = ScriptFlags::from_name(name) else {
                return Err(ScriptError::invalid(format!(
                    "Unexpected flag in script shebang: {}",
                    String::from_utf8_lossy(name)
                )));
            };
            flags = flags.union(flag);
        }
    }
    Ok(Shebang { flags, len: end })
}

/// The metadata line of a `FUNCTION LOAD` library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryMeta {
    /// The engine named after `#!`, as given (Redis matches it case-insensitively).
    pub engine: String,
    pub name: String,
    /// Bytes of the metadata line, not counting its '\n' (see [`Shebang::len`]).
    pub len: usize,
}

/// Reads the `#!lua name=…` line of a library, checking the name and the engine.
///
/// # Errors
/// [`ScriptError::Invalid`] with Redis's text (missing or invalid metadata, unknown option,
/// repeated or missing or invalid name, unknown engine).
pub fn parse_library_meta(code: &[u8]) -> Result<LibraryMeta, ScriptError> {
    if !code.starts_with(b"#!") {
        return Err(ScriptError::invalid("Missing library metadata"));
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err(ScriptError::invalid("Invalid library metadata"));
    };
    let parts = match split_args(&code[..end]) {
        Some(parts) if !parts.is_empty() => parts,
        _ => return Err(ScriptError::invalid("Invalid library metadata")),
    };
    let engine = String::from_utf8_lossy(&parts[0][2.min(parts[0].len())..]).into_owned();
    let mut name: Option<Vec<u8>> = None;
    for part in &parts[1..] {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err(ScriptError::invalid(
                    "Invalid metadata value, name argument was given multiple times",
                ));
            }
            name = Some(part[5..].to_vec());
            continue;
        }
        return Err(ScriptError::invalid(format!(
            "Invalid metadata value given: {}",
            String::from_utf8_lossy(part)
        )));
    }
    let Some(name) = name else {
        return Err(ScriptError::invalid("Library name was not given"));
    };
    if !is_valid_name(&name) {
        return Err(ScriptError::invalid(INVALID_NAME));
    }
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(ScriptError::invalid(format!("Engine '{engine}' not found")));
    }
    let name = String::from_utf8_lossy(&name).into_owned();
    Ok(LibraryMeta {
        engine,
        name,
        len: end,
    })
}

/// Redis's text for an invalid library or function name (it uses the library wording for both).
pub const INVALID_NAME: &str = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// Library and function names: ASCII letters, digits and '_', at least one.
pub fn is_valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Redis's `sdssplitargs`: whitespace-separated words where `"…"` (with `\n`, `\xHH`, …
/// escapes) and `'…'` (with `\'`) quote, and a closing quote must end the word. `None` for
/// unbalanced quotes or a closing quote followed by something else.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && is_space(line[i]) {
            i += 1;
        }
        if i >= line.len() {
            return Some(out);
        }
        let mut word = Vec::new();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            if in_double {
                let b = *line.get(i)?;
                if b == b'\\'
                    && i + 3 < line.len()
                    && line[i + 1] == b'x'
                    && is_hex(line[i + 2])
                    && is_hex(line[i + 3])
                {
                    word.push(hex(line[i + 2]) * 16 + hex(line[i + 3]));
                    i += 3;
                } else if b == b'\\' && i + 1 < line.len() {
                    i += 1;
                    word.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if b == b'"' {
                    if i + 1 < line.len() && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    word.push(b);
                }
            } else if in_single {
                let b = *line.get(i)?;
                if b == b'\\' && i + 1 < line.len() && line[i + 1] == b'\'' {
                    i += 1;
                    word.push(b'\'');
                } else if b == b'\'' {
                    if i + 1 < line.len() && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    word.push(b);
                }
            } else {
                match line.get(i) {
                    None => break,
                    Some(&b) if is_space(b) => break,
                    Some(b'"') => in_double = true,
                    Some(b'\'') => in_single = true,
                    Some(&b) => word.push(b),
                }
            }
            i += 1;
        }
        out.push(word);
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c)
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

fn hex(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shebang_err(body: &str) -> String {
        match parse_shebang(body.as_bytes()) {
            Err(e) => e.to_string(),
            Ok(s) => panic!("{body:?} parsed as {s:?}"),
        }
    }

    #[test]
    fn sha1_of_body() {
        // redis.sha1hex("") on redis-server.
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        // EVAL 'return 1' reported as script e0e1f9fabfc9d4800c877a703b823ac0578ff8db.
        assert_eq!(
            sha1_hex(b"return 1"),
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
        );
    }

    #[test]
    fn shebang_flags_as_redis_reads_them() {
        let none = parse_shebang(b"return 1").unwrap();
        assert_eq!(
            none,
            Shebang {
                flags: ScriptFlags::EVAL_COMPAT_MODE,
                len: 0
            }
        );
        let s = parse_shebang(b"#!lua flags=no-writes,allow-oom\nreturn 1").unwrap();
        assert_eq!(
            s.flags,
            ScriptFlags::NO_WRITES.union(ScriptFlags::ALLOW_OOM)
        );
        assert_eq!(s.len, 31);
        let all = parse_shebang(
            b"#!lua flags=allow-cross-slot-keys,no-cluster,allow-stale,allow-oom,no-writes\n",
        )
        .unwrap();
        assert_eq!(all.flags.names().len(), 5);
        assert!(!all.flags.contains(ScriptFlags::EVAL_COMPAT_MODE));
        // Accepted by redis-server: empty list, repeated option, quoted option, quoted engine.
        assert_eq!(
            parse_shebang(b"#!lua flags=\nreturn 1").unwrap().flags,
            ScriptFlags::empty()
        );
        assert_eq!(
            parse_shebang(b"#!lua\nreturn 1").unwrap().flags,
            ScriptFlags::empty()
        );
        let twice = parse_shebang(b"#!lua flags=no-writes flags=allow-oom\n").unwrap();
        assert_eq!(
            twice.flags,
            ScriptFlags::NO_WRITES.union(ScriptFlags::ALLOW_OOM)
        );
        assert!(parse_shebang(b"#!lua \"flags=no-writes\"\n").is_ok());
        assert!(parse_shebang(b"#!\"lua\"\n").is_ok());
    }

    #[test]
    fn shebang_errors_have_redis_texts() {
        assert_eq!(
            shebang_err("#!lua flags=bogus\n"),
            "ERR Unexpected flag in script shebang: bogus"
        );
        assert_eq!(
            shebang_err("#!lua flags=no-writes,bogus\n"),
            "ERR Unexpected flag in script shebang: bogus"
        );
        assert_eq!(
            shebang_err("#!lua flags=no-writes,,allow-oom\n"),
            "ERR Unexpected flag in script shebang: "
        );
        assert_eq!(
            shebang_err("#!lua flags=NO-WRITES\n"),
            "ERR Unexpected flag in script shebang: NO-WRITES"
        );
        assert_eq!(
            shebang_err("#!lua flags=no-writes\"x\"\n"),
            "ERR Unexpected flag in script shebang: no-writesx"
        );
        assert_eq!(
            shebang_err("#!lua x=1\n"),
            "ERR Unknown lua shebang option: x=1"
        );
        assert_eq!(
            shebang_err("#!lua name=foo\n"),
            "ERR Unknown lua shebang option: name=foo"
        );
        assert_eq!(
            shebang_err("#!python\n"),
            "ERR Unexpected engine in script shebang: #!python"
        );
        assert_eq!(
            shebang_err("#!\n"),
            "ERR Unexpected engine in script shebang: #!"
        );
        assert_eq!(
            shebang_err("#!luax\n"),
            "ERR Unexpected engine in script shebang: #!luax"
        );
        assert_eq!(
            shebang_err("#!lua flags=\"no-writes\nreturn 1"),
            "ERR Invalid engine in script shebang"
        );
        assert_eq!(shebang_err("#!lua"), "ERR Invalid script shebang");
        assert_eq!(
            shebang_err("#!lua flags=no-writes"),
            "ERR Invalid script shebang"
        );
    }

    fn meta_err(code: &str) -> String {
        match parse_library_meta(code.as_bytes()) {
            Err(e) => e.to_string(),
            Ok(m) => panic!("{code:?} parsed as {m:?}"),
        }
    }

    #[test]
    fn library_metadata_as_redis_reads_it() {
        let m = parse_library_meta(b"#!lua name=lib1\nredis.register_function('f', f)").unwrap();
        assert_eq!(
            m,
            LibraryMeta {
                engine: "lua".into(),
                name: "lib1".into(),
                len: 15
            }
        );
        assert_eq!(parse_library_meta(b"#!LUA NAME=abc\n").unwrap().name, "abc");
        assert_eq!(
            meta_err("redis.register_function('f', f)"),
            "ERR Missing library metadata"
        );
        assert_eq!(meta_err("#!lua name=lib2"), "ERR Invalid library metadata");
        assert_eq!(
            meta_err("#!lua name=\"abc\n"),
            "ERR Invalid library metadata"
        );
        assert_eq!(meta_err("#!lua\n"), "ERR Library name was not given");
        assert_eq!(
            meta_err("#!lua name=lib3 x=1\n"),
            "ERR Invalid metadata value given: x=1"
        );
        assert_eq!(
            meta_err("#!lua name=lib3 flags=no-writes\n"),
            "ERR Invalid metadata value given: flags=no-writes"
        );
        assert_eq!(
            meta_err("#!lua NAME=abc2 name=abc3\n"),
            "ERR Invalid metadata value, name argument was given multiple times"
        );
        assert_eq!(
            meta_err("#!lua name=lib-3\n"),
            format!("ERR {INVALID_NAME}")
        );
        assert_eq!(meta_err("#!lua name=\n"), format!("ERR {INVALID_NAME}"));
        assert_eq!(
            meta_err("#!lua \"name=ab c\"\n"),
            format!("ERR {INVALID_NAME}")
        );
        // The name is checked before the engine.
        assert_eq!(meta_err("#!py name=a-b\n"), format!("ERR {INVALID_NAME}"));
        assert_eq!(meta_err("#!py name=lib3\n"), "ERR Engine 'py' not found");
    }

    #[test]
    fn split_args_follows_sdssplitargs() {
        let words = split_args(b"  a \"b c\\x41\\n\" 'd\\'e' f\"g\"").unwrap();
        assert_eq!(
            words,
            vec![
                b"a".to_vec(),
                b"b cA\n".to_vec(),
                b"d'e".to_vec(),
                b"fg".to_vec()
            ]
        );
        assert_eq!(split_args(b"\"abc\"d"), None);
        assert_eq!(split_args(b"'abc"), None);
        assert_eq!(split_args(b"   "), Some(vec![]));
    }
}
