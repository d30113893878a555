//! Three peers, each with its own FSM, around one RIB, glued the way the daemon glues them
//! (`bgpd/src/session/driver.rs` and `bgpd/src/daemon/mod.rs`): an FSM's `Established`
//! becomes `Rib::peer_up`, its `Down` becomes `Rib::peer_down` (graceful when the reason
//! keeps routes, RFC 4724 §4), End-of-RIB flushes stale paths, a RIB reset becomes an
//! `AutomaticStop`. Every UPDATE the RIB sends is decoded and applied to a model of what the
//! receiving peer holds.

use crate::input::Input;
use crate::invariants::{check, check_batch};
use bgp_proto::{
    AddPathMode, AsPath, AttributeValue, Capability, Community, Family, GracefulRestartFamily,
    Message, MpNextHop, MpReach, MpUnreach, Nlri, Notification, Open, Origin, PathAttribute,
    PathAttributes, RouteRefresh, SessionContext, Update,
};
use bgpd::config::{load_str, Config};
use bgpd::rib::outbox::PeerOutput;
use bgpd::rib::received::ReceivedUpdate;
use bgpd::rib::route::PeerId;
use bgpd::rib::table::{Outbox, Rib, SessionInfo};
use bgpd::session::driver::fsm_config;
use bgpd::session::fsm::{Event, Fsm, Output, Timer};
use bgpd::session::waiting::Waiting;
use bytes::BytesMut;
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;
use std::time::Duration;

/// bgpd as route server for two eBGP clients (one with ADD-PATH and a prefix limit) and
/// route reflector for one iBGP client.
const CONFIG: &str = r#"
[global]
asn = 64512
router_id = "198.51.100.2"
listen = []

[[classes]]
name = "pod"
prefixes = ["10.244.0.0/16 le 26"]

[[prefix_sets]]
name = "default"
prefixes = ["0.0.0.0/0"]

[[policies]]
name = "all"
[[policies.statements]]
action = "accept"

[[policies]]
name = "no-default"
[[policies.statements]]
match = { prefix_set = "default" }
action = "reject"
[[policies.statements]]
set = { med = 7 }
action = "accept"

[[neighbors]]
address = "198.51.100.11"
peer_as = 64513
role = "route-server-client"
import_policy = ["no-default"]
export_policy = ["all"]
add_path = "both"
max_prefixes = 12

[[neighbors]]
address = "198.51.100.21"
peer_as = 64514
role = "route-server-client"
import_policy = ["all"]
export_policy = ["all"]

[[neighbors]]
address = "198.51.100.1"
peer_as = 64512
role = "route-reflector-client"

# Alike to 198.51.100.21: the two form an update group (bgpd/src/rib/advertise.rs).
[[neighbors]]
address = "198.51.100.22"
peer_as = 64515
role = "route-server-client"
import_policy = ["all"]
export_policy = ["all"]
"#;

fn config() -> &'static Config {
    static CONFIG_ONCE: OnceLock<Config> = OnceLock::new();
    CONFIG_ONCE.get_or_init(|| match load_str(CONFIG, "session_rib.toml") {
        Ok(c) => c,
        Err(e) => panic!("the target's own config is refused: {e}"),
    })
}

/// A (family, prefix, path id) as a peer sees it on the wire.
pub type WireKey = (Family, IpNet, u32);

/// One peer: its FSM, the driver's view of the connection, and a model of what we sent it.
pub struct Peer {
    /// The FSM of bgpd's side of the session.
    pub fsm: Fsm,
    /// Peer address.
    pub address: IpAddr,
    /// Peer AS.
    pub asn: u32,
    /// Peer BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// The driver told the RIB the session is up (driver.rs `established`).
    pub established: bool,
    /// The routes we announced to the peer and did not withdraw since its session came up,
    /// as decoded from the RIB's output.
    pub holds: HashMap<WireKey, ()>,
    /// The daemon's graceful-restart deadline is pending (stale routes kept).
    pub stale_deadline: bool,
    /// The last session's graceful restart let routes be kept (for the stale invariant).
    pub had_graceful_restart: bool,
}

/// The RIB with its four peers.
pub struct Lab {
    /// The RIB under test.
    pub rib: Rib,
    /// Peers by id (0, 1, 2).
    pub peers: Vec<Peer>,
    /// Steps done, for messages.
    pub step: usize,
}

const V4_POOL: [&str; 12] = [
    "10.244.0.0/26",
    "10.244.0.64/26",
    "10.244.1.0/26",
    "10.244.2.0/24",
    "10.244.0.0/16",
    "203.0.113.10/32",
    "203.0.113.11/32",
    "203.0.113.0/24",
    "0.0.0.0/0",
    "192.0.2.0/25",
    "192.0.2.128/25",
    "198.51.100.0/24",
];
const V6_POOL: [&str; 4] = [
    "fd00:10:244::/122",
    "fd00:10:244::40/122",
    "2001:db8:113::/120",
    "::/0",
];

fn prefix(s: &str) -> IpNet {
    s.parse()
        .unwrap_or_else(|_| IpNet::V4(ipnet::Ipv4Net::default()))
}

impl Default for Lab {
    fn default() -> Self {
        Self::new()
    }
}

impl Lab {
    /// A fresh RIB and four peers in Idle.
    pub fn new() -> Self {
        let cfg = config();
        let mut rib = Rib::for_config(cfg);
        let mut peers = Vec::new();
        for (i, n) in cfg.neighbors.iter().enumerate() {
            let id = i as PeerId;
            rib.configure_peer(id, n.clone());
            let mut fc = fsm_config(cfg.global.asn, cfg.global.router_id, n);
            fc.idle_hold = Duration::from_secs(1);
            let bgp_id = match n.address {
                IpAddr::V4(a) => a,
                IpAddr::V6(_) => Ipv4Addr::new(10, 0, 0, i as u8 + 1),
            };
            peers.push(Peer {
                fsm: Fsm::new(fc),
                address: n.address,
                asn: n.peer_as,
                bgp_id,
                established: false,
                holds: HashMap::new(),
                stale_deadline: false,
                had_graceful_restart: false,
            });
        }
        Lab {
            rib,
            peers,
            step: 0,
        }
    }

    /// Runs the whole input: one step per decision until it is used up (at most 256 steps).
    pub fn run(&mut self, input: &mut Input<'_>) {
        while !input.done() && self.step < 256 {
            self.step += 1;
            self.one_step(input);
            check(self);
        }
    }

    fn one_step(&mut self, input: &mut Input<'_>) {
        let id = input.pick(self.peers.len());
        let event = match input.pick(18) {
            0 => Event::ManualStart,
            // The peer connecting during the back-off is `PassiveStart` (the driver's rule).
            1 => {
                if input.flag() {
                    Event::AutomaticStart
                } else {
                    Event::PassiveStart
                }
            }
            2 | 3 => Event::TcpConnected {
                outbound: input.flag(),
            },
            4 => self.peer_open(id, input),
            5 => Event::Message(Message::Keepalive),
            6..=8 => match self.peer_update(id, input) {
                Some(e) => e,
                None => return,
            },
            9 => self.raw_message(id, input),
            10 => Event::Message(Message::Update(Update::end_of_rib_marker(
                if input.flag() {
                    Family::IPV4_UNICAST
                } else {
                    Family::IPV6_UNICAST
                },
            ))),
            11 => Event::Message(Message::Notification(Notification::new(
                input.byte() % 8,
                input.byte() % 12,
            ))),
            // The peer's process dies or the link is cut: no NOTIFICATION (graceful restart).
            12 => Event::TcpFailed,
            13 => Event::TimerExpired(Timer::ALL[input.pick(Timer::ALL.len())]),
            14 => match input.pick(4) {
                0 => Event::ManualStop { notification: None },
                1 => Event::OpenCollisionDump,
                2 => Event::UpdateSent,
                _ => Event::AutomaticStop {
                    notification: Notification::new(6, 4),
                },
            },
            // A request, or the BoRR/EoRR of the peer's own re-advertisement (RFC 7313).
            15 => Event::Message(Message::RouteRefresh(RouteRefresh {
                subtype: input.pick(3) as u8,
                ..RouteRefresh::request(if input.flag() {
                    Family::IPV4_UNICAST
                } else {
                    Family::IPV6_UNICAST
                })
            })),
            // The daemon's restart timer for kept stale routes fires (RFC 4724 §4.2).
            16 => {
                let p = &mut self.peers[id];
                if std::mem::take(&mut p.stale_deadline) {
                    let out = self.rib.flush_stale(id as PeerId, None);
                    self.deliver(out);
                }
                return;
            }
            _ => {
                self.rib.collect_garbage();
                return;
            }
        };
        self.handle(id, event);
    }

    /// Feeds one event to a peer's FSM and carries out what it asks for.
    pub fn handle(&mut self, id: usize, event: Event) {
        let outputs = self.peers[id].fsm.handle(event);
        for o in outputs {
            match o {
                Output::Send(m) => {
                    // What bgpd sends must encode.
                    let ctx = self.send_context(id);
                    let mut buf = BytesMut::new();
                    if let Err(e) = m.encode(&ctx, &mut buf) {
                        panic!(
                            "step {}: FSM output does not encode: {e} ({m:?})",
                            self.step
                        );
                    }
                }
                Output::Established(neg) => {
                    let n = &self.rib.peers[&(id as PeerId)].neighbor;
                    let ibgp = n.ibgp;
                    let session = SessionInfo {
                        bgp_id: neg.peer_id,
                        local_address: Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2))),
                        families: neg.families.clone(),
                        add_path_send: neg.add_path_send,
                        send_context: neg.send_context(ibgp),
                        four_octet_as: neg.four_octet_as,
                        graceful_restart: neg
                            .peer_graceful_restart
                            .as_ref()
                            .filter(|g| n.graceful_restart && !g.families.is_empty())
                            .map(|g| Duration::from_secs(u64::from(g.restart_time))),
                        graceful_restart_families: neg
                            .peer_graceful_restart
                            .as_ref()
                            .map(|g| g.kept_families())
                            .unwrap_or_default(),
                    };
                    let gr = session.graceful_restart.is_some();
                    let p = &mut self.peers[id];
                    p.established = true;
                    p.holds.clear();
                    let had_stale = std::mem::take(&mut p.stale_deadline);
                    let out = self.rib.peer_up(id as PeerId, session);
                    self.deliver(out);
                    if had_stale && !gr {
                        let out = self.rib.flush_stale(id as PeerId, None);
                        self.deliver(out);
                    }
                }
                Output::Down(reason) => {
                    let p = &mut self.peers[id];
                    if !p.established {
                        continue;
                    }
                    p.established = false;
                    p.holds.clear();
                    let graceful = reason.keeps_routes_for_graceful_restart();
                    let restart = self
                        .rib
                        .peers
                        .get(&(id as PeerId))
                        .and_then(|e| e.session.as_ref())
                        .and_then(|s| s.graceful_restart);
                    let out = self.rib.peer_down(id as PeerId, graceful);
                    if graceful && restart.is_some() {
                        self.peers[id].stale_deadline = true;
                        self.peers[id].had_graceful_restart = true;
                    }
                    self.deliver(out);
                }
                // A clean UPDATE the session took where it lay (`ReceivedUpdate::from_frame`).
                Output::PreparedUpdate(u) => {
                    if let Some(family) = u.end_of_rib {
                        self.rib.end_of_rib_received(id as PeerId, family);
                        let out = self.rib.flush_stale(id as PeerId, Some(family));
                        self.deliver(out);
                    } else {
                        let out = self.rib.apply_received(vec![(id as PeerId, u)]);
                        self.deliver(out);
                    }
                }
                Output::Update(u) => {
                    if let Some(family) = u.end_of_rib() {
                        self.rib.end_of_rib_received(id as PeerId, family);
                        let out = self.rib.flush_stale(id as PeerId, Some(family));
                        self.deliver(out);
                    } else {
                        let out = self.rib.apply_update(id as PeerId, &u);
                        self.deliver(out);
                    }
                }
                // As the daemon's RIB task does (`daemon/mod.rs`).
                Output::RouteRefresh(rr) => match rr.subtype {
                    bgp_proto::SUBTYPE_BORR => {
                        if !self.rib.borr_too_early(id as PeerId, rr.family) {
                            self.rib.begin_refresh(id as PeerId, rr.family);
                        }
                    }
                    bgp_proto::SUBTYPE_EORR => {
                        if let Some((_, out)) = self.rib.end_refresh(id as PeerId, rr.family) {
                            self.deliver(out);
                        }
                    }
                    _ => {
                        let out = self.rib.refresh_out(id as PeerId, rr.family);
                        self.deliver(out);
                    }
                },
                Output::Connect
                | Output::CloseConnection
                | Output::StartTimer(..)
                | Output::StopTimer(_) => {}
            }
        }
    }

    /// The daemon's `deliver` and the peer tasks' packing: the routes each session is sent,
    /// encoded, to established sessions; resets as `AutomaticStop`. Every other step the
    /// output goes through the queue a peer task keeps for a slow peer
    /// (`bgpd/src/session/waiting.rs`: coalesced per route, then taken a few routes at a
    /// time), so the model checks that what a slow peer ends up with is the same.
    fn deliver(&mut self, outbox: Outbox) {
        let mut resets = Vec::new();
        let mut ids: Vec<_> = outbox.keys().copied().collect();
        ids.sort_unstable();
        for q in ids {
            let Some(out) = outbox.get(&q) else { continue };
            let bytes = if self.step % 2 == 0 {
                out.bytes()
            } else {
                let mut waiting = Waiting::default();
                // The address only names the peer in log lines.
                waiting.push(std::net::Ipv4Addr::LOCALHOST.into(), out.parts.clone());
                let chunk = 1 + self.step % 7;
                let mut bytes = BytesMut::new();
                while let Some(part) = waiting.next(chunk) {
                    bytes.extend_from_slice(&PeerOutput::encode(std::slice::from_ref(&part)));
                }
                bytes
            };
            check_batch(self, q, &bytes);
            if let Some(n) = &out.reset {
                resets.push((q, n.clone()));
            }
        }
        for (q, n) in resets {
            self.handle(q as usize, Event::AutomaticStop { notification: n });
        }
    }

    /// How bgpd encodes toward peer `id` (the negotiated context, or a plain one).
    pub fn send_context(&self, id: usize) -> SessionContext {
        let ibgp = self
            .rib
            .peers
            .get(&(id as PeerId))
            .is_some_and(|p| p.neighbor.ibgp);
        match self.peers[id].fsm.negotiated() {
            Some(n) => n.send_context(ibgp),
            None => SessionContext {
                four_octet_as: true,
                ibgp,
                ..SessionContext::default()
            },
        }
    }

    /// How bgpd decodes what peer `id` sends.
    fn receive_context(&self, id: usize) -> SessionContext {
        let p = &self.peers[id];
        let ibgp = p.asn == config().global.asn;
        match p.fsm.negotiated() {
            Some(n) => n.receive_context(ibgp, (!ibgp).then_some(p.asn)),
            None => SessionContext {
                four_octet_as: true,
                ibgp,
                ..SessionContext::default()
            },
        }
    }

    /// The peer's OPEN, with capabilities the input picks (sometimes a wrong AS or hold time).
    fn peer_open(&self, id: usize, input: &mut Input<'_>) -> Event {
        let p = &self.peers[id];
        let flags = input.byte();
        let mut caps = vec![Capability::FourOctetAs(p.asn)];
        if flags & 0x01 != 0 {
            caps.push(Capability::Multiprotocol(Family::IPV4_UNICAST));
        }
        if flags & 0x02 != 0 {
            caps.push(Capability::Multiprotocol(Family::IPV6_UNICAST));
        }
        if flags & 0x04 != 0 {
            caps.push(Capability::RouteRefresh);
        }
        if flags & 0x08 != 0 {
            // RFC 4724 §3: restart flags, time, and the families whose state is kept (none:
            // helper only, as FRR's default).
            let fam = input.byte();
            let mut families = Vec::new();
            if fam & 1 != 0 {
                families.push(GracefulRestartFamily {
                    family: Family::IPV4_UNICAST,
                    flags: fam & 0x80,
                });
            }
            if fam & 2 != 0 {
                families.push(GracefulRestartFamily {
                    family: Family::IPV6_UNICAST,
                    flags: 0,
                });
            }
            caps.push(Capability::GracefulRestart {
                flags: (fam & 0xc0) >> 4,
                restart_time: u16::from(input.byte()),
                families,
            });
        }
        if flags & 0x10 != 0 {
            let mode = match input.pick(3) {
                0 => AddPathMode::Receive,
                1 => AddPathMode::Send,
                _ => AddPathMode::Both,
            };
            caps.push(Capability::AddPath(vec![
                (Family::IPV4_UNICAST, mode),
                (Family::IPV6_UNICAST, mode),
            ]));
        }
        if flags & 0x20 != 0 {
            caps.push(Capability::ExtendedMessage);
        }
        let asn = if flags & 0x40 != 0 {
            u32::from(input.u16())
        } else {
            p.asn
        };
        let hold = match input.pick(4) {
            0 => 0,
            1 => u16::from(input.byte()),
            _ => 90,
        };
        let open = Open::new(asn, hold, p.bgp_id, caps);
        // Over the wire and back, as the driver receives it.
        let ctx = self.receive_context(id);
        match Message::Open(open).to_bytes(&ctx) {
            Ok(b) => match Message::decode(&b, &ctx) {
                Ok(m) => Event::Message(m),
                Err(e) => Event::DecodeError(e),
            },
            Err(_) => Event::TcpFailed,
        }
    }

    /// An UPDATE from the peer: announcements and withdrawals from a small prefix pool with
    /// attributes the input picks, encoded and decoded in the session's context.
    fn peer_update(&self, id: usize, input: &mut Input<'_>) -> Option<Event> {
        let p = &self.peers[id];
        let ctx = self.receive_context(id);
        let ipv6 = input.flag();
        let family = if ipv6 {
            Family::IPV6_UNICAST
        } else {
            Family::IPV4_UNICAST
        };
        let add_path = ctx.add_path.contains(family);
        let nlri = |input: &mut Input<'_>| {
            let s = if ipv6 {
                V6_POOL[input.pick(V6_POOL.len())]
            } else {
                V4_POOL[input.pick(V4_POOL.len())]
            };
            Nlri {
                prefix: prefix(s),
                path_id: add_path.then(|| u32::from(input.byte() % 3)),
            }
        };
        let announce: Vec<Nlri> = (0..input.pick(4)).map(|_| nlri(input)).collect();
        let withdraw: Vec<Nlri> = (0..input.pick(3)).map(|_| nlri(input)).collect();

        let mut attrs = Vec::new();
        if !announce.is_empty() {
            attrs.push(PathAttribute::new(AttributeValue::Origin(
                match input.pick(3) {
                    0 => Origin::Igp,
                    1 => Origin::Egp,
                    _ => Origin::Incomplete,
                },
            )));
            let ibgp = ctx.ibgp;
            let mut path: Vec<u32> = if ibgp { vec![] } else { vec![p.asn] };
            for _ in 0..input.pick(4) {
                // 64512 is our own AS: a loop on eBGP; 64515 is the fourth peer's (the AS-loop
                // rule then leaves it out of its update group's batch).
                path.push([64520, 64521, 65000, 64512, 64515][input.pick(5)]);
            }
            attrs.push(PathAttribute::new(AttributeValue::AsPath(
                AsPath::sequence(path),
            )));
            let nh_pick = input.pick(8);
            let v4_nh = match nh_pick {
                0 => Ipv4Addr::new(198, 51, 100, 2), // ours: route ignored
                1 => Ipv4Addr::new(0, 0, 0, 1),
                2 => Ipv4Addr::new(198, 51, 100, 99),
                _ => match p.address {
                    IpAddr::V4(a) => a,
                    IpAddr::V6(_) => Ipv4Addr::new(198, 51, 100, 98),
                },
            };
            if input.flag() {
                attrs.push(PathAttribute::new(AttributeValue::Med(u32::from(
                    input.byte() % 4,
                ))));
            }
            if input.flag() {
                attrs.push(PathAttribute::new(AttributeValue::LocalPref(
                    90 + u32::from(input.byte() % 3) * 10,
                )));
            }
            let c = input.byte();
            if c & 0x0f != 0 {
                let mut cs = vec![Community::new(p.asn as u16, u16::from(c & 0x0f))];
                if c & 0x10 != 0 {
                    cs.push(Community::NO_EXPORT);
                }
                if c & 0x20 != 0 {
                    cs.push(Community::NO_ADVERTISE);
                }
                attrs.push(PathAttribute::new(AttributeValue::Communities(cs.into())));
            }
            if ibgp && input.flag() {
                let ours = input.flag();
                attrs.push(PathAttribute::new(AttributeValue::OriginatorId(if ours {
                    Ipv4Addr::new(198, 51, 100, 2)
                } else {
                    Ipv4Addr::new(10, 9, 9, 9)
                })));
            }
            if ipv6 {
                let global = if nh_pick == 1 {
                    Ipv6Addr::UNSPECIFIED
                } else {
                    Ipv6Addr::new(0x2001, 0xdb8, 0x51, 0, 0, 0, 0, 0x11)
                };
                attrs.push(PathAttribute::new(AttributeValue::from(MpReach {
                    family,
                    next_hop: MpNextHop::Ipv6 {
                        global,
                        link_local: None,
                    },
                    nlri: announce.clone(),
                    opaque_nlri: Default::default(),
                })));
            } else {
                attrs.push(PathAttribute::new(AttributeValue::NextHop(v4_nh)));
            }
        }
        let mut update = Update {
            attributes: PathAttributes(attrs),
            ..Update::default()
        };
        if ipv6 {
            if !withdraw.is_empty() {
                update
                    .attributes
                    .0
                    .push(PathAttribute::new(AttributeValue::from(MpUnreach {
                        family,
                        withdrawn: withdraw,
                        opaque_nlri: Default::default(),
                    })));
            }
        } else {
            update.nlri = announce;
            update.withdrawn = withdraw;
        }
        if update.attributes.0.is_empty() && update.nlri.is_empty() && update.withdrawn.is_empty() {
            return None;
        }
        let bytes = Message::Update(update).to_bytes(&ctx).ok()?;
        Some(received(&bytes, &ctx))
    }

    /// Arbitrary octets after a valid header: a message of a type and body the input picks,
    /// decoded in the session's context (RFC 7606 outcomes, NOTIFICATIONs for the rest).
    fn raw_message(&self, id: usize, input: &mut Input<'_>) -> Event {
        let ctx = self.receive_context(id);
        let kind = [1u8, 2, 2, 2, 3, 4, 5][input.pick(7)];
        let body = input.bytes(200);
        let mut msg = vec![0xff; 16];
        msg.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
        msg.push(kind);
        msg.extend_from_slice(body);
        received(&msg, &ctx)
    }
}

/// A received message as the peer task takes it (`session/codec.rs`): a clean UPDATE
/// prepared where it lies, anything else decoded.
fn received(bytes: &[u8], ctx: &SessionContext) -> Event {
    if let Some(u) = ReceivedUpdate::from_frame(bytes, ctx) {
        return Event::PreparedUpdate(u);
    }
    match Message::decode(bytes, ctx) {
        Ok(m) => Event::Message(m),
        Err(e) => Event::DecodeError(e),
    }
}
