//! lua-cjson 2.1.0 (`cjson.*`) as bundled by Redis 7.0: `encode`, `decode`, `null` and the
//! configuration functions, with its number formatting (`%.14g`), sparse-array and nesting
//! rules and its error texts (token names such as `T_END`, 1-based character positions).

use std::cell::RefCell;
use std::rc::Rc;

use mlua::{LightUserData, Lua, MultiValue, Table, Value};

use super::{bad_argument, check_number};
use crate::format::format_g;
use crate::raise::raise_message;

/// lua-cjson's defaults (`DEFAULT_*` in lua_cjson.c).
#[derive(Debug, Clone)]
struct Config {
    sparse_convert: bool,
    sparse_ratio: i64,
    sparse_safe: i64,
    encode_max_depth: i64,
    decode_max_depth: i64,
    precision: usize,
    /// `false`, `true` or `"null"` (encode NaN/Inf as null).
    encode_invalid: InvalidNumbers,
    decode_invalid: bool,
    keep_buffer: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InvalidNumbers {
    Off,
    On,
    Null,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            precision: 14,
            encode_invalid: InvalidNumbers::Off,
            decode_invalid: true,
            keep_buffer: true,
        }
    }
}

/// `cjson.null`: a light userdata holding NULL, as lua-cjson pushes it.
fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

fn is_null(v: &Value) -> bool {
    matches!(v, Value::LightUserData(LightUserData(p)) if p.is_null())
}

pub(super) fn open(lua: &Lua) -> mlua::Result<Table> {
    let config = Rc::new(RefCell::new(Config::default()));
    let t = lua.create_table()?;
    let c = config.clone();
    t.raw_set(
        "encode",
        lua.create_function(move |lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(raise_message(
                    "bad argument #1 to 'encode' (expected 1 argument)",
                ));
            }
            let cfg = c.borrow().clone();
            let mut out = Vec::new();
            let value = args.into_iter().next().unwrap_or(Value::Nil);
            encode(&cfg, &value, 0, &mut out)?;
            lua.create_string(out)
        })?,
    )?;
    let c = config.clone();
    t.raw_set(
        "decode",
        lua.create_function(move |lua, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            if args.len() != 1 {
                return Err(raise_message(
                    "bad argument #1 to 'decode' (expected 1 argument)",
                ));
            }
            let text = match &args[0] {
                Value::String(s) => s.as_bytes().to_vec(),
                Value::Number(n) => format_g(*n, 14).into_bytes(),
                Value::Integer(n) => format_g(*n as f64, 14).into_bytes(),
                other => return Err(bad_argument(0, "decode", "string", Some(other))),
            };
            let cfg = c.borrow().clone();
            Decoder {
                lua,
                cfg: &cfg,
                text: &text,
                pos: 0,
                depth: 0,
            }
            .decode()
        })?,
    )?;
    t.raw_set("null", null())?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    install_config(lua, &t, &config)?;
    t.raw_set("new", lua.create_function(|lua, _: MultiValue| open(lua))?)?;
    Ok(t)
}

fn int_option(args: &[Value], func: &str, min: i64, max: i64) -> mlua::Result<Option<i64>> {
    match args.first() {
        None | Some(Value::Nil) => Ok(None),
        Some(_) => {
            let n = check_number(args, 0, func)? as i64;
            if n < min || n > max {
                return Err(raise_message(format!(
                    "bad argument #1 to '{func}' (expected integer between {min} and {max})"
                )));
            }
            Ok(Some(n))
        }
    }
}

fn bool_option(args: &[Value], i: usize, func: &str) -> mlua::Result<Option<bool>> {
    match args.get(i) {
        None | Some(Value::Nil) => Ok(None),
        Some(Value::Boolean(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => match s.as_bytes().as_ref() {
            b"on" => Ok(Some(true)),
            b"off" => Ok(Some(false)),
            _ => Err(raise_message(format!(
                "bad argument #{} to '{func}' (invalid option '{}')",
                i + 1,
                s.to_string_lossy()
            ))),
        },
        Some(other) => Err(bad_argument(i, func, "boolean", Some(other))),
    }
}

/// A boolean option as lua-cjson returns it: `true` → 1 in a reply, `false` → nil.
fn bool_value(b: bool) -> Value {
    Value::Boolean(b)
}

fn install_config(lua: &Lua, t: &Table, config: &Rc<RefCell<Config>>) -> mlua::Result<()> {
    let c = config.clone();
    t.raw_set(
        "encode_max_depth",
        lua.create_function(move |_, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            if let Some(n) = int_option(&args, "encode_max_depth", 1, i64::from(i32::MAX))? {
                c.borrow_mut().encode_max_depth = n;
            }
            Ok(c.borrow().encode_max_depth)
        })?,
    )?;
    let c = config.clone();
    t.raw_set(
        "decode_max_depth",
        lua.create_function(move |_, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            if let Some(n) = int_option(&args, "decode_max_depth", 1, i64::from(i32::MAX))? {
                c.borrow_mut().decode_max_depth = n;
            }
            Ok(c.borrow().decode_max_depth)
        })?,
    )?;
    let c = config.clone();
    t.raw_set(
        "encode_number_precision",
        lua.create_function(move |_, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            if let Some(n) = int_option(&args, "encode_number_precision", 1, 14)? {
                c.borrow_mut().precision = n as usize;
            }
            Ok(c.borrow().precision)
        })?,
    )?;
    let c = config.clone();
    t.raw_set(
        "encode_sparse_array",
        lua.create_function(move |_, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            if let Some(b) = bool_option(&args, 0, "encode_sparse_array")? {
                c.borrow_mut().sparse_convert = b;
            }
            for (i, name) in [(1, "ratio"), (2, "safe")] {
                if matches!(args.get(i), None | Some(Value::Nil)) {
                    continue;
                }
                let n = check_number(&args, i, "encode_sparse_array")? as i64;
                if !(0..=i64::from(i32::MAX)).contains(&n) {
                    return Err(raise_message(format!(
                        "bad argument #{} to 'encode_sparse_array' (expected integer between 0 and 2147483647)",
                        i + 1
                    )));
                }
                if name == "ratio" {
                    c.borrow_mut().sparse_ratio = n;
                } else {
                    c.borrow_mut().sparse_safe = n;
                }
            }
            let cfg = c.borrow();
            Ok((bool_value(cfg.sparse_convert), cfg.sparse_ratio, cfg.sparse_safe))
        })?,
    )?;
    let c = config.clone();
    t.raw_set(
        "encode_invalid_numbers",
        lua.create_function(move |lua, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            match args.first() {
                Some(Value::String(s)) if s.as_bytes().as_ref() == b"null" => {
                    c.borrow_mut().encode_invalid = InvalidNumbers::Null
                }
                _ => {
                    if let Some(b) = bool_option(&args, 0, "encode_invalid_numbers")? {
                        c.borrow_mut().encode_invalid = if b {
                            InvalidNumbers::On
                        } else {
                            InvalidNumbers::Off
                        };
                    }
                }
            }
            Ok(match c.borrow().encode_invalid {
                InvalidNumbers::Off => Value::Boolean(false),
                InvalidNumbers::On => Value::Boolean(true),
                InvalidNumbers::Null => Value::String(lua.create_string("null")?),
            })
        })?,
    )?;
    let c = config.clone();
    t.raw_set(
        "decode_invalid_numbers",
        lua.create_function(move |_, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            if let Some(b) = bool_option(&args, 0, "decode_invalid_numbers")? {
                c.borrow_mut().decode_invalid = b;
            }
            Ok(bool_value(c.borrow().decode_invalid))
        })?,
    )?;
    let c = config.clone();
    t.raw_set(
        "encode_keep_buffer",
        lua.create_function(move |_, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            if let Some(b) = bool_option(&args, 0, "encode_keep_buffer")? {
                c.borrow_mut().keep_buffer = b;
            }
            Ok(bool_value(c.borrow().keep_buffer))
        })?,
    )?;
    Ok(())
}

// ---- encode ---------------------------------------------------------------------------------

fn encode_error(value: &Value, reason: &str) -> mlua::Error {
    raise_message(format!("Cannot serialise {}: {reason}", value.type_name()))
}

fn encode(cfg: &Config, value: &Value, depth: i64, out: &mut Vec<u8>) -> mlua::Result<()> {
    match value {
        Value::String(s) => encode_string(&s.as_bytes(), out),
        Value::Number(n) => encode_number(cfg, *n, value, out)?,
        Value::Integer(i) => encode_number(cfg, *i as f64, value, out)?,
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Nil => out.extend_from_slice(b"null"),
        v if is_null(v) => out.extend_from_slice(b"null"),
        Value::Table(t) => {
            let depth = depth + 1;
            if depth > cfg.encode_max_depth.min(super::MAX_NESTING) {
                return Err(raise_message(format!(
                    "Cannot serialise, excessive nesting ({depth})"
                )));
            }
            match array_length(cfg, t, value)? {
                Some(len) if len > 0 => {
                    out.push(b'[');
                    for i in 1..=len {
                        if i > 1 {
                            out.push(b',');
                        }
                        let item: Value = t.raw_get(i)?;
                        encode(cfg, &item, depth, out)?;
                    }
                    out.push(b']');
                }
                _ => {
                    out.push(b'{');
                    let mut first = true;
                    for pair in t.pairs::<Value, Value>() {
                        let (k, v) = pair?;
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match &k {
                            Value::String(s) => encode_string(&s.as_bytes(), out),
                            Value::Number(n) => {
                                out.push(b'"');
                                encode_number(cfg, *n, &k, out)?;
                                out.push(b'"');
                            }
                            Value::Integer(n) => {
                                out.push(b'"');
                                encode_number(cfg, *n as f64, &k, out)?;
                                out.push(b'"');
                            }
                            other => {
                                return Err(encode_error(
                                    other,
                                    "table key must be a number or string",
                                ))
                            }
                        }
                        out.push(b':');
                        encode(cfg, &v, depth, out)?;
                    }
                    out.push(b'}');
                }
            }
        }
        other => return Err(encode_error(other, "type not supported")),
    }
    Ok(())
}

fn encode_number(cfg: &Config, n: f64, value: &Value, out: &mut Vec<u8>) -> mlua::Result<()> {
    if n.is_finite() {
        out.extend_from_slice(format_g(n, cfg.precision).as_bytes());
        return Ok(());
    }
    match cfg.encode_invalid {
        InvalidNumbers::Off => Err(encode_error(value, "must not be NaN or Inf")),
        InvalidNumbers::Null => {
            out.extend_from_slice(b"null");
            Ok(())
        }
        InvalidNumbers::On => {
            let text = if n.is_nan() {
                "nan"
            } else if n > 0.0 {
                "inf"
            } else {
                "-inf"
            };
            out.extend_from_slice(text.as_bytes());
            Ok(())
        }
    }
}

/// `lua_array_length`: `Some(max)` when every key is an integer ≥ 1 (and the array is not
/// excessively sparse), `None` for an object.
fn array_length(cfg: &Config, t: &Table, value: &Value) -> mlua::Result<Option<i64>> {
    let mut max = 0.0f64;
    let mut items = 0i64;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let k = match k {
            Value::Number(n) => n,
            Value::Integer(n) => n as f64,
            _ => return Ok(None),
        };
        if k.floor() != k || k < 1.0 {
            return Ok(None);
        }
        max = max.max(k);
        items += 1;
    }
    let max = max as i64;
    if cfg.sparse_ratio > 0 && max > items * cfg.sparse_ratio && max > cfg.sparse_safe {
        if !cfg.sparse_convert {
            return Err(encode_error(value, "excessively sparse array"));
        }
        return Ok(None);
    }
    Ok(Some(max))
}

fn encode_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            8 => out.extend_from_slice(b"\\b"),
            12 => out.extend_from_slice(b"\\f"),
            0..=31 | 127 => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

// ---- decode ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str,
    Number(f64),
    Boolean(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Token {
    fn name(self) -> &'static str {
        match self {
            Token::ObjBegin => "T_OBJ_BEGIN",
            Token::ObjEnd => "T_OBJ_END",
            Token::ArrBegin => "T_ARR_BEGIN",
            Token::ArrEnd => "T_ARR_END",
            Token::Str => "T_STRING",
            Token::Number(_) => "T_NUMBER",
            Token::Boolean(_) => "T_BOOLEAN",
            Token::Null => "T_NULL",
            Token::Colon => "T_COLON",
            Token::Comma => "T_COMMA",
            Token::End => "T_END",
            Token::Error(msg) => msg,
        }
    }
}

struct Decoder<'a> {
    lua: &'a Lua,
    cfg: &'a Config,
    text: &'a [u8],
    pos: usize,
    depth: i64,
}

impl Decoder<'_> {
    fn decode(mut self) -> mlua::Result<Value> {
        let (token, at, s) = self.next_token();
        let value = self.value(token, at, s)?;
        let (token, at, _) = self.next_token();
        if token != Token::End {
            return Err(expected("the end", token, at));
        }
        Ok(value)
    }

    /// The next token, the index where it starts (where the error is, for errors) and the
    /// decoded bytes of a string token.
    fn next_token(&mut self) -> (Token, usize, Vec<u8>) {
        while let Some(&b) = self.text.get(self.pos) {
            if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                self.pos += 1;
            } else {
                break;
            }
        }
        let start = self.pos;
        let Some(&b) = self.text.get(start) else {
            return (Token::End, start, Vec::new());
        };
        let single = match b {
            b'{' => Some(Token::ObjBegin),
            b'}' => Some(Token::ObjEnd),
            b'[' => Some(Token::ArrBegin),
            b']' => Some(Token::ArrEnd),
            b':' => Some(Token::Colon),
            b',' => Some(Token::Comma),
            _ => None,
        };
        if let Some(token) = single {
            self.pos += 1;
            return (token, start, Vec::new());
        }
        if b == b'"' {
            return self.string_token();
        }
        let rest = &self.text[start..];
        if b == b'-' || b.is_ascii_digit() {
            if !self.cfg.decode_invalid && is_invalid_number(rest) {
                return (Token::Error("invalid number"), start, Vec::new());
            }
            return self.number_token();
        }
        for (word, token) in [
            (&b"true"[..], Token::Boolean(true)),
            (b"false", Token::Boolean(false)),
            (b"null", Token::Null),
        ] {
            if rest.starts_with(word) {
                self.pos += word.len();
                return (token, start, Vec::new());
            }
        }
        if self.cfg.decode_invalid && is_invalid_number(rest) {
            return self.number_token();
        }
        (Token::Error("invalid token"), start, Vec::new())
    }

    fn number_token(&mut self) -> (Token, usize, Vec<u8>) {
        let start = self.pos;
        match strtod(&self.text[start..]) {
            Some((n, len)) => {
                self.pos += len;
                (Token::Number(n), start, Vec::new())
            }
            None => (Token::Error("invalid number"), start, Vec::new()),
        }
    }

    fn string_token(&mut self) -> (Token, usize, Vec<u8>) {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.text.get(self.pos) else {
                return (
                    Token::Error("unexpected end of string"),
                    self.pos,
                    Vec::new(),
                );
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    return (Token::Str, start, out);
                }
                b'\\' => {
                    let Some(&esc) = self.text.get(self.pos + 1) else {
                        return (
                            Token::Error("unexpected end of string"),
                            self.pos + 1,
                            Vec::new(),
                        );
                    };
                    let simple = match esc {
                        b'"' => Some(b'"'),
                        b'\\' => Some(b'\\'),
                        b'/' => Some(b'/'),
                        b'b' => Some(8),
                        b'f' => Some(12),
                        b'n' => Some(b'\n'),
                        b'r' => Some(b'\r'),
                        b't' => Some(b'\t'),
                        _ => None,
                    };
                    if let Some(c) = simple {
                        out.push(c);
                        self.pos += 2;
                    } else if esc == b'u' {
                        match unicode_escape(&self.text[self.pos..]) {
                            Some((cp, len)) => {
                                push_utf8(cp, &mut out);
                                self.pos += len;
                            }
                            None => {
                                return (
                                    Token::Error("invalid unicode escape code"),
                                    self.pos,
                                    Vec::new(),
                                )
                            }
                        }
                    } else {
                        return (Token::Error("invalid escape code"), self.pos, Vec::new());
                    }
                }
                _ => {
                    out.push(b);
                    self.pos += 1;
                }
            }
        }
    }

    fn descend(&mut self) -> mlua::Result<()> {
        self.depth += 1;
        if self.depth > self.cfg.decode_max_depth.min(super::MAX_NESTING) {
            return Err(raise_message(format!(
                "Found too many nested data structures ({}) at character {}",
                self.depth, self.pos
            )));
        }
        Ok(())
    }

    fn value(&mut self, token: Token, at: usize, s: Vec<u8>) -> mlua::Result<Value> {
        match token {
            Token::Str => Ok(Value::String(self.lua.create_string(s)?)),
            Token::Number(n) => Ok(Value::Number(n)),
            Token::Boolean(b) => Ok(Value::Boolean(b)),
            Token::Null => Ok(null()),
            Token::ObjBegin => self.object(),
            Token::ArrBegin => self.array(),
            other => Err(expected("value", other, at)),
        }
    }

    fn object(&mut self) -> mlua::Result<Value> {
        self.descend()?;
        let t = self.lua.create_table()?;
        let (mut token, mut at, mut s) = self.next_token();
        if token == Token::ObjEnd {
            self.depth -= 1;
            return Ok(Value::Table(t));
        }
        loop {
            if token != Token::Str {
                return Err(expected("object key string", token, at));
            }
            let key = self.lua.create_string(&s)?;
            let (colon, colon_at, _) = self.next_token();
            if colon != Token::Colon {
                return Err(expected("colon", colon, colon_at));
            }
            let (vt, vat, vs) = self.next_token();
            let value = self.value(vt, vat, vs)?;
            t.raw_set(key, value)?;
            let (next, next_at, _) = self.next_token();
            match next {
                Token::ObjEnd => break,
                Token::Comma => {}
                other => return Err(expected("comma or object end", other, next_at)),
            }
            (token, at, s) = self.next_token();
        }
        self.depth -= 1;
        Ok(Value::Table(t))
    }

    fn array(&mut self) -> mlua::Result<Value> {
        self.descend()?;
        let t = self.lua.create_table()?;
        let (mut token, mut at, mut s) = self.next_token();
        if token == Token::ArrEnd {
            self.depth -= 1;
            return Ok(Value::Table(t));
        }
        let mut i = 1;
        loop {
            let value = self.value(token, at, s)?;
            t.raw_set(i, value)?;
            i += 1;
            let (next, next_at, _) = self.next_token();
            match next {
                Token::ArrEnd => break,
                Token::Comma => {}
                other => return Err(expected("comma or array end", other, next_at)),
            }
            (token, at, s) = self.next_token();
        }
        self.depth -= 1;
        Ok(Value::Table(t))
    }
}

fn expected(what: &str, found: Token, at: usize) -> mlua::Error {
    raise_message(format!(
        "Expected {what} but found {} at character {}",
        found.name(),
        at + 1
    ))
}

/// lua-cjson's `json_is_invalid_number`: numbers JSON forbids but strtod reads (leading '+',
/// hex, leading zeros, inf, nan).
fn is_invalid_number(p: &[u8]) -> bool {
    let mut p = p;
    if p.first() == Some(&b'+') {
        return true;
    }
    if p.first() == Some(&b'-') {
        p = &p[1..];
    }
    match p.first() {
        Some(b'0') => matches!(p.get(1), Some(c) if (c | 0x20) == b'x' || c.is_ascii_digit()),
        Some(&c) if c <= b'9' => false,
        _ => {
            let lower: Vec<u8> = p.iter().take(3).map(u8::to_ascii_lowercase).collect();
            lower == b"inf" || lower == b"nan"
        }
    }
}

/// glibc `strtod` on a prefix: the value and how many bytes it read, `None` if none.
pub(crate) fn strtod(s: &[u8]) -> Option<(f64, usize)> {
    let mut i = 0;
    let negative = match s.first() {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let sign = if negative { -1.0 } else { 1.0 };
    let rest = &s[i..];
    let lower: Vec<u8> = rest.iter().take(8).map(u8::to_ascii_lowercase).collect();
    if lower.starts_with(b"infinity") {
        return Some((sign * f64::INFINITY, i + 8));
    }
    if lower.starts_with(b"inf") {
        return Some((sign * f64::INFINITY, i + 3));
    }
    if lower.starts_with(b"nan") {
        let mut len = i + 3;
        if s.get(len) == Some(&b'(') {
            if let Some(close) = s[len..].iter().position(|&c| c == b')') {
                if s[len + 1..len + close]
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    len += close + 1;
                }
            }
        }
        return Some((f64::NAN.copysign(sign), len));
    }
    if (lower.starts_with(b"0x"))
        && rest
            .get(2)
            .is_some_and(|c| c.is_ascii_hexdigit() || *c == b'.')
    {
        let mut j = 2;
        let mut value = 0.0f64;
        let mut digits = 0;
        while let Some(c) = rest.get(j).filter(|c| c.is_ascii_hexdigit()) {
            value = value * 16.0 + f64::from((*c as char).to_digit(16).unwrap_or(0));
            j += 1;
            digits += 1;
        }
        if rest.get(j) == Some(&b'.') {
            let mut scale = 1.0 / 16.0;
            let mut k = j + 1;
            while let Some(c) = rest.get(k).filter(|c| c.is_ascii_hexdigit()) {
                value += f64::from((*c as char).to_digit(16).unwrap_or(0)) * scale;
                scale /= 16.0;
                k += 1;
                digits += 1;
            }
            if digits > 0 {
                j = k;
            }
        }
        if digits == 0 {
            return Some((0.0 * sign, i + 1));
        }
        if matches!(rest.get(j), Some(b'p' | b'P')) {
            let (exp, len) = exponent(&rest[j + 1..]);
            if len > 0 {
                value *= 2f64.powi(exp);
                j += 1 + len;
            }
        }
        return Some((sign * value, i + j));
    }
    let mut j = 0;
    let mut digits = 0;
    while rest.get(j).is_some_and(u8::is_ascii_digit) {
        j += 1;
        digits += 1;
    }
    if rest.get(j) == Some(&b'.') {
        let mut k = j + 1;
        while rest.get(k).is_some_and(u8::is_ascii_digit) {
            k += 1;
            digits += 1;
        }
        if digits > 0 {
            j = k;
        }
    }
    if digits == 0 {
        return None;
    }
    if matches!(rest.get(j), Some(b'e' | b'E')) {
        let (_, len) = exponent(&rest[j + 1..]);
        if len > 0 {
            j += 1 + len;
        }
    }
    let text = std::str::from_utf8(&rest[..j]).ok()?;
    let value: f64 = text.parse().ok()?;
    Some((sign * value, i + j))
}

/// An optionally signed decimal exponent: its value (saturated) and length, 0 if none.
fn exponent(s: &[u8]) -> (i32, usize) {
    let mut i = 0;
    let negative = match s.first() {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let start = i;
    let mut value: i32 = 0;
    while let Some(c) = s.get(i).filter(|c| c.is_ascii_digit()) {
        value = value.saturating_mul(10).saturating_add(i32::from(c - b'0'));
        i += 1;
    }
    if i == start {
        return (0, 0);
    }
    (if negative { -value } else { value }, i)
}

/// A `\uXXXX` escape (with its low surrogate if it is a high one) at the start of `s`: the
/// code point and the bytes consumed.
fn unicode_escape(s: &[u8]) -> Option<(u32, usize)> {
    let hex4 = |s: &[u8]| -> Option<u32> {
        let digits = s.get(..4)?;
        if !digits.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    let high = hex4(s.get(2..)?)?;
    if (0xDC00..=0xDFFF).contains(&high) {
        return None;
    }
    if (0xD800..=0xDBFF).contains(&high) {
        if s.get(6..8)? != b"\\u" {
            return None;
        }
        let low = hex4(s.get(8..)?)?;
        if !(0xDC00..=0xDFFF).contains(&low) {
            return None;
        }
        return Some((((high & 0x3FF) << 10) + (low & 0x3FF) + 0x10000, 12));
    }
    Some((high, 6))
}

fn push_utf8(cp: u32, out: &mut Vec<u8>) {
    match char::from_u32(cp) {
        Some(c) => {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        None => out.extend_from_slice("\u{fffd}".as_bytes()),
    }
}
