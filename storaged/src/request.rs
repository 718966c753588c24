//! A request as every part of storaged sees it: a validated request frame of either kind
//! ([`RequestView`]) and its encoded response ([`encode_response`]).
//!
//! Shared by the link (`crate::link`, which validates each frame), the executor (which
//! routes it) and the writer (which runs and remembers it); it knows nothing of any of
//! them, only of the wire types.

use bytes::BytesMut;
use rkyv::vec::ArchivedVec;
use tandem_shared::command::ArchivedCommand;
use tandem_shared::wire::{
    self, ArchivedRequestKey, Frame, FrameError, FrameKind, KeyedRequest, Outcome, Request,
    RequestKey, Response,
};
use tandem_shared::StorageError;

/// A validated request frame of either kind.
pub struct RequestView<'a> {
    pub id: u64,
    pub db: u8,
    pub key: Option<RequestKey>,
    pub attempt: u32,
    pub commands: &'a ArchivedVec<ArchivedCommand>,
}

impl RequestView<'_> {
    /// Validates a `Request` or `KeyedRequest` frame.
    ///
    /// # Errors
    /// `UnexpectedKind` for any other kind, `Invalid` for a bad archive.
    pub fn of(frame: &Frame) -> Result<RequestView<'_>, FrameError> {
        if frame.kind == FrameKind::KeyedRequest {
            let r = frame.access::<KeyedRequest>()?;
            Ok(RequestView {
                id: r.id.to_native(),
                db: r.db,
                key: Some(native_key(&r.key)),
                attempt: r.attempt.to_native(),
                commands: &r.commands,
            })
        } else {
            let r = frame.access::<Request>()?;
            Ok(RequestView {
                id: r.id.to_native(),
                db: r.db,
                key: None,
                attempt: 0,
                commands: &r.commands,
            })
        }
    }
}

/// The native copy of an archived request key.
pub fn native_key(key: &ArchivedRequestKey) -> RequestKey {
    RequestKey {
        proxy: key.proxy.to_native(),
        seq: key.seq.to_native(),
        born_ms: key.born_ms.to_native(),
    }
}

/// Encodes a response; a reply too large for a frame becomes an error per command. An
/// empty `outcomes` for a non-empty request is answered by the proxy as "too few replies".
pub fn encode_response(id: u64, outcomes: Vec<Outcome>, max_frame: u32) -> BytesMut {
    let mut out = BytesMut::new();
    let count = outcomes.len();
    if let Err(e) = wire::encode(&Response { id, outcomes }, max_frame, &mut out) {
        tracing::warn!(error = %e, "response does not fit in a frame");
        out.clear();
        let outcomes =
            vec![Outcome::Err(StorageError::Internal(format!("reply too large: {e}"))); count];
        if wire::encode(&Response { id, outcomes }, max_frame, &mut out).is_err() {
            out.clear();
        }
    }
    out
}
