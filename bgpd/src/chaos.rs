//! `bgpd chaos`: causes the classic BGP faults on purpose against any speaker, as a peer it
//! is configured for, and reports how the speaker reacted.
//!
//! | fault | what is done | what a correct speaker does |
//! |---|---|---|
//! | `flap` | the session goes up and down every `--interval` s, `--count` times | withdraws and re-learns the routes each time; back-off may delay reconnects |
//! | `silent` | KEEPALIVEs stop | hold timer expires: NOTIFICATION 4/0, routes withdrawn |
//! | `stop-reading` | the socket is not read and its receive buffer is small, so the TCP window closes; KEEPALIVEs go on, and ROUTE-REFRESH messages (50 a second, one every 20 ms) make the target queue its table again and again | RFC 9687 send hold timer: NOTIFICATION 8/0 (best effort), session dropped |
//! | `malformed NAME` | one malformed message from ../shared/BAD-INPUTS.md (see [`MALFORMED`]): `open-*` cases instead of our OPEN on a fresh connection, the others once Established, after valid announcements of [`CASE_PREFIX`] and [`CONTROL_PREFIX`] (so a treat-as-withdraw shows as the first leaving the target's table while the second stays) | the NOTIFICATION the RFC names, or RFC 7606 treat-as-withdraw / attribute discard with the session up |
//! | `max-prefix N` | N distinct /32 routes | Cease 6/1 (with AFI/SAFI/limit) if N exceeds its limit |
//! | `graceful-restart` | the session is killed, stays down `--down` seconds, and comes back with the restart (R) bit, re-announcing half the routes, then End-of-RIB | keeps the routes as stale, then flushes the half not re-announced |
//! | `wrong-origin` | a pod block (10.244.0.0/16 range) originated by AS 64514 (MetalLB's): AS_PATH `[our AS, 64514]` (just `[64514]` when we are AS 64514), so the first-AS check (RFC 4271 §6.3) passes and the origin is what is wrong | accepts or rejects per its policy; `bgpd audit` flags it |
//!
//! The catalog's messages are written for AS 64513; [`MalformedCase::bytes_as`] puts the
//! speaker's own AS in their place, so a target that knows us under another AS sees the named
//! fault, not a bad peer AS or a failed first-AS check.
//!
//! Every fault is bounded in time and count and stops by itself; a session still up at the
//! end is closed with Cease 6/2, so no graceful-restart helper keeps its routes as stale.

use crate::lab_peer::{LabPeer, LabPeerConfig, LabRoute};
use anyhow::Context as _;
use bgp_proto::{Family, Message, RouteRefresh};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

/// The fault to cause.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Fault {
    /// Bring the session up and down repeatedly.
    Flap {
        /// Seconds the session stays up each time.
        #[arg(long, default_value_t = 5)]
        interval: u64,
        /// How many times.
        #[arg(long, default_value_t = 3)]
        count: u32,
    },
    /// Stop sending KEEPALIVEs.
    Silent,
    /// Stop reading the socket.
    StopReading,
    /// Send one malformed message by name (`bgpd chaos malformed list` lists them).
    Malformed {
        /// The case name.
        name: String,
    },
    /// Announce this many distinct /32 routes.
    MaxPrefix {
        /// How many.
        count: u32,
    },
    /// Restart the session with graceful restart.
    GracefulRestart {
        /// Seconds the session stays down before it comes back with the restart bit.
        #[arg(long, default_value_t = 0)]
        down: u64,
    },
    /// Announce a pod block from the wrong origin AS.
    WrongOrigin {
        /// The pod block.
        #[arg(long, default_value = "10.244.200.0/26")]
        prefix: String,
    },
}

/// Options of `bgpd chaos`.
#[derive(Debug, clap::Args)]
pub struct ChaosArgs {
    /// The speaker under test (ADDRESS:PORT).
    #[arg(long)]
    pub target: SocketAddr,
    /// Our AS (the target must have us as a neighbor with this AS).
    #[arg(long = "as", default_value_t = 64513)]
    pub asn: u32,
    /// Our router id.
    #[arg(long, default_value = "198.51.100.99")]
    pub router_id: Ipv4Addr,
    /// Source address of the session.
    #[arg(long)]
    pub local_address: Option<IpAddr>,
    /// Next hop of the routes we announce.
    #[arg(long, default_value = "198.51.100.99")]
    pub next_hop: IpAddr,
    /// Longest time to wait for the target's reaction, in seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// The fault.
    #[command(subcommand)]
    pub fault: Fault,
}

/// A named malformed message: what it breaks and what RFC 4271 / RFC 7606 expect.
pub struct MalformedCase {
    /// Name on the command line.
    pub name: &'static str,
    /// What is wrong and the expected reaction.
    pub expect: &'static str,
    /// Builds the octets (4-octet AS session).
    pub bytes: fn() -> Vec<u8>,
    /// When it is sent.
    pub stage: Stage,
}

/// The IPv4 prefix every UPDATE of the catalog carries.
pub const CASE_PREFIX: &str = "10.244.9.0/26";
/// A prefix announced validly before an UPDATE-stage case and never touched by it.
pub const CONTROL_PREFIX: &str = "10.244.8.0/26";

/// The AS the catalog's messages are written for.
const CATALOG_AS: u32 = 64513;
/// The same in an OPEN's 2-octet My AS field.
const CATALOG_AS_2: [u8; 2] = 64513u16.to_be_bytes();
/// RFC 6793 §9: the 2-octet My AS of a speaker whose AS does not fit.
const AS_TRANS: u16 = 23456;

impl MalformedCase {
    /// The message with `asn` where the catalog has AS 64513: the OPEN's My AS field (AS_TRANS
    /// when `asn` needs 4 octets) and every 4-octet 64513 (the 4-octet AS capability, AS_PATH
    /// segments, a large community's global administrator). Lengths do not change, so the
    /// fault itself is the same; cases about a wrong AS (`open-bad-peer-as`, `open-as-zero`)
    /// keep theirs.
    pub fn bytes_as(&self, asn: u32) -> Vec<u8> {
        let mut m = (self.bytes)();
        if asn == CATALOG_AS {
            return m;
        }
        let is_open = m.get(18) == Some(&1);
        if let (true, Some(field)) = (is_open, m.get_mut(20..22)) {
            if *field == CATALOG_AS_2 {
                field.copy_from_slice(&u16::try_from(asn).unwrap_or(AS_TRANS).to_be_bytes());
            }
        }
        let (from, to) = (CATALOG_AS.to_be_bytes(), asn.to_be_bytes());
        let mut i = 19;
        while let Some(w) = m.get_mut(i..i + 4) {
            if *w == from {
                w.copy_from_slice(&to);
                i += 4;
            } else {
                i += 1;
            }
        }
        m
    }
}

/// When a malformed message is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Instead of our OPEN, on a fresh connection.
    Open,
    /// Once the session is Established.
    Established,
}

fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    m.push(kind);
    m.extend_from_slice(body);
    m
}

/// An UPDATE with these attribute octets and IPv4 NLRI 10.244.9.0/26.
fn update(attrs: &[u8]) -> Vec<u8> {
    let mut body = vec![0, 0];
    body.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    body.extend_from_slice(attrs);
    body.extend_from_slice(&[26, 10, 244, 9, 0]);
    message(2, &body)
}

const ORIGIN: [u8; 4] = [0x40, 1, 1, 0];
const AS_PATH: [u8; 9] = [0x40, 2, 6, 2, 1, 0, 0, 0xfc, 0x01];
const NEXT_HOP: [u8; 7] = [0x40, 3, 4, 198, 51, 100, 99];

fn with(extra: &[&[u8]]) -> Vec<u8> {
    let mut a = Vec::new();
    for part in extra {
        a.extend_from_slice(part);
    }
    update(&a)
}

/// An OPEN from AS 64513 (2-octet field and 4-octet AS capability), hold time 90, router id
/// 198.51.100.99, capabilities IPv4 unicast and 4-octet AS, then changed by `edit`.
fn open_with(version: u8, asn: u16, hold: u16, id: [u8; 4], params: &[u8]) -> Vec<u8> {
    let mut body = vec![version];
    body.extend_from_slice(&asn.to_be_bytes());
    body.extend_from_slice(&hold.to_be_bytes());
    body.extend_from_slice(&id);
    body.push(params.len() as u8);
    body.extend_from_slice(params);
    message(1, &body)
}

/// Capabilities: MP IPv4 unicast, 4-octet AS `asn`.
fn caps(asn: u32) -> Vec<u8> {
    let a = asn.to_be_bytes();
    vec![2, 12, 1, 4, 0, 1, 0, 1, 65, 4, a[0], a[1], a[2], a[3]]
}

const ID: [u8; 4] = [198, 51, 100, 99];

/// The catalog of malformed messages (items of ../shared/BAD-INPUTS.md).
pub const MALFORMED: &[MalformedCase] = &[
    MalformedCase {
        stage: Stage::Established,
        name: "bad-marker",
        expect: "item 1: NOTIFICATION 1/1, session reset",
        bytes: || {
            let mut m = message(4, &[]);
            if let Some(b) = m.get_mut(3) {
                *b = 0;
            }
            m
        },
    },
    MalformedCase {
        stage: Stage::Established,
        name: "bad-length",
        expect: "item 2: NOTIFICATION 1/2 with the length, session reset",
        bytes: || {
            let mut m = message(4, &[0]);
            if let Some(b) = m.get_mut(17) {
                *b = 20;
            }
            m
        },
    },
    MalformedCase {
        stage: Stage::Established,
        name: "bad-type",
        expect: "item 3: NOTIFICATION 1/3, session reset",
        bytes: || message(0, &[]),
    },
    MalformedCase {
        stage: Stage::Established,
        name: "attribute-overrun",
        expect: "item 10: RFC 7606 treat-as-withdraw, session stays up",
        bytes: || with(&[&ORIGIN, &AS_PATH, &NEXT_HOP, &[0xc0, 99, 40, 1, 2]]),
    },
    MalformedCase {
        stage: Stage::Established,
        name: "missing-next-hop",
        expect: "item 11: RFC 7606 treat-as-withdraw, session stays up",
        bytes: || with(&[&ORIGIN, &AS_PATH]),
    },
    MalformedCase {
        stage: Stage::Established,
        name: "origin-optional-flag",
        expect: "item 12: RFC 7606 treat-as-withdraw, session stays up",
        bytes: || with(&[&[0xc0, 1, 1, 0], &AS_PATH, &NEXT_HOP]),
    },
    MalformedCase {
        stage: Stage::Established,
        name: "bad-origin",
        expect: "item 13: RFC 7606 treat-as-withdraw, session stays up",
        bytes: || with(&[&[0x40, 1, 1, 7], &AS_PATH, &NEXT_HOP]),
    },
    MalformedCase {
        stage: Stage::Established,
        name: "as-path-zero-segment",
        expect: "item 14: RFC 7606 treat-as-withdraw, session stays up",
        bytes: || with(&[&ORIGIN, &[0x40, 2, 2, 2, 0], &NEXT_HOP]),
    },
    MalformedCase {
        stage: Stage::Established,
        name: "next-hop-length",
        expect: "item 15: RFC 7606 treat-as-withdraw, session stays up",
        bytes: || with(&[&ORIGIN, &AS_PATH, &[0x40, 3, 5, 198, 51, 100, 99, 0]]),
    },
    MalformedCase {
        stage: Stage::Established,
        name: "communities-length",
        expect: "item 18: RFC 7606 treat-as-withdraw, session stays up",
        bytes: || with(&[&ORIGIN, &AS_PATH, &NEXT_HOP, &[0xc0, 8, 3, 0, 1, 2]]),
    },
    MalformedCase {
        stage: Stage::Established,
        name: "mp-reach-twice",
        expect: "item 20: NOTIFICATION 3/1, session reset",
        bytes: || {
            let mp = [
                0x80, 14, 21, 0, 2, 1, 16, 0x20, 1, 0x0d, 0xb8, 0, 0x51, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0x11, 0,
            ];
            with(&[&ORIGIN, &AS_PATH, &NEXT_HOP, &mp, &mp])
        },
    },
    MalformedCase {
        stage: Stage::Established,
        name: "nlri-too-long",
        expect: "item 21: NOTIFICATION 3/10, session reset",
        bytes: || {
            let mut body = vec![0, 0];
            let a: Vec<u8> = [&ORIGIN[..], &AS_PATH, &NEXT_HOP].concat();
            body.extend_from_slice(&(a.len() as u16).to_be_bytes());
            body.extend_from_slice(&a);
            body.extend_from_slice(&[33, 10, 244, 9, 0, 0]);
            message(2, &body)
        },
    },
    MalformedCase {
        stage: Stage::Established,
        name: "unknown-well-known",
        expect: "item 22: NOTIFICATION 3/2 with the attribute, session reset",
        bytes: || with(&[&ORIGIN, &AS_PATH, &NEXT_HOP, &[0x40, 99, 1, 0]]),
    },
    MalformedCase {
        stage: Stage::Established,
        name: "prefix-sid-corrupt",
        expect: "item 23: TLV cut short, attribute discarded (RFC 8669 §6), route kept (the 2025 all-zero Prefix-SID)",
        bytes: || with(&[&ORIGIN, &AS_PATH, &NEXT_HOP, &[0xc0, 40, 4, 0, 0, 0, 0]]),
    },
    MalformedCase {
        stage: Stage::Established,
        name: "tunnel-encap-corrupt",
        expect: "item 23: tunnel TLV overruns the attribute, attribute discarded (RFC 9012 §13), route kept",
        bytes: || {
            with(&[
                &ORIGIN,
                &AS_PATH,
                &NEXT_HOP,
                &[0xc0, 23, 5, 0, 8, 0xff, 0xff, 1],
            ])
        },
    },
    MalformedCase {
        stage: Stage::Established,
        name: "short-notification",
        expect: "item 24: the session closes without a NOTIFICATION in reply",
        bytes: || message(3, &[6]),
    },
    MalformedCase {
        stage: Stage::Open,
        name: "open-version-3",
        expect: "item 5: NOTIFICATION 2/1 with the supported version (00 04)",
        bytes: || open_with(3, 64513, 90, ID, &caps(64513)),
    },
    MalformedCase {
        stage: Stage::Open,
        name: "open-hold-time-1",
        expect: "item 5: NOTIFICATION 2/6",
        bytes: || open_with(4, 64513, 1, ID, &caps(64513)),
    },
    MalformedCase {
        stage: Stage::Open,
        name: "open-bad-peer-as",
        expect: "item 6: NOTIFICATION 2/2",
        bytes: || open_with(4, 64999, 90, ID, &caps(64999)),
    },
    MalformedCase {
        stage: Stage::Open,
        name: "open-as-zero",
        expect: "item 6: NOTIFICATION 2/2",
        bytes: || open_with(4, 0, 90, ID, &caps(0)),
    },
    MalformedCase {
        stage: Stage::Open,
        name: "open-bgp-id-zero",
        expect: "item 6: NOTIFICATION 2/3",
        bytes: || open_with(4, 64513, 90, [0; 4], &caps(64513)),
    },
    MalformedCase {
        stage: Stage::Open,
        name: "open-params-truncated",
        expect: "item 7: a clean NOTIFICATION (optional parameter overruns the OPEN)",
        bytes: || open_with(4, 64513, 90, ID, &[2, 14, 1, 4, 0, 1]),
    },
    MalformedCase {
        stage: Stage::Open,
        name: "open-capability-length",
        expect: "item 8: a clean NOTIFICATION (4-octet AS capability of length 2)",
        bytes: || open_with(4, 64513, 90, ID, &[2, 4, 65, 2, 0xfc, 0x01]),
    },
    MalformedCase {
        stage: Stage::Open,
        name: "open-fqdn-zero-length",
        expect: "item 8: a clean NOTIFICATION (FQDN capability of length 0)",
        bytes: || {
            let mut p = caps(64513);
            p.extend_from_slice(&[2, 2, 73, 0]);
            open_with(4, 64513, 90, ID, &p)
        },
    },
    MalformedCase {
        stage: Stage::Open,
        name: "open-unknown-capabilities",
        expect: "item 8: FQDN 73 (empty names), software-version 75 (empty), role 9 and unknown 200 tolerated: our KEEPALIVE",
        bytes: || {
            let mut p = caps(64513);
            p.extend_from_slice(&[2, 13, 73, 2, 0, 0, 75, 1, 0, 9, 1, 3, 200, 1, 0]);
            open_with(4, 64513, 90, ID, &p)
        },
    },
    MalformedCase {
        stage: Stage::Established,
        name: "withdrawn-length-overrun",
        expect: "item 9: NOTIFICATION 3/1, session reset",
        bytes: || message(2, &[0, 40, 0, 0]),
    },
    MalformedCase {
        stage: Stage::Established,
        name: "origin-length",
        expect: "item 13: RFC 7606 treat-as-withdraw, session stays up",
        bytes: || with(&[&[0x40, 1, 2, 0, 0], &AS_PATH, &NEXT_HOP]),
    },
    MalformedCase {
        stage: Stage::Established,
        name: "as-path-as-zero",
        expect: "item 14: RFC 7606 treat-as-withdraw, session stays up",
        bytes: || with(&[&ORIGIN, &[0x40, 2, 10, 2, 2, 0, 0, 0xfc, 0x01, 0, 0, 0, 0], &NEXT_HOP]),
    },
    MalformedCase {
        stage: Stage::Established,
        name: "as-path-confed",
        expect: "item 14: AS_CONFED_SEQUENCE from an external peer (RFC 5065 §5), treat-as-withdraw",
        bytes: || {
            with(&[
                &ORIGIN,
                &[0x40, 2, 12, 2, 1, 0, 0, 0xfc, 0x01, 3, 1, 0, 0, 0xfd, 0xe8],
                &NEXT_HOP,
            ])
        },
    },
    MalformedCase {
        stage: Stage::Established,
        name: "med-length",
        expect: "item 16: RFC 7606 treat-as-withdraw, session stays up",
        bytes: || with(&[&ORIGIN, &AS_PATH, &NEXT_HOP, &[0x80, 4, 3, 0, 0, 1]]),
    },
    MalformedCase {
        stage: Stage::Established,
        name: "local-pref-ebgp",
        expect: "item 16: LOCAL_PREF from an eBGP peer discarded, route kept",
        bytes: || with(&[&ORIGIN, &AS_PATH, &NEXT_HOP, &[0x40, 5, 4, 0, 0, 0, 200]]),
    },
    MalformedCase {
        stage: Stage::Established,
        name: "atomic-aggregate-length",
        expect: "item 17: ATOMIC_AGGREGATE discarded, route kept",
        bytes: || with(&[&ORIGIN, &AS_PATH, &NEXT_HOP, &[0x40, 6, 1, 0]]),
    },
    MalformedCase {
        stage: Stage::Established,
        name: "aggregator-length",
        expect: "item 17: AGGREGATOR discarded, route kept",
        bytes: || with(&[&ORIGIN, &AS_PATH, &NEXT_HOP, &[0xc0, 7, 3, 0, 0, 1]]),
    },
    MalformedCase {
        stage: Stage::Established,
        name: "ext-communities-length",
        expect: "item 18: RFC 7606 treat-as-withdraw, session stays up",
        bytes: || with(&[&ORIGIN, &AS_PATH, &NEXT_HOP, &[0xc0, 16, 7, 0, 2, 0, 1, 0, 0, 1]]),
    },
    MalformedCase {
        stage: Stage::Established,
        name: "large-communities-length",
        expect: "item 18: RFC 7606 treat-as-withdraw, session stays up",
        bytes: || {
            with(&[
                &ORIGIN,
                &AS_PATH,
                &NEXT_HOP,
                &[0xc0, 32, 11, 0, 0, 0xfc, 1, 0, 0, 0, 1, 0, 0, 0],
            ])
        },
    },
    MalformedCase {
        stage: Stage::Established,
        name: "originator-id-ebgp",
        expect: "item 19: malformed ORIGINATOR_ID on eBGP discarded, route kept",
        bytes: || with(&[&ORIGIN, &AS_PATH, &NEXT_HOP, &[0x80, 9, 3, 1, 2, 3]]),
    },
    MalformedCase {
        stage: Stage::Established,
        name: "duplicate-attribute",
        expect: "item 20: the same MED twice, the first kept, route kept",
        bytes: || {
            with(&[
                &ORIGIN,
                &AS_PATH,
                &NEXT_HOP,
                &[0x80, 4, 4, 0, 0, 0, 7],
                &[0x80, 4, 4, 0, 0, 0, 9],
            ])
        },
    },
    MalformedCase {
        stage: Stage::Established,
        name: "host-bits-set",
        expect: "item 21: 10.244.9.1/26 masked to 10.244.9.0/26, accepted",
        bytes: || {
            let mut m = with(&[&ORIGIN, &AS_PATH, &NEXT_HOP]);
            if let Some(b) = m.last_mut() {
                *b = 1;
            }
            m
        },
    },
    MalformedCase {
        stage: Stage::Established,
        name: "unknown-optional-transitive",
        expect: "item 22: kept (passed on with the Partial bit), route kept",
        bytes: || with(&[&ORIGIN, &AS_PATH, &NEXT_HOP, &[0xc0, 250, 2, 0xab, 0xcd]]),
    },
    MalformedCase {
        stage: Stage::Established,
        name: "unknown-optional-non-transitive",
        expect: "item 22: dropped, route kept",
        bytes: || with(&[&ORIGIN, &AS_PATH, &NEXT_HOP, &[0x80, 251, 2, 0xab, 0xcd]]),
    },
    MalformedCase {
        stage: Stage::Established,
        name: "notification-bad-shutdown",
        expect: "item 24: Cease 6/2 with a shutdown length past the end and invalid UTF-8: closed, no reply",
        bytes: || message(3, &[6, 2, 40, 0xff, 0xfe]),
    },
];

/// What the target answered to an OPEN-stage case.
#[derive(Debug, Default)]
pub struct OpenReaction {
    /// Types of the messages received, in order (1 OPEN, 3 NOTIFICATION, 4 KEEPALIVE).
    pub types: Vec<u8>,
    /// The NOTIFICATION received: code, subcode, data.
    pub notification: Option<(u8, u8, Vec<u8>)>,
    /// The target closed the connection.
    pub closed: bool,
}

impl std::fmt::Display for OpenReaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.notification {
            Some((c, s, d)) => write!(f, "the target sent NOTIFICATION {c}/{s} data {d:02x?}")?,
            None if self.types.contains(&4) => write!(f, "the target sent a KEEPALIVE")?,
            None => write!(f, "the target sent no NOTIFICATION")?,
        }
        if self.closed {
            write!(f, " and closed the session")?;
        }
        Ok(())
    }
}

/// Opens a raw connection to `target` (from `local` if given), sends `bytes` as our first
/// message and reads what comes back until a NOTIFICATION or KEEPALIVE, the end of the
/// connection, or `wait`.
pub async fn open_case(
    target: SocketAddr,
    local: Option<IpAddr>,
    bytes: &[u8],
    wait: Duration,
) -> anyhow::Result<OpenReaction> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let socket = match target {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    if let Some(l) = local {
        socket.bind(SocketAddr::new(l, 0))?;
    }
    let mut stream = socket.connect(target).await?;
    stream.write_all(bytes).await?;
    let mut r = OpenReaction::default();
    let mut buf = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        while let (Some(&hi), Some(&lo), Some(&kind)) = (buf.get(16), buf.get(17), buf.get(18)) {
            let len = usize::from(u16::from_be_bytes([hi, lo])).max(19);
            let Some(msg) = buf.get(..len) else { break };
            r.types.push(kind);
            if let (3, Some(&code), Some(&sub)) = (kind, msg.get(19), msg.get(20)) {
                r.notification = Some((code, sub, msg.get(21..).unwrap_or(&[]).to_vec()));
            }
            buf.drain(..len);
            if kind == 3 || kind == 4 {
                return Ok(r);
            }
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                r.closed = true;
                return Ok(r);
            }
            Ok(Ok(n)) => buf.extend_from_slice(chunk.get(..n).unwrap_or(&[])),
            Err(_) => return Ok(r),
        }
    }
}

/// Runs `bgpd chaos`.
pub fn run(args: &ChaosArgs) -> anyhow::Result<()> {
    if let Fault::Malformed { name } = &args.fault {
        if name == "list" {
            for c in MALFORMED {
                println!("{:<22} {}", c.name, c.expect);
            }
            return Ok(());
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(chaos(args))
}

fn config(args: &ChaosArgs, graceful: Option<u16>) -> LabPeerConfig {
    let mut c = LabPeerConfig::new(args.asn, args.router_id);
    c.local_address = args.local_address;
    c.graceful_restart = graceful;
    c
}

async fn connect(args: &ChaosArgs, cfg: LabPeerConfig) -> anyhow::Result<LabPeer> {
    let deadline = Instant::now() + Duration::from_secs(args.timeout.min(120));
    loop {
        match LabPeer::connect(args.target, cfg.clone()).await {
            Ok(p) => return Ok(p),
            Err(e) if Instant::now() >= deadline => {
                return Err(anyhow::anyhow!(e)).context("no session with the target")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Waits for the target to close the session; describes what it sent.
async fn reaction(peer: &LabPeer, wait: Duration) -> String {
    reaction_since(peer, wait, Instant::now()).await
}

/// Like [`reaction`], with the time counted from `started`.
async fn reaction_since(peer: &LabPeer, wait: Duration, started: Instant) -> String {
    if peer.wait_for(wait, |r| r.closed).await {
        let secs = started.elapsed().as_secs_f64();
        match peer.received().notification {
            Some(n) => {
                format!("the target sent NOTIFICATION {n} and closed the session after {secs:.1} s")
            }
            None => {
                format!("the target closed the session without a NOTIFICATION after {secs:.1} s")
            }
        }
    } else {
        format!(
            "the session is still up after {:.0} s",
            started.elapsed().as_secs_f64()
        )
    }
}

/// Ends a session that is still up with Cease 6/2: a session that just drops would leave its
/// routes as stale for the restart time at every graceful-restart helper (RFC 4724 §4.2).
async fn finish(peer: LabPeer) {
    if !peer.received().closed {
        let n = bgp_proto::Notification::cease_with_message(2, "bgpd chaos: fault done");
        peer.close(Some(n)).await;
    }
}

/// Receive buffer of the `stop-reading` connection: small, so that the TCP window closes
/// after a few KB (the kernel doubles it and keeps a minimum).
const SMALL_RCVBUF: u32 = 2048;
/// ROUTE-REFRESH messages a second while not reading: each asks the target to send its whole
/// table again, so even a small table fills the socket buffers within seconds.
const REFRESH_PER_SECOND: usize = 50;

/// Connects like [`connect`] with a small receive buffer (set before the SYN, so the window
/// the target sees is small from the start).
async fn connect_small_window(args: &ChaosArgs) -> anyhow::Result<LabPeer> {
    let deadline = Instant::now() + Duration::from_secs(args.timeout.min(120));
    loop {
        let attempt = async {
            let socket = match args.target {
                SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
                SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
            };
            socket.set_recv_buffer_size(SMALL_RCVBUF)?;
            if let Some(l) = args.local_address {
                socket.bind(SocketAddr::new(l, 0))?;
            }
            let stream = tokio::time::timeout(Duration::from_secs(10), socket.connect(args.target))
                .await
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
            LabPeer::start(stream, config(args, None))
                .await
                .map_err(anyhow::Error::from)
        };
        match attempt.await {
            Ok(p) => return Ok(p),
            Err(e) if Instant::now() >= deadline => {
                return Err(e).context("no session with the target")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

fn routes(n: u32) -> Vec<String> {
    (0..n)
        .map(|i| format!("198.18.{}.{}/32", (i >> 8) & 0xff, i & 0xff))
        .collect()
}

async fn chaos(args: &ChaosArgs) -> anyhow::Result<()> {
    let route = LabRoute::new(vec![args.asn], args.next_hop);
    let wait = Duration::from_secs(args.timeout);
    match &args.fault {
        Fault::Flap { interval, count } => {
            for i in 1..=*count {
                let t0 = Instant::now();
                let p = connect(args, config(args, None)).await?;
                p.announce(&route, &["198.18.255.0/24"]);
                println!(
                    "flap {i}/{count}: Established after {:.1} s",
                    t0.elapsed().as_secs_f64()
                );
                tokio::time::sleep(Duration::from_secs(*interval)).await;
                p.kill();
                println!("flap {i}/{count}: connection dropped");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        Fault::Silent => {
            let p = connect(args, config(args, None)).await?;
            p.announce(&route, &["198.18.255.0/24"]);
            p.stop_keepalives();
            println!(
                "KEEPALIVEs stopped (hold time {} s on the target's side of the OPENs)",
                p.remote_open.hold_time
            );
            println!("{}", reaction(&p, wait).await);
            finish(p).await;
        }
        Fault::StopReading => {
            let p = connect_small_window(args).await?;
            p.stop_reading();
            println!("stopped reading (receive buffer {SMALL_RCVBUF} octets); KEEPALIVEs go on, {REFRESH_PER_SECOND} ROUTE-REFRESH a second");
            let started = Instant::now();
            let refresh = Message::RouteRefresh(RouteRefresh::request(Family::IPV4_UNICAST));
            // One at a time, not a burst a second: a target may answer a burst of requests
            // once (bgpd answers a request that arrives while its answer to an earlier one is
            // still on its way with that answer), and a burst would then not fill the window.
            let every = Duration::from_secs(1) / REFRESH_PER_SECOND as u32;
            while started.elapsed() < wait && !p.received().closed {
                p.send(refresh.clone());
                p.wait_for(every, |r| r.closed).await;
            }
            println!("{}", reaction_since(&p, Duration::ZERO, started).await);
            finish(p).await;
        }
        Fault::Malformed { name } => {
            let case = MALFORMED.iter().find(|c| c.name == name).ok_or_else(|| {
                anyhow::anyhow!(
                    "no malformed case {name:?} (`bgpd chaos --target X malformed list`)"
                )
            })?;
            if case.stage == Stage::Open {
                let r = open_case(
                    args.target,
                    args.local_address,
                    &case.bytes_as(args.asn),
                    wait.min(Duration::from_secs(5)),
                )
                .await?;
                println!("sent {} ({})", case.name, case.expect);
                println!("{r}");
                return Ok(());
            }
            let p = connect(args, config(args, None)).await?;
            p.announce(&route, &[CONTROL_PREFIX, CASE_PREFIX]);
            println!("announced {CONTROL_PREFIX} (control) and {CASE_PREFIX} validly");
            // Time for the target to install them (FRR takes about a second).
            tokio::time::sleep(Duration::from_secs(2)).await;
            p.send_raw(case.bytes_as(args.asn).into());
            println!("sent {} ({})", case.name, case.expect);
            println!("{}", reaction(&p, wait.min(Duration::from_secs(5))).await);
            finish(p).await;
        }
        Fault::MaxPrefix { count } => {
            let p = connect(args, config(args, None)).await?;
            let all = routes(*count);
            for chunk in all.chunks(500) {
                let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
                p.announce(&route, &refs);
            }
            println!("announced {count} routes");
            println!("{}", reaction(&p, wait.min(Duration::from_secs(10))).await);
            finish(p).await;
        }
        Fault::GracefulRestart { down } => {
            let all = routes(10);
            let refs: Vec<&str> = all.iter().map(String::as_str).collect();
            let p = connect(args, config(args, Some(120))).await?;
            p.announce(&route, &refs);
            p.end_of_rib(Family::IPV4_UNICAST);
            tokio::time::sleep(Duration::from_secs(1)).await;
            p.kill();
            println!("session killed after announcing 10 routes (graceful restart, 120 s)");
            tokio::time::sleep(Duration::from_secs(*down)).await;
            let t0 = Instant::now();
            let mut cfg = config(args, Some(120));
            cfg.graceful_restart_restarting = true;
            let p = connect(args, cfg).await?;
            println!(
                "back after {:.1} s with the restart bit; re-announcing 5 routes and End-of-RIB",
                t0.elapsed().as_secs_f64()
            );
            p.announce(&route, refs.get(..5).unwrap_or(&[]));
            p.end_of_rib(Family::IPV4_UNICAST);
            tokio::time::sleep(Duration::from_secs(2)).await;
            println!("{}", reaction(&p, Duration::from_secs(1)).await);
            finish(p).await;
        }
        Fault::WrongOrigin { prefix } => {
            let p = connect(args, config(args, None)).await?;
            let path = if args.asn == 64514 {
                vec![64514]
            } else {
                vec![args.asn, 64514]
            };
            let shown: Vec<String> = path.iter().map(u32::to_string).collect();
            let wrong = LabRoute::new(path, args.next_hop);
            p.announce(&wrong, &[prefix.as_str()]);
            println!(
                "announced {prefix} with AS_PATH {} (a pod block from MetalLB's AS)",
                shown.join(" ")
            );
            println!("{}", reaction(&p, Duration::from_secs(3)).await);
            finish(p).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(name: &str) -> &'static MalformedCase {
        MALFORMED
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no case {name}"))
    }

    fn count(haystack: &[u8], needle: &[u8]) -> usize {
        haystack
            .windows(needle.len())
            .filter(|w| *w == needle)
            .count()
    }

    #[test]
    fn bytes_as_puts_our_as_in_open_and_as_path() {
        let ours = 64515u32.to_be_bytes();
        let catalog = 64513u32.to_be_bytes();
        // UPDATE: the AS_PATH segment carries our AS, the length is unchanged.
        let u = case("bad-origin").bytes_as(64515);
        assert_eq!(u.len(), (case("bad-origin").bytes)().len());
        assert_eq!((count(&u, &ours), count(&u, &catalog)), (1, 0));
        // OPEN: My AS and the 4-octet AS capability.
        let o = case("open-capability-length").bytes_as(64515);
        assert_eq!(o.get(20..22), Some(&64515u16.to_be_bytes()[..]));
        let o = case("open-unknown-capabilities").bytes_as(4_200_000_000);
        assert_eq!(o.get(20..22), Some(&23456u16.to_be_bytes()[..]));
        assert_eq!(count(&o, &4_200_000_000u32.to_be_bytes()), 1);
        // A wrong AS on purpose stays wrong; AS 64513 changes nothing.
        let b = case("open-bad-peer-as");
        assert_eq!(b.bytes_as(64515), (b.bytes)());
        assert_eq!(
            case("mp-reach-twice").bytes_as(64513),
            (case("mp-reach-twice").bytes)()
        );
    }
}
