//! Redis's RDB value format: tandem's encoding boundary with Redis.
//!
//! Owns the bytes of one value as Redis 7.0 serialises it (`rdbSaveObject` /
//! `rdbLoadObject`), and the `DUMP` payload around it:
//! `<type byte> <value> <RDB version: u16 LE = 10> <CRC64 (Jones): u64 LE>`. Reads every
//! type and encoding Redis 6.x and 7.0 write (strings raw, integer-encoded or LZF; lists as
//! quicklist 2 of listpacks, quicklist of ziplists, ziplist or plain; sets as intset or
//! plain; hashes as listpack, ziplist, zipmap or plain; zsets as listpack, ziplist, binary
//! or text scores; streams as the listpack nodes, counters and consumer groups of
//! Redis 5 to 7.0, `stream.rs`); writes what redis-server 7.0 would choose for the same
//! value (listpack under `*-max-listpack-entries`/`-value`, intset for small integer
//! sets, plain encodings otherwise, streams as type 19), so `OBJECT ENCODING` on
//! redis-server after a `RESTORE` matches.
//!
//! Pure code over bytes (`object.rs` one value, `file.rs` a whole RDB file), no storage and
//! no commands: `types/serialize.rs` maps values onto tandem's keys, and `import.rs` and
//! `export.rs` alone drive an engine (their own), for `tandem-storaged import-rdb` and
//! `export-rdb`.
//!
//! Written by hand rather than with a crate because it *is* the
//! compatibility contract: every byte must match what redis-server reads and writes, and
//! it must never trust a length a payload claims (no allocation before the bytes are
//! there, every blob checked as Redis's `*ValidateIntegrity` do).

pub mod export;
pub mod file;
pub mod import;
pub mod input;
pub mod listpack;
pub mod lzf;
pub mod object;
pub mod primitive;
pub mod stream;
pub mod ziplist;

use input::{Input, SliceInput};
pub use object::Value;

/// The RDB version tandem writes, and the highest it accepts (Redis 7.0's `RDB_VERSION`).
pub const RDB_VERSION: u16 = 10;

/// Redis's reply to a payload whose trailer does not check out.
pub const BAD_TRAILER: &str = "ERR DUMP payload version or checksum are wrong";
/// Redis's reply to a payload whose value does not load.
pub const BAD_DATA: &str = "ERR Bad data format";

/// Why RDB bytes did not load, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at offset {offset}: {reason}")]
pub struct RdbError {
    /// Byte offset in the payload or file where the problem was found.
    pub offset: u64,
    pub reason: String,
}

impl RdbError {
    pub fn new(offset: u64, reason: impl Into<String>) -> RdbError {
        RdbError {
            offset,
            reason: reason.into(),
        }
    }

    /// The input ended at `offset` before the value did.
    pub fn truncated(offset: u64) -> RdbError {
        RdbError::new(offset, "unexpected end of data (truncated)")
    }
}

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

/// Redis's `crc64(crc, bytes, len)`: continues `crc` over `bytes`, so a file's checksum is
/// computed as it streams by (`FUNCTION DUMP`'s whole-payload form is
/// `tandem_scripting::dump::crc64`, the same function from 0).
pub fn crc64_update(crc: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(crc, |crc, &b| {
        CRC64_TABLE[((crc ^ u64::from(b)) & 0xff) as usize] ^ (crc >> 8)
    })
}

/// Redis's `crc64(0, bytes, len)` (Jones polynomial, reflected, no final xor).
pub fn crc64(bytes: &[u8]) -> u64 {
    crc64_update(0, bytes)
}

/// The `DUMP` payload of `value`.
pub fn dump(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    let kind = object::write(value, &mut out);
    let mut payload = Vec::with_capacity(out.len() + 11);
    payload.push(kind);
    payload.append(&mut out);
    payload.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&payload);
    payload.extend_from_slice(&crc.to_le_bytes());
    payload
}

/// What a `RESTORE` payload failed on, with Redis's reply text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadError {
    /// Shorter than its trailer, a newer RDB version, or a CRC mismatch.
    Trailer,
    /// The value does not load (`Bad data format`); the reason is for logs and tests.
    Data(RdbError),
}

impl PayloadError {
    /// The error reply redis-server 7.0 gives.
    pub fn reply_text(&self) -> &'static str {
        match self {
            PayloadError::Trailer => BAD_TRAILER,
            PayloadError::Data(_) => BAD_DATA,
        }
    }
}

/// Checks a `RESTORE` payload (`verifyDumpPayload`) and loads its value.
///
/// As redis-server, the value is read from the whole payload (a value may run into the
/// trailer's bytes) and bytes left before the trailer are ignored.
///
/// # Errors
/// [`PayloadError::Trailer`] or [`PayloadError::Data`], as above.
pub fn restore(payload: &[u8]) -> Result<Value, PayloadError> {
    let Some(body_len) = payload.len().checked_sub(10) else {
        return Err(PayloadError::Trailer);
    };
    let version = u16::from_le_bytes([payload[body_len], payload[body_len + 1]]);
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&payload[body_len + 2..]);
    if version > RDB_VERSION || crc64(&payload[..body_len + 2]) != u64::from_le_bytes(crc) {
        return Err(PayloadError::Trailer);
    }
    let mut input = SliceInput::new(payload);
    let kind = input.byte().map_err(PayloadError::Data)?;
    let value = object::read(&mut input, kind).map_err(PayloadError::Data)?;
    if value.is_empty() {
        return Err(PayloadError::Data(RdbError::new(1, "empty collection")));
    }
    Ok(value)
}

#[cfg(test)]
mod tests;
