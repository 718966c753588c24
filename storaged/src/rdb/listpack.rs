//! Redis's listpack (`listpack.c`): the blob inside list (quicklist 2), hash, zset and
//! stream records of Redis 7.0.
//!
//! Layout: `total_bytes: u32 LE | count: u16 LE (65535: unknown) | entries | 0xff`. An entry
//! is its encoding and data, then `backlen`, the entry's size written in 7-bit groups so a
//! reader can walk backwards. An element that reads as an integer (Redis's `string2ll`
//! rule) is stored as one of six integer forms, any other as a string of 6-, 12- or 32-bit
//! length.

use crate::types::string::parse_i64;

/// A hash's fields and values (as listpacks, ziplists and zipmaps hold them).
pub type FieldPairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Bytes of the header (total bytes, count).
const HEADER: usize = 6;
/// The terminator.
const EOF: u8 = 0xff;
/// The count Redis writes when the element count does not fit 16 bits.
const COUNT_UNKNOWN: u16 = u16::MAX;

/// One element as stored: Redis returns integers unformatted, the caller decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Element {
    Int(i64),
    Str(Vec<u8>),
}

impl Element {
    /// The element as the string Redis would hand back (`ll2string` for integers).
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Element::Int(v) => v.to_string().into_bytes(),
            Element::Str(s) => s,
        }
    }
}

/// Size of the `backlen` of an entry of `l` bytes (`lpEncodeBacklen`).
fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

fn put_backlen(l: usize, out: &mut Vec<u8>) {
    let l = l as u64;
    match backlen_size(l as usize) {
        1 => out.push(l as u8),
        2 => out.extend_from_slice(&[(l >> 7) as u8, (l & 127) as u8 | 128]),
        3 => out.extend_from_slice(&[
            (l >> 14) as u8,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]),
        4 => out.extend_from_slice(&[
            (l >> 21) as u8,
            ((l >> 14) & 127) as u8 | 128,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]),
        _ => out.extend_from_slice(&[
            (l >> 28) as u8,
            ((l >> 21) & 127) as u8 | 128,
            ((l >> 14) & 127) as u8 | 128,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]),
    }
}

/// Appends the encoding and data of integer `v` (the smallest form that holds it).
fn put_int(v: i64, out: &mut Vec<u8>) {
    if (0..=127).contains(&v) {
        out.push(v as u8);
    } else if (-4096..=4095).contains(&v) {
        let u = (v as u64) & 0x1fff;
        out.extend_from_slice(&[0xc0 | (u >> 8) as u8, u as u8]);
    } else if let Ok(v) = i16::try_from(v) {
        out.push(0xf1);
        out.extend_from_slice(&v.to_le_bytes());
    } else if (-(1 << 23)..(1 << 23)).contains(&v) {
        out.push(0xf2);
        out.extend_from_slice(&v.to_le_bytes()[..3]);
    } else if let Ok(v) = i32::try_from(v) {
        out.push(0xf3);
        out.extend_from_slice(&v.to_le_bytes());
    } else {
        out.push(0xf4);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn put_str(s: &[u8], out: &mut Vec<u8>) {
    let n = s.len();
    if n < 64 {
        out.push(0x80 | n as u8);
    } else if n < 4096 {
        out.extend_from_slice(&[0xe0 | (n >> 8) as u8, n as u8]);
    } else {
        out.push(0xf0);
        out.extend_from_slice(&(n as u32).to_le_bytes());
    }
    out.extend_from_slice(s);
}

/// The integer Redis's `lpStringToInt64` makes of `s`, if any.
fn as_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    parse_i64(s)
}

/// A listpack being built, elements appended as `lpAppend` does.
#[derive(Debug, Clone)]
pub struct Writer {
    buf: Vec<u8>,
    count: usize,
}

impl Default for Writer {
    fn default() -> Self {
        Writer::new()
    }
}

impl Writer {
    pub fn new() -> Writer {
        Writer {
            buf: vec![0; HEADER],
            count: 0,
        }
    }

    /// Bytes the finished listpack would take now (`lpBytes`).
    pub fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    pub fn count(&self) -> usize {
        self.count
    }

    /// Appends `s`, as an integer when it reads as one.
    pub fn push(&mut self, s: &[u8]) {
        let at = self.buf.len();
        match as_int(s) {
            Some(v) => put_int(v, &mut self.buf),
            None => put_str(s, &mut self.buf),
        }
        self.end_entry(at);
    }

    /// Appends integer `v`.
    pub fn push_int(&mut self, v: i64) {
        let at = self.buf.len();
        put_int(v, &mut self.buf);
        self.end_entry(at);
    }

    /// Appends every element of `other` after this one's (entries carry their own
    /// backlen, so the bytes concatenate).
    pub fn append(&mut self, other: Writer) {
        self.buf.extend_from_slice(&other.buf[HEADER..]);
        self.count += other.count;
    }

    fn end_entry(&mut self, at: usize) {
        let l = self.buf.len() - at;
        put_backlen(l, &mut self.buf);
        self.count += 1;
    }

    /// The finished blob.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(EOF);
        let total = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        let count = u16::try_from(self.count).unwrap_or(COUNT_UNKNOWN);
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

/// The elements of listpack `blob`, checked as Redis's `lpValidateIntegrity` does (header
/// size, terminator, every entry inside the blob, its backlen, the count when known).
///
/// # Errors
/// A short description of the first inconsistency.
pub fn parse(blob: &[u8]) -> Result<Vec<Element>, &'static str> {
    if blob.len() < HEADER + 1 {
        return Err("listpack shorter than its header");
    }
    let total = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    if total != blob.len() {
        return Err("listpack size does not match its header");
    }
    let count = u16::from_le_bytes([blob[4], blob[5]]);
    let mut out = Vec::new();
    let mut p = HEADER;
    loop {
        let Some(&first) = blob.get(p) else {
            return Err("listpack without terminator");
        };
        if first == EOF {
            break;
        }
        let (element, len) = entry(&blob[p..])?;
        let back = backlen_size(len);
        let end = p + len + back;
        if end > blob.len() - 1 {
            return Err("listpack entry runs past the end");
        }
        let mut expect = Vec::with_capacity(back);
        put_backlen(len, &mut expect);
        if blob[p + len..end] != expect[..] {
            return Err("listpack entry with a wrong backlen");
        }
        out.push(element);
        p = end;
    }
    if p != blob.len() - 1 {
        return Err("listpack data after its terminator");
    }
    if count != COUNT_UNKNOWN && usize::from(count) != out.len() {
        return Err("listpack count does not match its entries");
    }
    Ok(out)
}

/// One entry's element and the size of its encoding and data (without backlen).
fn entry(b: &[u8]) -> Result<(Element, usize), &'static str> {
    const SHORT: &str = "listpack entry runs past the end";
    let need = |n: usize| if b.len() < n { Err(SHORT) } else { Ok(()) };
    let first = b[0];
    let le = |bytes: &[u8]| -> i64 {
        let mut v = [0u8; 8];
        v[..bytes.len()].copy_from_slice(bytes);
        i64::from_le_bytes(v)
    };
    if first & 0x80 == 0 {
        return Ok((Element::Int(i64::from(first & 0x7f)), 1));
    }
    if first & 0xc0 == 0x80 {
        let n = usize::from(first & 0x3f);
        need(1 + n)?;
        return Ok((Element::Str(b[1..1 + n].to_vec()), 1 + n));
    }
    if first & 0xe0 == 0xc0 {
        need(2)?;
        let u = (u64::from(first & 0x1f) << 8) | u64::from(b[1]);
        // Sign-extend 13 bits.
        let v = ((u << 51) as i64) >> 51;
        return Ok((Element::Int(v), 2));
    }
    if first & 0xf0 == 0xe0 {
        need(2)?;
        let n = (usize::from(first & 0x0f) << 8) | usize::from(b[1]);
        need(2 + n)?;
        return Ok((Element::Str(b[2..2 + n].to_vec()), 2 + n));
    }
    match first {
        0xf0 => {
            need(5)?;
            let n = u32::from_le_bytes([b[1], b[2], b[3], b[4]]) as usize;
            need(5usize.checked_add(n).ok_or(SHORT)?)?;
            Ok((Element::Str(b[5..5 + n].to_vec()), 5 + n))
        }
        0xf1 => {
            need(3)?;
            Ok((Element::Int(i64::from(i16::from_le_bytes([b[1], b[2]]))), 3))
        }
        0xf2 => {
            need(4)?;
            let v = (le(&b[1..4]) << 40) >> 40;
            Ok((Element::Int(v), 4))
        }
        0xf3 => {
            need(5)?;
            Ok((
                Element::Int(i64::from(i32::from_le_bytes([b[1], b[2], b[3], b[4]]))),
                5,
            ))
        }
        0xf4 => {
            need(9)?;
            Ok((Element::Int(le(&b[1..9])), 9))
        }
        _ => Err("listpack entry with an unknown encoding"),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn build(items: &[&[u8]]) -> Vec<u8> {
        let mut w = Writer::new();
        for i in items {
            w.push(i);
        }
        w.finish()
    }

    #[test]
    fn matches_redis_bytes() {
        // The listpack inside redis-server 7.0.15's DUMP of `RPUSH l a b 1 -5`.
        let redis = b"\x12\x00\x00\x00\x04\x00\x81a\x02\x81b\x02\x01\x01\xdf\xfb\x02\xff";
        assert_eq!(build(&[b"a", b"b", b"1", b"-5"]), redis);
        let back: Vec<Vec<u8>> = parse(redis)
            .unwrap()
            .into_iter()
            .map(Element::into_bytes)
            .collect();
        assert_eq!(
            back,
            vec![b"a".to_vec(), b"b".to_vec(), b"1".to_vec(), b"-5".to_vec()]
        );
    }

    #[test]
    fn every_integer_width_round_trips() {
        for v in [
            0i64,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -4097,
            32767,
            -32768,
            32768,
            (1 << 23) - 1,
            -(1 << 23),
            1 << 23,
            i64::from(i32::MAX),
            i64::from(i32::MIN),
            i64::from(i32::MAX) + 1,
            i64::MAX,
            i64::MIN,
        ] {
            let s = v.to_string();
            let lp = build(&[s.as_bytes()]);
            assert_eq!(parse(&lp).unwrap(), vec![Element::Int(v)], "{v}");
        }
    }

    #[test]
    fn strings_that_are_not_integers_stay_strings() {
        for s in [
            &b"01"[..],
            b"-0",
            b"+1",
            b" 1",
            b"",
            b"99999999999999999999",
        ] {
            assert_eq!(parse(&build(&[s])).unwrap(), vec![Element::Str(s.to_vec())]);
        }
    }

    #[test]
    fn refuses_corruption() {
        let good = build(&[b"hello", b"12"]);
        assert!(parse(&good[..good.len() - 1]).is_err());
        let mut bad = good.clone();
        bad[4] = 3;
        assert!(parse(&bad).is_err());
        let mut bad = good.clone();
        bad[6] = 0x85 + 10; // string longer than the blob
        assert!(parse(&bad).is_err());
        let mut bad = good;
        let n = bad.len();
        bad[n - 2] = 9; // backlen of the last entry
        assert!(parse(&bad).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(items in proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..5000),
                any::<i64>().prop_map(|v| v.to_string().into_bytes()),
            ],
            0..40,
        )) {
            let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
            let lp = build(&refs);
            let back: Vec<Vec<u8>> = parse(&lp).unwrap().into_iter().map(Element::into_bytes).collect();
            prop_assert_eq!(back, items);
        }
    }
}
