//! The RDB format's primitives below every record (`rdb.h`, `rdbLoadLen`/`rdbSaveLen`,
//! `rdbGenericLoadStringObject`): the record type numbers, lengths and strings. Shared by
//! `object.rs` and `stream.rs`; knows nothing of values.

use super::input::Input;
use super::{lzf, RdbError};
use crate::types::string::parse_i64;

// Record types (`rdb.h`); persisted by Redis, never renumbered.
pub const TYPE_STRING: u8 = 0;
pub const TYPE_LIST: u8 = 1;
pub const TYPE_SET: u8 = 2;
pub const TYPE_ZSET: u8 = 3;
pub const TYPE_HASH: u8 = 4;
pub const TYPE_ZSET_2: u8 = 5;
pub const TYPE_MODULE: u8 = 6;
pub const TYPE_MODULE_2: u8 = 7;
pub const TYPE_HASH_ZIPMAP: u8 = 9;
pub const TYPE_LIST_ZIPLIST: u8 = 10;
pub const TYPE_SET_INTSET: u8 = 11;
pub const TYPE_ZSET_ZIPLIST: u8 = 12;
pub const TYPE_HASH_ZIPLIST: u8 = 13;
pub const TYPE_LIST_QUICKLIST: u8 = 14;
pub const TYPE_STREAM_LISTPACKS: u8 = 15;
pub const TYPE_HASH_LISTPACK: u8 = 16;
pub const TYPE_ZSET_LISTPACK: u8 = 17;
pub const TYPE_LIST_QUICKLIST_2: u8 = 18;
pub const TYPE_STREAM_LISTPACKS_2: u8 = 19;

/// `rdbLoadLen`: a length, or the encoding tag of an encoded string (`11xxxxxx`).
enum Len {
    Plain(u64),
    Encoded(u8),
}

fn read_len_or_enc<I: Input>(i: &mut I) -> Result<Len, RdbError> {
    let at = i.offset();
    let first = i.byte()?;
    Ok(match first >> 6 {
        0 => Len::Plain(u64::from(first & 0x3f)),
        1 => Len::Plain(u64::from(first & 0x3f) << 8 | u64::from(i.byte()?)),
        2 => match first {
            0x80 => {
                let mut b = [0u8; 4];
                i.fill(&mut b)?;
                Len::Plain(u64::from(u32::from_be_bytes(b)))
            }
            0x81 => {
                let mut b = [0u8; 8];
                i.fill(&mut b)?;
                Len::Plain(u64::from_be_bytes(b))
            }
            _ => {
                return Err(RdbError::new(
                    at,
                    format!("unknown length encoding {first:#04x}"),
                ))
            }
        },
        _ => Len::Encoded(first & 0x3f),
    })
}

/// A plain length.
///
/// # Errors
/// Truncation, or an encoded-string tag where a length belongs.
pub fn read_len<I: Input>(i: &mut I) -> Result<u64, RdbError> {
    let at = i.offset();
    match read_len_or_enc(i)? {
        Len::Plain(n) => Ok(n),
        Len::Encoded(_) => Err(RdbError::new(at, "string encoding where a length belongs")),
    }
}

/// `rdbSaveLen`.
pub fn write_len(len: u64, out: &mut Vec<u8>) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.push(0x40 | (len >> 8) as u8);
        out.push(len as u8);
    } else if let Ok(len) = u32::try_from(len) {
        out.push(0x80);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// `rdbGenericLoadStringObject`: plain, integer-encoded or LZF-compressed.
///
/// # Errors
/// Truncation, an unknown encoding, LZF data that does not decompress to its length.
pub fn read_string<I: Input>(i: &mut I) -> Result<Vec<u8>, RdbError> {
    let at = i.offset();
    match read_len_or_enc(i)? {
        Len::Plain(n) => i.bytes(n),
        Len::Encoded(0) => Ok((i.byte()? as i8).to_string().into_bytes()),
        Len::Encoded(1) => {
            let mut b = [0u8; 2];
            i.fill(&mut b)?;
            Ok(i16::from_le_bytes(b).to_string().into_bytes())
        }
        Len::Encoded(2) => {
            let mut b = [0u8; 4];
            i.fill(&mut b)?;
            Ok(i32::from_le_bytes(b).to_string().into_bytes())
        }
        Len::Encoded(3) => {
            let compressed_len = read_len(i)?;
            let len = read_len(i)?;
            let compressed = i.bytes(compressed_len)?;
            usize::try_from(len)
                .ok()
                .and_then(|len| lzf::decompress(&compressed, len))
                .ok_or_else(|| RdbError::new(at, "LZF data does not decompress to its length"))
        }
        Len::Encoded(e) => Err(RdbError::new(at, format!("unknown string encoding {e}"))),
    }
}

/// `rdbSaveRawString` without compression: an integer that fits 32 bits in its encoded
/// form (as Redis writes every such string), any other bytes plain.
pub fn write_string(s: &[u8], out: &mut Vec<u8>) {
    if s.len() <= 11 {
        if let Some(v) = parse_i64(s) {
            if let Ok(v) = i8::try_from(v) {
                out.extend_from_slice(&[0xc0, v as u8]);
                return;
            }
            if let Ok(v) = i16::try_from(v) {
                out.push(0xc1);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            }
            if let Ok(v) = i32::try_from(v) {
                out.push(0xc2);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            }
        }
    }
    write_len(s.len() as u64, out);
    out.extend_from_slice(s);
}
