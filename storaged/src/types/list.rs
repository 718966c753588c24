//! List commands (`LPUSH`, `LPOP`, `LINDEX`, `LSET`, `LRANGE`, `LTRIM`, `LREM`, `LINSERT`,
//! `LPOS`, `LMOVE`, `LMPOP` …) with Redis 7 semantics.
//!
//! A list is a metadata record (type `list`, `size` = length, so `LLEN` is one point read)
//! whose payload holds the half-open position range `[head, tail)`, plus one `sub` record
//! per element: sub-key the element's position as 8 big-endian bytes, value the element,
//! under the key's version (layout in `docs/ENCODING.md`). Positions start at 2^63 so both
//! ends can grow; pushing and popping at either end move `head`/`tail` and touch one record,
//! `LINDEX`/`LSET` are one point lookup at `head + index`, `LRANGE` one range scan.
//! Edits in the middle (`LREM`, `LINSERT`) rewrite the shorter side of the changed span.
//! Every write builds its changes in the caller's write group. This module sees only
//! [`StoreRead`]/[`StoreWrite`], never RocksDB, and leaves expiry, counters and versions to
//! the helpers in [`super`].

use tandem_shared::command::ListEnd;
use tandem_shared::{Reply, StorageError};

use super::{lookup_read, lookup_write, remove_record, store_record, At, CmdResult};
use crate::engine::keys;
use crate::engine::metadata::{KeyType, Record};
use crate::engine::{Cf, StoreRead, StoreWrite};

/// Position of the first element of a new list: the middle of the `u64` range, so pushes
/// at either end have 2^63 positions of room.
pub const START_POS: u64 = 1 << 63;

/// Elements read per backward step of a tail-first walk (`LPOS` with a negative rank,
/// `LREM` with a negative count).
const REV_CHUNK: u64 = 128;

/// Most elements one command may return: a reply of billions cannot fit a frame.
const REPLY_MAX: u64 = 1 << 24;

/// A live list record; `WrongType` for another type.
fn list_of(r: Option<Record>) -> Result<Option<Record>, StorageError> {
    match r {
        Some(r) if r.kind != KeyType::List => Err(StorageError::WrongType),
        other => Ok(other),
    }
}

/// `[head, tail)` from a list record's payload.
fn bounds(r: &Record) -> Result<(u64, u64), StorageError> {
    let p = &r.payload;
    match (p.get(0..8), p.get(8..16)) {
        (Some(h), Some(t)) if p.len() == 16 => {
            let mut hb = [0u8; 8];
            let mut tb = [0u8; 8];
            hb.copy_from_slice(h);
            tb.copy_from_slice(t);
            Ok((u64::from_be_bytes(hb), u64::from_be_bytes(tb)))
        }
        _ => Err(StorageError::Internal(
            "list metadata payload is not 16 bytes".to_owned(),
        )),
    }
}

fn payload(head: u64, tail: u64) -> Vec<u8> {
    let mut p = Vec::with_capacity(16);
    p.extend_from_slice(&head.to_be_bytes());
    p.extend_from_slice(&tail.to_be_bytes());
    p
}

/// The sub-key of the element at absolute position `pos`.
fn pos_key(db: u8, key: &[u8], version: u64, pos: u64) -> Vec<u8> {
    keys::sub_key(db, key, version, &pos.to_be_bytes())
}

/// Resolves a Redis index (negative counts from the tail) against `len`.
fn resolve(index: i64, len: u64) -> Option<u64> {
    let len = i64::try_from(len).ok()?;
    let i = if index < 0 {
        index.checked_add(len)?
    } else {
        index
    };
    (0..len).contains(&i).then_some(i as u64)
}

/// Redis's `LRANGE`/`LTRIM` clamping: the inclusive index range `[start, stop]` within
/// `len`, or `None` when empty.
fn clamp_range(start: i64, stop: i64, len: u64) -> Option<(u64, u64)> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let mut start = if start < 0 {
        start.saturating_add(len)
    } else {
        start
    };
    let mut stop = if stop < 0 {
        stop.saturating_add(len)
    } else {
        stop
    };
    if start < 0 {
        start = 0;
    }
    if start > stop || start >= len {
        return None;
    }
    if stop >= len {
        stop = len - 1;
    }
    Some((start as u64, stop as u64))
}

/// A list as one command sees it: its key, the physical record before the command (for
/// the counters) and the record as the command leaves it, with `[head, tail)` decoded.
struct List<'k> {
    key: &'k [u8],
    db: u8,
    old: Option<Record>,
    rec: Record,
    head: u64,
    tail: u64,
}

impl<'k> List<'k> {
    fn from_record(at: At, key: &'k [u8], r: Record) -> Result<List<'k>, StorageError> {
        let (head, tail) = bounds(&r)?;
        Ok(List {
            key,
            db: at.db,
            old: Some(r.clone()),
            rec: r,
            head,
            tail,
        })
    }

    /// Opens `key` for writing: the existing list, or a new empty one under a fresh
    /// version (an expired record met here is reclaimed first).
    fn open<W: StoreWrite + ?Sized>(
        w: &mut W,
        at: At,
        key: &'k [u8],
    ) -> Result<List<'k>, StorageError> {
        match list_of(lookup_write(w, at, key)?)? {
            Some(r) => List::from_record(at, key, r),
            None => Ok(List {
                key,
                db: at.db,
                old: None,
                rec: Record {
                    kind: KeyType::List,
                    flags: 0,
                    expire_at_ms: 0,
                    version: w.new_version(),
                    size: 0,
                    payload: payload(START_POS, START_POS),
                },
                head: START_POS,
                tail: START_POS,
            }),
        }
    }

    /// Opens `key` only if it is a live list.
    fn existing<W: StoreWrite + ?Sized>(
        w: &mut W,
        at: At,
        key: &'k [u8],
    ) -> Result<Option<List<'k>>, StorageError> {
        list_of(lookup_write(w, at, key)?)?
            .map(|r| List::from_record(at, key, r))
            .transpose()
    }

    /// Opens `key` for a read command.
    fn read<S: StoreRead + ?Sized>(
        s: &S,
        at: At,
        key: &'k [u8],
    ) -> Result<Option<List<'k>>, StorageError> {
        list_of(lookup_read(s, at, key)?)?
            .map(|r| List::from_record(at, key, r))
            .transpose()
    }

    fn len(&self) -> u64 {
        self.tail - self.head
    }

    fn pos_key(&self, pos: u64) -> Vec<u8> {
        pos_key(self.db, self.key, self.rec.version, pos)
    }

    fn get<S: StoreRead + ?Sized>(&self, s: &S, pos: u64) -> Result<Vec<u8>, StorageError> {
        s.get(Cf::Sub, &self.pos_key(pos))?.ok_or_else(|| {
            StorageError::Internal(format!("list element at position {pos} is missing"))
        })
    }

    /// Visits the elements at positions `[from, to)` in order until `visit` returns false.
    fn scan<S: StoreRead + ?Sized>(
        &self,
        s: &S,
        from: u64,
        to: u64,
        visit: &mut dyn FnMut(u64, &[u8]) -> bool,
    ) -> Result<(), StorageError> {
        if from >= to {
            return Ok(());
        }
        let prefix_len = keys::sub_prefix(self.db, self.key, self.rec.version).len();
        let (start, end) = (self.pos_key(from), self.pos_key(to));
        s.scan(Cf::Sub, &start, &end, &mut |k, v| {
            let mut pb = [0u8; 8];
            match k.get(prefix_len..) {
                Some(p) if p.len() == 8 => pb.copy_from_slice(p),
                _ => return true,
            }
            visit(u64::from_be_bytes(pb), v)
        })?;
        Ok(())
    }

    /// Visits the elements at positions `[from, to)` from the last down, in chunks of
    /// forward scans, until `visit` returns false.
    fn scan_rev<S: StoreRead + ?Sized>(
        &self,
        s: &S,
        from: u64,
        to: u64,
        visit: &mut dyn FnMut(u64, &[u8]) -> bool,
    ) -> Result<(), StorageError> {
        let mut hi = to;
        while hi > from {
            let lo = hi.saturating_sub(REV_CHUNK).max(from);
            let mut chunk = Vec::new();
            self.scan(s, lo, hi, &mut |p, v| {
                chunk.push((p, v.to_vec()));
                true
            })?;
            for (p, v) in chunk.into_iter().rev() {
                if !visit(p, &v) {
                    return Ok(());
                }
            }
            hi = lo;
        }
        Ok(())
    }

    /// Every element, head first.
    fn all<S: StoreRead + ?Sized>(&self, s: &S) -> Result<Vec<Vec<u8>>, StorageError> {
        let mut out = Vec::with_capacity(usize::try_from(self.len()).unwrap_or(0).min(1 << 16));
        self.scan(s, self.head, self.tail, &mut |_, v| {
            out.push(v.to_vec());
            true
        })?;
        Ok(out)
    }

    fn push<W: StoreWrite + ?Sized>(&mut self, w: &mut W, end: ListEnd, element: Vec<u8>) {
        let pos = match end {
            ListEnd::Left => {
                self.head -= 1;
                self.head
            }
            ListEnd::Right => {
                self.tail += 1;
                self.tail - 1
            }
        };
        w.put(Cf::Sub, self.pos_key(pos), element);
    }

    /// Removes and returns the element at `end`; the list must not be empty.
    fn pop<W: StoreWrite + ?Sized>(
        &mut self,
        w: &mut W,
        end: ListEnd,
    ) -> Result<Vec<u8>, StorageError> {
        let pos = match end {
            ListEnd::Left => {
                self.head += 1;
                self.head - 1
            }
            ListEnd::Right => {
                self.tail -= 1;
                self.tail
            }
        };
        let v = self.get(w, pos)?;
        w.delete(Cf::Sub, self.pos_key(pos));
        Ok(v)
    }

    /// Replaces the whole list `old` (as stored) with `new`, rewriting only the span that
    /// differs and anchoring whichever end needs fewer writes.
    fn replace<W: StoreWrite + ?Sized>(&mut self, w: &mut W, old: &[Vec<u8>], new: &[Vec<u8>]) {
        let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
        let max_suffix = old.len().min(new.len()) - prefix;
        let suffix = old
            .iter()
            .rev()
            .zip(new.iter().rev())
            .take(max_suffix)
            .take_while(|(a, b)| a == b)
            .count();
        let (ol, nl) = (old.len() as u64, new.len() as u64);
        // Keeping the head fixed rewrites new[prefix..] and deletes what lies beyond the new
        // tail; keeping the tail fixed mirrors that.
        let head_cost = (nl - prefix as u64) + ol.saturating_sub(nl);
        let tail_cost = (nl - suffix as u64) + ol.saturating_sub(nl);
        if head_cost <= tail_cost {
            let new_tail = self.head + nl;
            for (i, e) in new.iter().enumerate().skip(prefix) {
                w.put(Cf::Sub, self.pos_key(self.head + i as u64), e.clone());
            }
            for pos in new_tail..self.tail {
                w.delete(Cf::Sub, self.pos_key(pos));
            }
            self.tail = new_tail;
        } else {
            let new_head = self.tail - nl;
            for (i, e) in new.iter().enumerate().take(new.len() - suffix) {
                w.put(Cf::Sub, self.pos_key(new_head + i as u64), e.clone());
            }
            for pos in self.head..new_head {
                w.delete(Cf::Sub, self.pos_key(pos));
            }
            self.head = new_head;
        }
    }

    /// Writes the metadata if it changed; an empty list is deleted, as Redis never keeps
    /// one.
    fn finish<W: StoreWrite + ?Sized>(mut self, w: &mut W) {
        self.rec.size = self.len();
        self.rec.payload = payload(self.head, self.tail);
        if self.rec.size == 0 {
            remove_record(w, self.db, self.key, self.old.as_ref());
        } else if self.old.as_ref() != Some(&self.rec) {
            store_record(w, self.db, self.key, self.old.as_ref(), &self.rec);
        }
    }
}

/// `LPUSH`/`RPUSH` (`LPUSHX`/`RPUSHX` with `only_existing`): the new length, 0 when
/// `only_existing` and the key is missing.
pub fn push<'e, W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    end: ListEnd,
    elements: impl Iterator<Item = &'e [u8]>,
    only_existing: bool,
) -> CmdResult {
    let list = if only_existing {
        List::existing(w, at, key)?
    } else {
        Some(List::open(w, at, key)?)
    };
    let Some(mut list) = list else {
        return Ok(Reply::Integer(0));
    };
    for e in elements {
        list.push(w, end, e.to_vec());
    }
    let len = list.len();
    list.finish(w);
    Ok(Reply::Integer(len as i64))
}

/// `LPOP`/`RPOP key [count]`: a bulk (or nil) without a count; with one an array, a
/// nil array for a missing key.
pub fn pop<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    end: ListEnd,
    count: Option<u64>,
) -> CmdResult {
    let Some(mut list) = List::existing(w, at, key)? else {
        return Ok(if count.is_some() {
            Reply::NilArray
        } else {
            Reply::Nil
        });
    };
    let Some(count) = count else {
        let v = list.pop(w, end)?;
        list.finish(w);
        return Ok(Reply::Bulk(v));
    };
    let n = count.min(list.len());
    let mut out = Vec::with_capacity(usize::try_from(n).unwrap_or(0).min(1 << 16));
    for _ in 0..n {
        out.push(Reply::Bulk(list.pop(w, end)?));
    }
    list.finish(w);
    Ok(Reply::Array(out))
}

/// `LMPOP numkeys key... LEFT|RIGHT [COUNT n]`: `[key, [elements]]` from the first
/// non-empty list, or a nil array. A key of another type met before it is `WRONGTYPE`.
pub fn lmpop<'k, W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    keys: impl Iterator<Item = &'k [u8]>,
    end: ListEnd,
    count: u64,
) -> CmdResult {
    for key in keys {
        if List::existing(w, at, key)?.is_none() {
            continue;
        }
        let Reply::Array(items) = pop(w, at, key, end, Some(count))? else {
            return Err(StorageError::Internal("LMPOP popped no array".to_owned()));
        };
        return Ok(Reply::Array(vec![Reply::bulk(key), Reply::Array(items)]));
    }
    Ok(Reply::NilArray)
}

/// `LMOVE src dst from to` / `RPOPLPUSH src dst`: the moved element, or nil when `src`
/// is missing. Both type checks come before any change, as in Redis.
pub fn lmove<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    src: &[u8],
    dst: &[u8],
    from: ListEnd,
    to: ListEnd,
) -> CmdResult {
    let Some(mut source) = List::existing(w, at, src)? else {
        return Ok(Reply::Nil);
    };
    list_of(lookup_write(w, at, dst)?)?;
    let v = source.pop(w, from)?;
    source.finish(w);
    // Reopened after the pop, so a rotation (`src == dst`) sees its own change.
    let mut target = List::open(w, at, dst)?;
    target.push(w, to, v.clone());
    target.finish(w);
    Ok(Reply::Bulk(v))
}

/// `LLEN key`: from the metadata record alone.
pub fn llen<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8]) -> CmdResult {
    let len = List::read(s, at, key)?.map_or(0, |l| l.len());
    Ok(Reply::Integer(i64::try_from(len).unwrap_or(i64::MAX)))
}

/// `LINDEX key index`: one point lookup.
pub fn lindex<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8], index: i64) -> CmdResult {
    let Some(list) = List::read(s, at, key)? else {
        return Ok(Reply::Nil);
    };
    match resolve(index, list.len()) {
        Some(i) => Ok(Reply::Bulk(list.get(s, list.head + i)?)),
        None => Ok(Reply::Nil),
    }
}

/// `LSET key index element`: one point write.
pub fn lset<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    index: i64,
    element: &[u8],
) -> CmdResult {
    let Some(list) = List::existing(w, at, key)? else {
        return Err(StorageError::NoSuchKey);
    };
    let i = resolve(index, list.len()).ok_or(StorageError::IndexOutOfRange)?;
    w.put(Cf::Sub, list.pos_key(list.head + i), element.to_vec());
    Ok(Reply::ok())
}

/// `LRANGE key start stop`: one range scan.
pub fn lrange<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    start: i64,
    stop: i64,
) -> CmdResult {
    let Some(list) = List::read(s, at, key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let Some((a, b)) = clamp_range(start, stop, list.len()) else {
        return Ok(Reply::Array(Vec::new()));
    };
    if b - a >= REPLY_MAX {
        return Err(StorageError::Internal(format!(
            "LRANGE of {} elements exceeds the reply limit",
            b - a + 1
        )));
    }
    let mut out = Vec::with_capacity((b - a + 1) as usize);
    list.scan(s, list.head + a, list.head + b + 1, &mut |_, v| {
        out.push(Reply::bulk(v));
        true
    })?;
    Ok(Reply::Array(out))
}

/// `LTRIM key start stop`: deletes the elements outside the range, O(removed).
pub fn ltrim<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    start: i64,
    stop: i64,
) -> CmdResult {
    let Some(mut list) = List::existing(w, at, key)? else {
        return Ok(Reply::ok());
    };
    let (new_head, new_tail) = match clamp_range(start, stop, list.len()) {
        Some((a, b)) => (list.head + a, list.head + b + 1),
        None => (list.head, list.head),
    };
    for pos in (list.head..new_head).chain(new_tail..list.tail) {
        w.delete(Cf::Sub, list.pos_key(pos));
    }
    list.head = new_head;
    list.tail = new_tail;
    list.finish(w);
    Ok(Reply::ok())
}

/// `LREM key count element`: the number removed. Reads the list and rewrites the shorter
/// side of the span between the first and last removal.
pub fn lrem<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    count: i64,
    element: &[u8],
) -> CmdResult {
    let Some(mut list) = List::existing(w, at, key)? else {
        return Ok(Reply::Integer(0));
    };
    let old = list.all(w)?;
    let limit = if count == 0 {
        usize::MAX
    } else {
        usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX)
    };
    let mut drop = vec![false; old.len()];
    let mut removed = 0usize;
    let order: Box<dyn Iterator<Item = usize>> = if count < 0 {
        Box::new((0..old.len()).rev())
    } else {
        Box::new(0..old.len())
    };
    for i in order {
        if removed == limit {
            break;
        }
        if old[i] == element {
            drop[i] = true;
            removed += 1;
        }
    }
    if removed > 0 {
        let new: Vec<Vec<u8>> = old
            .iter()
            .zip(&drop)
            .filter(|(_, d)| !**d)
            .map(|(e, _)| e.clone())
            .collect();
        list.replace(w, &old, &new);
        list.finish(w);
    }
    Ok(Reply::Integer(removed as i64))
}

/// `LINSERT key BEFORE|AFTER pivot element`: the new length, -1 when the pivot is absent,
/// 0 when the key is.
pub fn linsert<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    before: bool,
    pivot: &[u8],
    element: &[u8],
) -> CmdResult {
    let Some(mut list) = List::existing(w, at, key)? else {
        return Ok(Reply::Integer(0));
    };
    let old = list.all(w)?;
    let Some(i) = old.iter().position(|e| e == pivot) else {
        return Ok(Reply::Integer(-1));
    };
    let mut new = old.clone();
    new.insert(if before { i } else { i + 1 }, element.to_vec());
    list.replace(w, &old, &new);
    let len = list.len();
    list.finish(w);
    Ok(Reply::Integer(len as i64))
}

/// `LPOS key element [RANK r] [COUNT c] [MAXLEN m]`: walks from the head for a positive
/// rank, from the tail for a negative one, comparing at most `maxlen` elements.
pub fn lpos<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    element: &[u8],
    rank: i64,
    count: Option<u64>,
    maxlen: u64,
) -> CmdResult {
    let Some(list) = List::read(s, at, key)? else {
        return Ok(match count {
            Some(_) => Reply::Array(Vec::new()),
            None => Reply::Nil,
        });
    };
    let len = list.len();
    // Matches to skip before collecting. Redis 7.0 negates the rank in C, so i64::MIN stays
    // negative there and every match counts: it acts as rank -1.
    let mut skip = if rank == i64::MIN {
        0
    } else {
        rank.unsigned_abs() - 1
    };
    let want = match count {
        Some(0) => u64::MAX,
        Some(c) => c,
        None => 1,
    };
    let maxlen = if maxlen == 0 { u64::MAX } else { maxlen };
    let mut found = Vec::new();
    let mut examined = 0u64;
    let head = list.head;
    let mut visit = |pos: u64, v: &[u8]| {
        if examined == maxlen {
            return false;
        }
        examined += 1;
        if v == element {
            if skip > 0 {
                skip -= 1;
            } else {
                found.push(Reply::Integer((pos - head) as i64));
                if found.len() as u64 == want {
                    return false;
                }
            }
        }
        true
    };
    if rank > 0 {
        let to = list.head.saturating_add(maxlen.min(len));
        list.scan(s, list.head, to, &mut visit)?;
    } else {
        let from = list.tail - maxlen.min(len);
        list.scan_rev(s, from, list.tail, &mut visit)?;
    }
    Ok(match count {
        Some(_) => Reply::Array(found),
        None => found.into_iter().next().unwrap_or(Reply::Nil),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use proptest::prelude::*;

    use super::*;
    use crate::types::keyspace;
    use crate::types::testing::{test_db_wrapper, TestDb, MODEL_CASES};
    use tandem_engine::{KvEngine, MemoryEngine};

    /// An engine with its writer (in memory unless a test asks for RocksDB): writes run
    /// in a committed group, reads against committed state, as the executor runs them.
    struct Db<E: KvEngine = MemoryEngine>(TestDb<E>);
    test_db_wrapper!(Db);

    fn open() -> Db {
        Db(TestDb::open())
    }

    fn b(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    impl<E: KvEngine> Db<E> {
        fn push(&mut self, key: &str, end: ListEnd, elements: &[&str]) -> CmdResult {
            self.write(|w, at| {
                push(
                    w,
                    at,
                    key.as_bytes(),
                    end,
                    elements.iter().map(|e| e.as_bytes()),
                    false,
                )
            })
        }

        fn all(&self, key: &str) -> Vec<Vec<u8>> {
            match self.read(|s, at| lrange(s, at, key.as_bytes(), 0, -1)) {
                Ok(Reply::Array(items)) => items
                    .into_iter()
                    .map(|i| match i {
                        Reply::Bulk(v) => v,
                        other => panic!("LRANGE item {other:?}"),
                    })
                    .collect(),
                other => panic!("LRANGE {key}: {other:?}"),
            }
        }

        fn len(&self, key: &str) -> i64 {
            match self.read(|s, at| llen(s, at, key.as_bytes())) {
                Ok(Reply::Integer(n)) => n,
                other => panic!("LLEN {key}: {other:?}"),
            }
        }

        fn record(&self, key: &str) -> Option<Record> {
            crate::types::raw_record(&self.engine, 0, key.as_bytes()).expect("read")
        }

        fn sub_count(&self) -> usize {
            let mut n = 0;
            self.engine
                .scan(Cf::Sub, &[0], &[keys::DB_COUNT], &mut |_, _| {
                    n += 1;
                    true
                })
                .expect("scan");
            n
        }
    }

    #[test]
    fn index_helpers_follow_redis() {
        assert_eq!(resolve(0, 3), Some(0));
        assert_eq!(resolve(-1, 3), Some(2));
        assert_eq!(resolve(-3, 3), Some(0));
        assert_eq!(resolve(-4, 3), None);
        assert_eq!(resolve(3, 3), None);
        assert_eq!(resolve(i64::MIN, 3), None);
        assert_eq!(clamp_range(0, -1, 3), Some((0, 2)));
        assert_eq!(clamp_range(-100, 100, 3), Some((0, 2)));
        assert_eq!(clamp_range(2, 1, 3), None);
        assert_eq!(clamp_range(3, 5, 3), None);
        assert_eq!(clamp_range(i64::MIN, i64::MAX, 3), Some((0, 2)));
        assert_eq!(clamp_range(0, -4, 3), None);
    }

    #[test]
    fn layout_is_positional_and_starts_in_the_middle() {
        let mut db = open();
        assert_eq!(
            db.push("l", ListEnd::Right, &["b", "c"]),
            Ok(Reply::Integer(2))
        );
        assert_eq!(db.push("l", ListEnd::Left, &["a"]), Ok(Reply::Integer(3)));
        let r = db.record("l").expect("stored");
        assert_eq!(r.kind, KeyType::List);
        assert_eq!(r.size, 3);
        assert_eq!(r.payload, payload(START_POS - 1, START_POS + 2));
        let raw = |pos: u64| {
            db.engine
                .get(Cf::Sub, &pos_key(0, b"l", r.version, pos))
                .expect("get")
        };
        assert_eq!(raw(START_POS - 1), Some(b("a")));
        assert_eq!(raw(START_POS), Some(b("b")));
        assert_eq!(raw(START_POS + 1), Some(b("c")));
        assert_eq!(raw(START_POS + 2), None);
        assert_eq!(
            pos_key(0, b"l", 0x0102, START_POS),
            [
                &[0u8, 0, 0, 0, 1, b'l'][..],
                &0x0102u64.to_be_bytes(),
                &[0x80, 0, 0, 0, 0, 0, 0, 0]
            ]
            .concat()
        );
    }

    #[test]
    fn pops_and_trims_delete_their_records_and_the_last_deletes_the_key() {
        let mut db = open();
        db.push("l", ListEnd::Right, &["1", "2", "3", "4", "5"])
            .expect("push");
        assert_eq!(
            db.write(|w, at| pop(w, at, b"l", ListEnd::Left, None)),
            Ok(Reply::bulk("1"))
        );
        assert_eq!(
            db.write(|w, at| pop(w, at, b"l", ListEnd::Right, Some(2))),
            Ok(Reply::Array(vec![Reply::bulk("5"), Reply::bulk("4")]))
        );
        assert_eq!(db.sub_count(), 2);
        assert_eq!(db.write(|w, at| ltrim(w, at, b"l", 1, 1)), Ok(Reply::ok()));
        assert_eq!(db.all("l"), vec![b("3")]);
        assert_eq!(db.sub_count(), 1);
        assert_eq!(
            db.write(|w, at| pop(w, at, b"l", ListEnd::Left, Some(0))),
            Ok(Reply::Array(vec![]))
        );
        assert_eq!(
            db.write(|w, at| pop(w, at, b"l", ListEnd::Left, Some(9))),
            Ok(Reply::Array(vec![Reply::bulk("3")]))
        );
        assert_eq!(db.record("l"), None);
        assert_eq!(db.sub_count(), 0);
        assert_eq!(
            db.write(|w, at| pop(w, at, b"l", ListEnd::Left, Some(1))),
            Ok(Reply::NilArray)
        );
        assert_eq!(
            db.write(|w, at| pop(w, at, b"l", ListEnd::Left, None)),
            Ok(Reply::Nil)
        );
    }

    #[test]
    fn lindex_and_lset_are_point_operations() {
        let mut db = open();
        db.push("l", ListEnd::Left, &["c", "b", "a"]).expect("push");
        assert_eq!(
            db.read(|s, at| lindex(s, at, b"l", -1)),
            Ok(Reply::bulk("c"))
        );
        assert_eq!(db.read(|s, at| lindex(s, at, b"l", 3)), Ok(Reply::Nil));
        assert_eq!(
            db.write(|w, at| lset(w, at, b"l", 1, b"B")),
            Ok(Reply::ok())
        );
        assert_eq!(
            db.write(|w, at| lset(w, at, b"l", -4, b"x")),
            Err(StorageError::IndexOutOfRange)
        );
        assert_eq!(
            db.write(|w, at| lset(w, at, b"nokey", 0, b"x")),
            Err(StorageError::NoSuchKey)
        );
        assert_eq!(db.all("l"), vec![b("a"), b("B"), b("c")]);
    }

    #[test]
    fn middle_edits_rewrite_the_shorter_side() {
        let mut db = open();
        let elems: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        let refs: Vec<&str> = elems.iter().map(String::as_str).collect();
        db.push("l", ListEnd::Right, &refs).expect("push");
        let before = db.record("l").expect("stored");
        // Removing near the tail keeps the head where it was.
        assert_eq!(
            db.write(|w, at| lrem(w, at, b"l", 0, b"8")),
            Ok(Reply::Integer(1))
        );
        let r = db.record("l").expect("stored");
        assert_eq!(bounds(&r), Ok((START_POS, START_POS + 9)));
        // Inserting near the head moves the head instead of shifting the tail.
        assert_eq!(
            db.write(|w, at| linsert(w, at, b"l", false, b"0", b"x")),
            Ok(Reply::Integer(10))
        );
        let r = db.record("l").expect("stored");
        assert_eq!(bounds(&r), Ok((START_POS - 1, START_POS + 9)));
        assert_eq!(r.version, before.version);
        assert_eq!(
            db.all("l"),
            ["0", "x", "1", "2", "3", "4", "5", "6", "7", "9"]
                .iter()
                .map(|s| b(s))
                .collect::<Vec<_>>()
        );
        assert_eq!(db.sub_count(), 10);
        assert_eq!(
            db.write(|w, at| linsert(w, at, b"l", true, b"nope", b"x")),
            Ok(Reply::Integer(-1))
        );
    }

    #[test]
    fn lmove_rotates_and_checks_both_types_first() {
        let mut db = open();
        db.push("l", ListEnd::Right, &["a", "b", "c"])
            .expect("push");
        assert_eq!(
            db.write(|w, at| lmove(w, at, b"l", b"l", ListEnd::Left, ListEnd::Right)),
            Ok(Reply::bulk("a"))
        );
        assert_eq!(db.all("l"), vec![b("b"), b("c"), b("a")]);
        db.write(|w, at| {
            crate::types::string::set(w, at, b"s", b"v", crate::types::string::SetOptions::PLAIN)
        })
        .expect("set");
        assert_eq!(
            db.write(|w, at| lmove(w, at, b"l", b"s", ListEnd::Left, ListEnd::Left)),
            Err(StorageError::WrongType)
        );
        assert_eq!(db.len("l"), 3);
        assert_eq!(
            db.write(|w, at| lmpop(w, at, [&b"none"[..], b"s"].into_iter(), ListEnd::Left, 1)),
            Err(StorageError::WrongType)
        );
        assert_eq!(
            db.write(|w, at| lmpop(w, at, [&b"none"[..], b"l"].into_iter(), ListEnd::Right, 2)),
            Ok(Reply::Array(vec![
                Reply::bulk("l"),
                Reply::Array(vec![Reply::bulk("a"), Reply::bulk("c")])
            ]))
        );
    }

    #[test]
    fn deleted_lists_are_reclaimed_by_compaction_and_copies_keep_their_bounds() {
        let mut db = open();
        db.push("l", ListEnd::Left, &["1", "2", "3"]).expect("push");
        db.push("keep", ListEnd::Right, &["k"]).expect("push");
        db.write(|w, at| keyspace::copy(w, at, b"l", b"c", 0, false))
            .expect("copy");
        assert_eq!(db.all("c"), db.all("l"));
        assert_eq!(
            db.record("c").map(|r| r.payload),
            db.record("l").map(|r| r.payload)
        );
        assert_eq!(db.sub_count(), 7);
        db.write(|w, at| keyspace::del(w, at, [&b"l"[..], b"c"].into_iter()))
            .expect("del");
        db.engine.compact().expect("compact");
        assert_eq!(db.sub_count(), 1);
        assert_eq!(db.all("keep"), vec![b("k")]);
    }

    /// One step of the model test.
    #[derive(Debug, Clone)]
    enum Op {
        Push(bool, Vec<u8>),
        Pop(bool, Option<u64>),
        Set(i64, u8),
        Trim(i64, i64),
        Rem(i64, u8),
        Insert(bool, u8, u8),
        Del,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<bool>(), proptest::collection::vec(0u8..5, 1..5)).prop_map(|(l, v)| Op::Push(l, v)),
            3 => (any::<bool>(), proptest::option::of(0u64..4)).prop_map(|(l, c)| Op::Pop(l, c)),
            2 => (-8i64..8, 0u8..5).prop_map(|(i, v)| Op::Set(i, v)),
            1 => (-8i64..8, -8i64..8).prop_map(|(a, b)| Op::Trim(a, b)),
            2 => (-3i64..4, 0u8..5).prop_map(|(c, v)| Op::Rem(c, v)),
            2 => (any::<bool>(), 0u8..5, 0u8..5).prop_map(|(bf, p, v)| Op::Insert(bf, p, v)),
            1 => Just(Op::Del),
        ]
    }

    fn elem(v: u8) -> Vec<u8> {
        vec![b'a' + v]
    }

    fn side(left: bool) -> ListEnd {
        if left {
            ListEnd::Left
        } else {
            ListEnd::Right
        }
    }

    /// What `model` looks like after Redis's `LTRIM start stop`.
    fn model_trim(model: &mut VecDeque<Vec<u8>>, start: i64, stop: i64) {
        match clamp_range(start, stop, model.len() as u64) {
            Some((a, b)) => {
                model.truncate(b as usize + 1);
                model.drain(..a as usize);
            }
            None => model.clear(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(MODEL_CASES))]

        #[test]
        fn lists_behave_like_a_deque_in_memory(ops in proptest::collection::vec(op(), 1..40)) {
            lists_behave_like_a_deque(open(), ops)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn lists_behave_like_a_deque_on_rocksdb(ops in proptest::collection::vec(op(), 1..40)) {
            lists_behave_like_a_deque(Db(TestDb::open_rocks()), ops)?;
        }
    }

    /// Random pushes, pops, LSET, LTRIM, LREM, LINSERT and DEL agree with a VecDeque
    /// after every step: replies, LRANGE 0 -1, LLEN, and the key existing exactly when
    /// the model is non-empty, with exactly one sub-key per element.
    fn lists_behave_like_a_deque<E: KvEngine>(
        mut db: Db<E>,
        ops: Vec<Op>,
    ) -> Result<(), TestCaseError> {
        let mut model: VecDeque<Vec<u8>> = VecDeque::new();
        for op in ops {
            match op {
                Op::Push(left, vals) => {
                    let vals: Vec<Vec<u8>> = vals.into_iter().map(elem).collect();
                    for v in &vals {
                        if left {
                            model.push_front(v.clone())
                        } else {
                            model.push_back(v.clone())
                        }
                    }
                    let got = db.write(|w, at| {
                        push(
                            w,
                            at,
                            b"l",
                            side(left),
                            vals.iter().map(|v| v.as_slice()),
                            false,
                        )
                    });
                    prop_assert_eq!(got, Ok(Reply::Integer(model.len() as i64)));
                }
                Op::Pop(left, count) => {
                    let want = if model.is_empty() {
                        if count.is_some() {
                            Reply::NilArray
                        } else {
                            Reply::Nil
                        }
                    } else {
                        let mut take = || {
                            if left {
                                model.pop_front()
                            } else {
                                model.pop_back()
                            }
                        };
                        match count {
                            None => Reply::Bulk(take().unwrap_or_default()),
                            Some(n) => Reply::Array(
                                (0..n).map_while(|_| take()).map(Reply::Bulk).collect(),
                            ),
                        }
                    };
                    let got = db.write(|w, at| pop(w, at, b"l", side(left), count));
                    prop_assert_eq!(got, Ok(want));
                }
                Op::Set(index, v) => {
                    let want = if model.is_empty() {
                        Err(StorageError::NoSuchKey)
                    } else {
                        match resolve(index, model.len() as u64) {
                            Some(i) => {
                                model[i as usize] = elem(v);
                                Ok(Reply::ok())
                            }
                            None => Err(StorageError::IndexOutOfRange),
                        }
                    };
                    let got = db.write(|w, at| lset(w, at, b"l", index, &elem(v)));
                    prop_assert_eq!(got, want);
                }
                Op::Trim(start, stop) => {
                    model_trim(&mut model, start, stop);
                    let got = db.write(|w, at| ltrim(w, at, b"l", start, stop));
                    prop_assert_eq!(got, Ok(Reply::ok()));
                }
                Op::Rem(count, v) => {
                    let target = elem(v);
                    let limit = if count == 0 {
                        usize::MAX
                    } else {
                        count.unsigned_abs() as usize
                    };
                    let mut idx: Vec<usize> =
                        (0..model.len()).filter(|&i| model[i] == target).collect();
                    if count < 0 {
                        idx.reverse();
                    }
                    idx.truncate(limit);
                    idx.sort_unstable();
                    for i in idx.iter().rev() {
                        model.remove(*i);
                    }
                    let got = db.write(|w, at| lrem(w, at, b"l", count, &target));
                    prop_assert_eq!(got, Ok(Reply::Integer(idx.len() as i64)));
                }
                Op::Insert(before, p, v) => {
                    let want = if model.is_empty() {
                        0
                    } else {
                        match model.iter().position(|e| *e == elem(p)) {
                            Some(i) => {
                                model.insert(if before { i } else { i + 1 }, elem(v));
                                model.len() as i64
                            }
                            None => -1,
                        }
                    };
                    let got = db.write(|w, at| linsert(w, at, b"l", before, &elem(p), &elem(v)));
                    prop_assert_eq!(got, Ok(Reply::Integer(want)));
                }
                Op::Del => {
                    let existed = !model.is_empty();
                    model.clear();
                    let got = db.write(|w, at| keyspace::del(w, at, [&b"l"[..]].into_iter()));
                    prop_assert_eq!(got, Ok(Reply::Integer(i64::from(existed))));
                }
            }
            prop_assert_eq!(db.all("l"), model.iter().cloned().collect::<Vec<_>>());
            prop_assert_eq!(db.len("l"), model.len() as i64);
            prop_assert_eq!(db.record("l").is_some(), !model.is_empty());
            // Live sub-keys: exactly the elements (DEL leaves stale ones until
            // compaction, so count only those under the live version).
            if let Some(r) = db.record("l") {
                let prefix = keys::sub_prefix(0, b"l", r.version);
                let end = keys::prefix_end(&prefix).expect("prefix end");
                let mut n = 0;
                db.engine
                    .scan(Cf::Sub, &prefix, &end, &mut |_, _| {
                        n += 1;
                        true
                    })
                    .expect("scan");
                prop_assert_eq!(n, model.len());
            }
        }
        Ok(())
    }
}
