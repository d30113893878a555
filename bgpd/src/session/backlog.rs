//! Flow control between a peer task and the RIB task: a peer task stops reading from its
//! socket while too many of its prefixes wait for the RIB, so a peer that sends faster than
//! the RIB can process fills TCP windows (its own send buffer) instead of our memory.
//! Timers keep running while reading is paused: KEEPALIVEs still go out.
//!
//! The backlog is counted in prefixes (each UPDATE weighs its announced plus withdrawn
//! prefixes, at least one), not in messages: a decoded prefix takes about 30 bytes while
//! waiting, and ten peers with 1,024 queued UPDATEs of 800 prefixes each held 250 MB.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// Prefixes of one peer that may wait for the RIB before its task stops reading: 16 of the
/// RIB task's runs (1,024 prefixes each), about half a megabyte decoded.
pub const DEFAULT_LIMIT: usize = 16_384;

/// The count of one peer's UPDATEs queued for the RIB.
#[derive(Debug)]
pub struct Backlog {
    queued: AtomicUsize,
    drained: Notify,
    limit: usize,
}

/// One queued UPDATE; dropping it (when the RIB is done with the UPDATE) frees its place.
#[derive(Debug)]
pub struct Permit {
    backlog: Arc<Backlog>,
    weight: usize,
}

impl Backlog {
    /// A backlog that pauses reading at `limit` queued prefixes and resumes at half of it.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Backlog {
            queued: AtomicUsize::new(0),
            drained: Notify::new(),
            limit: limit.max(2),
        })
    }

    /// Counts one more queued UPDATE carrying `prefixes` prefixes (counted as at least one).
    pub fn permit(self: &Arc<Self>, prefixes: usize) -> Permit {
        let weight = prefixes.max(1);
        self.queued.fetch_add(weight, Ordering::AcqRel);
        Permit {
            backlog: self.clone(),
            weight,
        }
    }

    /// Whether reading must pause.
    pub fn full(&self) -> bool {
        self.queued.load(Ordering::Acquire) >= self.limit
    }

    /// Prefixes queued now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// Completes once the backlog has drained to half the limit (or a wake-up was already
    /// stored); the caller checks [`Backlog::full`] again.
    pub async fn drained(&self) {
        self.drained.notified().await;
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let b = &self.backlog;
        let before = b.queued.fetch_sub(self.weight, Ordering::AcqRel);
        let half = b.limit / 2;
        if before > half && before.saturating_sub(self.weight) <= half {
            b.drained.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pauses_at_the_limit_and_wakes_at_half() {
        let b = Backlog::new(4);
        let mut permits: Vec<Permit> = (0..4).map(|_| b.permit(0)).collect();
        assert!(b.full());
        let waiter = {
            let b = b.clone();
            tokio::spawn(async move { b.drained().await })
        };
        tokio::task::yield_now().await;
        permits.pop();
        assert!(!b.full(), "3 of 4 queued: reading may go on");
        assert!(!waiter.is_finished());
        permits.pop();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("woken at half the limit")
            .expect("task");
        drop(permits);
        assert_eq!(b.queued(), 0);
    }

    #[tokio::test]
    async fn counts_prefixes_not_messages() {
        let b = Backlog::new(1000);
        let big = b.permit(900);
        assert!(!b.full());
        let more = b.permit(200);
        assert!(b.full(), "1,100 prefixes queued");
        let waiter = {
            let b = b.clone();
            tokio::spawn(async move { b.drained().await })
        };
        tokio::task::yield_now().await;
        drop(big);
        // 200 left: one drop crossed half the limit, and the waiter wakes.
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("woken below half the limit")
            .expect("task");
        drop(more);
        assert_eq!(b.queued(), 0);
    }
}
