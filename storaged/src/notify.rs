//! Keyspace notifications: the events a committed write publishes on
//! `__keyspace@<db>__:<key>` and `__keyevent@<db>__:<event>`, per the
//! `notify-keyspace-events` flags kept in the pub/sub hub.
//!
//! Events are published after the write group commits, in command order, so a subscriber
//! never hears of a write that did not happen. This module decides nothing about storage.

pub use tandem_shared::notify::Flags;

use crate::pubsub::hub;

/// Publishes one event for `key` in `db` if the flags ask for its class.
pub fn emit(flags: Flags, class: u32, event: &str, db: u8, key: &[u8]) {
    if !flags.wants(class) {
        return;
    }
    let hub = hub();
    if flags.has(Flags::KEYSPACE) {
        let mut channel = format!("__keyspace@{db}__:").into_bytes();
        channel.extend_from_slice(key);
        hub.publish(&channel, event.as_bytes());
    }
    if flags.has(Flags::KEYEVENT) {
        let channel = format!("__keyevent@{db}__:{event}").into_bytes();
        hub.publish(&channel, key);
    }
}
