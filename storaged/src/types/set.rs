//! Set commands (`SADD` … `SSCAN`) with Redis 7 semantics, over the engine seam only.
//!
//! Layout (see `docs/ENCODING.md`): a metadata record of type `set` whose `size` is the
//! member count (so `SCARD` is one point read), plus one sub-key per member,
//! `sub_key(db, key, version, member)`, with an empty value. Creating a set takes a fresh
//! version; removing the last member removes the key; overwriting or deleting a set
//! touches only its metadata and leaves stale members to the compaction filter.
//!
//! Every write builds its changes in the caller's write group, so multi-key commands
//! (`SMOVE`, `S*STORE`) are atomic. This module never sees RocksDB types, sockets or RESP.

use std::collections::BTreeSet;

use tandem_shared::glob::glob_match;
use tandem_shared::{Reply, StorageError};

use super::{lookup_read, lookup_write, remove_record, store_record, At, CmdResult};
use crate::engine::keys;
use crate::engine::metadata::{KeyType, Record};
use crate::engine::{Cf, StoreRead, StoreWrite};
use crate::types::MemberScanOptions;

/// Sets at most this large are read whole to draw random members uniformly; larger ones
/// are sampled by random seeks into their member range.
const SAMPLE_LOAD_MAX: u64 = 1024;

/// Random seeks tried per wanted distinct member before falling back to reading the set.
const SEEKS_PER_PICK: u64 = 8;

/// The live set record, `None` when missing; `WrongType` for another type.
fn set_of(r: Option<Record>) -> Result<Option<Record>, StorageError> {
    match r {
        Some(r) if r.kind != KeyType::Set => Err(StorageError::WrongType),
        other => Ok(other),
    }
}

/// A new, empty set record under a fresh version.
fn new_set<W: StoreWrite + ?Sized>(w: &mut W) -> Record {
    Record {
        kind: KeyType::Set,
        flags: 0,
        expire_at_ms: 0,
        version: w.new_version(),
        size: 0,
        payload: Vec::new(),
    }
}

fn member_key(db: u8, key: &[u8], r: &Record, member: &[u8]) -> Vec<u8> {
    keys::sub_key(db, key, r.version, member)
}

/// The `[start, end)` range of one set's member sub-keys.
fn member_range(db: u8, key: &[u8], r: &Record) -> (Vec<u8>, Vec<u8>) {
    let prefix = keys::sub_prefix(db, key, r.version);
    // The db byte is below 16, so the prefix always has an upper bound.
    let end = keys::prefix_end(&prefix).unwrap_or_else(|| vec![keys::DB_COUNT]);
    (prefix, end)
}

fn is_member<S: StoreRead + ?Sized>(
    s: &S,
    db: u8,
    key: &[u8],
    r: &Record,
    member: &[u8],
) -> Result<bool, StorageError> {
    Ok(s.get(Cf::Sub, &member_key(db, key, r, member))?.is_some())
}

/// Visits the members `>= from`, in byte order, until `visit` returns false.
fn scan_members<S: StoreRead + ?Sized>(
    s: &S,
    db: u8,
    key: &[u8],
    r: &Record,
    from: &[u8],
    visit: &mut dyn FnMut(&[u8]) -> bool,
) -> Result<(), StorageError> {
    let (prefix, end) = member_range(db, key, r);
    let mut start = prefix.clone();
    start.extend_from_slice(from);
    s.scan(Cf::Sub, &start, &end, &mut |k, _| {
        visit(k.get(prefix.len()..).unwrap_or_default())
    })?;
    Ok(())
}

fn all_members<S: StoreRead + ?Sized>(
    s: &S,
    db: u8,
    key: &[u8],
    r: &Record,
) -> Result<Vec<Vec<u8>>, StorageError> {
    let mut out = Vec::with_capacity(usize::try_from(r.size).unwrap_or(0).min(1 << 16));
    scan_members(s, db, key, r, b"", &mut |m| {
        out.push(m.to_vec());
        true
    })?;
    Ok(out)
}

fn set_reply(members: impl IntoIterator<Item = Vec<u8>>) -> Reply {
    Reply::Set(members.into_iter().map(Reply::Bulk).collect())
}

/// Writes a set's record once its member count became `size` (the key disappears when
/// the last member goes). `old` is the physical record now stored (`None` for a new set),
/// `r` the record to keep (its version).
fn finish<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    old: Option<&Record>,
    r: &Record,
    size: u64,
) {
    if size == 0 {
        remove_record(w, at.db, key, old);
    } else if old.is_none_or(|o| o.size != size) {
        let new = Record { size, ..r.clone() };
        store_record(w, at.db, key, old, &new);
    }
}

/// `SADD key member...`: how many members were new.
pub fn sadd<'m, W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    members: impl Iterator<Item = &'m [u8]>,
) -> CmdResult {
    let old = set_of(lookup_write(w, at, key)?)?;
    let r = match &old {
        Some(r) => r.clone(),
        None => new_set(w),
    };
    let mut added = 0u64;
    for m in members {
        let mk = member_key(at.db, key, &r, m);
        if w.get(Cf::Sub, &mk)?.is_none() {
            w.put(Cf::Sub, mk, Vec::new());
            added += 1;
        }
    }
    let size = r.size + added;
    finish(w, at, key, old.as_ref(), &r, size);
    Ok(Reply::Integer(added as i64))
}

/// `SREM key member...`: how many members were removed.
pub fn srem<'m, W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    members: impl Iterator<Item = &'m [u8]>,
) -> CmdResult {
    let Some(r) = set_of(lookup_write(w, at, key)?)? else {
        return Ok(Reply::Integer(0));
    };
    let mut removed = 0u64;
    for m in members {
        let mk = member_key(at.db, key, &r, m);
        if w.get(Cf::Sub, &mk)?.is_some() {
            w.delete(Cf::Sub, mk);
            removed += 1;
        }
    }
    let size = r.size.saturating_sub(removed);
    finish(w, at, key, Some(&r), &r, size);
    Ok(Reply::Integer(removed as i64))
}

/// `SCARD key`, from the metadata record alone.
pub fn scard<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8]) -> CmdResult {
    let r = set_of(lookup_read(s, at, key)?)?;
    Ok(Reply::Integer(r.map_or(0, |r| r.size as i64)))
}

/// `SISMEMBER key member`.
pub fn sismember<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8], member: &[u8]) -> CmdResult {
    let Some(r) = set_of(lookup_read(s, at, key)?)? else {
        return Ok(Reply::Integer(0));
    };
    Ok(Reply::Integer(i64::from(is_member(
        s, at.db, key, &r, member,
    )?)))
}

/// `SMISMEMBER key member...`: an array of 0/1.
pub fn smismember<'m, S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    members: impl Iterator<Item = &'m [u8]>,
) -> CmdResult {
    let r = set_of(lookup_read(s, at, key)?)?;
    let mut out = Vec::new();
    for m in members {
        let hit = match &r {
            Some(r) => is_member(s, at.db, key, r, m)?,
            None => false,
        };
        out.push(Reply::Integer(i64::from(hit)));
    }
    Ok(Reply::Array(out))
}

/// `SMEMBERS key`: a set reply.
pub fn smembers<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8]) -> CmdResult {
    let members = match set_of(lookup_read(s, at, key)?)? {
        Some(r) => all_members(s, at.db, key, &r)?,
        None => Vec::new(),
    };
    Ok(set_reply(members))
}

/// Forward probes into one set's members for [`seek_random`]. Every probe is a scan
/// bounded by the end of the prefix it looks in, so it steps over only the RocksDB
/// tombstones inside that prefix, between its start and the next live member.
struct Probe<'a, S: ?Sized> {
    s: &'a S,
    /// The set's sub-key prefix (`db | key_len | key | version`).
    base: Vec<u8>,
}

impl<S: StoreRead + ?Sized> Probe<'_, S> {
    /// The first member `>= from` that starts with `within`.
    fn first(&self, from: &[u8], within: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let mut start = self.base.clone();
        start.extend_from_slice(from);
        let mut scope = self.base.clone();
        scope.extend_from_slice(within);
        // The db byte is below 16, so the prefix always has an upper bound.
        let end = keys::prefix_end(&scope).unwrap_or_else(|| vec![keys::DB_COUNT]);
        let mut out = None;
        self.s.scan(Cf::Sub, &start, &end, &mut |k, _| {
            out = k.get(self.base.len()..).map(<[u8]>::to_vec);
            false
        })?;
        Ok(out)
    }

    /// The first member starting with `within` but not with `branch` (which extends
    /// `within`) that sorts after `branch`'s members.
    fn after(&self, branch: &[u8], within: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        match keys::prefix_end(branch) {
            Some(from) if from.starts_with(within) => self.first(&from, within),
            _ => Ok(None),
        }
    }
}

/// One next byte of a trie level in [`seek_random`].
enum Slot {
    Unknown,
    Absent,
    /// A branch, with its first member.
    Present(Vec<u8>),
}

/// A random member, found by descending the members' byte trie with forward seeks only.
///
/// At each level (members starting with `within`, the first of them `first`): a binary
/// search over prefixes of `first` finds the longest prefix every member shares, so
/// levels with a single branch cost a few seeks together, not one each. At the byte
/// where members diverge, a byte is drawn uniformly between the lowest present and the
/// highest present and the branch at or after it is taken; the highest is not looked up
/// (a backward seek is dear) but found by rejection: a draw past every branch lowers the
/// ceiling to below it and draws again, which keeps the draw uniform over the bytes up to
/// the highest. The member equal to the shared prefix, if any, is one more option.
///
/// Why not list a level's distinct bytes and choose among them (fairer)? Listing seeks
/// past every branch, and each seek steps over the tombstones of members deleted there:
/// a set drained by `SPOP` (tens of thousands of tombstones until compaction) made every
/// draw wade through all of them, O(deleted members) per `SPOP`. Backward seeks
/// (`last_key`) were no better: RocksDB steps back over a memtable tombstone with a
/// skiplist search, and a write group's `last_key` can report members the group already
/// deleted. Here each seek crosses only the tombstones between its target and the next
/// live member inside the level.
///
/// The trade-off: a branch is drawn with probability proportional to the run of absent
/// bytes in front of it, so members after sparse stretches are favoured (not uniform,
/// like Redis's own sampling of large sets). Every member can be drawn: each present
/// byte is hit exactly by its own draw.
fn seek_random<S: StoreRead + ?Sized>(
    s: &S,
    db: u8,
    key: &[u8],
    r: &Record,
) -> Result<Option<Vec<u8>>, StorageError> {
    let probe = Probe {
        s,
        base: keys::sub_prefix(db, key, r.version),
    };
    let Some(mut first) = probe.first(b"", b"")? else {
        return Ok(None);
    };
    let mut within: Vec<u8> = Vec::new();
    loop {
        // Largest `shared` such that every member starts with first[..shared]; `next`
        // remembers the member found after first[..shared + 1] when that was probed.
        let (mut shared, mut top) = (within.len(), first.len());
        let mut next: Option<(usize, Vec<u8>)> = None;
        let mut guess_next_byte = true;
        while shared < top {
            // Below the top of the trie a level usually branches at once: try that first.
            let mid = if std::mem::take(&mut guess_next_byte) {
                shared + 1
            } else {
                (shared + top).div_ceil(2)
            };
            match probe.after(&first[..mid], &within)? {
                None => shared = mid,
                Some(m) => {
                    next = Some((mid, m));
                    top = mid - 1;
                }
            }
        }
        let depth = shared;
        within = first[..depth].to_vec();
        // The member equal to the shared prefix sorts before its whole subtree.
        let exact = first.len() == depth;
        let (lowest, known) = if exact {
            let mut from = within.clone();
            from.push(0);
            match probe.first(&from, &within)? {
                Some(m) => (m.clone(), m),
                None => return Ok(Some(first)),
            }
        } else {
            let after = match next {
                Some((k, m)) if k == depth + 1 => Some(m),
                _ => probe.after(&first[..=depth], &within)?,
            };
            match after {
                Some(m) => (first.clone(), m),
                // A member that vanished between probes (not possible in one view).
                None => return Ok(Some(first)),
            }
        };
        let (Some(&lo), Some(&known_byte)) = (lowest.get(depth), known.get(depth)) else {
            return Ok(Some(first));
        };
        // What this level's draws learned about each next byte. Bytes below the lowest
        // branch hold none.
        let mut slots: Vec<Slot> = (0..=u8::MAX)
            .map(|b| if b < lo { Slot::Absent } else { Slot::Unknown })
            .collect();
        slots[usize::from(lo)] = Slot::Present(lowest);
        slots[usize::from(known_byte)] = Slot::Present(known);
        let landed = loop {
            let candidates: Vec<u8> = (0..=u8::MAX)
                .filter(|&b| !matches!(slots[usize::from(b)], Slot::Absent))
                .collect();
            let i = random_index(s, candidates.len() + usize::from(exact));
            if exact && i == 0 {
                return Ok(Some(first));
            }
            let Some(&byte) = candidates.get(i - usize::from(exact)) else {
                return Ok(Some(first));
            };
            if let Slot::Present(m) = &slots[usize::from(byte)] {
                break m.clone();
            }
            let mut from = within.clone();
            from.push(byte);
            match probe.first(&from, &within)? {
                Some(m) => {
                    let Some(&hit) = m.get(depth) else {
                        return Ok(Some(m));
                    };
                    for slot in &mut slots[usize::from(byte)..usize::from(hit)] {
                        *slot = Slot::Absent;
                    }
                    if hit == byte {
                        break m;
                    }
                    // Accept only exact hits: taking the branch after a run of absent
                    // bytes would weight it by that run and drain the set in sweeps.
                    slots[usize::from(hit)] = Slot::Present(m);
                }
                None => {
                    for slot in &mut slots[usize::from(byte)..] {
                        *slot = Slot::Absent;
                    }
                }
            }
        };
        let Some(&branch) = landed.get(depth) else {
            return Ok(Some(landed));
        };
        within.push(branch);
        first = landed;
    }
}

/// A uniform index below `n` (n > 0).
fn random_index<S: StoreRead + ?Sized>(s: &S, n: usize) -> usize {
    (s.engine().random_u64() % n as u64) as usize
}

/// `k` distinct members of a set holding more than `k`, in random order.
fn sample_distinct<S: StoreRead + ?Sized>(
    s: &S,
    db: u8,
    key: &[u8],
    r: &Record,
    k: u64,
) -> Result<Vec<Vec<u8>>, StorageError> {
    let load_all = |s: &S| -> Result<Vec<Vec<u8>>, StorageError> {
        let mut all = all_members(s, db, key, r)?;
        // Partial Fisher-Yates: the first k slots become a uniform sample.
        let k = usize::try_from(k).unwrap_or(usize::MAX).min(all.len());
        for i in 0..k {
            let j = i + random_index(s, all.len() - i);
            all.swap(i, j);
        }
        all.truncate(k);
        Ok(all)
    };
    if r.size <= SAMPLE_LOAD_MAX || k.saturating_mul(4) >= r.size {
        return load_all(s);
    }
    let mut picked = BTreeSet::new();
    let mut order = Vec::new();
    for _ in 0..k.saturating_mul(SEEKS_PER_PICK) {
        if order.len() as u64 == k {
            return Ok(order);
        }
        if let Some(m) = seek_random(s, db, key, r)? {
            if picked.insert(m.clone()) {
                order.push(m);
            }
        }
    }
    if order.len() as u64 == k {
        Ok(order)
    } else {
        // Members clustered so that seeks keep landing on the same few: sample exactly.
        load_all(s)
    }
}

/// `SRANDMEMBER key [count]`: a bulk (or nil) without count; with one, an array of
/// distinct members (count > 0) or of `-count` members with repeats (count < 0).
pub fn srandmember<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    count: Option<i64>,
) -> CmdResult {
    let r = set_of(lookup_read(s, at, key)?)?;
    let Some(count) = count else {
        return Ok(match r {
            Some(r) => seek_random(s, at.db, key, &r)?.map_or(Reply::Nil, Reply::Bulk),
            None => Reply::Nil,
        });
    };
    let Some(r) = r else {
        return Ok(Reply::Array(Vec::new()));
    };
    let bulks = |v: Vec<Vec<u8>>| Reply::Array(v.into_iter().map(Reply::Bulk).collect());
    if count >= 0 {
        let k = count.unsigned_abs();
        if k >= r.size {
            return Ok(bulks(all_members(s, at.db, key, &r)?));
        }
        return Ok(bulks(sample_distinct(s, at.db, key, &r, k)?));
    }
    let n = count.unsigned_abs();
    let mut out = Vec::new();
    if r.size <= SAMPLE_LOAD_MAX {
        let all = all_members(s, at.db, key, &r)?;
        if all.is_empty() {
            return Ok(Reply::Array(Vec::new()));
        }
        for _ in 0..n {
            out.push(all[random_index(s, all.len())].clone());
        }
    } else {
        for _ in 0..n {
            if let Some(m) = seek_random(s, at.db, key, &r)? {
                out.push(m);
            }
        }
    }
    Ok(bulks(out))
}

/// `SPOP key [count]`: a bulk (or nil) without count; with one, a set reply of up to
/// `count` distinct members, removed.
pub fn spop<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    count: Option<u64>,
) -> CmdResult {
    let r = set_of(lookup_write(w, at, key)?)?;
    let Some(r) = r else {
        return Ok(match count {
            None => Reply::Nil,
            Some(_) => Reply::Set(Vec::new()),
        });
    };
    let picked = match count {
        None => seek_random(&*w, at.db, key, &r)?.into_iter().collect(),
        Some(0) => Vec::new(),
        Some(k) if k >= r.size => all_members(&*w, at.db, key, &r)?,
        Some(k) => sample_distinct(&*w, at.db, key, &r, k)?,
    };
    for m in &picked {
        w.delete(Cf::Sub, member_key(at.db, key, &r, m));
    }
    let size = r.size.saturating_sub(picked.len() as u64);
    finish(w, at, key, Some(&r), &r, size);
    Ok(match count {
        None => picked.into_iter().next().map_or(Reply::Nil, Reply::Bulk),
        Some(_) => set_reply(picked),
    })
}

/// `SMOVE src dst member`: 1 if moved (or already in `src` when `src == dst`), else 0.
pub fn smove<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    src: &[u8],
    dst: &[u8],
    member: &[u8],
) -> CmdResult {
    let src_rec = lookup_write(w, at, src)?;
    let dst_rec = lookup_write(w, at, dst)?;
    // Redis: a missing source answers 0 before any type check.
    let Some(src_rec) = set_of(src_rec)? else {
        return Ok(Reply::Integer(0));
    };
    let dst_rec = set_of(dst_rec)?;
    if src == dst {
        return Ok(Reply::Integer(i64::from(is_member(
            &*w, at.db, src, &src_rec, member,
        )?)));
    }
    let mk = member_key(at.db, src, &src_rec, member);
    if w.get(Cf::Sub, &mk)?.is_none() {
        return Ok(Reply::Integer(0));
    }
    w.delete(Cf::Sub, mk);
    let size = src_rec.size.saturating_sub(1);
    finish(w, at, src, Some(&src_rec), &src_rec, size);
    let r = match &dst_rec {
        Some(r) => r.clone(),
        None => new_set(w),
    };
    let dk = member_key(at.db, dst, &r, member);
    let mut size = r.size;
    if w.get(Cf::Sub, &dk)?.is_none() {
        w.put(Cf::Sub, dk, Vec::new());
        size += 1;
    }
    finish(w, at, dst, dst_rec.as_ref(), &r, size);
    Ok(Reply::Integer(1))
}

/// The three algebra operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    Inter,
    Union,
    Diff,
}

/// A source key of a multi-key command with its set record (`None` when missing).
type Source<'k> = (&'k [u8], Option<Record>);

/// The source sets of a multi-key command, type-checked all before any work, as Redis
/// does: a wrong type anywhere is `WRONGTYPE` even when an earlier key is missing.
fn sources<'k, S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    keys: &[&'k [u8]],
) -> Result<Vec<Source<'k>>, StorageError> {
    keys.iter()
        .map(|&k| Ok((k, set_of(lookup_read(s, at, k)?)?)))
        .collect()
}

/// Members of the intersection, stopping once `limit` (0 = none) are found.
fn intersect<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    sets: &[Source<'_>],
    limit: u64,
) -> Result<Vec<Vec<u8>>, StorageError> {
    let mut live: Vec<(&[u8], &Record)> = Vec::with_capacity(sets.len());
    for (k, r) in sets {
        match r {
            Some(r) => live.push((k, r)),
            None => return Ok(Vec::new()),
        }
    }
    // Walk the smallest set and probe the others: O(min size × keys) point reads.
    live.sort_by_key(|(_, r)| r.size);
    let Some(&(first_key, first)) = live.first() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut failure = None;
    scan_members(s, at.db, first_key, first, b"", &mut |m| {
        let mut everywhere = true;
        for &(k, r) in &live[1..] {
            match is_member(s, at.db, k, r, m) {
                Ok(true) => {}
                Ok(false) => {
                    everywhere = false;
                    break;
                }
                Err(e) => {
                    failure = Some(e);
                    return false;
                }
            }
        }
        if everywhere {
            out.push(m.to_vec());
        }
        limit == 0 || (out.len() as u64) < limit
    })?;
    match failure {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// The result of `op` over already type-checked sources.
fn compute<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    op: SetOp,
    sets: &[Source<'_>],
) -> Result<BTreeSet<Vec<u8>>, StorageError> {
    match op {
        SetOp::Inter => Ok(intersect(s, at, sets, 0)?.into_iter().collect()),
        SetOp::Union => {
            let mut out = BTreeSet::new();
            for (k, r) in sets {
                if let Some(r) = r {
                    scan_members(s, at.db, k, r, b"", &mut |m| {
                        out.insert(m.to_vec());
                        true
                    })?;
                }
            }
            Ok(out)
        }
        SetOp::Diff => {
            let Some((first_key, Some(first))) = sets.first() else {
                return Ok(BTreeSet::new());
            };
            let mut out: BTreeSet<Vec<u8>> = all_members(s, at.db, first_key, first)?
                .into_iter()
                .collect();
            for (k, r) in &sets[1..] {
                let Some(r) = r else { continue };
                if out.is_empty() {
                    break;
                }
                if r.size <= out.len() as u64 {
                    scan_members(s, at.db, k, r, b"", &mut |m| {
                        out.remove(m);
                        true
                    })?;
                } else {
                    let mut gone = Vec::new();
                    for m in &out {
                        if is_member(s, at.db, k, r, m)? {
                            gone.push(m.clone());
                        }
                    }
                    for m in gone {
                        out.remove(&m);
                    }
                }
            }
            Ok(out)
        }
    }
}

/// `SINTER` / `SUNION` / `SDIFF`: a set reply.
pub fn algebra<S: StoreRead + ?Sized>(s: &S, at: At, op: SetOp, keys: &[&[u8]]) -> CmdResult {
    let sets = sources(s, at, keys)?;
    Ok(set_reply(compute(s, at, op, &sets)?))
}

/// `SINTERCARD numkeys key... [LIMIT n]`; `limit` 0 means none.
pub fn sintercard<S: StoreRead + ?Sized>(s: &S, at: At, keys: &[&[u8]], limit: u64) -> CmdResult {
    let sets = sources(s, at, keys)?;
    Ok(Reply::Integer(intersect(s, at, &sets, limit)?.len() as i64))
}

/// `SINTERSTORE` / `SUNIONSTORE` / `SDIFFSTORE dst key...`: replaces `dst` (of any
/// type, TTL dropped) with the result under a fresh version, or deletes it when the result
/// is empty; replies the result's size.
pub fn store<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    op: SetOp,
    dst: &[u8],
    keys: &[&[u8]],
) -> CmdResult {
    // Expired sources are reclaimed like any key a write command meets.
    for k in keys {
        lookup_write(w, at, k)?;
    }
    let sets = sources(&*w, at, keys)?;
    let result = compute(&*w, at, op, &sets)?;
    let old = lookup_write(w, at, dst)?;
    if result.is_empty() {
        remove_record(w, at.db, dst, old.as_ref());
        return Ok(Reply::Integer(0));
    }
    let r = new_set(w);
    let size = result.len() as u64;
    for m in result {
        w.put(Cf::Sub, member_key(at.db, dst, &r, &m), Vec::new());
    }
    let r = Record { size, ..r };
    store_record(w, at.db, dst, old.as_ref(), &r);
    Ok(Reply::Integer(size as i64))
}

/// `SSCAN key cursor [MATCH p] [COUNT n]`: `[cursor, [members]]`, cursor `"0"` when done.
/// Cursors are handles into the engine's bounded cursor memory (as for `SCAN`); an
/// unknown cursor ends the scan.
pub fn sscan<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    cursor: u64,
    opts: MemberScanOptions<'_>,
) -> CmdResult {
    let done = |items: Vec<Reply>| Reply::Array(vec![Reply::bulk("0"), Reply::Array(items)]);
    let Some(r) = set_of(lookup_read(s, at, key)?)? else {
        return Ok(done(Vec::new()));
    };
    opts.check()?;
    let from = if cursor == 0 {
        Vec::new()
    } else {
        match s.engine().cursor(cursor) {
            Some((_, member)) => member,
            None => return Ok(done(Vec::new())),
        }
    };
    let budget = opts.count.max(1);
    let mut examined = 0u64;
    let mut resume = None;
    let mut out = Vec::new();
    scan_members(s, at.db, key, &r, &from, &mut |m| {
        if examined == budget {
            resume = Some(m.to_vec());
            return false;
        }
        examined += 1;
        if opts.pattern.is_none_or(|p| glob_match(p, m, false)) {
            out.push(Reply::Bulk(m.to_vec()));
        }
        true
    })?;
    Ok(match resume {
        None => done(out),
        Some(member) => {
            let id = s.engine().save_cursor(at.db, member);
            Reply::Array(vec![Reply::bulk(id.to_string()), Reply::Array(out)])
        }
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use tandem_shared::ScanOptionError;

    use proptest::prelude::*;
    use tandem_shared::ExpireCondition;

    use super::*;
    use crate::engine::now_ms;
    use crate::types::keyspace::{self, RenameMode, ScanFilter, ScanOptions};
    use crate::types::raw_record;
    use crate::types::testing::{test_db_wrapper, TestDb};

    /// A temp-dir engine driven the way the executor drives it: reads on committed state,
    /// each write in its own committed group.
    struct Db(TestDb);
    test_db_wrapper!(Db);

    impl Db {
        fn new() -> Db {
            Db(TestDb::open())
        }

        fn sadd(&mut self, key: &str, members: &[&str]) -> i64 {
            int(self
                .write(|w, at| sadd(w, at, key.as_bytes(), members.iter().map(|m| m.as_bytes()))))
        }

        fn members(&self, key: &str) -> BTreeSet<Vec<u8>> {
            match self.read(|s, at| smembers(s, at, key.as_bytes())).unwrap() {
                Reply::Set(items) => items.into_iter().map(bulk).collect(),
                other => panic!("SMEMBERS replied {other:?}"),
            }
        }

        fn scard(&self, key: &str) -> i64 {
            int(self.read(|s, at| scard(s, at, key.as_bytes())))
        }

        fn set_string(&mut self, key: &str) {
            self.write(|w, at| {
                let old = raw_record(w, at.db, key.as_bytes())?;
                let rec = Record::string(b"x".to_vec(), 0, w.new_version());
                store_record(w, at.db, key.as_bytes(), old.as_ref(), &rec);
                CmdResult::Ok(Reply::ok())
            })
            .unwrap();
        }

        fn exists(&self, key: &str) -> bool {
            int(self.read(|s, at| keyspace::exists(s, at, std::iter::once(key.as_bytes())))) == 1
        }
    }

    fn int(r: CmdResult) -> i64 {
        match r {
            Ok(Reply::Integer(n)) => n,
            other => panic!("expected an integer, got {other:?}"),
        }
    }

    fn bulk(r: Reply) -> Vec<u8> {
        match r {
            Reply::Bulk(b) => b,
            other => panic!("expected a bulk, got {other:?}"),
        }
    }

    fn items(r: CmdResult) -> Vec<Vec<u8>> {
        match r {
            Ok(Reply::Array(v)) | Ok(Reply::Set(v)) => v.into_iter().map(bulk).collect(),
            other => panic!("expected a collection, got {other:?}"),
        }
    }

    fn set_of_strs(items: &[&str]) -> BTreeSet<Vec<u8>> {
        items.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    fn bytes<'a>(keys: &'a [&'a str]) -> Vec<&'a [u8]> {
        keys.iter().map(|k| k.as_bytes()).collect()
    }

    #[test]
    fn add_remove_count_and_membership() {
        let mut db = Db::new();
        assert_eq!(db.sadd("s", &["a", "b", "a", "c"]), 3);
        assert_eq!(db.sadd("s", &["c", "d"]), 1);
        assert_eq!(db.scard("s"), 4);
        assert_eq!(db.members("s"), set_of_strs(&["a", "b", "c", "d"]));
        assert_eq!(int(db.read(|s, at| sismember(s, at, b"s", b"a"))), 1);
        assert_eq!(int(db.read(|s, at| sismember(s, at, b"s", b"z"))), 0);
        assert_eq!(int(db.read(|s, at| sismember(s, at, b"nokey", b"a"))), 0);
        let mis = db.read(|s, at| smismember(s, at, b"s", [&b"a"[..], b"z", b"d"].into_iter()));
        assert_eq!(
            mis,
            Ok(Reply::Array(vec![
                Reply::Integer(1),
                Reply::Integer(0),
                Reply::Integer(1)
            ]))
        );
        let rem = |db: &mut Db, ms: &[&str]| {
            int(db.write(|w, at| srem(w, at, b"s", ms.iter().map(|m| m.as_bytes()))))
        };
        assert_eq!(rem(&mut db, &["a", "a", "z"]), 1);
        assert_eq!(db.scard("s"), 3);
        assert_eq!(db.engine.counts().keys[0], 1);
        // Removing the last member removes the key.
        assert_eq!(rem(&mut db, &["b", "c", "d"]), 3);
        assert!(!db.exists("s"));
        assert_eq!(raw_record(&db.engine, 0, b"s").unwrap(), None);
        assert_eq!(db.engine.counts().keys[0], 0);
        assert_eq!(db.scard("s"), 0);
        assert_eq!(rem(&mut db, &["a"]), 0);
        // A recreated set starts empty under a new version.
        assert_eq!(db.sadd("s", &["x"]), 1);
        assert_eq!(db.members("s"), set_of_strs(&["x"]));
    }

    #[test]
    fn wrong_type_everywhere_redis_gives_it() {
        let mut db = Db::new();
        db.set_string("str");
        db.sadd("s", &["a"]);
        let wt = Err(StorageError::WrongType);
        assert_eq!(
            db.write(|w, at| sadd(w, at, b"str", [&b"a"[..]].into_iter())),
            wt
        );
        assert_eq!(
            db.write(|w, at| srem(w, at, b"str", [&b"a"[..]].into_iter())),
            wt
        );
        assert_eq!(db.read(|s, at| scard(s, at, b"str")), wt);
        assert_eq!(db.read(|s, at| sismember(s, at, b"str", b"a")), wt);
        assert_eq!(db.read(|s, at| smembers(s, at, b"str")), wt);
        assert_eq!(db.read(|s, at| srandmember(s, at, b"str", Some(0))), wt);
        assert_eq!(db.write(|w, at| spop(w, at, b"str", Some(0))), wt);
        assert_eq!(db.write(|w, at| smove(w, at, b"s", b"str", b"zz")), wt);
        assert_eq!(db.write(|w, at| smove(w, at, b"str", b"s", b"a")), wt);
        // A missing source answers 0 before the destination's type is looked at.
        assert_eq!(
            db.write(|w, at| smove(w, at, b"nokey", b"str", b"a")),
            Ok(Reply::Integer(0))
        );
        for op in [SetOp::Inter, SetOp::Union, SetOp::Diff] {
            assert_eq!(
                db.read(|s, at| algebra(s, at, op, &bytes(&["nokey", "str"]))),
                wt
            );
        }
        assert_eq!(
            db.read(|s, at| sintercard(s, at, &bytes(&["nokey", "str"]), 0)),
            wt
        );
        let opts = MemberScanOptions {
            pattern: None,
            count: 10,
            invalid: Some(ScanOptionError::Syntax),
        };
        assert_eq!(db.read(|s, at| sscan(s, at, b"str", 0, opts)), wt);
        assert_eq!(db.members("s"), set_of_strs(&["a"]));
    }

    #[test]
    fn random_members_small_and_large() {
        let mut db = Db::new();
        let small: Vec<String> = (0..20).map(|i| format!("m{i}")).collect();
        let big: Vec<String> = (0..3000).map(|i| format!("member:{i:05}")).collect();
        fn refs(v: &[String]) -> Vec<&str> {
            v.iter().map(String::as_str).collect()
        }
        db.sadd("small", &refs(&small));
        db.sadd("big", &refs(&big));
        for (key, all) in [("small", &small), ("big", &big)] {
            let universe: BTreeSet<Vec<u8>> = all.iter().map(|m| m.as_bytes().to_vec()).collect();
            let k = key.as_bytes();
            for _ in 0..20 {
                let one = db.read(|s, at| srandmember(s, at, k, None)).unwrap();
                assert!(universe.contains(&bulk(one)));
            }
            let distinct = items(db.read(|s, at| srandmember(s, at, k, Some(10))));
            assert_eq!(distinct.len(), 10);
            assert_eq!(distinct.iter().collect::<BTreeSet<_>>().len(), 10);
            assert!(distinct.iter().all(|m| universe.contains(m)));
            let repeats = items(db.read(|s, at| srandmember(s, at, k, Some(-50))));
            assert_eq!(repeats.len(), 50);
            assert!(repeats.iter().all(|m| universe.contains(m)));
            let whole = items(db.read(|s, at| srandmember(s, at, k, Some(i64::MAX))));
            assert_eq!(whole.into_iter().collect::<BTreeSet<_>>(), universe);
            assert!(items(db.read(|s, at| srandmember(s, at, k, Some(0)))).is_empty());
        }
        // Random picks from a large set reach more than a handful of members.
        let seen: BTreeSet<Vec<u8>> = (0..200)
            .map(|_| bulk(db.read(|s, at| srandmember(s, at, b"big", None)).unwrap()))
            .collect();
        assert!(seen.len() > 50, "only {} distinct picks", seen.len());
        // SPOP removes exactly what it returns.
        let mut left: BTreeSet<Vec<u8>> = big.iter().map(|m| m.as_bytes().to_vec()).collect();
        let popped = items(db.write(|w, at| spop(w, at, b"big", Some(40))));
        assert_eq!(popped.len(), 40);
        for m in &popped {
            assert!(left.remove(m), "popped a non-member or twice");
        }
        let one = bulk(db.write(|w, at| spop(w, at, b"big", None)).unwrap());
        assert!(left.remove(&one));
        assert_eq!(db.scard("big"), left.len() as i64);
        assert_eq!(db.members("big"), left);
        let rest = items(db.write(|w, at| spop(w, at, b"big", Some(1_000_000))));
        assert_eq!(rest.into_iter().collect::<BTreeSet<_>>(), left);
        assert!(!db.exists("big"));
        assert_eq!(db.write(|w, at| spop(w, at, b"big", None)), Ok(Reply::Nil));
        assert_eq!(
            db.write(|w, at| spop(w, at, b"big", Some(3))),
            Ok(Reply::Set(vec![]))
        );
        assert_eq!(
            db.read(|s, at| srandmember(s, at, b"big", None)),
            Ok(Reply::Nil)
        );
        assert_eq!(
            db.read(|s, at| srandmember(s, at, b"big", Some(-3))),
            Ok(Reply::Array(vec![]))
        );
        assert_eq!(
            db.write(|w, at| spop(w, at, b"small", Some(0))),
            Ok(Reply::Set(vec![]))
        );
        assert_eq!(db.scard("small"), 20);
    }

    #[test]
    fn random_picks_reach_every_member_of_odd_shapes() {
        let mut db = Db::new();
        let mut shapes: Vec<Vec<u8>> =
            vec![b"".to_vec(), b"a".to_vec(), b"ab".to_vec(), b"abc".to_vec()];
        shapes.extend((0..20).map(|i| format!("prefix:long:shared:{i}").into_bytes()));
        shapes.extend((0u8..=255).step_by(40).map(|b| vec![b, 0xff, b]));
        db.write(|w, at| sadd(w, at, b"odd", shapes.iter().map(Vec::as_slice)))
            .unwrap();
        let want: BTreeSet<Vec<u8>> = shapes.into_iter().collect();
        let mut seen = BTreeSet::new();
        for _ in 0..20_000 {
            let m = bulk(db.read(|s, at| srandmember(s, at, b"odd", None)).unwrap());
            assert!(want.contains(&m), "{m:?} is not a member");
            seen.insert(m);
            if seen.len() == want.len() {
                break;
            }
        }
        assert_eq!(seen, want);
    }

    #[test]
    fn random_picks_reach_every_member_of_a_dense_level() {
        let mut db = Db::new();
        let mut members: Vec<Vec<u8>> = (0u8..=255).map(|b| vec![b]).collect();
        members.push(Vec::new());
        members.push(b"zz".to_vec());
        db.write(|w, at| sadd(w, at, b"dense", members.iter().map(Vec::as_slice)))
            .unwrap();
        let want: BTreeSet<Vec<u8>> = members.into_iter().collect();
        let mut seen = BTreeSet::new();
        for _ in 0..40_000 {
            let m = bulk(db.read(|s, at| srandmember(s, at, b"dense", None)).unwrap());
            assert!(want.contains(&m), "{m:?} is not a member");
            seen.insert(m);
            if seen.len() == want.len() {
                break;
            }
        }
        assert_eq!(seen, want);
    }

    #[test]
    fn single_pops_in_one_write_group_drain_a_large_set_exactly() {
        // One group sees its own deletions only through the overlay (its `last_key` may
        // report members it already popped): every pop must still return a live member.
        let mut db = Db::new();
        let all: Vec<String> = (0..2000).map(|i| format!("element:{i:012}")).collect();
        db.sadd("q", &all.iter().map(String::as_str).collect::<Vec<_>>());
        let mut left: BTreeSet<Vec<u8>> = all.iter().map(|m| m.as_bytes().to_vec()).collect();
        db.write(|w, at| {
            for _ in 0..1500 {
                let m = bulk(spop(w, at, b"q", None)?);
                assert!(left.remove(&m), "popped a non-member or twice");
            }
            CmdResult::Ok(Reply::Nil)
        })
        .unwrap();
        assert_eq!(db.members("q"), left);
        while !left.is_empty() {
            let m = bulk(db.write(|w, at| spop(w, at, b"q", None)).unwrap());
            assert!(left.remove(&m), "popped a non-member or twice");
        }
        assert!(!db.exists("q"));
    }

    #[test]
    fn smove_cases() {
        let mut db = Db::new();
        db.sadd("a", &["x", "y"]);
        let mv = |db: &mut Db, src: &str, dst: &str, m: &str| {
            int(db.write(|w, at| smove(w, at, src.as_bytes(), dst.as_bytes(), m.as_bytes())))
        };
        assert_eq!(mv(&mut db, "a", "a", "x"), 1);
        assert_eq!(mv(&mut db, "a", "a", "z"), 0);
        assert_eq!(mv(&mut db, "a", "b", "z"), 0);
        assert!(!db.exists("b"));
        assert_eq!(mv(&mut db, "a", "b", "x"), 1);
        assert_eq!(db.members("a"), set_of_strs(&["y"]));
        assert_eq!(db.members("b"), set_of_strs(&["x"]));
        db.sadd("c", &["y"]);
        // Already in the destination: it leaves the source, the destination keeps one copy.
        assert_eq!(mv(&mut db, "a", "c", "y"), 1);
        assert!(!db.exists("a"));
        assert_eq!(db.scard("c"), 1);
        assert_eq!(db.engine.counts().keys[0], 2);
    }

    #[test]
    fn algebra_and_store() {
        let mut db = Db::new();
        db.sadd("a", &["1", "2", "3", "4"]);
        db.sadd("b", &["3", "4", "5"]);
        db.sadd("c", &["4", "6"]);
        let alg = |db: &Db, op, keys: &[&str]| {
            items(db.read(|s, at| algebra(s, at, op, &bytes(keys))))
                .into_iter()
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(
            alg(&db, SetOp::Inter, &["a", "b"]),
            set_of_strs(&["3", "4"])
        );
        assert_eq!(
            alg(&db, SetOp::Inter, &["a", "b", "c"]),
            set_of_strs(&["4"])
        );
        assert_eq!(alg(&db, SetOp::Inter, &["a", "nokey"]), set_of_strs(&[]));
        assert_eq!(
            alg(&db, SetOp::Union, &["b", "c", "nokey"]),
            set_of_strs(&["3", "4", "5", "6"])
        );
        assert_eq!(alg(&db, SetOp::Diff, &["a", "b"]), set_of_strs(&["1", "2"]));
        assert_eq!(
            alg(&db, SetOp::Diff, &["a", "nokey", "c"]),
            set_of_strs(&["1", "2", "3"])
        );
        assert_eq!(alg(&db, SetOp::Diff, &["a", "a"]), set_of_strs(&[]));
        assert_eq!(alg(&db, SetOp::Diff, &["nokey", "a"]), set_of_strs(&[]));
        let card = |db: &Db, keys: &[&str], limit| {
            int(db.read(|s, at| sintercard(s, at, &bytes(keys), limit)))
        };
        assert_eq!(card(&db, &["a", "b"], 0), 2);
        assert_eq!(card(&db, &["a", "b"], 1), 1);
        assert_eq!(card(&db, &["a"], 3), 3);
        assert_eq!(card(&db, &["a", "nokey"], 0), 0);

        // STORE overwrites a destination of any type, dropping its TTL.
        db.set_string("dst");
        let expire_in = |db: &mut Db, key: &'static str| {
            db.write(|w, at| {
                keyspace::expire(
                    w,
                    at,
                    key.as_bytes(),
                    at.now_ms as i64 + 100_000,
                    ExpireCondition::Always,
                )
            })
            .unwrap();
        };
        expire_in(&mut db, "dst");
        let st = |db: &mut Db, op, dst: &str, keys: &[&str]| {
            int(db.write(|w, at| store(w, at, op, dst.as_bytes(), &bytes(keys))))
        };
        assert_eq!(st(&mut db, SetOp::Union, "dst", &["a", "c"]), 5);
        assert_eq!(db.members("dst"), set_of_strs(&["1", "2", "3", "4", "6"]));
        assert_eq!(
            db.read(|s, at| keyspace::ttl(s, at, b"dst", tandem_shared::TimeUnit::Seconds)),
            Ok(Reply::Integer(-1))
        );
        // The destination may be a source.
        assert_eq!(st(&mut db, SetOp::Inter, "dst", &["dst", "b"]), 2);
        assert_eq!(db.members("dst"), set_of_strs(&["3", "4"]));
        assert_eq!(db.scard("dst"), 2);
        assert_eq!(st(&mut db, SetOp::Diff, "dst", &["dst", "a"]), 0);
        assert!(!db.exists("dst"));
        assert_eq!(st(&mut db, SetOp::Diff, "d2", &["a", "b", "c"]), 2);
        assert_eq!(db.members("d2"), set_of_strs(&["1", "2"]));
        db.set_string("str");
        assert_eq!(
            db.write(|w, at| store(w, at, SetOp::Inter, b"d2", &bytes(&["nokey", "str"]))),
            Err(StorageError::WrongType)
        );
        assert_eq!(db.members("d2"), set_of_strs(&["1", "2"]));
        assert_eq!(db.engine.counts().keys[0], 5);
    }

    #[test]
    fn sscan_iterates_everything_once() {
        let mut db = Db::new();
        let members: Vec<String> = (0..57).map(|i| format!("m{i:02}")).collect();
        db.sadd("s", &members.iter().map(String::as_str).collect::<Vec<_>>());
        let scan_all = |db: &Db, pattern: Option<&[u8]>| {
            let mut cursor = 0;
            let mut seen = Vec::new();
            let mut calls = 0;
            loop {
                let opts = MemberScanOptions {
                    pattern,
                    count: 7,
                    invalid: None,
                };
                let Ok(Reply::Array(parts)) = db.read(|s, at| sscan(s, at, b"s", cursor, opts))
                else {
                    panic!("bad SSCAN reply")
                };
                let [Reply::Bulk(c), Reply::Array(found)] = &parts[..] else {
                    panic!("bad SSCAN reply {parts:?}")
                };
                seen.extend(found.iter().cloned().map(bulk));
                cursor = String::from_utf8(c.clone()).unwrap().parse().unwrap();
                calls += 1;
                if cursor == 0 {
                    return (seen, calls);
                }
            }
        };
        let (seen, calls) = scan_all(&db, None);
        assert_eq!(seen.len(), 57);
        assert_eq!(
            seen.into_iter().collect::<BTreeSet<_>>(),
            members.iter().map(|m| m.as_bytes().to_vec()).collect()
        );
        assert!(calls >= 9);
        let (seen, _) = scan_all(&db, Some(b"m1*"));
        assert_eq!(seen.len(), 10);
        let empty = Reply::Array(vec![Reply::bulk("0"), Reply::Array(vec![])]);
        let opts = |invalid| MemberScanOptions {
            pattern: None,
            count: 10,
            invalid,
        };
        // Unknown cursors end the scan; option errors wait for an existing set.
        assert_eq!(
            db.read(|s, at| sscan(s, at, b"s", 987_654, opts(None))),
            Ok(empty.clone())
        );
        assert_eq!(
            db.read(|s, at| sscan(s, at, b"nokey", 0, opts(Some(ScanOptionError::Syntax)))),
            Ok(empty)
        );
        assert_eq!(
            db.read(|s, at| sscan(s, at, b"s", 0, opts(Some(ScanOptionError::NotInteger)))),
            Err(StorageError::NotInteger)
        );
        assert_eq!(
            db.read(|s, at| sscan(s, at, b"s", 0, opts(Some(ScanOptionError::Syntax)))),
            Err(StorageError::Syntax)
        );
    }

    #[test]
    fn expired_set_is_gone_and_recreated_fresh() {
        let mut db = Db::new();
        db.sadd("s", &["a", "b"]);
        let soon = now_ms() + 30;
        db.write(|w, at| keyspace::expire(w, at, b"s", soon as i64, ExpireCondition::Always))
            .unwrap();
        while now_ms() <= soon {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(db.scard("s"), 0);
        assert!(db.members("s").is_empty());
        assert_eq!(db.sadd("s", &["c"]), 1);
        assert_eq!(db.members("s"), set_of_strs(&["c"]));
        assert_eq!(db.engine.counts().expires[0], 0);
    }

    #[test]
    fn key_commands_work_on_sets() {
        let mut db = Db::new();
        db.sadd("s", &["a", "b", "c"]);
        assert_eq!(
            db.read(|s, at| keyspace::key_type(s, at, b"s")),
            Ok(Reply::Simple("set".into()))
        );
        db.set_string("str");
        let scan_opts = ScanOptions {
            pattern: None,
            count: 100,
            kind: ScanFilter::Only(KeyType::Set),
        };
        assert_eq!(
            db.read(|s, at| keyspace::scan(s, at, 0, scan_opts)),
            Ok(Reply::Array(vec![
                Reply::bulk("0"),
                Reply::Array(vec![Reply::bulk("s")])
            ]))
        );
        db.write(|w, at| keyspace::rename(w, at, b"s", b"t", RenameMode::Overwrite))
            .unwrap();
        assert!(!db.exists("s"));
        assert_eq!(db.members("t"), set_of_strs(&["a", "b", "c"]));
        assert_eq!(db.scard("t"), 3);
        db.write(|w, at| keyspace::copy(w, at, b"t", b"u", 0, false))
            .unwrap();
        // The copy is independent of its source.
        db.sadd("u", &["d"]);
        assert_eq!(db.scard("t"), 3);
        assert_eq!(db.members("u"), set_of_strs(&["a", "b", "c", "d"]));
        assert_eq!(int(db.write(|w, at| keyspace::move_key(w, at, b"u", 3))), 1);
        let at3 = At {
            db: 3,
            now_ms: now_ms(),
        };
        assert_eq!(int(scard(&db.engine, at3, b"u")), 4);
        assert_eq!(
            int(db.write(|w, at| keyspace::del(w, at, [&b"t"[..], b"str"].into_iter()))),
            2
        );
        assert_eq!(db.scard("t"), 0);
    }

    #[test]
    fn deleted_and_overwritten_members_are_reclaimed_by_compaction() {
        let mut db = Db::new();
        let members: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
        db.sadd("s", &members.iter().map(String::as_str).collect::<Vec<_>>());
        db.sadd("keep", &["k"]);
        let count_subs = |db: &Db| {
            let mut n = 0;
            db.engine
                .scan(Cf::Sub, &[0], &[keys::DB_COUNT], &mut |_, _| {
                    n += 1;
                    true
                })
                .unwrap();
            n
        };
        assert_eq!(count_subs(&db), 201);
        int(db.write(|w, at| keyspace::del(w, at, std::iter::once(&b"s"[..]))));
        db.engine.compact().unwrap();
        assert_eq!(count_subs(&db), 1);
        assert_eq!(db.members("keep"), set_of_strs(&["k"]));
    }

    /// One step of the model-checked sequences.
    #[derive(Debug, Clone)]
    enum Op {
        Add(usize, Vec<u8>),
        Rem(usize, Vec<u8>),
        Pop(usize, Option<u64>),
        Del(usize),
        InterStore(usize, Vec<usize>),
        Move(usize, usize, u8),
    }

    const KEYS: [&[u8]; 3] = [b"k0", b"k1", b"k2"];

    fn op() -> impl Strategy<Value = Op> {
        let k = 0..KEYS.len();
        let ms = proptest::collection::vec(0u8..12, 1..5);
        prop_oneof![
            4 => (k.clone(), ms.clone()).prop_map(|(k, m)| Op::Add(k, m)),
            2 => (k.clone(), ms).prop_map(|(k, m)| Op::Rem(k, m)),
            2 => (k.clone(), proptest::option::of(0u64..6)).prop_map(|(k, c)| Op::Pop(k, c)),
            1 => k.clone().prop_map(Op::Del),
            1 => (k.clone(), proptest::collection::vec(k.clone(), 1..3)).prop_map(|(d, s)| Op::InterStore(d, s)),
            1 => (k.clone(), k, 0u8..12).prop_map(|(a, b, m)| Op::Move(a, b, m)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn random_ops_match_a_model(ops in proptest::collection::vec(op(), 1..40)) {
            let mut db = Db::new();
            let mut model: BTreeMap<usize, BTreeSet<u8>> = BTreeMap::new();
            for op in ops {
                match op.clone() {
                    Op::Add(k, ms) => {
                        let m = model.entry(k).or_default();
                        let want = ms.iter().collect::<BTreeSet<_>>().iter().filter(|x| !m.contains(x)).count();
                        m.extend(ms.iter().copied());
                        let got = int(db.write(|w, at| sadd(w, at, KEYS[k], ms.iter().map(std::slice::from_ref))));
                        prop_assert_eq!(got, want as i64);
                    }
                    Op::Rem(k, ms) => {
                        let m = model.entry(k).or_default();
                        let want = ms.iter().collect::<BTreeSet<_>>().iter().filter(|x| m.remove(x)).count();
                        let got = int(db.write(|w, at| srem(w, at, KEYS[k], ms.iter().map(std::slice::from_ref))));
                        prop_assert_eq!(got, want as i64);
                    }
                    Op::Pop(k, count) => {
                        let m = model.entry(k).or_default();
                        let popped: Vec<Vec<u8>> = match db.write(|w, at| spop(w, at, KEYS[k], count)).unwrap() {
                            Reply::Nil => vec![],
                            Reply::Bulk(b) => vec![b],
                            Reply::Set(v) => v.into_iter().map(bulk).collect(),
                            other => panic!("SPOP replied {other:?}"),
                        };
                        let want = count.map_or(usize::from(!m.is_empty()), |c| (c as usize).min(m.len()));
                        prop_assert_eq!(popped.len(), want);
                        for p in popped {
                            prop_assert_eq!(p.len(), 1);
                            prop_assert!(m.remove(&p[0]), "popped a non-member");
                        }
                    }
                    Op::Del(k) => {
                        model.remove(&k);
                        db.write(|w, at| keyspace::del(w, at, std::iter::once(KEYS[k]))).unwrap();
                    }
                    Op::InterStore(d, srcs) => {
                        let mut acc: Option<BTreeSet<u8>> = None;
                        for s in &srcs {
                            let set = model.get(s).cloned().unwrap_or_default();
                            acc = Some(match acc {
                                None => set,
                                Some(a) => a.intersection(&set).copied().collect(),
                            });
                        }
                        let result = acc.unwrap_or_default();
                        let keys: Vec<&[u8]> = srcs.iter().map(|&s| KEYS[s]).collect();
                        let got = int(db.write(|w, at| store(w, at, SetOp::Inter, KEYS[d], &keys)));
                        prop_assert_eq!(got, result.len() as i64);
                        model.insert(d, result);
                    }
                    Op::Move(a, b, mem) => {
                        let in_a = model.get(&a).is_some_and(|s| s.contains(&mem));
                        let got = int(db.write(|w, at| smove(w, at, KEYS[a], KEYS[b], &[mem])));
                        prop_assert_eq!(got, i64::from(in_a));
                        if in_a && a != b {
                            model.entry(a).or_default().remove(&mem);
                            model.entry(b).or_default().insert(mem);
                        }
                    }
                }
                model.retain(|_, s| !s.is_empty());
                for (i, key) in KEYS.iter().enumerate() {
                    let want: BTreeSet<Vec<u8>> = model.get(&i).map(|s| s.iter().map(|&m| vec![m]).collect()).unwrap_or_default();
                    let name = std::str::from_utf8(key).unwrap();
                    prop_assert_eq!(db.members(name), want.clone(), "after {:?}", op);
                    prop_assert_eq!(db.scard(name), want.len() as i64);
                }
                prop_assert_eq!(db.engine.counts().keys[0], model.len() as u64);
            }
        }
    }
}
