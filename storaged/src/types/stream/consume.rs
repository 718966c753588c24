//! Consuming a stream through a consumer group, Redis 7.0's `XREADGROUP` (at once, and
//! what a blocked one is served), `XACK` and `XPENDING` (`t_stream.c`: `xreadCommand`,
//! `streamReplyWithRange`, `streamReplyWithRangeFromConsumerPEL`, `xackCommand`,
//! `xpendingCommand`; the blocked reader's service is `serveClientsBlockedOnStreamKey`).
//!
//! Reading new entries (`>`) moves the group's last id and `entries_read` and gives each
//! entry a pending record (delivery time now, one delivery; an entry already pending, after
//! an `XGROUP SETID` back, changes owner and starts again at one), unless `NOACK`. Reading
//! an explicit id re-reads the consumer's own pending entries above it, counting one more
//! delivery for each that still exists (a deleted one is `[id, nil]`, uncounted). The
//! consumer is created (seen time now) whenever a stream serves it. The records are
//! `pel.rs`'s; this module decides what Redis does with them and never writes the stream's
//! metadata (none of these commands changes it).

use tandem_shared::command::{StreamId, XPendingRange, XReadId};
use tandem_shared::{Reply, StorageError};

use super::pel::{Group, Pending};
use super::{entry_reply, err, id_reply, next, Stream, MAX, ZERO};
use crate::engine::{StoreRead, StoreWrite};
use crate::types::{At, CmdResult};

/// Entries a blocked reader without `COUNT` is served at most (Redis's
/// `XREAD_BLOCKED_DEFAULT_COUNT`).
pub const BLOCKED_DEFAULT_COUNT: u64 = 1000;

/// What an `XREADGROUP` did: its reply, and the keys (indexes into the command's keys)
/// whose group got a new consumer (`xgroup-createconsumer`, in that order).
#[derive(Debug)]
pub struct GroupRead {
    pub reply: Reply,
    pub created: Vec<usize>,
}

impl GroupRead {
    fn reply(reply: Reply) -> GroupRead {
        GroupRead {
            reply,
            created: Vec::new(),
        }
    }
}

/// The consumer a served stream reads for.
struct Reader<'a> {
    group: &'a [u8],
    consumer: &'a [u8],
    noack: bool,
}

fn text(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// Redis's `streamRangeHasTombstones(s, from, NULL)`: whether an entry at or above `from`
/// may have been deleted.
fn has_tombstones(s: &Stream<'_>, from: StreamId) -> bool {
    let st = &s.state;
    if s.len() == 0 || st.max_deleted == ZERO || st.first_id > st.max_deleted {
        return false;
    }
    from <= st.max_deleted
}

/// Redis 7.0's `streamEstimateDistanceFromFirstEverEntry`: the entries-read counter of
/// `id`, -1 when it cannot be known.
pub(crate) fn estimate_entries_read(s: &Stream<'_>, id: StreamId) -> i64 {
    let st = &s.state;
    let added = st.entries_added as i64;
    if st.entries_added == 0 {
        return 0;
    }
    if s.len() == 0 && id <= st.last_id {
        return added;
    }
    match id.cmp(&st.last_id) {
        std::cmp::Ordering::Equal => return added,
        std::cmp::Ordering::Greater => return -1,
        std::cmp::Ordering::Less => {}
    }
    if st.max_deleted == ZERO || st.max_deleted < st.first_id {
        let len = s.len() as i64;
        if id < st.first_id {
            return added - len;
        }
        if id == st.first_id {
            return added - len + 1;
        }
    }
    -1
}

impl Stream<'_> {
    /// The entries above `after`, at most `count` (0: all).
    fn new_entries<S: StoreRead + ?Sized>(
        &self,
        s: &S,
        after: StreamId,
        count: u64,
    ) -> Result<Vec<(StreamId, Vec<u8>)>, StorageError> {
        let mut entries = Vec::new();
        let Some(start) = next(after) else {
            return Ok(entries);
        };
        if self.len() == 0 {
            return Ok(entries);
        }
        let limit = if count == 0 { u64::MAX } else { count };
        self.scan(s, start, MAX, &mut |id, v| {
            entries.push((id, v.to_vec()));
            (entries.len() as u64) < limit
        })?;
        Ok(entries)
    }

    /// Delivers new entries (`>`) to `reader`: moves the group's last id over each and
    /// makes it pending (unless `NOACK`).
    fn deliver<W: StoreWrite + ?Sized>(
        &self,
        w: &mut W,
        at: At,
        reader: &Reader<'_>,
        mut group: Group,
        entries: Vec<(StreamId, Vec<u8>)>,
    ) -> Result<Vec<Reply>, StorageError> {
        let mut out = Vec::with_capacity(entries.len());
        for (id, value) in &entries {
            let id = *id;
            if id > group.last_id {
                if group.entries_read != -1 && !has_tombstones(self, id) {
                    group.entries_read += 1;
                } else if self.state.entries_added > 0 {
                    group.entries_read = estimate_entries_read(self, id);
                }
                group.last_id = id;
            }
            out.push(entry_reply(id, value)?);
            if !reader.noack {
                self.put_pending(
                    w,
                    reader.group,
                    &Pending {
                        id,
                        consumer: reader.consumer.to_vec(),
                        delivery_ms: at.now_ms,
                        deliveries: 1,
                    },
                );
            }
        }
        if !entries.is_empty() {
            self.put_group(w, reader.group, &group);
        }
        Ok(out)
    }

    /// Serves `reader` its own pending entries above `after` again, at most `count` (0:
    /// all): each that still exists counts one more delivery, now; a deleted one is
    /// `[id, nil]`.
    fn serve_history<W: StoreWrite + ?Sized>(
        &self,
        w: &mut W,
        at: At,
        reader: &Reader<'_>,
        after: StreamId,
        count: u64,
    ) -> Result<Vec<Reply>, StorageError> {
        let Some(start) = next(after) else {
            return Ok(Vec::new());
        };
        let limit = if count == 0 {
            usize::MAX
        } else {
            count as usize
        };
        let pending = self.pending_from(&*w, reader.group, start, Some(reader.consumer), limit)?;
        let mut out = Vec::with_capacity(pending.len());
        for mut p in pending {
            match w.get(crate::engine::Cf::Sub, &self.entry_key(p.id))? {
                Some(value) => {
                    out.push(entry_reply(p.id, &value)?);
                    p.delivery_ms = at.now_ms;
                    p.deliveries = p.deliveries.wrapping_add(1);
                    self.put_pending(w, reader.group, &p);
                }
                None => out.push(Reply::Array(vec![id_reply(p.id), Reply::NilArray])),
            }
        }
        Ok(out)
    }

    /// Looks up `reader`'s consumer, creating it; sets its seen time to now. True if it was
    /// created.
    fn touch_consumer<W: StoreWrite + ?Sized>(
        &self,
        w: &mut W,
        at: At,
        reader: &Reader<'_>,
    ) -> Result<bool, StorageError> {
        let created = self.consumer(&*w, reader.group, reader.consumer)?.is_none();
        self.put_consumer(w, reader.group, reader.consumer, at.now_ms);
        Ok(created)
    }
}

fn no_group(key: &[u8], group: &[u8]) -> Reply {
    Reply::Error(format!(
        "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
        text(key),
        text(group)
    ))
}

/// `XREADGROUP` without blocking: checks every stream in turn (type, key and group, then
/// its id: `$` and malformed ids are errors), then serves each stream that has something
/// for the reader (an explicit id always: the consumer's history above it; `>` when the
/// stream's last entry is above the group's last id) as `[key, entries]` (a map in
/// RESP3); a null array when none does.
///
/// # Errors
/// `WRONGTYPE` for the first key of another type (before any later key's error, as Redis
/// checks them in turn); storage failures.
#[allow(clippy::too_many_arguments)]
pub fn xreadgroup<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    group: &[u8],
    consumer: &[u8],
    count: u64,
    noack: bool,
    keys: &[&[u8]],
    ids: &[XReadId],
) -> Result<GroupRead, StorageError> {
    // `None`: `>`.
    let mut streams: Vec<(Stream<'_>, Group, Option<StreamId>)> = Vec::with_capacity(keys.len());
    for (&key, &id) in keys.iter().zip(ids) {
        let stream = Stream::open(w, at, key, false)?;
        let found = match &stream {
            Some(s) => s.group(&*w, group)?,
            None => None,
        };
        let (Some(s), Some(g)) = (stream, found) else {
            return Ok(GroupRead::reply(no_group(key, group)));
        };
        let after = match id {
            // `>` is Redis's largest id, so the largest id given explicitly means `>` too.
            XReadId::NewOnly | XReadId::Id(MAX) => None,
            XReadId::Id(id) => Some(id),
            XReadId::Last => {
                return err("The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.").map(GroupRead::reply);
            }
            XReadId::Invalid => {
                return err("Invalid stream ID specified as stream command argument")
                    .map(GroupRead::reply);
            }
        };
        streams.push((s, g, after));
    }
    let reader = Reader {
        group,
        consumer,
        noack,
    };
    let mut out = Vec::new();
    let mut created = Vec::new();
    for (i, (s, g, after)) in streams.iter().enumerate() {
        // An earlier stream of the same key may have moved the group: read it again then.
        let g = if keys[..i].contains(&s.key) {
            match s.group(&*w, group)? {
                Some(g) => g,
                None => continue,
            }
        } else {
            *g
        };
        let entries = match after {
            Some(after) => {
                if s.touch_consumer(w, at, &reader)? {
                    created.push(i);
                }
                s.serve_history(w, at, &reader, *after, count)?
            }
            None => {
                // Served when an entry lies above the group's last id (Redis: the last
                // live entry does), so the scan that finds them decides.
                let fresh = s.new_entries(&*w, g.last_id, count)?;
                if fresh.is_empty() {
                    continue;
                }
                if s.touch_consumer(w, at, &reader)? {
                    created.push(i);
                }
                s.deliver(w, at, &reader, g, fresh)?
            }
        };
        out.push((Reply::bulk(s.key), Reply::Array(entries)));
    }
    let reply = if out.is_empty() {
        Reply::NilArray
    } else {
        Reply::PairMap(out)
    };
    Ok(GroupRead { reply, created })
}

/// What a blocked `XREADGROUP` (every id `>`) is served from `key` once it was written:
/// `[[key, entries]]` (a map in RESP3) when the stream's last id is past the group's, at
/// most `count` entries (0: [`BLOCKED_DEFAULT_COUNT`]); Redis's errors when the key no
/// longer holds a stream or the group is gone; else a null array (it stays blocked).
///
/// # Errors
/// Storage failures.
pub fn read_group_blocked<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    group: &[u8],
    consumer: &[u8],
    count: u64,
    noack: bool,
) -> Result<GroupRead, StorageError> {
    let s = match Stream::open(w, at, key, false) {
        Ok(Some(s)) => s,
        Ok(None) | Err(StorageError::WrongType) => {
            return Ok(GroupRead::reply(Reply::Error(
                "UNBLOCKED the stream key no longer exists".to_owned(),
            )));
        }
        Err(e) => return Err(e),
    };
    let Some(g) = s.group(&*w, group)? else {
        return Ok(GroupRead::reply(Reply::Error(
            "NOGROUP the consumer group this client was blocked on no longer exists".to_owned(),
        )));
    };
    if s.state.last_id <= g.last_id {
        return Ok(GroupRead::reply(Reply::NilArray));
    }
    let reader = Reader {
        group,
        consumer,
        noack,
    };
    let created = s.touch_consumer(w, at, &reader)?;
    let count = if count == 0 {
        BLOCKED_DEFAULT_COUNT
    } else {
        count
    };
    let fresh = s.new_entries(&*w, g.last_id, count)?;
    let entries = s.deliver(w, at, &reader, g, fresh)?;
    Ok(GroupRead {
        reply: Reply::PairMap(vec![(Reply::bulk(key), Reply::Array(entries))]),
        created: if created { vec![0] } else { Vec::new() },
    })
}

/// Whether `key` is a stream whose group `group` has the consumer `consumer` (false for a
/// missing key, group or consumer, or a key of another type).
///
/// # Errors
/// Storage failures.
pub fn consumer_exists<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    group: &[u8],
    consumer: &[u8],
) -> Result<bool, StorageError> {
    // A plain lookup: the writer's check, not a client's read (no keyspace hit counted).
    match crate::types::lookup(s, at, key)? {
        Some(rec) if rec.kind == crate::engine::metadata::KeyType::Stream => {
            let st = Stream::from_record(at.db, key, rec)?;
            Ok(st.consumer(s, group, consumer)?.is_some())
        }
        _ => Ok(false),
    }
}

/// `XACK`: how many of the ids were pending in the group (each counted once); 0 for a
/// missing key or group, whatever the ids; `ids` `None` (one was malformed) is Redis's
/// invalid-id error, and nothing is acknowledged.
///
/// # Errors
/// `WRONGTYPE`; storage failures.
pub fn xack<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    group: &[u8],
    ids: Option<&[StreamId]>,
) -> CmdResult {
    let Some(s) = Stream::open(w, at, key, false)? else {
        return Ok(Reply::Integer(0));
    };
    if s.group(&*w, group)?.is_none() {
        return Ok(Reply::Integer(0));
    }
    let Some(ids) = ids else {
        return err("Invalid stream ID specified as stream command argument");
    };
    let mut acked = 0i64;
    for &id in ids {
        let k = s.pending_key(group, id);
        if w.get(crate::engine::Cf::Sub, &k)?.is_some() {
            w.delete(crate::engine::Cf::Sub, k);
            acked += 1;
        }
    }
    Ok(Reply::Integer(acked))
}

/// `XPENDING`: the summary `[count, first id, last id, [[consumer, count]...]]` (nulls
/// for an empty PEL), or with `range` the pending entries `[id, consumer, idle ms,
/// deliveries]` in id order; an unknown consumer is an empty array.
///
/// # Errors
/// `WRONGTYPE`; storage failures.
pub fn xpending<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    group: &[u8],
    range: Option<&XPendingRange>,
) -> CmdResult {
    let st = match Stream::read(s, at, key)? {
        Some(st) if st.group(s, group)?.is_some() => Some(st),
        _ => None,
    };
    let Some(st) = st else {
        return Ok(Reply::Error(format!(
            "NOGROUP No such key '{}' or consumer group '{}'",
            text(key),
            text(group)
        )));
    };
    let Some(range) = range else {
        return pending_summary(s, &st, group);
    };
    if let Some(c) = &range.consumer {
        if st.consumer(s, group, c)?.is_none() {
            return Ok(Reply::Array(Vec::new()));
        }
    }
    let mut left = range.count;
    let mut out = Vec::new();
    if left == 0 {
        return Ok(Reply::Array(out));
    }
    let now = at.now_ms as i64;
    st.scan_pending(
        s,
        group,
        range.start,
        range.end,
        range.consumer.as_deref(),
        &mut |p| {
            let idle = now.wrapping_sub(p.delivery_ms as i64);
            if range.min_idle != 0 && idle < range.min_idle {
                return true;
            }
            out.push(Reply::Array(vec![
                id_reply(p.id),
                Reply::Bulk(p.consumer),
                Reply::Integer(idle.max(0)),
                Reply::Integer(p.deliveries as i64),
            ]));
            left -= 1;
            left > 0
        },
    )?;
    Ok(Reply::Array(out))
}

/// `XPENDING key group`: one scan of the group's PEL.
fn pending_summary<S: StoreRead + ?Sized>(s: &S, st: &Stream<'_>, group: &[u8]) -> CmdResult {
    let mut total = 0i64;
    let mut first = None;
    let mut last = ZERO;
    let mut per: std::collections::BTreeMap<Vec<u8>, u64> = Default::default();
    st.scan_pending(s, group, ZERO, MAX, None, &mut |p| {
        total += 1;
        first.get_or_insert(p.id);
        last = p.id;
        *per.entry(p.consumer).or_default() += 1;
        true
    })?;
    let Some(first) = first else {
        return Ok(Reply::Array(vec![
            Reply::Integer(0),
            Reply::Nil,
            Reply::Nil,
            Reply::NilArray,
        ]));
    };
    let consumers = per
        .into_iter()
        .map(|(name, n)| Reply::Array(vec![Reply::Bulk(name), Reply::bulk(n.to_string())]))
        .collect();
    Ok(Reply::Array(vec![
        Reply::Integer(total),
        id_reply(first),
        id_reply(last),
        Reply::Array(consumers),
    ]))
}
