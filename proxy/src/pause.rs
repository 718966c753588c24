//! The deployment's `CLIENT PAUSE` and `SHUTDOWN` as this proxy last heard of them.
//!
//! storaged owns both (`storaged/src/control.rs`) and pushes them on every link: the link
//! dispatcher hands each `Notice` here ([`notice`]); connections ask [`Control::mode`]
//! before each command (`crate::local::pause` decides which commands a mode holds) and the
//! accept loop waits on [`Control::stopped`]. Each proxy link carries its own copy of every
//! change, so a change is applied only when its generation is newer than the last one
//! applied: copies arriving late on another link change nothing.
//!
//! One per process, like Redis's `server.client_pause_*`: the links, the connections and
//! the accept loop reach it without a handle. No I/O here.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use tandem_shared::wire::message::ArchivedNoticeKind;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// What a pause holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Mode {
    #[default]
    None,
    /// Commands that may write (Redis's `CLIENT PAUSE ... WRITE`).
    Write,
    /// Every command.
    All,
}

/// A pause as storaged announced it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pause {
    pub mode: Mode,
    /// Unix ms; the pause holds while the clock is at or before it.
    pub end_ms: i64,
    generation: u64,
}

impl Pause {
    /// The mode in force at `now_ms`.
    pub fn mode_at(&self, now_ms: i64) -> Mode {
        if now_ms > self.end_ms {
            Mode::None
        } else {
            self.mode
        }
    }
}

/// This proxy's copy of the pause, and the shutdown signal.
pub struct Control {
    pause: watch::Sender<Pause>,
    /// False when no pause is known: the per-command check is one load.
    maybe: AtomicBool,
    stop: CancellationToken,
}

/// The process's [`Control`].
pub fn control() -> &'static Control {
    static CONTROL: OnceLock<Control> = OnceLock::new();
    CONTROL.get_or_init(|| Control {
        pause: watch::Sender::new(Pause::default()),
        maybe: AtomicBool::new(false),
        stop: CancellationToken::new(),
    })
}

/// Applies a notice storaged pushed (the pause and shutdown kinds; others are not ours).
pub fn notice(kind: &ArchivedNoticeKind) {
    match kind {
        ArchivedNoticeKind::Pause {
            mode,
            end_ms,
            generation,
        } => {
            let mode = match *mode {
                0 => Mode::None,
                1 => Mode::Write,
                _ => Mode::All,
            };
            control().apply(Pause {
                mode,
                end_ms: end_ms.to_native(),
                generation: generation.to_native(),
            });
        }
        ArchivedNoticeKind::Shutdown => {
            tracing::info!("storaged announced SHUTDOWN: draining this proxy too");
            control().stop.cancel();
        }
        _ => {}
    }
}

/// Unix ms now, the clock pauses are measured on (the proxies' and storaged's wall clocks,
/// like the absolute expiry times the proxy computes).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Control {
    fn apply(&self, new: Pause) {
        self.pause.send_if_modified(|p| {
            if new.generation <= p.generation {
                return false;
            }
            *p = new;
            // Set under the watch's lock, so `mode` cannot clear it for a newer pause.
            self.maybe.store(new.mode != Mode::None, Ordering::Release);
            true
        });
    }

    /// The pause mode in force now. One atomic load when no pause is known.
    pub fn mode(&self) -> Mode {
        if !self.maybe.load(Ordering::Acquire) {
            return Mode::None;
        }
        let now = now_ms();
        let mode = self.pause.borrow().mode_at(now);
        if mode == Mode::None {
            // Ended: back to the one-load check, unless a newer pause came meanwhile.
            self.pause.send_if_modified(|p| {
                if p.mode_at(now) == Mode::None {
                    self.maybe.store(false, Ordering::Release);
                }
                false
            });
        }
        mode
    }

    /// Resolves when the pause may have changed: a notice arrived, or its end passed.
    ///
    /// Cancel safety: safe (it only waits).
    pub async fn changed(&self) {
        let mut rx = self.pause.subscribe();
        let end = rx.borrow_and_update().end_ms;
        let left = end.saturating_sub(now_ms()).saturating_add(1).max(1);
        let left = Duration::from_millis(u64::try_from(left).unwrap_or(u64::MAX));
        tokio::select! {
            _ = rx.changed() => {}
            _ = tokio::time::sleep(left.min(Duration::from_secs(3600))) => {}
        }
    }

    /// Resolves once storaged announced `SHUTDOWN`.
    pub async fn stopped(&self) {
        self.stop.cancelled().await;
    }

    /// Whether `SHUTDOWN` was announced.
    pub fn is_stopping(&self) -> bool {
        self.stop.is_cancelled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_copy_changes_nothing_and_an_end_unpauses() {
        let c = Control {
            pause: watch::Sender::new(Pause::default()),
            maybe: AtomicBool::new(false),
            stop: CancellationToken::new(),
        };
        let far = now_ms() + 60_000;
        c.apply(Pause {
            mode: Mode::All,
            end_ms: far,
            generation: 5,
        });
        assert_eq!(c.mode(), Mode::All);
        c.apply(Pause {
            mode: Mode::None,
            end_ms: 0,
            generation: 4,
        });
        assert_eq!(c.mode(), Mode::All, "a late copy of an older notice");
        c.apply(Pause {
            mode: Mode::Write,
            end_ms: now_ms() - 1,
            generation: 6,
        });
        assert_eq!(c.mode(), Mode::None, "an end already passed holds nothing");
        assert!(!c.maybe.load(Ordering::Acquire));
    }
}
