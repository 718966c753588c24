//! [`PushSink`]: how the links reach the proxy's pub/sub table without knowing it.

use tandem_shared::wire::message::{ArchivedInvalidate, Tracking};
use tandem_shared::wire::{ArchivedPush, Subscriptions};

/// What the links need of the proxy's pub/sub table (`crate::pubsub::PubSub` implements
/// it): where `Push` frames go, and, for the one link that registers this proxy's
/// subscriptions with storaged, the subscription counts to send.
pub trait PushSink: Send + Sync + 'static {
    /// Fans out the messages of one `Push` frame from storaged.
    fn deliver(&self, push: &ArchivedPush);

    /// Every subscription with its count, replacing what storaged had for this proxy (sent
    /// on every connect: storaged's view died with the previous link). Clears the changes.
    fn snapshot(&self) -> Subscriptions;

    /// The names whose count changed since the last call, `None` when nothing changed.
    fn take_dirty(&self) -> Option<Subscriptions>;

    /// Resolves when there are changes for [`PushSink::take_dirty`].
    fn changed(&self) -> impl std::future::Future<Output = ()> + Send;
}

/// What the links need of the proxy's client-side caching registry (`crate::tracking`
/// implements it): the registrations to write ahead of requests, where `Invalidate` frames
/// go, and the news that a link was lost (its registrations with it).
pub trait TrackSink: Send + Sync + 'static {
    /// The registrations of link `link` not sent yet, or all of them (replacing storaged's)
    /// when `all` (a new link). `None` when there is nothing to send.
    fn registrations(&self, link: usize, all: bool) -> Option<Tracking>;

    /// Fans out an `Invalidate` frame that arrived on link `link` (it concerns the keys every
    /// link of this proxy registered); `client_of` names the client of a request id in
    /// flight on that link.
    fn invalidate(
        &self,
        link: usize,
        frame: &ArchivedInvalidate,
        client_of: &dyn Fn(u64) -> Option<u64>,
    );

    /// Link `link` ended: what storaged knew of it is gone, and so may be invalidations for
    /// clients on any link.
    fn lost(&self, link: usize);
}
