//! A stream's RDB record (`RDB_TYPE_STREAM_LISTPACKS_2`, type 19, as Redis 7.0 writes it;
//! `RDB_TYPE_STREAM_LISTPACKS`, type 15, of Redis 5 and 6, read too): the radix tree of
//! listpack nodes, the stream's counters, and its consumer groups with their pending
//! entries and consumers (`rdbSaveObject`/`rdbLoadObject` of `rdb.c`, the node layout of
//! `t_stream.c`).
//!
//! ```text
//! nodes: len | (node key: string of 16 bytes, the master id ms|seq BE | listpack: string)*
//! length: len | last id: len len | first id: len len | max deleted id: len len |
//! entries added: len                        (the last three lines: type 19 only)
//! groups: len | (name: string | last id: len len | entries read: len (type 19 only) |
//!                pel: len | (id: 16 bytes BE | delivery ms: i64 LE | deliveries: len)* |
//!                consumers: len | (name: string | seen ms: i64 LE |
//!                                  pel: len | (id: 16 bytes BE)*)*)*
//! ```
//!
//! A node's listpack starts with its master entry — `count` (live entries), `deleted`,
//! the number of master fields, the field names, `0` — followed by one record per entry:
//! `flags` (1 deleted, 2 same fields as the master), the id as ms and seq differences from
//! the node key, then either the values alone (same fields) or a field count and the
//! field/value pairs, and last `lp-count`, the number of listpack elements of the record
//! before it.
//!
//! Pure code over bytes like the rest of `rdb/`: [`StreamValue`] is the stream as data;
//! `types/stream/serial.rs` maps it onto tandem's stream records. Every node is checked
//! as Redis's deep sanitization (`streamValidateListpackIntegrity`) checks it, and more:
//! ids must rise strictly through the stream, the stream length must match its live
//! entries, the last id must not be below the last entry, and every pending entry of a
//! group must have exactly one consumer — a payload that breaks any of these is refused
//! (`ERR Bad data format`) instead of loaded into a state tandem's stream code assumes
//! cannot happen. Nothing is allocated by a count the payload claims.

use std::collections::{BTreeMap, HashMap, HashSet};

use tandem_shared::command::StreamId;

use super::input::Input;
use super::listpack::{self, Element, FieldPairs};
use super::primitive::{read_len, read_string, write_len, write_string, TYPE_STREAM_LISTPACKS_2};
use super::RdbError;
use crate::types::string::parse_i64;

/// Entry flags (`STREAM_ITEM_FLAG_*`).
const FLAG_DELETED: i64 = 1;
const FLAG_SAME_FIELDS: i64 = 2;

/// A node being written is closed once its listpack passes this size, whatever the
/// stored node numbers say, so a node of huge entries never nears Redis's 1 GiB listpack
/// safety limit.
const NODE_SPLIT_BYTES: usize = 256 << 20;

const ZERO: StreamId = StreamId { ms: 0, seq: 0 };

/// One stream, as its RDB record holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamValue {
    /// The listpack nodes in id order; entries deleted inside a node are not kept, only
    /// counted.
    pub nodes: Vec<Node>,
    /// Live entries (`XLEN`).
    pub length: u64,
    pub last_id: StreamId,
    /// The first live entry's id (0-0 when empty).
    pub first_id: StreamId,
    pub max_deleted: StreamId,
    pub entries_added: u64,
    /// In name order as written.
    pub groups: Vec<Group>,
}

/// One listpack node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Its live entries in id order.
    pub entries: Vec<Entry>,
    /// Entries deleted in place (flagged, still in the listpack).
    pub deleted: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: StreamId,
    pub fields: FieldPairs,
}

/// A consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: Vec<u8>,
    pub last_id: StreamId,
    /// `entries-read`, -1 when unknown.
    pub entries_read: i64,
    /// The group's PEL in id order, each entry with its owner.
    pub pending: Vec<Pending>,
    /// In name order.
    pub consumers: Vec<Consumer>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub id: StreamId,
    pub consumer: Vec<u8>,
    /// Unix ms of the last delivery.
    pub delivery_ms: u64,
    pub deliveries: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    pub name: Vec<u8>,
    /// Unix ms the consumer was last seen.
    pub seen_ms: u64,
}

fn corrupt(at: u64, what: impl Into<String>) -> RdbError {
    RdbError::new(at, what)
}

fn read_id<I: Input>(i: &mut I) -> Result<StreamId, RdbError> {
    Ok(StreamId {
        ms: read_len(i)?,
        seq: read_len(i)?,
    })
}

/// A 16-byte big-endian id (`streamEncodeID`).
fn id_from_be(b: &[u8; 16]) -> StreamId {
    let mut ms = [0u8; 8];
    let mut seq = [0u8; 8];
    ms.copy_from_slice(&b[..8]);
    seq.copy_from_slice(&b[8..]);
    StreamId {
        ms: u64::from_be_bytes(ms),
        seq: u64::from_be_bytes(seq),
    }
}

fn id_to_be(id: StreamId) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&id.ms.to_be_bytes());
    b[8..].copy_from_slice(&id.seq.to_be_bytes());
    b
}

fn read_raw_id<I: Input>(i: &mut I) -> Result<StreamId, RdbError> {
    let mut b = [0u8; 16];
    i.fill(&mut b)?;
    Ok(id_from_be(&b))
}

/// `rdbLoadMillisecondTime`: an i64 LE, kept bit for bit.
fn read_ms<I: Input>(i: &mut I) -> Result<u64, RdbError> {
    let mut b = [0u8; 8];
    i.fill(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// The integer of a listpack element (`lpGetIntegerIfValid`: a string element counts
/// when it reads as one).
fn int_of(e: Option<Element>) -> Result<i64, &'static str> {
    match e {
        Some(Element::Int(v)) => Ok(v),
        Some(Element::Str(s)) => parse_i64(&s).ok_or("stream node integer is a string"),
        None => Err("stream node listpack ends inside an entry"),
    }
}

fn count_of(e: Option<Element>) -> Result<u64, &'static str> {
    u64::try_from(int_of(e)?).map_err(|_| "negative count in a stream node")
}

/// The entries of one node (`master`: its key), checked as `streamValidateListpackIntegrity`
/// checks with deep sanitization, plus: ids strictly rising from the master id, and the
/// master's counts matching the flags of the entries.
fn parse_node(master: StreamId, blob: &[u8]) -> Result<Node, &'static str> {
    let items = listpack::parse(blob)?;
    if items.is_empty() {
        return Err("empty listpack inside a stream");
    }
    let mut it = items.into_iter();
    let count = count_of(it.next())?;
    let deleted = count_of(it.next())?;
    let master_fields_n = count_of(it.next())?;
    let mut master_fields = Vec::new();
    for _ in 0..master_fields_n {
        master_fields.push(it.next().ok_or("stream node ends in its master fields")?);
    }
    let master_fields: Vec<Vec<u8>> = master_fields.into_iter().map(Element::into_bytes).collect();
    if int_of(it.next())? != 0 {
        return Err("stream master entry without its terminator");
    }
    let total = count
        .checked_add(deleted)
        .ok_or("stream node counts overflow")?;
    let mut entries = Vec::new();
    let (mut live, mut dead) = (0u64, 0u64);
    let mut previous: Option<StreamId> = None;
    for _ in 0..total {
        let flags = int_of(it.next())?;
        let ms_diff = int_of(it.next())?;
        let seq_diff = int_of(it.next())?;
        let id = StreamId {
            ms: master.ms.wrapping_add(ms_diff as u64),
            seq: master.seq.wrapping_add(seq_diff as u64),
        };
        let rising = match previous {
            Some(p) => id > p,
            None => id >= master,
        };
        if !rising {
            return Err("stream node ids do not rise");
        }
        previous = Some(id);
        let mut fields = Vec::new();
        let elements = if flags & FLAG_SAME_FIELDS != 0 {
            for name in &master_fields {
                let value = it.next().ok_or("stream node ends inside an entry")?;
                fields.push((name.clone(), value.into_bytes()));
            }
            master_fields.len() as u64 + 3
        } else {
            let n = count_of(it.next())?;
            for _ in 0..n {
                let name = it.next().ok_or("stream node ends inside an entry")?;
                let value = it.next().ok_or("stream node ends inside an entry")?;
                fields.push((name.into_bytes(), value.into_bytes()));
            }
            n.checked_mul(2)
                .and_then(|x| x.checked_add(4))
                .ok_or("stream entry field count overflows")?
        };
        let lp_count = int_of(it.next())?;
        if u64::try_from(lp_count).ok() != Some(elements) {
            return Err("stream entry lp-count does not match the entry");
        }
        if flags & FLAG_DELETED != 0 {
            dead += 1;
        } else {
            live += 1;
            entries.push(Entry { id, fields });
        }
    }
    if it.next().is_some() {
        return Err("stream node has elements after its last entry");
    }
    if live != count || dead != deleted {
        return Err("stream node counts do not match its entries");
    }
    Ok(Node { entries, deleted })
}

/// Reads a stream record of type `kind` (15 or 19; its type byte already read).
///
/// # Errors
/// [`RdbError`] at the part that failed: truncation, a node key that is not 16 bytes, a
/// node that fails its checks, node keys or entry ids that do not rise, a length that is
/// not the number of live entries, a last id below the last entry, a duplicate group,
/// consumer or PEL entry, a consumer's pending entry missing from its group's PEL or
/// owned twice, a group PEL entry no consumer owns.
pub fn read<I: Input>(i: &mut I, kind: u8) -> Result<StreamValue, RdbError> {
    let node_count = read_len(i)?;
    let mut nodes = Vec::new();
    let mut top: Option<StreamId> = None;
    for _ in 0..node_count {
        let at = i.offset();
        let key = read_string(i)?;
        let Ok(key) = <[u8; 16]>::try_from(key.as_slice()) else {
            return Err(corrupt(
                at,
                "stream node key is not the size of a stream id",
            ));
        };
        let master = id_from_be(&key);
        if top.is_some_and(|t| master <= t) {
            return Err(corrupt(at, "stream node keys do not rise"));
        }
        let at = i.offset();
        let blob = read_string(i)?;
        let node = parse_node(master, &blob).map_err(|e| corrupt(at, e))?;
        // The node's last id, live or not, bounds the next node's; a node of deleted
        // entries only still holds its master id.
        top = Some(node.entries.last().map_or(master, |e| e.id).max(master));
        nodes.push(node);
    }
    let at = i.offset();
    let length = read_len(i)?;
    let last_id = read_id(i)?;
    let live: u64 = nodes.iter().map(|n| n.entries.len() as u64).sum();
    if length != live {
        return Err(corrupt(
            at,
            format!("stream length {length} but {live} live entries"),
        ));
    }
    let last_entry = nodes
        .iter()
        .rev()
        .find_map(|n| n.entries.last())
        .map(|e| e.id);
    if last_entry.is_some_and(|l| l > last_id) {
        return Err(corrupt(at, "stream last id below its last entry"));
    }
    let first_live = nodes
        .iter()
        .find_map(|n| n.entries.first())
        .map_or(ZERO, |e| e.id);
    let (max_deleted, entries_added) = if kind == TYPE_STREAM_LISTPACKS_2 {
        // The recorded first id is Redis's cache of the first live entry's; tandem
        // derives it from the entries (its reads start there).
        let _first_id = read_id(i)?;
        (read_id(i)?, read_len(i)?)
    } else {
        (ZERO, length)
    };
    let mut stream = StreamValue {
        nodes,
        length,
        last_id,
        first_id: first_live,
        max_deleted,
        entries_added,
        groups: Vec::new(),
    };
    let group_count = read_len(i)?;
    let mut names = HashSet::new();
    for _ in 0..group_count {
        let at = i.offset();
        let name = read_string(i)?;
        if !names.insert(name.clone()) {
            return Err(corrupt(at, "duplicate consumer group name"));
        }
        let last_id = read_id(i)?;
        let entries_read = if kind == TYPE_STREAM_LISTPACKS_2 {
            read_len(i)? as i64
        } else {
            estimate_entries_read(&stream, last_id)
        };
        let group = read_group(i, name, last_id, entries_read)?;
        stream.groups.push(group);
    }
    Ok(stream)
}

/// One group's PEL and consumers (after its name, last id and entries read).
fn read_group<I: Input>(
    i: &mut I,
    name: Vec<u8>,
    last_id: StreamId,
    entries_read: i64,
) -> Result<Group, RdbError> {
    let pel_len = read_len(i)?;
    // Index into `pending` by id, and the owner found for each (`None` until a consumer
    // names it).
    let mut pending: Vec<(StreamId, u64, u64)> = Vec::new();
    let mut index: BTreeMap<StreamId, usize> = BTreeMap::new();
    for _ in 0..pel_len {
        let at = i.offset();
        let id = read_raw_id(i)?;
        let delivery_ms = read_ms(i)?;
        let deliveries = read_len(i)?;
        if index.insert(id, pending.len()).is_some() {
            return Err(corrupt(at, "duplicate group PEL entry"));
        }
        pending.push((id, delivery_ms, deliveries));
    }
    let mut owners: Vec<Option<usize>> = vec![None; pending.len()];
    let consumer_count = read_len(i)?;
    let mut consumers: Vec<Consumer> = Vec::new();
    let mut seen = HashSet::new();
    for _ in 0..consumer_count {
        let at = i.offset();
        let cname = read_string(i)?;
        if !seen.insert(cname.clone()) {
            return Err(corrupt(at, "duplicate stream consumer"));
        }
        let seen_ms = read_ms(i)?;
        let owned = read_len(i)?;
        for _ in 0..owned {
            let at = i.offset();
            let id = read_raw_id(i)?;
            let Some(&slot) = index.get(&id) else {
                return Err(corrupt(at, "consumer PEL entry not in its group's PEL"));
            };
            if owners[slot].is_some() {
                return Err(corrupt(at, "PEL entry owned twice"));
            }
            owners[slot] = Some(consumers.len());
        }
        consumers.push(Consumer {
            name: cname,
            seen_ms,
        });
    }
    let at = i.offset();
    let mut out = Vec::with_capacity(pending.len());
    for ((id, delivery_ms, deliveries), owner) in pending.into_iter().zip(owners) {
        let Some(owner) = owner else {
            return Err(corrupt(at, "group PEL entry without a consumer"));
        };
        out.push(Pending {
            id,
            consumer: consumers[owner].name.clone(),
            delivery_ms,
            deliveries,
        });
    }
    out.sort_by_key(|p| p.id);
    Ok(Group {
        name,
        last_id,
        entries_read,
        pending: out,
        consumers,
    })
}

/// Redis's `streamEstimateDistanceFromFirstEverEntry`, for the groups of a type-15 record
/// (which has no entries-read): -1 when the counters cannot tell.
fn estimate_entries_read(s: &StreamValue, id: StreamId) -> i64 {
    if s.entries_added == 0 {
        return 0;
    }
    if s.length == 0 && id <= s.last_id {
        return s.entries_added as i64;
    }
    if id == s.last_id {
        return s.entries_added as i64;
    }
    if id > s.last_id {
        return -1;
    }
    if s.max_deleted == ZERO || s.max_deleted < s.first_id {
        if id < s.first_id {
            return s.entries_added.wrapping_sub(s.length) as i64;
        }
        if id == s.first_id {
            return s.entries_added.wrapping_sub(s.length).wrapping_add(1) as i64;
        }
    }
    -1
}

/// The listpacks of `node` (one, unless it passes [`NODE_SPLIT_BYTES`]), each with its
/// master id.
fn node_listpacks(entries: &[Entry]) -> Vec<(StreamId, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = entries;
    while let Some(first) = rest.first() {
        let master = first.id;
        let master_fields = &first.fields;
        let mut body = listpack::Writer::new();
        let mut taken = 0;
        for e in rest {
            if taken > 0 && body.bytes() > NODE_SPLIT_BYTES {
                break;
            }
            let same = e.fields.len() == master_fields.len()
                && e.fields
                    .iter()
                    .zip(master_fields)
                    .all(|((a, _), (b, _))| a == b);
            body.push_int(if same { FLAG_SAME_FIELDS } else { 0 });
            body.push_int(e.id.ms.wrapping_sub(master.ms) as i64);
            body.push_int(e.id.seq.wrapping_sub(master.seq) as i64);
            let n = e.fields.len() as i64;
            if same {
                for (_, v) in &e.fields {
                    body.push(v);
                }
                body.push_int(n + 3);
            } else {
                body.push_int(n);
                for (f, v) in &e.fields {
                    body.push(f);
                    body.push(v);
                }
                body.push_int(2 * n + 4);
            }
            taken += 1;
        }
        // The master entry goes first; the entries are appended after it as built.
        let mut lp = listpack::Writer::new();
        lp.push_int(taken as i64);
        lp.push_int(0);
        lp.push_int(master_fields.len() as i64);
        for (f, _) in master_fields {
            lp.push(f);
        }
        lp.push_int(0);
        lp.append(body);
        out.push((master, lp.finish()));
        rest = &rest[taken..];
    }
    out
}

/// Writes `s`'s record (without its type byte) as Redis 7.0 does; returns the type byte.
/// Each node becomes one listpack (no deleted entries in it: tandem keeps none).
pub fn write(s: &StreamValue, out: &mut Vec<u8>) -> u8 {
    let listpacks: Vec<(StreamId, Vec<u8>)> = s
        .nodes
        .iter()
        .flat_map(|n| node_listpacks(&n.entries))
        .collect();
    write_len(listpacks.len() as u64, out);
    for (master, lp) in &listpacks {
        write_string(&id_to_be(*master), out);
        write_string(lp, out);
    }
    write_len(s.length, out);
    for id in [s.last_id, s.first_id, s.max_deleted] {
        write_len(id.ms, out);
        write_len(id.seq, out);
    }
    write_len(s.entries_added, out);
    write_len(s.groups.len() as u64, out);
    for g in &s.groups {
        write_string(&g.name, out);
        write_len(g.last_id.ms, out);
        write_len(g.last_id.seq, out);
        write_len(g.entries_read as u64, out);
        write_len(g.pending.len() as u64, out);
        let mut owned: HashMap<&[u8], Vec<StreamId>> = HashMap::new();
        for p in &g.pending {
            out.extend_from_slice(&id_to_be(p.id));
            out.extend_from_slice(&p.delivery_ms.to_le_bytes());
            write_len(p.deliveries, out);
            owned.entry(p.consumer.as_slice()).or_default().push(p.id);
        }
        write_len(g.consumers.len() as u64, out);
        for c in &g.consumers {
            write_string(&c.name, out);
            out.extend_from_slice(&c.seen_ms.to_le_bytes());
            let ids = owned.get(c.name.as_slice()).map_or(&[][..], Vec::as_slice);
            write_len(ids.len() as u64, out);
            for id in ids {
                out.extend_from_slice(&id_to_be(*id));
            }
        }
    }
    TYPE_STREAM_LISTPACKS_2
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::rdb::{dump, restore, PayloadError, Value};

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    fn b(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    fn pairs(p: &[(&str, &str)]) -> FieldPairs {
        p.iter().map(|(f, v)| (b(f), b(v))).collect()
    }

    /// redis-server 7.0.15's `DUMP s` after `XADD s 1-1 a 1 b x`, `XADD s 1-2 a 2 b y`,
    /// `XADD s 2-0 c z`, `XADD s 3-0 a 3 b w`, `XDEL s 1-2`, `XGROUP CREATE s g 0`,
    /// `XREADGROUP GROUP g alice COUNT 2 STREAMS s >`, the same for bob with `COUNT 1`,
    /// `XGROUP CREATECONSUMER s g carol`, `XGROUP CREATE s h $ ENTRIESREAD 3`.
    const REDIS_PAYLOAD: &[u8] = b"\x13\x01\x10\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01@NN\x00\x00\x00\x1f\x00\x03\x01\x01\x01\x02\x01\x81a\x02\x81b\x02\x00\x01\x02\x01\x00\x01\x00\x01\x01\x01\x81x\x02\x05\x01\x03\x01\x00\x01\x01\x01\x02\x01\x81y\x02\x05\x01\x00\x01\x01\x01\xdf\xff\x02\x01\x01\x81c\x02\x81z\x02\x06\x01\x02\x01\x02\x01\xdf\xff\x02\x03\x01\x81w\x02\x05\x01\xff\x03\x03\x00\x01\x01\x01\x02\x04\x02\x01g\x03\x00\x04\x03\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\xd00\x80R\xa2\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\xd00\x80R\xa2\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00\xd30\x80R\xa2\x01\x00\x00\x01\x03\x05alice\xd00\x80R\xa2\x01\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x03bob\xd30\x80R\xa2\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00\x05carol\xd70\x80R\xa2\x01\x00\x00\x00\x01h\x03\x00\x03\x00\x00\x0a\x00Ju\xf9&\x18\xe0l\xeb";

    fn expected() -> StreamValue {
        let t = |later: u64| 1_796_680_462_544 + later;
        StreamValue {
            nodes: vec![Node {
                entries: vec![
                    Entry {
                        id: id(1, 1),
                        fields: pairs(&[("a", "1"), ("b", "x")]),
                    },
                    Entry {
                        id: id(2, 0),
                        fields: pairs(&[("c", "z")]),
                    },
                    Entry {
                        id: id(3, 0),
                        fields: pairs(&[("a", "3"), ("b", "w")]),
                    },
                ],
                deleted: 1,
            }],
            length: 3,
            last_id: id(3, 0),
            first_id: id(1, 1),
            max_deleted: id(1, 2),
            entries_added: 4,
            groups: vec![
                Group {
                    name: b("g"),
                    last_id: id(3, 0),
                    entries_read: 4,
                    pending: vec![
                        Pending {
                            id: id(1, 1),
                            consumer: b("alice"),
                            delivery_ms: t(0),
                            deliveries: 1,
                        },
                        Pending {
                            id: id(2, 0),
                            consumer: b("alice"),
                            delivery_ms: t(0),
                            deliveries: 1,
                        },
                        Pending {
                            id: id(3, 0),
                            consumer: b("bob"),
                            delivery_ms: t(3),
                            deliveries: 1,
                        },
                    ],
                    consumers: vec![
                        Consumer {
                            name: b("alice"),
                            seen_ms: t(0),
                        },
                        Consumer {
                            name: b("bob"),
                            seen_ms: t(3),
                        },
                        Consumer {
                            name: b("carol"),
                            seen_ms: t(7),
                        },
                    ],
                },
                Group {
                    name: b("h"),
                    last_id: id(3, 0),
                    entries_read: 3,
                    pending: vec![],
                    consumers: vec![],
                },
            ],
        }
    }

    fn stream_of(v: Value) -> StreamValue {
        match v {
            Value::Stream(s) => *s,
            other => panic!("not a stream: {other:?}"),
        }
    }

    #[test]
    fn redis_payload_loads() {
        let got = stream_of(restore(REDIS_PAYLOAD).expect("loads"));
        assert_eq!(got, expected());
    }

    #[test]
    fn written_as_redis_would_and_read_back() {
        let v = expected();
        let payload = dump(&Value::Stream(Box::new(v.clone())));
        assert_eq!(payload[0], TYPE_STREAM_LISTPACKS_2);
        let back = stream_of(restore(&payload).expect("loads"));
        // tandem writes no deleted entries into its nodes.
        let mut want = v;
        want.nodes[0].deleted = 0;
        assert_eq!(back, want);
        // The node is Redis's: same-fields flags against the master entry `a b`.
        let mut i = crate::rdb::input::SliceInput::new(&payload[1..]);
        assert_eq!(read_len(&mut i).unwrap(), 1);
        assert_eq!(read_string(&mut i).unwrap(), id_to_be(id(1, 1)));
        let lp = listpack::parse(&read_string(&mut i).unwrap()).expect("a listpack");
        let ints: Vec<Option<i64>> = lp
            .iter()
            .map(|e| match e {
                Element::Int(v) => Some(*v),
                Element::Str(_) => None,
            })
            .collect();
        // count 3, deleted 0, 2 master fields a b, 0; entry 1-1 same fields (2), diffs
        // 0 0, values 1 x, lp-count 5.
        assert_eq!(
            &ints[..13],
            &[
                Some(3),
                Some(0),
                Some(2),
                None,
                None,
                Some(0),
                Some(2),
                Some(0),
                Some(0),
                Some(1),
                None,
                Some(5),
                Some(0),
            ]
        );
    }

    #[test]
    fn redis_6_payload_estimates_entries_read() {
        // Type 15: no first id, max deleted id, entries added or entries read.
        let mut body = vec![crate::rdb::primitive::TYPE_STREAM_LISTPACKS];
        let v = StreamValue {
            groups: vec![],
            ..expected()
        };
        let mut rec = Vec::new();
        write(&v, &mut rec);
        // Cut the type-19 counters out: nodes, length, last id stay; then no groups.
        let mut i = crate::rdb::input::SliceInput::new(&rec);
        let n = read_len(&mut i).unwrap();
        for _ in 0..n * 2 {
            read_string(&mut i).unwrap();
        }
        for _ in 0..3 {
            read_len(&mut i).unwrap();
        }
        let keep = i.offset() as usize;
        body.extend_from_slice(&rec[..keep]);
        write_len(2, &mut body);
        for (name, last) in [("at-last", id(3, 0)), ("before", id(1, 0))] {
            write_string(name.as_bytes(), &mut body);
            write_len(last.ms, &mut body);
            write_len(last.seq, &mut body);
            write_len(0, &mut body);
            write_len(0, &mut body);
        }
        let mut p = body;
        p.extend_from_slice(&10u16.to_le_bytes());
        let crc = crate::rdb::crc64(&p);
        p.extend_from_slice(&crc.to_le_bytes());
        let got = stream_of(restore(&p).expect("loads"));
        assert_eq!(got.entries_added, 3);
        assert_eq!(got.max_deleted, ZERO);
        assert_eq!(got.first_id, id(1, 1));
        let read: Vec<i64> = got.groups.iter().map(|g| g.entries_read).collect();
        assert_eq!(read, vec![3, 0]);
    }

    fn sealed(kind: u8, rec: &[u8]) -> Vec<u8> {
        let mut p = vec![kind];
        p.extend_from_slice(rec);
        p.extend_from_slice(&10u16.to_le_bytes());
        let crc = crate::rdb::crc64(&p);
        p.extend_from_slice(&crc.to_le_bytes());
        p
    }

    #[test]
    fn inconsistent_streams_are_bad_data() {
        let bad = |v: StreamValue| {
            let mut rec = Vec::new();
            write(&v, &mut rec);
            restore(&sealed(TYPE_STREAM_LISTPACKS_2, &rec))
        };
        let data = |r: Result<Value, PayloadError>| matches!(r, Err(PayloadError::Data(_)));
        let mut v = expected();
        v.length = 4;
        assert!(data(bad(v)), "length");
        let mut v = expected();
        v.last_id = id(2, 0);
        assert!(data(bad(v)), "last id");
        let mut v = expected();
        v.nodes[0].entries.swap(0, 1);
        assert!(data(bad(v)), "ids out of order");
        let mut v = expected();
        v.groups[1].name = b("g");
        assert!(data(bad(v)), "duplicate group");
        let mut v = expected();
        v.groups[0].consumers.remove(1);
        assert!(data(bad(v)), "PEL entry without consumer");
        // Pending entries may move between consumers.
        let mut other = expected();
        other.groups[0].pending[0].consumer = b("carol");
        other.nodes[0].deleted = 0;
        let p = dump(&Value::Stream(Box::new(other.clone())));
        assert_eq!(stream_of(restore(&p).expect("loads")), other);
        // An empty stream loads (Redis keeps empty streams).
        let empty = StreamValue {
            nodes: vec![],
            length: 0,
            last_id: id(5, 5),
            first_id: ZERO,
            max_deleted: id(5, 5),
            entries_added: 7,
            groups: vec![],
        };
        let p = dump(&Value::Stream(Box::new(empty.clone())));
        assert_eq!(stream_of(restore(&p).expect("empty stream")), empty);
    }

    #[test]
    fn redis_empty_stream_payload() {
        // `XADD s 1-1 f v`, `XADD s 1-2 f v`, `XDEL s 1-1 1-2`, `DUMP s` on redis-server
        // 7.0.15.
        let p = b"\x13\x00\x00\x01\x02\x00\x00\x01\x02\x02\x00\n\x00b\xed\xbej\xeb\x9c\nV";
        let got = stream_of(restore(p).expect("loads"));
        assert_eq!(got.length, 0);
        assert_eq!(got.last_id, id(1, 2));
        assert_eq!(got.max_deleted, id(1, 2));
        assert_eq!(got.entries_added, 2);
        assert_eq!(dump(&Value::Stream(Box::new(got))), p.to_vec());
    }

    fn stream_strategy() -> impl Strategy<Value = StreamValue> {
        let field = prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..20),
            any::<i64>().prop_map(|v| v.to_string().into_bytes()),
            Just(b"f".to_vec()),
        ];
        let entry = (
            1u64..1000,
            0u64..3,
            proptest::collection::vec((field.clone(), field), 0..4),
        );
        (
            proptest::collection::vec(proptest::collection::vec(entry, 1..6), 0..5),
            0u64..3,
            proptest::collection::vec(
                (
                    proptest::collection::vec(any::<u8>(), 0..6),
                    -1i64..10,
                    proptest::collection::vec(any::<u8>(), 0..4),
                ),
                0..3,
            ),
        )
            .prop_map(|(nodes, extra, groups)| {
                let mut ms = 0u64;
                let mut all = Vec::new();
                let nodes: Vec<Node> = nodes
                    .into_iter()
                    .map(|n| Node {
                        entries: n
                            .into_iter()
                            .map(|(step, seq, fields)| {
                                ms += step;
                                all.push(id(ms, seq));
                                Entry {
                                    id: id(ms, seq),
                                    fields,
                                }
                            })
                            .collect(),
                        deleted: 0,
                    })
                    .collect();
                let mut names = std::collections::BTreeSet::new();
                let groups = groups
                    .into_iter()
                    .filter(|(name, _, _)| names.insert(name.clone()))
                    .map(|(name, entries_read, picks)| {
                        let consumers: Vec<Consumer> = ["a", "b"]
                            .iter()
                            .map(|c| Consumer {
                                name: b(c),
                                seen_ms: 77,
                            })
                            .collect();
                        let mut ids: Vec<StreamId> = picks
                            .iter()
                            .filter_map(|&p| all.get(usize::from(p) % all.len().max(1)).copied())
                            .collect();
                        ids.sort();
                        ids.dedup();
                        Group {
                            last_id: id(ms, 0),
                            entries_read,
                            pending: ids
                                .into_iter()
                                .enumerate()
                                .map(|(k, id)| Pending {
                                    id,
                                    consumer: consumers[k % 2].name.clone(),
                                    delivery_ms: 1_700_000_000_000 + k as u64,
                                    deliveries: k as u64 + 1,
                                })
                                .collect(),
                            consumers,
                            name,
                        }
                    })
                    .collect();
                let last = all.last().copied().unwrap_or(ZERO);
                StreamValue {
                    length: all.len() as u64,
                    last_id: id(last.ms + extra, last.seq),
                    first_id: all.first().copied().unwrap_or(ZERO),
                    max_deleted: ZERO,
                    entries_added: all.len() as u64 + extra,
                    nodes,
                    groups,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn round_trip(v in stream_strategy()) {
            let p = dump(&Value::Stream(Box::new(v.clone())));
            let back = stream_of(restore(&p).expect("loads"));
            prop_assert_eq!(back, v);
        }

        /// The decoder never panics, and never accepts what it cannot hold: any byte
        /// changed, cut or inserted in a valid record gives a value or `Bad data format`.
        #[test]
        fn corrupted_records_never_panic(
            v in stream_strategy(),
            edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..4),
        ) {
            let mut rec = Vec::new();
            write(&v, &mut rec);
            for (at, byte, how) in edits {
                if rec.is_empty() {
                    break;
                }
                let at = at % rec.len();
                match how {
                    0 => rec[at] = byte,
                    1 => rec.truncate(at),
                    _ => rec.insert(at, byte),
                }
            }
            match restore(&sealed(TYPE_STREAM_LISTPACKS_2, &rec)) {
                Ok(Value::Stream(s)) => {
                    let live: u64 = s.nodes.iter().map(|n| n.entries.len() as u64).sum();
                    prop_assert_eq!(live, s.length);
                }
                Ok(other) => prop_assert!(false, "not a stream: {:?}", other),
                Err(e) => prop_assert_eq!(e.reply_text(), crate::rdb::BAD_DATA),
            }
        }
    }
}
