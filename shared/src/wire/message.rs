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
    /// The deployment's ACL user table (v7), sent on every change and when the link comes
    /// up: `message` is the table's version on the first line, then the table as ACL file
    /// lines. A first line `<version> reload` (after `ACL LOAD`) also closes the clients
    /// of every user but `default`, as Redis's `ACL LOAD` does.
    AclTable,
    /// The deployment's `CLIENT PAUSE` (v7), sent on every change and when the link comes
    /// up: `mode` 0 none, 1 write, 2 all, until `end_ms` (Unix ms). `generation` grows with
    /// every change, across storaged restarts too (it starts at storaged's boot time in µs),
    /// so a proxy applies only the newest of the copies its several links carry.
    Pause {
        mode: u8,
        end_ms: i64,
        generation: u64,
    },
    /// `SHUTDOWN` (v7): storaged is stopping for good and drains; the proxy stops too.
    Shutdown,
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

/// proxy → storaged (v7): `MONITOR`. The pool's first link carries the proxy's count of
/// monitoring clients (after every connect and on every change); every link carries the
/// lines of the commands its clients ran while anyone monitors, ahead of the requests
/// queued after them (so an `EVAL`'s line reaches the monitors before its script's). No
/// response.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub struct Monitor {
    /// The proxy's MONITOR clients (absolute, replacing what the link registered before),
    /// or `None` when this frame only carries lines.
    pub clients: Option<u32>,
    /// One line per command, as Redis 7.0 writes it to monitors without the leading `+`
    /// and the CRLF: `1700000000.123456 [0 127.0.0.1:54321] "SET" "k" "v"`.
    pub lines: Vec<Vec<u8>>,
}

/// storaged → proxy, unasked (v7): whether anyone monitors anywhere, and the lines for
/// the proxy's monitoring clients (only to links that registered some).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub struct MonitorFeed {
    /// `epoch * 2 + 1` while any proxy has a MONITOR client, `epoch * 2` otherwise. The
    /// epoch grows with every change (from storaged's start time in ns, so a restarted
    /// storaged's are larger): a proxy keeps the largest state any of its links brought.
    pub state: u64,
    /// Lines as in [`Monitor`], in the order storaged received them.
    pub lines: Vec<Vec<u8>>,
}

impl Message for Monitor {
    const KIND: FrameKind = FrameKind::Monitor;
}
impl Message for MonitorFeed {
    const KIND: FrameKind = FrameKind::MonitorFeed;
}

/// proxy → storaged, first on every (re)connect of a link: send the ACL user table on this
/// link now and after every change (`NoticeKind::AclTable`), so the proxy enforces the
/// current table from its first request and a change through another proxy at once. Links
/// that never send it (tools, tests) get no such notices. No response.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct AclFollow {
    /// The proxy's instance id (as in its `Hello`), for storaged's logs.
    pub proxy: u64,
}

impl Message for AclFollow {
    const KIND: FrameKind = FrameKind::AclFollow;
}
