//! LuaBitOp 1.0 (`bit.*`) as bundled by Redis: 32-bit operations on Lua numbers, results as
//! signed 32-bit values.

use mlua::{Lua, MultiValue, Table, Value};

use super::check_number;

/// LuaBitOp's `barg`: round the number to an integer (adding 2^52+2^51 as it does, which
/// rounds half to even) and keep its low 32 bits.
fn to_bits(n: f64) -> u32 {
    let shifted = n + 6_755_399_441_055_744.0;
    shifted.to_bits() as u32
}

fn arg(args: &[Value], i: usize, func: &str) -> mlua::Result<u32> {
    check_number(args, i, func).map(to_bits)
}

fn result(b: u32) -> f64 {
    f64::from(b as i32)
}

type Unary = (&'static str, fn(u32) -> u32);
type Binary = (&'static str, fn(u32, u32) -> u32);

pub(super) fn open(lua: &Lua) -> mlua::Result<Table> {
    let bit = lua.create_table()?;
    let unary: [Unary; 3] = [
        ("tobit", |b| b),
        ("bnot", |b| !b),
        ("bswap", u32::swap_bytes),
    ];
    for (name, op) in unary {
        bit.raw_set(
            name,
            lua.create_function(move |_, args: MultiValue| {
                let args: Vec<Value> = args.into_iter().collect();
                Ok(result(op(arg(&args, 0, name)?)))
            })?,
        )?;
    }
    let fold: [Binary; 3] = [
        ("band", |a, b| a & b),
        ("bor", |a, b| a | b),
        ("bxor", |a, b| a ^ b),
    ];
    for (name, op) in fold {
        bit.raw_set(
            name,
            lua.create_function(move |_, args: MultiValue| {
                let args: Vec<Value> = args.into_iter().collect();
                let mut acc = arg(&args, 0, name)?;
                for i in 1..args.len() {
                    acc = op(acc, arg(&args, i, name)?);
                }
                Ok(result(acc))
            })?,
        )?;
    }
    let shifts: [Binary; 5] = [
        ("lshift", |b, n| b << (n & 31)),
        ("rshift", |b, n| b >> (n & 31)),
        ("arshift", |b, n| ((b as i32) >> (n & 31)) as u32),
        ("rol", |b, n| b.rotate_left(n & 31)),
        ("ror", |b, n| b.rotate_right(n & 31)),
    ];
    for (name, op) in shifts {
        bit.raw_set(
            name,
            lua.create_function(move |_, args: MultiValue| {
                let args: Vec<Value> = args.into_iter().collect();
                let b = arg(&args, 0, name)?;
                let n = arg(&args, 1, name)?;
                Ok(result(op(b, n)))
            })?,
        )?;
    }
    bit.raw_set(
        "tohex",
        lua.create_function(|lua, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            let b = arg(&args, 0, "tohex")?;
            let n = if args.len() > 1 && !args[1].is_nil() {
                arg(&args, 1, "tohex")? as i32
            } else {
                8
            };
            let (upper, n) = if n < 0 {
                (true, n.unsigned_abs())
            } else {
                (false, n as u32)
            };
            let n = n.min(8);
            let masked = if n >= 8 {
                b
            } else {
                b & ((1u32 << (4 * n)) - 1)
            };
            let mut text = format!("{masked:0width$x}", width = n as usize);
            if text.len() > n as usize {
                text = text[text.len() - n as usize..].to_owned();
            }
            if upper {
                text.make_ascii_uppercase();
            }
            lua.create_string(text)
        })?,
    )?;
    Ok(bit)
}
