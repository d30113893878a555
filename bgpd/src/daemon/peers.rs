//! The peer directory: each configured neighbor's task, its command channel and its status
//! as shown by `show neighbors`. Only the peer table is shared (behind a mutex); routing
//! state lives in the RIB task alone.

use crate::config::{Config, Neighbor};
use crate::rib::route::PeerId;
use crate::session::driver::{PeerCommand, PeerTask, RibEvent};
use crate::session::fsm::State;
use crate::session::negotiate::Negotiated;
use bgp_proto::Notification;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;

/// What is known about one peer's session.
#[derive(Debug, Clone)]
pub struct PeerStatus {
    /// Peer address.
    pub address: IpAddr,
    /// Configured peer AS.
    pub peer_as: u32,
    /// Description.
    pub description: String,
    /// FSM state.
    pub state: State,
    /// When the session last went up or down.
    pub since: SystemTime,
    /// Why it last went down.
    pub last_down_reason: Option<String>,
    /// The negotiated session while Established (or the last one).
    pub negotiated: Option<Box<Negotiated>>,
    /// UPDATEs received.
    pub updates_received: u64,
    /// Times the session left Established.
    pub flaps: u64,
    /// The last NOTIFICATION received, decoded.
    pub last_notification_received: Option<String>,
    /// The last NOTIFICATION sent, decoded.
    pub last_notification_sent: Option<String>,
    /// Octets queued for the peer and not yet accepted by its TCP window (OutQ), kept up to
    /// date by the session's writing task.
    pub out_queue: Arc<AtomicU64>,
    /// Routes waiting, coalesced, while the OutQ is above its high-water mark, kept up to
    /// date by the session's task.
    pub waiting_routes: Arc<AtomicU64>,
}

impl PeerStatus {
    /// Marks the session Established.
    pub fn established(&mut self, n: &Negotiated) {
        self.state = State::Established;
        self.since = SystemTime::now();
        self.negotiated = Some(Box::new(n.clone()));
    }

    /// Marks the session down.
    pub fn down(&mut self, reason: &str) {
        self.since = SystemTime::now();
        self.last_down_reason = Some(reason.to_string());
        self.flaps += 1;
    }
}

struct Slot {
    tx: mpsc::UnboundedSender<PeerCommand>,
    task: tokio::task::JoinHandle<()>,
    status: PeerStatus,
}

/// Every configured peer.
#[derive(Default)]
pub struct PeerDirectory {
    slots: Mutex<HashMap<PeerId, Slot>>,
    next_id: AtomicU32,
    /// Where peer tasks send what they record (set once when recording is configured).
    pub recorder: std::sync::OnceLock<crate::recording::RecorderHandle>,
}

impl PeerDirectory {
    fn lock(&self) -> MutexGuard<'_, HashMap<PeerId, Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh peer id.
    pub fn allocate_id(&self) -> PeerId {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Starts the task of a neighbor. A panic in it is logged, reported to the RIB as a
    /// session loss, and the task is started again after 5 seconds; other peers go on.
    pub fn spawn(
        self: &Arc<Self>,
        id: PeerId,
        n: Neighbor,
        config: &Config,
        rib: mpsc::UnboundedSender<RibEvent>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let local_as = config.global.asn;
        let router_id: Ipv4Addr = config.global.router_id;
        let directory = Arc::downgrade(self);
        let neighbor = n.clone();
        let out_queue = Arc::new(AtomicU64::new(0));
        let waiting_routes = Arc::new(AtomicU64::new(0));
        let reports = crate::session::driver::PeerReports {
            rib: rib.clone(),
            recorder: self.recorder.get().cloned(),
            out_queue: out_queue.clone(),
            waiting_routes: waiting_routes.clone(),
        };
        let task = tokio::spawn(async move {
            let mut rx = rx;
            loop {
                let task = PeerTask::new(
                    id,
                    neighbor.clone(),
                    local_as,
                    router_id,
                    rx,
                    reports.clone(),
                );
                let incarnation = task.incarnation();
                match tokio::spawn(task.run()).await {
                    Ok(()) => break,
                    Err(e) if e.is_panic() => {
                        tracing::error!(peer = %neighbor.address, "peer task panicked: closing this session only; restarting it in 5 s");
                        let _ = rib.send(RibEvent::Down {
                            peer: id,
                            incarnation,
                            graceful: false,
                            reason: "internal error (peer task panicked)".into(),
                        });
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        let (tx, new_rx) = mpsc::unbounded_channel();
                        rx = new_rx;
                        match directory.upgrade() {
                            Some(d) => match d.lock().get_mut(&id) {
                                Some(slot) => slot.tx = tx,
                                None => break,
                            },
                            None => break,
                        }
                    }
                    Err(_) => break,
                }
            }
        });
        let status = PeerStatus {
            address: n.address,
            peer_as: n.peer_as,
            description: n.description.clone(),
            state: State::Idle,
            since: SystemTime::now(),
            last_down_reason: None,
            negotiated: None,
            updates_received: 0,
            flaps: 0,
            last_notification_received: None,
            last_notification_sent: None,
            out_queue,
            waiting_routes,
        };
        self.lock().insert(id, Slot { tx, task, status });
    }

    /// Stops a neighbor's task with `notification` and starts it again with new settings.
    pub fn respawn(
        self: &Arc<Self>,
        id: PeerId,
        n: Neighbor,
        config: &Config,
        rib: mpsc::UnboundedSender<RibEvent>,
        notification: Notification,
    ) {
        if let Some(slot) = self.lock().remove(&id) {
            let _ = slot.tx.send(PeerCommand::Stop(notification));
        }
        self.spawn(id, n, config, rib);
    }

    /// Stops and forgets a neighbor.
    pub fn remove(&self, id: PeerId, notification: Notification) {
        if let Some(slot) = self.lock().remove(&id) {
            let _ = slot.tx.send(PeerCommand::Stop(notification));
        }
    }

    /// Sends a command to a peer task.
    pub fn send(&self, id: PeerId, cmd: PeerCommand) {
        if let Some(slot) = self.lock().get(&id) {
            let _ = slot.tx.send(cmd);
        }
    }

    /// Hands an accepted connection to the neighbor with that address. Returns false when
    /// no neighbor has it.
    pub fn hand_over(&self, address: IpAddr, stream: tokio::net::TcpStream) -> bool {
        let address = canonical(address);
        let slots = self.lock();
        match slots.values().find(|s| s.status.address == address) {
            Some(s) => s.tx.send(PeerCommand::Inbound(stream)).is_ok(),
            None => false,
        }
    }

    /// Changes a peer's status.
    pub fn update(&self, id: PeerId, f: impl FnOnce(&mut PeerStatus)) {
        if let Some(slot) = self.lock().get_mut(&id) {
            f(&mut slot.status);
        }
    }

    /// A peer's address.
    pub fn address(&self, id: PeerId) -> Option<IpAddr> {
        self.lock().get(&id).map(|s| s.status.address)
    }

    /// The id of the neighbor with this address.
    pub fn id_of(&self, address: IpAddr) -> Option<PeerId> {
        self.lock()
            .iter()
            .find(|(_, s)| s.status.address == address)
            .map(|(id, _)| *id)
    }

    /// Every (id, address).
    pub fn ids(&self) -> Vec<(PeerId, IpAddr)> {
        self.lock()
            .iter()
            .map(|(id, s)| (*id, s.status.address))
            .collect()
    }

    /// Every peer's status, by id.
    pub fn statuses(&self) -> Vec<(PeerId, PeerStatus)> {
        let mut v: Vec<_> = self
            .lock()
            .iter()
            .map(|(id, s)| (*id, s.status.clone()))
            .collect();
        v.sort_by_key(|(_, s)| s.address);
        v
    }

    /// Stops every peer with `notification` and waits up to `wait` for the tasks to end.
    pub async fn stop_all(&self, notification: Notification, wait: Duration) {
        let tasks: Vec<_> = {
            let mut slots = self.lock();
            slots
                .drain()
                .map(|(_, s)| {
                    let _ = s.tx.send(PeerCommand::Stop(notification.clone()));
                    s.task
                })
                .collect()
        };
        let _ = tokio::time::timeout(wait, futures::future::join_all(tasks)).await;
    }
}

/// IPv4-mapped IPv6 addresses (from a dual-stack listener) as plain IPv4.
fn canonical(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(a),
        a => a,
    }
}
