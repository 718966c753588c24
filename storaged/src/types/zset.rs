//! Sorted sets (`ZADD`, `ZRANGE`, `ZPOPMIN`, `ZUNIONSTORE` …) with Redis 7 semantics, over
//! the engine seam only.
//!
//! Layout (see `docs/ENCODING.md`): a metadata record of type `zset` whose `size` is the
//! member count (so `ZCARD` is one point read), and two sub-key namespaces under the key's
//! version, told apart by a tag byte right after the version:
//! - `MEMBER_TAG | member` → the score as 8 IEEE-754 bytes, big-endian (point lookups by
//!   member, lex ranges);
//! - `SCORE_TAG | encode_score(score) | member` → empty (score and rank order, which is
//!   Redis's order: by score, then member bytes).
//!
//! The metadata payload of a zset is its *head hint*: empty, or an index suffix
//! (`encode_score | member`) below which the score index holds no live entry. `ZPOPMIN`
//! raises it, adding a lower entry lowers it; walks from the bottom start there.
//!
//! Every write builds its changes in the caller's write group, creates a zset under a fresh
//! version and deletes the key when its last member goes. This module does not parse
//! arguments (the proxy did) and never sees RocksDB types. Ranks are found by walking the
//! score index (O(rank)): RocksDB keeps no order statistics, the trade-off kvrocks makes too.
//! Reverse walks go down from the top with one `last_key` seek per entry, so `ZREVRANGE 0 9`
//! and `ZPOPMAX` cost O(k log n) on any size.

use std::collections::BTreeMap;

use tandem_shared::command::{
    LexBound, ScoreBound, ZAddCompare, ZAddCondition, ZAddOptions, ZAggregate, ZEnd, ZLimit,
    ZRangeBy, ZSetOp,
};
use tandem_shared::glob::glob_match;
use tandem_shared::{Reply, StorageError};

use super::{lookup_read, lookup_write, remove_record, store_record, At, CmdResult};
use crate::engine::keys;
use crate::engine::metadata::{KeyType, Record};
use crate::engine::{Cf, StoreRead, StoreWrite};
use crate::types::MemberScanOptions;

/// Tag of the member → score namespace. Persisted: never change.
pub const MEMBER_TAG: u8 = 0x01;
/// Tag of the score-index namespace. Persisted: never change.
pub const SCORE_TAG: u8 = 0x02;

/// Zsets up to this size are scanned whole by one `ZSCAN` call, as Redis does for its
/// listpack encoding (`zset-max-listpack-entries` 128), so small scans match it exactly.
const ZSCAN_WHOLE_MAX: u64 = 128;

/// Order-preserving 8-byte form of a score: byte order equals numeric order for every
/// non-NaN value, `-inf` lowest, `+inf` highest; `-0` is stored as `0`.
pub fn encode_score(score: f64) -> [u8; 8] {
    let score = if score == 0.0 { 0.0 } else { score };
    let bits = score.to_bits();
    let flipped = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    flipped.to_be_bytes()
}

/// Inverse of [`encode_score`].
pub fn decode_score(raw: [u8; 8]) -> f64 {
    let bits = u64::from_be_bytes(raw);
    let original = if bits >> 63 == 1 {
        bits & !(1 << 63)
    } else {
        !bits
    };
    f64::from_bits(original)
}

/// A score as Redis 7.0 prints it in bulk strings (`ZSCAN`): C's `%.17g`, `inf`/`-inf`.
pub fn format_score(d: f64) -> String {
    if d.is_nan() {
        return "nan".to_owned();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let sci = format!("{d:.16e}");
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return sci;
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    let strip = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s
        }
    };
    if (-4..17).contains(&exp) {
        let decimals = usize::try_from(16 - exp).unwrap_or(0);
        strip(format!("{d:.decimals$}"))
    } else {
        let m = strip(mantissa.to_owned());
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.abs())
    }
}

fn score_value(score: f64) -> Vec<u8> {
    let score = if score == 0.0 { 0.0 } else { score };
    score.to_bits().to_be_bytes().to_vec()
}

fn read_score_value(raw: &[u8]) -> Result<f64, StorageError> {
    let b: [u8; 8] = raw
        .try_into()
        .map_err(|_| StorageError::Internal("zset score value is not 8 bytes".to_owned()))?;
    Ok(f64::from_bits(u64::from_be_bytes(b)))
}

/// One live zset: where its sub-keys are and its (possibly changing) record.
struct ZSet<'k> {
    db: u8,
    key: &'k [u8],
    rec: Record,
}

/// Upper bound of one key version's sub-keys; the db byte is below 16, so it exists.
fn end_of(prefix: &[u8]) -> Vec<u8> {
    keys::prefix_end(prefix).unwrap_or_else(|| vec![keys::DB_COUNT])
}

impl<'k> ZSet<'k> {
    fn fresh<W: StoreWrite + ?Sized>(w: &mut W, db: u8, key: &'k [u8]) -> ZSet<'k> {
        ZSet {
            db,
            key,
            rec: Record {
                kind: KeyType::ZSet,
                flags: 0,
                expire_at_ms: 0,
                version: w.new_version(),
                size: 0,
                payload: Vec::new(),
            },
        }
    }

    fn tagged(&self, tag: u8, rest: &[&[u8]]) -> Vec<u8> {
        let mut k = keys::sub_prefix(self.db, self.key, self.rec.version);
        k.push(tag);
        for part in rest {
            k.extend_from_slice(part);
        }
        k
    }

    fn member_key(&self, member: &[u8]) -> Vec<u8> {
        self.tagged(MEMBER_TAG, &[member])
    }

    fn score_key(&self, score: f64, member: &[u8]) -> Vec<u8> {
        self.tagged(SCORE_TAG, &[&encode_score(score), member])
    }

    fn score_of<S: StoreRead + ?Sized>(
        &self,
        s: &S,
        member: &[u8],
    ) -> Result<Option<f64>, StorageError> {
        match s.get(Cf::Sub, &self.member_key(member))? {
            Some(raw) => Ok(Some(read_score_value(&raw)?)),
            None => Ok(None),
        }
    }

    /// Visits `(member, score)` in Redis order (score, then member), starting at the first
    /// entry whose score is `>= from`, until `visit` returns false.
    fn walk_scores<S: StoreRead + ?Sized>(
        &self,
        s: &S,
        from: Option<f64>,
        visit: &mut dyn FnMut(&[u8], f64) -> bool,
    ) -> Result<(), StorageError> {
        let base = self.tagged(SCORE_TAG, &[]);
        let end = end_of(&base);
        // Never start below the head hint: only deleted entries lie there.
        let floor = self.tagged(SCORE_TAG, &[&self.rec.payload]);
        let start = match from {
            Some(f) => floor.max(self.tagged(SCORE_TAG, &[&encode_score(f)])),
            None => floor,
        };
        let mut bad = false;
        s.scan(Cf::Sub, &start, &end, &mut |k, _| {
            let Some(rest) = k.get(base.len()..) else {
                bad = true;
                return false;
            };
            let Some((score, member)) = rest.split_first_chunk::<8>() else {
                bad = true;
                return false;
            };
            visit(member, decode_score(*score))
        })?;
        if bad {
            return Err(StorageError::Internal(
                "zset score-index sub-key too short".to_owned(),
            ));
        }
        Ok(())
    }

    /// Visits `(member, score)` in member byte order from `from`, until `visit` returns false.
    fn walk_members<S: StoreRead + ?Sized>(
        &self,
        s: &S,
        from: &[u8],
        visit: &mut dyn FnMut(&[u8], f64) -> bool,
    ) -> Result<(), StorageError> {
        let base = self.tagged(MEMBER_TAG, &[]);
        let end = end_of(&base);
        let start = self.member_key(from);
        let mut failure = None;
        s.scan(
            Cf::Sub,
            &start,
            &end,
            &mut |k, v| match read_score_value(v) {
                Ok(score) => visit(&k[base.len()..], score),
                Err(e) => {
                    failure = Some(e);
                    false
                }
            },
        )?;
        failure.map_or(Ok(()), Err)
    }

    /// Every `(member, score)` in Redis order.
    fn all<S: StoreRead + ?Sized>(&self, s: &S) -> Result<Vec<(Vec<u8>, f64)>, StorageError> {
        let mut out = Vec::with_capacity(usize::try_from(self.rec.size).unwrap_or(0));
        self.walk_scores(s, None, &mut |m, sc| {
            out.push((m.to_vec(), sc));
            true
        })?;
        Ok(out)
    }

    /// Sets `member`'s score (`old` is its current score, if any) and keeps the size.
    fn put<W: StoreWrite + ?Sized>(
        &mut self,
        w: &mut W,
        member: &[u8],
        score: f64,
        old: Option<f64>,
    ) {
        match old {
            Some(o) => w.delete(Cf::Sub, self.score_key(o, member)),
            None => self.rec.size += 1,
        }
        w.put(Cf::Sub, self.member_key(member), score_value(score));
        w.put(Cf::Sub, self.score_key(score, member), Vec::new());
        let suffix = index_suffix(score, member);
        if suffix < self.rec.payload {
            self.rec.payload = suffix;
        }
    }

    fn remove<W: StoreWrite + ?Sized>(&mut self, w: &mut W, member: &[u8], score: f64) {
        w.delete(Cf::Sub, self.member_key(member));
        w.delete(Cf::Sub, self.score_key(score, member));
        self.rec.size = self.rec.size.saturating_sub(1);
    }

    /// Writes the record back if it changed (`old` is the physical record before the
    /// command), or deletes the key once empty.
    fn save<W: StoreWrite + ?Sized>(&self, w: &mut W, old: Option<&Record>) {
        if self.rec.size == 0 {
            remove_record(w, self.db, self.key, old);
        } else if old != Some(&self.rec) {
            store_record(w, self.db, self.key, old, &self.rec);
        }
    }
}

/// A score-index sub-key after its tag: `encode_score(score) | member`.
fn index_suffix(score: f64, member: &[u8]) -> Vec<u8> {
    let mut k = encode_score(score).to_vec();
    k.extend_from_slice(member);
    k
}

/// A live zset for reading; `WrongType` for another type.
fn read_zset<'k, S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &'k [u8],
) -> Result<Option<ZSet<'k>>, StorageError> {
    match lookup_read(s, at, key)? {
        None => Ok(None),
        Some(rec) if rec.kind == KeyType::ZSet => Ok(Some(ZSet {
            db: at.db,
            key,
            rec,
        })),
        Some(_) => Err(StorageError::WrongType),
    }
}

/// A live zset for writing (an expired record is reclaimed first), with the physical
/// record to pass back to [`ZSet::save`].
fn write_zset<'k, W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &'k [u8],
) -> Result<Option<ZSet<'k>>, StorageError> {
    match lookup_write(w, at, key)? {
        None => Ok(None),
        Some(rec) if rec.kind == KeyType::ZSet => Ok(Some(ZSet {
            db: at.db,
            key,
            rec,
        })),
        Some(_) => Err(StorageError::WrongType),
    }
}

fn member_score_reply(pairs: Vec<(Vec<u8>, f64)>, with_scores: bool) -> Reply {
    if with_scores {
        Reply::Pairs(
            pairs
                .into_iter()
                .map(|(m, s)| (Reply::Bulk(m), Reply::Double(s)))
                .collect(),
        )
    } else {
        Reply::Array(pairs.into_iter().map(|(m, _)| Reply::Bulk(m)).collect())
    }
}

// ---- ranges ----

fn above_min(score: f64, min: ScoreBound) -> bool {
    if min.exclusive {
        score > min.value
    } else {
        score >= min.value
    }
}

fn below_max(score: f64, max: ScoreBound) -> bool {
    if max.exclusive {
        score < max.value
    } else {
        score <= max.value
    }
}

fn lex_above_min(m: &[u8], min: &LexBound) -> bool {
    match min {
        LexBound::Min => true,
        LexBound::Max => false,
        LexBound::Inclusive(x) => m >= x.as_slice(),
        LexBound::Exclusive(x) => m > x.as_slice(),
    }
}

fn lex_below_max(m: &[u8], max: &LexBound) -> bool {
    match max {
        LexBound::Max => true,
        LexBound::Min => false,
        LexBound::Inclusive(x) => m <= x.as_slice(),
        LexBound::Exclusive(x) => m < x.as_slice(),
    }
}

/// Visits, in forward order, every entry a score or lex range matches.
fn walk_range<S: StoreRead + ?Sized>(
    s: &S,
    z: &ZSet<'_>,
    by: &ZRangeBy,
    visit: &mut dyn FnMut(&[u8], f64) -> bool,
) -> Result<(), StorageError> {
    match by {
        ZRangeBy::Score { min, max } => z.walk_scores(s, Some(min.value), &mut |m, sc| {
            if !above_min(sc, *min) {
                return true;
            }
            below_max(sc, *max) && visit(m, sc)
        }),
        // Lex ranges assume equal scores, as Redis documents; member order is then the
        // zset's order, and the member namespace lets the walk seek straight to `min`.
        ZRangeBy::Lex { min, max } => {
            let from: &[u8] = match min {
                LexBound::Max => return Ok(()),
                LexBound::Min => b"",
                LexBound::Inclusive(x) | LexBound::Exclusive(x) => x,
            };
            z.walk_members(s, from, &mut |m, sc| {
                if !lex_above_min(m, min) {
                    return true;
                }
                lex_below_max(m, max) && visit(m, sc)
            })
        }
        ZRangeBy::Rank { .. } => Err(StorageError::Internal(
            "rank range given to walk_range".to_owned(),
        )),
    }
}

/// Visits live entries of `[start, end)` from the largest key down until `visit` returns
/// false: one `last_key` seek per entry, so the top of a large zset costs O(k log n), not a
/// walk from the bottom. A key the view reports that a point read no longer finds (deleted
/// earlier in the same write group, whose `last_key` is only a hint) is skipped.
fn walk_back<S: StoreRead + ?Sized>(
    s: &S,
    start: &[u8],
    mut end: Vec<u8>,
    visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> Result<(), StorageError> {
    while let Some(k) = s.last_key(Cf::Sub, start, &end)? {
        if k.as_slice() < start || k >= end {
            break;
        }
        if let Some(v) = s.get(Cf::Sub, &k)? {
            if !visit(&k, &v) {
                break;
            }
        }
        end = k;
    }
    Ok(())
}

/// The smallest key strictly greater than `key`.
fn just_after(key: &[u8]) -> Vec<u8> {
    let mut k = key.to_vec();
    k.push(0);
    k
}

/// Visits, highest first, every entry a range matches (ranks: every entry).
fn walk_range_back<S: StoreRead + ?Sized>(
    s: &S,
    z: &ZSet<'_>,
    by: &ZRangeBy,
    visit: &mut dyn FnMut(&[u8], f64) -> bool,
) -> Result<(), StorageError> {
    let mut failure = None;
    match by {
        ZRangeBy::Rank { .. } | ZRangeBy::Score { .. } => {
            let base = z.tagged(SCORE_TAG, &[]);
            let end = match by {
                ZRangeBy::Score { max, .. } if max.exclusive => {
                    z.tagged(SCORE_TAG, &[&encode_score(max.value)])
                }
                ZRangeBy::Score { max, .. } => {
                    end_of(&z.tagged(SCORE_TAG, &[&encode_score(max.value)]))
                }
                _ => end_of(&base),
            };
            walk_back(s, &base, end, &mut |k, _| {
                let Some((score, member)) = k
                    .get(base.len()..)
                    .and_then(|rest| rest.split_first_chunk::<8>())
                else {
                    failure = Some(StorageError::Internal(
                        "zset score-index sub-key too short".to_owned(),
                    ));
                    return false;
                };
                let sc = decode_score(*score);
                if let ZRangeBy::Score { min, .. } = by {
                    if !above_min(sc, *min) {
                        return false;
                    }
                }
                visit(member, sc)
            })?;
        }
        ZRangeBy::Lex { min, max } => {
            let base = z.tagged(MEMBER_TAG, &[]);
            let end = match max {
                LexBound::Min => return Ok(()),
                LexBound::Max => end_of(&base),
                LexBound::Inclusive(x) => just_after(&z.member_key(x)),
                LexBound::Exclusive(x) => z.member_key(x),
            };
            walk_back(s, &base, end, &mut |k, v| {
                let member = &k[base.len()..];
                if !lex_above_min(member, min) {
                    return false;
                }
                match read_score_value(v) {
                    Ok(sc) => visit(member, sc),
                    Err(e) => {
                        failure = Some(e);
                        false
                    }
                }
            })?;
        }
    }
    failure.map_or(Ok(()), Err)
}

/// The entries a range selects, in reply order. Forward selections walk up from the
/// start of the range, reverse ones down from its end.
fn select<S: StoreRead + ?Sized>(
    s: &S,
    z: &ZSet<'_>,
    by: &ZRangeBy,
    rev: bool,
    limit: Option<ZLimit>,
) -> Result<Vec<(Vec<u8>, f64)>, StorageError> {
    let n = i64::try_from(z.rec.size).unwrap_or(i64::MAX);
    // (entries to skip, entries to take; negative = all) in walk order.
    let (skip, take) = match by {
        ZRangeBy::Rank { start, stop } => {
            let mut a = if *start < 0 { start + n } else { *start };
            let mut b = if *stop < 0 { stop + n } else { *stop };
            a = a.max(0);
            if a > b || a >= n {
                return Ok(Vec::new());
            }
            b = b.min(n - 1);
            (a, b - a + 1)
        }
        _ => {
            let (offset, count) = limit.map_or((0, -1), |l| (l.offset, l.count));
            if offset < 0 {
                return Ok(Vec::new());
            }
            (offset, count)
        }
    };
    let mut out = Vec::new();
    let mut skipped = 0i64;
    let visit = &mut |m: &[u8], sc: f64| {
        if skipped < skip {
            skipped += 1;
            return true;
        }
        if take >= 0 && out.len() as i64 >= take {
            return false;
        }
        out.push((m.to_vec(), sc));
        true
    };
    match (by, rev) {
        (_, true) => walk_range_back(s, z, by, visit)?,
        (ZRangeBy::Rank { .. }, false) => z.walk_scores(s, None, visit)?,
        (_, false) => walk_range(s, z, by, visit)?,
    }
    Ok(out)
}

// ---- commands ----

/// `ZADD`.
pub fn zadd<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    opts: ZAddOptions,
    pairs: &[(f64, &[u8])],
) -> CmdResult {
    let skipped = || {
        if opts.incr {
            Reply::Nil
        } else {
            Reply::Integer(0)
        }
    };
    let old = write_zset(w, at, key)?;
    let old_rec = old.as_ref().map(|z| z.rec.clone());
    let mut z = match old {
        Some(z) => z,
        None if opts.condition == ZAddCondition::Xx => return Ok(skipped()),
        None => ZSet::fresh(w, at.db, key),
    };
    let (mut added, mut updated) = (0i64, 0i64);
    let mut incr_result = None;
    for &(score, member) in pairs {
        let current = z.score_of(w, member)?;
        match current {
            Some(cur) => {
                if opts.condition == ZAddCondition::Nx {
                    continue;
                }
                let new = if opts.incr {
                    let sum = cur + score;
                    if sum.is_nan() {
                        return Err(StorageError::ScoreNan);
                    }
                    sum
                } else {
                    score
                };
                let refused = match opts.compare {
                    ZAddCompare::Any => false,
                    ZAddCompare::Gt => new <= cur,
                    ZAddCompare::Lt => new >= cur,
                };
                if refused {
                    continue;
                }
                incr_result = Some(new);
                if new != cur {
                    z.put(w, member, new, Some(cur));
                    updated += 1;
                }
            }
            None => {
                if opts.condition == ZAddCondition::Xx {
                    continue;
                }
                z.put(w, member, score, None);
                incr_result = Some(score);
                added += 1;
            }
        }
    }
    z.save(w, old_rec.as_ref());
    Ok(if opts.incr {
        incr_result.map_or(Reply::Nil, |s| Reply::Double(normal(s)))
    } else if opts.changed {
        Reply::Integer(added + updated)
    } else {
        Reply::Integer(added)
    })
}

fn normal(score: f64) -> f64 {
    if score == 0.0 {
        0.0
    } else {
        score
    }
}

/// `ZINCRBY`.
pub fn zincrby<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    delta: f64,
    member: &[u8],
) -> CmdResult {
    let opts = ZAddOptions {
        condition: ZAddCondition::Always,
        compare: ZAddCompare::Any,
        changed: false,
        incr: true,
    };
    zadd(w, at, key, opts, &[(delta, member)])
}

/// `ZREM`.
pub fn zrem<W: StoreWrite + ?Sized>(w: &mut W, at: At, key: &[u8], members: &[&[u8]]) -> CmdResult {
    let Some(mut z) = write_zset(w, at, key)? else {
        return Ok(Reply::Integer(0));
    };
    let old = z.rec.clone();
    let mut removed = 0;
    for &m in members {
        if let Some(sc) = z.score_of(w, m)? {
            z.remove(w, m, sc);
            removed += 1;
        }
    }
    z.save(w, Some(&old));
    Ok(Reply::Integer(removed))
}

/// `ZCARD`.
pub fn zcard<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8]) -> CmdResult {
    let n = read_zset(s, at, key)?.map_or(0, |z| z.rec.size);
    Ok(Reply::Integer(i64::try_from(n).unwrap_or(i64::MAX)))
}

/// `ZSCORE`.
pub fn zscore<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8], member: &[u8]) -> CmdResult {
    let Some(z) = read_zset(s, at, key)? else {
        return Ok(Reply::Nil);
    };
    Ok(z.score_of(s, member)?.map_or(Reply::Nil, Reply::Double))
}

/// `ZMSCORE`.
pub fn zmscore<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8], members: &[&[u8]]) -> CmdResult {
    let z = read_zset(s, at, key)?;
    let mut out = Vec::with_capacity(members.len());
    for &m in members {
        let score = match &z {
            Some(z) => z.score_of(s, m)?,
            None => None,
        };
        out.push(score.map_or(Reply::Nil, Reply::Double));
    }
    Ok(Reply::Array(out))
}

/// `ZCOUNT` / `ZLEXCOUNT`.
pub fn zcount<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8], by: &ZRangeBy) -> CmdResult {
    let Some(z) = read_zset(s, at, key)? else {
        return Ok(Reply::Integer(0));
    };
    let mut n = 0;
    walk_range(s, &z, by, &mut |_, _| {
        n += 1;
        true
    })?;
    Ok(Reply::Integer(n))
}

/// `ZRANGE` and its older forms.
pub fn zrange<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    by: &ZRangeBy,
    rev: bool,
    limit: Option<ZLimit>,
    with_scores: bool,
) -> CmdResult {
    let Some(z) = read_zset(s, at, key)? else {
        return Ok(member_score_reply(Vec::new(), with_scores));
    };
    Ok(member_score_reply(
        select(s, &z, by, rev, limit)?,
        with_scores,
    ))
}

/// Replaces `dst` with a zset holding `entries` (or deletes it when there are none);
/// replies the count, as the `STORE` commands do.
fn store_result<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    dst: &[u8],
    entries: &[(Vec<u8>, f64)],
) -> CmdResult {
    let old = lookup_write(w, at, dst)?;
    if entries.is_empty() {
        remove_record(w, at.db, dst, old.as_ref());
        return Ok(Reply::Integer(0));
    }
    let mut z = ZSet::fresh(w, at.db, dst);
    for (m, sc) in entries {
        z.put(w, m, *sc, None);
    }
    store_record(w, at.db, dst, old.as_ref(), &z.rec);
    Ok(Reply::Integer(
        i64::try_from(entries.len()).unwrap_or(i64::MAX),
    ))
}

/// `ZRANGESTORE`.
pub fn zrangestore<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    dst: &[u8],
    src: &[u8],
    by: &ZRangeBy,
    rev: bool,
    limit: Option<ZLimit>,
) -> CmdResult {
    let entries = match write_zset(w, at, src)? {
        Some(z) => select(&*w, &z, by, rev, limit)?,
        None => Vec::new(),
    };
    store_result(w, at, dst, &entries)
}

/// `ZRANK` / `ZREVRANK`.
pub fn zrank<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    member: &[u8],
    rev: bool,
    with_score: bool,
) -> CmdResult {
    let missing = if with_score {
        Reply::NilArray
    } else {
        Reply::Nil
    };
    let Some(z) = read_zset(s, at, key)? else {
        return Ok(missing);
    };
    let Some(score) = z.score_of(s, member)? else {
        return Ok(missing);
    };
    // Count the entries on the requested side of the member: O(rank) either way.
    let target = (encode_score(score), member);
    let mut rank = 0i64;
    let count = &mut |m: &[u8], sc: f64| {
        if (encode_score(sc), m) == target {
            return false;
        }
        rank += 1;
        true
    };
    if rev {
        let all = ZRangeBy::Rank { start: 0, stop: -1 };
        walk_range_back(s, &z, &all, count)?;
    } else {
        z.walk_scores(s, None, count)?;
    }
    Ok(if with_score {
        Reply::Array(vec![Reply::Integer(rank), Reply::Double(score)])
    } else {
        Reply::Integer(rank)
    })
}

/// `ZREMRANGEBYRANK` / `ZREMRANGEBYSCORE` / `ZREMRANGEBYLEX`.
pub fn zremrange<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    by: &ZRangeBy,
) -> CmdResult {
    let Some(mut z) = write_zset(w, at, key)? else {
        return Ok(Reply::Integer(0));
    };
    let old = z.rec.clone();
    let doomed = select(&*w, &z, by, false, None)?;
    // Trimming the bottom of a rank or score range (`ZREMRANGEBYSCORE k -inf now-window`,
    // the sliding-window pattern) is a pop from the head: move the head hint past it.
    // Those ranges are contiguous in the index, so "starts at the first entry" suffices.
    let mut first = None;
    if !matches!(by, ZRangeBy::Lex { .. }) {
        z.walk_scores(&*w, None, &mut |m, sc| {
            first = Some((m.to_vec(), sc));
            false
        })?;
    }
    let trims_head = first.is_some() && first.as_ref() == doomed.first();
    for (m, sc) in &doomed {
        z.remove(w, m, *sc);
    }
    if let (true, Some((m, sc))) = (trims_head, doomed.last()) {
        z.rec.payload = index_suffix(*sc, m);
    }
    z.save(w, Some(&old));
    Ok(Reply::Integer(
        i64::try_from(doomed.len()).unwrap_or(i64::MAX),
    ))
}

/// Removes and returns up to `count` entries from one end, in pop order.
fn pop<W: StoreWrite + ?Sized>(
    w: &mut W,
    z: &mut ZSet<'_>,
    end: ZEnd,
    count: u64,
) -> Result<Vec<(Vec<u8>, f64)>, StorageError> {
    let count = i64::try_from(count.min(z.rec.size)).unwrap_or(i64::MAX);
    if count == 0 {
        return Ok(Vec::new());
    }
    let by = ZRangeBy::Rank {
        start: 0,
        stop: count - 1,
    };
    let taken = select(&*w, z, &by, end == ZEnd::Max, None)?;
    for (m, sc) in &taken {
        z.remove(w, m, *sc);
    }
    // Popping from the bottom (a zset used as a queue) leaves point tombstones at the head
    // of the index that every later walk from the bottom would step over; the hint lets
    // those walks start past them. Nothing live lies below the last entry taken.
    if let (ZEnd::Min, Some((m, sc))) = (end, taken.last()) {
        z.rec.payload = index_suffix(*sc, m);
    }
    Ok(taken)
}

/// `ZPOPMIN` / `ZPOPMAX`.
pub fn zpop<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    end: ZEnd,
    count: Option<u64>,
) -> CmdResult {
    let Some(mut z) = write_zset(w, at, key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let old = z.rec.clone();
    let taken = pop(w, &mut z, end, count.unwrap_or(1))?;
    z.save(w, Some(&old));
    Ok(match count {
        Some(_) => member_score_reply(taken, true),
        None => Reply::Array(
            taken
                .into_iter()
                .flat_map(|(m, sc)| [Reply::Bulk(m), Reply::Double(sc)])
                .collect(),
        ),
    })
}

/// `ZMPOP`.
pub fn zmpop<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    keys: &[&[u8]],
    end: ZEnd,
    count: u64,
) -> CmdResult {
    for &key in keys {
        let Some(mut z) = write_zset(w, at, key)? else {
            continue;
        };
        let old = z.rec.clone();
        let taken = pop(w, &mut z, end, count)?;
        z.save(w, Some(&old));
        let items = taken
            .into_iter()
            .map(|(m, sc)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(sc)]))
            .collect();
        return Ok(Reply::Array(vec![
            Reply::Bulk(key.to_vec()),
            Reply::Array(items),
        ]));
    }
    Ok(Reply::NilArray)
}

/// splitmix64, seeded once per command from the services' generator.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 31;
        (x % n.max(1) as u64) as usize
    }
}

/// `ZRANDMEMBER`.
pub fn zrandmember<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    count: Option<i64>,
    with_scores: bool,
) -> CmdResult {
    let z = read_zset(s, at, key)?;
    let mut rng = Rng(s.services().random_u64());
    let Some(count) = count else {
        let Some(z) = z else {
            return Ok(Reply::Nil);
        };
        let n = usize::try_from(z.rec.size).unwrap_or(usize::MAX);
        let pick = i64::try_from(rng.below(n)).unwrap_or(0);
        let by = ZRangeBy::Rank {
            start: pick,
            stop: pick,
        };
        let one = select(s, &z, &by, false, None)?;
        return Ok(one
            .into_iter()
            .next()
            .map_or(Reply::Nil, |(m, _)| Reply::Bulk(m)));
    };
    let Some(z) = z else {
        return Ok(member_score_reply(Vec::new(), with_scores));
    };
    if count == 0 {
        return Ok(member_score_reply(Vec::new(), with_scores));
    }
    let mut all = z.all(s)?;
    let chosen = if count > 0 {
        let want = usize::try_from(count).unwrap_or(usize::MAX).min(all.len());
        // Partial Fisher-Yates: the first `want` slots become a uniform sample.
        for i in 0..want {
            let j = i + rng.below(all.len() - i);
            all.swap(i, j);
        }
        all.truncate(want);
        all
    } else {
        let want = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
        (0..want)
            .map(|_| all[rng.below(all.len())].clone())
            .collect()
    };
    Ok(member_score_reply(chosen, with_scores))
}

/// `ZSCAN`: small zsets in one call (cursor 0), larger ones `count` members at a time in
/// member order, resuming from a member remembered in the services' cursor memory.
pub fn zscan<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    cursor: u64,
    opts: MemberScanOptions<'_>,
) -> CmdResult {
    let MemberScanOptions { pattern, count, .. } = opts;
    let done = |items: Vec<Reply>| Reply::Array(vec![Reply::bulk("0"), Reply::Array(items)]);
    let Some(z) = read_zset(s, at, key)? else {
        return Ok(done(Vec::new()));
    };
    opts.check()?;
    if z.rec.size <= ZSCAN_WHOLE_MAX {
        // Redis's listpack order: by score, then member.
        let mut items = Vec::new();
        for (m, sc) in z.all(s)? {
            if pattern.is_none_or(|p| glob_match(p, &m, false)) {
                items.push(Reply::Bulk(m));
                items.push(Reply::Bulk(format_score(sc).into_bytes()));
            }
        }
        return Ok(done(items));
    }
    let from = if cursor == 0 {
        Vec::new()
    } else {
        match s.services().cursor(cursor) {
            Some((db, member)) if db == at.db => member,
            _ => return Ok(done(Vec::new())),
        }
    };
    let budget = count.max(1);
    let mut seen = 0u64;
    let mut resume = None;
    let mut items = Vec::new();
    z.walk_members(s, &from, &mut |m, sc| {
        if seen == budget {
            resume = Some(m.to_vec());
            return false;
        }
        seen += 1;
        if pattern.is_none_or(|p| glob_match(p, m, false)) {
            items.push(Reply::Bulk(m.to_vec()));
            items.push(Reply::Bulk(format_score(sc).into_bytes()));
        }
        true
    })?;
    Ok(match resume {
        None => done(items),
        Some(member) => {
            let id = s.services().save_cursor(at.db, member);
            Reply::Array(vec![Reply::bulk(id.to_string()), Reply::Array(items)])
        }
    })
}

/// The members and scores of one input of `ZUNION` & co: a zset, or a plain set whose
/// members all score 1 (its sub-keys are `sub_prefix | member`, see `set.rs`).
fn input<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
) -> Result<BTreeMap<Vec<u8>, f64>, StorageError> {
    let mut out = BTreeMap::new();
    match lookup_read(s, at, key)? {
        None => {}
        Some(rec) if rec.kind == KeyType::ZSet => {
            let z = ZSet {
                db: at.db,
                key,
                rec,
            };
            z.walk_members(s, b"", &mut |m, sc| {
                out.insert(m.to_vec(), sc);
                true
            })?;
        }
        Some(rec) if rec.kind == KeyType::Set => {
            let prefix = keys::sub_prefix(at.db, key, rec.version);
            let end = end_of(&prefix);
            s.scan(Cf::Sub, &prefix, &end, &mut |k, _| {
                out.insert(k[prefix.len()..].to_vec(), 1.0);
                true
            })?;
        }
        Some(_) => return Err(StorageError::WrongType),
    }
    Ok(out)
}

/// Redis turns a NaN product or sum (`0 * inf`, `inf + -inf`) into 0.
fn not_nan(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x
    }
}

fn aggregate(acc: f64, v: f64, how: ZAggregate) -> f64 {
    match how {
        ZAggregate::Sum => not_nan(acc + v),
        ZAggregate::Min => acc.min(v),
        ZAggregate::Max => acc.max(v),
    }
}

/// The result of `ZUNION`/`ZINTER`/`ZDIFF` in Redis order (score, then member).
fn combine<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    op: ZSetOp,
    keys: &[&[u8]],
    weights: &[f64],
    how: ZAggregate,
) -> Result<Vec<(Vec<u8>, f64)>, StorageError> {
    let mut inputs = Vec::with_capacity(keys.len());
    for (i, &key) in keys.iter().enumerate() {
        let w = weights.get(i).copied().unwrap_or(1.0);
        inputs.push((input(s, at, key)?, w));
    }
    let mut result: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
    match op {
        ZSetOp::Union => {
            // Redis visits inputs from the smallest; keep its order for equal float sums.
            inputs.sort_by_key(|(m, _)| m.len());
            for (members, w) in &inputs {
                for (m, sc) in members {
                    let v = not_nan(sc * w);
                    result
                        .entry(m.clone())
                        .and_modify(|acc| *acc = aggregate(*acc, v, how))
                        .or_insert(v);
                }
            }
        }
        ZSetOp::Inter => {
            inputs.sort_by_key(|(m, _)| m.len());
            if let Some(((first, w0), rest)) = inputs.split_first() {
                'members: for (m, sc) in first {
                    let mut acc = not_nan(sc * w0);
                    for (other, w) in rest {
                        let Some(osc) = other.get(m) else {
                            continue 'members;
                        };
                        acc = aggregate(acc, not_nan(osc * w), how);
                    }
                    result.insert(m.clone(), acc);
                }
            }
        }
        ZSetOp::Diff => {
            if let Some(((first, _), rest)) = inputs.split_first() {
                for (m, sc) in first {
                    if !rest.iter().any(|(o, _)| o.contains_key(m)) {
                        result.insert(m.clone(), *sc);
                    }
                }
            }
        }
    }
    let mut out: Vec<(Vec<u8>, f64)> = result.into_iter().map(|(m, s)| (m, normal(s))).collect();
    out.sort_by(|a, b| (encode_score(a.1), &a.0).cmp(&(encode_score(b.1), &b.0)));
    Ok(out)
}

/// `ZUNION` / `ZINTER` / `ZDIFF`.
pub fn zcombine<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    op: ZSetOp,
    keys: &[&[u8]],
    weights: &[f64],
    how: ZAggregate,
    with_scores: bool,
) -> CmdResult {
    Ok(member_score_reply(
        combine(s, at, op, keys, weights, how)?,
        with_scores,
    ))
}

/// `ZUNIONSTORE` / `ZINTERSTORE` / `ZDIFFSTORE`.
pub fn zcombinestore<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    dst: &[u8],
    op: ZSetOp,
    keys: &[&[u8]],
    weights: &[f64],
    how: ZAggregate,
) -> CmdResult {
    let entries = combine(&*w, at, op, keys, weights, how)?;
    store_result(w, at, dst, &entries)
}

/// `ZINTERCARD`.
pub fn zintercard<S: StoreRead + ?Sized>(s: &S, at: At, keys: &[&[u8]], limit: u64) -> CmdResult {
    let mut inputs = Vec::with_capacity(keys.len());
    for &key in keys {
        inputs.push(input(s, at, key)?);
    }
    inputs.sort_by_key(BTreeMap::len);
    let mut n = 0u64;
    if let Some((first, rest)) = inputs.split_first() {
        for m in first.keys() {
            if rest.iter().all(|o| o.contains_key(m)) {
                n += 1;
                if limit != 0 && n >= limit {
                    break;
                }
            }
        }
    }
    Ok(Reply::Integer(i64::try_from(n).unwrap_or(i64::MAX)))
}

// ---- for geo sets (`types/geo`), which are zsets with geohash scores ----

/// A live zset opened by another family (geo): member lookups and score-range scans over
/// the score index, without exposing the layout.
pub struct ZSetRef<'k>(ZSet<'k>);

/// Opens `key` for reading: `None` if missing, `WrongType` if it holds another type.
pub fn open_read<'k, S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &'k [u8],
) -> Result<Option<ZSetRef<'k>>, StorageError> {
    Ok(read_zset(s, at, key)?.map(ZSetRef))
}

/// Opens `key` inside a write (an expired record is reclaimed first, as for ZRANGESTORE's
/// source).
pub fn open_write<'k, W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &'k [u8],
) -> Result<Option<ZSetRef<'k>>, StorageError> {
    Ok(write_zset(w, at, key)?.map(ZSetRef))
}

impl ZSetRef<'_> {
    /// `member`'s score, if it is a member.
    pub fn score<S: StoreRead + ?Sized>(
        &self,
        s: &S,
        member: &[u8],
    ) -> Result<Option<f64>, StorageError> {
        self.0.score_of(s, member)
    }

    /// Visits `(member, score)` for `min <= score < max` in zset order (score, then member)
    /// with one seek into the score index, until `visit` returns false.
    pub fn scan_scores<S: StoreRead + ?Sized>(
        &self,
        s: &S,
        min: f64,
        max: f64,
        visit: &mut dyn FnMut(&[u8], f64) -> bool,
    ) -> Result<(), StorageError> {
        self.0
            .walk_scores(s, Some(min), &mut |m, sc| sc < max && visit(m, sc))
    }
}

/// Replaces `dst` with a zset of `entries` (members distinct), or deletes it when there are
/// none, and replies the count: what every `*STORE` command does with its result.
pub fn store_entries<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    dst: &[u8],
    entries: &[(Vec<u8>, f64)],
) -> CmdResult {
    store_result(w, at, dst, entries)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use tandem_shared::ExpireCondition;

    use super::*;
    use crate::engine::now_ms;
    use crate::types::keyspace;
    use crate::types::raw_record;
    use crate::types::testing::{test_db_wrapper, TestDb, MODEL_CASES};
    use tandem_engine::{KvEngine, MemoryEngine};

    /// An engine (in memory unless a test asks for RocksDB) driven as the executor drives
    /// it: reads on committed state, each write in its own committed group.
    struct Db<E: KvEngine = MemoryEngine>(TestDb<E>);
    test_db_wrapper!(Db);

    impl Db {
        fn new() -> Db {
            Db(TestDb::open())
        }
    }

    fn open() -> Db {
        Db::new()
    }

    impl<E: KvEngine> Db<E> {
        fn zadd(&mut self, key: &str, pairs: &[(f64, &str)]) -> CmdResult {
            self.zadd_with(key, plain(), pairs)
        }

        fn zadd_with(&mut self, key: &str, opts: ZAddOptions, pairs: &[(f64, &str)]) -> CmdResult {
            let pairs: Vec<(f64, &[u8])> = pairs.iter().map(|(s, m)| (*s, m.as_bytes())).collect();
            self.write(|w, at| zadd(w, at, key.as_bytes(), opts, &pairs))
        }

        /// `ZRANGE key 0 -1 WITHSCORES` as plain values.
        fn all(&self, key: &str) -> Vec<(String, f64)> {
            let at = self.at();
            let by = ZRangeBy::Rank { start: 0, stop: -1 };
            match zrange(&self.engine, at, key.as_bytes(), &by, false, None, true).unwrap() {
                Reply::Pairs(p) => p
                    .into_iter()
                    .map(|(m, s)| match (m, s) {
                        (Reply::Bulk(m), Reply::Double(s)) => (String::from_utf8(m).unwrap(), s),
                        other => panic!("{other:?}"),
                    })
                    .collect(),
                other => panic!("{other:?}"),
            }
        }

        fn card(&self, key: &str) -> i64 {
            match zcard(&self.engine, self.at(), key.as_bytes()).unwrap() {
                Reply::Integer(n) => n,
                other => panic!("{other:?}"),
            }
        }

        /// Every sub-key row stored for `key`'s current version.
        fn sub_rows(&self, key: &str) -> usize {
            let Some(r) = raw_record(&self.engine, 0, key.as_bytes()).unwrap() else {
                return 0;
            };
            self.rows_at(key, r.version)
        }

        fn rows_at(&self, key: &str, version: u64) -> usize {
            let prefix = keys::sub_prefix(0, key.as_bytes(), version);
            let mut n = 0;
            self.engine
                .scan(Cf::Sub, &prefix, &end_of(&prefix), &mut |_, _| {
                    n += 1;
                    true
                })
                .unwrap();
            n
        }
    }

    fn plain() -> ZAddOptions {
        ZAddOptions {
            condition: ZAddCondition::Always,
            compare: ZAddCompare::Any,
            changed: false,
            incr: false,
        }
    }

    fn names(v: &[(String, f64)]) -> Vec<&str> {
        v.iter().map(|(m, _)| m.as_str()).collect()
    }

    #[test]
    fn score_encoding_layout() {
        assert_eq!(encode_score(0.0), [0x80, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encode_score(-0.0), encode_score(0.0));
        assert_eq!(encode_score(1.0), [0xbf, 0xf0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            encode_score(-1.0),
            [0x40, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(
            encode_score(f64::NEG_INFINITY),
            [0x00, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(encode_score(f64::INFINITY), [0xff, 0xf0, 0, 0, 0, 0, 0, 0]);
        let ordered = [
            f64::NEG_INFINITY,
            -1e300,
            -1.5,
            -f64::MIN_POSITIVE,
            0.0,
            1e-300,
            0.5,
            1.0,
            1e300,
            f64::INFINITY,
        ];
        for pair in ordered.windows(2) {
            assert!(encode_score(pair[0]) < encode_score(pair[1]), "{pair:?}");
        }
        for x in ordered {
            assert_eq!(decode_score(encode_score(x)), x);
        }
    }

    #[test]
    fn scores_print_as_redis_7_0() {
        for (d, want) in [
            (0.0, "0"),
            (1.5, "1.5"),
            (0.1, "0.10000000000000001"),
            (1e30, "1e+30"),
            (1e-5, "1.0000000000000001e-05"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (3.0, "3"),
            (-2.5, "-2.5"),
            (1e16, "10000000000000000"),
            (0.0001, "0.0001"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(format_score(d), want, "{d:e}");
        }
    }

    proptest! {
        #[test]
        fn score_encoding_order_is_total_order(a in any::<f64>(), b in any::<f64>()) {
            prop_assume!(!a.is_nan() && !b.is_nan());
            let norm = |x: f64| if x == 0.0 { 0.0 } else { x };
            prop_assert_eq!(encode_score(a).cmp(&encode_score(b)), norm(a).total_cmp(&norm(b)));
            prop_assert_eq!(decode_score(encode_score(a)).to_bits(), norm(a).to_bits());
        }

        #[test]
        fn format_score_round_trips(a in any::<f64>()) {
            prop_assume!(a.is_finite());
            let text = format_score(a);
            prop_assert_eq!(text.parse::<f64>().unwrap(), a);
        }
    }

    #[test]
    fn zadd_orders_by_score_then_member_and_counts_in_metadata() {
        let mut db = Db::new();
        let r = db.zadd(
            "z",
            &[
                (1.0, "b"),
                (f64::NEG_INFINITY, "lo"),
                (1.0, "a"),
                (-0.5, "n"),
                (f64::INFINITY, "hi"),
                (0.0, "zero"),
            ],
        );
        assert_eq!(r, Ok(Reply::Integer(6)));
        assert_eq!(names(&db.all("z")), ["lo", "n", "zero", "a", "b", "hi"]);
        assert_eq!(db.card("z"), 6);
        let rec = raw_record(&db.engine, 0, b"z").unwrap().unwrap();
        assert_eq!((rec.kind, rec.size), (KeyType::ZSet, 6));
        // Two rows per member: the member record and the score-index entry.
        assert_eq!(db.sub_rows("z"), 12);
        // Updating a score moves its index entry instead of adding one.
        db.zadd("z", &[(5.0, "a")]).unwrap();
        assert_eq!(db.sub_rows("z"), 12);
        assert_eq!(names(&db.all("z")), ["lo", "n", "zero", "b", "a", "hi"]);
    }

    #[test]
    fn conditions_incr_and_nan() {
        let mut db = Db::new();
        let xx = ZAddOptions {
            condition: ZAddCondition::Xx,
            ..plain()
        };
        assert_eq!(db.zadd_with("z", xx, &[(1.0, "a")]), Ok(Reply::Integer(0)));
        assert!(
            raw_record(&db.engine, 0, b"z").unwrap().is_none(),
            "XX creates nothing"
        );
        db.zadd("z", &[(1.0, "a")]).unwrap();
        let gt_ch = ZAddOptions {
            compare: ZAddCompare::Gt,
            changed: true,
            ..plain()
        };
        assert_eq!(
            db.zadd_with("z", gt_ch, &[(0.5, "a"), (2.0, "b")]),
            Ok(Reply::Integer(1))
        );
        assert_eq!(
            db.zadd_with("z", gt_ch, &[(3.0, "a")]),
            Ok(Reply::Integer(1))
        );
        let incr = ZAddOptions {
            incr: true,
            ..plain()
        };
        assert_eq!(
            db.zadd_with("z", incr, &[(f64::INFINITY, "a")]),
            Ok(Reply::Double(f64::INFINITY))
        );
        assert_eq!(
            db.zadd_with("z", incr, &[(f64::NEG_INFINITY, "a")]),
            Err(StorageError::ScoreNan)
        );
        let nx_incr = ZAddOptions {
            condition: ZAddCondition::Nx,
            incr: true,
            ..plain()
        };
        assert_eq!(db.zadd_with("z", nx_incr, &[(1.0, "a")]), Ok(Reply::Nil));
        let r = db.write(|w, at| zincrby(w, at, b"z", -0.0, b"neg0"));
        assert_eq!(r, Ok(Reply::Double(0.0)));
        db.write(|w, at| {
            crate::types::string::set(w, at, b"s", b"v", crate::types::string::SetOptions::PLAIN)
        })
        .unwrap();
        assert_eq!(db.zadd("s", &[(1.0, "a")]), Err(StorageError::WrongType));
        assert_eq!(
            zcard(&db.engine, db.at(), b"s"),
            Err(StorageError::WrongType)
        );
    }

    #[test]
    fn ranges_ranks_and_removals() {
        let mut db = Db::new();
        db.zadd(
            "z",
            &[(1.0, "a"), (2.0, "b"), (3.0, "c"), (4.0, "d"), (5.0, "e")],
        )
        .unwrap();
        let at = db.at();
        let sb = |v: f64, exclusive: bool| ScoreBound {
            value: v,
            exclusive,
        };
        let z = read_zset(&db.engine, at, b"z").unwrap().unwrap();
        let pick = |by: ZRangeBy, rev: bool, limit: Option<ZLimit>| -> Vec<String> {
            select(&db.engine, &z, &by, rev, limit)
                .unwrap()
                .into_iter()
                .map(|(m, _)| String::from_utf8(m).unwrap())
                .collect()
        };
        assert_eq!(
            pick(ZRangeBy::Rank { start: 1, stop: -2 }, false, None),
            ["b", "c", "d"]
        );
        assert_eq!(
            pick(ZRangeBy::Rank { start: 0, stop: 1 }, true, None),
            ["e", "d"]
        );
        assert_eq!(
            pick(ZRangeBy::Rank { start: 3, stop: 1 }, false, None),
            Vec::<String>::new()
        );
        let score = ZRangeBy::Score {
            min: sb(1.0, true),
            max: sb(4.0, false),
        };
        assert_eq!(pick(score.clone(), false, None), ["b", "c", "d"]);
        assert_eq!(
            pick(
                score.clone(),
                true,
                Some(ZLimit {
                    offset: 1,
                    count: 1
                })
            ),
            ["c"]
        );
        assert_eq!(
            pick(
                score.clone(),
                true,
                Some(ZLimit {
                    offset: 0,
                    count: -1
                })
            ),
            ["d", "c", "b"]
        );
        assert_eq!(
            pick(
                score,
                false,
                Some(ZLimit {
                    offset: -1,
                    count: 1
                })
            ),
            Vec::<String>::new()
        );
        let lex = ZRangeBy::Lex {
            min: LexBound::Exclusive(b"a".to_vec()),
            max: LexBound::Inclusive(b"c".to_vec()),
        };
        assert_eq!(pick(lex, false, None), ["b", "c"]);
        assert_eq!(
            pick(
                ZRangeBy::Lex {
                    min: LexBound::Max,
                    max: LexBound::Max
                },
                false,
                None
            ),
            Vec::<String>::new()
        );
        assert_eq!(
            zrank(&db.engine, at, b"z", b"c", false, false),
            Ok(Reply::Integer(2))
        );
        assert_eq!(
            zrank(&db.engine, at, b"z", b"c", true, false),
            Ok(Reply::Integer(2))
        );
        assert_eq!(
            zrank(&db.engine, at, b"z", b"a", true, false),
            Ok(Reply::Integer(4))
        );
        assert_eq!(
            zrank(&db.engine, at, b"z", b"x", false, false),
            Ok(Reply::Nil)
        );
        assert_eq!(
            zrank(&db.engine, at, b"z", b"c", false, true),
            Ok(Reply::Array(vec![Reply::Integer(2), Reply::Double(3.0)]))
        );
        assert_eq!(
            zrank(&db.engine, at, b"z", b"x", true, true),
            Ok(Reply::NilArray)
        );
        let r = db.write(|w, at| zremrange(w, at, b"z", &ZRangeBy::Rank { start: 0, stop: 1 }));
        assert_eq!(r, Ok(Reply::Integer(2)));
        let r = db.write(|w, at| zpop(w, at, b"z", ZEnd::Max, Some(2)));
        assert_eq!(
            r,
            Ok(Reply::Pairs(vec![
                (Reply::bulk("e"), Reply::Double(5.0)),
                (Reply::bulk("d"), Reply::Double(4.0))
            ]))
        );
        let version = raw_record(&db.engine, 0, b"z").unwrap().unwrap().version;
        let r = db.write(|w, at| zrem(w, at, b"z", &[b"c", b"c"]));
        assert_eq!(r, Ok(Reply::Integer(1)));
        assert!(
            raw_record(&db.engine, 0, b"z").unwrap().is_none(),
            "the last member deletes the key"
        );
        assert_eq!(
            db.rows_at("z", version),
            0,
            "removing members deletes their rows at once"
        );
    }

    #[test]
    fn reverse_walks_inside_one_write_group_skip_its_deletions() {
        let mut db = Db::new();
        db.zadd("z", &[(1.0, "a"), (2.0, "b"), (3.0, "c"), (4.0, "d")])
            .unwrap();
        let at = db.at();
        let mut g = db.writer.begin();
        // Committed top entries deleted in the group, an uncommitted one added below them.
        zrem(&mut g, at, b"z", &[b"d", b"c"]).unwrap();
        let opts = plain();
        zadd(&mut g, at, b"z", opts, &[(1.5, b"new")]).unwrap();
        assert_eq!(
            zrank(&g, at, b"z", b"a", true, false),
            Ok(Reply::Integer(2))
        );
        let popped = zpop(&mut g, at, b"z", ZEnd::Max, Some(2)).unwrap();
        assert_eq!(
            popped,
            Reply::Pairs(vec![
                (Reply::bulk("b"), Reply::Double(2.0)),
                (Reply::bulk("new"), Reply::Double(1.5))
            ])
        );
        g.commit().unwrap();
        assert_eq!(db.all("z"), [("a".to_owned(), 1.0)]);
    }

    #[test]
    fn popping_from_the_bottom_moves_the_head_hint() {
        let mut db = Db::new();
        db.zadd("q", &[(1.0, "a"), (2.0, "b"), (3.0, "c"), (4.0, "d")])
            .unwrap();
        let hint = |db: &Db| raw_record(&db.engine, 0, b"q").unwrap().unwrap().payload;
        assert!(hint(&db).is_empty());
        db.write(|w, at| zpop(w, at, b"q", ZEnd::Min, Some(1)))
            .unwrap();
        assert_eq!(hint(&db), index_suffix(1.0, b"a"));
        let head = ZRangeBy::Score {
            min: ScoreBound {
                value: f64::NEG_INFINITY,
                exclusive: false,
            },
            max: ScoreBound {
                value: 2.0,
                exclusive: false,
            },
        };
        db.write(|w, at| zremrange(w, at, b"q", &head)).unwrap();
        assert_eq!(hint(&db), index_suffix(2.0, b"b"));
        // A range that does not start at the head leaves the hint alone.
        db.zadd("q", &[(3.5, "mid")]).unwrap();
        db.write(|w, at| zremrange(w, at, b"q", &ZRangeBy::Rank { start: 1, stop: 1 }))
            .unwrap();
        assert_eq!(hint(&db), index_suffix(2.0, b"b"));
        assert_eq!(names(&db.all("q")), ["c", "d"]);
        // An entry below the hint lowers it, so it is seen by walks from the bottom.
        db.zadd("q", &[(0.5, "low")]).unwrap();
        assert_eq!(hint(&db), index_suffix(0.5, b"low"));
        db.write(|w, at| zincrby(w, at, b"q", -10.0, b"d")).unwrap();
        assert_eq!(names(&db.all("q")), ["d", "low", "c"]);
        assert_eq!(
            zrank(&db.engine, db.at(), b"q", b"c", false, false),
            Ok(Reply::Integer(2))
        );
        let r = db.write(|w, at| zpop(w, at, b"q", ZEnd::Min, None));
        assert_eq!(
            r,
            Ok(Reply::Array(vec![Reply::bulk("d"), Reply::Double(-6.0)]))
        );
        let r = zcount(
            &db.engine,
            db.at(),
            b"q",
            &ZRangeBy::Score {
                min: ScoreBound {
                    value: f64::NEG_INFINITY,
                    exclusive: false,
                },
                max: ScoreBound {
                    value: f64::INFINITY,
                    exclusive: false,
                },
            },
        );
        assert_eq!(r, Ok(Reply::Integer(2)));
    }

    #[test]
    fn reverse_lex_and_score_bounds() {
        let mut db = Db::new();
        db.zadd("z", &[(0.0, "b"), (0.0, "c"), (0.0, "ca"), (0.0, "d")])
            .unwrap();
        let z = read_zset(&db.engine, db.at(), b"z").unwrap().unwrap();
        let pick = |by: ZRangeBy, limit: Option<ZLimit>| -> Vec<String> {
            select(&db.engine, &z, &by, true, limit)
                .unwrap()
                .into_iter()
                .map(|(m, _)| String::from_utf8(m).unwrap())
                .collect()
        };
        let lex = |min: LexBound, max: LexBound| ZRangeBy::Lex { min, max };
        let inc = |x: &str| LexBound::Inclusive(x.as_bytes().to_vec());
        let exc = |x: &str| LexBound::Exclusive(x.as_bytes().to_vec());
        assert_eq!(pick(lex(LexBound::Min, inc("c")), None), ["c", "b"]);
        assert_eq!(pick(lex(exc("b"), exc("d")), None), ["ca", "c"]);
        assert_eq!(
            pick(
                lex(LexBound::Min, LexBound::Max),
                Some(ZLimit {
                    offset: 1,
                    count: 2
                })
            ),
            ["ca", "c"]
        );
        db.zadd("s", &[(1.0, "a"), (2.0, "b"), (2.0, "bb"), (3.0, "c")])
            .unwrap();
        let z = read_zset(&db.engine, db.at(), b"s").unwrap().unwrap();
        let sb = |value: f64, exclusive: bool| ScoreBound { value, exclusive };
        let by = |min, max| ZRangeBy::Score { min, max };
        let names = |by: ZRangeBy| -> Vec<String> {
            select(&db.engine, &z, &by, true, None)
                .unwrap()
                .into_iter()
                .map(|(m, _)| String::from_utf8(m).unwrap())
                .collect()
        };
        assert_eq!(names(by(sb(1.0, false), sb(2.0, false))), ["bb", "b", "a"]);
        assert_eq!(names(by(sb(1.0, true), sb(3.0, true))), ["bb", "b"]);
        assert_eq!(
            names(by(sb(f64::NEG_INFINITY, false), sb(f64::INFINITY, false))),
            ["c", "bb", "b", "a"]
        );
    }

    #[test]
    fn store_forms_replace_the_destination_with_a_fresh_version() {
        let mut db = Db::new();
        db.zadd("a", &[(1.0, "x"), (2.0, "y")]).unwrap();
        db.zadd("b", &[(10.0, "y"), (20.0, "z")]).unwrap();
        db.zadd("dst", &[(7.0, "old")]).unwrap();
        let old_version = raw_record(&db.engine, 0, b"dst").unwrap().unwrap().version;
        let r = db.write(|w, at| {
            zcombinestore(
                w,
                at,
                b"dst",
                ZSetOp::Union,
                &[b"a", b"b"],
                &[],
                ZAggregate::Sum,
            )
        });
        assert_eq!(r, Ok(Reply::Integer(3)));
        assert_eq!(
            db.all("dst"),
            [
                ("x".to_owned(), 1.0),
                ("y".to_owned(), 12.0),
                ("z".to_owned(), 20.0)
            ]
        );
        assert_ne!(
            raw_record(&db.engine, 0, b"dst").unwrap().unwrap().version,
            old_version
        );
        let r = db.write(|w, at| {
            zcombinestore(
                w,
                at,
                b"dst",
                ZSetOp::Inter,
                &[b"a", b"nope"],
                &[],
                ZAggregate::Sum,
            )
        });
        assert_eq!(r, Ok(Reply::Integer(0)));
        assert!(raw_record(&db.engine, 0, b"dst").unwrap().is_none());
        // The source may be the destination.
        let by = ZRangeBy::Rank { start: 1, stop: 1 };
        let r = db.write(|w, at| zrangestore(w, at, b"a", b"a", &by, false, None));
        assert_eq!(r, Ok(Reply::Integer(1)));
        assert_eq!(db.all("a"), [("y".to_owned(), 2.0)]);
    }

    #[test]
    fn deletes_are_metadata_only_and_compaction_reclaims_rows() {
        let mut db = Db::new();
        let pairs: Vec<(f64, String)> = (0..500).map(|i| (f64::from(i), format!("m{i}"))).collect();
        let refs: Vec<(f64, &str)> = pairs.iter().map(|(s, m)| (*s, m.as_str())).collect();
        db.zadd("big", &refs).unwrap();
        db.zadd("keep", &[(1.0, "k")]).unwrap();
        let version = raw_record(&db.engine, 0, b"big").unwrap().unwrap().version;
        assert_eq!(db.rows_at("big", version), 1000);
        let r = db.write(|w, at| keyspace::del(w, at, [&b"big"[..]].into_iter()));
        assert_eq!(r, Ok(Reply::Integer(1)));
        assert_eq!(db.card("big"), 0);
        // A new zset under the same name never sees the stale rows.
        db.zadd("big", &[(1.0, "fresh")]).unwrap();
        assert_eq!(names(&db.all("big")), ["fresh"]);
        db.engine.compact().unwrap();
        assert_eq!(db.rows_at("big", version), 0);
        assert_eq!(db.sub_rows("big"), 2);
        assert_eq!(db.sub_rows("keep"), 2);
    }

    #[test]
    fn expired_zsets_are_gone_for_reads_and_writes() {
        let mut db = Db::new();
        db.zadd("z", &[(1.0, "a"), (2.0, "b")]).unwrap();
        let past = i64::try_from(now_ms()).unwrap() + 30;
        db.write(|w, at| keyspace::expire(w, at, b"z", past, ExpireCondition::Always))
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(60));
        assert_eq!(db.card("z"), 0);
        assert_eq!(db.zadd("z", &[(5.0, "c")]), Ok(Reply::Integer(1)));
        assert_eq!(names(&db.all("z")), ["c"]);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(Vec<(i8, u8)>, u8),
        Rem(Vec<u8>),
        Incr(i8, u8),
        PopMin(u8),
        RemRank(i8, i8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (
                proptest::collection::vec((any::<i8>(), 0u8..12), 1..4),
                0u8..6
            )
                .prop_map(|(p, f)| Op::Add(p, f)),
            proptest::collection::vec(0u8..12, 1..3).prop_map(Op::Rem),
            (any::<i8>(), 0u8..12).prop_map(|(d, m)| Op::Incr(d, m)),
            (0u8..4).prop_map(Op::PopMin),
            (-6i8..6, -6i8..6).prop_map(|(a, b)| Op::RemRank(a, b)),
        ]
    }

    /// The model's Redis order.
    fn model_order(m: &BTreeMap<String, f64>) -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = m.iter().map(|(k, s)| (k.clone(), *s)).collect();
        v.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        v
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(MODEL_CASES))]

        #[test]
        fn random_ops_match_a_model_in_memory(ops in proptest::collection::vec(op(), 1..40)) {
            random_ops_match_a_model(open(), ops)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn random_ops_match_a_model_on_rocksdb(ops in proptest::collection::vec(op(), 1..40)) {
            random_ops_match_a_model(Db(TestDb::open_rocks()), ops)?;
        }
    }

    fn random_ops_match_a_model<E: KvEngine>(
        mut db: Db<E>,
        ops: Vec<Op>,
    ) -> Result<(), TestCaseError> {
        let mut model: BTreeMap<String, f64> = BTreeMap::new();
        let name = |m: u8| format!("m{m}");
        for op in ops {
            match op {
                Op::Add(pairs, flag) => {
                    let opts = match flag {
                        1 => ZAddOptions {
                            condition: ZAddCondition::Nx,
                            ..plain()
                        },
                        2 => ZAddOptions {
                            condition: ZAddCondition::Xx,
                            ..plain()
                        },
                        3 => ZAddOptions {
                            compare: ZAddCompare::Gt,
                            ..plain()
                        },
                        4 => ZAddOptions {
                            compare: ZAddCompare::Lt,
                            ..plain()
                        },
                        _ => plain(),
                    };
                    let names: Vec<String> = pairs.iter().map(|(_, m)| name(*m)).collect();
                    let args: Vec<(f64, &str)> = pairs
                        .iter()
                        .zip(&names)
                        .map(|((s, _), m)| (f64::from(*s) / 4.0, m.as_str()))
                        .collect();
                    let mut added = 0;
                    for (s, m) in &args {
                        match model.get(*m).copied() {
                            Some(cur) => {
                                let ok = match flag {
                                    1 => false,
                                    3 => *s > cur,
                                    4 => *s < cur,
                                    _ => true,
                                };
                                if ok {
                                    model.insert((*m).to_owned(), *s);
                                }
                            }
                            None if flag != 2 => {
                                model.insert((*m).to_owned(), *s);
                                added += 1;
                            }
                            None => {}
                        }
                    }
                    prop_assert_eq!(db.zadd_with("z", opts, &args), Ok(Reply::Integer(added)));
                }
                Op::Rem(ms) => {
                    let names: Vec<String> = ms.iter().map(|m| name(*m)).collect();
                    let refs: Vec<&[u8]> = names.iter().map(|n| n.as_bytes()).collect();
                    let mut removed = 0;
                    for n in &names {
                        if model.remove(n).is_some() {
                            removed += 1;
                        }
                    }
                    prop_assert_eq!(
                        db.write(|w, at| zrem(w, at, b"z", &refs)),
                        Ok(Reply::Integer(removed))
                    );
                }
                Op::Incr(d, m) => {
                    let n = name(m);
                    let v = model.get(&n).copied().unwrap_or(0.0) + f64::from(d);
                    model.insert(n.clone(), v);
                    prop_assert_eq!(
                        db.write(|w, at| zincrby(w, at, b"z", f64::from(d), n.as_bytes())),
                        Ok(Reply::Double(normal(v)))
                    );
                }
                Op::PopMin(c) => {
                    let order = model_order(&model);
                    for (m, _) in order.iter().take(usize::from(c)) {
                        model.remove(m);
                    }
                    db.write(|w, at| zpop(w, at, b"z", ZEnd::Min, Some(u64::from(c))))
                        .unwrap();
                }
                Op::RemRank(a, b) => {
                    let order = model_order(&model);
                    let n = order.len() as i64;
                    let (mut s, mut e) = (i64::from(a), i64::from(b));
                    if s < 0 {
                        s += n;
                    }
                    if e < 0 {
                        e += n;
                    }
                    s = s.max(0);
                    if s <= e && s < n {
                        for (m, _) in &order[s as usize..=(e.min(n - 1) as usize)] {
                            model.remove(m);
                        }
                    }
                    let by = ZRangeBy::Rank {
                        start: i64::from(a),
                        stop: i64::from(b),
                    };
                    db.write(|w, at| zremrange(w, at, b"z", &by)).unwrap();
                }
            }
            let want: Vec<(String, f64)> = model_order(&model)
                .into_iter()
                .map(|(m, s)| (m, normal(s)))
                .collect();
            prop_assert_eq!(db.all("z"), want.clone());
            // Walking down from the top gives the same entries in reverse.
            if let Some(z) = read_zset(&db.engine, db.at(), b"z").unwrap() {
                let by = ZRangeBy::Rank { start: 0, stop: -1 };
                let back: Vec<(String, f64)> = select(&db.engine, &z, &by, true, None)
                    .unwrap()
                    .into_iter()
                    .map(|(m, s)| (String::from_utf8(m).unwrap(), s))
                    .collect();
                let mut rev = want.clone();
                rev.reverse();
                prop_assert_eq!(back, rev);
            }
            prop_assert_eq!(db.card("z"), model.len() as i64);
            prop_assert_eq!(db.sub_rows("z"), 2 * model.len());
        }
        Ok(())
    }
}
