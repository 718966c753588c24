//! Roberto Ierusalimschy's lua-struct 0.2 (`struct.pack`, `struct.unpack`, `struct.size`) as
//! bundled by Redis, with Redis's bounds checks: x86-64 sizes (`l`/`L`/`T` 8 bytes, `i` 4 by
//! default, at most 32), little-endian native order, alignment off unless `!` sets it.

use mlua::{Lua, MultiValue, Table, Value};

use super::parse_lua_number;
use crate::raise::raise_message;

const MAX_INT_SIZE: usize = 32;
/// `offsetof(struct {char c; double d;}, d)`: the default of a bare `!`.
const MAX_ALIGN: usize = 8;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Endian {
    Little,
    Big,
}

struct Header {
    endian: Endian,
    align: usize,
}

impl Default for Header {
    fn default() -> Self {
        Header {
            endian: Endian::Little,
            align: 1,
        }
    }
}

/// A format string being read.
struct Format<'a> {
    fmt: &'a [u8],
    pos: usize,
}

impl Format<'_> {
    fn next_opt(&mut self) -> Option<u8> {
        let opt = *self.fmt.get(self.pos)?;
        self.pos += 1;
        Some(opt)
    }

    /// `getnum`: an optional decimal count after an option.
    fn number(&mut self, default: usize) -> mlua::Result<usize> {
        if !self.fmt.get(self.pos).is_some_and(u8::is_ascii_digit) {
            return Ok(default);
        }
        let mut a: usize = 0;
        while let Some(&d) = self.fmt.get(self.pos).filter(|d| d.is_ascii_digit()) {
            let digit = usize::from(d - b'0');
            if a > (i32::MAX as usize) / 10 || a * 10 > (i32::MAX as usize) - digit {
                return Err(raise_message("integral size overflow"));
            }
            a = a * 10 + digit;
            self.pos += 1;
        }
        Ok(a)
    }

    /// `optsize`.
    fn size(&mut self, opt: u8) -> mlua::Result<usize> {
        Ok(match opt {
            b'B' | b'b' | b'x' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'c' => self.number(1)?,
            b'i' | b'I' => {
                let size = self.number(4)?;
                if size > MAX_INT_SIZE {
                    return Err(raise_message(format!(
                        "integral size {size} is larger than limit of {MAX_INT_SIZE}"
                    )));
                }
                size
            }
            _ => 0,
        })
    }

    /// `controloptions`: endianness, alignment, spaces; anything else is invalid.
    fn control(&mut self, opt: u8, h: &mut Header, func: &str) -> mlua::Result<()> {
        match opt {
            b' ' => Ok(()),
            b'>' => {
                h.endian = Endian::Big;
                Ok(())
            }
            b'<' => {
                h.endian = Endian::Little;
                Ok(())
            }
            b'!' => {
                let a = self.number(MAX_ALIGN)?;
                if !a.is_power_of_two() {
                    return Err(raise_message(format!("alignment {a} is not a power of 2")));
                }
                h.align = a;
                Ok(())
            }
            _ => Err(raise_message(format!(
                "bad argument #1 to '{func}' (invalid format option '{}')",
                char::from(opt)
            ))),
        }
    }
}

/// `gettoalign`: padding before an item of `size` at offset `len`.
fn to_align(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size - (len & (size - 1))) & (size - 1)
}

fn arg_type(args: &[Value], i: usize) -> &'static str {
    match args.get(i) {
        Some(v) => v.type_name(),
        // b_pack pushes a nil marker right after its arguments.
        None if i == args.len() => "nil",
        None => "no value",
    }
}

fn number_arg(args: &[Value], i: usize, func: &str) -> mlua::Result<f64> {
    let n = match args.get(i) {
        Some(Value::Number(n)) => Some(*n),
        Some(Value::Integer(n)) => Some(*n as f64),
        Some(Value::String(s)) => parse_lua_number(&s.to_string_lossy()),
        _ => None,
    };
    n.ok_or_else(|| {
        raise_message(format!(
            "bad argument #{} to '{func}' (number expected, got {})",
            i + 1,
            arg_type(args, i)
        ))
    })
}

fn string_arg(args: &[Value], i: usize, func: &str) -> mlua::Result<Vec<u8>> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(Value::Number(n)) => Ok(crate::format::format_g(*n, 14).into_bytes()),
        Some(Value::Integer(n)) => Ok(crate::format::format_g(*n as f64, 14).into_bytes()),
        _ => Err(raise_message(format!(
            "bad argument #{} to '{func}' (string expected, got {})",
            i + 1,
            arg_type(args, i)
        ))),
    }
}

/// C's conversion of a double to `unsigned long` / `long` as `putinteger` does it.
fn to_bits(n: f64) -> u64 {
    if n < 0.0 {
        crate::convert::number_to_integer(n) as u64
    } else if n >= 18_446_744_073_709_551_616.0 || n.is_nan() {
        0
    } else {
        n as u64
    }
}

fn pack(args: &[Value]) -> mlua::Result<Vec<u8>> {
    let fmt = string_arg(args, 0, "pack")?;
    let mut f = Format { fmt: &fmt, pos: 0 };
    let mut h = Header::default();
    let mut arg = 1;
    let mut out = Vec::new();
    while let Some(opt) = f.next_opt() {
        let mut size = f.size(opt)?;
        let pad = to_align(out.len(), &h, opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let mut value = to_bits(number_arg(args, arg, "pack")?);
                arg += 1;
                let mut buf = vec![0u8; size];
                for i in 0..size {
                    let idx = if h.endian == Endian::Little {
                        i
                    } else {
                        size - 1 - i
                    };
                    buf[idx] = (value & 0xff) as u8;
                    value = value.checked_shr(8).unwrap_or(0);
                }
                out.extend_from_slice(&buf);
            }
            b'x' => out.push(0),
            b'f' => {
                let v = number_arg(args, arg, "pack")? as f32;
                arg += 1;
                out.extend_from_slice(&if h.endian == Endian::Little {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                });
            }
            b'd' => {
                let v = number_arg(args, arg, "pack")?;
                arg += 1;
                out.extend_from_slice(&if h.endian == Endian::Little {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                });
            }
            b'c' | b's' => {
                let s = string_arg(args, arg, "pack")?;
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    // luaL_argcheck after the argument index moved on: Redis names the next one.
                    return Err(raise_message(format!(
                        "bad argument #{} to 'pack' (string too short)",
                        arg + 1
                    )));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => f.control(opt, &mut h, "pack")?,
        }
    }
    Ok(out)
}

fn unpack(lua: &Lua, args: &[Value]) -> mlua::Result<MultiValue> {
    let fmt = string_arg(args, 0, "unpack")?;
    let data = string_arg(args, 1, "unpack")?;
    let start = match args.get(2) {
        None | Some(Value::Nil) => 1.0,
        Some(_) => number_arg(args, 2, "unpack")?,
    };
    if start < 1.0 {
        return Err(raise_message(
            "bad argument #3 to 'unpack' (offset must be 1 or greater)",
        ));
    }
    let mut pos = start as usize - 1;
    let too_short = || raise_message("bad argument #2 to 'unpack' (data string too short)");
    let mut f = Format { fmt: &fmt, pos: 0 };
    let mut h = Header::default();
    let mut results: Vec<Value> = Vec::new();
    while let Some(opt) = f.next_opt() {
        if results.len() >= super::MAX_RESULTS {
            return Err(raise_message("too many results to unpack"));
        }
        let mut size = f.size(opt)?;
        pos += to_align(pos, &h, opt, size);
        if size > data.len() || pos > data.len() - size {
            return Err(too_short());
        }
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let bytes = &data[pos..pos + size];
                let mut l: u64 = 0;
                for i in 0..size {
                    let b = if h.endian == Endian::Big {
                        bytes[i]
                    } else {
                        bytes[size - 1 - i]
                    };
                    l = (l << 8) | u64::from(b);
                }
                let value = if opt.is_ascii_lowercase() {
                    let shift = (size * 8).saturating_sub(1);
                    let mask = if shift >= 64 { 0 } else { u64::MAX << shift };
                    if l & mask != 0 {
                        l |= mask;
                    }
                    l as i64 as f64
                } else {
                    l as f64
                };
                results.push(Value::Number(value));
            }
            b'x' => {}
            b'f' => {
                let mut b = [0u8; 4];
                b.copy_from_slice(&data[pos..pos + 4]);
                let v = if h.endian == Endian::Little {
                    f32::from_le_bytes(b)
                } else {
                    f32::from_be_bytes(b)
                };
                results.push(Value::Number(f64::from(v)));
            }
            b'd' => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[pos..pos + 8]);
                let v = if h.endian == Endian::Little {
                    f64::from_le_bytes(b)
                } else {
                    f64::from_be_bytes(b)
                };
                results.push(Value::Number(v));
            }
            b'c' => {
                if size == 0 {
                    let previous = match results.last() {
                        Some(Value::Number(n)) => Some(*n),
                        Some(Value::Integer(n)) => Some(*n as f64),
                        Some(Value::String(s)) => parse_lua_number(&s.to_string_lossy()),
                        _ => None,
                    };
                    let Some(previous) = previous else {
                        return Err(raise_message("format 'c0' needs a previous size"));
                    };
                    results.pop();
                    size = previous as usize;
                    if size > data.len() || pos > data.len() - size {
                        return Err(too_short());
                    }
                }
                results.push(Value::String(lua.create_string(&data[pos..pos + size])?));
            }
            b's' => {
                let Some(len) = data[pos..].iter().position(|&b| b == 0) else {
                    return Err(raise_message("unfinished string in data"));
                };
                results.push(Value::String(lua.create_string(&data[pos..pos + len])?));
                size = len + 1;
            }
            _ => f.control(opt, &mut h, "unpack")?,
        }
        pos += size;
    }
    results.push(Value::Number((pos + 1) as f64));
    Ok(results.into_iter().collect())
}

fn size(args: &[Value]) -> mlua::Result<usize> {
    let fmt = string_arg(args, 0, "size")?;
    let mut f = Format { fmt: &fmt, pos: 0 };
    let mut h = Header::default();
    let mut pos = 0;
    while let Some(opt) = f.next_opt() {
        let size = f.size(opt)?;
        pos += to_align(pos, &h, opt, size);
        if opt == b's' {
            return Err(raise_message(
                "bad argument #1 to 'size' (option 's' has no fixed size)",
            ));
        }
        if opt == b'c' && size == 0 {
            return Err(raise_message(
                "bad argument #1 to 'size' (option 'c0' has no fixed size)",
            ));
        }
        if !opt.is_ascii_alphanumeric() {
            f.control(opt, &mut h, "size")?;
        }
        pos += size;
    }
    Ok(pos)
}

pub(super) fn open(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            lua.create_string(pack(&args)?)
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(|lua, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            unpack(lua, &args)
        })?,
    )?;
    t.raw_set(
        "size",
        lua.create_function(|_, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            size(&args)
        })?,
    )?;
    Ok(t)
}
