//! A small scripted BGP speaker built on bgp-proto: it connects to a BGP speaker, completes
//! the OPEN exchange, keeps the session alive, announces and withdraws what it is told and
//! records what it receives. The demo lab's simulated vMX, Calico nodes and MetalLB speakers
//! are lab peers; so are the peers of the in-process tests and the fault injector. It is
//! deliberately simple (no FSM beyond what a scripted peer needs), and is not used by the
//! daemon itself.

use bgp_proto::{
    AddPathMode, AsPath, AttributeValue, BgpCodec, Capability, Community, Family, FamilySet,
    LargeCommunity, Message, MpNextHop, MpReach, MpUnreach, Nlri, Notification, Open, Origin,
    PathAttribute, PathAttributes, SessionContext, Update,
};
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use ipnet::IpNet;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, Notify};
use tokio_util::codec::Framed;

/// Who the lab peer is.
#[derive(Debug, Clone)]
pub struct LabPeerConfig {
    /// Its AS.
    pub asn: u32,
    /// Its BGP identifier.
    pub router_id: Ipv4Addr,
    /// Hold time it proposes.
    pub hold_time: u16,
    /// Families it announces the multiprotocol capability for.
    pub families: Vec<Family>,
    /// ADD-PATH mode for every family, if any.
    pub add_path: Option<AddPathMode>,
    /// Source address to connect from.
    pub local_address: Option<IpAddr>,
    /// Announce graceful restart with this restart time.
    pub graceful_restart: Option<u16>,
    /// TCP-MD5 key for the connection (RFC 2385).
    pub password: Option<Vec<u8>>,
    /// Send with TTL 255 (RFC 5082 peers expect it).
    pub ttl_255: bool,
    /// Send exactly this OPEN instead of the one built from the fields above.
    pub open: Option<Open>,
    /// Set the restart state (R) bit in the graceful restart capability (RFC 4724 §3).
    pub graceful_restart_restarting: bool,
}

impl LabPeerConfig {
    /// A dual-stack eBGP-style peer.
    pub fn new(asn: u32, router_id: Ipv4Addr) -> Self {
        LabPeerConfig {
            asn,
            router_id,
            hold_time: 90,
            families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
            add_path: None,
            local_address: None,
            graceful_restart: None,
            password: None,
            ttl_255: false,
            open: None,
            graceful_restart_restarting: false,
        }
    }

    fn open(&self) -> Open {
        if let Some(o) = &self.open {
            return o.clone();
        }
        let mut caps: Vec<Capability> = self
            .families
            .iter()
            .map(|f| Capability::Multiprotocol(*f))
            .collect();
        caps.push(Capability::RouteRefresh);
        caps.push(Capability::FourOctetAs(self.asn));
        if let Some(m) = self.add_path {
            caps.push(Capability::AddPath(
                self.families.iter().map(|f| (*f, m)).collect(),
            ));
        }
        if let Some(t) = self.graceful_restart {
            caps.push(Capability::GracefulRestart {
                flags: if self.graceful_restart_restarting {
                    0x8
                } else {
                    0
                },
                restart_time: t,
                families: self
                    .families
                    .iter()
                    .map(|f| bgp_proto::GracefulRestartFamily {
                        family: *f,
                        flags: 0,
                    })
                    .collect(),
            });
        }
        Open::new(self.asn, self.hold_time, self.router_id, caps)
    }
}

/// What the lab peer has received.
#[derive(Debug, Default, Clone)]
pub struct ReceivedRoutes {
    /// (family, prefix, path id) → attributes (MP attributes removed; next hop kept in
    /// `next_hops`).
    pub routes: HashMap<(Family, IpNet, u32), PathAttributes>,
    /// The next hop of each route.
    pub next_hops: HashMap<(Family, IpNet, u32), IpAddr>,
    /// Families for which End-of-RIB arrived.
    pub end_of_rib: HashSet<Family>,
    /// The NOTIFICATION that ended the session, if any.
    pub notification: Option<Notification>,
    /// The session is closed.
    pub closed: bool,
    /// UPDATEs received.
    pub updates: u64,
}

impl ReceivedRoutes {
    /// Routes for a prefix (any path id).
    pub fn paths(&self, prefix: &IpNet) -> Vec<(&PathAttributes, IpAddr)> {
        self.routes
            .iter()
            .filter(|((_, p, _), _)| p == prefix)
            .filter_map(|(k, a)| self.next_hops.get(k).map(|nh| (a, *nh)))
            .collect()
    }

    /// Whether any route for `prefix` is present.
    pub fn has(&self, prefix: &str) -> bool {
        prefix
            .parse::<IpNet>()
            .is_ok_and(|p| self.routes.keys().any(|(_, q, _)| *q == p))
    }

    fn apply(&mut self, u: &Update) {
        self.updates += 1;
        if let Some(f) = u.end_of_rib() {
            self.end_of_rib.insert(f);
            return;
        }
        for (f, n) in u.withdrawals() {
            let k = (f, n.prefix, n.path_id.unwrap_or(0));
            self.routes.remove(&k);
            self.next_hops.remove(&k);
        }
        let mut attrs = u.attributes.clone();
        attrs.remove(bgp_proto::attribute_type::MP_REACH_NLRI);
        attrs.remove(bgp_proto::attribute_type::MP_UNREACH_NLRI);
        for (f, n) in u.announced() {
            let nh = if f == Family::IPV4_UNICAST && u.nlri.contains(n) {
                u.attributes.next_hop().map(|a| IpAddr::V4(*a))
            } else {
                u.attributes.mp_reach().and_then(|m| match &m.next_hop {
                    MpNextHop::Ipv4(a) => Some(IpAddr::V4(*a)),
                    MpNextHop::Ipv6 { global, .. } => Some(IpAddr::V6(*global)),
                    MpNextHop::Opaque(_) => None,
                })
            };
            let k = (f, n.prefix, n.path_id.unwrap_or(0));
            self.routes.insert(k, attrs.clone());
            if let Some(nh) = nh {
                self.next_hops.insert(k, nh);
            }
        }
    }
}

enum LabCommand {
    Send(Message),
    Raw(Bytes),
    Close(Option<Notification>),
    StopKeepalives,
    StopReading,
}

/// A connected lab peer.
pub struct LabPeer {
    commands: mpsc::UnboundedSender<LabCommand>,
    received: Arc<Mutex<ReceivedRoutes>>,
    changed: Arc<Notify>,
    send_context: SessionContext,
    /// The OPEN the other side sent.
    pub remote_open: Open,
    task: tokio::task::JoinHandle<()>,
}

/// A lab peer error.
#[derive(Debug, thiserror::Error)]
pub enum LabPeerError {
    /// TCP failed.
    #[error("connection failed: {0}")]
    Io(#[from] std::io::Error),
    /// The other side did not complete the OPEN exchange.
    #[error("session not established: {0}")]
    Handshake(String),
}

fn lock(m: &Mutex<ReceivedRoutes>) -> std::sync::MutexGuard<'_, ReceivedRoutes> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl LabPeer {
    /// Connects to `target`, exchanges OPEN and KEEPALIVE, and starts the session task.
    pub async fn connect(
        target: SocketAddr,
        config: LabPeerConfig,
    ) -> Result<LabPeer, LabPeerError> {
        let socket = if target.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if let Some(a) = config.local_address {
            socket.bind(SocketAddr::new(a, 0))?;
        }
        {
            use std::os::fd::AsRawFd;
            if let Some(key) = &config.password {
                crate::session::socket_options::set_md5_key(socket.as_raw_fd(), target.ip(), key)?;
            }
            if config.ttl_255 {
                crate::session::socket_options::set_ttl_security(
                    socket.as_raw_fd(),
                    target.is_ipv6(),
                    254,
                )?;
            }
        }
        let stream = tokio::time::timeout(Duration::from_secs(10), socket.connect(target))
            .await
            .map_err(|_| LabPeerError::Handshake("connect timed out".into()))??;
        Self::start(stream, config).await
    }

    /// Runs the OPEN exchange on an existing connection.
    pub async fn start(stream: TcpStream, config: LabPeerConfig) -> Result<LabPeer, LabPeerError> {
        stream.set_nodelay(true)?;
        let mut framed = Framed::new(stream, BgpCodec::default());
        let local_open = config.open();
        framed
            .send(Message::Open(local_open.clone()))
            .await
            .map_err(|e| LabPeerError::Handshake(e.to_string()))?;
        let remote_open = loop {
            match tokio::time::timeout(Duration::from_secs(15), framed.next()).await {
                Ok(Some(Ok(Message::Open(o)))) => break o,
                Ok(Some(Ok(Message::Notification(n)))) => {
                    return Err(LabPeerError::Handshake(format!("NOTIFICATION {n}")))
                }
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(e))) => return Err(LabPeerError::Handshake(e.to_string())),
                Ok(None) => return Err(LabPeerError::Handshake("connection closed".into())),
                Err(_) => return Err(LabPeerError::Handshake("no OPEN within 15 s".into())),
            }
        };
        framed
            .send(Message::Keepalive)
            .await
            .map_err(|e| LabPeerError::Handshake(e.to_string()))?;
        loop {
            match tokio::time::timeout(Duration::from_secs(15), framed.next()).await {
                Ok(Some(Ok(Message::Keepalive))) => break,
                Ok(Some(Ok(Message::Notification(n)))) => {
                    return Err(LabPeerError::Handshake(format!("NOTIFICATION {n}")))
                }
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(e))) => return Err(LabPeerError::Handshake(e.to_string())),
                Ok(None) => return Err(LabPeerError::Handshake("connection closed".into())),
                Err(_) => return Err(LabPeerError::Handshake("no KEEPALIVE within 15 s".into())),
            }
        }
        let neg = crate::session::negotiate::negotiate(&local_open, &remote_open, None);
        let ibgp = remote_open.asn() == config.asn;
        let receive = neg.receive_context(ibgp, None);
        let send_context = neg.send_context(ibgp);
        framed.codec_mut().set_context(receive, send_context);
        let received = Arc::new(Mutex::new(ReceivedRoutes::default()));
        let changed = Arc::new(Notify::new());
        let (tx, rx) = mpsc::unbounded_channel();
        let keepalive = Duration::from_secs(u64::from(neg.keepalive_interval.max(1)));
        let task = tokio::spawn(session(
            framed,
            rx,
            received.clone(),
            changed.clone(),
            keepalive,
        ));
        Ok(LabPeer {
            commands: tx,
            received,
            changed,
            send_context,
            remote_open,
            task,
        })
    }

    /// The context this peer encodes with (negotiated).
    pub fn send_context(&self) -> SessionContext {
        self.send_context
    }

    /// Sends a message.
    pub fn send(&self, m: Message) {
        let _ = self.commands.send(LabCommand::Send(m));
    }

    /// Sends raw bytes as they are (for malformed-message tests).
    pub fn send_raw(&self, b: Bytes) {
        let _ = self.commands.send(LabCommand::Raw(b));
    }

    /// Announces `prefixes` (one family per call) with the given attributes builder.
    pub fn announce(&self, route: &LabRoute, prefixes: &[&str]) {
        let nlri: Vec<Nlri> = prefixes
            .iter()
            .filter_map(|p| p.parse::<IpNet>().ok())
            .map(|p| Nlri {
                prefix: p,
                path_id: route.path_id,
            })
            .collect();
        self.send(Message::Update(route.update(nlri)));
    }

    /// Withdraws `prefixes` (path id `path_id` when ADD-PATH is used).
    pub fn withdraw(&self, prefixes: &[&str], path_id: Option<u32>) {
        let nlri: Vec<Nlri> = prefixes
            .iter()
            .filter_map(|p| p.parse::<IpNet>().ok())
            .map(|p| Nlri { prefix: p, path_id })
            .collect();
        let (v4, v6): (Vec<Nlri>, Vec<Nlri>) =
            nlri.into_iter().partition(|n| n.prefix.addr().is_ipv4());
        if !v4.is_empty() {
            self.send(Message::Update(Update {
                withdrawn: v4,
                ..Update::default()
            }));
        }
        if !v6.is_empty() {
            let u = Update {
                attributes: PathAttributes(vec![PathAttribute::new(AttributeValue::from(
                    MpUnreach {
                        family: Family::IPV6_UNICAST,
                        withdrawn: v6,
                        opaque_nlri: Bytes::new(),
                    },
                ))]),
                ..Update::default()
            };
            self.send(Message::Update(u));
        }
    }

    /// Sends End-of-RIB for `family`.
    pub fn end_of_rib(&self, family: Family) {
        self.send(Message::Update(Update::end_of_rib_marker(family)));
    }

    /// A copy of what was received so far.
    pub fn received(&self) -> ReceivedRoutes {
        lock(&self.received).clone()
    }

    /// Waits until `condition` holds on the received routes, or `timeout` passes.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        condition: impl Fn(&ReceivedRoutes) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            if condition(&lock(&self.received)) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return condition(&lock(&self.received));
            }
        }
    }

    /// Closes the session, optionally with a NOTIFICATION.
    pub async fn close(self, notification: Option<Notification>) {
        let _ = self.commands.send(LabCommand::Close(notification));
        let _ = tokio::time::timeout(Duration::from_secs(3), self.task).await;
    }

    /// Stops sending KEEPALIVEs (the far side's hold timer will expire).
    pub fn stop_keepalives(&self) {
        let _ = self.commands.send(LabCommand::StopKeepalives);
    }

    /// Stops reading from the socket while still sending KEEPALIVEs: the TCP window closes
    /// (the RFC 9687 send hold timer case).
    pub fn stop_reading(&self) {
        let _ = self.commands.send(LabCommand::StopReading);
    }

    /// Drops the connection without a NOTIFICATION (like a crashed process).
    pub fn kill(self) {
        self.task.abort();
    }
}

async fn session(
    mut framed: Framed<TcpStream, BgpCodec>,
    mut commands: mpsc::UnboundedReceiver<LabCommand>,
    received: Arc<Mutex<ReceivedRoutes>>,
    changed: Arc<Notify>,
    keepalive: Duration,
) {
    let mut tick = tokio::time::interval(keepalive);
    let (mut keepalives, mut reading) = (true, true);
    loop {
        tokio::select! {
            m = async { if reading { framed.next().await } else { std::future::pending().await } } => match m {
                Some(Ok(Message::Update(u))) => { lock(&received).apply(&u); changed.notify_waiters(); }
                Some(Ok(Message::Notification(n))) => {
                    let mut r = lock(&received);
                    r.notification = Some(n);
                    r.closed = true;
                    drop(r);
                    changed.notify_waiters();
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => { lock(&received).closed = true; changed.notify_waiters(); return; }
            },
            c = commands.recv() => match c {
                Some(LabCommand::Send(m)) => { if framed.send(m).await.is_err() { lock(&received).closed = true; changed.notify_waiters(); return; } }
                Some(LabCommand::Raw(b)) => {
                    use tokio::io::AsyncWriteExt;
                    if framed.get_mut().write_all(&b).await.is_err() { lock(&received).closed = true; changed.notify_waiters(); return; }
                }
                Some(LabCommand::Close(n)) => {
                    if let Some(n) = n { let _ = framed.send(Message::Notification(n)).await; }
                    lock(&received).closed = true;
                    changed.notify_waiters();
                    return;
                }
                                Some(LabCommand::StopKeepalives) => keepalives = false,
                Some(LabCommand::StopReading) => reading = false,
                None => return,
            },
            _ = tick.tick(), if keepalives => {
                // With reading stopped the peer's window fills; a blocked send must not stop
                // the keepalives of a peer that still wants to look alive.
                let _ = tokio::time::timeout(Duration::from_secs(1), framed.send(Message::Keepalive)).await;
            }
        }
    }
}

/// The attributes of routes a lab peer announces.
#[derive(Debug, Clone)]
pub struct LabRoute {
    /// AS_PATH.
    pub as_path: Vec<u32>,
    /// Next hop.
    pub next_hop: IpAddr,
    /// Optional IPv6 link-local next hop.
    pub link_local: Option<std::net::Ipv6Addr>,
    /// ORIGIN.
    pub origin: Origin,
    /// MED.
    pub med: Option<u32>,
    /// LOCAL_PREF (only for iBGP, or to test RFC 7606 discard).
    pub local_pref: Option<u32>,
    /// Communities.
    pub communities: Vec<Community>,
    /// Large communities.
    pub large_communities: Vec<LargeCommunity>,
    /// ADD-PATH path id.
    pub path_id: Option<u32>,
}

impl LabRoute {
    /// A route with this AS path and next hop.
    pub fn new(as_path: Vec<u32>, next_hop: IpAddr) -> Self {
        LabRoute {
            as_path,
            next_hop,
            link_local: None,
            origin: Origin::Igp,
            med: None,
            local_pref: None,
            communities: Vec::new(),
            large_communities: Vec::new(),
            path_id: None,
        }
    }

    /// The UPDATE announcing `nlri` (all of one family: IPv4 in the NLRI field, IPv6 in
    /// MP_REACH_NLRI).
    pub fn update(&self, nlri: Vec<Nlri>) -> Update {
        let mut a = vec![
            PathAttribute::new(AttributeValue::Origin(self.origin)),
            PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(
                self.as_path.clone(),
            ))),
        ];
        if let Some(m) = self.med {
            a.push(PathAttribute::new(AttributeValue::Med(m)));
        }
        if let Some(l) = self.local_pref {
            a.push(PathAttribute::new(AttributeValue::LocalPref(l)));
        }
        if !self.communities.is_empty() {
            a.push(PathAttribute::new(AttributeValue::Communities(
                self.communities.clone().into(),
            )));
        }
        if !self.large_communities.is_empty() {
            a.push(PathAttribute::new(AttributeValue::LargeCommunities(
                self.large_communities.clone().into(),
            )));
        }
        let v6 = nlri.first().is_some_and(|n| n.prefix.addr().is_ipv6());
        match (v6, self.next_hop) {
            (false, IpAddr::V4(nh)) => {
                a.push(PathAttribute::new(AttributeValue::NextHop(nh)));
                Update {
                    attributes: PathAttributes(a),
                    nlri,
                    ..Update::default()
                }
            }
            (_, nh) => {
                let family = if v6 {
                    Family::IPV6_UNICAST
                } else {
                    Family::IPV4_UNICAST
                };
                let next_hop = match nh {
                    IpAddr::V4(v4) => MpNextHop::Ipv4(v4),
                    IpAddr::V6(global) => MpNextHop::Ipv6 {
                        global,
                        link_local: self.link_local,
                    },
                };
                a.insert(
                    0,
                    PathAttribute::new(AttributeValue::from(MpReach {
                        family,
                        next_hop,
                        nlri,
                        opaque_nlri: Bytes::new(),
                    })),
                );
                Update {
                    attributes: PathAttributes(a),
                    ..Update::default()
                }
            }
        }
    }
}

/// A FamilySet of every family (convenience for tests).
pub fn all_families() -> FamilySet {
    FamilySet::ALL
}
