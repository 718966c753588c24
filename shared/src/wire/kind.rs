//! Frame kinds: the one-byte tag in every frame header that says which [`super::message`]
//! type the archive holds. Its own module so the codec and the message types both use it
//! without using each other.

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FrameKind {
    Hello = 1,
    HelloAck = 2,
    Request = 3,
    Response = 4,
    Notice = 5,
    KeyedRequest = 6,
    /// proxy → storaged: this link's pub/sub subscriptions (see `Subscriptions`).
    Subscriptions = 7,
    /// storaged → proxy, unasked: published messages (see `Push`).
    Push = 8,
    /// proxy → storaged: client-side caching registrations (see `Tracking`).
    Tracking = 9,
    /// storaged → proxy, unasked: tracked keys that changed (see `Invalidate`).
    Invalidate = 10,
    /// proxy → storaged: MONITOR registrations and lines (see `Monitor`, v7).
    Monitor = 11,
    /// storaged → proxy, unasked: whether anyone monitors, and lines (see `MonitorFeed`, v7).
    MonitorFeed = 12,
    /// proxy → storaged: push the ACL table on this link (see `AclFollow`, v7).
    AclFollow = 13,
}

impl FrameKind {
    pub(super) fn from_u8(v: u8) -> Option<FrameKind> {
        Some(match v {
            1 => FrameKind::Hello,
            2 => FrameKind::HelloAck,
            3 => FrameKind::Request,
            4 => FrameKind::Response,
            5 => FrameKind::Notice,
            6 => FrameKind::KeyedRequest,
            7 => FrameKind::Subscriptions,
            8 => FrameKind::Push,
            9 => FrameKind::Tracking,
            10 => FrameKind::Invalidate,
            11 => FrameKind::Monitor,
            12 => FrameKind::MonitorFeed,
            13 => FrameKind::AclFollow,
            _ => return None,
        })
    }
}
