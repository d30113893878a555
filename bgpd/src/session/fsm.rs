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
            Event::ManualStart | Event::AutomaticStart => {}
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
            // filtered in `handle`); nothing was sent.
            Event::TimerExpired(_) | Event::UpdateSent => {}
        }
    }

    /// RFC 4271 §8.2.2, OpenSent, OpenConfirm and Established (a connection is open).
    fn connected(&mut self, event: Event, out: &mut Vec<Output>) {
        match event {
            // §8.2.2 OpenSent/OpenConfirm/Established: start events are ignored.
            Event::ManualStart | Event::AutomaticStart => {}
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
