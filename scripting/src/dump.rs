//! The `FUNCTION DUMP` payload, byte-compatible with Redis 7.0: a dump from tandem restores
//! on redis-server and a dump from redis-server restores on tandem.
//!
//! Layout (Redis's `functionDumpCommand` and `verifyDumpPayload`): for each library the RDB
//! opcode `RDB_OPCODE_FUNCTION2` (245) followed by the library's code as an RDB string, then
//! the RDB version as 2 bytes little-endian (10 for Redis 7.0), then the CRC64 of everything
//! before it, 8 bytes little-endian.
//!
//! Owns the byte format only: no Lua, no library registry (the engine's
//! `restore_functions` loads the codes). It never allocates by a length the payload claims:
//! strings are sliced from the payload or grow with the bytes LZF actually produces.
//!
//! Written by hand rather than with a crate: the CRC is Redis's own variant (Jones
//! polynomial, reflected, no final xor; `crc64.c`), which no dependency of the workspace
//! provides, and the LZF decoder is the dozen lines of `lzf_d.c` a Redis dump needs (Redis
//! compresses strings longer than 20 bytes when that saves at least 4).

use crate::ScriptError;

/// `RDB_OPCODE_FUNCTION2`: a library as its code.
const OPCODE_FUNCTION2: u8 = 245;
/// `RDB_OPCODE_FUNCTION_PRE_GA`: the 7.0 release candidates' format (name, engine, an
/// optional description, the body), which 7.0.15 still loads as `#!<engine> name=<name>\n`
/// followed by the body.
const OPCODE_FUNCTION_PRE_GA: u8 = 246;
/// The RDB version tandem writes, and the highest it accepts (Redis 7.0's `RDB_VERSION`).
pub const RDB_VERSION: u16 = 10;

/// Redis's text for a payload whose trailer does not check out.
const BAD_PAYLOAD: &str = "DUMP payload version or checksum are wrong";

/// Redis's `crc64_jones` table (reflected polynomial 0x95ac9329ac4bc9b5), built at compile
/// time.
const CRC64_TABLE: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x95ac_9329_ac4b_c9b5
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// Redis's `crc64(0, bytes, len)`.
pub fn crc64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |crc, &b| {
        CRC64_TABLE[((crc ^ u64::from(b)) & 0xff) as usize] ^ (crc >> 8)
    })
}

/// The `FUNCTION DUMP` payload of these library codes, in the order given.
///
/// Strings are written plain, never LZF-compressed: every Redis loads both, and a plain
/// dump is byte for byte what redis-server writes when compression would not save 4 bytes or
/// `rdbcompression` is off. (A code starts with `#!`, so Redis's integer encoding never
/// applies.)
pub fn dump_libraries<'a>(codes: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for code in codes {
        out.push(OPCODE_FUNCTION2);
        put_len(code.len() as u64, &mut out);
        out.extend_from_slice(code);
    }
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// `rdbSaveLen`.
fn put_len(len: u64, out: &mut Vec<u8>) {
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

/// Checks a `FUNCTION RESTORE` payload's trailer and returns its library codes, read one
/// at a time.
///
/// # Errors
/// [`ScriptError::Invalid`] with redis-server 7.0.15's text `DUMP payload version or
/// checksum are wrong` (shorter than its trailer, a newer RDB version, a CRC mismatch); the
/// records' own errors come from the iterator.
pub fn read_dump(payload: &[u8]) -> Result<DumpCodes<'_>, ScriptError> {
    let Some(body_len) = payload.len().checked_sub(10) else {
        return Err(ScriptError::invalid(BAD_PAYLOAD));
    };
    let version = u16::from_le_bytes([payload[body_len], payload[body_len + 1]]);
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&payload[body_len + 2..]);
    if version > RDB_VERSION || crc64(&payload[..body_len + 2]) != u64::from_le_bytes(crc) {
        return Err(ScriptError::invalid(BAD_PAYLOAD));
    }
    Ok(DumpCodes {
        reader: Reader {
            bytes: payload,
            pos: 0,
        },
        body_len,
        failed: false,
    })
}

/// The library codes of a `FUNCTION RESTORE` payload, all read before any is loaded (the
/// engine reads them one by one with [`read_dump`], as Redis, so that a library that fails
/// to load is reported before a later corrupt record).
///
/// # Errors
/// As [`read_dump`] and [`DumpCodes`].
pub fn parse_dump(payload: &[u8]) -> Result<Vec<Vec<u8>>, ScriptError> {
    read_dump(payload)?.collect()
}

/// The codes of a checked payload, in payload order; after an error, nothing more.
///
/// # Errors
/// Each item: `given type is not a function` (an opcode other than a library's), `Failed
/// loading library payload` (a truncated or corrupt string), and for the release
/// candidates' opcode `Failed loading library name`, `… engine name`, `… library
/// description`, `… library blob`.
pub struct DumpCodes<'a> {
    reader: Reader<'a>,
    body_len: usize,
    failed: bool,
}

impl Iterator for DumpCodes<'_> {
    type Item = Result<Vec<u8>, ScriptError>;

    fn next(&mut self) -> Option<Self::Item> {
        // As redis-server: records are read while the cursor is before the trailer, and a
        // string may run into the trailer (7.0.15 restores a library whose last line is a
        // comment that swallows the version and the CRC).
        if self.failed || self.reader.pos >= self.body_len {
            return None;
        }
        let item = match self.reader.byte() {
            Some(OPCODE_FUNCTION2) => self
                .reader
                .string()
                .ok_or_else(|| ScriptError::invalid("Failed loading library payload")),
            Some(OPCODE_FUNCTION_PRE_GA) => self.reader.pre_ga_library(),
            _ => Err(ScriptError::invalid("given type is not a function")),
        };
        self.failed = item.is_err();
        Some(item)
    }
}

/// A cursor over the payload's RDB records; `None` is any truncated or malformed value.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn take(&mut self, n: u64) -> Option<&'a [u8]> {
        let n = usize::try_from(n).ok()?;
        let end = self.pos.checked_add(n)?;
        let slice = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(slice)
    }

    /// `rdbLoadLen`: a length, or an encoding tag (`Err`) for the `11xxxxxx` forms.
    fn len(&mut self) -> Option<Result<u64, u8>> {
        let first = self.byte()?;
        Some(match first >> 6 {
            0 => Ok(u64::from(first & 0x3f)),
            1 => Ok(u64::from(first & 0x3f) << 8 | u64::from(self.byte()?)),
            2 => match first {
                0x80 => Ok(u64::from(u32::from_be_bytes(
                    self.take(4)?.try_into().ok()?,
                ))),
                0x81 => Ok(u64::from_be_bytes(self.take(8)?.try_into().ok()?)),
                _ => return None,
            },
            _ => Err(first & 0x3f),
        })
    }

    fn plain_len(&mut self) -> Option<u64> {
        self.len()?.ok()
    }

    /// A release candidate's library (after its opcode), as the code 7.0.15 makes of it.
    fn pre_ga_library(&mut self) -> Result<Vec<u8>, ScriptError> {
        let failed = |what: &str| ScriptError::invalid(format!("Failed loading {what}"));
        let name = self.string().ok_or_else(|| failed("library name"))?;
        let engine = self.string().ok_or_else(|| failed("engine name"))?;
        // redis-server reads an encoded length here as its low bits, and a missing one as
        // "no description" (the body then fails to load).
        let has_description = match self.len() {
            Some(Ok(n)) => n != 0,
            Some(Err(low_bits)) => low_bits != 0,
            None => false,
        };
        if has_description {
            self.string().ok_or_else(|| failed("library description"))?;
        }
        let body = self.string().ok_or_else(|| failed("library blob"))?;
        let mut code = b"#!".to_vec();
        code.extend_from_slice(&engine);
        code.extend_from_slice(b" name=");
        code.extend_from_slice(&name);
        code.push(b'\n');
        code.extend_from_slice(&body);
        Ok(code)
    }

    /// `rdbGenericLoadStringObject`: plain, integer-encoded or LZF-compressed.
    fn string(&mut self) -> Option<Vec<u8>> {
        match self.len()? {
            Ok(len) => Some(self.take(len)?.to_vec()),
            Err(0) => Some((self.take(1)?[0] as i8).to_string().into_bytes()),
            Err(1) => Some(
                i16::from_le_bytes(self.take(2)?.try_into().ok()?)
                    .to_string()
                    .into_bytes(),
            ),
            Err(2) => Some(
                i32::from_le_bytes(self.take(4)?.try_into().ok()?)
                    .to_string()
                    .into_bytes(),
            ),
            Err(3) => {
                let compressed_len = self.plain_len()?;
                let len = self.plain_len()?;
                let compressed = self.take(compressed_len)?;
                lzf_decompress(compressed, len)
            }
            Err(_) => None,
        }
    }
}

/// `lzf_decompress` into exactly `len` bytes (Redis refuses any other outcome, and an empty
/// result). The output grows with what the input produces, never to the claimed `len` up
/// front, and decoding stops as soon as it would pass `len`.
fn lzf_decompress(input: &[u8], len: u64) -> Option<Vec<u8>> {
    let len = usize::try_from(len).ok().filter(|&len| len > 0)?;
    let mut out: Vec<u8> = Vec::new();
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
            // A back reference: length (ctrl >> 5) + 2, distance from the 13 low bits + 1.
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

    const MYLIB: &[u8] = b"#!lua name=mylib\nredis.register_function('f', function() return 1 end)";
    const LIB2: &[u8] = b"#!lua name=lib2\nredis.register_function{function_name='g', callback=function() return 2 end, flags={'no-writes'}}";

    // Payloads written by redis-server 7.0.15's FUNCTION DUMP.
    const EMPTY: &[u8] = b"\n\x00]\x9b\\@\x0f\x7f\xa2\xda";
    const MYLIB_DUMP: &[u8] = b"\xf5@F#!lua name=mylib\nredis.register_function('f', function() return 1 end)\n\x00\xc51\xde\xfcO\xf4E\x99";
    /// With `rdbcompression no`.
    const TWO_PLAIN: &[u8] = b"\xf5@q#!lua name=lib2\nredis.register_function{function_name='g', callback=function() return 2 end, flags={'no-writes'}}\xf5@F#!lua name=mylib\nredis.register_function('f', function() return 1 end)\n\x00T\x17\xed\xfb\x1co\xdc\xbc";
    /// The default `rdbcompression yes`: lib2's code is LZF-compressed, mylib's is not (it
    /// would not shrink by 4 bytes).
    const TWO_LZF: &[u8] = b"\xf5\xc3@h@q\x1f#!lua name=lib2\nredis.register_f\x07unction{\xc0\x08\x00_`*\x0d'g', callback=\xc0\x1b\x1f() return 2 end, flags={'no-writ\x04es'}}\xf5@F#!lua name=mylib\nredis.register_function('f', function() return 1 end)\n\x00\xbd\xa3\x22\xc5\x87GZ\x80";

    /// `#!lua name=big\n--` + 20000 `x` + a registration: 20071 bytes, a 32-bit length.
    fn big_code() -> Vec<u8> {
        let mut code = b"#!lua name=big\n--".to_vec();
        code.extend(std::iter::repeat_n(b'x', 20000));
        code.extend_from_slice(b"\nredis.register_function('b', function() return 1 end)");
        code
    }

    #[test]
    fn crc64_is_redis_jones_variant() {
        // crc64.c's own test vector.
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        assert_eq!(crc64(b""), 0);
    }

    #[test]
    fn dumps_match_redis_server_byte_for_byte() {
        assert_eq!(dump_libraries([]), EMPTY);
        assert_eq!(dump_libraries([MYLIB]), MYLIB_DUMP);
        assert_eq!(dump_libraries([LIB2, MYLIB]), TWO_PLAIN);
        // redis-server (rdbcompression no) on the 20071-byte library: 0x80 + a 4-byte length,
        // and this trailer.
        let big = big_code();
        let dump = dump_libraries([big.as_slice()]);
        assert_eq!(&dump[..6], b"\xf5\x80\x00\x00\x4e\x67");
        assert_eq!(&dump[6..6 + big.len()], big.as_slice());
        assert_eq!(&dump[6 + big.len()..], b"\n\x00U\x19J\xb8\x12}\xff\xde");
    }

    #[test]
    fn redis_server_dumps_parse() {
        assert_eq!(parse_dump(EMPTY), Ok(vec![]));
        assert_eq!(parse_dump(MYLIB_DUMP), Ok(vec![MYLIB.to_vec()]));
        assert_eq!(
            parse_dump(TWO_PLAIN),
            Ok(vec![LIB2.to_vec(), MYLIB.to_vec()])
        );
        assert_eq!(parse_dump(TWO_LZF), Ok(vec![LIB2.to_vec(), MYLIB.to_vec()]));
        // redis-server's default dump of the big library: LZF, 297 bytes for 20071.
        let big_lzf: &[u8] = b"\xf5\xc3A)\x80\x00\x00Ng\x11#!lua name=big\n--x\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xff\x00\xe0\xbe\x00\x1d\nredis.register_function('b', \xe0\x00\x0d\x0e) return 1 end)\n\x00\xdf&K\x9d\x92\x8c\xad7";
        assert_eq!(parse_dump(big_lzf), Ok(vec![big_code()]));
    }

    /// Payload with a right trailer around `body`.
    fn wrap(body: &[u8], version: u16) -> Vec<u8> {
        let mut out = body.to_vec();
        out.extend_from_slice(&version.to_le_bytes());
        let crc = crc64(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    fn err(text: &str) -> Result<Vec<Vec<u8>>, ScriptError> {
        Err(ScriptError::Invalid(text.to_owned()))
    }

    #[test]
    fn bad_payloads_get_redis_texts() {
        // Each observed with redis-server 7.0.15's FUNCTION RESTORE.
        let bad = err("DUMP payload version or checksum are wrong");
        assert_eq!(parse_dump(b""), bad);
        assert_eq!(parse_dump(b"abc"), bad);
        let mut flipped = MYLIB_DUMP.to_vec();
        *flipped.last_mut().unwrap() ^= 0x99;
        assert_eq!(parse_dump(&flipped), bad);
        let mut body = MYLIB_DUMP[..MYLIB_DUMP.len() - 10].to_vec();
        assert_eq!(parse_dump(&wrap(&body, 11)), bad);
        // Older RDB versions are accepted.
        assert_eq!(parse_dump(&wrap(&body, 9)), Ok(vec![MYLIB.to_vec()]));
        assert_eq!(parse_dump(&wrap(&body, 0)), Ok(vec![MYLIB.to_vec()]));
        assert_eq!(
            parse_dump(&wrap(b"\x00", 10)),
            err("given type is not a function")
        );
        body.push(0);
        assert_eq!(
            parse_dump(&wrap(&body, 10)),
            err("given type is not a function")
        );
        assert_eq!(
            parse_dump(&wrap(b"\xf6", 10)),
            err("Failed loading library name")
        );
        assert_eq!(
            parse_dump(&wrap(b"\xf6\x01a", 10)),
            err("Failed loading engine name")
        );
        for (body, what) in [
            (&b"\xf6\x01a\x03LUA"[..], "blob"),
            (b"\xf6\x01a\x03LUA\x00", "blob"),
            (b"\xf6\x01a\x03LUA\x01", "description"),
            (b"\xf6\x01a\x03LUA\x01\x01d", "blob"),
            (b"\xf6\x01a\x03LUA\x05\x01x", "blob"),
        ] {
            let text = format!("Failed loading library {what}");
            assert_eq!(parse_dump(&wrap(body, 10)), err(&text), "{body:?}");
        }
        assert_eq!(
            parse_dump(&wrap(b"\xf5", 10)),
            err("Failed loading library payload")
        );
        // A string may run into the trailer (redis-server then replies "Missing library
        // metadata": the code is `ab`, the version and the CRC's first byte).
        let into_trailer = wrap(b"\xf5\x05ab", 10);
        assert_eq!(
            parse_dump(&into_trailer),
            Ok(vec![into_trailer[2..7].to_vec()])
        );
        assert_eq!(
            parse_dump(&wrap(b"\xf5\x0dab", 10)),
            err("Failed loading library payload")
        );
        // A length past the payload, 64-bit and 32-bit: refused, nothing allocated.
        assert_eq!(
            parse_dump(&wrap(b"\xf5\x81\xff\xff\xff\xff\xff\xff\xff\xff", 10)),
            err("Failed loading library payload")
        );
        assert_eq!(
            parse_dump(&wrap(b"\xf5\xc3\x02\x80\xff\xff\xff\xff\x01ab", 10)),
            err("Failed loading library payload")
        );
    }

    #[test]
    fn release_candidate_libraries_become_codes() {
        // redis-server 7.0.15 restores these and lists the code `#!LUA name=a\n…`.
        let body = b"redis.register_function('f', function() return 7 end)";
        let mut payload = b"\xf6\x01a\x03LUA\x00\x35".to_vec();
        payload.extend_from_slice(body);
        let mut code = b"#!LUA name=a\n".to_vec();
        code.extend_from_slice(body);
        assert_eq!(parse_dump(&wrap(&payload, 10)), Ok(vec![code]));
        // With a description (skipped), and an encoded description flag read as 0.
        assert_eq!(
            parse_dump(&wrap(b"\xf6\x01c\x03lua\x01\x04desc\x01x", 10)),
            Ok(vec![b"#!lua name=c\nx".to_vec()])
        );
        assert_eq!(
            parse_dump(&wrap(b"\xf6\x01a\x03LUA\xc0\x01x", 10)),
            Ok(vec![b"#!LUA name=a\nx".to_vec()])
        );
    }

    #[test]
    fn integer_encoded_strings_read_as_their_digits() {
        assert_eq!(
            parse_dump(&wrap(b"\xf5\xc0\xfe", 10)),
            Ok(vec![b"-2".to_vec()])
        );
        assert_eq!(
            parse_dump(&wrap(b"\xf5\xc1\x39\x30", 10)),
            Ok(vec![b"12345".to_vec()])
        );
        assert_eq!(
            parse_dump(&wrap(b"\xf5\xc2\x00\x00\x00\x80", 10)),
            Ok(vec![b"-2147483648".to_vec()])
        );
    }

    #[test]
    fn lzf_rejects_corrupt_input() {
        assert_eq!(lzf_decompress(b"\x01ab", 2), Some(b"ab".to_vec()));
        assert_eq!(lzf_decompress(b"\x01ab", 3), None, "short");
        assert_eq!(lzf_decompress(b"\x01ab", 1), None, "long");
        assert_eq!(lzf_decompress(b"\x02ab", 3), None, "literal past the end");
        assert_eq!(
            lzf_decompress(b"\x00a\x20\x05", 4),
            None,
            "reference before the start"
        );
        assert_eq!(lzf_decompress(b"\x00a\x20\x00", 4), Some(b"aaaa".to_vec()));
        assert_eq!(lzf_decompress(b"", 0), None, "empty");
    }

    proptest::proptest! {
        #[test]
        fn dump_then_parse_round_trips(
            codes in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..20000), 0..4)
        ) {
            let dump = dump_libraries(codes.iter().map(Vec::as_slice));
            proptest::prop_assert_eq!(parse_dump(&dump), Ok(codes));
        }

        #[test]
        fn arbitrary_payloads_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = parse_dump(&bytes);
            let _ = parse_dump(&wrap(&bytes, 10));
        }
    }
}
