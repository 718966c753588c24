//! LZF decompression (`lzf_d.c`), for the strings Redis compresses in RDB files and DUMP
//! payloads (`rdbcompression yes`, strings over 20 bytes that shrink by at least 4).
//! tandem never writes LZF: every Redis loads plain strings.

/// Decompresses `input` into exactly `len` bytes; `None` for any other outcome (a back
/// reference before the start, output past `len`, a truncated run), as Redis refuses them.
/// The output grows with what the input produces, never to `len` up front.
pub fn decompress(input: &[u8], len: usize) -> Option<Vec<u8>> {
    if len == 0 {
        return None;
    }
    let mut out: Vec<u8> = Vec::with_capacity(len.min(input.len().saturating_mul(4)));
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < 32 {
            // A literal run of ctrl + 1 bytes.
            let run = input.get(ip..ip + ctrl + 1)?;
            if out.len() + run.len() > len {
                return None;
            }
            out.extend_from_slice(run);
            ip += ctrl + 1;
        } else {
            // A back reference: length (ctrl >> 5) + 2 (7 means a length byte follows),
            // distance from the 13 low bits + 1.
            let mut run = ctrl >> 5;
            if run == 7 {
                run += usize::from(*input.get(ip)?);
                ip += 1;
            }
            run += 2;
            let distance = ((ctrl & 0x1f) << 8) + usize::from(*input.get(ip)?) + 1;
            ip += 1;
            let start = out.len().checked_sub(distance)?;
            if out.len() + run > len {
                return None;
            }
            // Byte by byte: the source may overlap what this run writes.
            for i in start..start + run {
                out.push(out[i]);
            }
        }
    }
    (out.len() == len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_overlapping_back_reference() {
        // "a" literal, then a back reference of 9 bytes at distance 1: "aaaaaaaaaa".
        let input = [0x00, b'a', 0xe0, 0x00, 0x00];
        // ctrl 0xe0: run 7 + extra byte 0 = 7, +2 = 9; distance (0 << 8) + 0 + 1 = 1.
        assert_eq!(decompress(&input, 10).unwrap(), b"aaaaaaaaaa");
        assert_eq!(decompress(&input, 11), None);
        assert_eq!(decompress(&input, 9), None);
    }

    #[test]
    fn refuses_references_before_the_start_and_truncation() {
        assert_eq!(decompress(&[0x20, 0x05], 3), None);
        assert_eq!(decompress(&[0x03, b'a'], 4), None);
        assert_eq!(decompress(&[0x20], 3), None);
        assert_eq!(decompress(&[], 0), None);
    }
}
