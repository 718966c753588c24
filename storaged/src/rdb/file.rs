//! A whole RDB file (`rdbLoadRio` of Redis 7.0): the `REDIS0010` header, auxiliary fields,
//! databases, expiry times and the values of [`super::object`], then `EOF` and the CRC64 of
//! everything before it. Versions 1 to 10 (Redis 6.x writes 9, 7.0 writes 10); 7.2's
//! version 11 is refused as 7.0 refuses it.

use super::input::Input;
use super::object::{self, read_len, read_string, Value};
use super::{RdbError, RDB_VERSION};

const OPCODE_FUNCTION2: u8 = 0xf5;
const OPCODE_FUNCTION_PRE_GA: u8 = 0xf6;
const OPCODE_MODULE_AUX: u8 = 0xf7;
const OPCODE_IDLE: u8 = 0xf8;
const OPCODE_FREQ: u8 = 0xf9;
const OPCODE_AUX: u8 = 0xfa;
const OPCODE_RESIZEDB: u8 = 0xfb;
const OPCODE_EXPIRETIME_MS: u8 = 0xfc;
const OPCODE_EXPIRETIME: u8 = 0xfd;
const OPCODE_SELECTDB: u8 = 0xfe;
const OPCODE_EOF: u8 = 0xff;

/// Redis's database count; a file naming a higher database does not load (tandem has 16,
/// like a default redis-server).
const DB_COUNT: u64 = 16;

/// One key of the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub db: u8,
    pub key: Vec<u8>,
    pub value: Value,
    /// Absolute unix milliseconds; 0: none.
    pub expire_at_ms: u64,
}

/// What the file held besides its keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub version: u16,
    /// `AUX` fields in file order (`redis-ver`, `ctime`, `used-mem` …).
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// Keys handed to the visitor.
    pub keys: u64,
    /// Empty collections skipped, as Redis skips them.
    pub empty_skipped: u64,
    /// Function libraries (`FUNCTION DUMP`'s records) skipped: tandem's function store is
    /// loaded with `FUNCTION RESTORE`, not from RDB files.
    pub functions_skipped: u64,
    /// Whether the file carried a checksum (0 means `rdbchecksum no`).
    pub checksum_checked: bool,
}

/// Reads a whole RDB file, handing each key to `visit` in file order.
///
/// # Errors
/// [`RdbError`] naming the offset of the first problem: a bad header or version, a
/// truncated or corrupt record, a database above 15, module data, a checksum mismatch, or
/// an error `visit` returned (at the offset after that key).
pub fn read<I: Input>(
    input: &mut I,
    visit: &mut dyn FnMut(Entry) -> Result<(), String>,
) -> Result<Summary, RdbError> {
    let mut magic = [0u8; 9];
    input.fill(&mut magic)?;
    if &magic[..5] != b"REDIS" {
        return Err(RdbError::new(0, "not an RDB file (no REDIS signature)"));
    }
    let version = std::str::from_utf8(&magic[5..])
        .ok()
        .and_then(|v| v.parse::<u16>().ok())
        .ok_or_else(|| RdbError::new(5, "not an RDB file (bad version digits)"))?;
    if version == 0 || version > RDB_VERSION {
        return Err(RdbError::new(
            5,
            format!("RDB format version {version} is not one Redis 7.0 loads (1 to {RDB_VERSION})"),
        ));
    }
    let mut summary = Summary {
        version,
        ..Summary::default()
    };
    let mut db: u8 = 0;
    let mut expire_at_ms: u64 = 0;
    loop {
        let at = input.offset();
        let kind = input.byte()?;
        match kind {
            OPCODE_EOF => break,
            OPCODE_FREQ => {
                input.byte()?;
            }
            OPCODE_IDLE => {
                read_len(input)?;
            }
            OPCODE_EXPIRETIME_MS => {
                let mut b = [0u8; 8];
                input.fill(&mut b)?;
                expire_at_ms = u64::try_from(i64::from_le_bytes(b)).unwrap_or(0).max(1);
            }
            OPCODE_EXPIRETIME => {
                let mut b = [0u8; 4];
                input.fill(&mut b)?;
                let secs = u64::try_from(i32::from_le_bytes(b)).unwrap_or(0);
                expire_at_ms = (secs * 1000).max(1);
            }
            OPCODE_SELECTDB => {
                let n = read_len(input)?;
                if n >= DB_COUNT {
                    return Err(RdbError::new(
                        at,
                        format!("database {n} out of range (tandem has {DB_COUNT})"),
                    ));
                }
                db = n as u8;
            }
            OPCODE_RESIZEDB => {
                read_len(input)?;
                read_len(input)?;
            }
            OPCODE_AUX => {
                let k = read_string(input)?;
                let v = read_string(input)?;
                summary.aux.push((k, v));
            }
            OPCODE_MODULE_AUX => {
                return Err(RdbError::new(at, "module data: tandem loads no modules"))
            }
            OPCODE_FUNCTION2 => {
                read_string(input)?;
                summary.functions_skipped += 1;
            }
            OPCODE_FUNCTION_PRE_GA => {
                return Err(RdbError::new(
                    at,
                    "a function library in the format of Redis 7.0's release candidates",
                ))
            }
            _ => {
                let key = read_string(input)?;
                let value = object::read(input, kind)?;
                let expiry = std::mem::take(&mut expire_at_ms);
                if value.is_empty() {
                    summary.empty_skipped += 1;
                    continue;
                }
                visit(Entry {
                    db,
                    key,
                    value,
                    expire_at_ms: expiry,
                })
                .map_err(|e| RdbError::new(input.offset(), e))?;
                summary.keys += 1;
            }
        }
    }
    if version >= 5 {
        let expected = input.checksum();
        let at = input.offset();
        let mut b = [0u8; 8];
        input.fill(&mut b)?;
        let stored = u64::from_le_bytes(b);
        if stored != 0 {
            if stored != expected {
                return Err(RdbError::new(
                    at,
                    format!(
                        "checksum mismatch: file says {stored:016x}, data gives {expected:016x}"
                    ),
                ));
            }
            summary.checksum_checked = true;
        }
    }
    Ok(summary)
}

/// Writes RDB files as Redis 7.0 does: header, `AUX` fields, per database `SELECTDB` and
/// `RESIZEDB`, keys with their expiry, `EOF` and the CRC64.
pub struct Writer<W: std::io::Write> {
    out: W,
    crc: u64,
    written: u64,
}

impl<W: std::io::Write> Writer<W> {
    /// Starts a file with the header and the `AUX` fields redis-server writes first.
    ///
    /// # Errors
    /// Write failures.
    pub fn new(out: W, aux: &[(&[u8], &[u8])]) -> std::io::Result<Writer<W>> {
        let mut w = Writer {
            out,
            crc: 0,
            written: 0,
        };
        w.put(format!("REDIS{RDB_VERSION:04}").as_bytes())?;
        for (k, v) in aux {
            let mut rec = vec![OPCODE_AUX];
            object::write_string(k, &mut rec);
            object::write_string(v, &mut rec);
            w.put(&rec)?;
        }
        Ok(w)
    }

    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.out.write_all(bytes)?;
        self.crc = super::crc64_update(self.crc, bytes);
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Starts database `db`, announcing its key counts.
    ///
    /// # Errors
    /// Write failures.
    pub fn select_db(&mut self, db: u8, keys: u64, expires: u64) -> std::io::Result<()> {
        let mut rec = vec![OPCODE_SELECTDB];
        object::write_len(u64::from(db), &mut rec);
        rec.push(OPCODE_RESIZEDB);
        object::write_len(keys, &mut rec);
        object::write_len(expires, &mut rec);
        self.put(&rec)
    }

    /// One key of the current database.
    ///
    /// # Errors
    /// Write failures.
    pub fn key(&mut self, key: &[u8], value: &Value, expire_at_ms: u64) -> std::io::Result<()> {
        let mut rec = Vec::new();
        if expire_at_ms != 0 {
            rec.push(OPCODE_EXPIRETIME_MS);
            rec.extend_from_slice(&expire_at_ms.to_le_bytes());
        }
        let mut body = Vec::new();
        let kind = object::write(value, &mut body);
        rec.push(kind);
        object::write_string(key, &mut rec);
        self.put(&rec)?;
        self.put(&body)
    }

    /// Ends the file (`EOF`, checksum) and hands back the output.
    ///
    /// # Errors
    /// Write failures.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.put(&[OPCODE_EOF])?;
        let crc = self.crc;
        self.out.write_all(&crc.to_le_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::input::SliceInput;
    use super::*;

    fn collect(bytes: &[u8]) -> Result<(Summary, Vec<Entry>), RdbError> {
        let mut got = Vec::new();
        let mut input = SliceInput::new(bytes);
        let summary = read(&mut input, &mut |e| {
            got.push(e);
            Ok(())
        })?;
        Ok((summary, got))
    }

    fn sample() -> Vec<u8> {
        let mut w = Writer::new(Vec::new(), &[(b"redis-ver", b"7.0.15")]).unwrap();
        w.select_db(0, 2, 1).unwrap();
        w.key(b"s", &Value::String(b"v".to_vec()), 0).unwrap();
        w.key(b"l", &Value::List(vec![b"a".to_vec()]), 4_102_444_800_000)
            .unwrap();
        w.select_db(3, 1, 0).unwrap();
        w.key(b"h", &Value::Hash(vec![(b"f".to_vec(), b"1".to_vec())]), 0)
            .unwrap();
        w.finish().unwrap()
    }

    #[test]
    fn written_files_read_back() {
        let (summary, keys) = collect(&sample()).unwrap();
        assert_eq!(summary.version, RDB_VERSION);
        assert!(summary.checksum_checked);
        assert_eq!(
            summary.aux,
            vec![(b"redis-ver".to_vec(), b"7.0.15".to_vec())]
        );
        assert_eq!(
            keys,
            vec![
                Entry {
                    db: 0,
                    key: b"s".to_vec(),
                    value: Value::String(b"v".to_vec()),
                    expire_at_ms: 0
                },
                Entry {
                    db: 0,
                    key: b"l".to_vec(),
                    value: Value::List(vec![b"a".to_vec()]),
                    expire_at_ms: 4_102_444_800_000
                },
                Entry {
                    db: 3,
                    key: b"h".to_vec(),
                    value: Value::Hash(vec![(b"f".to_vec(), b"1".to_vec())]),
                    expire_at_ms: 0
                },
            ]
        );
    }

    #[test]
    fn every_truncation_names_the_end() {
        let file = sample();
        for cut in 0..file.len() {
            let e = collect(&file[..cut]).unwrap_err();
            assert!(e.offset <= cut as u64, "cut {cut}: {e}");
        }
    }

    #[test]
    fn corruption_is_caught_by_the_checksum() {
        let mut file = sample();
        // The value of "s" ('v'), which parses either way.
        let at = file.windows(4).position(|w| w == b"\x01s\x01v").unwrap() + 3;
        file[at] = b'w';
        let e = collect(&file).unwrap_err();
        assert!(e.reason.contains("checksum"), "{e}");
        // A zero checksum (rdbchecksum no) is not checked.
        let n = file.len();
        file[n - 8..].fill(0);
        assert!(!collect(&file).unwrap().0.checksum_checked);
    }

    #[test]
    fn bad_headers_and_databases() {
        assert!(collect(b"REDIX0010\xff").is_err());
        assert!(collect(b"REDIS0011\xff")
            .unwrap_err()
            .reason
            .contains("version 11"));
        let e = collect(b"REDIS0009\xfe\x10\xff").unwrap_err();
        assert!(e.reason.contains("database 16"), "{e}");
        assert_eq!(e.offset, 9);
    }
}
