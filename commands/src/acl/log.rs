//! The ACL security log (`ACL LOG`): Redis 7.0's entries and grouping. Times are passed in
//! (microseconds: entries the proxies and storaged make are ordered as one log, and
//! commands of one client often fall in the same millisecond), so the log is plain data.

use std::collections::VecDeque;

use tandem_shared::Reply;

/// Entries within this many milliseconds of each other, with the same reason, context,
/// object and user, are one entry with a count.
const GROUPING_MAX_DELTA_US: u64 = 60_000_000;

/// One entry.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub count: u64,
    /// `command`, `key`, `channel` or `auth`.
    pub reason: &'static str,
    /// `toplevel`, `multi`, `lua`.
    pub context: &'static str,
    pub object: Vec<u8>,
    pub username: Vec<u8>,
    /// Unix microseconds ([`now_us`]).
    pub ctime_us: u64,
    /// The client's `CLIENT INFO` line.
    pub client_info: String,
}

/// The log, newest first, at most `max_len` entries (`acllog-max-len`).
#[derive(Debug, Clone)]
pub struct AclLog {
    entries: VecDeque<LogEntry>,
    pub max_len: usize,
}

impl Default for AclLog {
    fn default() -> AclLog {
        AclLog {
            entries: VecDeque::new(),
            max_len: 128,
        }
    }
}

impl AclLog {
    /// Redis's `addACLLogEntry`: grouped with a matching entry among the 10 newest (moved to
    /// the front, count up, client info and time updated), else added at the front.
    pub fn add(&mut self, entry: LogEntry) {
        let found = self.entries.iter().take(10).position(|e| {
            e.reason == entry.reason
                && e.context == entry.context
                && e.ctime_us.abs_diff(entry.ctime_us) <= GROUPING_MAX_DELTA_US
                && e.object == entry.object
                && e.username == entry.username
        });
        match found.and_then(|i| self.entries.remove(i)) {
            Some(mut e) => {
                e.count += 1;
                e.client_info = entry.client_info;
                e.ctime_us = entry.ctime_us;
                self.entries.push_front(e);
            }
            None => {
                self.entries.push_front(entry);
                self.entries.truncate(self.max_len);
            }
        }
    }

    pub fn reset(&mut self) {
        self.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, newest first.
    pub fn entries(&self) -> impl Iterator<Item = &LogEntry> {
        self.entries.iter()
    }

    /// `ACL LOG [count]`'s reply at `now_ms`.
    pub fn reply(&self, count: usize, now_ms: u64) -> Reply {
        reply_of(self.entries.iter(), count, now_ms)
    }
}

/// `ACL LOG [count]`'s reply of `entries` (newest first) at `now_ms`.
pub fn reply_of<'a>(
    entries: impl Iterator<Item = &'a LogEntry>,
    count: usize,
    now_ms: u64,
) -> Reply {
    let bulk = |s: &str| Reply::Bulk(s.as_bytes().to_vec());
    Reply::Array(
        entries
            .take(count)
            .map(|e| {
                Reply::Map(vec![
                    (bulk("count"), Reply::Integer(e.count as i64)),
                    (bulk("reason"), bulk(e.reason)),
                    (bulk("context"), bulk(e.context)),
                    (bulk("object"), Reply::Bulk(e.object.clone())),
                    (bulk("username"), Reply::Bulk(e.username.clone())),
                    (
                        bulk("age-seconds"),
                        Reply::Double(now_ms.saturating_sub(e.ctime_us / 1000) as f64 / 1000.0),
                    ),
                    (bulk("client-info"), bulk(&e.client_info)),
                ])
            })
            .collect(),
    )
}

/// The wall clock in Unix microseconds, for [`LogEntry::ctime_us`].
pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// The `&'static` form of a reason or context name that crossed the wire (`None` for one
/// Redis does not write).
pub fn known_word(word: &[u8]) -> Option<&'static str> {
    [
        "command", "key", "channel", "auth", "toplevel", "multi", "lua", "module",
    ]
    .into_iter()
    .find(|w| w.as_bytes() == word)
}
