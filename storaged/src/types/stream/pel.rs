//! Consumer-group records of a stream: the group record, its pending entries (the PEL)
//! and its consumers, as sub-keys under the stream's version (layout in
//! `docs/ENCODING.md`, Stream). This module owns their codec and the reads and writes of
//! single records and of a group's ranges; it does not decide Redis semantics (what
//! `XREADGROUP`, `XACK`, `XCLAIM` … do with them lives in their own modules).
//!
//! ```text
//! group:    0x02 | group name                          → last ms | last seq | entries_read: i64
//! pending:  0x03 | len: u32 BE | group | ms | seq      → consumer_len: u32 | consumer | delivery_ms | deliveries
//! consumer: 0x04 | len: u32 BE | group | consumer name → seen_ms
//! ```
//!
//! A group's pending entries lie in id order under one prefix, so the PEL in id order is
//! one range scan; a consumer's own pending entries are the group's filtered by owner
//! (there is no per-consumer index: a consumer's history costs a scan of its group's PEL).
//! Consumers and groups lie in name byte order, the order Redis's rax gives them.

use tandem_shared::command::StreamId;
use tandem_shared::StorageError;

use super::{read_u32, read_u64, Stream, CONSUMER_TAG, GROUP_TAG, MAX, PEL_TAG, ZERO};
use crate::engine::keys;
use crate::engine::{Cf, StoreRead, StoreWrite};

/// A consumer group's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Group {
    /// The group's last delivered id (`last-delivered-id`).
    pub last_id: StreamId,
    /// Entries the group has read (`entries-read`), -1 when unknown.
    pub entries_read: i64,
}

impl Group {
    /// `last ms | last seq | entries_read`, 24 bytes BE.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(24);
        v.extend_from_slice(&self.last_id.ms.to_be_bytes());
        v.extend_from_slice(&self.last_id.seq.to_be_bytes());
        v.extend_from_slice(&self.entries_read.to_be_bytes());
        v
    }

    pub(crate) fn decode(v: &[u8]) -> Result<Group, StorageError> {
        if v.len() != 24 {
            return Err(corrupt("group"));
        }
        Ok(Group {
            last_id: StreamId {
                ms: read_u64(&v[0..8]),
                seq: read_u64(&v[8..16]),
            },
            entries_read: read_u64(&v[16..24]) as i64,
        })
    }
}

/// One pending entry of a group: delivered to `consumer`, not acknowledged yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pending {
    pub id: StreamId,
    pub consumer: Vec<u8>,
    /// When it was last delivered (unix ms): its idle time is `now - delivery_ms`.
    pub delivery_ms: u64,
    /// How many times it was delivered.
    pub deliveries: u64,
}

impl Pending {
    /// The value: `consumer_len: u32 BE | consumer | delivery_ms: u64 BE | deliveries: u64 BE`.
    pub(crate) fn encode_value(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(20 + self.consumer.len());
        v.extend_from_slice(&(self.consumer.len() as u32).to_be_bytes());
        v.extend_from_slice(&self.consumer);
        v.extend_from_slice(&self.delivery_ms.to_be_bytes());
        v.extend_from_slice(&self.deliveries.to_be_bytes());
        v
    }

    /// The entry `id`'s pending record from its value.
    pub(crate) fn decode_value(id: StreamId, v: &[u8]) -> Result<Pending, StorageError> {
        let (consumer, rest) = split_owner(v).ok_or_else(|| corrupt("pending"))?;
        if rest.len() != 16 {
            return Err(corrupt("pending"));
        }
        Ok(Pending {
            id,
            consumer: consumer.to_vec(),
            delivery_ms: read_u64(&rest[0..8]),
            deliveries: read_u64(&rest[8..16]),
        })
    }
}

/// The owner of a pending value and the bytes after it.
fn split_owner(v: &[u8]) -> Option<(&[u8], &[u8])> {
    let n = read_u32(v)? as usize;
    let owner = v.get(4..4 + n)?;
    Some((owner, &v[4 + n..]))
}

/// The consumer that owns a pending record's value, without decoding the rest.
pub(crate) fn pending_owner(v: &[u8]) -> Option<&[u8]> {
    split_owner(v).map(|(o, _)| o)
}

fn corrupt(what: &str) -> StorageError {
    StorageError::Internal(format!("stream {what} record is malformed"))
}

/// `tag | len: u32 BE | group`: the prefix of a group's pending entries or consumers.
pub(crate) fn group_scoped(tag: u8, group: &[u8]) -> Vec<u8> {
    let mut s = Vec::with_capacity(5 + group.len());
    s.push(tag);
    s.extend_from_slice(&(group.len() as u32).to_be_bytes());
    s.extend_from_slice(group);
    s
}

/// The id of a pending sub-key, given the length of the prefix before `ms | seq`.
fn pending_id(k: &[u8], prefix_len: usize) -> Result<StreamId, StorageError> {
    let rest = k.get(prefix_len..).ok_or_else(|| corrupt("pending key"))?;
    if rest.len() != 16 {
        return Err(corrupt("pending key"));
    }
    Ok(StreamId {
        ms: read_u64(&rest[0..8]),
        seq: read_u64(&rest[8..16]),
    })
}

/// The range end of a prefix's keys.
fn end_of(prefix: &[u8]) -> Vec<u8> {
    keys::prefix_end(prefix).unwrap_or_else(|| vec![keys::DB_COUNT])
}

impl Stream<'_> {
    /// The group record's key.
    pub(crate) fn group_key(&self, group: &[u8]) -> Vec<u8> {
        let mut suffix = Vec::with_capacity(1 + group.len());
        suffix.push(GROUP_TAG);
        suffix.extend_from_slice(group);
        self.sub(&suffix)
    }

    /// The group `group`, `None` if the stream has none of that name.
    pub(crate) fn group<S: StoreRead + ?Sized>(
        &self,
        s: &S,
        group: &[u8],
    ) -> Result<Option<Group>, StorageError> {
        if self.old.is_none() {
            return Ok(None);
        }
        s.get(Cf::Sub, &self.group_key(group))?
            .map(|v| Group::decode(&v))
            .transpose()
    }

    /// Writes the group record (creates or updates; the caller counts new groups in
    /// `state.groups`).
    pub(crate) fn put_group<W: StoreWrite + ?Sized>(&self, w: &mut W, group: &[u8], g: &Group) {
        w.put(Cf::Sub, self.group_key(group), g.encode());
    }

    /// Every group in name order.
    pub(crate) fn groups<S: StoreRead + ?Sized>(
        &self,
        s: &S,
    ) -> Result<Vec<(Vec<u8>, Group)>, StorageError> {
        let start = self.sub(&[GROUP_TAG]);
        let end = self.sub(&[GROUP_TAG + 1]);
        let prefix_len = start.len();
        let mut out = Vec::new();
        let mut failed = None;
        s.scan(Cf::Sub, &start, &end, &mut |k, v| match Group::decode(v) {
            Ok(g) => {
                out.push((k[prefix_len..].to_vec(), g));
                true
            }
            Err(e) => {
                failed = Some(e);
                false
            }
        })?;
        failed.map_or(Ok(out), Err)
    }

    /// The prefix of `group`'s pending records.
    pub(crate) fn pel_prefix(&self, group: &[u8]) -> Vec<u8> {
        self.sub(&group_scoped(PEL_TAG, group))
    }

    /// The key of `group`'s pending record of entry `id`.
    pub(crate) fn pending_key(&self, group: &[u8], id: StreamId) -> Vec<u8> {
        let mut k = self.pel_prefix(group);
        k.extend_from_slice(&id.ms.to_be_bytes());
        k.extend_from_slice(&id.seq.to_be_bytes());
        k
    }

    /// `group`'s pending record of entry `id`.
    pub(crate) fn pending<S: StoreRead + ?Sized>(
        &self,
        s: &S,
        group: &[u8],
        id: StreamId,
    ) -> Result<Option<Pending>, StorageError> {
        s.get(Cf::Sub, &self.pending_key(group, id))?
            .map(|v| Pending::decode_value(id, &v))
            .transpose()
    }

    /// Writes a pending record (new, or a new owner / delivery time / count).
    pub(crate) fn put_pending<W: StoreWrite + ?Sized>(&self, w: &mut W, group: &[u8], p: &Pending) {
        w.put(Cf::Sub, self.pending_key(group, p.id), p.encode_value());
    }

    /// Deletes the pending record of entry `id` (whether or not there is one).
    pub(crate) fn delete_pending<W: StoreWrite + ?Sized>(
        &self,
        w: &mut W,
        group: &[u8],
        id: StreamId,
    ) {
        w.delete(Cf::Sub, self.pending_key(group, id));
    }

    /// Visits `group`'s pending records with `from <= id <= to` in id order, only those of
    /// `consumer` when given, until `visit` returns false.
    pub(crate) fn scan_pending<S: StoreRead + ?Sized>(
        &self,
        s: &S,
        group: &[u8],
        from: StreamId,
        to: StreamId,
        consumer: Option<&[u8]>,
        visit: &mut dyn FnMut(Pending) -> bool,
    ) -> Result<(), StorageError> {
        if from > to || self.old.is_none() {
            return Ok(());
        }
        let prefix = self.pel_prefix(group);
        let prefix_len = prefix.len();
        let start = self.pending_key(group, from);
        let end = if to == MAX {
            end_of(&prefix)
        } else {
            let mut e = self.pending_key(group, to);
            e.push(0);
            e
        };
        let mut failed = None;
        s.scan(Cf::Sub, &start, &end, &mut |k, v| {
            if let Some(c) = consumer {
                match pending_owner(v) {
                    Some(o) if o == c => {}
                    Some(_) => return true,
                    None => {
                        failed = Some(corrupt("pending"));
                        return false;
                    }
                }
            }
            match pending_id(k, prefix_len).and_then(|id| Pending::decode_value(id, v)) {
                Ok(p) => visit(p),
                Err(e) => {
                    failed = Some(e);
                    false
                }
            }
        })?;
        failed.map_or(Ok(()), Err)
    }

    /// Up to `limit` of `group`'s pending records from `from` on (of `consumer` when
    /// given), in id order.
    pub(crate) fn pending_from<S: StoreRead + ?Sized>(
        &self,
        s: &S,
        group: &[u8],
        from: StreamId,
        consumer: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Pending>, StorageError> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        self.scan_pending(s, group, from, MAX, consumer, &mut |p| {
            out.push(p);
            out.len() < limit
        })?;
        Ok(out)
    }

    /// How many pending records `group` has (of `consumer` when given).
    pub(crate) fn pending_count<S: StoreRead + ?Sized>(
        &self,
        s: &S,
        group: &[u8],
        consumer: Option<&[u8]>,
    ) -> Result<u64, StorageError> {
        let mut n = 0u64;
        if self.old.is_none() {
            return Ok(0);
        }
        let prefix = self.pel_prefix(group);
        let end = end_of(&prefix);
        let mut bad = false;
        s.scan(Cf::Sub, &prefix, &end, &mut |_, v| {
            match (consumer, pending_owner(v)) {
                (_, None) => {
                    bad = true;
                    return false;
                }
                (Some(c), Some(o)) if c != o => {}
                _ => n += 1,
            }
            true
        })?;
        if bad {
            return Err(corrupt("pending"));
        }
        Ok(n)
    }

    /// Pending counts per consumer, for the consumers that have any, in name order.
    pub(crate) fn pending_per_consumer<S: StoreRead + ?Sized>(
        &self,
        s: &S,
        group: &[u8],
    ) -> Result<Vec<(Vec<u8>, u64)>, StorageError> {
        let mut counts: std::collections::BTreeMap<Vec<u8>, u64> = Default::default();
        self.scan_pending(s, group, ZERO, MAX, None, &mut |p| {
            *counts.entry(p.consumer).or_default() += 1;
            true
        })?;
        Ok(counts.into_iter().collect())
    }

    /// The key of `group`'s consumer `consumer`.
    pub(crate) fn consumer_key(&self, group: &[u8], consumer: &[u8]) -> Vec<u8> {
        let mut suffix = group_scoped(CONSUMER_TAG, group);
        suffix.extend_from_slice(consumer);
        self.sub(&suffix)
    }

    /// The seen time (unix ms) of `group`'s consumer `consumer`, `None` if it does not
    /// exist.
    pub(crate) fn consumer<S: StoreRead + ?Sized>(
        &self,
        s: &S,
        group: &[u8],
        consumer: &[u8],
    ) -> Result<Option<u64>, StorageError> {
        match s.get(Cf::Sub, &self.consumer_key(group, consumer))? {
            Some(v) if v.len() == 8 => Ok(Some(read_u64(&v))),
            Some(_) => Err(corrupt("consumer")),
            None => Ok(None),
        }
    }

    /// Creates consumer `consumer` or sets its seen time.
    pub(crate) fn put_consumer<W: StoreWrite + ?Sized>(
        &self,
        w: &mut W,
        group: &[u8],
        consumer: &[u8],
        seen_ms: u64,
    ) {
        w.put(
            Cf::Sub,
            self.consumer_key(group, consumer),
            seen_ms.to_be_bytes().to_vec(),
        );
    }

    /// Deletes consumer `consumer`'s record (not its pending entries).
    pub(crate) fn delete_consumer<W: StoreWrite + ?Sized>(
        &self,
        w: &mut W,
        group: &[u8],
        consumer: &[u8],
    ) {
        w.delete(Cf::Sub, self.consumer_key(group, consumer));
    }

    /// `group`'s consumers with their seen times, in name order.
    pub(crate) fn consumers<S: StoreRead + ?Sized>(
        &self,
        s: &S,
        group: &[u8],
    ) -> Result<Vec<(Vec<u8>, u64)>, StorageError> {
        let mut out = Vec::new();
        if self.old.is_none() {
            return Ok(out);
        }
        let prefix = self.sub(&group_scoped(CONSUMER_TAG, group));
        let end = end_of(&prefix);
        let prefix_len = prefix.len();
        let mut bad = false;
        s.scan(Cf::Sub, &prefix, &end, &mut |k, v| {
            if v.len() != 8 {
                bad = true;
                return false;
            }
            out.push((k[prefix_len..].to_vec(), read_u64(v)));
            true
        })?;
        if bad {
            return Err(corrupt("consumer"));
        }
        Ok(out)
    }

    /// Deletes every pending record and consumer of `group` (two range deletions), not the
    /// group record.
    pub(crate) fn clear_group<W: StoreWrite + ?Sized>(&self, w: &mut W, group: &[u8]) {
        for tag in [PEL_TAG, CONSUMER_TAG] {
            let start = self.sub(&group_scoped(tag, group));
            let end = end_of(&start);
            w.delete_range(Cf::Sub, start, end);
        }
    }
}
