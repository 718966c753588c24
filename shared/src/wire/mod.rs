//! The storage link's wire format: length-prefixed frames, each a fixed [`FrameHeader`]
//! followed by one rkyv archive of a [`message`] type.
//!
//! Owns: header layout, frame kinds, the protocol version and schema hash, size limits and
//! checked decoding. It does not own sockets, ids or retry policy; those live in each
//! binary's link layer. See `docs/PROTOCOL.md`.

pub mod codec;
pub mod kind;
pub mod message;

pub use codec::{
    decode, encode, Frame, FrameError, FrameHeader, HEADER_LEN, MAX_HANDSHAKE_FRAME, READ_CHUNK,
};
pub use kind::FrameKind;
pub use message::{
    ArchivedKeyedRequest, ArchivedOutcome, ArchivedPublished, ArchivedPush, ArchivedRequest,
    ArchivedRequestKey, ArchivedResponse, ArchivedSubscription, ArchivedSubscriptions, Hello,
    HelloAck, KeyedRequest, Message, Notice, NoticeKind, Outcome, Published, Push, Request,
    RequestKey, Response, Subscription, Subscriptions,
};

/// Wire protocol version. Bump when frame kinds or header semantics change.
/// v2: `KeyedRequest` (exactly-once writes across reconnects).
/// v3: `Subscriptions` and `Push` (pub/sub routed through storaged).
/// v4: scripting commands (`Eval`, `EvalSha`, `ScriptLoad`, `ScriptExists`, `ScriptFlush`),
///     `Reply::BigNumber`, bitmap commands (`SetBit`, `GetBit`, `BitCount`, `BitPos`, `BitOp`,
///     `BitField`, `BitFieldRo`).
/// v5: the commands of the seventh session (streams, HyperLogLog, geo, DUMP/RESTORE, ...);
///     each family lists its variants in `docs/PROTOCOL.md` when it lands.
///     Scripting: `FunctionStats`, `FunctionKill`, `FunctionHelp`, `BusyReplyThreshold`.
///     Geo: `GeoAdd`, `GeoDist`, `GeoHash`, `GeoPos`, `GeoSearch`, `GeoSearchStore`;
///     `Reply::HumanDouble`.
///     HyperLogLog: `PfAdd`, `PfCount`, `PfMerge`, `PfDebug` (`PfDebugOp`), `PfSelfTest`.
///     Sort: `Sort`, `SortRo` (`SortOptions`).
///     Server: `Save`, `BgSave`, `LastSave`.
///     Streams: `XAdd`, `XRange`, `XLen`, `XDel`, `XTrim`, `XSetId`, `XRead`,
///     `BlockingOp::StreamRead`, `XGroup` (`XGroupOp`, `XGroupId`), `XGroupHelp`;
///     `ScanType::Stream`; `Reply::PairMap`.
/// v6: the commands of the eighth session; each family adds one line here.
///     Server: `BgRewriteAof`.
///     Stream groups (H1): `XReadGroup`, `XAck`, `XPending` (`XPendingRange`), `BlockingOp::StreamReadGroup`.
///     Streams (H2): `XInfoStream`, `XInfoGroups`, `XInfoConsumers`, `XInfoHelp`, `XClaim` (`XClaimTime`), `XAutoClaim`.
///     Observability (H6): `Stats` (`stats::StatsPush`, `stats::StatsOp`).
///     Serialization (H3): `Dump`, `Restore`.
///     OBJECT/DEBUG (H7): `Object` (`ObjectField`, `ObjectLimits`), `DebugReload`, `DebugSetActiveExpire`, `DebugSleep`.
///     Sharded pub/sub (H7): `SPublish`, `PubSubShardChannels`, `PubSubShardNumSub`; `shard` in `Subscription` and `Published`.
///     Client tracking (H8): frame kinds `Tracking` (9) and `Invalidate` (10).
///     ACL (H4): `AclSetUser`, `AclDelUser`, `AclUsers`.
/// v7: the commands of the ninth session; each family adds one line here.
///     MONITOR (H3): frame kinds `Monitor` (11) and `MonitorFeed` (12).
///     ACL (H5): `caller` (`ScriptCaller`) in `Eval`/`EvalSha`/`FCall`, `AclLog`, `AclLoad`, `AclSave`, `NoticeKind::AclTable`, frame kind `AclFollow` (13).
///     Pause/shutdown (H2): `ClientPause`, `ClientUnpause`, `Shutdown`, `NoticeKind::Pause`, `NoticeKind::Shutdown`.
///     Databases (H4): `SwapDb`.
pub const PROTOCOL_VERSION: u8 = 7;

/// Default upper bound on one frame's payload (64 MiB + slack for a maximal pipeline).
/// Configurable on both sides; a larger length prefix is refused before any allocation.
pub const DEFAULT_MAX_FRAME: u32 = 576 * 1024 * 1024;

/// FNV-1a hash of the source of every archived type. rkyv schema drift is silent (a reader
/// accepts bytes of a changed type and returns wrong values), so both sides compare this in
/// the handshake and refuse to talk across any change to the message definitions.
pub const SCHEMA_HASH: u32 = {
    let a = fnv1a(include_bytes!("../command.rs"), 0x811c_9dc5);
    let b = fnv1a(include_bytes!("../reply.rs"), a);
    let c = fnv1a(include_bytes!("../error.rs"), b);
    let c = fnv1a(include_bytes!("../stats.rs"), c);
    fnv1a(include_bytes!("message.rs"), c)
};

const fn fnv1a(bytes: &[u8], seed: u32) -> u32 {
    let mut hash = seed;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u32;
        hash = hash.wrapping_mul(0x0100_0193);
        i += 1;
    }
    hash
}

/// Capacity above which an emptied socket buffer is given back (see [`shrink_after_burst`]).
pub const SHRINK_ABOVE: usize = 1024 * 1024;

/// Replaces an empty `buf` whose capacity a burst grew past [`SHRINK_ABOVE`] with a fresh
/// one of `keep` bytes, so one large value does not pin its size in every buffer it
/// crossed for the life of a connection or link. A buffer still holding bytes is kept.
pub fn shrink_after_burst(buf: &mut bytes::BytesMut, keep: usize) {
    if buf.is_empty() && buf.capacity() > SHRINK_ABOVE {
        *buf = bytes::BytesMut::with_capacity(keep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_empty_buffers_past_the_line_shrink() {
        let mut big = bytes::BytesMut::with_capacity(4 * SHRINK_ABOVE);
        big.extend_from_slice(b"x");
        shrink_after_burst(&mut big, 1024);
        assert!(big.capacity() >= 4 * SHRINK_ABOVE, "holds a byte: kept");
        big.clear();
        shrink_after_burst(&mut big, 1024);
        assert!(big.capacity() < SHRINK_ABOVE, "{}", big.capacity());
        let mut small = bytes::BytesMut::with_capacity(SHRINK_ABOVE);
        let before = small.capacity();
        shrink_after_burst(&mut small, 16);
        assert_eq!(small.capacity(), before);
    }
}
