//! How often one session logs events of a kind a peer can cause at will.
//!
//! - The RFC 7606 outcomes of the UPDATEs it receives: a peer that sends the same small
//!   fault in every UPDATE (LOCAL_PREF or ORIGINATOR_ID over eBGP is common: a collector
//!   feed or a misconfigured neighbor) would otherwise write a warning per UPDATE, a million
//!   lines for a full table, drowning everything else. Every outcome is also counted in
//!   `bgpd_peer_update_errors_total`, so nothing is lost to the limit.
//! - The tables sent again on its ROUTE-REFRESH requests (a peer may ask many times a
//!   second; every one is also counted in `messages_received`).
//!
//! Each kind logs the first [`LogLimit::PER_WINDOW`] events of a [`LogLimit::WINDOW`] in
//! full; the rest are counted and the count is logged once, when the next window opens or
//! the session ends.

use std::time::{Duration, Instant};

/// The per-session limit on log lines of one kind.
#[derive(Debug, Default)]
pub struct LogLimit {
    window_start: Option<Instant>,
    logged: u32,
    suppressed: u64,
}

/// What to do with one outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// Log this outcome in full.
    pub log: bool,
    /// Outcomes left unlogged in the window that just closed (log the count first).
    pub suppressed_before: u64,
    /// This outcome is the last one logged in full until the window closes (say so).
    pub limit_reached: bool,
}

impl LogLimit {
    /// Events logged in full per window.
    pub const PER_WINDOW: u32 = 20;
    /// The window.
    pub const WINDOW: Duration = Duration::from_secs(60);

    /// A limit with nothing logged yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decides for one outcome seen at `now`.
    pub fn admit(&mut self, now: Instant) -> Admission {
        let mut suppressed_before = 0;
        let expired = self
            .window_start
            .is_none_or(|s| now.saturating_duration_since(s) >= Self::WINDOW);
        if expired {
            suppressed_before = std::mem::take(&mut self.suppressed);
            self.window_start = Some(now);
            self.logged = 0;
        }
        if self.logged < Self::PER_WINDOW {
            self.logged += 1;
            return Admission {
                log: true,
                suppressed_before,
                limit_reached: self.logged == Self::PER_WINDOW,
            };
        }
        self.suppressed += 1;
        Admission {
            log: false,
            suppressed_before,
            limit_reached: false,
        }
    }

    /// Outcomes not yet reported by count (for the session's end); resets the count.
    pub fn take_suppressed(&mut self) -> u64 {
        std::mem::take(&mut self.suppressed)
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn logs_the_first_of_each_window_and_counts_the_rest() {
        let mut log = LogLimit::new();
        let t0 = Instant::now();
        let first: Vec<Admission> = (0..LogLimit::PER_WINDOW + 5)
            .map(|_| log.admit(t0))
            .collect();
        let logged = first.iter().filter(|a| a.log).count();
        assert_eq!(logged, LogLimit::PER_WINDOW as usize);
        assert_eq!(first.iter().filter(|a| a.limit_reached).count(), 1);
        assert!(first[LogLimit::PER_WINDOW as usize - 1].limit_reached);
        assert!(first.iter().all(|a| a.suppressed_before == 0));

        // Still inside the window: counted.
        assert!(!log.admit(t0 + Duration::from_secs(59)).log);
        // The next window reports the six left out, and logs again.
        let next = log.admit(t0 + LogLimit::WINDOW);
        assert!(next.log);
        assert_eq!(next.suppressed_before, 6);
        assert_eq!(log.take_suppressed(), 0);
    }

    #[test]
    fn the_session_end_takes_what_is_left() {
        let mut log = LogLimit::new();
        let t0 = Instant::now();
        for _ in 0..LogLimit::PER_WINDOW + 3 {
            log.admit(t0);
        }
        assert_eq!(log.take_suppressed(), 3);
        assert_eq!(log.take_suppressed(), 0);
    }
}
