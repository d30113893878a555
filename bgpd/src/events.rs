//! The live event stream (`/api/v1/events`, `bgpd watch`): prefix and session events as
//! they happen, one JSON object per line.

use serde::Serialize;
use std::net::IpAddr;
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
pub type EventBus = broadcast::Sender<LiveEvent>;

/// A new bus that keeps up to 65536 events for slow readers.
pub fn bus() -> EventBus {
    broadcast::channel(65536).0
}

/// Seconds since the Unix epoch, with microseconds.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
