//! MONITOR routing: which proxy links have monitoring clients, whether anyone monitors at
//! all, and the delivery of monitor lines to those links as `MonitorFeed` frames.
//!
//! storaged only routes, like pub/sub (`crate::pubsub`): each proxy formats the lines of
//! the commands its own clients run and sends them (`Monitor` frames) only while this
//! table says someone monitors; storaged copies each batch to every link that registered
//! monitoring clients, and writes the lines of the commands scripts run (`[db lua]`,
//! [`Table::script_lines`]) itself. Every link of every proxy is told when the "anyone
//! monitors" state changes, so with no monitor anywhere a proxy formats nothing and the
//! whole cost is one atomic load per command there and one per script command here.
//!
//! Ordering: lines are queued while holding the table lock, so every monitor sees one
//! order; a proxy's lines travel on the link of the client that ran them, ahead of that
//! client's next request. Queuing never waits: a link whose outbox already holds its
//! backlog of unwritten bytes is cut, as for pub/sub pushes. This module never touches
//! RocksDB and knows nothing of commands beyond the lines.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::BytesMut;
use tandem_shared::wire::message::{ArchivedMonitor, MonitorFeed};
use tandem_shared::wire::{self};
use tokio_util::sync::CancellationToken;

use crate::outbox::Outbox;

/// One attached link.
struct Entry {
    out: Arc<Outbox>,
    /// Most bytes left waiting in `out` before a push cuts the link.
    backlog: usize,
    kill: CancellationToken,
    max_frame: u32,
    /// MONITOR clients its proxy registered on it.
    clients: u32,
}

#[derive(Default)]
struct Inner {
    links: HashMap<u64, Entry>,
    next: u64,
    /// Grows with every change of the state; starts at storaged's start time in ns, so a
    /// restarted storaged's states are larger than its predecessor's.
    epoch: u64,
    /// Sum of `clients` over the links.
    monitors: u64,
}

/// Every link's MONITOR registration; one per server, in the pub/sub hub.
#[derive(Default)]
pub struct Table {
    inner: Mutex<Inner>,
    /// Whether any link registered a monitoring client.
    active: AtomicBool,
}

impl Table {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether anyone monitors: the one check a script command costs otherwise.
    pub fn active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Registers a link and tells its proxy the current state. `kill` is cancelled if
    /// the link cannot keep up: more than `backlog` bytes waiting in `out` at a push.
    pub fn attach(
        &self,
        out: Arc<Outbox>,
        backlog: usize,
        kill: CancellationToken,
        max_frame: u32,
    ) -> u64 {
        let mut t = self.lock();
        if t.epoch == 0 {
            t.epoch = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64);
        }
        let id = t.next;
        t.next += 1;
        let entry = Entry {
            out,
            backlog,
            kill,
            max_frame,
            clients: 0,
        };
        let state = state_of(&t);
        push(&entry, state, Vec::new());
        t.links.insert(id, entry);
        id
    }

    /// Forgets a link and its monitors.
    pub fn detach(&self, link: u64) {
        let mut t = self.lock();
        if let Some(entry) = t.links.remove(&link) {
            t.monitors -= u64::from(entry.clients);
            self.settle(&mut t, entry.clients > 0);
        }
    }

    /// Applies a `Monitor` frame from `link`: its registration, then its lines.
    pub fn update(&self, link: u64, frame: &ArchivedMonitor) {
        let mut t = self.lock();
        if let Some(clients) = frame.clients.as_ref().map(|c| c.to_native()) {
            let Some(entry) = t.links.get_mut(&link) else {
                return;
            };
            let before = std::mem::replace(&mut entry.clients, clients);
            t.monitors = t.monitors - u64::from(before) + u64::from(clients);
            self.settle(&mut t, before != clients);
        }
        if !frame.lines.is_empty() && t.monitors > 0 {
            let lines = frame.lines.iter().map(|l| l.as_slice().to_vec()).collect();
            deliver(&t, lines);
        }
    }

    /// Delivers the lines of commands a script ran (`[db lua]`), after the line of the
    /// script's own command.
    pub fn script_lines(&self, lines: Vec<Vec<u8>>) {
        if lines.is_empty() {
            return;
        }
        let t = self.lock();
        if t.monitors > 0 {
            deliver(&t, lines);
        }
    }

    /// After a change of the monitor counts: when "anyone monitors" flipped, a new state
    /// for every link (every proxy must start or stop sending lines).
    fn settle(&self, t: &mut Inner, changed: bool) {
        let active = t.monitors > 0;
        if !changed || active == self.active.load(Ordering::Relaxed) {
            return;
        }
        self.active.store(active, Ordering::Relaxed);
        t.epoch += 1;
        let state = state_of(t);
        for entry in t.links.values() {
            push(entry, state, Vec::new());
        }
    }
}

/// Whether a script's command with row `spec` gets a line: someone monitors, and the
/// command is not one Redis keeps from monitors (`admin`, `skip_monitor`).
pub fn shows(table: &Table, spec: &tandem_commands::CommandSpec) -> bool {
    use tandem_commands::flags::Flags;
    table.active()
        && !spec.flags.contains(Flags::ADMIN)
        && !spec.flags.contains(Flags::SKIP_MONITOR)
}

/// The line of a command a script ran in `db`, stamped now.
pub fn script_line(db: u8, argv: &[Vec<u8>]) -> Vec<u8> {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    tandem_shared::monitor::line(micros, db, tandem_shared::monitor::Origin::Script, argv)
}

fn state_of(t: &Inner) -> u64 {
    t.epoch.saturating_mul(2) + u64::from(t.monitors > 0)
}

/// Queues `lines` to every link with monitoring clients.
fn deliver(t: &Inner, lines: Vec<Vec<u8>>) {
    let state = state_of(t);
    let mut frame = BytesMut::new();
    // Every receiving link gets the same bytes; any link's frame limit will do for the
    // encoding (they are all storaged's own `max_frame`).
    let Some(first) = t.links.values().find(|e| e.clients > 0) else {
        return;
    };
    if let Err(e) = wire::encode(&MonitorFeed { state, lines }, first.max_frame, &mut frame) {
        tracing::warn!(error = %e, "monitor lines do not fit in a frame; dropped");
        return;
    }
    for entry in t.links.values().filter(|e| e.clients > 0) {
        send(entry, &frame);
    }
}

fn push(entry: &Entry, state: u64, lines: Vec<Vec<u8>>) {
    let mut frame = BytesMut::new();
    if wire::encode(&MonitorFeed { state, lines }, entry.max_frame, &mut frame).is_ok() {
        send(entry, &frame);
    }
}

fn send(entry: &Entry, frame: &[u8]) {
    if entry.out.append_bounded(frame, entry.backlog) {
        entry.out.flush();
    } else if !entry.kill.is_cancelled() {
        tracing::warn!("proxy link is not reading its monitor lines; closing it");
        entry.kill.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_shared::wire::message::Monitor;

    fn frames(out: &Outbox) -> Vec<MonitorFeed> {
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        take_now(out, &mut buf);
        while let Ok(Some(frame)) = wire::decode(&mut buf, wire::DEFAULT_MAX_FRAME) {
            let feed = frame.access::<MonitorFeed>().unwrap();
            got.push(rkyv::deserialize::<MonitorFeed, rkyv::rancor::Error>(feed).unwrap());
        }
        got
    }

    /// Takes what `out` holds without waiting (a zero timeout polls the take once).
    fn take_now(out: &Outbox, buf: &mut BytesMut) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let _ = tokio::time::timeout(std::time::Duration::ZERO, out.take(buf)).await;
        });
    }

    fn apply(table: &Table, link: u64, clients: Option<u32>, lines: &[&str]) {
        let frame = Monitor {
            clients,
            lines: lines.iter().map(|l| l.as_bytes().to_vec()).collect(),
        };
        let mut bytes = BytesMut::new();
        wire::encode(&frame, wire::DEFAULT_MAX_FRAME, &mut bytes).unwrap();
        let frame = wire::decode(&mut bytes, wire::DEFAULT_MAX_FRAME)
            .unwrap()
            .unwrap();
        table.update(link, frame.access::<Monitor>().unwrap());
    }

    #[test]
    fn every_link_learns_the_state_and_only_monitors_get_lines() {
        let table = Table::default();
        let (a, b) = (Outbox::new(), Outbox::new());
        let la = table.attach(a.clone(), 1 << 20, CancellationToken::new(), 1 << 20);
        let lb = table.attach(b.clone(), 1 << 20, CancellationToken::new(), 1 << 20);
        let first = frames(&a);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].state % 2, 0, "nobody monitors yet");
        assert_eq!(frames(&b).len(), 1);
        apply(&table, lb, Some(0), &["dropped: nobody monitors"]);
        assert!(frames(&b).is_empty() && !table.active());

        apply(&table, la, Some(2), &[]);
        assert!(table.active());
        let (fa, fb) = (frames(&a), frames(&b));
        assert_eq!((fa.len(), fb.len()), (1, 1));
        assert_eq!(fb[0].state % 2, 1);
        assert!(fb[0].state > first[0].state);

        apply(&table, lb, None, &["1.000000 [0 x] \"SET\""]);
        table.script_lines(vec![b"1.000001 [0 lua] \"GET\"".to_vec()]);
        let fa = frames(&a);
        let lines: Vec<_> = fa.iter().flat_map(|f| f.lines.clone()).collect();
        assert_eq!(
            lines,
            vec![
                b"1.000000 [0 x] \"SET\"".to_vec(),
                b"1.000001 [0 lua] \"GET\"".to_vec()
            ]
        );
        assert!(frames(&b).is_empty(), "no monitors on b");

        table.detach(la);
        assert!(!table.active());
        let fb = frames(&b);
        assert_eq!(fb.len(), 1);
        assert_eq!(fb[0].state % 2, 0);
    }

    #[test]
    fn a_link_that_does_not_read_is_cut() {
        let table = Table::default();
        let out = Outbox::new();
        let kill = CancellationToken::new();
        let link = table.attach(out.clone(), 256, kill.clone(), 1 << 20);
        apply(&table, link, Some(1), &[]);
        let long = "x".repeat(200);
        apply(&table, link, None, &[&long]);
        apply(&table, link, None, &[&long]);
        assert!(kill.is_cancelled());
    }
}
