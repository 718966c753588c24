//! [`PushSink`]: how the links reach the proxy's pub/sub table without knowing it.

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
