//! Flow control between a peer task and the RIB task: a peer task stops reading from its
//! socket while too many of its UPDATEs wait for the RIB, so a peer that sends faster than
//! the RIB can process fills TCP windows (its own send buffer) instead of our memory.
//! Timers keep running while reading is paused: KEEPALIVEs still go out.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// UPDATEs of one peer that may wait for the RIB before its task stops reading.
pub const DEFAULT_LIMIT: usize = 1024;

/// The count of one peer's UPDATEs queued for the RIB.
#[derive(Debug)]
pub struct Backlog {
    queued: AtomicUsize,
    drained: Notify,
    limit: usize,
}

/// One queued UPDATE; dropping it (when the RIB is done with the UPDATE) frees its place.
#[derive(Debug)]
pub struct Permit(Arc<Backlog>);

impl Backlog {
    /// A backlog that pauses reading at `limit` queued UPDATEs and resumes at half of it.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Backlog {
            queued: AtomicUsize::new(0),
            drained: Notify::new(),
            limit: limit.max(2),
        })
    }

    /// Counts one more queued UPDATE.
    pub fn permit(self: &Arc<Self>) -> Permit {
        self.queued.fetch_add(1, Ordering::AcqRel);
        Permit(self.clone())
    }

    /// Whether reading must pause.
    pub fn full(&self) -> bool {
        self.queued.load(Ordering::Acquire) >= self.limit
    }

    /// UPDATEs queued now.
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
        let before = self.0.queued.fetch_sub(1, Ordering::AcqRel);
        if before.saturating_sub(1) == self.0.limit / 2 {
            self.0.drained.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pauses_at_the_limit_and_wakes_at_half() {
        let b = Backlog::new(4);
        let mut permits: Vec<Permit> = (0..4).map(|_| b.permit()).collect();
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
}
