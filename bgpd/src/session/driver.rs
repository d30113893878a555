//! The task that drives one peer: it turns [`Fsm`] outputs into TCP connects, writes, closes
//! and timers, and feeds socket reads, timer expiries and commands back in as events.
//! Established sessions exchange UPDATEs with the RIB task through [`RibEvent`]s.
//!
//! Connection collisions (RFC 4271 §6.8): an inbound connection that arrives while our own
//! connection is in OpenSent is parked until the BGP identifier of the peer is known (our
//! connection reaches OpenConfirm), then the loser gets Cease 6/7. If our connection goes
//! first (the peer resolved the collision and closed it), the session goes on over the
//! parked one.

use super::codec::SessionCodec;
use super::fsm::{DownReason, Event, Fsm, FsmConfig, Output, State, Timer};
use super::negotiate::Negotiated;
use super::refresh_gate::{RefreshGate, Verdict};
use super::waiting::{self, Waiting};
use super::writer::{WriteFailure, Writer};
use crate::config::{AddPathSetting, Neighbor};
use crate::rib::outbox::{Outgoing, PeerOutput};
use crate::rib::received::ReceivedUpdate;
use crate::rib::route::PeerId;
use crate::rib::table::SessionInfo;
use bgp_proto::{
    AddPathMode, AttributeAction, Capability, CodecError, Family, FamilySet, Framed,
    GracefulRestartFamily, LongLivedFamily, Message, Notification, RouteRefresh, SessionContext,
};
use futures::StreamExt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::codec::FramedRead;

/// What the daemon tells a peer task.
#[derive(Debug)]
pub enum PeerCommand {
    /// The listener accepted a connection from this peer.
    Inbound(TcpStream),
    /// UPDATEs from the RIB: packed here, in the session's task (so on another core than the
    /// RIB's when it is busy), then written in order.
    Send(Vec<Outgoing>),
    /// Close the session with this NOTIFICATION and restart it after the back-off
    /// (e.g. Cease 6/1 for too many prefixes, 6/6 for a configuration change).
    Reset(Notification),
    /// Close the session with this NOTIFICATION and end the task (shutdown, peer removed).
    Stop(Notification),
    /// Ask the peer to send its routes again (ROUTE-REFRESH, RFC 2918).
    RequestRefresh,
    /// Everything for `family` again (the peer's ROUTE-REFRESH request, RFC 2918 §4, or a
    /// soft reset out): sent like [`PeerCommand::Send`], between BoRR and EoRR when enhanced
    /// route refresh was negotiated (RFC 7313 §4).
    Refreshed {
        /// The family re-advertised.
        family: Family,
        /// The routes.
        parts: Vec<Outgoing>,
        /// Whether BoRR/EoRR may go around them: not while the RIB defers the initial
        /// table after our restart (no BoRR before End-of-RIB, RFC 7313 §4).
        markers: bool,
    },
    /// Graceful stop (RFC 4724 §4.1): close the connection without a NOTIFICATION, so that
    /// the peer keeps our routes while we restart, and end the task.
    StopGraceful,
    /// Our restart is over: later OPENs carry the current restart flags (R bit clear).
    RestartComplete,
}

/// What a peer task tells the RIB task.
#[derive(Debug)]
pub enum RibEvent {
    /// The session reached Established.
    Up {
        /// The peer.
        peer: PeerId,
        /// Which task of the peer sent it ([`PeerTask::incarnation`]).
        incarnation: u64,
        /// What the RIB needs to know.
        session: SessionInfo,
        /// The negotiated parameters (for the API).
        negotiated: Box<Negotiated>,
    },
    /// The session left Established. `graceful`: keep the routes as stale (RFC 4724 §4.2).
    Down {
        /// The peer.
        peer: PeerId,
        /// Which task of the peer sent it ([`PeerTask::incarnation`]).
        incarnation: u64,
        /// Keep routes as stale.
        graceful: bool,
        /// Why, for the log and the API.
        reason: String,
    },
    /// UPDATEs arrived.
    Update {
        /// The peer.
        peer: PeerId,
        /// Which task of the peer sent it ([`PeerTask::incarnation`]).
        incarnation: u64,
        /// The messages, prepared for the RIB, in the order received: the UPDATEs one read
        /// of the socket brought (up to `UPDATE_BATCH_PREFIXES` prefixes), or one
        /// End-of-RIB marker alone.
        updates: Vec<ReceivedUpdate>,
        /// Their place in the peer's backlog, freed when the RIB drops the event.
        permit: super::backlog::Permit,
    },
    /// A ROUTE-REFRESH from the peer: a request for our routes again (RFC 2918 §4), or the
    /// beginning or end of its own re-advertisement (BoRR, EoRR: RFC 7313 §4).
    RouteRefresh {
        /// The peer.
        peer: PeerId,
        /// Which task of the peer sent it ([`PeerTask::incarnation`]).
        incarnation: u64,
        /// The family.
        family: Family,
        /// `SUBTYPE_REQUEST`, `SUBTYPE_BORR` or `SUBTYPE_EORR`.
        subtype: u8,
    },
    /// A NOTIFICATION was sent or received (for the API).
    Notification {
        /// The peer.
        peer: PeerId,
        /// We sent it.
        sent: bool,
        /// The message.
        notification: Notification,
    },
    /// The session state changed (for the API and metrics).
    State {
        /// The peer.
        peer: PeerId,
        /// The new state.
        state: State,
    },
}

/// The FSM configuration for a neighbor, with this process's restart flags
/// ([`super::restart::current`]).
pub fn fsm_config(local_as: u32, router_id: Ipv4Addr, n: &Neighbor) -> FsmConfig {
    fsm_config_with(local_as, router_id, n, super::restart::current())
}

/// The FSM configuration for a neighbor with the given restart flags.
pub fn fsm_config_with(
    local_as: u32,
    router_id: Ipv4Addr,
    n: &Neighbor,
    restart: super::restart::RestartFlags,
) -> FsmConfig {
    let mut c = FsmConfig::new(local_as, router_id, n.peer_as);
    c.hold_time = n.hold_time;
    c.keepalive = n.keepalive;
    c.connect_retry = Duration::from_secs(n.connect_retry);
    // While we restart, passive neighbors are dialled too: FRR as graceful restart helper
    // waits passively for the restarting speaker ("Active (NSF passive)"), so a passive
    // bgpd and FRR would both wait until the restart time runs out (namespace lab, scenario
    // 14). RFC 4724 does not say who reconnects.
    c.passive = n.passive && !restart.restarting;
    let families: Vec<Family> = n.families.iter().map(|f| f.family()).collect();
    let mut caps: Vec<Capability> = families
        .iter()
        .map(|f| Capability::Multiprotocol(*f))
        .collect();
    caps.push(Capability::RouteRefresh);
    caps.push(Capability::EnhancedRouteRefresh);
    caps.push(Capability::FourOctetAs(local_as));
    let mode = match n.add_path {
        AddPathSetting::None => None,
        AddPathSetting::Receive => Some(AddPathMode::Receive),
        AddPathSetting::Send => Some(AddPathMode::Send),
        AddPathSetting::Both => Some(AddPathMode::Both),
    };
    if let Some(mode) = mode {
        caps.push(Capability::AddPath(
            families.iter().map(|f| (*f, mode)).collect(),
        ));
    }
    // RFC 4724 §3: F bit (0x80 per family) only in the OPENs of a graceful restart when the
    // configuration says forwarding is preserved (bgpd forwards nothing: see
    // `[graceful_restart] forwarding_preserved`); otherwise clear, and a peer flushes what
    // it kept of ours at once. R bit (0x8) while we restart.
    let family_flags = if restart.restarting && restart.forwarding_preserved {
        0x80
    } else {
        0
    };
    if n.graceful_restart {
        // No N bit: RFC 8538 is not implemented (a graceful stop sends no NOTIFICATION). A
        // peer that takes a lost session for our restart waits for us to reconnect: passive
        // neighbors are therefore let in during the back-off (see `inbound`).
        caps.push(Capability::GracefulRestart {
            flags: if restart.restarting { 0x8 } else { 0 },
            restart_time: n.restart_time,
            families: families
                .iter()
                .map(|f| GracefulRestartFamily {
                    family: *f,
                    flags: family_flags,
                })
                .collect(),
        });
    } else if n.long_lived_stale_time.is_some() {
        // RFC 9494 §3: LLGR goes with the GR capability; without GR it is sent with a
        // restart time of 0 and no families, so that the LLGR period starts at once.
        caps.push(Capability::GracefulRestart {
            flags: if restart.restarting { 0x8 } else { 0 },
            restart_time: 0,
            families: Vec::new(),
        });
    }
    if let Some(stale_time) = n.long_lived_stale_time {
        // RFC 9494 §3: capability 71, every family with our long-lived stale time.
        caps.push(Capability::LongLivedGracefulRestart(
            families
                .iter()
                .map(|f| LongLivedFamily {
                    family: *f,
                    flags: family_flags,
                    stale_time: stale_time.min(0xFF_FFFF),
                })
                .collect(),
        ));
    }
    c.capabilities = caps;
    c
}

struct Connection {
    reader: FramedRead<OwnedReadHalf, SessionCodec>,
    /// The writing half, in its own task ([`super::writer`]): this task reads on while the
    /// peer's window is full.
    writer: Writer,
    /// Routes coalesced while the writer's queue is full ([`super::waiting`]); they go with
    /// the connection.
    waiting: Waiting,
    /// Families whose ROUTE-REFRESH request went to the RIB and whose answer has not come
    /// back: a request for them meanwhile is answered by that one.
    refresh_asked: FamilySet,
    /// Requests answered by one already on its way, since the last line logged about an
    /// answer.
    refresh_joined: u64,
    /// The limit on those lines ([`super::log_limit`]: a peer may ask many times a second).
    refresh_log: super::log_limit::LogLimit,
    /// The peer's own refreshes: which of its BoRR/EoRR go on to the RIB.
    refresh_in: RefreshGate,
    local: SocketAddr,
    outbound: bool,
}

impl Connection {
    fn new(
        stream: TcpStream,
        outbound: bool,
        keep_frames: bool,
        out_queue: &Arc<AtomicU64>,
        waiting_routes: &Arc<AtomicU64>,
    ) -> std::io::Result<Self> {
        stream.set_nodelay(true)?;
        let local = stream.local_addr()?;
        let (r, w) = stream.into_split();
        let mut codec = SessionCodec::default();
        codec.codec.keep_frames = keep_frames;
        Ok(Connection {
            reader: FramedRead::with_capacity(r, codec, 65536),
            writer: Writer::spawn(w, out_queue.clone()),
            waiting: Waiting::new(waiting_routes.clone()),
            refresh_asked: FamilySet::EMPTY,
            refresh_joined: 0,
            refresh_log: super::log_limit::LogLimit::new(),
            refresh_in: RefreshGate::default(),
            local,
            outbound,
        })
    }
}

/// One peer's task.
pub struct PeerTask {
    id: PeerId,
    neighbor: Neighbor,
    fsm: Fsm,
    commands: mpsc::UnboundedReceiver<PeerCommand>,
    rib: mpsc::UnboundedSender<RibEvent>,
    connection: Option<Connection>,
    connecting: Option<tokio::task::JoinHandle<std::io::Result<TcpStream>>>,
    parked: Option<TcpStream>,
    timers: [Option<Instant>; 5],
    established: bool,
    /// The next session end flushes the peer's routes even where graceful restart would
    /// keep them (send hold timer expiry, RFC 9687).
    flush_on_down: bool,
    /// After a max-prefix reset, no new session before this instant (RFC 4486 §4).
    quiet_until: Option<Instant>,
    /// MRT recording of this session's messages and state changes, when configured.
    recorder: Option<crate::recording::RecorderHandle>,
    /// UPDATEs waiting for the RIB: reading pauses while it is full.
    backlog: std::sync::Arc<super::backlog::Backlog>,
    /// This task's number among every peer task of the process.
    incarnation: u64,
    /// Rate limit of the RFC 7606 log lines (every outcome is still counted in metrics).
    issue_log: super::log_limit::LogLimit,
    /// `bgpd_peer_update_errors_total` of this peer by action (treat-as-withdraw,
    /// attribute-discard, repaired), looked up once.
    update_errors: Option<[prometheus::IntCounter; 3]>,
    /// `bgpd_peer_messages_received_total{type="update"}` of this peer, looked up once: a full
    /// table is a hundred thousand UPDATEs, each otherwise formatting the peer's address and
    /// hashing the labels.
    updates_received: Option<prometheus::IntCounter>,
    /// `bgpd_peer_messages_sent_total{type="update"}` of this peer, looked up once: the RIB's
    /// output is counted on every write.
    updates_sent: Option<prometheus::IntCounter>,
    /// UPDATEs decoded from the read buffer and not yet queued for the RIB, with their
    /// backlog weight: they go as one event ([`PeerTask::flush_updates`]).
    pending: Vec<ReceivedUpdate>,
    pending_weight: usize,
    /// Octets queued for the peer and not yet accepted by the kernel (OutQ), shared with the
    /// peer's status.
    out_queue: Arc<AtomicU64>,
    /// Routes waiting for room in that queue, shared with the peer's status.
    waiting_routes: Arc<AtomicU64>,
    /// The writing task of the last closed connection, completing its last message and
    /// NOTIFICATION: waited for (at most [`super::writer::CLOSE_GRACE`]) when this task ends.
    closing: Option<tokio::task::JoinHandle<()>>,
}

/// Prefixes a peer task gathers into one event for the RIB at most (one of the RIB task's
/// runs).
const UPDATE_BATCH_PREFIXES: usize = 1024;

/// Numbers peer tasks: a neighbor restarted with new settings gets a new task while the old
/// one may still be reporting its session's end.
static NEXT_INCARNATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn timer_index(t: Timer) -> usize {
    Timer::ALL.iter().position(|x| *x == t).unwrap_or(0)
}

/// Connects to a peer, with its TCP-MD5 key and TTL security installed before the SYN
/// leaves: a key that cannot be installed fails the attempt (never a fallback to no key).
async fn connect(
    addr: SocketAddr,
    local: Option<IpAddr>,
    password: Option<crate::config::Password>,
    ttl_security: Option<u8>,
) -> std::io::Result<TcpStream> {
    use std::os::fd::AsRawFd;
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(p) = &password {
        super::socket_options::set_md5_key(socket.as_raw_fd(), addr.ip(), &p.0)?;
    }
    if let Some(hops) = ttl_security {
        super::socket_options::set_ttl_security(socket.as_raw_fd(), addr.is_ipv6(), hops)?;
    }
    if let Some(l) = local {
        socket.bind(SocketAddr::new(l, 0))?;
    }
    socket.connect(addr).await
}

/// Where a peer task reports: the RIB, the MRT recorder, the peer's OutQ counter.
#[derive(Debug, Clone)]
pub struct PeerReports {
    /// The RIB task's events.
    pub rib: mpsc::UnboundedSender<RibEvent>,
    /// MRT recording of the session's messages, when configured.
    pub recorder: Option<crate::recording::RecorderHandle>,
    /// Octets queued for the peer and not yet written (the peer status's OutQ).
    pub out_queue: Arc<AtomicU64>,
    /// Routes waiting, coalesced, for room in that queue ([`super::waiting`]).
    pub waiting_routes: Arc<AtomicU64>,
}

impl PeerTask {
    /// A task for `neighbor`; start it with [`PeerTask::run`].
    pub fn new(
        id: PeerId,
        neighbor: Neighbor,
        local_as: u32,
        router_id: Ipv4Addr,
        commands: mpsc::UnboundedReceiver<PeerCommand>,
        reports: PeerReports,
    ) -> Self {
        let PeerReports {
            rib,
            recorder,
            out_queue,
            waiting_routes,
        } = reports;
        let fsm = Fsm::new(fsm_config(local_as, router_id, &neighbor));
        PeerTask {
            id,
            neighbor,
            fsm,
            commands,
            rib,
            connection: None,
            connecting: None,
            parked: None,
            timers: [None; 5],
            established: false,
            flush_on_down: false,
            quiet_until: None,
            recorder,
            backlog: super::backlog::Backlog::new(super::backlog::DEFAULT_LIMIT),
            incarnation: NEXT_INCARNATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            issue_log: super::log_limit::LogLimit::new(),
            update_errors: None,
            updates_received: None,
            updates_sent: None,
            pending: Vec::new(),
            pending_weight: 0,
            out_queue,
            waiting_routes,
            closing: None,
        }
    }

    /// This task's number: the RIB task ignores what an older task of the same neighbor
    /// reports after a newer one's session came up (a settings change restarts the task, and
    /// the old task's "session down" can arrive after the new session's "up").
    pub fn incarnation(&self) -> u64 {
        self.incarnation
    }

    fn peer(&self) -> IpAddr {
        self.neighbor.address
    }

    /// Sends `event` to the RIB, after the UPDATEs still gathered (the order is kept).
    fn tell_rib(&mut self, event: RibEvent) {
        self.flush_updates();
        let _ = self.rib.send(event);
    }

    /// Queues the gathered UPDATEs for the RIB as one event, with one backlog permit: per
    /// UPDATE, the channel's atomics, the RIB task's wake-up and the permit's counter were
    /// a sixth of the peer task's samples while a table loaded.
    fn flush_updates(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let updates = std::mem::take(&mut self.pending);
        let weight = std::mem::take(&mut self.pending_weight);
        let permit = self.backlog.permit(weight);
        let _ = self.rib.send(RibEvent::Update {
            peer: self.id,
            incarnation: self.incarnation,
            updates,
            permit,
        });
    }

    /// Whether the read buffer holds another whole message, so reading on costs no system
    /// call: gathered UPDATEs wait for it (and go to the RIB once the buffer runs dry).
    fn frame_buffered(&self) -> bool {
        self.connection.as_ref().is_some_and(|c| {
            let buf = c.reader.read_buffer();
            let max = c.reader.decoder().codec.receive.max_message_len();
            matches!(bgp_proto::frame_len(buf, max), Ok(Some(n)) if buf.len() >= n)
        })
    }

    /// Runs until stopped.
    pub async fn run(mut self) {
        self.handle(Event::AutomaticStart).await;
        let mut alarm = Alarm::new();
        loop {
            alarm.arm(self.timers.iter().flatten().min().copied());
            let paused = self.backlog.full();
            if paused || !self.frame_buffered() {
                self.flush_updates();
            }
            let wake = tokio::select! {
                cmd = self.commands.recv() => Wake::Command(cmd),
                w = connection_event(&mut self.connection, !paused) => w,
                () = self.backlog.drained(), if paused => Wake::Drained,
                res = connected(&mut self.connecting) => Wake::Connected(res),
                () = alarm.sleep.as_mut(), if alarm.at.is_some() => Wake::Timer,
            };
            match wake {
                Wake::Command(None) => break,
                Wake::Command(Some(cmd)) => {
                    if self.command(cmd).await {
                        break;
                    }
                }
                Wake::Read(msg) => self.received(msg).await,
                Wake::WriteFailed(f) => self.write_failed(f).await,
                Wake::Room => self.send_waiting().await,
                Wake::Drained => {}
                Wake::Connected(res) => {
                    self.connecting = None;
                    match res {
                        Ok(Ok(stream)) => self.attach(stream, true).await,
                        Ok(Err(e)) => {
                            tracing::debug!(peer = %self.peer(), error = %e, "connect failed");
                            self.handle(Event::TcpFailed).await;
                        }
                        Err(_) => self.handle(Event::TcpFailed).await,
                    }
                }
                Wake::Timer => {
                    alarm.at = None;
                    let now = Instant::now();
                    for t in Timer::ALL {
                        let i = timer_index(t);
                        if self
                            .timers
                            .get(i)
                            .copied()
                            .flatten()
                            .is_some_and(|d| d <= now)
                        {
                            if let Some(slot) = self.timers.get_mut(i) {
                                *slot = None;
                            }
                            self.handle(Event::TimerExpired(t)).await;
                        }
                    }
                }
            }
            self.adopt_parked().await;
        }
        self.stop_connecting();
        // The last NOTIFICATION (Cease on shutdown) goes out before the task ends.
        if let Some(c) = self.connection.take() {
            self.closing = c.writer.close(None);
        }
        if let Some(h) = self.closing.take() {
            let _ =
                tokio::time::timeout(super::writer::CLOSE_GRACE + Duration::from_secs(1), h).await;
        }
    }

    /// Returns true when the task must end.
    async fn command(&mut self, cmd: PeerCommand) -> bool {
        match cmd {
            PeerCommand::Inbound(stream) => self.inbound(stream).await,
            PeerCommand::Send(parts) => self.queue_output(parts).await,
            PeerCommand::Refreshed {
                family,
                parts,
                markers,
            } => self.refreshed(family, parts, markers).await,
            PeerCommand::Reset(n) => {
                if n.code == 6 && n.subcode == bgp_proto::cease_subcode::MAXIMUM_PREFIXES_REACHED {
                    let wait = Duration::from_secs(self.neighbor.max_prefixes_restart);
                    tracing::info!(peer = %self.peer(), restart_in = wait.as_secs(), "max-prefix reset: waiting before the next session");
                    self.quiet_until = Some(Instant::now() + wait);
                    self.flush_on_down = true;
                }
                self.handle(Event::AutomaticStop { notification: n }).await
            }
            PeerCommand::Stop(n) => {
                self.handle(Event::ManualStop {
                    notification: Some(n),
                })
                .await;
                return true;
            }
            PeerCommand::StopGraceful => {
                tracing::info!(peer = %self.peer(), "graceful stop: closing without NOTIFICATION (RFC 4724 §4.1)");
                self.stop_connecting();
                self.parked = None;
                if let Some(c) = self.connection.take() {
                    self.closing = c.writer.close(None);
                }
                return true;
            }
            PeerCommand::RestartComplete => {
                let config = fsm_config(
                    self.fsm.config().local_as,
                    self.fsm.config().router_id,
                    &self.neighbor,
                );
                self.fsm.set_config(config);
            }
            PeerCommand::RequestRefresh => {
                if let Some(neg) = self.fsm.negotiated().cloned() {
                    if neg.route_refresh {
                        for f in neg.families {
                            self.send(&Message::RouteRefresh(RouteRefresh::request(f)));
                        }
                    }
                }
            }
        }
        false
    }

    /// RFC 5082 §3 for a connection the peer opened: whether its SYN came with a TTL (hop
    /// limit) the neighbor's `ttl_security` allows. The minimum TTL `attach` sets holds from
    /// the next segment; what the kernel queued before (the peer's OPEN) passed unchecked, so
    /// the SYN's TTL, kept by the listener, decides. Checked before the connection touches
    /// the session in any way (a collision, a graceful restart, the end of a back-off): a
    /// peer too far away is refused with its TTL in the log, instead of hanging in
    /// OpenConfirm until the hold timer.
    fn syn_ttl_allowed(&self, stream: &TcpStream) -> bool {
        use std::os::fd::AsRawFd;
        let Some(hops) = self.neighbor.ttl_security else {
            return true;
        };
        let min = super::socket_options::min_ttl(hops);
        match super::socket_options::saved_syn_ttl(stream.as_raw_fd()) {
            Ok(Some(ttl)) if ttl < min => {
                tracing::warn!(peer = %self.peer(), ttl, min_ttl = min, "TTL security (RFC 5082): the peer's SYN arrived with TTL {ttl}, below {min}: connection refused");
                false
            }
            Ok(Some(_)) => true,
            Ok(None) => {
                // The kernel keeps no SYN for a connection its SYN cookies let in.
                tracing::warn!(peer = %self.peer(), "TTL security (RFC 5082): the listener kept no SYN for this connection (SYN cookies?): only the minimum TTL from now on applies");
                true
            }
            Err(e) => {
                tracing::error!(peer = %self.peer(), error = %e, "cannot read the SYN's TTL (RFC 5082): connection refused");
                false
            }
        }
    }

    async fn inbound(&mut self, stream: TcpStream) {
        if !self.syn_ttl_allowed(&stream) {
            return;
        }
        let state = self.fsm.state();
        match state {
            // Idle in a running task is the IdleHold back-off after a failure (a manual stop
            // ends the task). The peer's connection ends the wait (RFC 4271 §8.2.2 Idle,
            // Event 5), as FRR and BIRD do, except during a max-prefix restart interval.
            // Refused, a restarted peer waited out our back-off: after its Cease on shutdown,
            // counted with earlier failures, 10 + 20 s (lab scenario 7). A passive neighbor
            // would wait forever (FRR after a cut link, namespace lab scenario 9). Our own
            // connection attempts stay damped: the failure count is kept.
            State::Idle
                if self.quiet_until.is_none_or(|q| q <= Instant::now())
                    && self.connection.is_none() =>
            {
                tracing::debug!(peer = %self.peer(), "the peer connected during the back-off: accepted");
                self.handle(Event::PassiveStart).await;
                if self.fsm.state() == State::Active && self.connection.is_none() {
                    self.continue_on_inbound(stream).await;
                }
            }
            State::Idle => {
                tracing::debug!(peer = %self.peer(), "connection refused: session is Idle (max-prefix restart interval, or a connection in hand)");
            }
            State::Connect | State::Active if self.connection.is_none() => {
                self.continue_on_inbound(stream).await;
            }
            State::Established => {
                let gr = self
                    .fsm
                    .negotiated()
                    .is_some_and(|n| n.peer_graceful_restart.is_some());
                if gr {
                    // RFC 4724 §4.2: a new connection from a restarting peer replaces the old
                    // session; its routes are kept as stale.
                    tracing::info!(peer = %self.peer(), "new connection while Established: peer restarted (graceful restart)");
                    self.connection = None;
                    self.handle(Event::TcpFailed).await;
                    self.handle(Event::ManualStart).await;
                    if self.fsm.state() != State::Idle && self.connection.is_none() {
                        self.continue_on_inbound(stream).await;
                    }
                } else {
                    reject(stream, super::fsm::collision_notification()).await;
                }
            }
            State::OpenSent | State::OpenConfirm
                if self.connection.as_ref().is_some_and(|c| !c.outbound) =>
            {
                // Two connections from the peer are not a collision (§6.8 is one in, one
                // out): the peer gave up on the first one (e.g. its segments were dropped by
                // TTL security). The new connection replaces it, without a back-off.
                tracing::info!(peer = %self.peer(), state = %state, "new connection from the peer replaces its earlier one");
                self.connection = None;
                self.handle(Event::TcpFailed).await;
                self.handle(Event::ManualStart).await;
                self.stop_connecting();
                if matches!(self.fsm.state(), State::Active | State::Connect)
                    && self.connection.is_none()
                {
                    self.attach(stream, false).await;
                }
            }
            _ => {
                // RFC 4271 §6.8: keep it until we know the peer's identifier.
                if let Some(old) = self.parked.replace(stream) {
                    reject(old, super::fsm::collision_notification()).await;
                }
                self.resolve_collision().await;
            }
        }
    }

    /// RFC 4271 §6.8: a parked inbound connection is the one left once ours is gone before
    /// the collision was resolved here: the peer, with the higher identifier, closed ours with
    /// Cease 6/7 before we had its OPEN, or ours failed. The session goes on over the parked
    /// connection; left parked, it would wait unread and without our OPEN until the peer's
    /// hold timer. Not during a max-prefix restart interval.
    async fn adopt_parked(&mut self) {
        if self.parked.is_none() || self.connection.is_some() {
            return;
        }
        if self.quiet_until.is_some_and(|q| q > Instant::now()) {
            if let Some(stream) = self.parked.take() {
                reject(stream, super::fsm::collision_notification()).await;
            }
            return;
        }
        let Some(stream) = self.parked.take() else {
            return;
        };
        tracing::info!(peer = %self.peer(), state = %self.fsm.state(), "our connection closed before the collision was resolved: continuing on the peer's (RFC 4271 §6.8)");
        if self.fsm.state() == State::Idle {
            self.handle(Event::ManualStart).await;
        }
        if matches!(self.fsm.state(), State::Active | State::Connect) && self.connection.is_none() {
            self.continue_on_inbound(stream).await;
        }
    }

    /// Goes on over `stream`, a connection the peer opened (a passive neighbor, a restarting
    /// peer, the winner of an RFC 4271 §6.8 collision): our own connection attempt, if any
    /// is still under way, is dropped.
    async fn continue_on_inbound(&mut self, stream: TcpStream) {
        self.stop_connecting();
        self.attach(stream, false).await;
    }

    /// Drops our own connection attempt, if one is under way.
    fn stop_connecting(&mut self) {
        if let Some(h) = self.connecting.take() {
            h.abort();
        }
    }

    async fn resolve_collision(&mut self) {
        if self.parked.is_none() || self.fsm.state() != State::OpenConfirm {
            return;
        }
        let Some(neg) = self.fsm.negotiated() else {
            return;
        };
        let local = self.fsm.config().router_id;
        let existing_is_outbound = self.connection.as_ref().is_none_or(|c| c.outbound);
        let keep = super::fsm::keep_existing_on_collision(local, neg.peer_id, existing_is_outbound);
        let Some(parked) = self.parked.take() else {
            return;
        };
        if keep {
            tracing::info!(peer = %self.peer(), "connection collision: keeping our connection (RFC 4271 §6.8)");
            reject(parked, super::fsm::collision_notification()).await;
        } else {
            tracing::info!(peer = %self.peer(), "connection collision: keeping the peer's connection (RFC 4271 §6.8)");
            self.handle(Event::OpenCollisionDump).await;
            self.handle(Event::ManualStart).await;
            self.continue_on_inbound(parked).await;
        }
    }

    async fn attach(&mut self, stream: TcpStream, outbound: bool) {
        if let Some(hops) = self.neighbor.ttl_security {
            use std::os::fd::AsRawFd;
            let v6 = self.neighbor.address.is_ipv6();
            if let Err(e) = super::socket_options::set_ttl_security(stream.as_raw_fd(), v6, hops) {
                tracing::error!(peer = %self.peer(), error = %e, "cannot set TTL security (RFC 5082): connection refused");
                return;
            }
        }
        match Connection::new(
            stream,
            outbound,
            self.recorder.is_some(),
            &self.out_queue,
            &self.waiting_routes,
        ) {
            Ok(c) => {
                tracing::debug!(peer = %self.peer(), local = %c.local, outbound, "TCP connection up");
                self.connection = Some(c);
                self.handle(Event::TcpConnected { outbound }).await;
            }
            Err(e) => {
                tracing::warn!(peer = %self.peer(), error = %e, "cannot use the connection");
                self.handle(Event::TcpFailed).await;
            }
        }
    }

    fn ends(&self) -> crate::recording::SessionEnds {
        let unspecified = match self.neighbor.address {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        };
        crate::recording::SessionEnds {
            peer_as: self.neighbor.peer_as,
            local_as: self.fsm.config().local_as,
            peer_address: self.neighbor.address,
            local_address: self
                .connection
                .as_ref()
                .map(|c| c.local.ip())
                .unwrap_or(unspecified),
        }
    }

    /// Records the message octets (received, or sent by us) when recording is on.
    fn record(&mut self, raw: bytes::Bytes, sent: bool) {
        let Some(rec) = &self.recorder else { return };
        let add_path = self.fsm.negotiated().is_some_and(|n| {
            if sent {
                n.add_path_send != bgp_proto::FamilySet::EMPTY
            } else {
                n.add_path_receive != bgp_proto::FamilySet::EMPTY
            }
        });
        let _ = rec.send(crate::recording::RecordEvent::Message {
            time: std::time::SystemTime::now(),
            ends: self.ends(),
            sent,
            add_path,
            raw,
        });
    }

    /// Queues a prepared UPDATE for the RIB: gathered into batches, End-of-RIB alone.
    fn queue_update(&mut self, update: ReceivedUpdate) {
        if update.end_of_rib.is_some() {
            // The RIB acts on End-of-RIB alone, after the routes before it.
            self.flush_updates();
            self.pending_weight = 1;
            self.pending.push(update);
            self.flush_updates();
        } else {
            self.pending_weight += update.prefixes().max(1);
            self.pending.push(update);
            if self.pending_weight >= UPDATE_BATCH_PREFIXES {
                self.flush_updates();
            }
        }
    }

    /// Counts a received UPDATE in the metrics (its counter found once per session).
    fn count_update_received(&mut self) {
        let peer = self.peer();
        self.updates_received
            .get_or_insert_with(|| {
                crate::metrics::message_counter(&peer.to_string(), true, "update")
            })
            .inc();
    }

    async fn received(&mut self, next: Option<Result<Framed<ReceivedUpdate>, CodecError>>) {
        if self.recorder.is_some() {
            if let Some(frame) = self
                .connection
                .as_mut()
                .and_then(|c| c.reader.decoder_mut().codec.take_frame())
            {
                self.record(frame, false);
            }
        }
        match next {
            Some(Ok(Framed::Checked(update))) => {
                self.count_update_received();
                self.handle(Event::PreparedUpdate(update)).await;
            }
            Some(Ok(Framed::Message(m))) => {
                if let Message::Update(u) = &m {
                    if !u.issues.is_empty() {
                        self.log_issues(&u.issues);
                    }
                }
                if matches!(m, Message::Update(_)) {
                    self.count_update_received();
                } else {
                    crate::metrics::count_message(&self.peer().to_string(), true, &m);
                }
                if let Message::Notification(n) = &m {
                    tracing::info!(peer = %self.peer(), notification = %n, "NOTIFICATION received");
                    self.tell_rib(RibEvent::Notification {
                        peer: self.id,
                        sent: false,
                        notification: n.clone(),
                    });
                }
                self.handle(Event::Message(m)).await;
            }
            Some(Err(CodecError::Decode(e)))
                if matches!(e.kind, bgp_proto::ErrorKind::BadNotification { .. }) =>
            {
                // RFC 4271 §6.4: never answer a NOTIFICATION with one; log and close.
                tracing::warn!(peer = %self.peer(), error = %e, "malformed NOTIFICATION received: closing without reply");
                self.connection = None;
                self.handle(Event::TcpFailed).await;
            }
            Some(Err(CodecError::Decode(e))) => {
                tracing::warn!(peer = %self.peer(), error = %e, offset = e.offset, notification = %e.notification(), "malformed message");
                self.handle(Event::DecodeError(e)).await;
            }
            Some(Err(e)) => {
                tracing::info!(peer = %self.peer(), error = %e, "connection error");
                self.connection = None;
                self.handle(Event::TcpFailed).await;
            }
            None => {
                self.connection = None;
                self.handle(Event::TcpFailed).await;
            }
        }
    }

    /// Logs (within the session's rate limit) and counts the RFC 7606 outcomes of one UPDATE.
    fn log_issues(&mut self, issues: &[bgp_proto::UpdateIssue]) {
        let peer = self.peer();
        let now = std::time::Instant::now();
        let counters = self.update_errors.get_or_insert_with(|| {
            let peer = peer.to_string();
            [
                AttributeAction::TreatAsWithdraw,
                AttributeAction::Discard,
                AttributeAction::Repaired,
            ]
            .map(|a| {
                crate::metrics::METRICS
                    .update_errors
                    .with_label_values(&[&peer, &a.to_string()])
            })
        });
        for issue in issues {
            let [withdraw, discard, repaired] = &*counters;
            match issue.action {
                AttributeAction::TreatAsWithdraw => withdraw.inc(),
                AttributeAction::Discard => discard.inc(),
                AttributeAction::Repaired => repaired.inc(),
            }
            let admitted = self.issue_log.admit(now);
            if admitted.suppressed_before > 0 {
                tracing::warn!(peer = %peer, not_logged = admitted.suppressed_before, "UPDATE errors handled per RFC 7606 but not logged in the last minute (rate limit; see bgpd_peer_update_errors_total)");
            }
            if admitted.log {
                tracing::warn!(peer = %peer, issue = %issue, "UPDATE error handled per RFC 7606");
            }
            if admitted.limit_reached {
                tracing::warn!(peer = %peer, limit = super::log_limit::LogLimit::PER_WINDOW, "RFC 7606 log limit reached: further UPDATE errors from this peer are counted, not logged, for the rest of the minute");
            }
        }
    }

    /// Queues the RIB's output for the peer: while the writer keeps up it is packed and
    /// queued at once; past the high-water mark it waits, coalesced per route.
    async fn queue_output(&mut self, parts: Vec<Outgoing>) {
        if self.fsm.state() != State::Established {
            return;
        }
        let peer = self.peer();
        let Some(c) = self.connection.as_mut() else {
            return;
        };
        if c.waiting.is_empty() && c.writer.queued() < waiting::HIGH_WATER {
            self.send_updates(&parts).await;
        } else {
            c.waiting.push(peer, parts);
        }
    }

    /// Whether a ROUTE-REFRESH request for `family` is answered by one already on its way:
    /// asked of the RIB and not answered yet, or answered with a BoRR still waiting for the
    /// peer's window. That answer reaches the peer after this request, with every route as
    /// it is then, so it is all the request asks for (RFC 2918 §4); answering each request
    /// again would let a peer that asks often while reading slowly queue a table per
    /// request. Otherwise the request is marked as asked, for the caller to pass on.
    fn refresh_on_its_way(&mut self, family: Family) -> bool {
        let peer = self.peer();
        let Some(c) = self.connection.as_mut() else {
            return true;
        };
        if c.refresh_asked.contains(family) || c.waiting.holds_refresh_start(family) {
            c.refresh_joined += 1;
            tracing::debug!(peer = %peer, %family, "ROUTE-REFRESH request answered by the one already on its way");
            return true;
        }
        c.refresh_asked.insert(family);
        tracing::debug!(peer = %peer, %family, "ROUTE-REFRESH request: sending the table again (RFC 2918 §4)");
        false
    }

    /// Whether the peer's BoRR or EoRR for `family` goes on to the RIB
    /// ([`super::refresh_gate`]: one of each per refresh, refreshes at most one a second).
    fn refresh_marker_passes(&mut self, family: Family, subtype: u8) -> bool {
        let peer = self.peer();
        let Some(c) = self.connection.as_mut() else {
            return false;
        };
        let now = Instant::now();
        let verdict = if subtype == bgp_proto::SUBTYPE_BORR {
            c.refresh_in.borr(family, now)
        } else {
            c.refresh_in.eorr(family, now)
        };
        if verdict != Verdict::Pass {
            tracing::debug!(peer = %peer, %family, subtype, ?verdict, "BoRR/EoRR not passed on to the RIB");
        }
        verdict == Verdict::Pass
    }

    /// The RIB's answer to a ROUTE-REFRESH request (or a soft reset out) for `family`:
    /// queued like any output, between BoRR and EoRR when enhanced route refresh was
    /// negotiated (RFC 7313 §4: before the re-advertisement starts, and after it ends).
    async fn refreshed(&mut self, family: Family, parts: Vec<Outgoing>, markers: bool) {
        let enhanced = markers
            && self
                .fsm
                .negotiated()
                .is_some_and(|n| n.enhanced_route_refresh);
        let peer = self.peer();
        let Some(c) = self.connection.as_mut() else {
            return;
        };
        c.refresh_asked.remove(family);
        let routes: usize = parts.iter().map(Outgoing::prefixes).sum();
        let admitted = c.refresh_log.admit(std::time::Instant::now());
        if admitted.log {
            let joined = std::mem::take(&mut c.refresh_joined);
            tracing::info!(peer = %peer, %family, routes, enhanced, requests_joined = joined, tables_not_logged = admitted.suppressed_before, "table sent again (ROUTE-REFRESH request or soft reset out; requests made while an answer was on its way are answered by it)");
        } else {
            tracing::debug!(peer = %peer, %family, routes, enhanced, "table sent again");
        }
        if !enhanced {
            return self.queue_output(parts).await;
        }
        let marker = |subtype| {
            let message = Message::RouteRefresh(RouteRefresh {
                subtype,
                ..RouteRefresh::request(family)
            });
            let mut buf = bytes::BytesMut::new();
            // A ROUTE-REFRESH always fits; an error would leave the marker out.
            if let Err(e) = message.encode(&SessionContext::default(), &mut buf) {
                tracing::error!(peer = %peer, %family, error = %e, "cannot encode BoRR/EoRR");
            }
            Outgoing::Encoded(buf)
        };
        let mut all = Vec::with_capacity(parts.len() + 2);
        all.push(marker(bgp_proto::SUBTYPE_BORR));
        all.extend(parts);
        all.push(marker(bgp_proto::SUBTYPE_EORR));
        self.queue_output(all).await;
    }

    /// Packs the RIB's output and queues it for the writer (counted, recorded, and the
    /// KeepaliveTimer restarted, RFC 4271 §8.2.2). A batch shared with the peer's update
    /// group is written as the octets packed once for the group.
    async fn send_updates(&mut self, parts: &[Outgoing]) {
        let chunks = PeerOutput::encode_chunks(parts);
        let peer = self.peer();
        for p in parts {
            // The packer logged the failure with the group's first peer; the routes are
            // missing for this peer too, so say so with its own address.
            if let Outgoing::Shared(s) = p {
                let left_out = s.left_out();
                if left_out > 0 && s.batch.peer != peer {
                    tracing::error!(peer = %peer, groups = left_out, first_peer = %s.batch.peer, "routes of a batch shared with the update group left out: cannot encode them (error logged for first_peer)");
                }
            }
        }
        if chunks.is_empty() {
            return;
        }
        for bytes in chunks {
            let (updates, refreshes) = crate::metrics::encoded_message_kinds(&bytes);
            if updates > 0 {
                self.updates_sent
                    .get_or_insert_with(|| {
                        crate::metrics::message_counter(&peer.to_string(), false, "update")
                    })
                    .inc_by(updates);
            }
            if refreshes > 0 {
                crate::metrics::message_counter(&peer.to_string(), false, "route_refresh")
                    .inc_by(refreshes);
            }
            if self.recorder.is_some() {
                let mut rest = bytes.clone();
                while let Ok(Some(len)) =
                    bgp_proto::frame_len(&rest, bgp_proto::MAX_EXTENDED_MESSAGE_LEN)
                {
                    if len > rest.len() {
                        break;
                    }
                    let frame = rest.split_to(len);
                    self.record(frame, true);
                }
            }
            self.write(bytes, true);
        }
        self.handle(Event::UpdateSent).await;
    }

    /// The writer's queue fell to the low-water mark: packs waiting routes, a chunk at a
    /// time, until it is above the high-water mark again or nothing waits. At most 16 chunks
    /// per call, so that reading the peer goes on between them (the next call comes at once
    /// if the queue is still low).
    async fn send_waiting(&mut self) {
        for _ in 0..16 {
            let established = self.fsm.state() == State::Established;
            let Some(c) = self.connection.as_mut() else {
                return;
            };
            if !established {
                // The session is ending: what waited goes with it.
                c.waiting = Waiting::default();
                return;
            }
            if c.writer.queued() >= waiting::HIGH_WATER {
                return;
            }
            let Some(part) = c.waiting.next(waiting::CHUNK_ROUTES) else {
                return;
            };
            self.send_updates(std::slice::from_ref(&part)).await;
        }
    }

    /// Queues `bytes` (whole messages; `updates`: UPDATEs only) for the peer; the writing
    /// task writes them in order.
    fn write(&mut self, bytes: bytes::Bytes, updates: bool) {
        let limit = self.send_hold_time();
        if let Some(c) = self.connection.as_ref() {
            c.writer.send(bytes, limit, updates);
        }
    }

    /// The connection's writing task can write no more.
    async fn write_failed(&mut self, failure: WriteFailure) {
        let peer = self.peer();
        match failure {
            WriteFailure::Io(e) => {
                tracing::info!(peer = %peer, error = %e, "write failed");
                self.connection = None;
                self.handle(Event::TcpFailed).await;
            }
            WriteFailure::Stalled(limit) => {
                // The 8/0 is not written: the peer's window is full and the connection is in
                // the middle of a message (RFC 9687 §4 lets the connection close without it).
                tracing::warn!(peer = %peer, send_hold_time = limit.as_secs(), "peer stopped reading: send hold timer expired (RFC 9687), dropping the session with NOTIFICATION 8/0 (not deliverable: the peer's window is full)");
                self.flush_on_down = true;
                self.connection = None;
                // The FSM records the 8/0 as sent (its own copy goes nowhere: no connection).
                let n = Notification::new(8, 0);
                self.handle(Event::AutomaticStop { notification: n }).await;
            }
        }
    }

    fn send(&mut self, m: &Message) {
        let ctx = self.send_context();
        match m.to_bytes(&ctx) {
            Ok(b) => {
                crate::metrics::count_message(&self.peer().to_string(), false, m);
                if self.recorder.is_some() && self.connection.is_some() {
                    self.record(b.clone(), true);
                }
                if matches!(m, Message::Notification(_)) {
                    // The session ends with it (RFC 4271 §6): what is still queued is dropped,
                    // and the NOTIFICATION follows the message being written.
                    if let Some(c) = self.connection.take() {
                        self.closing = c.writer.close(Some(b));
                    }
                } else {
                    self.write(b, matches!(m, Message::Update(_)));
                }
            }
            Err(e) => tracing::error!(peer = %self.peer(), error = %e, "cannot encode message"),
        }
    }

    /// RFC 9687 §3: the send hold time is the larger of 8 minutes and twice the negotiated
    /// hold time, unless configured (`send_hold_time`).
    fn send_hold_time(&self) -> Duration {
        if let Some(s) = self.neighbor.send_hold_time {
            return Duration::from_secs(s.max(1));
        }
        let hold = self
            .fsm
            .negotiated()
            .map(|n| n.hold_time)
            .unwrap_or(self.neighbor.hold_time);
        Duration::from_secs((u64::from(hold) * 2).max(480))
    }

    fn send_context(&self) -> SessionContext {
        self.fsm
            .negotiated()
            .map(|n| n.send_context(self.neighbor.ibgp))
            .unwrap_or_default()
    }

    async fn handle(&mut self, event: Event) {
        let before = self.fsm.state();
        let outputs = self.fsm.handle(event);
        for o in outputs {
            match o {
                Output::Connect => {
                    let addr = SocketAddr::new(self.neighbor.address, self.neighbor.port);
                    let local = self.neighbor.local_address;
                    let password = self.neighbor.password.clone();
                    let ttl = self.neighbor.ttl_security;
                    self.connecting = Some(tokio::spawn(connect(addr, local, password, ttl)));
                }
                Output::Send(m) => {
                    if let Message::Notification(n) = &m {
                        tracing::info!(peer = %self.peer(), notification = %n, "NOTIFICATION sent");
                        self.tell_rib(RibEvent::Notification {
                            peer: self.id,
                            sent: true,
                            notification: n.clone(),
                        });
                    }
                    self.send(&m);
                }
                Output::CloseConnection => {
                    if let Some(c) = self.connection.take() {
                        self.closing = c.writer.close(None);
                    }
                    self.stop_connecting();
                }
                Output::StartTimer(t, d) => {
                    let mut at = Instant::now() + d;
                    if t == Timer::IdleHold {
                        // After a max-prefix reset the restart waits the configured interval.
                        if let Some(q) = self.quiet_until.filter(|q| *q > at) {
                            at = q;
                        }
                    }
                    if let Some(slot) = self.timers.get_mut(timer_index(t)) {
                        *slot = Some(at);
                    }
                }
                Output::StopTimer(t) => {
                    if let Some(slot) = self.timers.get_mut(timer_index(t)) {
                        *slot = None;
                    }
                }
                Output::Established(neg) => self.established(neg),
                Output::Down(reason) => self.down(reason),
                Output::Update(u) => {
                    // Prepared here, beside the RIB's thread rather than on it.
                    let four_octet = self
                        .connection
                        .as_ref()
                        .is_none_or(|c| c.reader.decoder().codec.receive.four_octet_as);
                    self.queue_update(ReceivedUpdate::new(u, four_octet));
                }
                Output::PreparedUpdate(update) => self.queue_update(update),
                Output::RouteRefresh(rr) => {
                    // The FSM passes on only the three subtypes, for negotiated families.
                    let pass = if rr.subtype == bgp_proto::SUBTYPE_REQUEST {
                        !self.refresh_on_its_way(rr.family)
                    } else {
                        self.refresh_marker_passes(rr.family, rr.subtype)
                    };
                    if !pass {
                        continue;
                    }
                    // BoRR and EoRR go after the UPDATEs before them (`tell_rib` flushes).
                    self.tell_rib(RibEvent::RouteRefresh {
                        peer: self.id,
                        incarnation: self.incarnation,
                        family: rr.family,
                        subtype: rr.subtype,
                    });
                }
            }
        }
        let after = self.fsm.state();
        if before != after {
            if let Some(rec) = &self.recorder {
                let _ = rec.send(crate::recording::RecordEvent::State {
                    time: std::time::SystemTime::now(),
                    ends: self.ends(),
                    old: crate::recording::mrt_state(before),
                    new: crate::recording::mrt_state(after),
                });
            }
            tracing::debug!(peer = %self.peer(), from = %before, to = %after, "state change");
            self.tell_rib(RibEvent::State {
                peer: self.id,
                state: after,
            });
            if after == State::OpenConfirm {
                Box::pin(self.resolve_collision()).await;
            }
        }
    }

    fn established(&mut self, neg: Box<Negotiated>) {
        let ibgp = self.neighbor.ibgp;
        let enforce = (!ibgp).then_some(self.neighbor.peer_as);
        if let Some(c) = self.connection.as_mut() {
            c.reader
                .decoder_mut()
                .codec
                .set_context(neg.receive_context(ibgp, enforce), neg.send_context(ibgp));
        }
        let local_address = self.connection.as_ref().map(|c| c.local.ip());
        tracing::info!(
            peer = %self.peer(),
            peer_as = neg.peer_as,
            peer_id = %neg.peer_id,
            hold_time = neg.hold_time,
            families = ?neg.families.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
            add_path_receive = %neg.add_path_receive,
            add_path_send = %neg.add_path_send,
            four_octet_as = neg.four_octet_as,
            "session Established"
        );
        self.established = true;
        let session = SessionInfo {
            bgp_id: neg.peer_id,
            local_address,
            families: neg.families.clone(),
            add_path_send: neg.add_path_send,
            send_context: neg.send_context(ibgp),
            four_octet_as: neg.four_octet_as,
            graceful_restart: neg
                .peer_graceful_restart
                .as_ref()
                .filter(|g| self.neighbor.graceful_restart && !g.families.is_empty())
                .map(|g| Duration::from_secs(u64::from(g.restart_time))),
            graceful_restart_families: neg
                .peer_graceful_restart
                .as_ref()
                .map(|g| g.kept_families())
                .unwrap_or_default(),
        };
        self.tell_rib(RibEvent::Up {
            peer: self.id,
            incarnation: self.incarnation,
            session,
            negotiated: neg,
        });
    }

    fn down(&mut self, reason: DownReason) {
        if !self.established {
            tracing::debug!(peer = %self.peer(), reason = %reason, "connection attempt ended");
            return;
        }
        self.established = false;
        tracing::info!(peer = %self.peer(), reason = %reason, "session down");
        let not_logged = self.issue_log.take_suppressed();
        if not_logged > 0 {
            tracing::warn!(peer = %self.peer(), not_logged, "UPDATE errors handled per RFC 7606 but not logged before the session ended (rate limit; see bgpd_peer_update_errors_total)");
        }
        // RFC 4724 §4.2: routes are kept as stale only when the TCP session ends without a
        // NOTIFICATION; a hold timer expiry sends 4/0 and flushes them (see
        // `DownReason::keeps_routes_for_graceful_restart`).
        let graceful =
            !std::mem::take(&mut self.flush_on_down) && reason.keeps_routes_for_graceful_restart();
        self.tell_rib(RibEvent::Down {
            peer: self.id,
            incarnation: self.incarnation,
            graceful,
            reason: reason.to_string(),
        });
    }
}

/// Why the peer task woke up.
enum Wake {
    Command(Option<PeerCommand>),
    Read(Option<Result<Framed<ReceivedUpdate>, CodecError>>),
    Connected(Result<std::io::Result<TcpStream>, tokio::task::JoinError>),
    Timer,
    /// The RIB caught up with this peer's UPDATEs: reading may resume.
    Drained,
    /// The connection's writing task failed.
    WriteFailed(WriteFailure),
    /// The writer's queue fell to the low-water mark while routes wait.
    Room,
}

/// The next message on the connection (while `read`), its write failure, or (while routes
/// wait for the peer) room in the writer's queue; never completes without one.
async fn connection_event(c: &mut Option<Connection>, read: bool) -> Wake {
    match c {
        // Routes wait only while the peer reads slowly: the common case has no third branch.
        Some(c) if c.waiting.is_empty() => tokio::select! {
            msg = c.reader.next(), if read => Wake::Read(msg),
            f = c.writer.failed() => Wake::WriteFailed(f),
        },
        Some(c) => {
            let room = c.writer.room();
            tokio::select! {
                msg = c.reader.next(), if read => Wake::Read(msg),
                f = c.writer.failed() => Wake::WriteFailed(f),
                () = room.wait() => Wake::Room,
            }
        }
        None => std::future::pending().await,
    }
}

/// The outcome of the connect attempt; never completes without one.
async fn connected(
    h: &mut Option<tokio::task::JoinHandle<std::io::Result<TcpStream>>>,
) -> Result<std::io::Result<TcpStream>, tokio::task::JoinError> {
    match h {
        Some(h) => h.await,
        None => std::future::pending().await,
    }
}

/// A peer task's one tokio timer, set for the earliest of its FSM timers but only ever moved
/// earlier. The hold timer restarts on every UPDATE and KEEPALIVE (RFC 4271 §4.4, §8.2.2),
/// which moves the earliest deadline later each time: re-registering a tokio timer for that
/// cost every received message a timer-wheel removal and insertion. Waking early is harmless:
/// nothing is due, and the alarm is set again for what is.
struct Alarm {
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
    /// When it is set to go off; `None` once it went off (or before it was first set).
    at: Option<Instant>,
}

impl Alarm {
    fn new() -> Self {
        Alarm {
            sleep: Box::pin(tokio::time::sleep_until(Instant::now())),
            at: None,
        }
    }

    /// Makes the alarm go off no later than `deadline` (`None`: no timer runs).
    fn arm(&mut self, deadline: Option<Instant>) {
        match deadline {
            None => self.at = None,
            Some(d) if self.at.is_none_or(|at| d < at) => {
                self.sleep.as_mut().reset(d);
                self.at = Some(d);
            }
            Some(_) => {}
        }
    }
}

/// Sends a NOTIFICATION on a connection we will not use, and closes it.
async fn reject(mut stream: TcpStream, n: Notification) {
    if let Ok(b) = Message::Notification(n).to_bytes(&SessionContext::default()) {
        let _ = tokio::time::timeout(Duration::from_secs(2), stream.write_all(&b)).await;
    }
    let _ = stream.shutdown().await;
}
