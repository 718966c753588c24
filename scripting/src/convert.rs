//! Conversion between Lua values and [`Reply`], both ways, as Redis 7.0's
//! `luaReplyToRedisReply` and `redisProtocolToLuaType` do it.
//!
//! The direction Reply → Lua depends on the protocol the script selected with
//! `redis.setresp` (RESP2 by default): under RESP2 a command's reply is first flattened the way
//! a RESP2 client would see it (maps become flat arrays, doubles bulk strings, nulls `false`),
//! under RESP3 it keeps its shape (`{map=…}`, `{set=…}`, `{double=…}`, `{big_number=…}`,
//! `nil`, booleans). The
//! direction Lua → Reply depends on it only for booleans.

use mlua::{Lua, Table, Value};
use tandem_shared::Reply;

use crate::format::format_g;

/// The protocol a script speaks to `redis.call` (`redis.setresp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resp {
    #[default]
    Resp2,
    Resp3,
}

/// How deep a returned Lua table may nest; deeper values become "reached lua stack limit".
///
/// redis-server 7.0.15 gives up at 7995 levels (a table that contains itself replies 7995
/// nested arrays, then the error). tandem stops at 1000: every level holds up to five mlua
/// handles (table, map, iterator, key, value), each a slot of mlua's auxiliary stack of about
/// 8000 whose exhaustion panics, and the conversion recurses once per level.
pub const MAX_REPLY_DEPTH: usize = 1000;

/// Text of the error that replaces a value nested deeper than [`MAX_REPLY_DEPTH`].
const STACK_LIMIT: &str = "ERR reached lua stack limit";

/// Converts the value a script returned into its reply.
pub fn lua_to_reply(value: &Value, resp: Resp) -> Reply {
    to_reply(value, resp, 0)
}

fn to_reply(value: &Value, resp: Resp, depth: usize) -> Reply {
    if depth >= MAX_REPLY_DEPTH {
        return Reply::Error(STACK_LIMIT.to_owned());
    }
    match value {
        Value::String(s) => Reply::Bulk(s.as_bytes().to_vec()),
        Value::Boolean(b) => match (resp, b) {
            (Resp::Resp2, true) => Reply::Integer(1),
            (Resp::Resp2, false) => Reply::Nil,
            (Resp::Resp3, b) => Reply::Bool(*b),
        },
        Value::Integer(i) => Reply::Integer(*i),
        Value::Number(n) => Reply::Integer(number_to_integer(*n)),
        Value::Table(t) => table_to_reply(t, resp, depth),
        _ => Reply::Nil,
    }
}

/// C's `(long long)` cast of a double as x86-64 performs it: truncation toward zero, and the
/// "integer indefinite" value `i64::MIN` for NaN and anything out of range (redis-server
/// replies `:-9223372036854775808` to `return 1e30`, `return 0/0` and `return 1/0`).
pub fn number_to_integer(n: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if n.is_nan() || !(-LIMIT..LIMIT).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

fn table_to_reply(t: &Table, resp: Resp, depth: usize) -> Reply {
    if let Ok(Value::String(err)) = t.raw_get::<Value>("err") {
        return Reply::Error(error_line(&err.as_bytes()));
    }
    if let Ok(Value::String(ok)) = t.raw_get::<Value>("ok") {
        return Reply::Simple(one_line(&ok.as_bytes()));
    }
    match t.raw_get::<Value>("double") {
        Ok(Value::Number(d)) => return Reply::Double(d),
        Ok(Value::Integer(i)) => return Reply::Double(i as f64),
        _ => {}
    }
    if let Ok(Value::String(big)) = t.raw_get::<Value>("big_number") {
        // Redis does not check the text holds digits; it only maps CR/LF to spaces.
        return Reply::BigNumber(one_line(&big.as_bytes()));
    }
    if let Ok(Value::Table(v)) = t.raw_get::<Value>("verbatim_string") {
        if let (Ok(Value::String(_format)), Ok(Value::String(text))) =
            (v.raw_get::<Value>("format"), v.raw_get::<Value>("string"))
        {
            return Reply::Verbatim(text.as_bytes().to_vec());
        }
    }
    if let Ok(Value::Table(map)) = t.raw_get::<Value>("map") {
        let mut pairs = Vec::new();
        for (k, v) in map.pairs::<Value, Value>().flatten() {
            pairs.push((to_reply(&k, resp, depth + 1), to_reply(&v, resp, depth + 1)));
        }
        return Reply::Map(pairs);
    }
    if let Ok(Value::Table(set)) = t.raw_get::<Value>("set") {
        let mut members = Vec::new();
        for (k, _) in set.pairs::<Value, Value>().flatten() {
            members.push(to_reply(&k, resp, depth + 1));
        }
        return Reply::Set(members);
    }
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(to_reply(&v, resp, depth + 1)),
        }
    }
    Reply::Array(items)
}

/// A status line: CR and LF become spaces (`sdsmapchars(ok, "\r\n", "  ")`).
fn one_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace(['\r', '\n'], " ")
}

/// An error line as `addReplyErrorFormat` writes it: trailing CR/LF dropped, the others
/// turned into spaces.
pub(crate) fn error_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.trim_end_matches(['\r', '\n'])
        .replace(['\r', '\n'], " ")
}

/// The `err` field Redis builds from an error reply (`luaPushErrorBuff`): the reply's first
/// word is its code, or `ERR` when it has a single word; CR/LF at the end are trimmed.
pub fn error_field(reply_text: &str) -> String {
    match reply_text.split_once(' ') {
        Some((code, msg)) => format!("{code} {}", msg.trim_matches(['\r', '\n'])),
        None => format!("ERR {}", reply_text.trim_matches(['\r', '\n'])),
    }
}

/// A table `{err = text}`.
pub(crate) fn error_table(lua: &Lua, text: &str) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, 1)?;
    t.raw_set("err", text)?;
    Ok(t)
}

/// Converts a command's reply into the Lua value `redis.call` returns.
///
/// # Errors
/// Only allocation failures inside Lua.
pub fn reply_to_lua(lua: &Lua, reply: &Reply, resp: Resp) -> mlua::Result<Value> {
    Ok(match reply {
        Reply::Simple(s) => {
            let t = lua.create_table_with_capacity(0, 1)?;
            t.raw_set("ok", lua.create_string(s)?)?;
            Value::Table(t)
        }
        Reply::Error(e) => Value::Table(error_table(lua, &error_field(e))?),
        Reply::Integer(i) => Value::Number(*i as f64),
        Reply::Bulk(b) => Value::String(lua.create_string(b)?),
        Reply::Nil | Reply::NilArray => match resp {
            Resp::Resp2 => Value::Boolean(false),
            Resp::Resp3 => Value::Nil,
        },
        Reply::Array(items) => array(lua, items.iter(), resp)?,
        Reply::Set(items) => match resp {
            Resp::Resp2 => array(lua, items.iter(), resp)?,
            Resp::Resp3 => {
                let set = lua.create_table()?;
                for item in items {
                    set.raw_set(reply_to_lua(lua, item, resp)?, true)?;
                }
                wrap(lua, "set", Value::Table(set))?
            }
        },
        Reply::Map(pairs) => match resp {
            Resp::Resp2 => array(lua, pairs.iter().flat_map(|(k, v)| [k, v]), resp)?,
            Resp::Resp3 => {
                let map = lua.create_table()?;
                for (k, v) in pairs {
                    map.raw_set(reply_to_lua(lua, k, resp)?, reply_to_lua(lua, v, resp)?)?;
                }
                wrap(lua, "map", Value::Table(map))?
            }
        },
        Reply::PairMap(pairs) => match resp {
            Resp::Resp2 => {
                let t = lua.create_table_with_capacity(pairs.len(), 0)?;
                for (i, (k, v)) in pairs.iter().enumerate() {
                    let pair = lua.create_table_with_capacity(2, 0)?;
                    pair.raw_set(1, reply_to_lua(lua, k, resp)?)?;
                    pair.raw_set(2, reply_to_lua(lua, v, resp)?)?;
                    t.raw_set(i + 1, pair)?;
                }
                Value::Table(t)
            }
            Resp::Resp3 => {
                let map = lua.create_table()?;
                for (k, v) in pairs {
                    map.raw_set(reply_to_lua(lua, k, resp)?, reply_to_lua(lua, v, resp)?)?;
                }
                wrap(lua, "map", Value::Table(map))?
            }
        },
        Reply::Pairs(pairs) => match resp {
            Resp::Resp2 => array(lua, pairs.iter().flat_map(|(k, v)| [k, v]), resp)?,
            Resp::Resp3 => {
                let t = lua.create_table_with_capacity(pairs.len(), 0)?;
                for (i, (k, v)) in pairs.iter().enumerate() {
                    let pair = lua.create_table_with_capacity(2, 0)?;
                    pair.raw_set(1, reply_to_lua(lua, k, resp)?)?;
                    pair.raw_set(2, reply_to_lua(lua, v, resp)?)?;
                    t.raw_set(i + 1, pair)?;
                }
                Value::Table(t)
            }
        },
        Reply::Double(d) => match resp {
            Resp::Resp2 => Value::String(lua.create_string(double_text(*d))?),
            Resp::Resp3 => wrap(lua, "double", Value::Number(*d))?,
        },
        // `,text` under RESP3 reaches Lua through `strtod`; under RESP2 it was a bulk string.
        Reply::HumanDouble(text) => match resp {
            Resp::Resp2 => Value::String(lua.create_string(text)?),
            Resp::Resp3 => wrap(lua, "double", Value::Number(text.parse().unwrap_or(0.0)))?,
        },
        Reply::Bool(b) => match resp {
            Resp::Resp2 => Value::Number(if *b { 1.0 } else { 0.0 }),
            Resp::Resp3 => Value::Boolean(*b),
        },
        // `redisProtocolToLuaType_BigNumber`: `{big_number = "digits"}` under RESP3; under
        // RESP2 the command's reply was a bulk string, so Lua sees a string.
        Reply::BigNumber(digits) => match resp {
            Resp::Resp2 => Value::String(lua.create_string(digits)?),
            Resp::Resp3 => wrap(lua, "big_number", Value::String(lua.create_string(digits)?))?,
        },
        Reply::Verbatim(text) => match resp {
            Resp::Resp2 => Value::String(lua.create_string(text)?),
            Resp::Resp3 => {
                let v = lua.create_table_with_capacity(0, 2)?;
                v.raw_set("string", lua.create_string(text)?)?;
                v.raw_set("format", "txt")?;
                wrap(lua, "verbatim_string", Value::Table(v))?
            }
        },
    })
}

/// `addReplyDouble`'s RESP2 text: `inf`/`-inf`, otherwise `%.17g`.
fn double_text(d: f64) -> String {
    format_g(d, 17)
}

fn array<'a>(lua: &Lua, items: impl Iterator<Item = &'a Reply>, resp: Resp) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    for (i, item) in items.enumerate() {
        // A RESP3 null inside an array leaves a hole, as `lua_settable(t, i, nil)` does.
        t.raw_set(i + 1, reply_to_lua(lua, item, resp)?)?;
    }
    Ok(Value::Table(t))
}

fn wrap(lua: &Lua, field: &str, value: Value) -> mlua::Result<Value> {
    let t = lua.create_table_with_capacity(0, 1)?;
    t.raw_set(field, value)?;
    Ok(Value::Table(t))
}
