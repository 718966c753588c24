//! HyperLogLog commands (`PFADD`, `PFCOUNT`, `PFMERGE`, `PFDEBUG`, `PFSELFTEST`) with Redis
//! 7.0's representation and semantics, byte for byte.
//!
//! A HyperLogLog is a string (`docs/ENCODING.md`, HyperLogLog): a 16-byte header
//! (`HYLL`, the encoding byte, 3 unused bytes, the cached cardinality as a little-endian
//! `u64` whose top bit marks it invalid) and then [`sparse`] opcodes or the [`dense`]
//! registers. Values travel through `GET`/`SET` unchanged, so one copied from redis-server
//! works here and back, and every byte of a value may come from a client: anything that is
//! not an HLL gets Redis's `WRONGTYPE` text, a sparse sequence that does not decode gets
//! `INVALIDOBJ`, never a panic.
//!
//! Each command reads the whole value (12 KiB at most for a dense one), edits it in memory
//! as Redis edits it in place, and writes it back in the same record, keeping the key's
//! version and expiry, only when a byte changed. Errors Redis gives with its own prefix
//! (`WRONGTYPE Key is not a valid …`, `INVALIDOBJ …`) are error replies, not
//! `StorageError`s. `PFCOUNT` of one key writes the cardinality it computes back into the
//! cache, so it runs on the writer though Redis flags it read-only.

mod dense;
mod murmur;
mod sparse;

use tandem_shared::command::PfDebugOp;
use tandem_shared::{Reply, StorageError};

use super::string_value::{self as value, INLINE_MAX};
use super::{lookup_write, store_record, At, CmdResult};
use crate::engine::keys;
use crate::engine::metadata::{Header, KeyType, Record, FLAG_CHUNKED, HEADER_LEN};
use crate::engine::{Cf, EngineError, StoreRead, StoreWrite};

/// Bits of the hash that index a register.
const P: u32 = 14;
/// Bits of the hash left for the `0…01` pattern.
const Q: u32 = 64 - P;
/// Registers per HyperLogLog.
pub const REGISTERS: usize = 1 << P;
/// The largest value a 6-bit register holds.
const REGISTER_MAX: u8 = 63;
/// Bytes of the header before the registers or opcodes.
pub const HDR_SIZE: usize = 16;
/// Bytes of the packed dense registers.
pub const DENSE_BYTES: usize = REGISTERS * 6 / 8;
/// Length of every dense value.
pub const DENSE_SIZE: usize = HDR_SIZE + DENSE_BYTES;
const MAGIC: &[u8; 4] = b"HYLL";
const ENCODING_DENSE: u8 = 0;
const ENCODING_SPARSE: u8 = 1;
/// Redis's default `hll-sparse-max-bytes`: a sparse value that would grow past it becomes
/// dense. tandem has no `CONFIG SET` for it yet, so this is the only value.
pub const SPARSE_MAX_BYTES: usize = 3000;

const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const CORRUPT_HLL: &str = "INVALIDOBJ Corrupted HLL object detected";

/// A sparse value whose opcodes do not decode to exactly the registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// How a valid value holds its registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Dense,
    Sparse,
}

/// The encoding of a string value that is a HyperLogLog, as Redis's `isHLLObjectOrReply`
/// decides: at least a header, the magic, a known encoding, and for a dense one exactly
/// [`DENSE_SIZE`] bytes. `None` for any other string.
pub fn encoding(v: &[u8]) -> Option<Encoding> {
    if v.len() < HDR_SIZE || &v[..4] != MAGIC {
        return None;
    }
    match v[4] {
        ENCODING_DENSE if v.len() == DENSE_SIZE => Some(Encoding::Dense),
        ENCODING_SPARSE => Some(Encoding::Sparse),
        _ => None,
    }
}

/// A new, empty HyperLogLog: sparse, all registers 0, a valid cached cardinality of 0.
pub fn new_value() -> Vec<u8> {
    let mut v = Vec::with_capacity(HDR_SIZE + 2);
    v.extend_from_slice(MAGIC);
    v.push(ENCODING_SPARSE);
    v.extend_from_slice(&[0; 11]);
    v.extend_from_slice(&sparse::empty_body());
    v
}

/// Marks the cached cardinality invalid (the top bit of its last byte).
fn invalidate(v: &mut [u8]) {
    v[15] |= 0x80;
}

/// The cached cardinality, if valid.
fn cached(v: &[u8]) -> Option<u64> {
    let mut card = [0u8; 8];
    card.copy_from_slice(&v[8..16]);
    let card = u64::from_le_bytes(card);
    (card >> 63 == 0).then_some(card)
}

fn set_cached(v: &mut [u8], card: u64) {
    v[8..16].copy_from_slice(&card.to_le_bytes());
}

/// Raises register `index` to `count` in the valid value `v`, promoting a sparse value to
/// dense when Redis would; true when the register changed.
fn set_register(v: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    if v[4] == ENCODING_DENSE {
        return Ok(dense::raise(&mut v[HDR_SIZE..], index, count));
    }
    match sparse::set(v, index, count, SPARSE_MAX_BYTES)? {
        sparse::SetOutcome::Unchanged => Ok(false),
        sparse::SetOutcome::Updated => Ok(true),
        sparse::SetOutcome::Promote => {
            *v = sparse::to_dense(v)?;
            // Promotion happens only for a register that must rise.
            Ok(dense::raise(&mut v[HDR_SIZE..], index, count))
        }
    }
}

/// Adds `element` to the valid value `v` (Redis's `hllAdd`); true when a register rose.
///
/// # Errors
/// [`Corrupt`] for a sparse value with no opcode for the element's register.
pub fn add(v: &mut Vec<u8>, element: &[u8]) -> Result<bool, Corrupt> {
    let (index, count) = murmur::pattern(element);
    set_register(v, index, count)
}

/// Converts a valid sparse value to dense in place; false if it was dense already.
///
/// # Errors
/// [`Corrupt`] if its opcodes do not decode (the value is left as it was).
pub fn make_dense(v: &mut Vec<u8>) -> Result<bool, Corrupt> {
    if v[4] == ENCODING_DENSE {
        return Ok(false);
    }
    *v = sparse::to_dense(v)?;
    Ok(true)
}

/// Raises each of `max` (one byte per register, [`REGISTERS`] of them) to the registers of
/// the valid value `v` (Redis's `hllMerge`).
///
/// # Errors
/// [`Corrupt`] for a sparse value that does not decode.
pub fn merge_into(v: &[u8], max: &mut [u8]) -> Result<(), Corrupt> {
    if v[4] == ENCODING_DENSE {
        dense::merge_into(&v[HDR_SIZE..], max);
        Ok(())
    } else {
        sparse::merge_into(v, max)
    }
}

/// The register histogram of the valid value `v`.
///
/// # Errors
/// [`Corrupt`] for a sparse value whose opcodes do not cover exactly the registers.
fn histogram(v: &[u8]) -> Result<[u32; 64], Corrupt> {
    let mut h = [0u32; 64];
    if v[4] == ENCODING_DENSE {
        dense::histogram(&v[HDR_SIZE..], &mut h);
    } else {
        sparse::histogram(v, &mut h)?;
    }
    Ok(h)
}

/// The histogram of registers held one per byte (a merge's result).
fn raw_histogram(max: &[u8]) -> [u32; 64] {
    let mut h = [0u32; 64];
    for &r in max {
        h[usize::from(r & REGISTER_MAX)] += 1;
    }
    h
}

/// Ertl's σ ("New cardinality estimation algorithms for HyperLogLog sketches",
/// arXiv:1702.01284), iterated until it stops changing, as Redis's `hllSigma`.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if before == z {
            return z;
        }
    }
}

/// Ertl's τ, as Redis's `hllTau`.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if before == z {
            return z / 3.0;
        }
    }
}

/// The cardinality estimate of a register histogram: Redis 7.0's `hllCount`, Ertl's
/// improved raw estimator, in the same floating-point order so the result is Redis's to the
/// unit. Buckets above `Q + 1` (only a forged dense value has them) are ignored, as there.
pub fn estimate(h: &[u32; 64]) -> u64 {
    const ALPHA_INF: f64 = 0.721_347_520_444_481_7; // 0.5 / ln 2
    let m = REGISTERS as f64;
    let q = Q as usize;
    let mut z = m * tau((m - f64::from(h[q + 1])) / m);
    for j in (1..=q).rev() {
        z += f64::from(h[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(h[0]) / m);
    llround(ALPHA_INF * m * m / z) as u64
}

/// C's `llroundl` on x86-64: half away from zero, and `i64::MIN` (the "integer indefinite"
/// value) for NaN or a result outside `i64`. Only a forged value gets there (all registers
/// above `Q + 1` make the sum 0 and the estimate infinite): Redis then caches and replies
/// -9223372036854775808, its top bit marking the cache invalid.
fn llround(x: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    let r = x.round();
    if r.is_nan() || !(-LIMIT..LIMIT).contains(&r) {
        i64::MIN
    } else {
        r as i64
    }
}

/// A key's live string as stored: its raw metadata record and decoded header, the value
/// borrowed from the record (or read out of its chunks). Commands that only read copy
/// nothing more; those that write take [`Stored::into_parts`].
struct Stored {
    raw: Vec<u8>,
    header: Header,
    /// The value of a chunked string (only a forged HyperLogLog is that long).
    chunks: Option<Vec<u8>>,
}

impl Stored {
    fn value(&self) -> &[u8] {
        self.chunks
            .as_deref()
            .unwrap_or_else(|| self.raw.get(HEADER_LEN..).unwrap_or_default())
    }

    /// The value of an inline string, to edit in place and store with
    /// [`Stored::store_in_place`]; `None` for a chunked one.
    fn inline_mut(&mut self) -> Option<&mut [u8]> {
        if self.chunks.is_some() {
            return None;
        }
        self.raw.get_mut(HEADER_LEN..)
    }

    /// Writes back a record whose inline value [`Stored::inline_mut`] edited without
    /// changing its length: the stored bytes are the new record (type, flags, expiry,
    /// version and size unchanged), so nothing is copied or re-encoded, and the key counts
    /// stay as they are. What a dense PFADD and PFCOUNT's cache write-back do to 12 KiB.
    fn store_in_place<W: StoreWrite + ?Sized>(self, w: &mut W, db: u8, key: &[u8]) {
        w.put(Cf::Meta, keys::meta_key(db, key), self.raw);
    }

    /// The record (payload left out) and the value, owned, for a command that changes it.
    fn into_parts(self) -> (Record, Vec<u8>) {
        let h = self.header;
        let value = match self.chunks {
            Some(v) => v,
            None => self.raw.get(HEADER_LEN..).unwrap_or_default().to_vec(),
        };
        let record = Record {
            kind: h.kind,
            flags: h.flags,
            expire_at_ms: h.expire_at_ms,
            version: h.version,
            size: h.size,
            payload: Vec::new(),
        };
        (record, value)
    }
}

/// What a lookup of a key found.
enum Found {
    Missing,
    /// A record past its expiry: absent to every command.
    Expired,
    Live(Stored),
}

/// A key's string as stored (see [`Stored`]); `Err(WrongType)` for another type. Only
/// reads: an expired record is reported, not reclaimed.
fn find<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8]) -> Result<Found, StorageError> {
    let mk = keys::meta_key(at.db, key);
    let Some(raw) = s.get(Cf::Meta, &mk)? else {
        return Ok(Found::Missing);
    };
    let header = Header::decode(&raw).map_err(|e| {
        StorageError::from(EngineError::Corrupt {
            key: mk,
            reason: e.to_string(),
        })
    })?;
    if header.is_expired(at.now_ms) {
        return Ok(Found::Expired);
    }
    if header.kind != KeyType::String {
        return Err(StorageError::WrongType);
    }
    let chunks = if header.flags & FLAG_CHUNKED != 0 {
        let r = Record::decode(&raw).map_err(|e| StorageError::Internal(e.to_string()))?;
        Some(value::read(s, at.db, key, &r, 0, value::len(&r))?)
    } else {
        None
    };
    Ok(Found::Live(Stored {
        raw,
        header,
        chunks,
    }))
}

/// A key's live string (see [`Stored`]); `Err(WrongType)` for another type. An expired
/// record is reclaimed, as every write's lookup does.
fn load<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
) -> Result<Option<Stored>, StorageError> {
    match find(w, at, key)? {
        Found::Missing => Ok(None),
        Found::Expired => {
            // lookup_write deletes it in the group and counts it.
            lookup_write(w, at, key)?;
            Ok(None)
        }
        Found::Live(stored) => Ok(Some(stored)),
    }
}

/// [`load`] for a lookup Redis makes with `lookupKeyRead`: counts a keyspace hit or miss.
fn load_read<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
) -> Result<Option<Stored>, StorageError> {
    let loaded = load(w, at, key)?;
    w.services().stats().note_lookup(loaded.is_some());
    Ok(loaded)
}

/// Writes `v` as the value of `key`: in the same record (version, expiry and flags kept)
/// when the old value was inline, as a new string with the old expiry otherwise; a new key
/// without one.
fn store<W: StoreWrite + ?Sized>(w: &mut W, db: u8, key: &[u8], old: Option<Record>, v: Vec<u8>) {
    match old {
        Some(r) if !r.is_chunked() && v.len() <= INLINE_MAX => {
            let new = Record {
                size: v.len() as u64,
                payload: v,
                ..r.clone()
            };
            store_record(w, db, key, Some(&r), &new);
        }
        Some(r) => value::store_new(w, db, key, Some(&r), &v, r.expire_at_ms),
        None => value::store_new(w, db, key, None, &v, 0),
    }
}

fn not_hll() -> Reply {
    Reply::Error(NOT_HLL.to_owned())
}

fn corrupt() -> Reply {
    Reply::Error(CORRUPT_HLL.to_owned())
}

/// True when adding the elements of `patterns` to the dense registers would raise one.
fn dense_rises(registers: &[u8], patterns: &[(usize, u8)]) -> bool {
    patterns
        .iter()
        .any(|&(index, count)| count > dense::get(registers, index))
}

/// `PFADD`: 1 if the key was created or a register rose, else 0. A new key is an empty
/// sparse HyperLogLog (created even without elements); the value is written only when it
/// changed, with its cached cardinality marked invalid. A sparse value found corrupt
/// mid-way keeps what the elements before did, as in Redis, and gets `INVALIDOBJ`.
pub fn pfadd<'e, W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    elements: impl Iterator<Item = &'e [u8]>,
) -> CmdResult {
    let patterns: Vec<(usize, u8)> = elements.map(murmur::pattern).collect();
    let (old, mut v, mut updated) = match load(w, at, key)? {
        None => (None, new_value(), true),
        Some(mut stored) => {
            match encoding(stored.value()) {
                None => return Ok(not_hll()),
                Some(Encoding::Dense) => {
                    // Registers rise in place, in the record as read: its length, and so
                    // its header, stay (and on a large set usually none rises at all).
                    if let Some(v) = stored.inline_mut() {
                        let mut updated = false;
                        for &(index, count) in &patterns {
                            updated |= dense::raise(&mut v[HDR_SIZE..], index, count);
                        }
                        if updated {
                            invalidate(v);
                            stored.store_in_place(w, at.db, key);
                        }
                        return Ok(Reply::Integer(i64::from(updated)));
                    }
                    if !dense_rises(&stored.value()[HDR_SIZE..], &patterns) {
                        return Ok(Reply::Integer(0));
                    }
                }
                Some(Encoding::Sparse) => {}
            }
            let (r, v) = stored.into_parts();
            (Some(r), v, false)
        }
    };
    let mut changed = updated;
    for &(index, count) in &patterns {
        match set_register(&mut v, index, count) {
            Ok(true) => {
                updated = true;
                changed = true;
            }
            Ok(false) => {}
            Err(Corrupt) => {
                if changed {
                    store(w, at.db, key, old, v);
                }
                return Ok(corrupt());
            }
        }
    }
    if updated {
        invalidate(&mut v);
        store(w, at.db, key, old, v);
    }
    Ok(Reply::Integer(i64::from(updated)))
}

/// `PFCOUNT` on the writer. One key: the cached cardinality, or a fresh estimate written
/// back into the cache (0 for a missing key). Several keys: the estimate of their union,
/// computed in a temporary, none of them modified (missing keys count as empty).
pub fn pfcount<W: StoreWrite + ?Sized>(w: &mut W, at: At, keys: &[&[u8]]) -> CmdResult {
    if let [key] = keys {
        let Some(stored) = load_read(w, at, key)? else {
            return Ok(Reply::Integer(0));
        };
        if encoding(stored.value()).is_none() {
            return Ok(not_hll());
        }
        if let Some(card) = cached(stored.value()) {
            // Below 2^63: the top bit is clear.
            return Ok(Reply::Integer(card as i64));
        }
        let Ok(h) = histogram(stored.value()) else {
            return Ok(corrupt());
        };
        let card = estimate(&h);
        let mut stored = stored;
        if let Some(v) = stored.inline_mut() {
            set_cached(v, card);
            stored.store_in_place(w, at.db, key);
        } else {
            let (r, mut v) = stored.into_parts();
            set_cached(&mut v, card);
            store(w, at.db, key, Some(r), v);
        }
        return Ok(Reply::Integer(card as i64));
    }
    count_union(keys, |key| load_read(w, at, key))
}

/// `PFCOUNT` off the writer, on committed state: the reply, or `Ok(None)` when the one key
/// it names holds a HyperLogLog whose cached cardinality is stale, which only the writer
/// may compute and write back ([`pfcount`]), as Redis writes it back. Several keys are
/// never written, so they are always answered here. A keyspace hit or miss is counted
/// only with a reply, so a request handed to the writer counts once.
///
/// # Errors
/// `WrongType` for a key of another type; engine failures.
pub fn pfcount_read<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    keys: &[&[u8]],
) -> Result<Option<Reply>, StorageError> {
    let stats = s.services().stats();
    if let [key] = keys {
        let Found::Live(stored) = find(s, at, key)? else {
            stats.note_lookup(false);
            return Ok(Some(Reply::Integer(0)));
        };
        let reply = if encoding(stored.value()).is_none() {
            not_hll()
        } else {
            match cached(stored.value()) {
                // Below 2^63: the top bit is clear.
                Some(card) => Reply::Integer(card as i64),
                None => return Ok(None),
            }
        };
        stats.note_lookup(true);
        return Ok(Some(reply));
    }
    count_union(keys, |key| {
        let found = match find(s, at, key)? {
            Found::Live(stored) => Some(stored),
            Found::Missing | Found::Expired => None,
        };
        stats.note_lookup(found.is_some());
        Ok(found)
    })
    .map(Some)
}

/// `PFCOUNT` of several keys: the estimate of their union, merged in a temporary;
/// `lookup` finds each key (missing ones count as empty).
fn count_union(
    keys: &[&[u8]],
    mut lookup: impl FnMut(&[u8]) -> Result<Option<Stored>, StorageError>,
) -> CmdResult {
    let mut max = vec![0u8; REGISTERS];
    for key in keys {
        let Some(stored) = lookup(key)? else {
            continue;
        };
        let v = stored.value();
        if encoding(v).is_none() {
            return Ok(not_hll());
        }
        if merge_into(v, &mut max).is_err() {
            return Ok(corrupt());
        }
    }
    Ok(Reply::Integer(estimate(&raw_histogram(&max)) as i64))
}

/// `PFMERGE`: `dest` becomes the union of itself and the sources (created empty when
/// missing, even with no source). It turns dense when any input is dense; its cached
/// cardinality is marked invalid whatever changed.
pub fn pfmerge<'k, W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    dest: &'k [u8],
    sources: impl Iterator<Item = &'k [u8]>,
) -> CmdResult {
    let mut max = vec![0u8; REGISTERS];
    let mut use_dense = false;
    // Redis merges the destination's own registers first (it is the first key).
    for key in std::iter::once(dest).chain(sources) {
        let Some(stored) = load_read(w, at, key)? else {
            continue;
        };
        let v = stored.value();
        match encoding(v) {
            None => return Ok(not_hll()),
            Some(Encoding::Dense) => use_dense = true,
            Some(Encoding::Sparse) => {}
        }
        if merge_into(v, &mut max).is_err() {
            return Ok(corrupt());
        }
    }
    let (old, mut v) = match load(w, at, dest)? {
        Some(stored) => {
            let (r, v) = stored.into_parts();
            (Some(r), v)
        }
        None => (None, new_value()),
    };
    if use_dense && make_dense(&mut v).is_err() {
        return Ok(corrupt());
    }
    for (index, &count) in max.iter().enumerate() {
        if count != 0 {
            // Redis ignores a failure here: the destination decoded in the merge above.
            let _ = set_register(&mut v, index, count);
        }
    }
    invalidate(&mut v);
    store(w, at.db, dest, old, v);
    Ok(Reply::ok())
}

/// `PFDEBUG GETREG|DECODE|ENCODING|TODENSE key`. GETREG and TODENSE turn a sparse value
/// dense and store it, as Redis does.
pub fn pfdebug<W: StoreWrite + ?Sized>(w: &mut W, at: At, op: &PfDebugOp, key: &[u8]) -> CmdResult {
    let Some(stored) = load(w, at, key)? else {
        return Ok(Reply::Error(
            "ERR The specified key does not exist".to_owned(),
        ));
    };
    let Some(enc) = encoding(stored.value()) else {
        return Ok(not_hll());
    };
    Ok(match op {
        PfDebugOp::GetReg | PfDebugOp::ToDense if enc == Encoding::Dense => {
            if *op == PfDebugOp::GetReg {
                registers_reply(&stored.value()[HDR_SIZE..])
            } else {
                Reply::Integer(0)
            }
        }
        PfDebugOp::GetReg | PfDebugOp::ToDense => {
            let (r, mut v) = stored.into_parts();
            if make_dense(&mut v).is_err() {
                return Ok(corrupt());
            }
            let reply = if *op == PfDebugOp::GetReg {
                registers_reply(&v[HDR_SIZE..])
            } else {
                Reply::Integer(1)
            };
            store(w, at.db, key, Some(r), v);
            reply
        }
        PfDebugOp::Decode => match enc {
            Encoding::Dense => Reply::Error("ERR HLL encoding is not sparse".to_owned()),
            Encoding::Sparse => Reply::Bulk(sparse::decode(stored.value()).into_bytes()),
        },
        PfDebugOp::Encoding => Reply::Simple(
            match enc {
                Encoding::Dense => "dense",
                Encoding::Sparse => "sparse",
            }
            .to_owned(),
        ),
        PfDebugOp::Unknown(name) => {
            // Redis's error formatting turns CR and LF into spaces.
            let name: Vec<u8> = name
                .iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
                .collect();
            Reply::Error(format!(
                "ERR Unknown PFDEBUG subcommand '{}'",
                String::from_utf8_lossy(&name)
            ))
        }
    })
}

fn registers_reply(registers: &[u8]) -> Reply {
    Reply::Array(
        (0..REGISTERS)
            .map(|i| Reply::Integer(i64::from(dense::get(registers, i))))
            .collect(),
    )
}

/// `PFSELFTEST`: Redis's self-test of this implementation. Sets every register of a dense
/// value to random values and reads them back (1000 rounds), then adds 10,000,000 distinct
/// elements to a dense and a sparse value at once and checks, at each power of ten, that
/// small sets stay sparse, that both encodings give the same estimate and that its error
/// stays within six standard errors. `seed` picks the random values and elements.
pub fn pfselftest(seed: u64) -> CmdResult {
    let mut rng = seed | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut regs = vec![0u8; DENSE_BYTES];
    let mut model = vec![0u8; REGISTERS];
    for _ in 0..1000 {
        for (i, m) in model.iter_mut().enumerate() {
            let r = (next() & u64::from(REGISTER_MAX)) as u8;
            *m = r;
            dense::put(&mut regs, i, r);
        }
        for (i, &m) in model.iter().enumerate() {
            let got = dense::get(&regs, i);
            if got != m {
                return Ok(Reply::Error(format!(
                    "TESTFAILED Register {i} should be {m} but is {got}"
                )));
            }
        }
    }
    let mut dense_value = new_value();
    dense_value[4] = ENCODING_DENSE;
    dense_value.truncate(HDR_SIZE);
    dense_value.resize(DENSE_SIZE, 0);
    let mut sparse_value = new_value();
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let mut checkpoint: u64 = 1;
    let elements_seed = next();
    for j in 1..=10_000_000u64 {
        let element = (j ^ elements_seed).to_le_bytes();
        let both = add(&mut dense_value, &element).and(add(&mut sparse_value, &element));
        if both.is_err() {
            return Ok(Reply::Error("TESTFAILED corrupt HLL".to_owned()));
        }
        if j != checkpoint {
            continue;
        }
        if j < (SPARSE_MAX_BYTES / 2) as u64 && encoding(&sparse_value) != Some(Encoding::Sparse) {
            return Ok(Reply::Error(
                "TESTFAILED sparse encoding not used".to_owned(),
            ));
        }
        let (Ok(hd), Ok(hs)) = (histogram(&dense_value), histogram(&sparse_value)) else {
            return Ok(Reply::Error("TESTFAILED corrupt HLL".to_owned()));
        };
        let card = estimate(&hd);
        if card != estimate(&hs) {
            return Ok(Reply::Error("TESTFAILED dense/sparse disagree".to_owned()));
        }
        let abserr = checkpoint.abs_diff(card);
        // Cardinality 10 may collide now and then (Redis allows an error of 1 there).
        let maxerr = if j == 10 {
            1
        } else {
            (relerr * 6.0 * checkpoint as f64).ceil() as u64
        };
        if abserr > maxerr {
            return Ok(Reply::Error(format!(
                "TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"
            )));
        }
        checkpoint *= 10;
    }
    Ok(Reply::ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::testing::TestDb;

    fn int(r: CmdResult) -> i64 {
        match r {
            Ok(Reply::Integer(n)) => n,
            other => panic!("expected an integer reply, got {other:?}"),
        }
    }

    fn get(db: &TestDb, key: &[u8]) -> Vec<u8> {
        db.read(|s, at| super::super::string::get(s, at, key))
            .map(|r| match r {
                Reply::Bulk(b) => b,
                other => panic!("GET gave {other:?}"),
            })
            .expect("get")
    }

    #[test]
    fn values_are_recognised_as_redis_does() {
        assert_eq!(encoding(&new_value()), Some(Encoding::Sparse));
        let mut d = new_value();
        make_dense(&mut d).expect("valid");
        assert_eq!(d.len(), DENSE_SIZE);
        assert_eq!(encoding(&d), Some(Encoding::Dense));
        assert_eq!(encoding(&d[..DENSE_SIZE - 1]), None);
        assert_eq!(encoding(b"HYLL\x01"), None);
        let mut bad = new_value();
        bad[0] = b'h';
        assert_eq!(encoding(&bad), None);
        bad = new_value();
        bad[4] = 2;
        assert_eq!(encoding(&bad), None);
        // A sparse value of any length past the header is one (its opcodes are checked
        // when read).
        assert_eq!(encoding(&new_value()[..HDR_SIZE]), Some(Encoding::Sparse));
    }

    #[test]
    fn the_estimator_is_zero_when_empty_and_close_otherwise() {
        let mut h = [0u32; 64];
        h[0] = REGISTERS as u32;
        assert_eq!(estimate(&h), 0);
        // Registers a hash cannot give (a forged value): llroundl's out-of-range answer.
        let mut forged = [0u32; 64];
        forged[63] = REGISTERS as u32;
        assert_eq!(estimate(&forged), 1 << 63);
        assert_eq!(llround(2.5), 3);
        assert_eq!(llround(-2.5), -3);
        assert_eq!(llround(f64::NAN), i64::MIN);
        let mut v = new_value();
        for i in 0..100_000u32 {
            add(&mut v, &i.to_le_bytes()).expect("valid");
        }
        assert_eq!(encoding(&v), Some(Encoding::Dense));
        let card = estimate(&histogram(&v).expect("valid"));
        assert!(card.abs_diff(100_000) < 100_000 * 3 / 100, "{card}");
    }

    #[test]
    fn sparse_and_dense_agree_at_every_size() {
        let mut s = new_value();
        let mut d = new_value();
        make_dense(&mut d).expect("valid");
        for i in 0..20_000u32 {
            let e = format!("element:{i}");
            let a = add(&mut s, e.as_bytes()).expect("valid");
            let b = add(&mut d, e.as_bytes()).expect("valid");
            assert_eq!(a, b, "{e}");
            if i % 997 == 0 {
                assert_eq!(histogram(&s), histogram(&d), "after {i}");
            }
        }
        assert_eq!(encoding(&s), Some(Encoding::Dense));
        assert_eq!(s[HDR_SIZE..], d[HDR_SIZE..]);
    }

    #[test]
    fn pfadd_creates_and_pfcount_caches() {
        let mut db = TestDb::open();
        let none: [&[u8]; 0] = [];
        assert_eq!(
            int(db.write(|w, at| pfadd(w, at, b"h", none.into_iter()))),
            1
        );
        // Creating counts as an update: the new value's cache is marked invalid.
        let mut created = new_value();
        invalidate(&mut created);
        assert_eq!(get(&db, b"h"), created);
        assert_eq!(
            int(db.write(|w, at| pfadd(w, at, b"h", none.into_iter()))),
            0
        );
        let els: [&[u8]; 3] = [b"a", b"b", b"c"];
        assert_eq!(
            int(db.write(|w, at| pfadd(w, at, b"h", els.into_iter()))),
            1
        );
        assert_eq!(
            int(db.write(|w, at| pfadd(w, at, b"h", els.into_iter()))),
            0
        );
        assert_eq!(get(&db, b"h")[15] & 0x80, 0x80);
        assert_eq!(int(db.write(|w, at| pfcount(w, at, &[b"h"]))), 3);
        // The estimate went into the cache, valid.
        let v = get(&db, b"h");
        assert_eq!(cached(&v), Some(3));
        assert_eq!(
            int(db.write(|w, at| pfcount(w, at, &[b"h", b"missing"]))),
            3
        );
        assert_eq!(get(&db, b"h"), v);
    }

    #[test]
    fn the_read_path_answers_a_valid_cache_and_leaves_a_stale_one_to_the_writer() {
        let mut db = TestDb::open();
        let read = |db: &TestDb, keys: &[&[u8]]| db.read(|s, at| pfcount_read(s, at, keys));
        assert_eq!(read(&db, &[b"h"]), Ok(Some(Reply::Integer(0))));
        let els: [&[u8]; 3] = [b"a", b"b", b"c"];
        db.write(|w, at| pfadd(w, at, b"h", els.into_iter()))
            .expect("pfadd");
        let stale = get(&db, b"h");
        // Stale: only the writer may compute it and write it back; nothing changed.
        assert_eq!(read(&db, &[b"h"]), Ok(None));
        assert_eq!(get(&db, b"h"), stale);
        // A union never writes, stale or not.
        assert_eq!(read(&db, &[b"h", b"missing"]), Ok(Some(Reply::Integer(3))));
        assert_eq!(int(db.write(|w, at| pfcount(w, at, &[b"h"]))), 3);
        assert_eq!(read(&db, &[b"h"]), Ok(Some(Reply::Integer(3))));
        db.write(|w, at| super::super::string::setnx(w, at, b"s", b"not an hll"))
            .expect("set");
        assert_eq!(read(&db, &[b"s"]), Ok(Some(not_hll())));
        assert_eq!(read(&db, &[b"h", b"s"]), Ok(Some(not_hll())));
    }

    #[test]
    fn wrong_values_get_redis_errors() {
        let mut db = TestDb::open();
        db.write(|w, at| super::super::string::setnx(w, at, b"s", b"not an hll"))
            .expect("set");
        let els: [&[u8]; 1] = [b"a"];
        let e = |r: CmdResult| match r {
            Ok(Reply::Error(e)) => e,
            other => panic!("expected an error reply, got {other:?}"),
        };
        assert_eq!(
            e(db.write(|w, at| pfadd(w, at, b"s", els.into_iter()))),
            NOT_HLL
        );
        assert_eq!(e(db.write(|w, at| pfcount(w, at, &[b"s"]))), NOT_HLL);
        let mut broken = new_value();
        broken.truncate(HDR_SIZE + 1);
        broken[15] |= 0x80;
        db.write(|w, at| super::super::string::setnx(w, at, b"b", &broken))
            .expect("set");
        assert_eq!(e(db.write(|w, at| pfcount(w, at, &[b"b"]))), CORRUPT_HLL);
        assert_eq!(
            e(db.write(|w, at| pfcount(w, at, &[b"b", b"s"]))),
            CORRUPT_HLL
        );
    }

    #[test]
    fn the_self_test_passes() {
        assert_eq!(pfselftest(0x5eed), Ok(Reply::ok()));
    }
}
