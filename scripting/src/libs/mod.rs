//! Redis's bundled Lua C libraries (`bit`, `cjson`, `cmsgpack`, `struct`), rewritten in Rust.
//!
//! Redis compiles these C libraries into its Lua; mlua's vendored Lua has none of them and no
//! crate reproduces their exact outputs and error texts, so they are written here against
//! redis-server 7.0.15's behaviour (each test's expected value comes from it).
//!
//! Known gap: mlua hands Lua 5.1 numbers to Rust as `Value::Integer` when they are within
//! `f64::EPSILON` of an integer, so `-0` and magnitudes below about 2.2e-16 reach these
//! functions as 0 (`cjson.encode(-0)` is `0` here, `-0` on Redis).

use mlua::{Lua, Table, Value};

use crate::raise::raise_message;

mod bit;
mod cjson;
mod cmsgpack;
mod structlib;

/// The deepest nesting any library walks (cjson encode/decode, cmsgpack decode), whatever
/// their own settings say: each level holds a few mlua handles, and mlua panics when its
/// auxiliary stack (about 8000 handles) runs out. Redis's C libraries stop near this depth
/// anyway, when `lua_checkstack` fails.
pub(crate) const MAX_NESTING: i64 = 1000;

/// The most values one call returns (`cmsgpack.unpack`, `struct.unpack`): each returned
/// string is an mlua handle (see [`MAX_NESTING`]); Lua's own `unpack` stops near 8000 with the
/// same message.
pub(crate) const MAX_RESULTS: usize = 4000;

/// Adds the libraries to `globals`.
///
/// # Errors
/// Allocation failures inside Lua.
pub fn register(lua: &Lua, globals: &Table) -> mlua::Result<()> {
    globals.raw_set("bit", bit::open(lua)?)?;
    globals.raw_set("cjson", cjson::open(lua)?)?;
    globals.raw_set("struct", structlib::open(lua)?)?;
    globals.raw_set("cmsgpack", cmsgpack::open(lua)?)?;
    Ok(())
}

/// `luaL_checknumber` for argument `i` (0-based) of `func`.
pub(crate) fn check_number(args: &[Value], i: usize, func: &str) -> mlua::Result<f64> {
    match args.get(i) {
        Some(Value::Number(n)) => Ok(*n),
        Some(Value::Integer(n)) => Ok(*n as f64),
        Some(Value::String(s)) => {
            let text = s.to_string_lossy();
            match parse_lua_number(&text) {
                Some(n) => Ok(n),
                None => Err(bad_argument(i, func, "number", Some(&args[i]))),
            }
        }
        other => Err(bad_argument(i, func, "number", other)),
    }
}

/// `luaL_typerror`'s message for argument `i` (0-based).
pub(crate) fn bad_argument(
    i: usize,
    func: &str,
    expected: &str,
    got: Option<&Value>,
) -> mlua::Error {
    let got = got.map_or("no value", Value::type_name);
    raise_message(format!(
        "bad argument #{} to '{func}' ({expected} expected, got {got})",
        i + 1
    ))
}

/// Lua 5.1's string → number coercion (`luaO_str2d`): decimal or hex, surrounding spaces.
pub(crate) fn parse_lua_number(text: &str) -> Option<f64> {
    let t = text.trim_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    if t.is_empty() {
        return None;
    }
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).ok().map(|v| v as f64);
    }
    if t.eq_ignore_ascii_case("inf")
        || t.eq_ignore_ascii_case("nan")
        || t.contains(['i', 'I', 'n', 'N'])
    {
        // strtod accepts "inf"/"nan"; Lua 5.1 does too (it calls strtod).
        return t.parse::<f64>().ok();
    }
    t.parse::<f64>().ok()
}
