//! Errors that Rust functions raise inside Lua, and how the error handler turns any Lua error
//! into Redis's error table.
//!
//! A Rust callback cannot raise an arbitrary Lua value through mlua (it always raises a
//! wrapped Rust error), so callbacks raise a [`Raise`] and the handler and `pcall` below
//! rebuild the value Redis would have raised: the `{err=…}` table of `redis.call`, or the
//! position-prefixed message of a `luaL_error` in a C library function.

use std::fmt;

use mlua::{Lua, Table, Value};

use crate::convert::error_table;

/// Chunk name of the sandbox's own Lua code; frames from it are skipped when locating the
/// user's line, and its positions in messages are replaced by the user's.
pub(crate) const INTERNAL_CHUNK: &str = "=tandem";

/// What a Rust function raises.
#[derive(Debug, Clone)]
pub(crate) enum Raise {
    /// An error table `{err = text}` (`luaPushError` + `luaError`).
    Table(String),
    /// A message as `luaL_error` raises it: prefixed by the caller's position.
    Message(String),
    /// A message raised without a position, as the Lua core raises some from C code
    /// ("table index is nil").
    Bare(String),
    /// SCRIPT KILL / FUNCTION KILL.
    Killed,
}

impl fmt::Display for Raise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Raise::Table(t) => f.write_str(t),
            Raise::Message(m) | Raise::Bare(m) => f.write_str(m),
            Raise::Killed => f.write_str(KILLED),
        }
    }
}

impl std::error::Error for Raise {}

/// Redis's text for a killed script.
pub(crate) const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";

pub(crate) fn raise_table(text: impl Into<String>) -> mlua::Error {
    mlua::Error::external(Raise::Table(text.into()))
}

pub(crate) fn raise_message(text: impl Into<String>) -> mlua::Error {
    mlua::Error::external(Raise::Message(text.into()))
}

pub(crate) fn raise_bare(text: impl Into<String>) -> mlua::Error {
    mlua::Error::external(Raise::Bare(text.into()))
}

/// Finds the [`Raise`] inside an mlua error, through callback wrappers.
pub(crate) fn find_raise(e: &mlua::Error) -> Option<&Raise> {
    match e {
        mlua::Error::CallbackError { cause, .. } => find_raise(cause),
        mlua::Error::ExternalError(inner) => inner.downcast_ref::<Raise>(),
        mlua::Error::WithContext { cause, .. } => find_raise(cause),
        _ => None,
    }
}

/// The innermost message of an mlua error that is not one of ours.
fn plain_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::CallbackError { cause, .. } => plain_message(cause),
        mlua::Error::WithContext { cause, .. } => plain_message(cause),
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::MemoryError(m) => m.clone(),
        mlua::Error::ExternalError(inner) => inner.to_string(),
        other => other.to_string(),
    }
}

/// The nearest frame of user code, from `level` outward: its `source` and current line
/// (C functions, tail-call markers and the sandbox's own frames skipped).
pub(crate) fn user_frame(lua: &Lua, mut level: usize) -> Option<(String, i32)> {
    while let Some(debug) = lua.inspect_stack(level) {
        let source = debug.source();
        let what = source.what;
        let src = source.source.as_deref().unwrap_or("");
        // Tail-call markers carry no line: Redis's originals of the sandbox's Lua wrappers are
        // C functions, which keep their caller's frame, so look further out.
        if what != "C" && what != "tail" && src != INTERNAL_CHUNK {
            return Some((src.to_owned(), debug.curr_line()));
        }
        level += 1;
    }
    None
}

/// `luaL_where` for a frame: "short_src:line: ", or nothing without a line.
pub(crate) fn where_prefix(source: &str, line: i32) -> String {
    if line <= 0 {
        return String::new();
    }
    format!("{}:{line}: ", short_src(source))
}

/// Lua 5.1's `luaO_chunkid` (with `LUA_IDSIZE` 60): how a chunk's source is named in
/// messages.
pub(crate) fn short_src(source: &str) -> String {
    const ID_SIZE: usize = 60;
    fn prefix(s: &str, mut len: usize) -> &str {
        len = len.min(s.len());
        while !s.is_char_boundary(len) {
            len -= 1;
        }
        &s[..len]
    }
    // C strings: everything from a NUL on is invisible to it.
    let source = source.split('\0').next().unwrap_or("");
    if let Some(rest) = source.strip_prefix('=') {
        return prefix(rest, ID_SIZE - 1).to_owned();
    }
    if let Some(file) = source.strip_prefix('@') {
        let room = ID_SIZE - " '...' ".len() - 1;
        if file.len() > room {
            let mut start = file.len() - room;
            while !file.is_char_boundary(start) {
                start += 1;
            }
            return format!("...{}", &file[start..]);
        }
        return file.to_owned();
    }
    let line_len = source.find(['\n', '\r']).unwrap_or(source.len());
    let room = ID_SIZE - " [string \"...\"] ".len() - 1;
    let len = line_len.min(room);
    if len < source.len() {
        format!("[string \"{}...\"]", prefix(source, len))
    } else {
        format!("[string \"{source}\"]")
    }
}

/// Replaces a position of the sandbox's own chunk at the start of `msg` by `prefix`.
fn fix_internal_position(msg: &str, prefix: &str) -> Option<String> {
    let rest = msg.strip_prefix("tandem:")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let rest = rest[digits..].strip_prefix(": ")?;
    Some(format!("{prefix}{rest}"))
}

/// What `pcall`/`xpcall` hand to user code for a caught error: Rust-raised errors become the
/// value Redis would have raised; messages positioned in the sandbox's own chunk get the
/// user's position.
pub(crate) fn normalize(lua: &Lua, value: Value) -> mlua::Result<Value> {
    match value {
        Value::Error(e) => {
            let prefix = user_frame(lua, 1)
                .map(|(s, l)| where_prefix(&s, l))
                .unwrap_or_default();
            Ok(match find_raise(&e) {
                Some(Raise::Table(t)) => Value::Table(error_table(lua, t)?),
                Some(Raise::Message(m)) => {
                    Value::String(lua.create_string(format!("{prefix}{m}"))?)
                }
                Some(Raise::Bare(m)) => Value::String(lua.create_string(m)?),
                Some(Raise::Killed) => Value::Table(error_table(lua, KILLED)?),
                None => Value::String(lua.create_string(plain_message(&e))?),
            })
        }
        Value::String(s) => {
            let text = s.to_string_lossy();
            let prefix = user_frame(lua, 1)
                .map(|(s, l)| where_prefix(&s, l))
                .unwrap_or_default();
            match fix_internal_position(&text, &prefix) {
                Some(fixed) => Ok(Value::String(lua.create_string(fixed)?)),
                None => Ok(Value::String(s)),
            }
        }
        other => Ok(other),
    }
}

/// Redis's `__redis__err__handler`: turns any error into `{err=…, source=…, line=…}`, with
/// the position of the user's frame that raised it (C and sandbox frames skipped).
pub(crate) fn error_handler(lua: &Lua, value: Value) -> mlua::Result<Table> {
    let frame = user_frame(lua, 1);
    let prefix = frame
        .as_ref()
        .map(|(s, l)| where_prefix(s, *l))
        .unwrap_or_default();
    let err = match &value {
        Value::Table(t) => match t.get::<Value>("err") {
            Ok(Value::String(s)) => Some(s.to_string_lossy()),
            Ok(Value::Number(n)) => Some(crate::format::format_g(n, 14)),
            Ok(Value::Integer(n)) => Some(crate::format::format_g(n as f64, 14)),
            // Redis 7.0.15 crashes on an error table without `err`; tandem reports it.
            _ => None,
        },
        Value::Error(e) => Some(match find_raise(e) {
            Some(Raise::Table(t)) => t.clone(),
            Some(Raise::Message(m)) => format!("ERR {prefix}{m}"),
            Some(Raise::Bare(m)) => format!("ERR {m}"),
            Some(Raise::Killed) => KILLED.to_owned(),
            None => format!("ERR {}", plain_message(e)),
        }),
        Value::String(s) => {
            let text = s.to_string_lossy();
            Some(format!(
                "ERR {}",
                fix_internal_position(&text, &prefix).unwrap_or(text)
            ))
        }
        Value::Nil => Some("ERR nil".to_owned()),
        Value::Boolean(b) => Some(format!("ERR {b}")),
        Value::Number(n) => Some(format!("ERR {}", crate::format::format_g(*n, 14))),
        Value::Integer(n) => Some(format!("ERR {}", crate::format::format_g(*n as f64, 14))),
        other => Some(format!(
            "ERR {}",
            other
                .to_string()
                .unwrap_or_else(|_| other.type_name().to_owned())
        )),
    };
    let out = lua.create_table_with_capacity(0, 3)?;
    match err {
        Some(text) => out.raw_set("err", text)?,
        None => out.raw_set(
            "err",
            "ERR the script raised an error table without an 'err' field",
        )?,
    }
    if let Some((source, line)) = frame {
        out.raw_set("source", source)?;
        out.raw_set("line", line)?;
    }
    Ok(out)
}
