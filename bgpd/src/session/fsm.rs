//! The RFC 4271 §8 finite state machine of one BGP connection, without I/O.
//!
//! [`Fsm::handle`] takes one [`Event`] and returns what the driver must do as [`Output`]s, in
//! order: connect, send, close, start or stop timers, report the session up or down, hand an
//! UPDATE or ROUTE-REFRESH on. There is no socket, no task and no clock here: time enters
//! only as [`Event::TimerExpired`], and timers leave only as [`Output::StartTimer`] /
//! [`Output::StopTimer`] with their duration. Starting a timer that runs restarts it.
//!
//! Choices among the options RFC 4271 §8.1 leaves open:
//! - DelayOpen, SendNOTIFICATIONwithoutOPEN and CollisionDetectEstablishedState are off.
//! - DampPeerOscillations is on: every failure that ends in Idle (all but a manual stop)
//!   starts the IdleHold timer, and its expiry starts the connection again. The wait doubles
//!   with each consecutive failure, from [`FsmConfig::idle_hold`] up to
//!   [`FsmConfig::max_idle_hold`], and starts over once a session stayed Established for
//!   [`FsmConfig::backoff_reset`].
//! - PassiveTcpEstablishment: a passive peer waits in Active for the peer to connect and
//!   never moves to Connect (RFC 4271 would connect after the first ConnectRetry expiry).
//! - A received NOTIFICATION is never answered with one (RFC 4271 §6.4; §8.2.2 lists it among
//!   the FSM errors in OpenSent and OpenConfirm, which would answer a NOTIFICATION with one).
//! - One FSM serves one TCP connection. A second connection (RFC 4271 §6.8 collision) is the
//!   driver's: it runs a second FSM, decides with [`keep_existing_on_collision`] and sends
//!   [`Event::OpenCollisionDump`] to the loser. [`Event::TcpConnected`] in OpenSent,
//!   OpenConfirm and Established is therefore ignored ("the second connection is tracked").
//! - The expiry of a timer this FSM has not started, or stopped since, is stale (the driver's
//!   stop crossed the expiry) and ignored. RFC 4271 would count it as an FSM error.
//! - Jitter (RFC 4271 §10) is the driver's, which owns the clock; the durations here are the
//!   unjittered values.
//!
//! Nothing here panics, for any sequence of events (checked by a property test).

use super::negotiate::{check_open, negotiate, Negotiated, OpenError};
use crate::rib::received::ReceivedUpdate;
use bgp_proto::Message;
use bgp_proto::{
    cease_subcode, notification_code, Capability, DecodeError, Family, MessageType, Notification,
    Open, RouteRefresh, Update, SUBTYPE_BORR, SUBTYPE_EORR, SUBTYPE_REQUEST,
};
use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

/// RFC 4271 §8.2.2: the hold timer while waiting for the peer's OPEN ("a large value",
/// 4 minutes suggested).
pub const OPEN_HOLD_TIME: Duration = Duration::from_secs(240);

/// What one peering uses: who we are, whom we expect, the timers and the capabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsmConfig {
    /// Our AS.
    pub local_as: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// The AS the peer must announce; anything else (and 0) is refused with 2/2
    /// (RFC 4271 §6.2). Equal to `local_as` for iBGP.
    pub peer_as: u32,
    /// The hold time we propose, in seconds: 0 (no keepalives) or at least 3.
    pub hold_time: u16,
    /// The smallest non-zero hold time we accept from the peer; a peer proposing less is
    /// refused with 2/6. 0 stays acceptable.
    pub min_hold_time: u16,
    /// Keepalive interval in seconds, used when smaller than a third of the hold time.
    pub keepalive: Option<u16>,
    /// ConnectRetry timer (RFC 4271 §10 suggests 120 s; 30 s here by default).
    pub connect_retry: Duration,
    /// Never initiate the TCP connection: wait in Active for the peer.
    pub passive: bool,
    /// Capabilities for our OPEN, sent as they are (see [`FsmConfig::new`] for the defaults).
    pub capabilities: Vec<Capability>,
    /// Wait in Idle after the first failure before starting again.
    pub idle_hold: Duration,
    /// Longest wait in Idle: the wait doubles per consecutive failure up to this.
    pub max_idle_hold: Duration,
    /// How long a session must stay Established before the next failure waits
    /// `idle_hold` again. `Duration::ZERO`: as soon as it is Established.
    pub backoff_reset: Duration,
}

impl FsmConfig {
    /// A configuration with the defaults: hold time 90 s (RFC 4271 §10), ConnectRetry 30 s,
    /// IdleHold 5 s doubling up to 120 s, back-off forgotten after 300 s Established (BIRD's
    /// "error forget time"), and capabilities multiprotocol IPv4 and IPv6 unicast, route
    /// refresh and 4-octet AS.
    pub fn new(local_as: u32, router_id: Ipv4Addr, peer_as: u32) -> Self {
        FsmConfig {
            local_as,
            router_id,
            peer_as,
            hold_time: 90,
            min_hold_time: 3,
            keepalive: None,
            connect_retry: Duration::from_secs(30),
            passive: false,
            capabilities: vec![
                Capability::Multiprotocol(Family::IPV4_UNICAST),
                Capability::Multiprotocol(Family::IPV6_UNICAST),
                Capability::RouteRefresh,
                Capability::FourOctetAs(local_as),
            ],
            idle_hold: Duration::from_secs(5),
            max_idle_hold: Duration::from_secs(120),
            backoff_reset: Duration::from_secs(300),
        }
    }

    /// The OPEN this configuration sends.
    pub fn local_open(&self) -> Open {
        Open::new(
            self.local_as,
            self.hold_time,
            self.router_id,
            self.capabilities.clone(),
        )
    }
}

/// The six states of RFC 4271 §8.2.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// No connection; refuses incoming ones. Waits for a start (or the IdleHold timer).
    Idle,
    /// Connecting: our outbound TCP connection is in progress.
    Connect,
    /// Waiting for the peer to connect to us.
    Active,
    /// Connected, our OPEN sent, waiting for the peer's.
    OpenSent,
    /// Both OPENs exchanged, our KEEPALIVE sent, waiting for the peer's.
    OpenConfirm,
    /// The session is up: UPDATEs flow.
    Established,
}

impl State {
    /// The RFC name, as `birdc show protocols` and `gobgp neighbor` show it.
    pub fn name(self) -> &'static str {
        match self {
            State::Idle => "Idle",
            State::Connect => "Connect",
            State::Active => "Active",
            State::OpenSent => "OpenSent",
            State::OpenConfirm => "OpenConfirm",
            State::Established => "Established",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The timers the FSM asks the driver to run (RFC 4271 §8.1.3, §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Retry the outbound connection.
    ConnectRetry,
    /// The peer has been silent too long (no KEEPALIVE or UPDATE).
    Hold,
    /// Time to send a KEEPALIVE.
    Keepalive,
    /// End of the back-off in Idle after a failure: start again.
    IdleHold,
    /// The session has stayed Established long enough: the back-off starts over.
    BackoffReset,
}

impl Timer {
    /// Every timer, in declaration order.
    pub const ALL: [Timer; 5] = [
        Timer::ConnectRetry,
        Timer::Hold,
        Timer::Keepalive,
        Timer::IdleHold,
        Timer::BackoffReset,
    ];

    /// The RFC name (BackoffReset is this project's).
    pub fn name(self) -> &'static str {
        match self {
            Timer::ConnectRetry => "ConnectRetryTimer",
            Timer::Hold => "HoldTimer",
            Timer::Keepalive => "KeepaliveTimer",
            Timer::IdleHold => "IdleHoldTimer",
            Timer::BackoffReset => "BackoffResetTimer",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Timer::ConnectRetry => 1,
            Timer::Hold => 2,
            Timer::Keepalive => 4,
            Timer::IdleHold => 8,
            Timer::BackoffReset => 16,
        }
    }
}

impl fmt::Display for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What happens to the FSM (RFC 4271 §8.1, events named after the RFC's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Event 1: the operator enables the peer. Starts at once, even during a back-off, and
    /// forgets earlier failures.
    ManualStart,
    /// Event 2: the operator disables the peer. Sends `notification` (default: Cease 6/2
    /// without text) when a connection is open, and stays in Idle: no automatic restart.
    ManualStop {
        /// Usually a Cease 6/2 with an RFC 9003 shutdown communication.
        notification: Option<Notification>,
    },
    /// Event 3: the daemon starts the peer (at startup, or after a configuration change).
    /// Ignored while the IdleHold back-off runs.
    AutomaticStart,
    /// Event 5 (AutomaticStart_with_PassiveTcpEstablishment): the peer connected while the
    /// session waited in Idle for its IdleHold back-off. The wait ends and the FSM goes to
    /// Active to take that connection; the failure count stays, so our own connection
    /// attempts are still damped (§8.1.1 DampPeerOscillations). Ignored outside Idle.
    PassiveStart,
    /// Event 8: the daemon closes the session for a reason of its own (e.g. Cease 6/1,
    /// maximum number of prefixes). Counts as a failure: the IdleHold back-off restarts it.
    AutomaticStop {
        /// The NOTIFICATION to send when a connection is open.
        notification: Notification,
    },
    /// Events 16/17: a TCP connection is up. `outbound`: our connect succeeded (TcpCRAcked);
    /// otherwise the peer connected to us (TcpConnectionConfirmed). In Connect, an inbound
    /// connection replaces our attempt: the driver abandons the attempt.
    TcpConnected {
        /// We initiated the connection.
        outbound: bool,
    },
    /// Event 18: our connect failed, or the connection was closed or reset by the peer.
    TcpFailed,
    /// Events 9–13: a timer expired.
    TimerExpired(Timer),
    /// Events 19, 24–27 and ROUTE-REFRESH: a decoded message from the peer.
    Message(Message),
    /// Event 27: an UPDATE the session prepared for the RIB without decoding it
    /// ([`ReceivedUpdate::from_frame`]). Outside Established it is the unexpected UPDATE it
    /// would be decoded.
    PreparedUpdate(ReceivedUpdate),
    /// Events 21, 22, 28: a message that cannot be decoded. Its NOTIFICATION is sent and the
    /// connection closed (RFC 4271 §6).
    DecodeError(DecodeError),
    /// Event 23: the driver resolved a collision (RFC 4271 §6.8) against this connection.
    /// Sends Cease 6/7 and closes.
    OpenCollisionDump,
    /// We sent an UPDATE: the keepalive timer restarts (RFC 4271 §8.2.2, Established).
    /// Optional: without it, KEEPALIVEs are merely sent more often than needed.
    UpdateSent,
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Start an outbound TCP connection to the peer.
    Connect,
    /// Send this message on the connection.
    Send(Message),
    /// Close the connection (after sending what came before), or abandon the connect attempt.
    CloseConnection,
    /// Start this timer with this duration, restarting it if it runs.
    StartTimer(Timer, Duration),
    /// Stop this timer.
    StopTimer(Timer),
    /// The session is Established with these properties.
    Established(Box<Negotiated>),
    /// The connection attempt or the session ended, and why. The FSM is now in Idle, or in
    /// Active after a connection closed in OpenSent.
    Down(DownReason),
    /// An UPDATE for the RIB (Established only).
    Update(Update),
    /// An UPDATE for the RIB, prepared without being decoded (Established only).
    PreparedUpdate(ReceivedUpdate),
    /// A ROUTE-REFRESH for the RIB (Established only, negotiated families only).
    RouteRefresh(RouteRefresh),
}

/// Why a session or a connection attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownReason {
    /// [`Event::ManualStop`].
    ManualStop,
    /// We closed the session with this NOTIFICATION ([`Event::AutomaticStop`]).
    NotificationSent(Notification),
    /// The peer sent this NOTIFICATION.
    NotificationReceived(Notification),
    /// The peer was silent longer than the hold time; we sent 4/0.
    HoldTimerExpired,
    /// Our TCP connection attempt failed.
    ConnectFailed,
    /// The TCP connection was closed or reset by the peer.
    ConnectionLost,
    /// The peer sent a message that cannot be decoded; we sent its NOTIFICATION (no
    /// NOTIFICATION before our OPEN went out).
    MalformedMessage(DecodeError),
    /// The peer's OPEN was refused; we sent [`OpenError::notification`].
    OpenRejected(OpenError),
    /// A message the state does not allow; we sent an FSM Error 5/1, 5/2 or 5/3 (RFC 6608)
    /// when a connection was open.
    UnexpectedMessage {
        /// The state it arrived in.
        state: State,
        /// Its type.
        message_type: MessageType,
    },
    /// This connection lost a collision (RFC 4271 §6.8); we sent Cease 6/7.
    CollisionResolution,
}

impl DownReason {
    /// Whether the peer's routes may be kept as stale for graceful restart after this end
    /// of the session. RFC 4724 §4 invokes graceful restart only when the TCP session ends
    /// without a NOTIFICATION; RFC 8538 extends it to NOTIFICATIONs and hold timer expiry
    /// (which sends 4/0) only when both OPENs carry the N bit, and bgpd does not announce
    /// it. So only a lost connection keeps routes; a hold timer expiry flushes them.
    pub fn keeps_routes_for_graceful_restart(&self) -> bool {
        matches!(self, DownReason::ConnectionLost)
    }
}

impl fmt::Display for DownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DownReason::ManualStop => f.write_str("stopped by the operator"),
            DownReason::NotificationSent(n) => write!(f, "sent NOTIFICATION {n}"),
            DownReason::NotificationReceived(n) => write!(f, "received NOTIFICATION {n}"),
            DownReason::HoldTimerExpired => f.write_str(
                "hold timer expired: nothing heard from the peer (sent NOTIFICATION 4/0)",
            ),
            DownReason::ConnectFailed => f.write_str("TCP connection attempt failed"),
            DownReason::ConnectionLost => f.write_str("TCP connection closed or reset by the peer"),
            DownReason::MalformedMessage(e) => {
                write!(
                    f,
                    "malformed message: {e} (NOTIFICATION {})",
                    e.notification()
                )
            }
            DownReason::OpenRejected(e) => {
                write!(
                    f,
                    "OPEN refused: {e} (sent NOTIFICATION {})",
                    e.notification()
                )
            }
            DownReason::UnexpectedMessage {
                state,
                message_type,
            } => write!(f, "unexpected {} in state {state}", message_type.name()),
            DownReason::CollisionResolution => {
                f.write_str("connection collision: closed this connection (sent NOTIFICATION 6/7)")
            }
        }
    }
}

/// Cease 6/7, Connection Collision Resolution (RFC 4486 §4): what the losing connection of a
/// collision gets before it is closed.
pub fn collision_notification() -> Notification {
    Notification::new(
        notification_code::CEASE,
        cease_subcode::CONNECTION_COLLISION_RESOLUTION,
    )
}

/// RFC 4271 §6.8: which connection survives a collision. The one initiated by the speaker
/// with the higher BGP identifier (compared as 32-bit unsigned integers) is kept. Returns
/// true when the existing connection should be kept. Equal identifiers cannot be decided
/// here: the existing connection is kept (see [`keep_existing_on_collision_with_as`]).
pub fn keep_existing_on_collision(
    local_id: Ipv4Addr,
    remote_id: Ipv4Addr,
    existing_is_outbound: bool,
) -> bool {
    let (local, remote) = (u32::from(local_id), u32::from(remote_id));
    if local == remote {
        return true;
    }
    // Keep the connection we initiated exactly when our identifier is the higher one.
    (local > remote) == existing_is_outbound
}

/// [`keep_existing_on_collision`] with RFC 6286 §2.3 for equal identifiers (possible between
/// different ASes): the connection initiated by the speaker with the larger AS is kept.
pub fn keep_existing_on_collision_with_as(
    local_id: Ipv4Addr,
    local_as: u32,
    remote_id: Ipv4Addr,
    remote_as: u32,
    existing_is_outbound: bool,
) -> bool {
    if local_id != remote_id || local_as == remote_as {
        return keep_existing_on_collision(local_id, remote_id, existing_is_outbound);
    }
    (local_as > remote_as) == existing_is_outbound
}

/// The state machine of one connection to one peer.
#[derive(Debug, Clone)]
pub struct Fsm {
    config: FsmConfig,
    local_open: Open,
    state: State,
    negotiated: Option<Box<Negotiated>>,
    /// Bit per [`Timer`]: started and neither stopped nor expired since.
    running_timers: u8,
    /// Failures since the last stable session (RFC 4271 ConnectRetryCounter).
    consecutive_failures: u32,
}

impl Fsm {
    /// An FSM in Idle, waiting for [`Event::ManualStart`] or [`Event::AutomaticStart`].
    pub fn new(config: FsmConfig) -> Self {
        Fsm {
            local_open: config.local_open(),
            config,
            state: State::Idle,
            negotiated: None,
            running_timers: 0,
            consecutive_failures: 0,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// What was negotiated, from the moment the peer's OPEN is accepted (OpenConfirm and
    /// Established).
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_deref()
    }

    /// The configuration.
    pub fn config(&self) -> &FsmConfig {
        &self.config
    }

    /// The OPEN we send.
    pub fn local_open(&self) -> &Open {
        &self.local_open
    }

    /// Replaces the configuration (e.g. the graceful restart R bit cleared after our
    /// restart). A session being set up or running keeps the OPEN it sent; the new OPEN
    /// applies from the next connection.
    pub fn set_config(&mut self, config: FsmConfig) {
        self.config = config;
        if matches!(self.state, State::Idle | State::Connect | State::Active) {
            self.local_open = self.config.local_open();
        }
    }

    /// Failures since the last session that stayed Established for
    /// [`FsmConfig::backoff_reset`] (or since the last manual start or stop).
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// Whether the FSM considers `timer` running (started, not stopped, not expired).
    pub fn timer_running(&self, timer: Timer) -> bool {
        self.running_timers & timer.bit() != 0
    }

    /// Handles one event and returns what the driver must do, in order.
    pub fn handle(&mut self, event: Event) -> Vec<Output> {
        let mut out = Vec::new();
        if let Event::TimerExpired(timer) = event {
            if !self.timer_running(timer) {
                // Stale: stopped (or never started) by this FSM; see the module doc.
                return out;
            }
            self.running_timers &= !timer.bit();
        }
        let event = match event {
            // Outside Established only the message's type matters (§8.2.2 "any other event").
            Event::PreparedUpdate(_) if self.state != State::Established => {
                Event::Message(Message::Update(bgp_proto::Update::default()))
            }
            event => event,
        };
        match self.state {
            State::Idle => self.idle(event, &mut out),
            State::Connect | State::Active => self.connecting(event, &mut out),
            State::OpenSent | State::OpenConfirm | State::Established => {
                self.connected(event, &mut out)
            }
        }
        out
    }

    /// RFC 4271 §8.2.2, Idle state.
    fn idle(&mut self, event: Event, out: &mut Vec<Output>) {
        match event {
            // §8.2.2 Idle, Event 1: initialise, ConnectRetryCounter = 0, connect (or, passive,
            // Events 4/5: wait in Active).
            Event::ManualStart => {
                self.consecutive_failures = 0;
                self.stop_timer(Timer::IdleHold, out);
                self.start(out);
            }
            // §8.2.2 Idle, Event 3; §8.1.1 DampPeerOscillations: an automatic start waits for
            // the back-off (Events 6/7 are "prevented" while the IdleHold timer runs).
            Event::AutomaticStart => {
                if !self.timer_running(Timer::IdleHold) {
                    self.start(out);
                }
            }
            // §8.2.2 Idle, Event 13: the back-off is over; start again.
            Event::TimerExpired(Timer::IdleHold) => self.start(out),
            // §8.2.2 Idle, Event 5: the peer's connection ends the back-off. Start the
            // ConnectRetryTimer (not for a passive neighbor: it never connects), listen,
            // Active; the driver hands the connection over next. The failure count is kept.
            Event::PassiveStart => {
                self.stop_timer(Timer::IdleHold, out);
                if !self.config.passive {
                    self.start_timer(Timer::ConnectRetry, self.config.connect_retry, out);
                }
                self.state = State::Active;
            }
            // §8.2.2 Idle: ManualStop is ignored; it also cancels a pending automatic restart
            // and, like every ManualStop, sets ConnectRetryCounter to 0.
            Event::ManualStop { .. } => {
                self.stop_timer(Timer::IdleHold, out);
                self.consecutive_failures = 0;
            }
            // §8.2.1: "In this state, BGP FSM refuses all incoming BGP connections".
            Event::TcpConnected { .. } => out.push(Output::CloseConnection),
            // §8.2.2 Idle: "Any other event ... does not cause change in the state".
            Event::AutomaticStop { .. }
            | Event::TcpFailed
            | Event::TimerExpired(_)
            | Event::Message(_)
            | Event::DecodeError(_)
            | Event::OpenCollisionDump
            | Event::UpdateSent => {}
            // Made a `Message` in `handle`.
            Event::PreparedUpdate(_) => {}
        }
    }

    /// Leaves Idle: connect (Connect) or, passive, wait for the peer (Active).
    fn start(&mut self, out: &mut Vec<Output>) {
        if self.config.passive {
            // §8.2.2 Idle, Events 4/5 (PassiveTcpEstablishment): listen only.
            self.state = State::Active;
        } else {
            // §8.2.2 Idle, Events 1/3: start ConnectRetryTimer, initiate the TCP connection.
            self.start_timer(Timer::ConnectRetry, self.config.connect_retry, out);
            out.push(Output::Connect);
            self.state = State::Connect;
        }
    }

    /// RFC 4271 §8.2.2, Connect and Active states (no connection yet).
    fn connecting(&mut self, event: Event, out: &mut Vec<Output>) {
        match event {
            // §8.2.2 Connect/Active: start events are ignored.
            Event::ManualStart | Event::AutomaticStart | Event::PassiveStart => {}
            // §8.2.2 Connect/Active, Event 2: drop the connection attempt, counter 0, Idle.
            Event::ManualStop { .. } => self.go_idle(DownReason::ManualStop, None, false, out),
            // §8.2.2 Connect, Event 9: drop the attempt, restart the timer, connect again.
            Event::TimerExpired(Timer::ConnectRetry) if self.state == State::Connect => {
                out.push(Output::CloseConnection);
                self.start_timer(Timer::ConnectRetry, self.config.connect_retry, out);
                out.push(Output::Connect);
            }
            // §8.2.2 Active, Event 9: restart the timer, connect, go to Connect. (A passive
            // peer never runs this timer.)
            Event::TimerExpired(Timer::ConnectRetry) => {
                self.start_timer(Timer::ConnectRetry, self.config.connect_retry, out);
                out.push(Output::Connect);
                self.state = State::Connect;
            }
            // §8.2.2 Connect/Active, Events 16/17 (DelayOpen off): stop ConnectRetryTimer,
            // send OPEN, hold timer "large value", OpenSent.
            Event::TcpConnected { .. } => {
                self.stop_timer(Timer::ConnectRetry, out);
                out.push(Output::Send(Message::Open(self.local_open.clone())));
                self.start_timer(Timer::Hold, OPEN_HOLD_TIME, out);
                self.state = State::OpenSent;
            }
            // §8.2.2 Connect/Active, Event 18: drop the connection, Idle (with damping).
            Event::TcpFailed => self.go_idle(DownReason::ConnectFailed, None, true, out),
            // §8.2.2 Connect/Active, Event 8 ("any other event"): Idle, counter + 1.
            Event::AutomaticStop { notification } => {
                self.go_idle(DownReason::NotificationSent(notification), None, true, out)
            }
            // §8.2.2 Connect/Active, Events 19, 24–27 ("any other event"): no OPEN was sent,
            // so no NOTIFICATION (SendNOTIFICATIONwithoutOPEN off); Idle, counter + 1.
            Event::Message(message) => {
                let reason = match message {
                    Message::Notification(n) => DownReason::NotificationReceived(n),
                    other => DownReason::UnexpectedMessage {
                        state: self.state,
                        message_type: other.message_type(),
                    },
                };
                self.go_idle(reason, None, true, out);
            }
            // §8.2.2 Connect/Active, Events 21/22: no NOTIFICATION without OPEN; Idle.
            Event::DecodeError(e) => self.go_idle(DownReason::MalformedMessage(e), None, true, out),
            // §8.2.2 Connect/Active, Event 23 ("any other event"): Idle, counter + 1.
            Event::OpenCollisionDump => {
                self.go_idle(DownReason::CollisionResolution, None, true, out)
            }
            // Hold, Keepalive, IdleHold and BackoffReset never run here (a stale expiry was
            // filtered in `handle`); nothing was sent. A prepared UPDATE was made a `Message`
            // in `handle`.
            Event::TimerExpired(_) | Event::UpdateSent | Event::PreparedUpdate(_) => {}
        }
    }

    /// RFC 4271 §8.2.2, OpenSent, OpenConfirm and Established (a connection is open).
    fn connected(&mut self, event: Event, out: &mut Vec<Output>) {
        match event {
            // §8.2.2 OpenSent/OpenConfirm/Established: start events are ignored.
            Event::ManualStart | Event::AutomaticStart | Event::PassiveStart => {}
            // §8.2.2, Event 2: send Cease, close, ConnectRetryCounter = 0, Idle.
            Event::ManualStop { notification } => {
                let notification = notification.unwrap_or_else(|| {
                    Notification::new(
                        notification_code::CEASE,
                        cease_subcode::ADMINISTRATIVE_SHUTDOWN,
                    )
                });
                self.go_idle(DownReason::ManualStop, Some(notification), false, out);
            }
            // §8.2.2, Event 8: send the NOTIFICATION, close, counter + 1, Idle.
            Event::AutomaticStop { notification } => self.go_idle(
                DownReason::NotificationSent(notification.clone()),
                Some(notification),
                true,
                out,
            ),
            // §8.2.2, Event 10: send 4/0 Hold Timer Expired, close, counter + 1, Idle.
            Event::TimerExpired(Timer::Hold) => self.go_idle(
                DownReason::HoldTimerExpired,
                Some(Notification::new(notification_code::HOLD_TIMER_EXPIRED, 0)),
                true,
                out,
            ),
            // §8.2.2 OpenConfirm/Established, Event 11: send KEEPALIVE, restart the timer.
            Event::TimerExpired(Timer::Keepalive) => self.send_keepalive(out),
            // This project's damping: the session stayed up long enough (module doc).
            Event::TimerExpired(Timer::BackoffReset) => self.consecutive_failures = 0,
            // ConnectRetry and IdleHold never run here: a stale expiry was filtered in
            // `handle`.
            Event::TimerExpired(Timer::ConnectRetry | Timer::IdleHold) => {}
            // §8.2.2 OpenSent/OpenConfirm/Established, Events 14–17: "the second connection
            // SHALL be tracked" — by the driver, with a second FSM (module doc).
            Event::TcpConnected { .. } => {}
            // §8.2.2 OpenSent, Event 18: close, restart ConnectRetryTimer, listen, Active.
            Event::TcpFailed if self.state == State::OpenSent => {
                out.push(Output::CloseConnection);
                self.stop_timer(Timer::Hold, out);
                if !self.config.passive {
                    self.start_timer(Timer::ConnectRetry, self.config.connect_retry, out);
                }
                self.state = State::Active;
                out.push(Output::Down(DownReason::ConnectionLost));
            }
            // §8.2.2 OpenConfirm/Established, Event 18: close, counter + 1, Idle.
            Event::TcpFailed => self.go_idle(DownReason::ConnectionLost, None, true, out),
            // §8.2.2 OpenSent/OpenConfirm/Established, Events 24/25: close without answering
            // (RFC 4271 §6.4: no NOTIFICATION in reply to a NOTIFICATION), counter + 1, Idle.
            Event::Message(Message::Notification(n)) => {
                self.go_idle(DownReason::NotificationReceived(n), None, true, out)
            }
            // §8.2.2 OpenSent, Event 19: check the OPEN (§6.2) and go to OpenConfirm.
            Event::Message(Message::Open(open)) if self.state == State::OpenSent => {
                self.open_received(open, out)
            }
            // §8.2.2 OpenConfirm, Event 26: restart the hold timer, Established.
            Event::Message(Message::Keepalive) if self.state == State::OpenConfirm => {
                self.restart_hold_timer(out);
                self.state = State::Established;
                if self.config.backoff_reset.is_zero() {
                    self.consecutive_failures = 0;
                } else {
                    self.start_timer(Timer::BackoffReset, self.config.backoff_reset, out);
                }
                if let Some(negotiated) = &self.negotiated {
                    out.push(Output::Established(negotiated.clone()));
                }
            }
            // §8.2.2 Established, Event 26: restart the hold timer (§4.4).
            Event::Message(Message::Keepalive) if self.state == State::Established => {
                self.restart_hold_timer(out)
            }
            // §8.2.2 Established, Event 27: restart the hold timer, process the UPDATE.
            Event::Message(Message::Update(update)) if self.state == State::Established => {
                self.restart_hold_timer(out);
                out.push(Output::Update(update));
            }
            Event::PreparedUpdate(update) => {
                // Only in Established: `handle` made it a `Message` in every other state.
                self.restart_hold_timer(out);
                out.push(Output::PreparedUpdate(update));
            }
            // RFC 2918 §4, RFC 7313 §5: deliver a refresh we can honour, ignore the others.
            // It does not restart the hold timer (RFC 4271 §4.4: KEEPALIVE or UPDATE).
            Event::Message(Message::RouteRefresh(refresh)) if self.state == State::Established => {
                if self.refresh_accepted(&refresh) {
                    out.push(Output::RouteRefresh(refresh));
                }
            }
            // §8.2.2 OpenSent/OpenConfirm/Established, "any other event" (OPEN in OpenConfirm
            // or Established, KEEPALIVE/UPDATE/ROUTE-REFRESH in OpenSent, UPDATE/ROUTE-REFRESH
            // in OpenConfirm): send FSM Error with the RFC 6608 subcode, counter + 1, Idle.
            Event::Message(message) => {
                let fsm_error = Notification::new(
                    notification_code::FSM_ERROR,
                    match self.state {
                        State::OpenSent => 1,
                        State::OpenConfirm => 2,
                        _ => 3,
                    },
                );
                let reason = DownReason::UnexpectedMessage {
                    state: self.state,
                    message_type: message.message_type(),
                };
                self.go_idle(reason, Some(fsm_error), true, out);
            }
            // §8.2.2, Events 21/22/28 (RFC 4271 §6): send the error's NOTIFICATION, close,
            // counter + 1, Idle.
            Event::DecodeError(e) => {
                let notification = e.notification();
                self.go_idle(
                    DownReason::MalformedMessage(e),
                    Some(notification),
                    true,
                    out,
                );
            }
            // §8.2.2 OpenSent/OpenConfirm/Established, Event 23: send Cease (6/7, RFC 4486),
            // close, counter + 1, Idle.
            Event::OpenCollisionDump => self.go_idle(
                DownReason::CollisionResolution,
                Some(collision_notification()),
                true,
                out,
            ),
            // §8.2.2 Established: "Each time the local system sends a KEEPALIVE or UPDATE
            // message, it restarts its KeepaliveTimer".
            Event::UpdateSent => {
                if self.state == State::Established {
                    self.restart_keepalive_timer(out);
                }
            }
        }
    }

    /// §8.2.2 OpenSent, Events 19 and 22: the peer's OPEN.
    fn open_received(&mut self, open: Open, out: &mut Vec<Output>) {
        // §6.2, RFC 6286 §2.2: the checks that need configuration.
        if let Err(e) = check_open(
            &open,
            &self.local_open,
            self.config.peer_as,
            self.config.min_hold_time,
        ) {
            let notification = e.notification();
            self.go_idle(DownReason::OpenRejected(e), Some(notification), true, out);
            return;
        }
        let negotiated = negotiate(&self.local_open, &open, self.config.keepalive);
        // §8.2.2 OpenSent, Event 19: send KEEPALIVE, set KeepaliveTimer and HoldTimer to the
        // negotiated values; with a hold time of 0 neither runs (§4.2).
        out.push(Output::Send(Message::Keepalive));
        if negotiated.hold_time == 0 {
            self.stop_timer(Timer::Hold, out);
        } else {
            self.start_timer(
                Timer::Keepalive,
                Duration::from_secs(negotiated.keepalive_interval.into()),
                out,
            );
            self.start_timer(
                Timer::Hold,
                Duration::from_secs(negotiated.hold_time.into()),
                out,
            );
        }
        self.negotiated = Some(Box::new(negotiated));
        self.state = State::OpenConfirm;
    }

    /// RFC 2918 §4, RFC 7313 §5: a ROUTE-REFRESH is honoured when we announced route refresh,
    /// for a negotiated family, with a known subtype (BoRR/EoRR only with enhanced route
    /// refresh announced).
    fn refresh_accepted(&self, refresh: &RouteRefresh) -> bool {
        let Some(negotiated) = &self.negotiated else {
            return false;
        };
        let we_announced =
            |wanted: fn(&Capability) -> bool| negotiated.local_open.capabilities().any(wanted);
        let enhanced = we_announced(|c| matches!(c, Capability::EnhancedRouteRefresh));
        let plain = we_announced(|c| matches!(c, Capability::RouteRefresh));
        let subtype_ok = match refresh.subtype {
            SUBTYPE_REQUEST => plain || enhanced,
            SUBTYPE_BORR | SUBTYPE_EORR => enhanced,
            _ => false,
        };
        subtype_ok && negotiated.families.contains(&refresh.family)
    }

    fn send_keepalive(&mut self, out: &mut Vec<Output>) {
        out.push(Output::Send(Message::Keepalive));
        self.restart_keepalive_timer(out);
    }

    fn restart_keepalive_timer(&mut self, out: &mut Vec<Output>) {
        if let Some(seconds) = self.negotiated_seconds(|n| n.keepalive_interval) {
            self.start_timer(Timer::Keepalive, seconds, out);
        }
    }

    /// §4.4, §8.2.2: restart the hold timer unless the negotiated hold time is 0.
    fn restart_hold_timer(&mut self, out: &mut Vec<Output>) {
        if let Some(seconds) = self.negotiated_seconds(|n| n.hold_time) {
            self.start_timer(Timer::Hold, seconds, out);
        }
    }

    fn negotiated_seconds(&self, field: fn(&Negotiated) -> u16) -> Option<Duration> {
        let seconds = self.negotiated.as_deref().map(field).unwrap_or(0);
        (seconds > 0).then(|| Duration::from_secs(seconds.into()))
    }

    /// Ends the connection: send `notification` if given, close, stop every timer, and go to
    /// Idle. A failure counts for the back-off and starts the IdleHold timer (§8.1.1
    /// DampPeerOscillations); a manual stop sets the counter to 0 and stays down.
    fn go_idle(
        &mut self,
        reason: DownReason,
        notification: Option<Notification>,
        failure: bool,
        out: &mut Vec<Output>,
    ) {
        if let Some(n) = notification {
            out.push(Output::Send(Message::Notification(n)));
        }
        if self.state != State::Active {
            // Connect: abandon the attempt; OpenSent and later: drop the connection.
            out.push(Output::CloseConnection);
        }
        for timer in Timer::ALL {
            self.stop_timer(timer, out);
        }
        self.negotiated = None;
        self.state = State::Idle;
        self.local_open = self.config.local_open();
        if failure {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            let wait = self.idle_hold_time();
            self.start_timer(Timer::IdleHold, wait, out);
        } else {
            self.consecutive_failures = 0;
        }
        out.push(Output::Down(reason));
    }

    /// The back-off after `consecutive_failures` failures: `idle_hold` doubled per failure
    /// after the first, at most `max_idle_hold`.
    fn idle_hold_time(&self) -> Duration {
        let doublings = self.consecutive_failures.saturating_sub(1);
        let factor = 1u32.checked_shl(doublings).unwrap_or(u32::MAX);
        self.config
            .idle_hold
            .saturating_mul(factor)
            .min(self.config.max_idle_hold)
    }

    fn start_timer(&mut self, timer: Timer, duration: Duration, out: &mut Vec<Output>) {
        self.running_timers |= timer.bit();
        out.push(Output::StartTimer(timer, duration));
    }

    fn stop_timer(&mut self, timer: Timer, out: &mut Vec<Output>) {
        if self.timer_running(timer) {
            self.running_timers &= !timer.bit();
            out.push(Output::StopTimer(timer));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use bgp_proto::{ErrorKind, SessionContext, MARKER};

    const LOCAL_ID: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
    const VMX_ID: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);

    /// Us (AS 64513, the route server at .2) peering with the vMX (AS 64512, .1).
    fn config() -> FsmConfig {
        FsmConfig::new(64513, LOCAL_ID, 64512)
    }

    fn vmx_open(hold_time: u16) -> Open {
        Open::new(
            64512,
            hold_time,
            VMX_ID,
            vec![
                Capability::Multiprotocol(Family::IPV4_UNICAST),
                Capability::RouteRefresh,
                Capability::FourOctetAs(64512),
            ],
        )
    }

    fn message(m: Message) -> Event {
        Event::Message(m)
    }

    fn feed(fsm: &mut Fsm, events: Vec<Event>) -> Vec<Output> {
        events.into_iter().flat_map(|e| fsm.handle(e)).collect()
    }

    fn established_with(config: FsmConfig, peer: Open) -> Fsm {
        let mut fsm = Fsm::new(config);
        feed(
            &mut fsm,
            vec![
                Event::ManualStart,
                Event::TcpConnected { outbound: true },
                message(Message::Open(peer)),
                message(Message::Keepalive),
            ],
        );
        assert_eq!(fsm.state(), State::Established);
        fsm
    }

    fn seconds(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    // ---- The state × event table -------------------------------------------------------

    const SETUPS: [&str; 8] = [
        "Idle",
        "Idle+backoff",
        "Connect",
        "Active",
        "Active+passive",
        "OpenSent",
        "OpenConfirm",
        "Established",
    ];

    const EVENTS: [&str; 22] = [
        "ManualStart",
        "ManualStop",
        "AutomaticStart",
        "PassiveStart",
        "AutomaticStop",
        "TcpConnected/out",
        "TcpConnected/in",
        "TcpFailed",
        "Expired:ConnectRetry",
        "Expired:Hold",
        "Expired:Keepalive",
        "Expired:IdleHold",
        "Expired:BackoffReset",
        "OPEN",
        "OPEN/bad-as",
        "KEEPALIVE",
        "UPDATE",
        "ROUTE-REFRESH",
        "NOTIFICATION",
        "DecodeError",
        "OpenCollisionDump",
        "UpdateSent",
    ];

    /// An FSM in the named situation, reached through real transitions.
    fn setup(name: &str) -> Fsm {
        let mut fsm = match name {
            "Active+passive" => Fsm::new(FsmConfig {
                passive: true,
                ..config()
            }),
            _ => Fsm::new(config()),
        };
        let events = match name {
            "Idle" => vec![],
            "Idle+backoff" => vec![Event::ManualStart, Event::TcpFailed],
            "Connect" => vec![Event::ManualStart],
            "Active" => vec![
                Event::ManualStart,
                Event::TcpConnected { outbound: true },
                Event::TcpFailed,
            ],
            "Active+passive" => vec![Event::ManualStart],
            "OpenSent" => vec![Event::ManualStart, Event::TcpConnected { outbound: true }],
            "OpenConfirm" => vec![
                Event::ManualStart,
                Event::TcpConnected { outbound: true },
                message(Message::Open(vmx_open(90))),
            ],
            "Established" => vec![
                Event::ManualStart,
                Event::TcpConnected { outbound: true },
                message(Message::Open(vmx_open(90))),
                message(Message::Keepalive),
            ],
            other => panic!("unknown setup {other}"),
        };
        feed(&mut fsm, events);
        fsm
    }

    fn event(name: &str) -> Event {
        match name {
            "ManualStart" => Event::ManualStart,
            "ManualStop" => Event::ManualStop {
                notification: Some(Notification::cease_with_message(2, "maintenance")),
            },
            "AutomaticStart" => Event::AutomaticStart,
            "PassiveStart" => Event::PassiveStart,
            "AutomaticStop" => Event::AutomaticStop {
                notification: Notification::new(6, 1),
            },
            "TcpConnected/out" => Event::TcpConnected { outbound: true },
            "TcpConnected/in" => Event::TcpConnected { outbound: false },
            "TcpFailed" => Event::TcpFailed,
            "Expired:ConnectRetry" => Event::TimerExpired(Timer::ConnectRetry),
            "Expired:Hold" => Event::TimerExpired(Timer::Hold),
            "Expired:Keepalive" => Event::TimerExpired(Timer::Keepalive),
            "Expired:IdleHold" => Event::TimerExpired(Timer::IdleHold),
            "Expired:BackoffReset" => Event::TimerExpired(Timer::BackoffReset),
            "OPEN" => message(Message::Open(vmx_open(90))),
            "OPEN/bad-as" => message(Message::Open(Open::new(64999, 90, VMX_ID, vec![]))),
            "KEEPALIVE" => message(Message::Keepalive),
            "UPDATE" => message(Message::Update(Update::default())),
            "ROUTE-REFRESH" => message(Message::RouteRefresh(RouteRefresh::request(
                Family::IPV4_UNICAST,
            ))),
            "NOTIFICATION" => message(Message::Notification(Notification::new(6, 2))),
            "DecodeError" => Event::DecodeError(DecodeError::new(
                ErrorKind::BadMessageLength { length: 5000 },
                16,
            )),
            "OpenCollisionDump" => Event::OpenCollisionDump,
            "UpdateSent" => Event::UpdateSent,
            other => panic!("unknown event {other}"),
        }
    }

    fn timer_short(timer: Timer) -> &'static str {
        match timer {
            Timer::ConnectRetry => "retry",
            Timer::Hold => "hold",
            Timer::Keepalive => "keepalive",
            Timer::IdleHold => "idle",
            Timer::BackoffReset => "reset",
        }
    }

    /// Outputs in a short form: `connect`, `open`, `keepalive`, `notify:C/S`, `close`,
    /// `start:TIMER=SECONDS`, `stop:TIMER`, `established`, `down:KIND`, `update`, `refresh`.
    fn summary(outputs: &[Output]) -> String {
        let words: Vec<String> = outputs
            .iter()
            .map(|o| match o {
                Output::Connect => "connect".to_string(),
                Output::Send(Message::Open(_)) => "open".to_string(),
                Output::Send(Message::Keepalive) => "keepalive".to_string(),
                Output::Send(Message::Notification(n)) => {
                    format!("notify:{}/{}", n.code, n.subcode)
                }
                Output::Send(other) => format!("send:{}", other.message_type().name()),
                Output::CloseConnection => "close".to_string(),
                Output::StartTimer(t, d) => format!("start:{}={}", timer_short(*t), d.as_secs()),
                Output::StopTimer(t) => format!("stop:{}", timer_short(*t)),
                Output::Established(_) => "established".to_string(),
                Output::Down(reason) => format!(
                    "down:{}",
                    match reason {
                        DownReason::ManualStop => "manual",
                        DownReason::NotificationSent(_) => "sent",
                        DownReason::NotificationReceived(_) => "received",
                        DownReason::HoldTimerExpired => "hold-expired",
                        DownReason::ConnectFailed => "connect-failed",
                        DownReason::ConnectionLost => "lost",
                        DownReason::MalformedMessage(_) => "malformed",
                        DownReason::OpenRejected(_) => "open-rejected",
                        DownReason::UnexpectedMessage { .. } => "unexpected",
                        DownReason::CollisionResolution => "collision",
                    }
                ),
                Output::Update(_) | Output::PreparedUpdate(_) => "update".to_string(),
                Output::RouteRefresh(_) => "refresh".to_string(),
            })
            .collect();
        words.join(" ")
    }

    /// Every state × every event: (situation, event, state after, outputs).
    /// Hold time 90 (keepalive 30) negotiated, ConnectRetry 30 s, IdleHold 5 s, back-off
    /// reset 300 s.
    #[rustfmt::skip]
    const TABLE: &[(&str, &str, &str, &str)] = &[
        // Idle, nothing running: only a start leaves it; connections are refused.
        ("Idle", "ManualStart", "Connect", "start:retry=30 connect"),
        ("Idle", "ManualStop", "Idle", ""),
        ("Idle", "AutomaticStart", "Connect", "start:retry=30 connect"),
        ("Idle", "PassiveStart", "Active", "start:retry=30"),
        ("Idle", "AutomaticStop", "Idle", ""),
        ("Idle", "TcpConnected/out", "Idle", "close"),
        ("Idle", "TcpConnected/in", "Idle", "close"),
        ("Idle", "TcpFailed", "Idle", ""),
        ("Idle", "Expired:ConnectRetry", "Idle", ""),
        ("Idle", "Expired:Hold", "Idle", ""),
        ("Idle", "Expired:Keepalive", "Idle", ""),
        ("Idle", "Expired:IdleHold", "Idle", ""),
        ("Idle", "Expired:BackoffReset", "Idle", ""),
        ("Idle", "OPEN", "Idle", ""),
        ("Idle", "OPEN/bad-as", "Idle", ""),
        ("Idle", "KEEPALIVE", "Idle", ""),
        ("Idle", "UPDATE", "Idle", ""),
        ("Idle", "ROUTE-REFRESH", "Idle", ""),
        ("Idle", "NOTIFICATION", "Idle", ""),
        ("Idle", "DecodeError", "Idle", ""),
        ("Idle", "OpenCollisionDump", "Idle", ""),
        ("Idle", "UpdateSent", "Idle", ""),
        // Idle after a failure, IdleHold running: damped.
        ("Idle+backoff", "ManualStart", "Connect", "stop:idle start:retry=30 connect"),
        ("Idle+backoff", "ManualStop", "Idle", "stop:idle"),
        ("Idle+backoff", "AutomaticStart", "Idle", ""),
        ("Idle+backoff", "PassiveStart", "Active", "stop:idle start:retry=30"),
        ("Idle+backoff", "AutomaticStop", "Idle", ""),
        ("Idle+backoff", "TcpConnected/out", "Idle", "close"),
        ("Idle+backoff", "TcpConnected/in", "Idle", "close"),
        ("Idle+backoff", "TcpFailed", "Idle", ""),
        ("Idle+backoff", "Expired:ConnectRetry", "Idle", ""),
        ("Idle+backoff", "Expired:Hold", "Idle", ""),
        ("Idle+backoff", "Expired:Keepalive", "Idle", ""),
        ("Idle+backoff", "Expired:IdleHold", "Connect", "start:retry=30 connect"),
        ("Idle+backoff", "Expired:BackoffReset", "Idle", ""),
        ("Idle+backoff", "OPEN", "Idle", ""),
        ("Idle+backoff", "OPEN/bad-as", "Idle", ""),
        ("Idle+backoff", "KEEPALIVE", "Idle", ""),
        ("Idle+backoff", "UPDATE", "Idle", ""),
        ("Idle+backoff", "ROUTE-REFRESH", "Idle", ""),
        ("Idle+backoff", "NOTIFICATION", "Idle", ""),
        ("Idle+backoff", "DecodeError", "Idle", ""),
        ("Idle+backoff", "OpenCollisionDump", "Idle", ""),
        ("Idle+backoff", "UpdateSent", "Idle", ""),
        // Connect: our connection attempt runs.
        ("Connect", "ManualStart", "Connect", ""),
        ("Connect", "ManualStop", "Idle", "close stop:retry down:manual"),
        ("Connect", "AutomaticStart", "Connect", ""),
        ("Connect", "PassiveStart", "Connect", ""),
        ("Connect", "AutomaticStop", "Idle", "close stop:retry start:idle=5 down:sent"),
        ("Connect", "TcpConnected/out", "OpenSent", "stop:retry open start:hold=240"),
        ("Connect", "TcpConnected/in", "OpenSent", "stop:retry open start:hold=240"),
        ("Connect", "TcpFailed", "Idle", "close stop:retry start:idle=5 down:connect-failed"),
        ("Connect", "Expired:ConnectRetry", "Connect", "close start:retry=30 connect"),
        ("Connect", "Expired:Hold", "Connect", ""),
        ("Connect", "Expired:Keepalive", "Connect", ""),
        ("Connect", "Expired:IdleHold", "Connect", ""),
        ("Connect", "Expired:BackoffReset", "Connect", ""),
        ("Connect", "OPEN", "Idle", "close stop:retry start:idle=5 down:unexpected"),
        ("Connect", "OPEN/bad-as", "Idle", "close stop:retry start:idle=5 down:unexpected"),
        ("Connect", "KEEPALIVE", "Idle", "close stop:retry start:idle=5 down:unexpected"),
        ("Connect", "UPDATE", "Idle", "close stop:retry start:idle=5 down:unexpected"),
        ("Connect", "ROUTE-REFRESH", "Idle", "close stop:retry start:idle=5 down:unexpected"),
        ("Connect", "NOTIFICATION", "Idle", "close stop:retry start:idle=5 down:received"),
        ("Connect", "DecodeError", "Idle", "close stop:retry start:idle=5 down:malformed"),
        ("Connect", "OpenCollisionDump", "Idle", "close stop:retry start:idle=5 down:collision"),
        ("Connect", "UpdateSent", "Connect", ""),
        // Active (not passive): waiting, ConnectRetry running.
        ("Active", "ManualStart", "Active", ""),
        ("Active", "ManualStop", "Idle", "stop:retry down:manual"),
        ("Active", "AutomaticStart", "Active", ""),
        ("Active", "PassiveStart", "Active", ""),
        ("Active", "AutomaticStop", "Idle", "stop:retry start:idle=5 down:sent"),
        ("Active", "TcpConnected/out", "OpenSent", "stop:retry open start:hold=240"),
        ("Active", "TcpConnected/in", "OpenSent", "stop:retry open start:hold=240"),
        ("Active", "TcpFailed", "Idle", "stop:retry start:idle=5 down:connect-failed"),
        ("Active", "Expired:ConnectRetry", "Connect", "start:retry=30 connect"),
        ("Active", "Expired:Hold", "Active", ""),
        ("Active", "Expired:Keepalive", "Active", ""),
        ("Active", "Expired:IdleHold", "Active", ""),
        ("Active", "Expired:BackoffReset", "Active", ""),
        ("Active", "OPEN", "Idle", "stop:retry start:idle=5 down:unexpected"),
        ("Active", "OPEN/bad-as", "Idle", "stop:retry start:idle=5 down:unexpected"),
        ("Active", "KEEPALIVE", "Idle", "stop:retry start:idle=5 down:unexpected"),
        ("Active", "UPDATE", "Idle", "stop:retry start:idle=5 down:unexpected"),
        ("Active", "ROUTE-REFRESH", "Idle", "stop:retry start:idle=5 down:unexpected"),
        ("Active", "NOTIFICATION", "Idle", "stop:retry start:idle=5 down:received"),
        ("Active", "DecodeError", "Idle", "stop:retry start:idle=5 down:malformed"),
        ("Active", "OpenCollisionDump", "Idle", "stop:retry start:idle=5 down:collision"),
        ("Active", "UpdateSent", "Active", ""),
        // Active, passive: no timer runs, never connects.
        ("Active+passive", "ManualStart", "Active", ""),
        ("Active+passive", "ManualStop", "Idle", "down:manual"),
        ("Active+passive", "AutomaticStart", "Active", ""),
        ("Active+passive", "PassiveStart", "Active", ""),
        ("Active+passive", "AutomaticStop", "Idle", "start:idle=5 down:sent"),
        ("Active+passive", "TcpConnected/out", "OpenSent", "open start:hold=240"),
        ("Active+passive", "TcpConnected/in", "OpenSent", "open start:hold=240"),
        ("Active+passive", "TcpFailed", "Idle", "start:idle=5 down:connect-failed"),
        ("Active+passive", "Expired:ConnectRetry", "Active", ""),
        ("Active+passive", "Expired:Hold", "Active", ""),
        ("Active+passive", "Expired:Keepalive", "Active", ""),
        ("Active+passive", "Expired:IdleHold", "Active", ""),
        ("Active+passive", "Expired:BackoffReset", "Active", ""),
        ("Active+passive", "OPEN", "Idle", "start:idle=5 down:unexpected"),
        ("Active+passive", "OPEN/bad-as", "Idle", "start:idle=5 down:unexpected"),
        ("Active+passive", "KEEPALIVE", "Idle", "start:idle=5 down:unexpected"),
        ("Active+passive", "UPDATE", "Idle", "start:idle=5 down:unexpected"),
        ("Active+passive", "ROUTE-REFRESH", "Idle", "start:idle=5 down:unexpected"),
        ("Active+passive", "NOTIFICATION", "Idle", "start:idle=5 down:received"),
        ("Active+passive", "DecodeError", "Idle", "start:idle=5 down:malformed"),
        ("Active+passive", "OpenCollisionDump", "Idle", "start:idle=5 down:collision"),
        ("Active+passive", "UpdateSent", "Active", ""),
        // OpenSent: our OPEN is out, the 4-minute hold timer runs.
        ("OpenSent", "ManualStart", "OpenSent", ""),
        ("OpenSent", "ManualStop", "Idle", "notify:6/2 close stop:hold down:manual"),
        ("OpenSent", "AutomaticStart", "OpenSent", ""),
        ("OpenSent", "PassiveStart", "OpenSent", ""),
        ("OpenSent", "AutomaticStop", "Idle", "notify:6/1 close stop:hold start:idle=5 down:sent"),
        ("OpenSent", "TcpConnected/out", "OpenSent", ""),
        ("OpenSent", "TcpConnected/in", "OpenSent", ""),
        ("OpenSent", "TcpFailed", "Active", "close stop:hold start:retry=30 down:lost"),
        ("OpenSent", "Expired:ConnectRetry", "OpenSent", ""),
        ("OpenSent", "Expired:Hold", "Idle", "notify:4/0 close start:idle=5 down:hold-expired"),
        ("OpenSent", "Expired:Keepalive", "OpenSent", ""),
        ("OpenSent", "Expired:IdleHold", "OpenSent", ""),
        ("OpenSent", "Expired:BackoffReset", "OpenSent", ""),
        ("OpenSent", "OPEN", "OpenConfirm", "keepalive start:keepalive=30 start:hold=90"),
        ("OpenSent", "OPEN/bad-as", "Idle", "notify:2/2 close stop:hold start:idle=5 down:open-rejected"),
        ("OpenSent", "KEEPALIVE", "Idle", "notify:5/1 close stop:hold start:idle=5 down:unexpected"),
        ("OpenSent", "UPDATE", "Idle", "notify:5/1 close stop:hold start:idle=5 down:unexpected"),
        ("OpenSent", "ROUTE-REFRESH", "Idle", "notify:5/1 close stop:hold start:idle=5 down:unexpected"),
        ("OpenSent", "NOTIFICATION", "Idle", "close stop:hold start:idle=5 down:received"),
        ("OpenSent", "DecodeError", "Idle", "notify:1/2 close stop:hold start:idle=5 down:malformed"),
        ("OpenSent", "OpenCollisionDump", "Idle", "notify:6/7 close stop:hold start:idle=5 down:collision"),
        ("OpenSent", "UpdateSent", "OpenSent", ""),
        // OpenConfirm: OPENs exchanged, our KEEPALIVE out, hold 90 and keepalive 30 run.
        ("OpenConfirm", "ManualStart", "OpenConfirm", ""),
        ("OpenConfirm", "ManualStop", "Idle", "notify:6/2 close stop:hold stop:keepalive down:manual"),
        ("OpenConfirm", "AutomaticStart", "OpenConfirm", ""),
        ("OpenConfirm", "PassiveStart", "OpenConfirm", ""),
        ("OpenConfirm", "AutomaticStop", "Idle", "notify:6/1 close stop:hold stop:keepalive start:idle=5 down:sent"),
        ("OpenConfirm", "TcpConnected/out", "OpenConfirm", ""),
        ("OpenConfirm", "TcpConnected/in", "OpenConfirm", ""),
        ("OpenConfirm", "TcpFailed", "Idle", "close stop:hold stop:keepalive start:idle=5 down:lost"),
        ("OpenConfirm", "Expired:ConnectRetry", "OpenConfirm", ""),
        ("OpenConfirm", "Expired:Hold", "Idle", "notify:4/0 close stop:keepalive start:idle=5 down:hold-expired"),
        ("OpenConfirm", "Expired:Keepalive", "OpenConfirm", "keepalive start:keepalive=30"),
        ("OpenConfirm", "Expired:IdleHold", "OpenConfirm", ""),
        ("OpenConfirm", "Expired:BackoffReset", "OpenConfirm", ""),
        ("OpenConfirm", "OPEN", "Idle", "notify:5/2 close stop:hold stop:keepalive start:idle=5 down:unexpected"),
        ("OpenConfirm", "OPEN/bad-as", "Idle", "notify:5/2 close stop:hold stop:keepalive start:idle=5 down:unexpected"),
        ("OpenConfirm", "KEEPALIVE", "Established", "start:hold=90 start:reset=300 established"),
        ("OpenConfirm", "UPDATE", "Idle", "notify:5/2 close stop:hold stop:keepalive start:idle=5 down:unexpected"),
        ("OpenConfirm", "ROUTE-REFRESH", "Idle", "notify:5/2 close stop:hold stop:keepalive start:idle=5 down:unexpected"),
        ("OpenConfirm", "NOTIFICATION", "Idle", "close stop:hold stop:keepalive start:idle=5 down:received"),
        ("OpenConfirm", "DecodeError", "Idle", "notify:1/2 close stop:hold stop:keepalive start:idle=5 down:malformed"),
        ("OpenConfirm", "OpenCollisionDump", "Idle", "notify:6/7 close stop:hold stop:keepalive start:idle=5 down:collision"),
        ("OpenConfirm", "UpdateSent", "OpenConfirm", ""),
        // Established: hold, keepalive and back-off reset timers run.
        ("Established", "ManualStart", "Established", ""),
        ("Established", "ManualStop", "Idle", "notify:6/2 close stop:hold stop:keepalive stop:reset down:manual"),
        ("Established", "AutomaticStart", "Established", ""),
        ("Established", "PassiveStart", "Established", ""),
        ("Established", "AutomaticStop", "Idle", "notify:6/1 close stop:hold stop:keepalive stop:reset start:idle=5 down:sent"),
        ("Established", "TcpConnected/out", "Established", ""),
        ("Established", "TcpConnected/in", "Established", ""),
        ("Established", "TcpFailed", "Idle", "close stop:hold stop:keepalive stop:reset start:idle=5 down:lost"),
        ("Established", "Expired:ConnectRetry", "Established", ""),
        ("Established", "Expired:Hold", "Idle", "notify:4/0 close stop:keepalive stop:reset start:idle=5 down:hold-expired"),
        ("Established", "Expired:Keepalive", "Established", "keepalive start:keepalive=30"),
        ("Established", "Expired:IdleHold", "Established", ""),
        ("Established", "Expired:BackoffReset", "Established", ""),
        ("Established", "OPEN", "Idle", "notify:5/3 close stop:hold stop:keepalive stop:reset start:idle=5 down:unexpected"),
        ("Established", "OPEN/bad-as", "Idle", "notify:5/3 close stop:hold stop:keepalive stop:reset start:idle=5 down:unexpected"),
        ("Established", "KEEPALIVE", "Established", "start:hold=90"),
        ("Established", "UPDATE", "Established", "start:hold=90 update"),
        ("Established", "ROUTE-REFRESH", "Established", "refresh"),
        ("Established", "NOTIFICATION", "Idle", "close stop:hold stop:keepalive stop:reset start:idle=5 down:received"),
        ("Established", "DecodeError", "Idle", "notify:1/2 close stop:hold stop:keepalive stop:reset start:idle=5 down:malformed"),
        ("Established", "OpenCollisionDump", "Idle", "notify:6/7 close stop:hold stop:keepalive stop:reset start:idle=5 down:collision"),
        ("Established", "UpdateSent", "Established", "start:keepalive=30"),
    ];

    #[test]
    fn table_covers_every_state_and_event_once() {
        for s in SETUPS {
            for e in EVENTS {
                let n = TABLE.iter().filter(|r| r.0 == s && r.1 == e).count();
                assert_eq!(n, 1, "{s} × {e} appears {n} times in the table");
            }
        }
        assert_eq!(TABLE.len(), SETUPS.len() * EVENTS.len());
        // Every RFC state is among the situations.
        let states: Vec<State> = SETUPS.iter().map(|s| setup(s).state()).collect();
        for state in [
            State::Idle,
            State::Connect,
            State::Active,
            State::OpenSent,
            State::OpenConfirm,
            State::Established,
        ] {
            assert!(states.contains(&state), "{state} has no situation");
        }
    }

    #[test]
    fn every_state_and_event_behaves_as_the_table_says() {
        let mut failures = Vec::new();
        for (situation, event_name, state_after, expected) in TABLE {
            let mut fsm = setup(situation);
            let outputs = fsm.handle(event(event_name));
            let got = summary(&outputs);
            if fsm.state().name() != *state_after || got != *expected {
                failures.push(format!(
                    "{situation} × {event_name}: got {} \"{got}\", want {state_after} \"{expected}\"",
                    fsm.state()
                ));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    // ---- Scenarios -------------------------------------------------------------------

    #[test]
    fn active_open_to_established_and_back() {
        let mut fsm = Fsm::new(config());
        assert_eq!(fsm.state(), State::Idle);
        assert_eq!(
            fsm.handle(Event::ManualStart),
            vec![
                Output::StartTimer(Timer::ConnectRetry, seconds(30)),
                Output::Connect
            ]
        );
        let local_open = fsm.local_open().clone();
        assert_eq!(local_open.asn(), 64513);
        assert_eq!(local_open.hold_time, 90);
        assert_eq!(
            fsm.handle(Event::TcpConnected { outbound: true }),
            vec![
                Output::StopTimer(Timer::ConnectRetry),
                Output::Send(Message::Open(local_open)),
                Output::StartTimer(Timer::Hold, OPEN_HOLD_TIME),
            ]
        );
        assert!(fsm.negotiated().is_none());
        assert_eq!(
            fsm.handle(message(Message::Open(vmx_open(90)))),
            vec![
                Output::Send(Message::Keepalive),
                Output::StartTimer(Timer::Keepalive, seconds(30)),
                Output::StartTimer(Timer::Hold, seconds(90)),
            ]
        );
        assert_eq!(fsm.state(), State::OpenConfirm);
        assert_eq!(fsm.negotiated().unwrap().peer_id, VMX_ID);
        let outputs = fsm.handle(message(Message::Keepalive));
        assert_eq!(fsm.state(), State::Established);
        let [Output::StartTimer(Timer::Hold, hold), Output::StartTimer(Timer::BackoffReset, reset), Output::Established(negotiated)] =
            outputs.as_slice()
        else {
            panic!("unexpected outputs {outputs:?}");
        };
        assert_eq!((*hold, *reset), (seconds(90), seconds(300)));
        assert_eq!(negotiated.peer_as, 64512);
        assert_eq!(negotiated.families, vec![Family::IPV4_UNICAST]);
        assert!(negotiated.route_refresh && negotiated.four_octet_as);
        assert_eq!(Some(negotiated.as_ref()), fsm.negotiated());
        // Traffic: the peer's UPDATE restarts the hold timer and goes to the RIB.
        let update = Update::end_of_rib_marker(Family::IPV4_UNICAST);
        assert_eq!(
            fsm.handle(message(Message::Update(update.clone()))),
            vec![
                Output::StartTimer(Timer::Hold, seconds(90)),
                Output::Update(update)
            ]
        );
        // Back down by the operator, with an RFC 9003 shutdown communication.
        let cease = Notification::cease_with_message(2, "maintenance window");
        assert_eq!(
            fsm.handle(Event::ManualStop {
                notification: Some(cease.clone())
            }),
            vec![
                Output::Send(Message::Notification(cease)),
                Output::CloseConnection,
                Output::StopTimer(Timer::Hold),
                Output::StopTimer(Timer::Keepalive),
                Output::StopTimer(Timer::BackoffReset),
                Output::Down(DownReason::ManualStop),
            ]
        );
        assert_eq!(fsm.state(), State::Idle);
        assert!(fsm.negotiated().is_none());
        assert!(Timer::ALL.iter().all(|t| !fsm.timer_running(*t)));
        // No automatic restart after a manual stop; a start brings it back.
        assert_eq!(
            fsm.handle(Event::AutomaticStart).last(),
            Some(&Output::Connect)
        );
    }

    #[test]
    fn manual_stop_without_notification_sends_a_plain_cease() {
        let mut fsm = setup("OpenSent");
        let outputs = fsm.handle(Event::ManualStop { notification: None });
        assert_eq!(
            outputs.first(),
            Some(&Output::Send(Message::Notification(Notification::new(
                6, 2
            ))))
        );
    }

    #[test]
    fn passive_open() {
        let mut fsm = Fsm::new(FsmConfig {
            passive: true,
            ..config()
        });
        assert_eq!(fsm.handle(Event::ManualStart), vec![]);
        assert_eq!(fsm.state(), State::Active);
        // Nothing happens while waiting: no timer runs, nothing to connect.
        assert!(Timer::ALL.iter().all(|t| !fsm.timer_running(*t)));
        let outputs = fsm.handle(Event::TcpConnected { outbound: false });
        assert_eq!(summary(&outputs), "open start:hold=240");
        // The peer drops the connection before its OPEN: back to Active, still no timer.
        assert_eq!(
            summary(&fsm.handle(Event::TcpFailed)),
            "close stop:hold down:lost"
        );
        assert_eq!(fsm.state(), State::Active);
        assert_eq!(fsm.consecutive_failures(), 0);
        feed(
            &mut fsm,
            vec![
                Event::TcpConnected { outbound: false },
                message(Message::Open(vmx_open(90))),
            ],
        );
        assert_eq!(fsm.state(), State::OpenConfirm);
        let outputs = fsm.handle(message(Message::Keepalive));
        assert!(matches!(outputs.last(), Some(Output::Established(_))));
        // A failure: back-off in Idle, then Active again (never Connect).
        feed(&mut fsm, vec![Event::TcpFailed]);
        assert_eq!(fsm.state(), State::Idle);
        assert_eq!(fsm.handle(Event::TimerExpired(Timer::IdleHold)), vec![]);
        assert_eq!(fsm.state(), State::Active);
    }

    #[test]
    fn inbound_connection_while_connecting() {
        let mut fsm = setup("Connect");
        let outputs = fsm.handle(Event::TcpConnected { outbound: false });
        assert_eq!(summary(&outputs), "stop:retry open start:hold=240");
        assert_eq!(fsm.state(), State::OpenSent);
    }

    #[test]
    fn hold_timer_expiry_sends_4_0_and_restarts_after_the_back_off() {
        let mut fsm = setup("Established");
        let outputs = fsm.handle(Event::TimerExpired(Timer::Hold));
        assert_eq!(
            outputs,
            vec![
                Output::Send(Message::Notification(Notification::new(4, 0))),
                Output::CloseConnection,
                Output::StopTimer(Timer::Keepalive),
                Output::StopTimer(Timer::BackoffReset),
                Output::StartTimer(Timer::IdleHold, seconds(5)),
                Output::Down(DownReason::HoldTimerExpired),
            ]
        );
        assert_eq!(
            fsm.handle(Event::TimerExpired(Timer::IdleHold)),
            vec![
                Output::StartTimer(Timer::ConnectRetry, seconds(30)),
                Output::Connect
            ]
        );
        assert_eq!(fsm.state(), State::Connect);
    }

    #[test]
    fn peer_silent_after_connect_hits_the_four_minute_hold_timer() {
        let mut fsm = setup("OpenSent");
        assert!(fsm.timer_running(Timer::Hold));
        let outputs = fsm.handle(Event::TimerExpired(Timer::Hold));
        assert_eq!(
            summary(&outputs),
            "notify:4/0 close start:idle=5 down:hold-expired"
        );
    }

    #[test]
    fn bad_opens_produce_the_exact_notification() {
        let with = |asn: u32, hold: u16, id: Ipv4Addr| {
            Open::new(asn, hold, id, vec![Capability::FourOctetAs(asn)])
        };
        let mut version_3 = vmx_open(90);
        version_3.version = 3;
        let cases: Vec<(FsmConfig, Open, Notification, OpenError)> = vec![
            (
                config(),
                with(64999, 90, VMX_ID),
                Notification::new(2, 2),
                OpenError::BadPeerAs {
                    received: 64999,
                    expected: 64512,
                },
            ),
            (
                config(),
                with(64512, 90, Ipv4Addr::UNSPECIFIED),
                Notification::new(2, 3),
                OpenError::BadBgpIdentifier {
                    identifier: Ipv4Addr::UNSPECIFIED,
                },
            ),
            // iBGP with a Calico node that reuses our identifier.
            (
                FsmConfig::new(64513, LOCAL_ID, 64513),
                with(64513, 240, LOCAL_ID),
                Notification::new(2, 3),
                OpenError::BadBgpIdentifier {
                    identifier: LOCAL_ID,
                },
            ),
            (
                config(),
                with(64512, 2, VMX_ID),
                Notification::new(2, 6),
                OpenError::UnacceptableHoldTime {
                    hold_time: 2,
                    minimum: 3,
                },
            ),
            (
                FsmConfig {
                    min_hold_time: 30,
                    ..config()
                },
                with(64512, 9, VMX_ID),
                Notification::new(2, 6),
                OpenError::UnacceptableHoldTime {
                    hold_time: 9,
                    minimum: 30,
                },
            ),
            (
                config(),
                version_3,
                Notification {
                    code: 2,
                    subcode: 1,
                    data: bytes::Bytes::from_static(&[0, 4]),
                },
                OpenError::UnsupportedVersion { version: 3 },
            ),
        ];
        for (config, open, notification, error) in cases {
            let mut fsm = Fsm::new(config);
            feed(
                &mut fsm,
                vec![Event::ManualStart, Event::TcpConnected { outbound: true }],
            );
            let outputs = fsm.handle(message(Message::Open(open)));
            assert_eq!(
                outputs,
                vec![
                    Output::Send(Message::Notification(notification)),
                    Output::CloseConnection,
                    Output::StopTimer(Timer::Hold),
                    Output::StartTimer(Timer::IdleHold, seconds(5)),
                    Output::Down(DownReason::OpenRejected(error)),
                ]
            );
            assert_eq!(fsm.state(), State::Idle);
        }
    }

    #[test]
    fn an_ebgp_peer_may_share_our_identifier() {
        let mut fsm = setup("OpenSent");
        let open = Open::new(64512, 90, LOCAL_ID, vec![]);
        fsm.handle(message(Message::Open(open)));
        assert_eq!(fsm.state(), State::OpenConfirm);
    }

    /// A whole OPEN message with the version given, as a peer would send it.
    fn open_bytes(version: u8) -> Vec<u8> {
        let mut m = MARKER.to_vec();
        m.extend_from_slice(&29u16.to_be_bytes());
        m.push(1);
        m.extend_from_slice(&[version, 0xfc, 0x00, 0, 90, 198, 51, 100, 1, 0]);
        m
    }

    #[test]
    fn an_undecodable_open_sends_the_decoders_notification() {
        let error = Message::decode(&open_bytes(3), &SessionContext::default()).unwrap_err();
        let mut fsm = setup("OpenSent");
        let outputs = fsm.handle(Event::DecodeError(error.clone()));
        assert_eq!(
            outputs.first(),
            Some(&Output::Send(Message::Notification(Notification {
                code: 2,
                subcode: 1,
                data: bytes::Bytes::from_static(&[0, 4]),
            })))
        );
        assert_eq!(
            outputs.last(),
            Some(&Output::Down(DownReason::MalformedMessage(error)))
        );
        // The same bytes with version 4 pass.
        assert!(Message::decode(&open_bytes(4), &SessionContext::default()).is_ok());
    }

    #[test]
    fn back_off_doubles_and_caps() {
        let mut fsm = Fsm::new(config());
        let mut waits = Vec::new();
        fsm.handle(Event::ManualStart);
        for _ in 0..8 {
            let outputs = fsm.handle(Event::TcpFailed);
            let wait = outputs.iter().find_map(|o| match o {
                Output::StartTimer(Timer::IdleHold, d) => Some(d.as_secs()),
                _ => None,
            });
            waits.push(wait.unwrap());
            assert_eq!(fsm.state(), State::Idle);
            fsm.handle(Event::TimerExpired(Timer::IdleHold));
            assert_eq!(fsm.state(), State::Connect);
        }
        assert_eq!(waits, vec![5, 10, 20, 40, 80, 120, 120, 120]);
        assert_eq!(fsm.consecutive_failures(), 8);
        // The counter cannot overflow the wait.
        let mut fsm = Fsm::new(FsmConfig {
            max_idle_hold: Duration::MAX,
            ..config()
        });
        fsm.consecutive_failures = u32::MAX - 1;
        fsm.handle(Event::ManualStart);
        fsm.consecutive_failures = u32::MAX - 1;
        let outputs = fsm.handle(Event::TcpFailed);
        assert!(outputs
            .iter()
            .any(|o| matches!(o, Output::StartTimer(Timer::IdleHold, d) if *d >= seconds(5))));
    }

    /// Fails `n` times (connection refused), then comes up.
    fn flap_then_establish(fsm: &mut Fsm, n: usize) {
        fsm.handle(Event::ManualStart);
        for _ in 0..n {
            fsm.handle(Event::TcpFailed);
            fsm.handle(Event::TimerExpired(Timer::IdleHold));
        }
        feed(
            fsm,
            vec![
                Event::TcpConnected { outbound: true },
                message(Message::Open(vmx_open(90))),
                message(Message::Keepalive),
            ],
        );
        assert_eq!(fsm.state(), State::Established);
    }

    fn idle_hold_after_failure(fsm: &mut Fsm) -> Duration {
        fsm.handle(Event::TcpFailed)
            .iter()
            .find_map(|o| match o {
                Output::StartTimer(Timer::IdleHold, d) => Some(*d),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn back_off_starts_over_only_after_a_stable_session() {
        // Up, but dropped before the back-off reset timer: the wait keeps growing
        // (a peer that Ceases right after Established does not cause a reconnect storm).
        let mut fsm = Fsm::new(config());
        flap_then_establish(&mut fsm, 3);
        assert_eq!(fsm.consecutive_failures(), 3);
        assert_eq!(idle_hold_after_failure(&mut fsm), seconds(40));
        // Up and stable: the next failure waits the first back-off again.
        fsm.handle(Event::TimerExpired(Timer::IdleHold));
        feed(
            &mut fsm,
            vec![
                Event::TcpConnected { outbound: true },
                message(Message::Open(vmx_open(90))),
                message(Message::Keepalive),
                Event::TimerExpired(Timer::BackoffReset),
            ],
        );
        assert_eq!(fsm.consecutive_failures(), 0);
        assert_eq!(idle_hold_after_failure(&mut fsm), seconds(5));
    }

    #[test]
    fn back_off_reset_zero_forgets_on_established() {
        let mut fsm = Fsm::new(FsmConfig {
            backoff_reset: Duration::ZERO,
            ..config()
        });
        flap_then_establish(&mut fsm, 3);
        assert_eq!(fsm.consecutive_failures(), 0);
        assert!(!fsm.timer_running(Timer::BackoffReset));
        assert_eq!(idle_hold_after_failure(&mut fsm), seconds(5));
    }

    #[test]
    fn manual_start_overrides_the_back_off_and_manual_stop_cancels_the_restart() {
        let mut fsm = setup("Idle+backoff");
        fsm.handle(Event::TcpFailed);
        fsm.consecutive_failures = 4;
        assert_eq!(
            summary(&fsm.handle(Event::ManualStart)),
            "stop:idle start:retry=30 connect"
        );
        assert_eq!(fsm.consecutive_failures(), 0);
        let mut fsm = setup("Idle+backoff");
        assert_eq!(
            summary(&fsm.handle(Event::ManualStop { notification: None })),
            "stop:idle"
        );
        assert_eq!(fsm.consecutive_failures(), 0);
        // The expiry that crossed the stop is stale.
        assert_eq!(fsm.handle(Event::TimerExpired(Timer::IdleHold)), vec![]);
        assert_eq!(fsm.state(), State::Idle);
    }

    #[test]
    fn only_a_lost_connection_keeps_routes_for_graceful_restart() {
        // RFC 4724 §4 / RFC 8538: a hold timer expiry sends 4/0, so without the N bit in
        // both OPENs (bgpd does not announce it) the routes go. Found in the namespace lab:
        // a MetalLB speaker's cut link left its LB IPs at the vMX for the restart time.
        assert!(DownReason::ConnectionLost.keeps_routes_for_graceful_restart());
        assert!(!DownReason::HoldTimerExpired.keeps_routes_for_graceful_restart());
        assert!(!DownReason::ManualStop.keeps_routes_for_graceful_restart());
        assert!(!DownReason::CollisionResolution.keeps_routes_for_graceful_restart());
    }

    #[test]
    fn stale_timer_expiries_are_ignored() {
        let mut fsm = setup("Established");
        // Expiries that crossed the stop of every timer.
        fsm.handle(Event::ManualStop { notification: None });
        for timer in Timer::ALL {
            assert_eq!(fsm.handle(Event::TimerExpired(timer)), vec![], "{timer}");
        }
        assert_eq!(fsm.state(), State::Idle);
        // An expired timer no longer runs until started again.
        let mut fsm = setup("Established");
        fsm.handle(Event::TimerExpired(Timer::BackoffReset));
        assert!(!fsm.timer_running(Timer::BackoffReset));
        assert_eq!(fsm.handle(Event::TimerExpired(Timer::BackoffReset)), vec![]);
    }

    #[test]
    fn zero_hold_time_runs_no_hold_or_keepalive_timer() {
        let mut fsm = setup("OpenSent");
        let outputs = fsm.handle(message(Message::Open(vmx_open(0))));
        assert_eq!(summary(&outputs), "keepalive stop:hold");
        assert_eq!(fsm.negotiated().unwrap().hold_time, 0);
        let outputs = fsm.handle(message(Message::Keepalive));
        assert_eq!(summary(&outputs), "start:reset=300 established");
        assert_eq!(
            summary(&fsm.handle(message(Message::Update(Update::default())))),
            "update"
        );
        assert_eq!(fsm.handle(message(Message::Keepalive)), vec![]);
        assert_eq!(fsm.handle(Event::UpdateSent), vec![]);
        assert!(!fsm.timer_running(Timer::Hold) && !fsm.timer_running(Timer::Keepalive));
    }

    #[test]
    fn configured_keepalive_and_the_peers_smaller_hold_time() {
        let mut fsm = Fsm::new(FsmConfig {
            hold_time: 240,
            keepalive: Some(20),
            ..config()
        });
        feed(
            &mut fsm,
            vec![Event::ManualStart, Event::TcpConnected { outbound: true }],
        );
        let outputs = fsm.handle(message(Message::Open(vmx_open(90))));
        assert_eq!(
            summary(&outputs),
            "keepalive start:keepalive=20 start:hold=90"
        );
    }

    #[test]
    fn route_refresh_only_for_what_we_announced() {
        let request = |family| message(Message::RouteRefresh(RouteRefresh::request(family)));
        let with_subtype = |subtype| {
            message(Message::RouteRefresh(RouteRefresh {
                subtype,
                ..RouteRefresh::request(Family::IPV4_UNICAST)
            }))
        };
        // Default configuration: route refresh, no enhanced route refresh.
        let mut fsm = setup("Established");
        assert_eq!(
            summary(&fsm.handle(request(Family::IPV4_UNICAST))),
            "refresh"
        );
        // RFC 2918 §4: a family not negotiated is ignored.
        assert_eq!(fsm.handle(request(Family::IPV6_UNICAST)), vec![]);
        // RFC 7313: BoRR/EoRR need enhanced route refresh; unknown subtypes are ignored.
        assert_eq!(fsm.handle(with_subtype(SUBTYPE_BORR)), vec![]);
        assert_eq!(fsm.handle(with_subtype(7)), vec![]);
        let mut caps = config().capabilities;
        caps.push(Capability::EnhancedRouteRefresh);
        let mut fsm = established_with(
            FsmConfig {
                capabilities: caps,
                ..config()
            },
            vmx_open(90),
        );
        assert_eq!(summary(&fsm.handle(with_subtype(SUBTYPE_BORR))), "refresh");
        assert_eq!(summary(&fsm.handle(with_subtype(SUBTYPE_EORR))), "refresh");
        // Without route refresh announced by us, nothing is delivered.
        let mut fsm = established_with(
            FsmConfig {
                capabilities: vec![Capability::FourOctetAs(64513)],
                ..config()
            },
            vmx_open(90),
        );
        assert_eq!(fsm.handle(request(Family::IPV4_UNICAST)), vec![]);
        assert_eq!(fsm.state(), State::Established);
    }

    #[test]
    fn unexpected_messages_name_state_and_type() {
        let mut fsm = setup("OpenConfirm");
        let outputs = fsm.handle(message(Message::Update(Update::default())));
        let reason = DownReason::UnexpectedMessage {
            state: State::OpenConfirm,
            message_type: MessageType::Update,
        };
        assert_eq!(outputs.last(), Some(&Output::Down(reason.clone())));
        assert_eq!(reason.to_string(), "unexpected UPDATE in state OpenConfirm");
    }

    #[test]
    fn collisions() {
        let low = Ipv4Addr::new(198, 51, 100, 1);
        let high = Ipv4Addr::new(198, 51, 100, 2);
        // RFC 4271 §6.8: the connection initiated by the higher identifier survives.
        assert!(keep_existing_on_collision(high, low, true));
        assert!(!keep_existing_on_collision(high, low, false));
        assert!(!keep_existing_on_collision(low, high, true));
        assert!(keep_existing_on_collision(low, high, false));
        // Identifiers compare as unsigned integers, not per octet as signed values.
        let top = Ipv4Addr::new(200, 0, 0, 1);
        assert!(keep_existing_on_collision(top, low, true));
        assert!(keep_existing_on_collision(high, high, false));
        // RFC 6286 §2.3: equal identifiers, the larger AS's connection survives.
        assert!(keep_existing_on_collision_with_as(
            high, 64513, high, 64512, true
        ));
        assert!(!keep_existing_on_collision_with_as(
            high, 64513, high, 64512, false
        ));
        assert!(keep_existing_on_collision_with_as(
            high, 64512, high, 64513, false
        ));
        assert!(!keep_existing_on_collision_with_as(
            low, 64513, high, 64512, true
        ));
        assert_eq!(collision_notification(), Notification::new(6, 7));
        assert_eq!(
            collision_notification().to_string(),
            "6/7 (Cease / Connection Collision Resolution)"
        );
    }

    #[test]
    fn names_for_the_log() {
        let states = [
            State::Idle,
            State::Connect,
            State::Active,
            State::OpenSent,
            State::OpenConfirm,
            State::Established,
        ];
        let names: Vec<String> = states.iter().map(ToString::to_string).collect();
        assert_eq!(
            names,
            [
                "Idle",
                "Connect",
                "Active",
                "OpenSent",
                "OpenConfirm",
                "Established"
            ]
        );
        assert_eq!(Timer::Hold.to_string(), "HoldTimer");
        let cases = [
            (DownReason::ManualStop, "stopped by the operator"),
            (
                DownReason::NotificationReceived(Notification::cease_with_message(2, "bye")),
                "received NOTIFICATION 6/2 (Cease / Administrative Shutdown) message \"bye\"",
            ),
            (
                DownReason::NotificationSent(Notification::new(6, 1)),
                "sent NOTIFICATION 6/1 (Cease / Maximum Number of Prefixes Reached)",
            ),
            (
                DownReason::HoldTimerExpired,
                "hold timer expired: nothing heard from the peer (sent NOTIFICATION 4/0)",
            ),
            (DownReason::ConnectFailed, "TCP connection attempt failed"),
            (
                DownReason::ConnectionLost,
                "TCP connection closed or reset by the peer",
            ),
            (
                DownReason::OpenRejected(OpenError::BadPeerAs {
                    received: 64512,
                    expected: 64513,
                }),
                "OPEN refused: peer AS 64512 does not match the configured peer AS 64513 \
                 (sent NOTIFICATION 2/2 (OPEN Message Error / Bad Peer AS))",
            ),
            (
                DownReason::MalformedMessage(DecodeError::new(
                    ErrorKind::BadMessageLength { length: 5000 },
                    16,
                )),
                "malformed message: bad message length 5000 at byte offset 16 \
                 (NOTIFICATION 1/2 (Message Header Error / Bad Message Length) data 1388)",
            ),
            (
                DownReason::CollisionResolution,
                "connection collision: closed this connection (sent NOTIFICATION 6/7)",
            ),
        ];
        for (reason, text) in cases {
            assert_eq!(reason.to_string(), text);
        }
    }

    // ---- Property: any event sequence -------------------------------------------------

    mod property {
        use super::*;
        use proptest::prelude::*;

        fn any_open() -> impl Strategy<Value = Open> {
            (
                prop_oneof![Just(64512u32), Just(64513), Just(0), Just(4_200_000_000)],
                prop_oneof![Just(0u16), Just(1), Just(3), Just(9), Just(90), Just(240)],
                prop_oneof![Just(VMX_ID), Just(LOCAL_ID), Just(Ipv4Addr::UNSPECIFIED)],
                any::<bool>(),
            )
                .prop_map(|(asn, hold, id, four)| {
                    let caps = if four {
                        vec![Capability::FourOctetAs(asn)]
                    } else {
                        vec![]
                    };
                    Open::new(asn, hold, id, caps)
                })
        }

        fn any_timer() -> impl Strategy<Value = Timer> {
            prop::sample::select(Timer::ALL.to_vec())
        }

        fn any_event() -> impl Strategy<Value = Event> {
            prop_oneof![
                Just(Event::ManualStart),
                Just(Event::ManualStop { notification: None }),
                Just(Event::AutomaticStart),
                Just(Event::PassiveStart),
                Just(Event::AutomaticStop {
                    notification: Notification::new(6, 1)
                }),
                any::<bool>().prop_map(|outbound| Event::TcpConnected { outbound }),
                Just(Event::TcpFailed),
                any_timer().prop_map(Event::TimerExpired),
                any_timer().prop_map(Event::TimerExpired),
                any_open().prop_map(|o| Event::Message(Message::Open(o))),
                Just(Event::Message(Message::Keepalive)),
                Just(Event::Message(Message::Keepalive)),
                Just(Event::Message(Message::Update(Update::default()))),
                Just(Event::Message(Message::RouteRefresh(
                    RouteRefresh::request(Family::IPV4_UNICAST)
                ))),
                Just(Event::Message(Message::Notification(Notification::new(
                    6, 4
                )))),
                Just(Event::DecodeError(DecodeError::new(
                    ErrorKind::BadMarker,
                    0
                ))),
                Just(Event::OpenCollisionDump),
                Just(Event::UpdateSent),
            ]
        }

        fn any_config() -> impl Strategy<Value = FsmConfig> {
            (
                any::<bool>(),
                0u16..40,
                prop_oneof![Just(0u16), Just(90)],
                any::<bool>(),
            )
                .prop_map(|(passive, min_hold, hold, reset_at_once)| FsmConfig {
                    passive,
                    min_hold_time: min_hold,
                    hold_time: hold,
                    backoff_reset: if reset_at_once {
                        Duration::ZERO
                    } else {
                        seconds(300)
                    },
                    ..config()
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            #[test]
            fn random_event_sequences_keep_the_invariants(
                config in any_config(),
                events in prop::collection::vec(any_event(), 0..80),
            ) {
                let idle_hold = config.idle_hold;
                let max_idle_hold = config.max_idle_hold;
                let mut fsm = Fsm::new(config);
                // The timers the driver would run, from the outputs alone.
                let mut running: Vec<Timer> = Vec::new();
                // An OPEN was received on the current connection.
                let mut open_received = false;
                for event in events {
                    let before = fsm.state();
                    if matches!(before, State::Idle | State::Connect | State::Active) {
                        open_received = false;
                    }
                    let stale = match &event {
                        Event::TimerExpired(t) => {
                            let was_running = running.contains(t);
                            running.retain(|r| r != t);
                            !was_running
                        }
                        _ => false,
                    };
                    let is_keepalive = matches!(event, Event::Message(Message::Keepalive));
                    if matches!(event, Event::Message(Message::Open(_))) {
                        open_received = true;
                    }
                    let is_connect = matches!(event, Event::TcpConnected { .. });
                    let outputs = fsm.handle(event);
                    let after = fsm.state();

                    // A stale expiry changes nothing.
                    if stale {
                        prop_assert!(outputs.is_empty());
                        prop_assert_eq!(before, after);
                    }
                    // Established only after an OPEN and a KEEPALIVE from the peer.
                    if after == State::Established && before != State::Established {
                        prop_assert!(open_received && is_keepalive);
                        prop_assert!(outputs.iter().any(|o| matches!(o, Output::Established(_))));
                    } else {
                        prop_assert!(!outputs.iter().any(|o| matches!(o, Output::Established(_))));
                    }
                    // Negotiated exactly in OpenConfirm and Established.
                    prop_assert_eq!(
                        fsm.negotiated().is_some(),
                        matches!(after, State::OpenConfirm | State::Established)
                    );
                    for output in &outputs {
                        match output {
                            Output::StartTimer(t, d) => {
                                if !running.contains(t) {
                                    running.push(*t);
                                }
                                if *t == Timer::IdleHold {
                                    prop_assert!(*d >= idle_hold.min(max_idle_hold));
                                    prop_assert!(*d <= max_idle_hold);
                                }
                                prop_assert!(!d.is_zero());
                            }
                            Output::StopTimer(t) => {
                                prop_assert!(running.contains(t), "stop of {} not running", t);
                                running.retain(|r| r != t);
                            }
                            // Nothing is sent without a connection, except our OPEN on one.
                            Output::Send(m) => prop_assert!(
                                matches!(before, State::OpenSent | State::OpenConfirm | State::Established)
                                    || (is_connect && matches!(m, Message::Open(_)))
                            ),
                            Output::Update(_) | Output::RouteRefresh(_) => {
                                prop_assert_eq!(before, State::Established)
                            }
                            _ => {}
                        }
                    }
                    // The driver's timers and the FSM's agree.
                    for t in Timer::ALL {
                        prop_assert_eq!(fsm.timer_running(t), running.contains(&t), "{}", t);
                    }
                    // Per state, which timers may run.
                    for t in &running {
                        let allowed = match after {
                            State::Idle => *t == Timer::IdleHold,
                            State::Connect | State::Active => *t == Timer::ConnectRetry,
                            State::OpenSent => *t == Timer::Hold,
                            State::OpenConfirm => matches!(t, Timer::Hold | Timer::Keepalive),
                            State::Established => {
                                matches!(t, Timer::Hold | Timer::Keepalive | Timer::BackoffReset)
                            }
                        };
                        prop_assert!(allowed, "{} runs in {}", t, after);
                    }
                    if after == State::Established {
                        let hold = fsm.negotiated().map(|n| n.hold_time).unwrap_or(0);
                        prop_assert_eq!(fsm.timer_running(Timer::Hold), hold > 0);
                    }
                }
            }
        }
    }
}
