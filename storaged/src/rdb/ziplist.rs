//! The encodings Redis 6.x and older wrote and 7.0 still loads: ziplist (`ziplist.c`,
//! lists, hashes and zsets up to 6.2), zipmap (`zipmap.c`, hashes before 2.6) and intset
//! (`intset.c`, small integer sets, still written by 7.0). Read only, except intsets, which
//! tandem writes as Redis 7.0 does.

use super::listpack::{Element, FieldPairs};

/// The elements of ziplist `blob`.
///
/// Layout: `zlbytes: u32 LE | zltail: u32 LE | zllen: u16 LE | entries | 0xff`; an entry is
/// `prevlen` (1 byte, or `0xfe` and 4 bytes LE), an encoding and its data.
///
/// # Errors
/// A short description of the first inconsistency.
pub fn parse(blob: &[u8]) -> Result<Vec<Element>, &'static str> {
    const SHORT: &str = "ziplist entry runs past the end";
    if blob.len() < 11 {
        return Err("ziplist shorter than its header");
    }
    let total = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    if total != blob.len() {
        return Err("ziplist size does not match its header");
    }
    let count = u16::from_le_bytes([blob[8], blob[9]]);
    let mut out = Vec::new();
    let mut p = 10;
    let mut prev_len = 0usize;
    loop {
        let Some(&first) = blob.get(p) else {
            return Err("ziplist without terminator");
        };
        if first == 0xff {
            break;
        }
        let start = p;
        let prev = if first < 0xfe {
            p += 1;
            usize::from(first)
        } else {
            let b = blob.get(p + 1..p + 5).ok_or(SHORT)?;
            p += 5;
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
        };
        if prev != prev_len {
            return Err("ziplist entry with a wrong prevlen");
        }
        let enc = *blob.get(p).ok_or(SHORT)?;
        let take = |from: usize, n: usize| {
            blob.get(from..from.checked_add(n).ok_or(SHORT)?)
                .ok_or(SHORT)
        };
        let int = |from: usize, n: usize| -> Result<i64, &'static str> {
            let b = take(from, n)?;
            let mut v = [0u8; 8];
            v[..n].copy_from_slice(b);
            let shift = 64 - 8 * n as u32;
            Ok((i64::from_le_bytes(v) << shift) >> shift)
        };
        let (element, end) = match enc >> 6 {
            0 => {
                let n = usize::from(enc & 0x3f);
                (Element::Str(take(p + 1, n)?.to_vec()), p + 1 + n)
            }
            1 => {
                let n = (usize::from(enc & 0x3f) << 8)
                    | usize::from(*take(p + 1, 1)?.first().ok_or(SHORT)?);
                (Element::Str(take(p + 2, n)?.to_vec()), p + 2 + n)
            }
            2 => {
                if enc != 0x80 {
                    return Err("ziplist entry with an unknown encoding");
                }
                let b = take(p + 1, 4)?;
                let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
                (Element::Str(take(p + 5, n)?.to_vec()), p + 5 + n)
            }
            _ => match enc {
                0xc0 => (Element::Int(int(p + 1, 2)?), p + 3),
                0xd0 => (Element::Int(int(p + 1, 4)?), p + 5),
                0xe0 => (Element::Int(int(p + 1, 8)?), p + 9),
                0xf0 => (Element::Int(int(p + 1, 3)?), p + 4),
                0xfe => (Element::Int(int(p + 1, 1)?), p + 2),
                0xf1..=0xfd => (Element::Int(i64::from(enc & 0x0f) - 1), p + 1),
                _ => return Err("ziplist entry with an unknown encoding"),
            },
        };
        if end >= blob.len() {
            return Err(SHORT);
        }
        out.push(element);
        prev_len = end - start;
        p = end;
    }
    if p != blob.len() - 1 {
        return Err("ziplist data after its terminator");
    }
    if count != u16::MAX && usize::from(count) != out.len() {
        return Err("ziplist count does not match its entries");
    }
    Ok(out)
}

/// The field/value pairs of zipmap `blob`.
///
/// Layout: `zmlen: u8 | (len key len free value free-bytes)* | 0xff`, a length being one
/// byte below 254, or `0xfe` and 4 bytes LE.
///
/// # Errors
/// A short description of the first inconsistency.
pub fn parse_zipmap(blob: &[u8]) -> Result<FieldPairs, &'static str> {
    const SHORT: &str = "zipmap entry runs past the end";
    let mut p = 1;
    let mut out = Vec::new();
    let len = |p: &mut usize| -> Result<Option<usize>, &'static str> {
        match blob.get(*p) {
            None => Err(SHORT),
            Some(0xff) => Ok(None),
            Some(0xfe) => {
                let b = blob.get(*p + 1..*p + 5).ok_or(SHORT)?;
                *p += 5;
                Ok(Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize))
            }
            Some(&n) => {
                *p += 1;
                Ok(Some(usize::from(n)))
            }
        }
    };
    if blob.is_empty() {
        return Err("zipmap is empty");
    }
    while let Some(klen) = len(&mut p)? {
        let key = blob
            .get(p..p.checked_add(klen).ok_or(SHORT)?)
            .ok_or(SHORT)?;
        p += klen;
        let vlen = len(&mut p)?.ok_or("zipmap key without value")?;
        let free = usize::from(*blob.get(p).ok_or(SHORT)?);
        p += 1;
        let value = blob
            .get(p..p.checked_add(vlen).ok_or(SHORT)?)
            .ok_or(SHORT)?;
        p += vlen + free;
        out.push((key.to_vec(), value.to_vec()));
    }
    if p != blob.len() - 1 {
        return Err("zipmap data after its terminator");
    }
    Ok(out)
}

/// The members of intset `blob`: `encoding: u32 LE (2, 4 or 8) | length: u32 LE | values`,
/// sorted ascending, each `encoding` bytes LE.
///
/// # Errors
/// A short description of the first inconsistency (a bad width, a size that does not match,
/// values out of order or repeated).
pub fn parse_intset(blob: &[u8]) -> Result<Vec<i64>, &'static str> {
    if blob.len() < 8 {
        return Err("intset shorter than its header");
    }
    let width = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    let n = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]) as usize;
    if ![2, 4, 8].contains(&width) {
        return Err("intset with an unknown encoding");
    }
    if blob.len() - 8 != n.checked_mul(width).ok_or("intset size overflows")? {
        return Err("intset size does not match its header");
    }
    let mut out: Vec<i64> = Vec::with_capacity(n);
    for chunk in blob[8..].chunks_exact(width) {
        let mut v = [0u8; 8];
        v[..width].copy_from_slice(chunk);
        let shift = 64 - 8 * width as u32;
        let value = (i64::from_le_bytes(v) << shift) >> shift;
        if out.last().is_some_and(|&last| last >= value) {
            return Err("intset values out of order");
        }
        out.push(value);
    }
    Ok(out)
}

/// The intset of `values` (any order, distinct), in the narrowest width that holds them
/// all, as Redis grows it.
pub fn write_intset(values: &[i64]) -> Vec<u8> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let width: usize = if sorted.iter().all(|&v| i16::try_from(v).is_ok()) {
        2
    } else if sorted.iter().all(|&v| i32::try_from(v).is_ok()) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + width * sorted.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(sorted.len() as u32).to_le_bytes());
    for v in sorted {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intset_matches_redis_bytes() {
        // The intset in redis-server 7.0.15's DUMP of `SADD si 1 2 -3`.
        let redis = b"\x02\x00\x00\x00\x03\x00\x00\x00\xfd\xff\x01\x00\x02\x00";
        assert_eq!(write_intset(&[1, 2, -3]), redis);
        assert_eq!(parse_intset(redis).unwrap(), vec![-3, 1, 2]);
        let wide = write_intset(&[i64::MIN, 5, i64::from(i32::MAX) + 1]);
        assert_eq!(
            parse_intset(&wide).unwrap(),
            vec![i64::MIN, 5, i64::from(i32::MAX) + 1]
        );
        assert_eq!(write_intset(&[70000])[0], 4);
        assert!(parse_intset(b"\x02\x00\x00\x00\x02\x00\x00\x00\x01\x00\x01\x00").is_err());
        assert!(parse_intset(b"\x03\x00\x00\x00\x00\x00\x00\x00").is_err());
    }

    /// Ziplist of `"a", 12, -2, "x"×70, 40000, 1 << 40, 100000000` as Redis 6.2 lays it out
    /// (`ziplistPush` picks the smallest integer encoding).
    #[test]
    fn ziplist_decodes_every_encoding() {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut push = |entry: &[u8], body: &mut Vec<u8>| {
            let start = body.len();
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(0xfe);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            body.extend_from_slice(entry);
            prev = body.len() - start;
        };
        push(b"\x01a", &mut body);
        push(b"\xfd", &mut body); // immediate 12
        push(b"\xfe\xfe", &mut body); // int8 -2
        let mut long = vec![0x40, 70];
        long.extend(std::iter::repeat_n(b'x', 70));
        push(&long, &mut body);
        push(b"\xd0\x40\x9c\x00\x00", &mut body); // int32 40000
        push(b"\xe0\x00\x00\x00\x00\x00\x01\x00\x00", &mut body); // int64 1 << 40
        push(b"\xf0\x00\xe1\xf5", &mut body); // int24? 0xf5e100 is negative in 24 bits
        push(b"\xc0\x30\xf8", &mut body); // int16 -2000
        let mut blob = Vec::new();
        blob.extend_from_slice(&((body.len() + 11) as u32).to_le_bytes());
        blob.extend_from_slice(&0u32.to_le_bytes());
        blob.extend_from_slice(&8u16.to_le_bytes());
        blob.extend_from_slice(&body);
        blob.push(0xff);
        let got = parse(&blob).unwrap();
        assert_eq!(
            got,
            vec![
                Element::Str(b"a".to_vec()),
                Element::Int(12),
                Element::Int(-2),
                Element::Str(vec![b'x'; 70]),
                Element::Int(40000),
                Element::Int(1 << 40),
                Element::Int(0xf5e100 - (1 << 24)),
                Element::Int(-2000),
            ]
        );
        let mut bad = blob.clone();
        bad[13] = 1; // second entry's prevlen (3)
        assert!(parse(&bad).is_err());
        assert!(parse(&blob[..blob.len() - 1]).is_err());
    }

    #[test]
    fn zipmap_decodes() {
        // `zipmapSet(zm, "f", "v")`, then "name" = 300 bytes with 2 bytes free.
        let mut zm = vec![2u8, 1, b'f', 1, 0, b'v', 4];
        zm.extend_from_slice(b"name");
        zm.push(0xfe);
        zm.extend_from_slice(&300u32.to_le_bytes());
        zm.push(2);
        zm.extend(std::iter::repeat_n(b'z', 300));
        zm.extend_from_slice(&[0, 0, 0xff]);
        assert_eq!(
            parse_zipmap(&zm).unwrap(),
            vec![
                (b"f".to_vec(), b"v".to_vec()),
                (b"name".to_vec(), vec![b'z'; 300])
            ]
        );
        assert!(parse_zipmap(&zm[..zm.len() - 1]).is_err());
    }
}
