//! Remembered replies: what makes a resent write run exactly once.
//!
//! A proxy sends every request that may write as a `KeyedRequest` with a [`RequestKey`]
//! that stays the same when it resends the request on a new link. The writer stores
//! `key → encoded outcomes` in the `reqs` column family *in the same WriteBatch* as the
//! request's writes, so after any crash either both are durable or neither is. A repeated
//! key is answered from the stored outcomes without executing again.
//!
//! Owns the record layout, the memory window and the writer's use of them: [`recall`] (the
//! answer a keyed request gets without running) and [`remember`] (recording its answer in
//! the group that runs it). The writer (`writer/`) decides which requests to run; the
//! engine owns the column family.
//!
//! Layout: key = `born_ms (u64 BE) | proxy (u64 BE) | seq (u64 BE)`, so records sort by
//! age and expiring old ones is one range deletion. Value = `schema hash (u32 LE) | the
//! Response archive as first sent` (the reply is serialized once, for the wire, and stored
//! as is); a record written by a build with another schema is not trusted, and its request
//! gets an explicit "outcome unknown" error instead.

use std::sync::atomic::Ordering;

use bytes::BytesMut;
use rkyv::rancor;
use rkyv::util::AlignedVec;
use tandem_shared::wire::{ArchivedResponse, Outcome, RequestKey, HEADER_LEN, SCHEMA_HASH};
use tandem_shared::StorageError;

use crate::engine::group::WriteGroup;
use crate::engine::{Cf, StoreRead, StoreWrite};
use crate::request::{encode_response, RequestView};

/// Default of `--request-memory-secs`: how long a reply is remembered after the request
/// was born. It must exceed the proxies' request deadline (default 5 s) by a wide margin:
/// a proxy never resends past its deadline, and storaged refuses keys older than this.
pub const DEFAULT_WINDOW_SECS: u64 = 60;

/// Length of a record key.
pub const KEY_LEN: usize = 24;

/// The record key of a request key.
pub fn record_key(key: &RequestKey) -> Vec<u8> {
    let mut k = Vec::with_capacity(KEY_LEN);
    k.extend_from_slice(&key.born_ms.to_be_bytes());
    k.extend_from_slice(&key.proxy.to_be_bytes());
    k.extend_from_slice(&key.seq.to_be_bytes());
    k
}

/// The exclusive upper bound of every record born before `born_ms`: deleting
/// `[empty, bound)` forgets them all.
pub fn born_before(born_ms: u64) -> Vec<u8> {
    born_ms.to_be_bytes().to_vec()
}

/// The record value for a request answered with `response_frame` (a whole encoded
/// Response frame, header included).
pub fn record_value(response_frame: &[u8]) -> Vec<u8> {
    let archive = response_frame.get(HEADER_LEN..).unwrap_or_default();
    let mut v = Vec::with_capacity(4 + archive.len());
    v.extend_from_slice(&SCHEMA_HASH.to_le_bytes());
    v.extend_from_slice(archive);
    v
}

/// Decodes stored outcomes for a request of `count` commands. A record that cannot be
/// trusted (other schema, corrupt, wrong length) yields an explicit outcome-unknown error
/// per command: executing again could apply the write twice.
pub fn decode(value: &[u8], count: usize) -> Vec<Outcome> {
    let decoded = value
        .split_first_chunk::<4>()
        .filter(|(hash, _)| u32::from_le_bytes(**hash) == SCHEMA_HASH)
        .and_then(|(_, archive)| {
            let mut aligned = AlignedVec::<16>::with_capacity(archive.len());
            aligned.extend_from_slice(archive);
            let response = rkyv::access::<ArchivedResponse, rancor::Error>(&aligned).ok()?;
            rkyv::deserialize::<Vec<Outcome>, rancor::Error>(&response.outcomes).ok()
        })
        .filter(|outcomes| outcomes.len() == count);
    decoded.unwrap_or_else(|| unknown(count, "its remembered reply is unreadable"))
}

/// `count` explicit outcome-unknown errors (never retryable: the write may have happened).
pub fn unknown(count: usize, why: &str) -> Vec<Outcome> {
    vec![
        Outcome::Err(StorageError::Internal(format!(
            "outcome of the command is unknown: {why}"
        )));
        count
    ]
}

/// True when a key is too old to be checked against remembered replies: its record may
/// already be trimmed, so the request must not run.
pub fn expired(key: &RequestKey, now_ms: u64, window_ms: u64) -> bool {
    key.born_ms.saturating_add(window_ms) < now_ms
}

/// A request's result inside a group, before the commit.
pub enum Answer {
    /// To be encoded after the commit.
    Outcomes(Vec<Outcome>),
    /// Encoded already because it is also remembered; the count is for a failed commit.
    Encoded(BytesMut, usize),
}

impl Answer {
    /// How many commands it answers.
    pub fn count(&self) -> usize {
        match self {
            Answer::Outcomes(o) => o.len(),
            Answer::Encoded(_, n) => *n,
        }
    }
}

/// What the writer remembers between groups about remembered replies.
pub struct DedupState {
    /// How long a reply is remembered (`--request-memory-secs`).
    window_ms: u64,
    /// Largest response frame, for the replies encoded to be remembered.
    max_frame: u32,
    /// Until this time every keyed request is checked against remembered replies (set for
    /// one window after each resend: the first attempt of a request may still be queued
    /// behind its own resend, as the proxy resends when *it* sees a link die).
    check_all_until_ms: u64,
    /// Newest `born_ms` recorded (at startup: assume records up to a window from now).
    /// A trim is skipped when nothing can be left to trim, so an idle storaged writes no
    /// range tombstones.
    newest_recorded: u64,
    /// Everything born before this has been trimmed.
    trimmed_to: u64,
}

impl DedupState {
    /// The state at startup, at `now_ms`.
    pub fn new(window_ms: u64, max_frame: u32, now_ms: u64) -> DedupState {
        DedupState {
            window_ms,
            max_frame,
            check_all_until_ms: 0,
            newest_recorded: now_ms.saturating_add(window_ms),
            trimmed_to: 0,
        }
    }

    /// Forgets, in `group`, the replies born before `cutoff`, unless nothing can be left
    /// to forget.
    pub fn trim(&mut self, group: &mut WriteGroup<'_>, cutoff: u64) {
        if cutoff > self.trimmed_to && self.newest_recorded >= self.trimmed_to {
            group.delete_range(Cf::Reqs, Vec::new(), born_before(cutoff));
            self.trimmed_to = cutoff;
        }
    }
}

/// For a keyed request: the answer it must get without running — its remembered reply, or
/// an explicit "outcome unknown" when it is too old to be checked — or `None` to run it.
/// A first attempt cannot have a record, so records are looked up only for resends and,
/// for the window after any resend, for every keyed request.
pub fn recall(
    group: &mut WriteGroup<'_>,
    req: &RequestView<'_>,
    now: u64,
    state: &mut DedupState,
) -> Option<Answer> {
    let count = req.commands.len();
    let key = req.key?;
    if expired(&key, now, state.window_ms) {
        let stats = group.engine().stats();
        stats.requests_refused_stale.fetch_add(1, Ordering::Relaxed);
        let why = "the request is older than storaged's request memory";
        return Some(Answer::Outcomes(unknown(count, why)));
    }
    let record = record_key(&key);
    if req.attempt > 0 {
        state.check_all_until_ms = now.saturating_add(state.window_ms);
    }
    if req.attempt > 0 || now < state.check_all_until_ms {
        match group.get(Cf::Reqs, &record) {
            Ok(Some(stored)) => {
                let stats = group.engine().stats();
                stats.requests_replayed.fetch_add(1, Ordering::Relaxed);
                return Some(Answer::Outcomes(decode(&stored, count)));
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "cannot read remembered replies");
                let why = "storaged cannot read its request memory";
                return Some(Answer::Outcomes(unknown(count, why)));
            }
        }
    }
    None
}

/// Encodes a request's outcomes and, for a keyed request, remembers them in the group.
pub fn remember(
    group: &mut WriteGroup<'_>,
    req: &RequestView<'_>,
    outcomes: Vec<Outcome>,
    state: &mut DedupState,
) -> Answer {
    let count = outcomes.len();
    let Some(key) = req.key else {
        return Answer::Outcomes(outcomes);
    };
    let record = record_key(&key);
    // Serialized once: the same bytes go to the proxy and into the record.
    let frame = encode_response(req.id, outcomes, state.max_frame);
    group.put(Cf::Reqs, record, record_value(&frame));
    state.newest_recorded = state.newest_recorded.max(key.born_ms);
    state.trimmed_to = state.trimmed_to.min(key.born_ms);
    Answer::Encoded(frame, count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_shared::wire::{self, Response};
    use tandem_shared::Reply;

    fn encode(outcomes: &[Outcome]) -> Option<Vec<u8>> {
        let mut frame = bytes::BytesMut::new();
        let response = Response {
            id: 3,
            outcomes: outcomes.to_vec(),
        };
        wire::encode(&response, u32::MAX, &mut frame).ok()?;
        Some(record_value(&frame))
    }

    fn key(born_ms: u64, seq: u64) -> RequestKey {
        RequestKey {
            proxy: 7,
            seq,
            born_ms,
        }
    }

    #[test]
    fn record_keys_sort_by_age_then_proxy_then_seq() {
        assert!(record_key(&key(1, 9)) < record_key(&key(2, 0)));
        assert!(record_key(&key(2, 1)) < record_key(&key(2, 2)));
        assert!(record_key(&key(1, u64::MAX)) < born_before(2));
        assert!(record_key(&key(2, 0)) >= born_before(2));
        assert_eq!(record_key(&key(1, 1)).len(), KEY_LEN);
    }

    #[test]
    fn outcomes_round_trip() {
        let outcomes = vec![
            Outcome::Ok(Reply::Integer(3)),
            Outcome::Err(StorageError::NotInteger),
            Outcome::Ok(Reply::bulk("v")),
        ];
        let stored = encode(&outcomes).unwrap();
        assert_eq!(decode(&stored, 3), outcomes);
    }

    #[test]
    fn untrusted_records_give_outcome_unknown() {
        let outcomes = vec![Outcome::Ok(Reply::Integer(3))];
        let mut stored = encode(&outcomes).unwrap();
        // Wrong count, foreign schema, garbage: never a silent re-execution.
        assert!(matches!(
            &decode(&stored, 2)[..],
            [Outcome::Err(_), Outcome::Err(_)]
        ));
        stored[0] ^= 1;
        assert!(matches!(&decode(&stored, 1)[..], [Outcome::Err(_)]));
        assert!(matches!(&decode(b"xy", 1)[..], [Outcome::Err(_)]));
        let text = match &decode(b"", 1)[0] {
            Outcome::Err(e) => e.to_string(),
            Outcome::Ok(_) => String::new(),
        };
        assert!(text.contains("outcome of the command is unknown"), "{text}");
    }

    #[test]
    fn keys_older_than_the_window_expire() {
        assert!(!expired(&key(1000, 0), 1500, 500));
        assert!(expired(&key(1000, 0), 1501, 500));
    }
}
