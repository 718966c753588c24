//! `XINFO STREAM [FULL [COUNT n]]`, `XINFO GROUPS`, `XINFO CONSUMERS`, `XINFO HELP` with
//! Redis 7.0's replies (field names, order and types; maps in RESP3, flat arrays in RESP2),
//! and the consumer-group lag Redis derives from the stream's counters
//! ([`estimate_entries_read`], [`range_has_tombstones`]). Reads only: it sees the stream
//! through [`Stream`] and the group records through `pel.rs`, and writes nothing.
//!
//! **Radix tree fields.** Redis reports the shape of its radix tree of listpack nodes;
//! tandem has no such tree, and reports what its own nodes (`NODE_MAX_ENTRIES` entries
//! each, see `stream.rs`) would give: `radix-tree-keys` is the number of nodes from the
//! first live entry's node to the tail node (0 when empty; a node that `XDEL` emptied in
//! the middle still counts), and `radix-tree-nodes` is the node count of a radix tree whose
//! keys all branch at one byte: 1 for no key, 2 for one, `2 * keys + 2` for more. Both are
//! Redis's exact values for a stream of one node and for the usual few-node streams; for
//! many nodes Redis's count depends on the bytes of its nodes' first ids (and on
//! `stream-node-max-bytes`, which tandem does not count), so they are estimates there.

use tandem_shared::command::StreamId;
use tandem_shared::{Reply, StorageError};

use super::pel::{Group, Pending};
use super::{entry_node, id_reply, Stream, MAX, ZERO};
use crate::engine::{Cf, StoreRead};
use crate::types::{At, CmdResult};

fn field(name: &str, value: Reply) -> (Reply, Reply) {
    (Reply::bulk(name), value)
}

fn int(n: u64) -> Reply {
    Reply::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Opens `key` for `XINFO`: Redis's `lookupKeyReadOrReply(…, nokeyerr)` then the type.
fn open<'k, S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &'k [u8],
) -> Result<Stream<'k>, StorageError> {
    Stream::read(s, at, key)?.ok_or(StorageError::NoSuchKey)
}

/// Redis's `streamRangeHasTombstones`: whether an entry deleted by `XDEL` may lie in
/// `[start, end]` (only the largest deleted id is known).
pub(crate) fn range_has_tombstones(st: &Stream<'_>, start: StreamId, end: StreamId) -> bool {
    let state = &st.state;
    if st.len() == 0 || state.max_deleted == ZERO {
        return false;
    }
    if state.first_id > state.max_deleted {
        return false;
    }
    start <= state.max_deleted && state.max_deleted <= end
}

/// Redis's `streamEstimateDistanceFromFirstEverEntry`: how many entries were added up to
/// and including `id`, when the counters can tell (`None`: unknown).
pub(crate) fn estimate_entries_read(st: &Stream<'_>, id: StreamId) -> Option<u64> {
    let state = &st.state;
    if state.entries_added == 0 {
        return Some(0);
    }
    if st.len() == 0 && id <= state.last_id {
        return Some(state.entries_added);
    }
    if id == state.last_id {
        return Some(state.entries_added);
    }
    if id > state.last_id {
        return None;
    }
    if state.max_deleted == ZERO || state.max_deleted < state.first_id {
        // No fragmentation ahead.
        if id < state.first_id {
            return Some(state.entries_added.wrapping_sub(st.len()));
        }
        if id == state.first_id {
            return Some(state.entries_added.wrapping_sub(st.len()).wrapping_add(1));
        }
    }
    None
}

/// Redis's `streamReplyWithCGLag`: entries not yet read by the group, or a null when the
/// counters cannot tell.
fn lag(st: &Stream<'_>, g: &Group) -> Reply {
    let added = st.state.entries_added as i64;
    if added == 0 {
        return Reply::Integer(0);
    }
    if g.entries_read != -1 && !range_has_tombstones(st, g.last_id, MAX) {
        return Reply::Integer(added.wrapping_sub(g.entries_read));
    }
    match estimate_entries_read(st, g.last_id) {
        Some(read) => Reply::Integer(added.wrapping_sub(read as i64)),
        None => Reply::Nil,
    }
}

fn entries_read(g: &Group) -> Reply {
    if g.entries_read == -1 {
        Reply::Nil
    } else {
        Reply::Integer(g.entries_read)
    }
}

impl Stream<'_> {
    /// `radix-tree-keys` and `radix-tree-nodes` by the rule in the module docs.
    fn radix_tree<S: StoreRead + ?Sized>(&self, s: &S) -> Result<(u64, u64), StorageError> {
        if self.len() == 0 {
            return Ok((0, 1));
        }
        let first_node = match s.get(Cf::Sub, &self.entry_key(self.state.first_id))? {
            Some(v) => entry_node(&v)?,
            None => self.state.tail_node,
        };
        let keys = self.state.tail_node.saturating_sub(first_node) + 1;
        let nodes = if keys == 1 { 2 } else { 2 * keys + 2 };
        Ok((keys, nodes))
    }

    /// The fields `XINFO STREAM` starts with, in both forms.
    fn head_fields<S: StoreRead + ?Sized>(
        &self,
        s: &S,
    ) -> Result<Vec<(Reply, Reply)>, StorageError> {
        let (keys, nodes) = self.radix_tree(s)?;
        let state = &self.state;
        Ok(vec![
            field("length", int(self.len())),
            field("radix-tree-keys", int(keys)),
            field("radix-tree-nodes", int(nodes)),
            field("last-generated-id", id_reply(state.last_id)),
            field("max-deleted-entry-id", id_reply(state.max_deleted)),
            field("entries-added", int(state.entries_added)),
            field("recorded-first-entry-id", id_reply(state.first_id)),
        ])
    }

    /// One entry at an end of the stream, or a null.
    fn edge<S: StoreRead + ?Sized>(&self, s: &S, last: bool) -> Result<Reply, StorageError> {
        let mut one = if last {
            self.range_rev(s, ZERO, MAX, 1)?
        } else {
            self.range(s, ZERO, MAX, 1)?
        };
        Ok(one.pop().unwrap_or(Reply::Nil))
    }
}

/// `XINFO STREAM key [FULL [COUNT n]]` (`count` 0: everything). `error` is an option
/// error the parser found, answered after the key lookup as Redis does.
///
/// # Errors
/// `ERR no such key`, `WRONGTYPE`; storage failures.
pub fn xinfo_stream<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    full: bool,
    count: u64,
    error: Option<&str>,
) -> CmdResult {
    let st = open(s, at, key)?;
    if let Some(text) = error {
        return Ok(Reply::Error(text.to_owned()));
    }
    let mut fields = st.head_fields(s)?;
    if !full {
        fields.push(field("groups", int(st.state.groups)));
        fields.push(field("first-entry", st.edge(s, false)?));
        fields.push(field("last-entry", st.edge(s, true)?));
        return Ok(Reply::Map(fields));
    }
    let limit = if count == 0 { u64::MAX } else { count };
    fields.push(field(
        "entries",
        Reply::Array(st.range(s, ZERO, MAX, limit)?),
    ));
    let mut groups = Vec::new();
    for (name, g) in st.groups(s)? {
        groups.push(full_group(s, &st, &name, &g, limit)?);
    }
    fields.push(field("groups", Reply::Array(groups)));
    Ok(Reply::Map(fields))
}

/// One consumer's part of a FULL reply: its pending count and first pending entries.
#[derive(Default)]
struct ConsumerPel {
    count: u64,
    shown: Vec<Reply>,
}

/// A group as `XINFO STREAM FULL` shows it: one scan of its PEL gives the group's and
/// every consumer's counts and first `limit` pending entries.
fn full_group<S: StoreRead + ?Sized>(
    s: &S,
    st: &Stream<'_>,
    name: &[u8],
    g: &Group,
    limit: u64,
) -> Result<Reply, StorageError> {
    let mut pel_count = 0u64;
    let mut pending = Vec::new();
    let mut per_consumer: std::collections::HashMap<Vec<u8>, ConsumerPel> = Default::default();
    st.scan_pending(s, name, ZERO, MAX, None, &mut |p: Pending| {
        pel_count += 1;
        let delivered = Reply::Integer(p.delivery_ms as i64);
        // Redis sends its unsigned count as a signed integer: past i64::MAX it wraps.
        let deliveries = Reply::Integer(p.deliveries as i64);
        let c = per_consumer.entry(p.consumer.clone()).or_default();
        c.count += 1;
        if (c.shown.len() as u64) < limit {
            c.shown.push(Reply::Array(vec![
                id_reply(p.id),
                delivered.clone(),
                deliveries.clone(),
            ]));
        }
        if (pending.len() as u64) < limit {
            pending.push(Reply::Array(vec![
                id_reply(p.id),
                Reply::Bulk(p.consumer),
                delivered,
                deliveries,
            ]));
        }
        true
    })?;
    let mut consumers = Vec::new();
    for (cname, seen_ms) in st.consumers(s, name)? {
        let pel = per_consumer.remove(&cname).unwrap_or_default();
        consumers.push(Reply::Map(vec![
            field("name", Reply::Bulk(cname)),
            field("seen-time", Reply::Integer(seen_ms as i64)),
            field("pel-count", int(pel.count)),
            field("pending", Reply::Array(pel.shown)),
        ]));
    }
    Ok(Reply::Map(vec![
        field("name", Reply::bulk(name)),
        field("last-delivered-id", id_reply(g.last_id)),
        field("entries-read", entries_read(g)),
        field("lag", lag(st, g)),
        field("pel-count", int(pel_count)),
        field("pending", Reply::Array(pending)),
        field("consumers", Reply::Array(consumers)),
    ]))
}

/// `XINFO GROUPS key`: each group's name, consumer count, pending count, last delivered
/// id, entries read and lag, in name order.
///
/// # Errors
/// `ERR no such key`, `WRONGTYPE`; storage failures.
pub fn xinfo_groups<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8]) -> CmdResult {
    let st = open(s, at, key)?;
    let mut out = Vec::new();
    for (name, g) in st.groups(s)? {
        let consumers = st.consumers(s, &name)?.len() as u64;
        let pending = st.pending_count(s, &name, None)?;
        out.push(Reply::Map(vec![
            field("name", Reply::bulk(name)),
            field("consumers", int(consumers)),
            field("pending", int(pending)),
            field("last-delivered-id", id_reply(g.last_id)),
            field("entries-read", entries_read(&g)),
            field("lag", lag(&st, &g)),
        ]));
    }
    Ok(Reply::Array(out))
}

/// `XINFO CONSUMERS key group`: each consumer's name, pending count and idle time (since
/// it was last seen, never negative), in name order.
///
/// # Errors
/// `ERR no such key`, `WRONGTYPE`; storage failures.
pub fn xinfo_consumers<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    group: &[u8],
) -> CmdResult {
    let st = open(s, at, key)?;
    if st.group(s, group)?.is_none() {
        return Ok(Reply::Error(format!(
            "NOGROUP No such consumer group '{}' for key name '{}'",
            String::from_utf8_lossy(group),
            String::from_utf8_lossy(key)
        )));
    }
    let counts: std::collections::HashMap<Vec<u8>, u64> =
        st.pending_per_consumer(s, group)?.into_iter().collect();
    let mut out = Vec::new();
    for (name, seen_ms) in st.consumers(s, group)? {
        let pending = counts.get(&name).copied().unwrap_or(0);
        let idle = at.now_ms.saturating_sub(seen_ms);
        out.push(Reply::Map(vec![
            field("name", Reply::Bulk(name)),
            field("pending", int(pending)),
            field("idle", int(idle)),
        ]));
    }
    Ok(Reply::Array(out))
}

/// `XINFO HELP`, Redis 7.0's text.
pub fn xinfo_help() -> Reply {
    const LINES: &[&str] = &[
        "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
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

#[cfg(test)]
mod tests {
    use tandem_shared::command::{XAddId, XGroupId, XGroupOp};

    use super::super::{xadd, xdel, xgroup};
    use super::*;
    use crate::types::testing::TestDb;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    fn at() -> At {
        At {
            db: 0,
            now_ms: 1_700_000_000_000,
        }
    }

    fn add(db: &mut TestDb, n: std::ops::RangeInclusive<u64>) {
        db.write(|w, _| {
            for i in n {
                xadd(
                    w,
                    at(),
                    b"s",
                    XAddId::Explicit(id(i, 0)),
                    false,
                    None,
                    &[(b"f", b"v")],
                )
                .expect("xadd");
            }
        });
    }

    fn radix(db: &TestDb) -> (u64, u64) {
        db.read(|s, _| {
            let st = Stream::read(s, at(), b"s").expect("read").expect("exists");
            st.radix_tree(s).expect("radix")
        })
    }

    #[test]
    fn radix_tree_fields_follow_the_nodes() {
        let mut db = TestDb::open();
        db.write(|w, _| {
            let create = XGroupOp::Create {
                id: XGroupId::Last,
                mkstream: true,
                entries_read: -1,
            };
            xgroup(w, at(), b"s", b"g", &create, b"create", false, 0).expect("mkstream")
        });
        assert_eq!(radix(&db), (0, 1), "empty: Redis's lone root");
        add(&mut db, 1..=100);
        assert_eq!(radix(&db), (1, 2));
        add(&mut db, 101..=250);
        assert_eq!(radix(&db), (3, 8), "redis-server: 3 keys, 8 nodes");
        // A middle node emptied by XDEL still counts (Redis would drop it: 2 keys, 6
        // nodes); deleting the head node drops the nodes before the first live entry.
        let middle: Vec<StreamId> = (101..=200).map(|i| id(i, 0)).collect();
        db.write(|w, _| xdel(w, at(), b"s", Some(&middle)).expect("xdel"));
        assert_eq!(radix(&db), (3, 8));
        let first: Vec<StreamId> = (1..=100).map(|i| id(i, 0)).collect();
        db.write(|w, _| xdel(w, at(), b"s", Some(&first)).expect("xdel"));
        assert_eq!(radix(&db), (1, 2));
    }

    #[test]
    fn entries_read_is_estimated_only_without_fragmentation_ahead() {
        let mut db = TestDb::open();
        add(&mut db, 1..=4);
        let est = |db: &TestDb, i: u64| {
            db.read(|s, _| {
                let st = Stream::read(s, at(), b"s").expect("read").expect("exists");
                (
                    estimate_entries_read(&st, id(i, 0)),
                    range_has_tombstones(&st, id(i, 0), MAX),
                )
            })
        };
        assert_eq!(est(&db, 0), (Some(0), false), "before the first entry");
        assert_eq!(est(&db, 1), (Some(1), false), "the first entry");
        assert_eq!(est(&db, 2), (None, false), "an arbitrary id");
        assert_eq!(est(&db, 4), (Some(4), false), "the last id");
        assert_eq!(est(&db, 9), (None, false), "a future id");
        db.write(|w, _| xdel(w, at(), b"s", Some(&[id(1, 0)])).expect("xdel"));
        assert_eq!(
            est(&db, 0),
            (Some(1), false),
            "the deleted head is behind first_id"
        );
        db.write(|w, _| xdel(w, at(), b"s", Some(&[id(3, 0)])).expect("xdel"));
        assert_eq!(est(&db, 2), (None, true));
        assert_eq!(est(&db, 3), (None, true));
        assert_eq!(est(&db, 4), (Some(4), false));
        db.write(|w, _| xdel(w, at(), b"s", Some(&[id(2, 0), id(4, 0)])).expect("xdel"));
        assert_eq!(
            est(&db, 2),
            (Some(4), false),
            "empty: anything up to the last id"
        );
    }
}
