//! Stream commands (`XADD`, `XRANGE`, `XREVRANGE`, `XLEN`, `XDEL`, `XTRIM`, `XSETID`,
//! `XREAD` and what a blocked one reads, `XGROUP`) with Redis 7.0 semantics (issue 16);
//! consumer groups' records are `pel.rs`'s, `XREADGROUP`, `XACK` and `XPENDING`
//! `consume.rs`'s.
//!
//! A stream is a metadata record (type `stream`, `size` = number of entries, so `XLEN` is
//! one point read) whose 80-byte payload holds the stream's state ([`State`]: last id,
//! first id, max deleted id, entries added, group count, and the tail "node" the next entry
//! joins), plus one `sub` record per entry: sub-key `0x01 | ms: u64 BE | seq: u64 BE`, so
//! the entries of a key lie in id order and `XRANGE` is one range scan; value the entry's
//! node number and its field/value pairs; consumer groups, their consumers and (later)
//! pending entries are sub-keys of their own tags beside them (layout in
//! `docs/ENCODING.md`, Stream).
//!
//! Nodes mirror Redis's listpack nodes of `stream-node-max-entries` (100) entries, which
//! decide what `MAXLEN ~`/`MINID ~` trim: whole nodes only. Redis also closes a node at
//! `stream-node-max-bytes` (4096); tandem counts entries only, so for entries of more than
//! ~40 bytes `~` keeps more than Redis would (it is "at least", in both).
//!
//! Trims remove a prefix of the entries: up to [`POINT_DELETES_MAX`] entries as point
//! deletes, more as one range deletion. Walks start at the recorded first id, so the
//! deleted head of a long-lived stream is never stepped over. Deleting or overwriting a
//! stream is O(1) (versions; the compaction filter reclaims entries).
//!
//! Ids are resolved here, in the writer: `*` is `max(now, last id)` (Redis's
//! `streamNextID`), and the last id is in the metadata record, written in the same group as
//! the entry, so ids never go back across restarts or clock steps, and a resent `XADD` is
//! answered from the request's remembered reply (the same id). Errors Redis reports after
//! the key lookup are `Reply::Error` replies in Redis's text, written after nothing is
//! changed. This module sees only [`StoreRead`]/[`StoreWrite`].

use tandem_shared::command::{
    StreamId, StreamTrim, StreamTrimKind, XAddId, XGroupId, XGroupOp, XReadId,
};
use tandem_shared::{Reply, StorageError};

use super::{lookup_read, lookup_write, store_record, At, CmdResult};
use crate::engine::keys;
use crate::engine::metadata::{KeyType, Record};
use crate::engine::{Cf, StoreRead, StoreWrite};
use pel::Group;

/// Entries per node (Redis's default `stream-node-max-entries`).
pub const NODE_MAX_ENTRIES: u64 = 100;

/// Trims of at most this many entries delete them one by one; longer ones delete the
/// prefix with one range deletion (a RocksDB range tombstone per `XADD MAXLEN` would slow
/// every read of the stream).
pub const POINT_DELETES_MAX: u64 = 32;

/// Tag byte of an entry sub-key; the next ones hold consumer-group state.
const ENTRY_TAG: u8 = 0x01;

/// A consumer group: `0x02 | name`, value `last id ms | seq | entries_read: i64 BE`.
const GROUP_TAG: u8 = 0x02;

/// A pending entry of a group: `0x03 | name_len: u32 BE | group | ms | seq`, value
/// `consumer_len: u32 BE | consumer | delivery_ms: u64 BE | deliveries: u64 BE`.
const PEL_TAG: u8 = 0x03;

/// A consumer of a group: `0x04 | name_len: u32 BE | group | consumer`, value
/// `seen_ms: u64 BE`.
const CONSUMER_TAG: u8 = 0x04;

/// Length of the metadata payload.
const STATE_LEN: usize = 80;

/// Entries read per batch by walks that stop at a condition.
const WALK_BATCH: usize = 256;

const ZERO: StreamId = StreamId { ms: 0, seq: 0 };
const MAX: StreamId = StreamId {
    ms: u64::MAX,
    seq: u64::MAX,
};

/// The stream's state, kept in its metadata payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    /// The last id handed out (`last-generated-id`), whether or not it was deleted since.
    pub last_id: StreamId,
    /// The id of the first live entry (`recorded-first-entry-id`), 0-0 when empty.
    pub first_id: StreamId,
    /// The largest id `XDEL` removed (`max-deleted-entry-id`).
    pub max_deleted: StreamId,
    /// Entries ever added (`entries-added`).
    pub entries_added: u64,
    /// Consumer groups (none yet: groups are not implemented).
    pub groups: u64,
    /// The node the next entry joins, and how many entries it has received.
    pub tail_node: u64,
    pub tail_fill: u64,
}

impl State {
    fn empty() -> State {
        State {
            last_id: ZERO,
            first_id: ZERO,
            max_deleted: ZERO,
            entries_added: 0,
            groups: 0,
            tail_node: 0,
            tail_fill: 0,
        }
    }

    /// The payload bytes: ten `u64` BE, in field order (ids as `ms | seq`).
    pub fn encode(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(STATE_LEN);
        for v in [
            self.last_id.ms,
            self.last_id.seq,
            self.first_id.ms,
            self.first_id.seq,
            self.max_deleted.ms,
            self.max_deleted.seq,
            self.entries_added,
            self.groups,
            self.tail_node,
            self.tail_fill,
        ] {
            p.extend_from_slice(&v.to_be_bytes());
        }
        p
    }

    fn decode(p: &[u8]) -> Result<State, StorageError> {
        if p.len() != STATE_LEN {
            return Err(StorageError::Internal(format!(
                "stream metadata payload is {} bytes, not {STATE_LEN}",
                p.len()
            )));
        }
        let v = |i: usize| read_u64(&p[i * 8..]);
        let id = |i: usize| StreamId {
            ms: v(i),
            seq: v(i + 1),
        };
        Ok(State {
            last_id: id(0),
            first_id: id(2),
            max_deleted: id(4),
            entries_added: v(6),
            groups: v(7),
            tail_node: v(8),
            tail_fill: v(9),
        })
    }
}

fn read_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    let n = b.len().min(8);
    a[..n].copy_from_slice(&b[..n]);
    u64::from_be_bytes(a)
}

fn read_u32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

/// `ms-seq`, as Redis prints an id.
pub fn id_text(id: StreamId) -> String {
    format!("{}-{}", id.ms, id.seq)
}

fn id_reply(id: StreamId) -> Reply {
    Reply::Bulk(id_text(id).into_bytes())
}

/// The 17-byte sub-key suffix of an entry.
fn entry_suffix(id: StreamId) -> [u8; 17] {
    let mut s = [0u8; 17];
    s[0] = ENTRY_TAG;
    s[1..9].copy_from_slice(&id.ms.to_be_bytes());
    s[9..17].copy_from_slice(&id.seq.to_be_bytes());
    s
}

/// The id of an entry sub-key's suffix (after the version).
fn suffix_id(suffix: &[u8]) -> Option<StreamId> {
    if suffix.len() != 17 || suffix[0] != ENTRY_TAG {
        return None;
    }
    Some(StreamId {
        ms: read_u64(&suffix[1..9]),
        seq: read_u64(&suffix[9..17]),
    })
}

/// An entry's value: `node: u64 BE | pairs: u32 BE | (len: u32 BE | bytes)*`, field then
/// value for each pair.
fn encode_entry(node: u64, fields: &[(&[u8], &[u8])]) -> Vec<u8> {
    let size: usize = fields.iter().map(|(f, v)| 8 + f.len() + v.len()).sum();
    let mut out = Vec::with_capacity(12 + size);
    out.extend_from_slice(&node.to_be_bytes());
    out.extend_from_slice(&(fields.len() as u32).to_be_bytes());
    for (f, v) in fields {
        for part in [f, v] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part);
        }
    }
    out
}

fn corrupt_entry() -> StorageError {
    StorageError::Internal("stream entry value is malformed".to_owned())
}

/// The node of an entry value.
fn entry_node(value: &[u8]) -> Result<u64, StorageError> {
    if value.len() < 12 {
        return Err(corrupt_entry());
    }
    Ok(read_u64(value))
}

/// An entry's fields and values as the flat reply array Redis sends.
fn entry_fields(value: &[u8]) -> Result<Reply, StorageError> {
    let pairs = read_u32(value.get(8..).ok_or_else(corrupt_entry)?).ok_or_else(corrupt_entry)?;
    let mut items = Vec::with_capacity(pairs as usize * 2);
    let mut rest = &value[12..];
    for _ in 0..u64::from(pairs) * 2 {
        let len = read_u32(rest).ok_or_else(corrupt_entry)? as usize;
        let bytes = rest.get(4..4 + len).ok_or_else(corrupt_entry)?;
        items.push(Reply::Bulk(bytes.to_vec()));
        rest = &rest[4 + len..];
    }
    Ok(Reply::Array(items))
}

/// `[id, [field, value, ...]]`.
fn entry_reply(id: StreamId, value: &[u8]) -> Result<Reply, StorageError> {
    Ok(Reply::Array(vec![id_reply(id), entry_fields(value)?]))
}

fn err(text: &str) -> CmdResult {
    Ok(Reply::Error(format!("ERR {text}")))
}

/// A stream as one command sees it: the physical record before the command (for the
/// counters) and the record and state as the command leaves them.
struct Stream<'k> {
    key: &'k [u8],
    db: u8,
    old: Option<Record>,
    rec: Record,
    state: State,
}

fn stream_of(r: Option<Record>) -> Result<Option<Record>, StorageError> {
    match r {
        Some(r) if r.kind != KeyType::Stream => Err(StorageError::WrongType),
        other => Ok(other),
    }
}

impl<'k> Stream<'k> {
    fn from_record(db: u8, key: &'k [u8], rec: Record) -> Result<Stream<'k>, StorageError> {
        let state = State::decode(&rec.payload)?;
        Ok(Stream {
            key,
            db,
            old: Some(rec.clone()),
            rec,
            state,
        })
    }

    /// Opens `key` for writing: the live stream, else (with `create`) a new empty one under
    /// a fresh version, else `None`.
    fn open<W: StoreWrite + ?Sized>(
        w: &mut W,
        at: At,
        key: &'k [u8],
        create: bool,
    ) -> Result<Option<Stream<'k>>, StorageError> {
        match stream_of(lookup_write(w, at, key)?)? {
            Some(r) => Stream::from_record(at.db, key, r).map(Some),
            None if create => Ok(Some(Stream {
                key,
                db: at.db,
                old: None,
                rec: Record {
                    kind: KeyType::Stream,
                    flags: 0,
                    expire_at_ms: 0,
                    version: w.new_version(),
                    size: 0,
                    payload: Vec::new(),
                },
                state: State::empty(),
            })),
            None => Ok(None),
        }
    }

    /// Opens `key` for a read command.
    fn read<S: StoreRead + ?Sized>(
        s: &S,
        at: At,
        key: &'k [u8],
    ) -> Result<Option<Stream<'k>>, StorageError> {
        stream_of(lookup_read(s, at, key)?)?
            .map(|r| Stream::from_record(at.db, key, r))
            .transpose()
    }

    fn len(&self) -> u64 {
        self.rec.size
    }

    fn entry_key(&self, id: StreamId) -> Vec<u8> {
        keys::sub_key(self.db, self.key, self.rec.version, &entry_suffix(id))
    }

    /// The prefix of every entry sub-key, and the exclusive end of the entries.
    fn entries_range(&self) -> (Vec<u8>, Vec<u8>) {
        let start = keys::sub_key(self.db, self.key, self.rec.version, &[ENTRY_TAG]);
        let end = keys::sub_key(self.db, self.key, self.rec.version, &[ENTRY_TAG + 1]);
        (start, end)
    }

    /// The smallest key above `id`'s entry key.
    fn after_key(&self, id: StreamId) -> Vec<u8> {
        let mut k = self.entry_key(id);
        k.push(0);
        k
    }

    /// Visits the entries with `from <= id <= to` in id order until `visit` returns false.
    fn scan<S: StoreRead + ?Sized>(
        &self,
        s: &S,
        from: StreamId,
        to: StreamId,
        visit: &mut dyn FnMut(StreamId, &[u8]) -> bool,
    ) -> Result<(), StorageError> {
        // Nothing live lies below the first id: starting there skips a deleted head.
        let from = if self.len() > 0 {
            from.max(self.state.first_id)
        } else {
            from
        };
        if from > to {
            return Ok(());
        }
        let start = self.entry_key(from);
        let end = self.after_key(to);
        let prefix_len = start.len() - 17;
        let mut bad = false;
        s.scan(
            Cf::Sub,
            &start,
            &end,
            &mut |k, v| match suffix_id(&k[prefix_len..]) {
                Some(id) => visit(id, v),
                None => {
                    bad = true;
                    false
                }
            },
        )?;
        if bad {
            return Err(StorageError::Internal(
                "stream entry key is malformed".to_owned(),
            ));
        }
        Ok(())
    }

    /// Up to `n` entries from `from` on: `(id, node)`.
    fn ids_from<S: StoreRead + ?Sized>(
        &self,
        s: &S,
        from: StreamId,
        n: usize,
    ) -> Result<Vec<(StreamId, u64)>, StorageError> {
        let mut out = Vec::new();
        let mut bad = false;
        self.scan(s, from, MAX, &mut |id, v| match entry_node(v) {
            Ok(node) => {
                out.push((id, node));
                out.len() < n
            }
            Err(_) => {
                bad = true;
                false
            }
        })?;
        if bad {
            return Err(corrupt_entry());
        }
        Ok(out)
    }

    /// The id of the last live entry (Redis's `streamLastValidID`), `None` when empty.
    fn last_entry_id<S: StoreRead + ?Sized>(
        &self,
        s: &S,
    ) -> Result<Option<StreamId>, StorageError> {
        if self.len() == 0 {
            return Ok(None);
        }
        let (start, end) = self.entries_range();
        let prefix_len = start.len() - 1;
        Ok(s.last_key(Cf::Sub, &start, &end)?
            .and_then(|k| suffix_id(&k[prefix_len..])))
    }

    /// Writes the metadata record as the command leaves it.
    fn store<W: StoreWrite + ?Sized>(&mut self, w: &mut W) {
        self.rec.payload = self.state.encode();
        store_record(w, self.db, self.key, self.old.as_ref(), &self.rec);
    }

    /// Removes the first `n` entries, `first` being the first of them and `kept` the first
    /// entry that stays; `ids` holds the removed ids when there are few of them.
    fn remove_prefix<W: StoreWrite + ?Sized>(
        &mut self,
        w: &mut W,
        n: u64,
        few: &[StreamId],
        kept: Option<StreamId>,
    ) {
        if n == 0 {
            return;
        }
        if n <= POINT_DELETES_MAX && few.len() as u64 == n {
            for &id in few {
                w.delete(Cf::Sub, self.entry_key(id));
            }
        } else {
            let start = self.entry_key(self.state.first_id);
            let end = match kept {
                Some(id) => self.entry_key(id),
                None => self.entries_range().1,
            };
            w.delete_range(Cf::Sub, start, end);
        }
        self.rec.size -= n;
        self.state.first_id = match kept {
            Some(id) if self.rec.size > 0 => id,
            _ => ZERO,
        };
    }

    /// Redis's `streamTrim`: removes entries from the head by `trim`'s rule; returns how
    /// many. Exact trims remove exactly what the rule asks; `~` removes whole nodes only,
    /// and no more than `limit` entries (0: no limit).
    fn trim<W: StoreWrite + ?Sized>(
        &mut self,
        w: &mut W,
        trim: StreamTrim,
    ) -> Result<u64, StorageError> {
        if self.len() == 0 {
            return Ok(0);
        }
        let mut removed: u64 = 0;
        let mut few: Vec<StreamId> = Vec::new();
        let mut kept: Option<StreamId> = None;
        let mut len = self.len();
        let mut from = self.state.first_id;
        // The node being looked at: its entries so far.
        let mut node: Option<(u64, Vec<StreamId>)> = None;
        'walk: loop {
            if let StreamTrimKind::MaxLen(max) = trim.kind {
                if len <= max && !trim.approx {
                    break;
                }
            }
            let batch = self.ids_from(&*w, from, WALK_BATCH)?;
            let following = batch.last().and_then(|&(last, _)| next(last));
            let exhausted = batch.len() < WALK_BATCH || following.is_none();
            if let Some(id) = following {
                from = id;
            }
            let mut items = batch.into_iter().map(Some).collect::<Vec<_>>();
            if exhausted {
                items.push(None);
            }
            for item in items {
                if !trim.approx {
                    let Some((id, _)) = item else {
                        break 'walk;
                    };
                    let remove = match trim.kind {
                        StreamTrimKind::MaxLen(max) => len > max,
                        StreamTrimKind::MinId(min) => id < min,
                    };
                    if !remove {
                        kept = Some(id);
                        break 'walk;
                    }
                    removed += 1;
                    len -= 1;
                    if few.len() as u64 <= POINT_DELETES_MAX {
                        few.push(id);
                    }
                    continue;
                }
                // Approximate: decide a node once its last entry has been seen.
                let ends_node = match (&node, item) {
                    (Some((n, _)), Some((_, next_node))) => *n != next_node,
                    (Some(_), None) => true,
                    (None, _) => false,
                };
                if ends_node {
                    let Some((_, ids)) = node.take() else {
                        break 'walk;
                    };
                    let entries = ids.len() as u64;
                    if let StreamTrimKind::MaxLen(max) = trim.kind {
                        if len <= max {
                            kept = ids.first().copied();
                            break 'walk;
                        }
                    }
                    if trim.limit > 0 && removed + entries > trim.limit {
                        kept = ids.first().copied();
                        break 'walk;
                    }
                    let remove_node = match trim.kind {
                        StreamTrimKind::MaxLen(max) => len - entries >= max,
                        StreamTrimKind::MinId(min) => ids.last().is_some_and(|&l| l < min),
                    };
                    if !remove_node {
                        kept = ids.first().copied();
                        break 'walk;
                    }
                    removed += entries;
                    len -= entries;
                    for id in ids {
                        if few.len() as u64 <= POINT_DELETES_MAX {
                            few.push(id);
                        }
                    }
                }
                match item {
                    Some((id, n)) => match &mut node {
                        Some((_, ids)) => ids.push(id),
                        None => node = Some((n, vec![id])),
                    },
                    None => break 'walk,
                }
            }
        }
        self.remove_prefix(w, removed, &few, kept);
        Ok(removed)
    }
}

/// The id after `id`, `None` past the largest (Redis's `streamIncrID`).
pub fn next(id: StreamId) -> Option<StreamId> {
    if id.seq < u64::MAX {
        Some(StreamId {
            ms: id.ms,
            seq: id.seq + 1,
        })
    } else if id.ms < u64::MAX {
        Some(StreamId {
            ms: id.ms + 1,
            seq: 0,
        })
    } else {
        None
    }
}

/// What an `XADD` did: its reply, and whether its trim removed entries (for `xtrim`).
pub struct Added {
    pub reply: Reply,
    pub trimmed: bool,
}

/// `XADD`. The reply is the new id, a null with `NOMKSTREAM` on a missing key, or Redis's
/// error for an id not above the stream's top item or a stream at the largest id.
///
/// # Errors
/// `WRONGTYPE`; storage failures.
pub fn xadd<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    id: XAddId,
    no_mkstream: bool,
    trim: Option<StreamTrim>,
    fields: &[(&[u8], &[u8])],
) -> Result<Added, StorageError> {
    let reply = |reply| Added {
        reply,
        trimmed: false,
    };
    let Some(mut s) = Stream::open(w, at, key, !no_mkstream)? else {
        return Ok(reply(Reply::Nil));
    };
    let last = s.state.last_id;
    if last == MAX {
        return err("The stream has exhausted the last possible ID, unable to add more items")
            .map(reply);
    }
    let too_small = "The ID specified in XADD is equal or smaller than the target stream top item";
    let new_id = match id {
        // Redis's `streamNextID`: the clock, unless it is not past the last id.
        XAddId::Auto if at.now_ms > last.ms => StreamId {
            ms: at.now_ms,
            seq: 0,
        },
        XAddId::Auto => next(last).unwrap_or(MAX),
        // Redis 7.0 leaves `errno` unset on this path, so it reports the wrong reason.
        XAddId::AutoSeq(ms) if ms == last.ms => match last.seq.checked_add(1) {
            Some(seq) => StreamId { ms, seq },
            None => return err("Elements are too large to be stored").map(reply),
        },
        XAddId::AutoSeq(ms) => StreamId { ms, seq: 0 },
        XAddId::Explicit(id) => id,
    };
    if new_id <= last {
        return err(too_small).map(reply);
    }
    if s.len() == 0 || s.state.tail_fill >= NODE_MAX_ENTRIES {
        s.state.tail_node += 1;
        s.state.tail_fill = 0;
    }
    s.state.tail_fill += 1;
    w.put(
        Cf::Sub,
        s.entry_key(new_id),
        encode_entry(s.state.tail_node, fields),
    );
    s.rec.size += 1;
    s.state.entries_added += 1;
    s.state.last_id = new_id;
    if s.len() == 1 {
        s.state.first_id = new_id;
    }
    let trimmed = match trim {
        Some(t) => s.trim(w, t)? > 0,
        None => false,
    };
    s.store(w);
    Ok(Added {
        reply: id_reply(new_id),
        trimmed,
    })
}

/// `XTRIM`: the number of entries removed (0 for a missing key).
///
/// # Errors
/// `WRONGTYPE`; storage failures.
pub fn xtrim<W: StoreWrite + ?Sized>(w: &mut W, at: At, key: &[u8], trim: StreamTrim) -> CmdResult {
    let Some(mut s) = Stream::open(w, at, key, false)? else {
        return Ok(Reply::Integer(0));
    };
    let removed = s.trim(w, trim)?;
    if removed > 0 {
        s.store(w);
    }
    Ok(Reply::Integer(removed as i64))
}

/// `XDEL`: the number of the given ids that were entries (each counted once); `ids`
/// `None` (one was malformed) is Redis's invalid-id error, for an existing stream only.
///
/// # Errors
/// `WRONGTYPE`; storage failures.
pub fn xdel<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    ids: Option<&[StreamId]>,
) -> CmdResult {
    let Some(mut s) = Stream::open(w, at, key, false)? else {
        return Ok(Reply::Integer(0));
    };
    let Some(ids) = ids else {
        return err("Invalid stream ID specified as stream command argument");
    };
    let mut deleted = 0u64;
    let mut first_deleted = false;
    for &id in ids {
        let k = s.entry_key(id);
        if w.get(Cf::Sub, &k)?.is_none() {
            continue;
        }
        w.delete(Cf::Sub, k);
        deleted += 1;
        s.rec.size -= 1;
        first_deleted |= id == s.state.first_id;
        s.state.max_deleted = s.state.max_deleted.max(id);
    }
    if deleted > 0 {
        if s.len() == 0 {
            s.state.first_id = ZERO;
        } else if first_deleted {
            let from = s.state.first_id;
            s.state.first_id = s
                .ids_from(&*w, from, 1)?
                .first()
                .map_or(ZERO, |&(id, _)| id);
        }
        s.store(w);
    }
    Ok(Reply::Integer(deleted as i64))
}

/// `XSETID`. Replies OK, or Redis's error for an id below the top entry or an
/// entries-added below the length (Redis 7.0 does not compare the id with the max deleted
/// id).
///
/// # Errors
/// `ERR no such key`, `WRONGTYPE`; storage failures.
pub fn xsetid<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    last: StreamId,
    entries_added: Option<u64>,
    max_deleted: Option<StreamId>,
) -> CmdResult {
    let Some(mut s) = Stream::open(w, at, key, false)? else {
        return Err(StorageError::NoSuchKey);
    };
    if let Some(top) = s.last_entry_id(&*w)? {
        if last < top {
            return err("The ID specified in XSETID is smaller than the target stream top item");
        }
        if entries_added.is_some_and(|n| n < s.len()) {
            return err(
                "The entries_added specified in XSETID is smaller than the target stream length",
            );
        }
    }
    s.state.last_id = last;
    if let Some(n) = entries_added {
        s.state.entries_added = n;
    }
    if let Some(id) = max_deleted.filter(|&id| id != ZERO) {
        s.state.max_deleted = id;
    }
    s.store(w);
    Ok(Reply::ok())
}

/// `XLEN`.
///
/// # Errors
/// `WRONGTYPE`; storage failures.
pub fn xlen<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8]) -> CmdResult {
    let len = Stream::read(s, at, key)?.map_or(0, |st| st.len());
    Ok(Reply::Integer(len as i64))
}

/// `XRANGE` (`rev`: `XREVRANGE`) over the inclusive `[start, end]`; `count` `Some(0)` is a
/// null array, as in Redis.
///
/// # Errors
/// `WRONGTYPE`; storage failures.
pub fn xrange<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    start: StreamId,
    end: StreamId,
    count: Option<u64>,
    rev: bool,
) -> CmdResult {
    let Some(st) = Stream::read(s, at, key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let limit = match count {
        Some(0) => return Ok(Reply::NilArray),
        Some(n) => n,
        None => u64::MAX,
    };
    let items = if rev {
        st.range_rev(s, start, end, limit)?
    } else {
        st.range(s, start, end, limit)?
    };
    Ok(Reply::Array(items))
}

impl Stream<'_> {
    /// Entries with `start <= id <= end`, first to last, at most `limit`.
    fn range<S: StoreRead + ?Sized>(
        &self,
        s: &S,
        start: StreamId,
        end: StreamId,
        limit: u64,
    ) -> Result<Vec<Reply>, StorageError> {
        let mut out = Vec::new();
        let mut failed = None;
        self.scan(s, start, end, &mut |id, v| {
            if out.len() as u64 >= limit {
                return false;
            }
            match entry_reply(id, v) {
                Ok(r) => out.push(r),
                Err(e) => {
                    failed = Some(e);
                    return false;
                }
            }
            (out.len() as u64) < limit
        })?;
        match failed {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Entries with `start <= id <= end`, last to first, at most `limit`: one seek down
    /// per entry.
    fn range_rev<S: StoreRead + ?Sized>(
        &self,
        s: &S,
        start: StreamId,
        end: StreamId,
        limit: u64,
    ) -> Result<Vec<Reply>, StorageError> {
        let mut out = Vec::new();
        if start > end || self.len() == 0 {
            return Ok(out);
        }
        let start = start.max(self.state.first_id);
        let low = self.entry_key(start);
        let mut high = self.after_key(end);
        let prefix_len = low.len() - 17;
        while (out.len() as u64) < limit {
            let Some(k) = s.last_key(Cf::Sub, &low, &high)? else {
                break;
            };
            let id = suffix_id(&k[prefix_len..]).ok_or_else(corrupt_entry)?;
            let v = s.get(Cf::Sub, &k)?.ok_or_else(corrupt_entry)?;
            out.push(entry_reply(id, &v)?);
            high = k;
        }
        Ok(out)
    }
}

/// `XREAD` without `BLOCK`: for each stream with entries above its id, `[key, entries]`
/// (a map in RESP3); a null array when none has any.
///
/// # Errors
/// `WRONGTYPE` for the first key of another type (before any later id's error, as Redis
/// checks them in turn); storage failures.
pub fn xread<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    count: u64,
    keys: &[&[u8]],
    ids: &[XReadId],
) -> CmdResult {
    let mut streams = Vec::with_capacity(keys.len());
    for (&key, &id) in keys.iter().zip(ids) {
        let st = Stream::read(s, at, key)?;
        let after = match id {
            XReadId::Id(id) => id,
            XReadId::Last => st.as_ref().map_or(ZERO, |st| st.state.last_id),
            XReadId::NewOnly => {
                return err("The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.");
            }
            XReadId::Invalid => {
                return err("Invalid stream ID specified as stream command argument");
            }
        };
        streams.push((key, st, after));
    }
    let mut out = Vec::new();
    for (key, st, after) in streams {
        if let Some(entries) = st
            .map(|st| st.after(s, after, count))
            .transpose()?
            .flatten()
        {
            out.push((Reply::bulk(key), Reply::Array(entries)));
        }
    }
    if out.is_empty() {
        return Ok(Reply::NilArray);
    }
    Ok(Reply::PairMap(out))
}

impl Stream<'_> {
    /// The entries above `after` (at most `count`, 0 for all), `None` when there are none:
    /// Redis serves a reader only when the last live entry is above its id.
    fn after<S: StoreRead + ?Sized>(
        &self,
        s: &S,
        after: StreamId,
        count: u64,
    ) -> Result<Option<Vec<Reply>>, StorageError> {
        let Some(top) = self.last_entry_id(s)? else {
            return Ok(None);
        };
        if top <= after {
            return Ok(None);
        }
        let start = next(after).unwrap_or(after);
        let limit = if count == 0 { u64::MAX } else { count };
        self.range(s, start, MAX, limit).map(Some)
    }
}

/// A blocked `XREAD` served from one key: `[[key, entries]]` (a map in RESP3) when the
/// key is a stream with entries above `after`, else a null array (the reader stays
/// blocked; a key of another type does not end its wait, as in Redis 7.0).
///
/// # Errors
/// Storage failures.
pub fn read_blocked<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    after: StreamId,
    count: u64,
) -> CmdResult {
    let st = match Stream::read(s, at, key) {
        Ok(st) => st,
        Err(StorageError::WrongType) => None,
        Err(e) => return Err(e),
    };
    match st
        .map(|st| st.after(s, after, count))
        .transpose()?
        .flatten()
    {
        Some(entries) => Ok(Reply::PairMap(vec![(
            Reply::bulk(key),
            Reply::Array(entries),
        )])),
        None => Ok(Reply::NilArray),
    }
}

/// The ids a blocking `XREAD` waits above, one per key: `$` is the stream's last id now
/// (0-0 for a missing key or one of another type). The malformed forms never wait (the
/// first run answered their error); they map to the largest id.
///
/// # Errors
/// Storage failures.
pub fn resolve_ids<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    keys: &[&[u8]],
    ids: &[XReadId],
) -> Result<Vec<StreamId>, StorageError> {
    keys.iter()
        .zip(ids)
        .map(|(&key, &id)| match id {
            XReadId::Id(id) => Ok(id),
            XReadId::Last => match Stream::read(s, at, key) {
                Ok(st) => Ok(st.map_or(ZERO, |st| st.state.last_id)),
                Err(StorageError::WrongType) => Ok(ZERO),
                Err(e) => Err(e),
            },
            XReadId::NewOnly | XReadId::Invalid => Ok(MAX),
        })
        .collect()
}

impl Stream<'_> {
    fn sub(&self, suffix: &[u8]) -> Vec<u8> {
        keys::sub_key(self.db, self.key, self.rec.version, suffix)
    }
}

const KEY_MUST_EXIST: &str = "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";

/// `XGROUP` (every subcommand but HELP), checks in Redis's order: the key's type, its
/// existence (unless `CREATE … MKSTREAM`), the group's (for SETID, CREATECONSUMER,
/// DELCONSUMER), then the subcommand's own. Replies OK, `BUSYGROUP`, 1/0 (DESTROY,
/// CREATECONSUMER) or the consumer's pending count (DELCONSUMER).
///
/// # Errors
/// `WRONGTYPE`; storage failures.
#[allow(clippy::too_many_arguments)]
pub fn xgroup<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    group: &[u8],
    op: &XGroupOp,
    sub: &[u8],
    late_syntax: bool,
    now_ms: u64,
) -> CmdResult {
    let mkstream = matches!(op, XGroupOp::Create { mkstream: true, .. });
    // With MKSTREAM a missing key is a new empty stream, stored only if the group is made.
    let Some(mut s) = Stream::open(w, at, key, mkstream)? else {
        return err(KEY_MUST_EXIST);
    };
    let is_new = s.old.is_none();
    let group_key = s.group_key(group);
    let exists = !is_new && w.get(Cf::Sub, &group_key)?.is_some();
    if !exists && !matches!(op, XGroupOp::Create { .. } | XGroupOp::Destroy) {
        return Ok(Reply::Error(format!(
            "NOGROUP No such consumer group '{}' for key name '{}'",
            String::from_utf8_lossy(group),
            String::from_utf8_lossy(key)
        )));
    }
    if late_syntax {
        return err(&format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try XGROUP HELP.",
            String::from_utf8_lossy(sub)
        ));
    }
    let resolve = |id: &XGroupId, s: &Stream<'_>| match *id {
        XGroupId::Id(id) => Some(id),
        XGroupId::Last => Some(s.state.last_id),
        XGroupId::Invalid => None,
    };
    const INVALID: &str = "Invalid stream ID specified as stream command argument";
    match op {
        XGroupOp::Create {
            id, entries_read, ..
        } => {
            let Some(id) = resolve(id, &s) else {
                return err(INVALID);
            };
            if exists {
                return Ok(Reply::Error(
                    "BUSYGROUP Consumer Group name already exists".to_owned(),
                ));
            }
            let g = Group {
                last_id: id,
                entries_read: *entries_read,
            };
            s.put_group(w, group, &g);
            s.state.groups += 1;
            s.store(w);
            Ok(Reply::ok())
        }
        XGroupOp::SetId { id, entries_read } => {
            let Some(id) = resolve(id, &s) else {
                return err(INVALID);
            };
            let g = Group {
                last_id: id,
                entries_read: *entries_read,
            };
            s.put_group(w, group, &g);
            Ok(Reply::ok())
        }
        XGroupOp::Destroy => {
            if !exists {
                return Ok(Reply::Integer(0));
            }
            w.delete(Cf::Sub, group_key);
            s.clear_group(w, group);
            s.state.groups = s.state.groups.saturating_sub(1);
            s.store(w);
            Ok(Reply::Integer(1))
        }
        XGroupOp::CreateConsumer { consumer } => {
            if s.consumer(&*w, group, consumer)?.is_some() {
                return Ok(Reply::Integer(0));
            }
            s.put_consumer(w, group, consumer, now_ms);
            Ok(Reply::Integer(1))
        }
        XGroupOp::DelConsumer { consumer } => {
            if s.consumer(&*w, group, consumer)?.is_none() {
                return Ok(Reply::Integer(0));
            }
            // Its pending entries go with it.
            let mut owned = Vec::new();
            s.scan_pending(&*w, group, ZERO, MAX, Some(consumer), &mut |p| {
                owned.push(p.id);
                true
            })?;
            for &id in &owned {
                s.delete_pending(w, group, id);
            }
            s.delete_consumer(w, group, consumer);
            Ok(Reply::Integer(owned.len() as i64))
        }
    }
}

/// `XGROUP HELP`, Redis 7.0's text.
pub fn xgroup_help() -> Reply {
    const LINES: &[&str] = &[
        "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
        "HELP",
        "    Prints this help.",
    ];
    Reply::Array(
        LINES
            .iter()
            .map(|l| Reply::Simple((*l).to_owned()))
            .collect(),
    )
}

mod consume;
mod pel;

pub use consume::{consumer_exists, read_group_blocked, xack, xpending, xreadgroup, GroupRead};

mod claim;
mod info;
pub use claim::{xautoclaim, xclaim, ClaimArgs, Claimed};
pub use info::{xinfo_consumers, xinfo_groups, xinfo_help, xinfo_stream};

/// A stream to and from the RDB codec's value (`DUMP`, `RESTORE`, `import-rdb`,
/// `export-rdb`).
pub mod serial;

#[cfg(test)]
mod tests;
