//! The archived message types, one per frame kind.
//!
//! Never change one of these in place: add a new kind (rkyv would read old bytes as the new
//! layout without complaint). The schema hash in the handshake catches mistakes.

use rkyv::{Archive, Deserialize, Serialize};

use super::kind::FrameKind;
use crate::{Command, Reply, StorageError};

/// A type that travels as the payload of one frame kind.
pub trait Message {
    const KIND: FrameKind;
}

/// First frame on every link, proxy → storaged.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub struct Hello {
    pub protocol: u8,
    pub schema: u32,
    /// Random per proxy process; lets storaged tell proxies apart in logs and state.
    pub instance_id: u64,
    pub pid: u32,
    /// Human-readable peer name for logs, e.g. `tandem-proxy 0.1.0`.
    pub name: String,
}

/// storaged's answer to [`Hello`].
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub struct HelloAck {
    pub protocol: u8,
    pub schema: u32,
    pub instance_id: u64,
    /// Largest frame storaged accepts.
    pub max_frame: u32,
    /// False when storaged refuses the link; `message` says why.
    pub accepted: bool,
    pub message: String,
}

/// A batch of commands from one client, run in order against one database.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub struct Request {
    /// Unique per link while in flight; echoed in the [`Response`].
    pub id: u64,
    pub db: u8,
    pub commands: Vec<Command>,
}

/// Names one write request for exactly-once execution: unique per proxy process, and the
/// same on every attempt to send it.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[rkyv(derive(Debug))]
pub struct RequestKey {
    /// The proxy's random instance id (as in its [`Hello`]).
    pub proxy: u64,
    /// Per-proxy sequence number, never reused by that proxy process.
    pub seq: u64,
    /// Proxy wall-clock unix milliseconds when the request was first queued. storaged keeps
    /// remembered replies for a bounded window after this time and refuses older keys.
    pub born_ms: u64,
}

/// A [`Request`] that may write, carrying its [`RequestKey`]. storaged stores the reply
/// under the key in the same WriteBatch as the writes, and answers a repeated key with
/// the stored reply without executing again.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub struct KeyedRequest {
    /// Unique per link while in flight; echoed in the [`Response`].
    pub id: u64,
    pub db: u8,
    pub key: RequestKey,
    /// 0 on the first send; the proxy counts up on each resend after a lost link.
    pub attempt: u32,
    pub commands: Vec<Command>,
}

/// One command's result.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub enum Outcome {
    Ok(Reply),
    Err(StorageError),
}

/// Results of a [`Request`], one per command, in order.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub struct Response {
    pub id: u64,
    pub outcomes: Vec<Outcome>,
}

/// What a [`Notice`] announces.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum NoticeKind {
    /// storaged is draining: it answers what is in flight, then closes. Send nothing new.
    GoingAway,
}

/// A frame storaged pushes unasked.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub struct Notice {
    pub kind: NoticeKind,
    pub message: String,
}

/// One subscription count of a proxy: how many of its clients subscribe to `name` (a
/// channel, or a glob pattern when `pattern`). Counts are absolute, so an update is
/// idempotent and a reconnecting proxy can resend its whole table.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct Subscription {
    pub pattern: bool,
    pub name: Vec<u8>,
    /// 0 removes the entry.
    pub clients: u32,
    /// A shard channel (`SSUBSCRIBE`, v6): its own namespace, reached only by `SPUBLISH`;
    /// `pattern` is then false.
    pub shard: bool,
}

/// proxy → storaged: changes to the pub/sub table of the link this frame arrives on.
/// storaged sends the messages for these subscriptions back on the same link as [`Push`]
/// frames. No response.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub struct Subscriptions {
    /// True: these entries replace everything the link registered before (sent first after
    /// every reconnect).
    pub replace: bool,
    pub entries: Vec<Subscription>,
}

/// One published message for a proxy to fan out to its local subscribers.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct Published {
    pub channel: Vec<u8>,
    /// The subscribed pattern that matched (for `pmessage`), or `None` for subscribers of
    /// the channel itself.
    pub pattern: Option<Vec<u8>>,
    pub message: Vec<u8>,
    /// Sent by `SPUBLISH` to shard-channel subscribers (`smessage`, v6).
    pub shard: bool,
}

/// storaged → proxy, unasked: messages for the link's subscriptions, in publish order.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub struct Push {
    pub messages: Vec<Published>,
}

impl Message for Subscriptions {
    const KIND: FrameKind = FrameKind::Subscriptions;
}
impl Message for Push {
    const KIND: FrameKind = FrameKind::Push;
}
impl Message for Hello {
    const KIND: FrameKind = FrameKind::Hello;
}
impl Message for HelloAck {
    const KIND: FrameKind = FrameKind::HelloAck;
}
impl Message for Request {
    const KIND: FrameKind = FrameKind::Request;
}
impl Message for KeyedRequest {
    const KIND: FrameKind = FrameKind::KeyedRequest;
}
impl Message for Response {
    const KIND: FrameKind = FrameKind::Response;
}
impl Message for Notice {
    const KIND: FrameKind = FrameKind::Notice;
}

/// One BCAST prefix of a link with how many of its clients track it; 0 removes it.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct TrackedPrefix {
    pub prefix: Vec<u8>,
    pub clients: u32,
}

/// proxy → storaged: client-side caching (`CLIENT TRACKING`) registrations of the link this
/// frame arrives on, applied before the frames after it, so a read sent after it is
/// tracked. storaged sends [`Invalidate`] frames back on the same link. No response.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub struct Tracking {
    /// The proxy's instance id (as in its `Hello`): storaged sends a proxy's invalidations
    /// on the link of the write that caused them when that link is the same proxy's, so
    /// they reach the proxy before the write's reply.
    pub proxy: u64,
    /// True: replaces everything the link registered before (first after every reconnect).
    pub replace: bool,
    /// Whether any client of the link tracks: such a link gets the flush of FLUSHALL and
    /// FLUSHDB even when it tracks no key.
    pub active: bool,
    /// Keys read by tracking clients (default mode): each is reported once, the next time
    /// it changes, and then forgotten until registered again.
    pub keys: Vec<Vec<u8>>,
    /// BCAST prefixes, absolute counts.
    pub prefixes: Vec<TrackedPrefix>,
}

/// One event of an [`Invalidate`] frame.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum Invalidation {
    /// A tracked key (or one under a tracked prefix) was modified; every registration of it
    /// by the proxy's links is forgotten. `origin` is the link id of the request that
    /// modified it when that request came on the link this frame arrives on (for NOLOOP),
    /// 0 otherwise.
    Key { key: Vec<u8>, origin: u64 },
    /// A database was flushed: every tracking client of the proxy flushes its whole cache,
    /// and every key registration of the proxy is forgotten.
    Flush,
}

/// storaged → proxy, unasked: invalidations for the tracking registrations of the proxy
/// (any of its links), in commit order, written before the replies of the writes that
/// caused them; on the writing request's link when the proxy made the write.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub struct Invalidate {
    pub events: Vec<Invalidation>,
}

impl Message for Tracking {
    const KIND: FrameKind = FrameKind::Tracking;
}
impl Message for Invalidate {
    const KIND: FrameKind = FrameKind::Invalidate;
}
