//! A stream to and from [`StreamValue`], the RDB codec's picture of it (`rdb/stream.rs`),
//! for `DUMP`, `RESTORE`, `MIGRATE`, `import-rdb` and `export-rdb`
//! (`types/serialize.rs` calls these two functions and nothing else of a stream).
//!
//! Reading walks the entries once in id order and turns each run of entries of one node
//! number into one listpack node, so a stream tandem made keeps its node cut on
//! redis-server (and `XINFO STREAM`'s `radix-tree-keys` agree); then each group's record,
//! its PEL (one range scan) and its consumers. Writing is the reverse onto a fresh
//! version: each Redis node becomes one tandem node (numbered from 1), the tail node's
//! fill is the Redis node's entries live and deleted (Redis's own rule for where the next
//! `XADD` goes), and the counters come from the payload, except the first id, which is the
//! first live entry's (tandem's reads start there).

use tandem_shared::command::StreamId;
use tandem_shared::StorageError;

use super::pel::{Group, Pending};
use super::{encode_entry, entry_node, read_u32, State, Stream, MAX, ZERO};
use crate::engine::{Cf, StoreRead, StoreWrite};
use crate::rdb::listpack::FieldPairs;
use crate::rdb::stream::{self as codec, StreamValue};
use crate::types::At;

fn corrupt() -> StorageError {
    StorageError::Internal("stream entry value is malformed".to_owned())
}

/// An entry value's field/value pairs.
fn entry_pairs(value: &[u8]) -> Result<FieldPairs, StorageError> {
    let pairs = read_u32(value.get(8..).ok_or_else(corrupt)?).ok_or_else(corrupt)?;
    let mut out = Vec::with_capacity((pairs as usize).min(value.len() / 8));
    let mut rest = value.get(12..).ok_or_else(corrupt)?;
    let take = |rest: &mut &[u8]| -> Result<Vec<u8>, StorageError> {
        let len = read_u32(rest).ok_or_else(corrupt)? as usize;
        let bytes = rest.get(4..4 + len).ok_or_else(corrupt)?.to_vec();
        *rest = &rest[4 + len..];
        Ok(bytes)
    };
    for _ in 0..pairs {
        let f = take(&mut rest)?;
        let v = take(&mut rest)?;
        out.push((f, v));
    }
    Ok(out)
}

/// The stream `key` as a [`StreamValue`]; `None` when there is no such stream.
///
/// # Errors
/// `WRONGTYPE`; storage failures; a malformed record.
pub fn read_value<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
) -> Result<Option<StreamValue>, StorageError> {
    let Some(st) = Stream::read(s, at, key)? else {
        return Ok(None);
    };
    let mut nodes: Vec<codec::Node> = Vec::new();
    let mut node_of_last: Option<u64> = None;
    let mut failed = None;
    st.scan(s, ZERO, MAX, &mut |id, v| {
        let parsed = entry_node(v).and_then(|n| entry_pairs(v).map(|p| (n, p)));
        let (node, fields) = match parsed {
            Ok(x) => x,
            Err(e) => {
                failed = Some(e);
                return false;
            }
        };
        if node_of_last != Some(node) || nodes.is_empty() {
            nodes.push(codec::Node {
                entries: Vec::new(),
                deleted: 0,
            });
            node_of_last = Some(node);
        }
        if let Some(n) = nodes.last_mut() {
            n.entries.push(codec::Entry { id, fields });
        }
        true
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    let mut groups = Vec::new();
    for (name, g) in st.groups(s)? {
        let mut pending = Vec::new();
        st.scan_pending(s, &name, ZERO, MAX, None, &mut |p| {
            pending.push(codec::Pending {
                id: p.id,
                consumer: p.consumer,
                delivery_ms: p.delivery_ms,
                deliveries: p.deliveries,
            });
            true
        })?;
        let mut consumers: Vec<codec::Consumer> = st
            .consumers(s, &name)?
            .into_iter()
            .map(|(name, seen_ms)| codec::Consumer { name, seen_ms })
            .collect();
        // Redis's PEL entries always have a consumer; should a record's owner have no
        // consumer record, it is written as a consumer last seen at that delivery.
        for p in &pending {
            if let Err(at) = consumers.binary_search_by(|c| c.name.as_slice().cmp(&p.consumer)) {
                consumers.insert(
                    at,
                    codec::Consumer {
                        name: p.consumer.clone(),
                        seen_ms: p.delivery_ms,
                    },
                );
            }
        }
        groups.push(codec::Group {
            name,
            last_id: g.last_id,
            entries_read: g.entries_read,
            pending,
            consumers,
        });
    }
    Ok(Some(StreamValue {
        nodes,
        length: st.len(),
        last_id: st.state.last_id,
        first_id: st.state.first_id,
        max_deleted: st.state.max_deleted,
        entries_added: st.state.entries_added,
        groups,
    }))
}

/// Writes `v` as the new stream `key` (which must not exist: deleted or never there),
/// without expiry (the caller sets it).
///
/// # Errors
/// The key exists; storage failures.
pub fn write_value<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    v: &StreamValue,
) -> Result<(), StorageError> {
    let Some(mut st) = Stream::open(w, at, key, true)? else {
        return Err(StorageError::Internal(
            "a new stream was not created".to_owned(),
        ));
    };
    if st.old.is_some() {
        return Err(StorageError::Internal(
            "a stream is written over a live key".to_owned(),
        ));
    }
    let mut node_no = 0u64;
    let mut fill = 0u64;
    let mut first: Option<StreamId> = None;
    let mut length = 0u64;
    for node in &v.nodes {
        if node.entries.is_empty() {
            continue;
        }
        node_no += 1;
        fill = node.entries.len() as u64 + node.deleted;
        for e in &node.entries {
            let pairs: Vec<(&[u8], &[u8])> = e
                .fields
                .iter()
                .map(|(f, v)| (f.as_slice(), v.as_slice()))
                .collect();
            w.put(Cf::Sub, st.entry_key(e.id), encode_entry(node_no, &pairs));
            first.get_or_insert(e.id);
            length += 1;
        }
    }
    st.rec.size = length;
    st.state = State {
        last_id: v.last_id,
        first_id: first.unwrap_or(ZERO),
        max_deleted: v.max_deleted,
        entries_added: v.entries_added,
        groups: v.groups.len() as u64,
        tail_node: node_no,
        tail_fill: fill,
    };
    for g in &v.groups {
        st.put_group(
            w,
            &g.name,
            &Group {
                last_id: g.last_id,
                entries_read: g.entries_read,
            },
        );
        for p in &g.pending {
            st.put_pending(
                w,
                &g.name,
                &Pending {
                    id: p.id,
                    consumer: p.consumer.clone(),
                    delivery_ms: p.delivery_ms,
                    deliveries: p.deliveries,
                },
            );
        }
        for c in &g.consumers {
            st.put_consumer(w, &g.name, &c.name, c.seen_ms);
        }
    }
    st.store(w);
    Ok(())
}
