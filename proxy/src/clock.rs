//! The proxy's wall clock: unix time in milliseconds, from which parsers make relative
//! expiry times absolute and blocking pops compute their deadlines.
//!
//! [`BatchClock`] is how a connection reads it: once for all the commands parsed from one
//! read, forgotten after every read and every storage wait (reading it per command was 4 %
//! of the proxy at P16). This module knows nothing else.

/// Current unix time in milliseconds (0 if the system clock is before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The clock read once per batch of commands: the first [`BatchClock::now_ms`] after a
/// [`BatchClock::forget`] reads the system clock, the next ones reuse that reading.
#[derive(Debug, Default, Clone, Copy)]
pub struct BatchClock {
    now: Option<i64>,
}

impl BatchClock {
    /// The time of this batch, read now if it has not been yet.
    pub fn now_ms(&mut self) -> i64 {
        *self.now.get_or_insert_with(now_ms)
    }

    /// Ends the batch: the next [`BatchClock::now_ms`] reads the clock again.
    pub fn forget(&mut self) {
        self.now = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_reads_the_clock_once_until_forgotten() {
        let mut clock = BatchClock::default();
        let first = clock.now_ms();
        assert!(first > 1_600_000_000_000, "unix ms, not seconds: {first}");
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(clock.now_ms(), first);
        clock.forget();
        assert!(clock.now_ms() >= first + 5);
    }
}
