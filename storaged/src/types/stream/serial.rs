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

/// Streams whose entries take at least this many bytes have them committed ahead of the
/// write group ([`StoreWrite::put_unreachable`], as big strings do).
const AHEAD_MIN: usize = 4 << 20;

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
    // The entries sit under a version no metadata names until `store` below: a big stream's
    // may go ahead of the group, so the group does not hold them all beside the request.
    let bytes: usize = v
        .nodes
        .iter()
        .flat_map(|n| &n.entries)
        .map(|e| {
            20 + e
                .fields
                .iter()
                .map(|(f, x)| 8 + f.len() + x.len())
                .sum::<usize>()
        })
        .sum();
    let ahead = bytes >= AHEAD_MIN;
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
            let (k, value) = (st.entry_key(e.id), encode_entry(node_no, &pairs));
            if ahead {
                w.put_unreachable(Cf::Sub, k, value);
            } else {
                w.put(Cf::Sub, k, value);
            }
            first.get_or_insert(e.id);
            length += 1;
        }
    }
    if ahead {
        w.flush_unreachable();
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

#[cfg(test)]
mod tests {
    use tandem_shared::Reply;

    use super::*;
    use crate::rdb::{self, Value};
    use crate::types::serialize::{self, RestoreOptions};
    use crate::types::testing::TestDb;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// A stream of `n` entries of `size`-byte values in nodes of 100, a group with every
    /// tenth entry pending on one of two consumers.
    fn stream(n: u64, size: usize) -> StreamValue {
        let entries: Vec<codec::Entry> = (0..n)
            .map(|i| codec::Entry {
                id: id(1000 + i / 2, i % 2),
                fields: vec![(b"f".to_vec(), vec![b'a' + (i % 26) as u8; size])],
            })
            .collect();
        let pending: Vec<codec::Pending> = entries
            .iter()
            .step_by(10)
            .enumerate()
            .map(|(k, e)| codec::Pending {
                id: e.id,
                consumer: if k % 2 == 0 {
                    b"c1".to_vec()
                } else {
                    b"c2".to_vec()
                },
                delivery_ms: 1_700_000_000_000 + k as u64,
                deliveries: 1 + k as u64 % 3,
            })
            .collect();
        let last = entries.last().map_or(ZERO, |e| e.id);
        StreamValue {
            length: n,
            first_id: entries.first().map_or(ZERO, |e| e.id),
            last_id: last,
            max_deleted: ZERO,
            entries_added: n,
            nodes: entries
                .chunks(100)
                .map(|c| codec::Node {
                    entries: c.to_vec(),
                    deleted: 0,
                })
                .collect(),
            groups: vec![codec::Group {
                name: b"g".to_vec(),
                last_id: last,
                entries_read: n as i64,
                pending,
                consumers: vec![
                    codec::Consumer {
                        name: b"c1".to_vec(),
                        seen_ms: 1_700_000_000_005,
                    },
                    codec::Consumer {
                        name: b"c2".to_vec(),
                        seen_ms: 1_700_000_000_006,
                    },
                ],
            }],
        }
    }

    #[test]
    fn streams_small_and_big_restore_and_dump_back_the_same() {
        let mut db = TestDb::open();
        // The second one's entries (6 MB) go ahead of the write group.
        for (key, v) in [
            (&b"small"[..], stream(250, 10)),
            (b"big", stream(6000, 1000)),
        ] {
            let payload = rdb::dump(&Value::Stream(Box::new(v.clone())));
            let opts = RestoreOptions {
                ttl: Some(0),
                replace: false,
                absttl: false,
            };
            let (r, _) = db.write(|w, at| serialize::restore(w, at, key, &payload, opts));
            assert_eq!(r, Ok(Reply::ok()));
            let back = db.read(|s, at| read_value(s, at, key)).expect("reads");
            assert_eq!(back, Some(v), "{}", String::from_utf8_lossy(key));
        }
    }
}
