//! `XCLAIM` and `XAUTOCLAIM` with Redis 7.0 semantics: they move pending entries of a
//! consumer group to another consumer (creating it, as Redis's `streamCreateConsumer`
//! does, only once something is claimed), set their delivery time and count, and drop the
//! pending entries whose stream entry was deleted (XAUTOCLAIM lists those ids in its
//! third reply element). Both are writes: they run in the writer, their records change in
//! the request's write group, and a resent request is answered from its remembered reply.
//!
//! Records are read and written through `pel.rs`; nothing here knows their bytes.
//!
//! One deliberate difference: Redis 7.0 allocates `COUNT` deleted-id slots up front and
//! answers "Insufficient memory, failed allocating transient memory, COUNT too high." when
//! that allocation fails (a COUNT near the parser's maximum, depending on the machine);
//! tandem allocates as it goes and serves any COUNT the parser accepts.

use tandem_shared::command::{StreamId, XClaimTime};
use tandem_shared::{Reply, StorageError};

use super::pel::Pending;
use super::{entry_reply, id_reply, next, Stream};
use crate::engine::{Cf, StoreWrite};
use crate::types::At;

/// Pending entries read per batch by `XAUTOCLAIM`'s walk.
const BATCH: usize = 256;

/// What a claim did besides its reply: whether it created the claiming consumer (for the
/// `xgroup-createconsumer` event Redis emits then).
pub struct Claimed {
    pub reply: Reply,
    pub created_consumer: bool,
}

fn reply(r: Reply) -> Claimed {
    Claimed {
        reply: r,
        created_consumer: false,
    }
}

fn no_group(key: &[u8], group: &[u8]) -> Reply {
    Reply::Error(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(group)
    ))
}

/// The claiming consumer, looked up (and created) the first time an entry is claimed:
/// Redis refreshes its seen time then, or creates it.
struct Claimer<'c> {
    name: &'c [u8],
    touched: bool,
    created: bool,
}

impl Claimer<'_> {
    fn touch<W: StoreWrite + ?Sized>(
        &mut self,
        w: &mut W,
        st: &Stream<'_>,
        group: &[u8],
        now: u64,
    ) -> Result<(), StorageError> {
        if !self.touched {
            self.created = st.consumer(&*w, group, self.name)?.is_none();
            st.put_consumer(w, group, self.name, now);
            self.touched = true;
        }
        Ok(())
    }
}

/// The `XCLAIM` arguments after the key, group and consumer (see `Command::XClaim`).
pub struct ClaimArgs<'a> {
    pub min_idle: u64,
    pub ids: &'a [StreamId],
    pub delivery: XClaimTime,
    pub retry_count: Option<u64>,
    pub force: bool,
    pub justid: bool,
    pub last_id: StreamId,
    pub error: Option<&'a str>,
}

/// `XCLAIM`: Redis 7.0's `xclaimCommand`. Checks in Redis's order: the key's type, the key
/// and group (`NOGROUP`), then the argument error the parser found. `LASTID` raises the
/// group's last delivered id. Each id whose entry exists and that is pending (or, with
/// `FORCE`, not pending) and idle for at least `min_idle` goes to `consumer`; a pending id
/// whose entry was deleted leaves the PEL; other ids are skipped.
///
/// # Errors
/// `WRONGTYPE`; storage failures.
pub fn xclaim<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    group: &[u8],
    consumer: &[u8],
    a: &ClaimArgs<'_>,
) -> Result<Claimed, StorageError> {
    let Some(st) = Stream::open(w, at, key, false)? else {
        return Ok(reply(no_group(key, group)));
    };
    let Some(mut g) = st.group(&*w, group)? else {
        return Ok(reply(no_group(key, group)));
    };
    if let Some(text) = a.error {
        return Ok(reply(Reply::Error(text.to_owned())));
    }
    let now = at.now_ms as i64;
    if a.last_id > g.last_id {
        g.last_id = a.last_id;
        st.put_group(w, group, &g);
    }
    let delivery = match a.delivery {
        XClaimTime::Now => now,
        XClaimTime::Idle(ms) => now.wrapping_sub(ms),
        XClaimTime::Time(ms) => ms,
    };
    // A bogus time (before 0 or in the future) is now, as in Redis: clients compute it
    // from their own clocks.
    let delivery = if delivery < 0 || delivery > now {
        now
    } else {
        delivery
    };
    let mut claimer = Claimer {
        name: consumer,
        touched: false,
        created: false,
    };
    let mut out = Vec::new();
    for &id in a.ids {
        let pending = st.pending(&*w, group, id)?;
        let Some(entry) = w.get(Cf::Sub, &st.entry_key(id))? else {
            // The entry is gone: so goes its pending entry.
            if pending.is_some() {
                st.delete_pending(w, group, id);
            }
            continue;
        };
        let mut p = match pending {
            Some(p) => {
                if a.min_idle > 0 && now.wrapping_sub(p.delivery_ms as i64) < a.min_idle as i64 {
                    continue;
                }
                p
            }
            // FORCE makes a pending entry for an entry nobody was given: Redis's new
            // NACK starts at one delivery, no owner and no idle check.
            None if a.force => Pending {
                id,
                consumer: Vec::new(),
                delivery_ms: at.now_ms,
                deliveries: 1,
            },
            None => continue,
        };
        claimer.touch(w, &st, group, at.now_ms)?;
        p.consumer = consumer.to_vec();
        p.delivery_ms = delivery as u64;
        match a.retry_count {
            Some(n) => p.deliveries = n,
            None if !a.justid => p.deliveries = p.deliveries.wrapping_add(1),
            None => {}
        }
        st.put_pending(w, group, &p);
        out.push(if a.justid {
            id_reply(id)
        } else {
            entry_reply(id, &entry)?
        });
    }
    Ok(Claimed {
        reply: Reply::Array(out),
        created_consumer: claimer.created,
    })
}

/// `XAUTOCLAIM`: Redis 7.0's `xautoclaimCommand`. Walks the group's PEL from `start` in id
/// order, looking at no more than `count * 10` pending entries and stopping once `count`
/// were claimed or dropped: an entry whose stream entry was deleted leaves the PEL (and is
/// listed), one idle for at least `min_idle` goes to `consumer` with the delivery time now
/// (and one more delivery unless `justid`). Replies `[next cursor (0-0 at the end),
/// claimed, deleted ids]`.
///
/// # Errors
/// `WRONGTYPE`; storage failures.
#[allow(clippy::too_many_arguments)]
pub fn xautoclaim<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    group: &[u8],
    consumer: &[u8],
    min_idle: u64,
    start: StreamId,
    count: u64,
    justid: bool,
) -> Result<Claimed, StorageError> {
    let Some(st) = Stream::open(w, at, key, false)? else {
        return Ok(reply(no_group(key, group)));
    };
    if st.group(&*w, group)?.is_none() {
        return Ok(reply(no_group(key, group)));
    }
    let now = at.now_ms as i64;
    let mut attempts = count.saturating_mul(10);
    let mut count = count;
    let mut claimer = Claimer {
        name: consumer,
        touched: false,
        created: false,
    };
    let mut claimed = Vec::new();
    let mut deleted = Vec::new();
    let mut cursor = StreamId::default();
    let mut from = Some(start);
    'walk: while let Some(f) = from {
        let batch = st.pending_from(&*w, group, f, None, BATCH)?;
        from = if batch.len() < BATCH {
            None
        } else {
            batch.last().and_then(|p| next(p.id))
        };
        for mut p in batch {
            if attempts == 0 || count == 0 {
                // The cursor is the first pending entry not looked at.
                cursor = p.id;
                break 'walk;
            }
            attempts -= 1;
            let Some(entry) = w.get(Cf::Sub, &st.entry_key(p.id))? else {
                st.delete_pending(w, group, p.id);
                deleted.push(id_reply(p.id));
                count -= 1;
                continue;
            };
            if min_idle > 0 && now.wrapping_sub(p.delivery_ms as i64) < min_idle as i64 {
                continue;
            }
            claimer.touch(w, &st, group, at.now_ms)?;
            p.consumer = consumer.to_vec();
            p.delivery_ms = at.now_ms;
            if !justid {
                p.deliveries = p.deliveries.wrapping_add(1);
            }
            st.put_pending(w, group, &p);
            claimed.push(if justid {
                id_reply(p.id)
            } else {
                entry_reply(p.id, &entry)?
            });
            count -= 1;
        }
    }
    Ok(Claimed {
        reply: Reply::Array(vec![
            id_reply(cursor),
            Reply::Array(claimed),
            Reply::Array(deleted),
        ]),
        created_consumer: claimer.created,
    })
}

#[cfg(test)]
mod tests {
    use tandem_shared::command::{XAddId, XGroupId, XGroupOp};

    use super::super::pel::Group;
    use super::super::{xadd, xdel, xgroup};
    use super::*;
    use crate::types::testing::TestDb;

    const T0: u64 = 1_700_000_000_000;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    fn at(now_ms: u64) -> At {
        At { db: 0, now_ms }
    }

    fn idr(ms: u64, seq: u64) -> Reply {
        id_reply(id(ms, seq))
    }

    /// Stream `s` with entries 1-0..=n-0, group `g` at 0-0, and entries 1..=n pending for
    /// `alice`, delivered at `T0` once.
    fn setup(n: u64) -> TestDb {
        let mut db = TestDb::open();
        db.write(|w, _| {
            for i in 1..=n {
                xadd(
                    w,
                    at(T0),
                    b"s",
                    XAddId::Explicit(id(i, 0)),
                    false,
                    None,
                    &[(b"f", b"v")],
                )
                .expect("xadd");
            }
            let create = XGroupOp::Create {
                id: XGroupId::Id(id(0, 0)),
                mkstream: false,
                entries_read: -1,
            };
            xgroup(w, at(T0), b"s", b"g", &create, b"create", false, T0).expect("xgroup");
            let st = Stream::open(w, at(T0), b"s", false)
                .expect("open")
                .expect("exists");
            st.put_consumer(w, b"g", b"alice", T0);
            for i in 1..=n {
                let p = Pending {
                    id: id(i, 0),
                    consumer: b"alice".to_vec(),
                    delivery_ms: T0,
                    deliveries: 1,
                };
                st.put_pending(w, b"g", &p);
            }
        });
        db
    }

    fn pending(db: &TestDb, i: u64) -> Option<Pending> {
        db.read(|s, _| {
            let st = Stream::read(s, at(T0), b"s")
                .expect("read")
                .expect("exists");
            st.pending(s, b"g", id(i, 0)).expect("pending")
        })
    }

    fn consumer(db: &TestDb, name: &[u8]) -> Option<u64> {
        db.read(|s, _| {
            let st = Stream::read(s, at(T0), b"s")
                .expect("read")
                .expect("exists");
            st.consumer(s, b"g", name).expect("consumer")
        })
    }

    fn group(db: &TestDb) -> Group {
        db.read(|s, _| {
            let st = Stream::read(s, at(T0), b"s")
                .expect("read")
                .expect("exists");
            st.group(s, b"g").expect("group").expect("exists")
        })
    }

    fn args(ids: &[StreamId]) -> ClaimArgs<'_> {
        ClaimArgs {
            min_idle: 0,
            ids,
            delivery: XClaimTime::Now,
            retry_count: None,
            force: false,
            justid: false,
            last_id: StreamId::default(),
            error: None,
        }
    }

    fn claim(db: &mut TestDb, now: u64, who: &[u8], a: &ClaimArgs<'_>) -> Claimed {
        db.write(|w, _| xclaim(w, at(now), b"s", b"g", who, a).expect("xclaim"))
    }

    fn entry(i: u64) -> Reply {
        Reply::Array(vec![
            idr(i, 0),
            Reply::Array(vec![Reply::bulk("f"), Reply::bulk("v")]),
        ])
    }

    #[test]
    fn xclaim_moves_idle_entries_and_creates_the_consumer_once() {
        let mut db = setup(3);
        let ids = [id(1, 0), id(2, 0), id(9, 0)];
        // Not idle long enough: nothing moves, and bob is not created.
        let mut a = args(&ids);
        a.min_idle = 500;
        let c = claim(&mut db, T0 + 100, b"bob", &a);
        assert_eq!(c.reply, Reply::Array(vec![]));
        assert!(!c.created_consumer);
        assert_eq!(consumer(&db, b"bob"), None);
        // Idle enough: 1 and 2 move to bob with one more delivery; 9 is not pending.
        let c = claim(&mut db, T0 + 600, b"bob", &a);
        assert_eq!(c.reply, Reply::Array(vec![entry(1), entry(2)]));
        assert!(c.created_consumer);
        assert_eq!(consumer(&db, b"bob"), Some(T0 + 600));
        let p = pending(&db, 1).expect("pending");
        assert_eq!(
            (p.consumer.as_slice(), p.delivery_ms, p.deliveries),
            (&b"bob"[..], T0 + 600, 2)
        );
        // JUSTID: ids only, the count unchanged; IDLE sets the delivery time back.
        let mut a = args(&ids[..1]);
        a.justid = true;
        a.delivery = XClaimTime::Idle(50);
        let c = claim(&mut db, T0 + 700, b"bob", &a);
        assert_eq!(c.reply, Reply::Array(vec![idr(1, 0)]));
        assert!(!c.created_consumer);
        let p = pending(&db, 1).expect("pending");
        assert_eq!((p.delivery_ms, p.deliveries), (T0 + 650, 2));
        // RETRYCOUNT sets the count; a TIME in the future is now.
        let mut a = args(&ids[..1]);
        a.retry_count = Some(7);
        a.delivery = XClaimTime::Time((T0 + 10_000) as i64);
        claim(&mut db, T0 + 800, b"carol", &a);
        let p = pending(&db, 1).expect("pending");
        assert_eq!(
            (p.consumer.as_slice(), p.delivery_ms, p.deliveries),
            (&b"carol"[..], T0 + 800, 7)
        );
    }

    #[test]
    fn xclaim_drops_deleted_entries_forces_new_ones_and_raises_lastid() {
        let mut db = setup(3);
        db.write(|w, _| xdel(w, at(T0), b"s", Some(&[id(2, 0)])).expect("xdel"));
        // Acknowledge 3 by hand, then FORCE it back: a new pending entry, two deliveries.
        db.write(|w, _| {
            let st = Stream::open(w, at(T0), b"s", false)
                .expect("open")
                .expect("exists");
            st.delete_pending(w, b"g", id(3, 0));
        });
        let ids = [id(2, 0), id(3, 0), id(4, 0)];
        let mut a = args(&ids);
        a.force = true;
        a.justid = true;
        a.last_id = id(10, 0);
        let c = claim(&mut db, T0 + 5, b"dave", &a);
        assert_eq!(c.reply, Reply::Array(vec![idr(3, 0)]));
        assert_eq!(pending(&db, 2), None, "a deleted entry leaves the PEL");
        let p = pending(&db, 3).expect("forced");
        assert_eq!((p.consumer.as_slice(), p.deliveries), (&b"dave"[..], 1));
        assert_eq!(group(&db).last_id, id(10, 0));
        // Without JUSTID a forced entry counts one more delivery, as Redis's new NACK does.
        db.write(|w, _| {
            let st = Stream::open(w, at(T0), b"s", false)
                .expect("open")
                .expect("exists");
            st.delete_pending(w, b"g", id(3, 0));
        });
        let mut a = args(&ids[1..2]);
        a.force = true;
        claim(&mut db, T0 + 5, b"dave", &a);
        assert_eq!(pending(&db, 3).expect("forced").deliveries, 2);
        // A lower LASTID leaves the group alone; an argument error comes after the lookup.
        let mut a = args(&[]);
        a.last_id = id(5, 0);
        claim(&mut db, T0 + 5, b"dave", &a);
        assert_eq!(group(&db).last_id, id(10, 0));
        a.error = Some("ERR Unrecognized XCLAIM option 'x'");
        assert_eq!(
            claim(&mut db, T0, b"dave", &a).reply,
            Reply::Error("ERR Unrecognized XCLAIM option 'x'".to_owned())
        );
        let missing = db.write(|w, _| xclaim(w, at(T0), b"s", b"nog", b"c", &a).expect("xclaim"));
        assert_eq!(
            missing.reply,
            Reply::Error("NOGROUP No such key 's' or consumer group 'nog'".to_owned())
        );
    }

    fn autoclaim(db: &mut TestDb, now: u64, start: StreamId, count: u64, min_idle: u64) -> Reply {
        db.write(|w, _| {
            xautoclaim(w, at(now), b"s", b"g", b"bob", min_idle, start, count, true)
                .expect("xautoclaim")
                .reply
        })
    }

    #[test]
    fn xautoclaim_counts_deleted_ids_and_returns_the_next_cursor() {
        let mut db = setup(8);
        db.write(|w, _| {
            xdel(
                w,
                at(T0),
                b"s",
                Some(&[id(1, 0), id(2, 0), id(3, 0), id(4, 0), id(5, 0)]),
            )
            .expect("xdel")
        });
        let arr = |v: Vec<Reply>| Reply::Array(v);
        // Deleted ids count toward COUNT, as in Redis 7.0.15.
        assert_eq!(
            autoclaim(&mut db, T0 + 1, id(0, 0), 2, 0),
            arr(vec![
                idr(3, 0),
                arr(vec![]),
                arr(vec![idr(1, 0), idr(2, 0)])
            ])
        );
        assert_eq!(
            autoclaim(&mut db, T0 + 1, id(0, 0), 4, 0),
            arr(vec![
                idr(7, 0),
                arr(vec![idr(6, 0)]),
                arr(vec![idr(3, 0), idr(4, 0), idr(5, 0)])
            ])
        );
        // Not idle enough: looked at (within COUNT * 10 attempts) but not claimed.
        assert_eq!(
            autoclaim(&mut db, T0 + 2, id(0, 0), 10, 1_000),
            arr(vec![idr(0, 0), arr(vec![]), arr(vec![])])
        );
        // Attempts run out after COUNT * 10 looks: the cursor is the next pending entry.
        assert_eq!(
            autoclaim(&mut db, T0 + 5_000, id(7, 0), 1, 0),
            arr(vec![idr(8, 0), arr(vec![idr(7, 0)]), arr(vec![])])
        );
        assert_eq!(pending(&db, 7).expect("pending").consumer, b"bob".to_vec());
        assert_eq!(pending(&db, 7).expect("pending").deliveries, 1, "JUSTID");
    }
}
