//! The ACL security log (`ACL LOG`): Redis 7.0's entries and grouping. Times are passed in
//! (milliseconds), so the log is plain data.

use std::collections::VecDeque;

use tandem_shared::Reply;

/// Entries within this many milliseconds of each other, with the same reason, context,
/// object and user, are one entry with a count.
const GROUPING_MAX_DELTA_MS: u64 = 60_000;

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
    pub ctime_ms: u64,
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
                && e.ctime_ms.abs_diff(entry.ctime_ms) <= GROUPING_MAX_DELTA_MS
                && e.object == entry.object
                && e.username == entry.username
        });
        match found.and_then(|i| self.entries.remove(i)) {
            Some(mut e) => {
                e.count += 1;
                e.client_info = entry.client_info;
                e.ctime_ms = entry.ctime_ms;
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

    /// `ACL LOG [count]`'s reply at `now_ms`.
    pub fn reply(&self, count: usize, now_ms: u64) -> Reply {
        let bulk = |s: &str| Reply::Bulk(s.as_bytes().to_vec());
        Reply::Array(
            self.entries
                .iter()
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
                            Reply::Double(now_ms.saturating_sub(e.ctime_ms) as f64 / 1000.0),
                        ),
                        (bulk("client-info"), bulk(&e.client_info)),
                    ])
                })
                .collect(),
        )
    }
}
