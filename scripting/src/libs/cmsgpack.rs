//! lua-cmsgpack 0.4.0 (`cmsgpack.pack`, `unpack`, `unpack_one`, `unpack_limit`) as bundled
//! by Redis: integers in the smallest encoding, floats as float32 when exact, tables as
//! arrays only when their keys are exactly 1..n, nesting beyond 16 levels packed as nil, no
//! bin/ext types on decode.

use mlua::{Lua, MultiValue, Table, Value};

use super::bad_argument;
use crate::raise::{raise_bare, raise_message};

/// `LUACMSGPACK_MAX_NESTING`: deeper tables pack as nil.
const MAX_NESTING: usize = 16;
/// How deep `unpack` follows nested arrays and maps. lua-cmsgpack has no limit (and would
/// exhaust the C stack first); tandem refuses deeper input so a crafted string cannot
/// overflow the script thread's stack or mlua's handle stack.
const MAX_DECODE_DEPTH: usize = super::MAX_NESTING as usize;

pub(super) fn open(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            if args.is_empty() {
                return Err(raise_message(
                    "bad argument #0 to 'pack' (MessagePack pack needs input.)",
                ));
            }
            let mut out = Vec::new();
            for arg in args.iter() {
                encode(arg, 0, &mut out)?;
            }
            lua.create_string(out)
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(|lua, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            unpack_full(lua, &args, "unpack", 0, 0)
        })?,
    )?;
    t.raw_set(
        "unpack_one",
        lua.create_function(|lua, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            let offset = int_arg(&args, 1, "unpack_one")?;
            unpack_full(lua, &args, "unpack_one", 1, offset)
        })?,
    )?;
    t.raw_set(
        "unpack_limit",
        lua.create_function(|lua, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            let limit = int_arg(&args, 1, "unpack_limit")?;
            let offset = int_arg(&args, 2, "unpack_limit")?;
            unpack_full(lua, &args, "unpack_limit", limit, offset)
        })?,
    )?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}

/// `luaL_optinteger`: absent or nil is 0.
fn int_arg(args: &[Value], i: usize, func: &str) -> mlua::Result<i64> {
    match args.get(i) {
        None | Some(Value::Nil) => Ok(0),
        Some(Value::Number(n)) => Ok(*n as i64),
        Some(Value::Integer(n)) => Ok(*n),
        Some(Value::String(s)) => super::parse_lua_number(&s.to_string_lossy())
            .map(|n| n as i64)
            .ok_or_else(|| bad_argument(i, func, "number", args.get(i))),
        other => Err(bad_argument(i, func, "number", other)),
    }
}

// ---- pack -----------------------------------------------------------------------------------

fn encode(value: &Value, level: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match value {
        Value::String(s) => encode_bytes(&s.as_bytes(), out),
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Number(n) => encode_number(*n, out),
        Value::Integer(i) => encode_number(*i as f64, out),
        Value::Table(t) if level < MAX_NESTING => encode_table(t, level, out)?,
        _ => out.push(0xc0),
    }
    Ok(())
}

fn encode_number(n: f64, out: &mut Vec<u8>) {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if n.is_finite() && n.fract() == 0.0 && (-LIMIT..LIMIT).contains(&n) {
        encode_int(n as i64, out);
    } else if f64::from(n as f32) == n {
        out.push(0xca);
        out.extend_from_slice(&(n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        match n {
            0..=127 => out.push(n as u8),
            128..=0xff => out.extend_from_slice(&[0xcc, n as u8]),
            0x100..=0xffff => {
                out.push(0xcd);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                out.push(0xce);
                out.extend_from_slice(&(n as u32).to_be_bytes());
            }
            _ => {
                out.push(0xcf);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_bytes(s: &[u8], out: &mut Vec<u8>) {
    let len = s.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

fn header(len: usize, fix: u8, small: u8, out: &mut Vec<u8>) {
    if len < 16 {
        out.push(fix | len as u8);
    } else if len <= 0xffff {
        out.push(small);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(small + 1);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

fn encode_table(t: &Table, level: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    // `table_is_an_array`: only number keys that are positive integers, and max == count.
    let mut count = 0usize;
    let mut max = 0.0f64;
    let mut is_array = true;
    let mut pairs = Vec::new();
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair?;
        let n = match &k {
            Value::Number(n) => Some(*n),
            Value::Integer(i) => Some(*i as f64),
            _ => None,
        };
        match n {
            Some(n) if n > 0.0 && n.fract() == 0.0 && n <= f64::from(i32::MAX) => {
                max = max.max(n);
            }
            _ => is_array = false,
        }
        count += 1;
        pairs.push((k, v));
    }
    if is_array && max as usize == count {
        header(count, 0x90, 0xdc, out);
        for i in 1..=count {
            let v: Value = t.raw_get(i)?;
            encode(&v, level + 1, out)?;
        }
    } else {
        header(pairs.len(), 0x80, 0xde, out);
        for (k, v) in &pairs {
            encode(k, level + 1, out)?;
            encode(v, level + 1, out)?;
        }
    }
    Ok(())
}

// ---- unpack ---------------------------------------------------------------------------------

enum DecodeError {
    Eof,
    BadFormat,
    Lua(mlua::Error),
}

impl From<mlua::Error> for DecodeError {
    fn from(e: mlua::Error) -> Self {
        DecodeError::Lua(e)
    }
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        if self.data.len() - self.pos < n {
            return Err(DecodeError::Eof);
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn be(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }
}

fn decode(lua: &Lua, c: &mut Cursor<'_>, depth: usize) -> Result<Value, DecodeError> {
    if depth > MAX_DECODE_DEPTH {
        return Err(DecodeError::Lua(raise_bare(
            "Nesting too deep in MessagePack input.",
        )));
    }
    let b = c.take(1)?[0];
    Ok(match b {
        0x00..=0x7f => Value::Number(f64::from(b)),
        0xe0..=0xff => Value::Number(f64::from(b as i8)),
        0xc0 => Value::Nil,
        0xc2 => Value::Boolean(false),
        0xc3 => Value::Boolean(true),
        0xcc => Value::Number(c.be(1)? as f64),
        0xcd => Value::Number(c.be(2)? as f64),
        0xce => Value::Number(c.be(4)? as f64),
        0xcf => Value::Number(c.be(8)? as f64),
        0xd0 => Value::Number(f64::from(c.be(1)? as u8 as i8)),
        0xd1 => Value::Number(f64::from(c.be(2)? as u16 as i16)),
        0xd2 => Value::Number(f64::from(c.be(4)? as u32 as i32)),
        0xd3 => Value::Number(c.be(8)? as i64 as f64),
        0xca => Value::Number(f64::from(f32::from_bits(c.be(4)? as u32))),
        0xcb => Value::Number(f64::from_bits(c.be(8)?)),
        0xa0..=0xbf => string(lua, c, usize::from(b & 0x1f))?,
        0xd9 => {
            let n = c.be(1)? as usize;
            string(lua, c, n)?
        }
        0xda => {
            let n = c.be(2)? as usize;
            string(lua, c, n)?
        }
        0xdb => {
            let n = c.be(4)? as usize;
            string(lua, c, n)?
        }
        0x90..=0x9f => array(lua, c, usize::from(b & 0x0f), depth)?,
        0xdc => {
            let n = c.be(2)? as usize;
            array(lua, c, n, depth)?
        }
        0xdd => {
            let n = c.be(4)? as usize;
            array(lua, c, n, depth)?
        }
        0x80..=0x8f => map(lua, c, usize::from(b & 0x0f), depth)?,
        0xde => {
            let n = c.be(2)? as usize;
            map(lua, c, n, depth)?
        }
        0xdf => {
            let n = c.be(4)? as usize;
            map(lua, c, n, depth)?
        }
        _ => return Err(DecodeError::BadFormat),
    })
}

fn string(lua: &Lua, c: &mut Cursor<'_>, n: usize) -> Result<Value, DecodeError> {
    let bytes = c.take(n)?;
    Ok(Value::String(lua.create_string(bytes)?))
}

fn array(lua: &Lua, c: &mut Cursor<'_>, n: usize, depth: usize) -> Result<Value, DecodeError> {
    let t = lua.create_table()?;
    for i in 1..=n {
        let v = decode(lua, c, depth + 1)?;
        t.raw_set(i, v)?;
    }
    Ok(Value::Table(t))
}

fn map(lua: &Lua, c: &mut Cursor<'_>, n: usize, depth: usize) -> Result<Value, DecodeError> {
    let t = lua.create_table()?;
    for _ in 0..n {
        let k = decode(lua, c, depth + 1)?;
        let v = decode(lua, c, depth + 1)?;
        match &k {
            Value::Nil => return Err(DecodeError::Lua(raise_bare("table index is nil"))),
            Value::Number(n) if n.is_nan() => {
                return Err(DecodeError::Lua(raise_bare("table index is NaN")))
            }
            _ => t.raw_set(k, v)?,
        }
    }
    Ok(Value::Table(t))
}

/// `mp_unpack_full`: up to `limit` values (all when 0) from `offset`; with a limit, the next
/// offset (or -1 at the end) comes first.
fn unpack_full(
    lua: &Lua,
    args: &[Value],
    func: &str,
    limit: i64,
    offset: i64,
) -> mlua::Result<MultiValue> {
    let data = match args.first() {
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        Some(Value::Number(n)) => crate::format::format_g(*n, 14).into_bytes(),
        Some(Value::Integer(n)) => crate::format::format_g(*n as f64, 14).into_bytes(),
        other => return Err(bad_argument(0, func, "string", other)),
    };
    let decode_all = limit <= 0;
    if offset < 0 || limit < 0 {
        return Err(raise_message(format!(
            "Invalid request to unpack with offset of {offset} and limit of {}.",
            data.len()
        )));
    }
    let offset = offset as usize;
    if offset > data.len() {
        return Err(raise_message(format!(
            "Start offset {offset} greater than input length {}.",
            data.len()
        )));
    }
    let limit = if decode_all {
        usize::MAX
    } else {
        limit as usize
    };
    let mut c = Cursor {
        data: &data,
        pos: offset,
    };
    let mut values = Vec::new();
    while c.pos < data.len() && values.len() < limit {
        if values.len() >= super::MAX_RESULTS {
            return Err(raise_message("too many results to unpack"));
        }
        match decode(lua, &mut c, 0) {
            Ok(v) => values.push(v),
            Err(DecodeError::Eof) => return Err(raise_message("Missing bytes in input.")),
            Err(DecodeError::BadFormat) => return Err(raise_message("Bad data format in input.")),
            Err(DecodeError::Lua(e)) => return Err(e),
        }
    }
    if !decode_all {
        let next = if c.pos == data.len() {
            -1
        } else {
            c.pos as i64
        };
        values.insert(0, Value::Number(next as f64));
    }
    Ok(values.into_iter().collect())
}
