//! The deployment's `CLIENT PAUSE` and `SHUTDOWN`: storaged is the one place every proxy
//! reaches, so it holds the pause and decides the shutdown, and tells every proxy link
//! (`Notice` frames, `NoticeKind::Pause` / `NoticeKind::Shutdown`).
//!
//! The proxies enforce the pause (they hold their clients' commands, `proxy/src/pause.rs`);
//! storaged only keeps the state, pushes it on every change and to every link that comes
//! up, and stops its own active expiry while a pause lasts (Redis stops active expire
//! during a pause; reads never delete in tandem). A storaged that restarts forgets the
//! pause, and its first notice on each new link says so, so no proxy stays paused past a
//! restart.
//!
//! One per process, like Redis's `server.client_pause_*` and the process's save state
//! (`crate::checkpoint::saves`): the sweeper, the links and the dispatch arms all reach it
//! without a handle. It owns no socket: a link hands it its outbox while it lives
//! ([`Control::attach`]). Nothing here touches RocksDB except through the SAVE of
//! `SHUTDOWN SAVE`, which is `crate::checkpoint`'s.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::BytesMut;
use tandem_shared::command::ArchivedCommand;
use tandem_shared::wire::{self, Notice, NoticeKind};
use tandem_shared::Reply;
use tokio_util::sync::CancellationToken;

use crate::engine::{now_ms, EngineView};
use crate::outbox::Outbox;
use crate::types::CmdResult;

/// `CLIENT PAUSE`'s modes, ordered as Redis orders `pause_type` (a later pause only
/// strengthens: the larger mode wins).
const MODE_NONE: u8 = 0;
const MODE_WRITE: u8 = 1;
const MODE_ALL: u8 = 2;

/// The pause and the links to tell about it.
#[derive(Default)]
struct State {
    mode: u8,
    end_ms: i64,
    /// Grows with every change; starts at the boot time in µs so a restarted storaged's
    /// notices are newer than the last one's.
    generation: u64,
    next_link: u64,
    links: HashMap<u64, (Arc<Outbox>, u32)>,
}

impl State {
    /// The pause in force at `now`: Redis unpauses once its clock passes the end.
    fn active(&self, now: i64) -> bool {
        self.mode != MODE_NONE && now <= self.end_ms
    }

    /// The current pause as a notice frame.
    fn notice(&self, max_frame: u32) -> Option<BytesMut> {
        let kind = NoticeKind::Pause {
            mode: self.mode,
            end_ms: self.end_ms,
            generation: self.generation,
        };
        encode(kind, "client pause", max_frame)
    }

    /// Tells every link about the current pause; called with the lock held, so links see
    /// changes in one order.
    fn broadcast(&mut self) {
        self.generation += 1;
        for (out, max_frame) in self.links.values() {
            if let Some(frame) = self.notice(*max_frame) {
                out.append(&frame);
                out.flush();
            }
        }
    }
}

fn encode(kind: NoticeKind, message: &str, max_frame: u32) -> Option<BytesMut> {
    let mut frame = BytesMut::new();
    let notice = Notice {
        kind,
        message: message.to_owned(),
    };
    match wire::encode(&notice, max_frame, &mut frame) {
        Ok(()) => Some(frame),
        Err(e) => {
            tracing::error!(error = %e, "cannot encode a notice");
            None
        }
    }
}

/// The process's pause and shutdown state; see the module docs.
pub struct Control {
    state: Mutex<State>,
    /// Cancelled by `SHUTDOWN`: `crate::server::run` stops as on SIGTERM.
    stop: CancellationToken,
    /// Set once a shutdown was decided: a second one is answered like the first.
    stopping: AtomicBool,
}

/// The process's [`Control`].
pub fn control() -> &'static Control {
    static CONTROL: OnceLock<Control> = OnceLock::new();
    CONTROL.get_or_init(|| {
        let boot_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX / 2));
        Control {
            state: Mutex::new(State {
                generation: boot_us,
                ..State::default()
            }),
            stop: CancellationToken::new(),
            stopping: AtomicBool::new(false),
        }
    })
}

/// A link registered with [`Control::attach`]; forgets it when dropped.
pub struct Attached {
    id: u64,
}

impl Drop for Attached {
    fn drop(&mut self) {
        control().lock().links.remove(&self.id);
    }
}

impl Control {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a link's outbox for notices and queues the current pause on it (none
    /// after a restart), so a proxy that connects later learns it, and one that was paused
    /// by a storaged that has since restarted is released.
    pub fn attach(&self, out: Arc<Outbox>, max_frame: u32) -> Attached {
        let mut s = self.lock();
        let id = s.next_link;
        s.next_link += 1;
        if let Some(frame) = s.notice(max_frame) {
            out.append(&frame);
        }
        s.links.insert(id, (out, max_frame));
        Attached { id }
    }

    /// `CLIENT PAUSE`: as Redis's `pauseClients`, a pause that is still in force keeps the
    /// stronger mode and the later end; an expired one is replaced.
    pub fn pause(&self, end_ms: i64, all: bool) {
        let mode = if all { MODE_ALL } else { MODE_WRITE };
        let mut s = self.lock();
        if s.active(now_ms() as i64) {
            s.mode = s.mode.max(mode);
            s.end_ms = s.end_ms.max(end_ms);
        } else {
            s.mode = mode;
            s.end_ms = end_ms;
        }
        s.broadcast();
    }

    /// `CLIENT UNPAUSE`.
    pub fn unpause(&self) {
        let mut s = self.lock();
        s.mode = MODE_NONE;
        s.end_ms = 0;
        s.broadcast();
    }

    /// True while clients are paused (either mode): the expiry sweeper stays idle.
    pub fn paused(&self) -> bool {
        self.lock().active(now_ms() as i64)
    }

    /// Decides the shutdown: tells every link (each proxy then drains and exits) and
    /// stops this process as SIGTERM does.
    pub fn shut_down(&self) {
        if self.stopping.swap(true, Ordering::AcqRel) {
            return;
        }
        tracing::info!("SHUTDOWN: telling every proxy, then draining");
        let s = self.lock();
        for (out, max_frame) in s.links.values() {
            if let Some(frame) = encode(
                NoticeKind::Shutdown,
                "storaged is shutting down (SHUTDOWN)",
                *max_frame,
            ) {
                out.append(&frame);
                out.flush();
            }
        }
        drop(s);
        self.stop.cancel();
    }

    /// Resolves once `SHUTDOWN` was decided.
    pub async fn stopped(&self) {
        self.stop.cancelled().await;
    }
}

/// `CLIENT PAUSE`, `CLIENT UNPAUSE` and `SHUTDOWN`; `None` for any other command.
/// `SHUTDOWN` runs on the writer (`WRITER_OWNED`), after every write queued before it.
pub fn read<S: EngineView + ?Sized>(s: &S, cmd: &ArchivedCommand) -> Option<CmdResult> {
    use ArchivedCommand as C;
    Some(Ok(match cmd {
        C::ClientPause { end_ms, all } => {
            control().pause(end_ms.to_native(), *all);
            Reply::ok()
        }
        C::ClientUnpause => {
            control().unpause();
            Reply::ok()
        }
        C::Shutdown { save, force } => {
            if *save && !save_before_shutdown(s) && !*force {
                return Some(Ok(Reply::Error(
                    "ERR Errors trying to SHUTDOWN. Check logs.".to_owned(),
                )));
            }
            control().shut_down();
            Reply::ok()
        }
        _ => return None,
    }))
}

/// `SHUTDOWN SAVE`: what `SAVE` does (a checkpoint into the save directory); false if it
/// failed, with the reason in the log.
fn save_before_shutdown<S: EngineView + ?Sized>(s: &S) -> bool {
    let Some(saves) = crate::checkpoint::saves() else {
        tracing::error!("SHUTDOWN SAVE: this storaged has no save directory");
        return false;
    };
    match saves.save(s.engine()) {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "SHUTDOWN SAVE: the save failed");
            false
        }
        Err(_) => {
            tracing::error!("SHUTDOWN SAVE: another save is in progress");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> Control {
        Control {
            state: Mutex::new(State::default()),
            stop: CancellationToken::new(),
            stopping: AtomicBool::new(false),
        }
    }

    #[test]
    fn a_later_pause_only_strengthens_an_active_one() {
        let c = fresh();
        let now = now_ms() as i64;
        c.pause(now + 10_000, false);
        c.pause(now + 10, true);
        let (mode, end) = {
            let s = c.lock();
            (s.mode, s.end_ms)
        };
        assert_eq!(
            (mode, end),
            (MODE_ALL, now + 10_000),
            "the stronger mode and the later end"
        );
        assert!(c.paused());
        c.unpause();
        assert!(!c.paused());
        // An expired pause is replaced, not strengthened.
        c.pause(now - 5, true);
        assert!(!c.paused(), "an end in the past pauses nothing");
        c.pause(now + 10_000, false);
        assert_eq!(c.lock().mode, MODE_WRITE);
    }

    #[test]
    fn shutdown_tells_every_link_once_and_stops() {
        let c = fresh();
        let out = Outbox::new();
        c.lock()
            .links
            .insert(0, (out.clone(), wire::DEFAULT_MAX_FRAME));
        c.shut_down();
        c.shut_down();
        assert!(c.stop.is_cancelled());
        let mut buf = out.take_now();
        let mut kinds = 0;
        while let Ok(Some(frame)) = wire::decode(&mut buf, wire::DEFAULT_MAX_FRAME) {
            let notice = frame.access::<Notice>().expect("valid notice");
            assert!(matches!(
                notice.kind,
                tandem_shared::wire::message::ArchivedNoticeKind::Shutdown
            ));
            kinds += 1;
        }
        assert_eq!(kinds, 1);
    }

    #[test]
    fn notices_grow_in_generation_and_reach_every_link() {
        let out = Outbox::new();
        let mut s = State::default();
        s.links.insert(0, (out.clone(), wire::DEFAULT_MAX_FRAME));
        s.mode = MODE_WRITE;
        s.end_ms = 5;
        s.broadcast();
        s.broadcast();
        assert_eq!(s.generation, 2);
        let mut buf = out.take_now();
        let mut generations = Vec::new();
        while let Ok(Some(frame)) = wire::decode(&mut buf, wire::DEFAULT_MAX_FRAME) {
            let notice = frame.access::<Notice>().expect("valid notice");
            if let tandem_shared::wire::message::ArchivedNoticeKind::Pause {
                mode,
                end_ms,
                generation,
            } = &notice.kind
            {
                assert_eq!((*mode, end_ms.to_native()), (MODE_WRITE, 5));
                generations.push(generation.to_native());
            }
        }
        assert_eq!(generations, vec![1, 2]);
    }
}
