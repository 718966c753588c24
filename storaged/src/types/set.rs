//! Set commands (`SADD` … `SSCAN`) with Redis 7 semantics, over the engine seam only.
//!
//! Layout (see `docs/ENCODING.md`): a metadata record of type `set` whose `size` is the
//! member count (so `SCARD` is one point read), plus one sub-key per member,
//! `sub_key(db, key, version, member)`, whose value is the member's slot, and the slot
//! index in the key's index space, `index_key(db, key, version, slot)` -> member, slots
//! dense in `0..size`. A uniform random member is then one random slot and one point
//! read, whatever the set's size and however many members were popped before (no scan
//! ever walks the tombstones they left). Removing a member moves the last slot's member
//! into the hole. Creating a set takes a fresh version; removing the last member removes
//! the key; overwriting or deleting a set touches only its metadata and leaves stale
//! records to the compaction filter.
//!
//! Sets written before the index existed have empty member values and no
//! [`FLAG_SLOT_INDEX`]: reads serve them by scanning (uniform, O(members)), and their next
//! write builds the index once.
//!
//! Every write builds its changes in the caller's write group, so multi-key commands
//! (`SMOVE`, `S*STORE`) are atomic. This module never sees RocksDB types, sockets or RESP.

use std::collections::BTreeSet;

use tandem_shared::glob::glob_match;
use tandem_shared::{Reply, StorageError};

use super::{lookup_read, lookup_write, remove_record, store_record, At, CmdResult};
use crate::engine::keys;
use crate::engine::metadata::{KeyType, Record, FLAG_SLOT_INDEX};
use crate::engine::{Cf, StoreRead, StoreWrite};
use crate::types::MemberScanOptions;

/// `SRANDMEMBER` with a negative count reads the whole set once, instead of one slot
/// per pick, when it wants more than `size / REPEAT_PICKS_PER_SCAN` picks: a scan step
/// costs a fraction of a point read.
const REPEAT_PICKS_PER_SCAN: u64 = 8;

/// The live set record, `None` when missing; `WrongType` for another type.
fn set_of(r: Option<Record>) -> Result<Option<Record>, StorageError> {
    match r {
        Some(r) if r.kind != KeyType::Set => Err(StorageError::WrongType),
        other => Ok(other),
    }
}

/// A new, empty set record under a fresh version, with its (empty) slot index.
fn new_set<W: StoreWrite + ?Sized>(w: &mut W) -> Record {
    Record {
        kind: KeyType::Set,
        flags: FLAG_SLOT_INDEX,
        expire_at_ms: 0,
        version: w.new_version(),
        size: 0,
        payload: Vec::new(),
    }
}

fn member_key(db: u8, key: &[u8], r: &Record, member: &[u8]) -> Vec<u8> {
    keys::sub_key(db, key, r.version, member)
}

/// The index record of `slot`: its value is the member there.
fn slot_key(db: u8, key: &[u8], r: &Record, slot: u64) -> Vec<u8> {
    keys::index_key(db, key, r.version, &slot.to_be_bytes())
}

fn is_indexed(r: &Record) -> bool {
    r.flags & FLAG_SLOT_INDEX != 0
}

/// A member record's value in an indexed set: its slot.
fn decode_slot(v: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(v).ok().map(u64::from_be_bytes)
}

/// The error for an index that disagrees with the members (a bug, or writes by a build
/// that predates the index after this one indexed the set).
fn broken_index(key: &[u8]) -> StorageError {
    StorageError::Internal(format!(
        "the slot index of set {:?} is inconsistent",
        String::from_utf8_lossy(key)
    ))
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

/// One set as a write command changes it: `rec` is its record as it will be stored
/// (current `size`, the index flag), `old` the physical record stored before the command
/// (`None` for a new set). Every change keeps the slot index dense.
struct SetWrite<'k> {
    db: u8,
    key: &'k [u8],
    rec: Record,
    old: Option<Record>,
}

impl<'k> SetWrite<'k> {
    /// The live set under `key` for writing, indexed (an unindexed set written by an
    /// older build is indexed now, O(members) once); `None` when missing.
    fn open<W: StoreWrite + ?Sized>(
        w: &mut W,
        at: At,
        key: &'k [u8],
        rec: Option<Record>,
    ) -> Result<Option<SetWrite<'k>>, StorageError> {
        let Some(rec) = rec else {
            return Ok(None);
        };
        let mut set = SetWrite {
            db: at.db,
            key,
            rec: rec.clone(),
            old: Some(rec),
        };
        if !is_indexed(&set.rec) {
            set.build_index(w)?;
        }
        Ok(Some(set))
    }

    /// The set under `key`, or a new empty one.
    fn open_or_create<W: StoreWrite + ?Sized>(
        w: &mut W,
        at: At,
        key: &'k [u8],
        rec: Option<Record>,
    ) -> Result<SetWrite<'k>, StorageError> {
        match Self::open(w, at, key, rec)? {
            Some(set) => Ok(set),
            None => Ok(SetWrite {
                db: at.db,
                key,
                rec: new_set(w),
                old: None,
            }),
        }
    }

    /// Gives every member a slot in member order (the members' count becomes the size).
    fn build_index<W: StoreWrite + ?Sized>(&mut self, w: &mut W) -> Result<(), StorageError> {
        let members = all_members(&*w, self.db, self.key, &self.rec)?;
        self.rec.flags |= FLAG_SLOT_INDEX;
        self.rec.size = 0;
        for (slot, m) in (0u64..).zip(members) {
            w.put(
                Cf::Sub,
                member_key(self.db, self.key, &self.rec, &m),
                slot.to_be_bytes().to_vec(),
            );
            w.put(Cf::Sub, slot_key(self.db, self.key, &self.rec, slot), m);
            self.rec.size = slot + 1;
        }
        Ok(())
    }

    /// The slot of `member`, `None` when it is not in the set.
    fn slot_of<W: StoreWrite + ?Sized>(
        &self,
        w: &W,
        member: &[u8],
    ) -> Result<Option<u64>, StorageError> {
        match w.get(Cf::Sub, &member_key(self.db, self.key, &self.rec, member))? {
            None => Ok(None),
            Some(v) => decode_slot(&v)
                .filter(|&slot| slot < self.rec.size)
                .map(Some)
                .ok_or_else(|| broken_index(self.key)),
        }
    }

    /// Adds `member` unless present; true when added.
    fn add<W: StoreWrite + ?Sized>(
        &mut self,
        w: &mut W,
        member: &[u8],
    ) -> Result<bool, StorageError> {
        if self.slot_of(&*w, member)?.is_some() {
            return Ok(false);
        }
        let slot = self.rec.size;
        w.put(
            Cf::Sub,
            member_key(self.db, self.key, &self.rec, member),
            slot.to_be_bytes().to_vec(),
        );
        w.put(
            Cf::Sub,
            slot_key(self.db, self.key, &self.rec, slot),
            member.to_vec(),
        );
        self.rec.size += 1;
        Ok(true)
    }

    /// Removes `member` unless absent; true when removed.
    fn remove<W: StoreWrite + ?Sized>(
        &mut self,
        w: &mut W,
        member: &[u8],
    ) -> Result<bool, StorageError> {
        match self.slot_of(&*w, member)? {
            Some(slot) => {
                self.remove_at(w, member, slot)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Removes `member`, which sits at `slot`: the last slot's member moves into the hole.
    fn remove_at<W: StoreWrite + ?Sized>(
        &mut self,
        w: &mut W,
        member: &[u8],
        slot: u64,
    ) -> Result<(), StorageError> {
        let (db, key) = (self.db, self.key);
        let last = self
            .rec
            .size
            .checked_sub(1)
            .ok_or_else(|| broken_index(key))?;
        w.delete(Cf::Sub, member_key(db, key, &self.rec, member));
        if slot != last {
            let moved = w
                .get(Cf::Sub, &slot_key(db, key, &self.rec, last))?
                .ok_or_else(|| broken_index(key))?;
            w.put(
                Cf::Sub,
                member_key(db, key, &self.rec, &moved),
                slot.to_be_bytes().to_vec(),
            );
            w.put(Cf::Sub, slot_key(db, key, &self.rec, slot), moved);
        }
        w.delete(Cf::Sub, slot_key(db, key, &self.rec, last));
        self.rec.size = last;
        Ok(())
    }

    /// Removes and returns a uniformly chosen member of a non-empty set: one random slot,
    /// two point reads, whatever was popped before.
    fn pop_random<W: StoreWrite + ?Sized>(&mut self, w: &mut W) -> Result<Vec<u8>, StorageError> {
        let slot = w.services().random_below(self.rec.size);
        let member = w
            .get(Cf::Sub, &slot_key(self.db, self.key, &self.rec, slot))?
            .ok_or_else(|| broken_index(self.key))?;
        self.remove_at(w, &member, slot)?;
        Ok(member)
    }

    /// Stores the record (or removes the key when the last member went).
    fn finish<W: StoreWrite + ?Sized>(self, w: &mut W) {
        let old = self.old.as_ref();
        if self.rec.size == 0 {
            remove_record(w, self.db, self.key, old);
        } else if old != Some(&self.rec) {
            store_record(w, self.db, self.key, old, &self.rec);
        }
    }
}

/// `SADD key member...`: how many members were new.
pub fn sadd<'m, W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    members: impl Iterator<Item = &'m [u8]>,
) -> CmdResult {
    let rec = set_of(lookup_write(w, at, key)?)?;
    let mut set = SetWrite::open_or_create(w, at, key, rec)?;
    let mut added = 0i64;
    for m in members {
        added += i64::from(set.add(w, m)?);
    }
    set.finish(w);
    Ok(Reply::Integer(added))
}

/// `SREM key member...`: how many members were removed.
pub fn srem<'m, W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    members: impl Iterator<Item = &'m [u8]>,
) -> CmdResult {
    let rec = set_of(lookup_write(w, at, key)?)?;
    let Some(mut set) = SetWrite::open(w, at, key, rec)? else {
        return Ok(Reply::Integer(0));
    };
    let mut removed = 0i64;
    for m in members {
        removed += i64::from(set.remove(w, m)?);
    }
    set.finish(w);
    Ok(Reply::Integer(removed))
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

/// A uniform index below `n` (n > 0).
fn random_index<S: StoreRead + ?Sized>(s: &S, n: usize) -> usize {
    usize::try_from(s.services().random_below(n as u64)).unwrap_or(0)
}

/// The member at `slot` of an indexed set, `None` if the index has no such slot.
fn member_at<S: StoreRead + ?Sized>(
    s: &S,
    db: u8,
    key: &[u8],
    r: &Record,
    slot: u64,
) -> Result<Option<Vec<u8>>, StorageError> {
    Ok(s.get(Cf::Sub, &slot_key(db, key, r, slot))?)
}

/// The members at `slots` of an indexed set, in that order; `None` when the index lacks
/// one of them (the caller then reads the set instead).
fn members_at<S: StoreRead + ?Sized>(
    s: &S,
    db: u8,
    key: &[u8],
    r: &Record,
    slots: impl Iterator<Item = u64>,
) -> Result<Option<Vec<Vec<u8>>>, StorageError> {
    let mut out = Vec::new();
    for slot in slots {
        match member_at(s, db, key, r, slot)? {
            Some(m) => out.push(m),
            None => return Ok(None),
        }
    }
    Ok(Some(out))
}

/// `k < n` distinct positions in `0..n`, in random order (Floyd's sampling, then a
/// Fisher-Yates shuffle): every k-subset equally likely.
fn distinct_positions<S: StoreRead + ?Sized>(s: &S, n: u64, k: u64) -> Vec<u64> {
    let mut chosen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for j in n - k..n {
        let t = s.services().random_below(j + 1);
        let pick = if chosen.contains(&t) { j } else { t };
        chosen.insert(pick);
        out.push(pick);
    }
    for i in (1..out.len()).rev() {
        out.swap(i, random_index(s, i + 1));
    }
    out
}

/// `k` distinct members of a set read whole, in random order (partial Fisher-Yates).
fn sample_of_all(s: &(impl StoreRead + ?Sized), mut all: Vec<Vec<u8>>, k: u64) -> Vec<Vec<u8>> {
    let k = usize::try_from(k).unwrap_or(usize::MAX).min(all.len());
    for i in 0..k {
        let j = i + random_index(s, all.len() - i);
        all.swap(i, j);
    }
    all.truncate(k);
    all
}

/// One uniformly chosen member of a non-empty set: one slot read when indexed, else a
/// walk to a random position.
fn random_member<S: StoreRead + ?Sized>(
    s: &S,
    db: u8,
    key: &[u8],
    r: &Record,
) -> Result<Option<Vec<u8>>, StorageError> {
    if r.size == 0 {
        return Ok(None);
    }
    let pos = s.services().random_below(r.size);
    if is_indexed(r) {
        if let Some(m) = member_at(s, db, key, r, pos)? {
            return Ok(Some(m));
        }
    }
    let all = all_members(s, db, key, r)?;
    Ok(match all.len() {
        0 => None,
        n => all.into_iter().nth(random_index(s, n)),
    })
}

/// `SRANDMEMBER key [count]`: a bulk (or nil) without count; with one, an array of
/// distinct members (count > 0) or of `-count` members with repeats (count < 0). Every
/// draw is uniform: indexed sets read random slots, others are read whole.
pub fn srandmember<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    count: Option<i64>,
) -> CmdResult {
    let r = set_of(lookup_read(s, at, key)?)?;
    let Some(count) = count else {
        return Ok(match r {
            Some(r) => random_member(s, at.db, key, &r)?.map_or(Reply::Nil, Reply::Bulk),
            None => Reply::Nil,
        });
    };
    let Some(r) = r else {
        return Ok(Reply::Array(Vec::new()));
    };
    let bulks = |v: Vec<Vec<u8>>| Reply::Array(v.into_iter().map(Reply::Bulk).collect());
    let (db, n) = (at.db, count.unsigned_abs());
    if count >= 0 {
        if n >= r.size {
            return Ok(bulks(all_members(s, db, key, &r)?));
        }
        if is_indexed(&r) {
            let slots = distinct_positions(s, r.size, n);
            if let Some(picked) = members_at(s, db, key, &r, slots.into_iter())? {
                return Ok(bulks(picked));
            }
        }
        return Ok(bulks(sample_of_all(s, all_members(s, db, key, &r)?, n)));
    }
    if is_indexed(&r) && n.saturating_mul(REPEAT_PICKS_PER_SCAN) < r.size {
        let services = s.services();
        let slots = (0..n).map(|_| services.random_below(r.size));
        if let Some(picked) = members_at(s, db, key, &r, slots)? {
            return Ok(bulks(picked));
        }
    }
    let all = all_members(s, db, key, &r)?;
    if all.is_empty() {
        return Ok(Reply::Array(Vec::new()));
    }
    let out = (0..n)
        .map(|_| all[random_index(s, all.len())].clone())
        .collect();
    Ok(bulks(out))
}

/// `SPOP key [count]`: a bulk (or nil) without count; with one, a set reply of up to
/// `count` distinct members, removed. Each member popped costs O(1) point reads and
/// writes (a uniform slot, then the last slot moves into its hole).
pub fn spop<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    count: Option<u64>,
) -> CmdResult {
    let rec = set_of(lookup_write(w, at, key)?)?;
    let Some(rec) = rec else {
        return Ok(match count {
            None => Reply::Nil,
            Some(_) => Reply::Set(Vec::new()),
        });
    };
    if let Some(k) = count {
        if k >= rec.size {
            // Everything goes: the records become stale with the key, as after DEL.
            let all = all_members(&*w, at.db, key, &rec)?;
            remove_record(w, at.db, key, Some(&rec));
            return Ok(set_reply(all));
        }
    }
    let Some(mut set) = SetWrite::open(w, at, key, Some(rec))? else {
        return Ok(Reply::Nil);
    };
    let reply = match count {
        None => Reply::Bulk(set.pop_random(w)?),
        Some(k) => {
            let mut picked = Vec::new();
            for _ in 0..k {
                picked.push(set.pop_random(w)?);
            }
            set_reply(picked)
        }
    };
    set.finish(w);
    Ok(reply)
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
    if !is_member(&*w, at.db, src, &src_rec, member)? {
        return Ok(Reply::Integer(0));
    }
    let Some(mut from) = SetWrite::open(w, at, src, Some(src_rec))? else {
        return Ok(Reply::Integer(0));
    };
    from.remove(w, member)?;
    from.finish(w);
    let mut to = SetWrite::open_or_create(w, at, dst, dst_rec)?;
    to.add(w, member)?;
    to.finish(w);
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
    let mut r = new_set(w);
    for (slot, m) in (0u64..).zip(result) {
        w.put(
            Cf::Sub,
            member_key(at.db, dst, &r, &m),
            slot.to_be_bytes().to_vec(),
        );
        w.put(Cf::Sub, slot_key(at.db, dst, &r, slot), m);
        r.size = slot + 1;
    }
    store_record(w, at.db, dst, old.as_ref(), &r);
    Ok(Reply::Integer(r.size as i64))
}

/// `SSCAN key cursor [MATCH p] [COUNT n]`: `[cursor, [members]]`, cursor `"0"` when done.
/// Cursors are handles into the services' bounded cursor memory (as for `SCAN`); an
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
        match s.services().cursor(cursor) {
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
            let id = s.services().save_cursor(at.db, member);
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
    use crate::types::testing::{test_db_wrapper, TestDb, MODEL_CASES};
    use tandem_engine::{KvEngine, MemoryEngine};

    /// An engine (in memory unless a test asks for RocksDB) driven the way the executor
    /// drives it: reads on committed state, each write in its own committed group.
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

        /// Asserts the slot index of `key` is dense and agrees with the members: slot
        /// `i` names a member whose record holds `i`, every member once.
        fn check_index(&self, key: &[u8]) {
            let Some(r) = raw_record(&self.engine, 0, key).unwrap() else {
                return;
            };
            assert!(is_indexed(&r), "set {key:?} is not indexed");
            let mut seen = BTreeSet::new();
            for slot in 0..r.size {
                let m = member_at(&self.engine, 0, key, &r, slot)
                    .unwrap()
                    .unwrap_or_else(|| panic!("slot {slot} of {key:?} is missing"));
                let v = self
                    .engine
                    .get(Cf::Sub, &member_key(0, key, &r, &m))
                    .unwrap();
                assert_eq!(
                    v.as_deref().and_then(decode_slot),
                    Some(slot),
                    "member {m:?}"
                );
                assert!(seen.insert(m), "a member holds two slots");
            }
            assert_eq!(member_at(&self.engine, 0, key, &r, r.size).unwrap(), None);
            assert_eq!(seen, self.members(std::str::from_utf8(key).unwrap()));
        }

        /// Writes a set the way builds before the slot index did: no flag, empty member
        /// values, no index records.
        fn put_unindexed_set(&mut self, key: &str, members: &[Vec<u8>]) {
            self.write(|w, at| {
                let rec = Record {
                    kind: KeyType::Set,
                    flags: 0,
                    expire_at_ms: 0,
                    version: w.new_version(),
                    size: members.len() as u64,
                    payload: Vec::new(),
                };
                for m in members {
                    w.put(
                        Cf::Sub,
                        member_key(at.db, key.as_bytes(), &rec, m),
                        Vec::new(),
                    );
                }
                let old = raw_record(w, at.db, key.as_bytes())?;
                store_record(w, at.db, key.as_bytes(), old.as_ref(), &rec);
                CmdResult::Ok(Reply::ok())
            })
            .unwrap();
        }
    }

    /// Pearson's chi-square statistic of `counts` against equal expected counts.
    fn chi_square(counts: &BTreeMap<Vec<u8>, u64>, categories: usize) -> f64 {
        let total: u64 = counts.values().sum();
        let expected = total as f64 / categories as f64;
        let seen: f64 = counts
            .values()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum();
        // Categories never drawn contribute `expected` each.
        seen + (categories - counts.len()) as f64 * expected
    }

    /// The chi-square value with `df` degrees of freedom exceeded with probability 1e-6
    /// (Wilson-Hilferty; z = 4.753), so a uniform draw fails one run in a million.
    fn chi_square_limit(df: usize) -> f64 {
        let d = df as f64;
        let h = 2.0 / (9.0 * d);
        d * (1.0 - h + 4.753 * h.sqrt()).powi(3)
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
    fn random_picks_of_a_large_set_are_uniform() {
        // Sparse and dense branches of the members' byte trie: the trie descent this
        // replaced favoured members after sparse stretches (chi-square in the thousands).
        let mut members: Vec<Vec<u8>> = (0..1500)
            .map(|i| format!("m:{i:05}").into_bytes())
            .collect();
        members.extend((0..40).map(|i| vec![b'z', i * 6]));
        members.push(Vec::new());
        let mut db = Db::new();
        db.write(|w, at| sadd(w, at, b"s", members.iter().map(Vec::as_slice)))
            .unwrap();
        db.check_index(b"s");
        let n = members.len();
        let mut counts: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        for m in items(db.read(|s, at| srandmember(s, at, b"s", Some(-(20 * n as i64))))) {
            *counts.entry(m).or_default() += 1;
        }
        for _ in 0..(10 * n) {
            let m = bulk(db.read(|s, at| srandmember(s, at, b"s", None)).unwrap());
            *counts.entry(m).or_default() += 1;
        }
        assert!(counts.keys().all(|m| members.contains(m)));
        let chi = chi_square(&counts, n);
        assert!(
            chi < chi_square_limit(n - 1),
            "chi-square {chi} over {n} members"
        );
    }

    #[test]
    fn sets_written_before_the_index_read_uniformly_and_index_on_write() {
        let mut db = Db::new();
        let members: Vec<Vec<u8>> = (0..30).map(|i| format!("old{i}").into_bytes()).collect();
        db.put_unindexed_set("old", &members);
        assert_eq!(db.scard("old"), 30);
        assert_eq!(db.members("old"), members.iter().cloned().collect());
        let mut counts: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        for _ in 0..3000 {
            let m = bulk(db.read(|s, at| srandmember(s, at, b"old", None)).unwrap());
            *counts.entry(m).or_default() += 1;
        }
        assert!(chi_square(&counts, 30) < chi_square_limit(29), "{counts:?}");
        let picked = items(db.read(|s, at| srandmember(s, at, b"old", Some(7))));
        assert_eq!(picked.iter().collect::<BTreeSet<_>>().len(), 7);
        // The first write indexes it; everything still agrees afterwards.
        assert_eq!(db.sadd("old", &["new"]), 1);
        db.check_index(b"old");
        assert_eq!(db.scard("old"), 31);
        let popped = bulk(db.write(|w, at| spop(w, at, b"old", None)).unwrap());
        assert!(popped == b"new" || members.contains(&popped));
        db.check_index(b"old");
        // Other writes index it too, and copies carry the index.
        db.put_unindexed_set("old2", &members);
        assert_eq!(
            int(db.write(|w, at| srem(w, at, b"old2", [&b"old3"[..]].into_iter()))),
            1
        );
        db.check_index(b"old2");
        db.write(|w, at| keyspace::copy(w, at, b"old2", b"copy", 0, false))
            .unwrap();
        db.check_index(b"copy");
        db.put_unindexed_set("old3", &members);
        assert_eq!(
            int(db.write(|w, at| smove(w, at, b"old3", b"fresh", b"old1"))),
            1
        );
        db.check_index(b"old3");
        db.check_index(b"fresh");
        // SPOP of everything needs no index.
        db.put_unindexed_set("old4", &members);
        let all = items(db.write(|w, at| spop(w, at, b"old4", Some(100))));
        assert_eq!(
            all.into_iter().collect::<BTreeSet<_>>(),
            members.iter().cloned().collect()
        );
        assert!(!db.exists("old4"));
    }

    #[test]
    fn pops_do_not_slow_down_as_a_set_drains() {
        // 20k members, drained to 200: the tombstones of 19.8k pops lie between the live
        // members. A pop is a slot read, so the last 200 pops cost what the first 200 did
        // (the trie descent's forward seeks waded through tombstones: milliseconds each).
        let mut db = Db::new();
        let all: Vec<String> = (0..20_000).map(|i| format!("element:{i:08}")).collect();
        for chunk in all.chunks(1000) {
            db.sadd("q", &chunk.iter().map(String::as_str).collect::<Vec<_>>());
        }
        let pop_200 = |db: &mut Db| {
            let t = std::time::Instant::now();
            for _ in 0..200 {
                bulk(db.write(|w, at| spop(w, at, b"q", None)).unwrap());
            }
            t.elapsed()
        };
        let first = pop_200(&mut db);
        for _ in 0..98 {
            db.write(|w, at| spop(w, at, b"q", Some(200))).unwrap();
        }
        assert_eq!(db.scard("q"), 200);
        let last = pop_200(&mut db);
        assert!(!db.exists("q"));
        assert!(
            last < first * 4 + std::time::Duration::from_millis(50),
            "the first 200 pops took {first:?}, the last 200 {last:?}"
        );
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
        // A member record and a slot record per member.
        assert_eq!(count_subs(&db), 402);
        int(db.write(|w, at| keyspace::del(w, at, std::iter::once(&b"s"[..]))));
        db.engine.compact().unwrap();
        assert_eq!(count_subs(&db), 2);
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
        Rename(usize, usize),
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
            1 => (k.clone(), k.clone(), 0u8..12).prop_map(|(a, b, m)| Op::Move(a, b, m)),
            1 => (k.clone(), k).prop_map(|(a, b)| Op::Rename(a, b)),
        ]
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
        let mut model: BTreeMap<usize, BTreeSet<u8>> = BTreeMap::new();
        for op in ops {
            match op.clone() {
                Op::Add(k, ms) => {
                    let m = model.entry(k).or_default();
                    let want = ms
                        .iter()
                        .collect::<BTreeSet<_>>()
                        .iter()
                        .filter(|x| !m.contains(x))
                        .count();
                    m.extend(ms.iter().copied());
                    let got =
                        int(db.write(|w, at| {
                            sadd(w, at, KEYS[k], ms.iter().map(std::slice::from_ref))
                        }));
                    prop_assert_eq!(got, want as i64);
                }
                Op::Rem(k, ms) => {
                    let m = model.entry(k).or_default();
                    let want = ms
                        .iter()
                        .collect::<BTreeSet<_>>()
                        .iter()
                        .filter(|x| m.remove(x))
                        .count();
                    let got =
                        int(db.write(|w, at| {
                            srem(w, at, KEYS[k], ms.iter().map(std::slice::from_ref))
                        }));
                    prop_assert_eq!(got, want as i64);
                }
                Op::Pop(k, count) => {
                    let m = model.entry(k).or_default();
                    let popped: Vec<Vec<u8>> =
                        match db.write(|w, at| spop(w, at, KEYS[k], count)).unwrap() {
                            Reply::Nil => vec![],
                            Reply::Bulk(b) => vec![b],
                            Reply::Set(v) => v.into_iter().map(bulk).collect(),
                            other => panic!("SPOP replied {other:?}"),
                        };
                    let want =
                        count.map_or(usize::from(!m.is_empty()), |c| (c as usize).min(m.len()));
                    prop_assert_eq!(popped.len(), want);
                    for p in popped {
                        prop_assert_eq!(p.len(), 1);
                        prop_assert!(m.remove(&p[0]), "popped a non-member");
                    }
                }
                Op::Del(k) => {
                    model.remove(&k);
                    db.write(|w, at| keyspace::del(w, at, std::iter::once(KEYS[k])))
                        .unwrap();
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
                Op::Rename(a, b) => {
                    let got = db.write(|w, at| {
                        keyspace::rename(w, at, KEYS[a], KEYS[b], RenameMode::Overwrite)
                    });
                    match model.remove(&a) {
                        Some(set) if !set.is_empty() => {
                            prop_assert_eq!(got, Ok(Reply::ok()));
                            model.insert(b, set);
                        }
                        _ => prop_assert_eq!(got, Err(StorageError::NoSuchKey)),
                    }
                }
            }
            model.retain(|_, s| !s.is_empty());
            for (i, key) in KEYS.iter().enumerate() {
                let want: BTreeSet<Vec<u8>> = model
                    .get(&i)
                    .map(|s| s.iter().map(|&m| vec![m]).collect())
                    .unwrap_or_default();
                let name = std::str::from_utf8(key).unwrap();
                prop_assert_eq!(db.members(name), want.clone(), "after {:?}", op);
                prop_assert_eq!(db.scard(name), want.len() as i64);
                db.check_index(key);
            }
            prop_assert_eq!(db.engine.counts().keys[0], model.len() as u64);
        }
        Ok(())
    }
}
