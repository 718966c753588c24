//! Remembered replies: what makes a resent write run exactly once.
//!
//! A proxy sends every request that may write as a `KeyedRequest` with a [`RequestKey`]
//! that stays the same when it resends the request on a new link. The writer stores
//! `key → encoded outcomes` in the `reqs` column family *in the same WriteBatch* as the
//! request's writes, so after any crash either both are durable or neither is. A repeated
//! key is answered from the stored outcomes without executing again.
//!
//! Owns the record layout and the memory window; the writer (`batch.rs`) decides when to
//! look records up. It does not own the column family (the engine does).
//!
//! Layout: key = `born_ms (u64 BE) | proxy (u64 BE) | seq (u64 BE)`, so records sort by
//! age and expiring old ones is one range deletion. Value = `schema hash (u32 LE) | the
//! Response archive as first sent` (the reply is serialized once, for the wire, and stored
//! as is); a record written by a build with another schema is not trusted, and its request
//! gets an explicit "outcome unknown" error instead.

use rkyv::rancor;
use rkyv::util::AlignedVec;
use tandem_shared::wire::{
    ArchivedRequestKey, ArchivedResponse, Outcome, RequestKey, HEADER_LEN, SCHEMA_HASH,
};
use tandem_shared::StorageError;

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

/// The native copy of an archived request key.
pub fn native_key(key: &ArchivedRequestKey) -> RequestKey {
    RequestKey {
        proxy: key.proxy.to_native(),
        seq: key.seq.to_native(),
        born_ms: key.born_ms.to_native(),
    }
}

/// The exclusive upper bound of every record born before `born_ms`: deleting
/// `[empty, bound)` forgets them all.
pub fn born_before(born_ms: u64) -> Vec<u8> {
    born_ms.to_be_bytes().to_vec()
}

/// The record value for a request answered with `response_frame` (a whole encoded
/// Response frame, header included).
pub fn remember(response_frame: &[u8]) -> Vec<u8> {
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
        Some(remember(&frame))
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
