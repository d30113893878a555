//! The live event stream (`/api/v1/events`, `bgpd watch`): prefix and session events as
//! they happen, one JSON object per line.

use serde::Serialize;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::broadcast;

/// One live event.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    /// A prefix announced, withdrawn or rejected (the same fields as the prefix log).
    Prefix(Box<PrefixRecord>),
    /// A session came up or went down.
    Session(Box<SessionRecord>),
}

/// A session event (boxed in [`LiveEvent`], so the bus's ring of 65,536 slots stays small:
/// its slots are allocated when the daemon starts).
#[derive(Debug, Clone, Serialize)]
pub struct SessionRecord {
    /// Seconds since the Unix epoch.
    pub time: f64,
    /// Peer address.
    pub peer: IpAddr,
    /// Peer AS.
    pub peer_as: u32,
    /// `established` or `down`.
    pub state: String,
    /// Why it went down.
    pub reason: Option<String>,
}

/// A prefix event with owned fields.
#[derive(Debug, Clone, Serialize)]
pub struct PrefixRecord {
    /// Seconds since the Unix epoch.
    pub time: f64,
    /// Peer address.
    pub peer: IpAddr,
    /// Peer AS.
    pub peer_as: u32,
    /// Family (`ipv4-unicast`, ...).
    pub family: String,
    /// Prefix.
    pub prefix: String,
    /// ADD-PATH path id (0 without).
    pub path_id: u32,
    /// Class, if any.
    pub class: Option<String>,
    /// `announce`, `implicit-withdraw`, `withdraw`, `rejected`.
    pub action: String,
    /// Why, when there is a reason.
    pub reason: Option<String>,
    /// Next hop (announcements).
    pub next_hop: Option<String>,
    /// AS path (announcements).
    pub as_path: Option<String>,
    /// Origin (announcements).
    pub origin: Option<String>,
    /// MED.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// Communities.
    pub communities: Vec<String>,
    /// Large communities.
    pub large_communities: Vec<String>,
}

/// The sender side of the stream; cloning is cheap. Events are dropped when nobody listens.
///
/// Whether anybody listens is a count the subscriptions keep in an atomic: the RIB asks it for
/// every prefix it logs, and `broadcast::Sender::receiver_count` takes the channel's lock
/// (two locked instructions per prefix, 6 % of the RIB thread's time in the W1 race).
#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<LiveEvent>,
    listeners: Arc<AtomicUsize>,
}

impl EventBus {
    /// A new bus that keeps up to 65,536 events for slow readers.
    pub fn new() -> Self {
        EventBus {
            sender: broadcast::channel(65536).0,
            listeners: Arc::default(),
        }
    }

    /// Whether a subscription is open.
    pub fn listening(&self) -> bool {
        self.listeners.load(Ordering::Relaxed) > 0
    }

    /// Sends `event` to every open subscription (nothing happens when there is none).
    pub fn send(&self, event: LiveEvent) {
        let _ = self.sender.send(event);
    }

    /// A new subscription: the events sent from now on, until it is dropped.
    pub fn subscribe(&self) -> Subscription {
        // Counted first, so `listening` is never false while a receiver exists.
        self.listeners.fetch_add(1, Ordering::Relaxed);
        Subscription {
            receiver: self.sender.subscribe(),
            listening: Listening(self.listeners.clone()),
        }
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

/// One open subscription: its receiver, and the count it holds while it lives.
#[derive(Debug)]
pub struct Subscription {
    /// The events.
    pub receiver: broadcast::Receiver<LiveEvent>,
    /// Keeps the subscription counted; keep it as long as `receiver`.
    pub listening: Listening,
}

/// A subscription's place in its bus's count of listeners, given back when dropped.
#[derive(Debug)]
pub struct Listening(Arc<AtomicUsize>);

impl Drop for Listening {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A new bus that keeps up to 65,536 events for slow readers.
pub fn bus() -> EventBus {
    EventBus::new()
}

/// Seconds since the Unix epoch, with microseconds.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_lasts_as_long_as_a_subscription() {
        let bus = bus();
        assert!(!bus.listening());
        let a = bus.subscribe();
        let b = bus.clone().subscribe();
        assert!(bus.listening());
        drop(a);
        assert!(bus.listening(), "one subscription is still open");
        drop(b);
        assert!(!bus.listening());
    }
}
