//! `bgpd chaos`: causes the classic BGP faults on purpose against any speaker, as a peer it
//! is configured for, and reports how the speaker reacted.
//!
//! | fault | what is done | what a correct speaker does |
//! |---|---|---|
//! | `flap` | the session goes up and down every `--interval` s, `--count` times | withdraws and re-learns the routes each time; back-off may delay reconnects |
//! | `silent` | KEEPALIVEs stop | hold timer expires: NOTIFICATION 4/0, routes withdrawn |
//! | `stop-reading` | the socket is not read (TCP window closes), KEEPALIVEs go on | RFC 9687 send hold timer: NOTIFICATION 8/0 (best effort), session dropped |
//! | `malformed NAME` | one malformed message from ../shared/BAD-INPUTS.md (see [`MALFORMED`]) | the NOTIFICATION the RFC names, or RFC 7606 treat-as-withdraw with the session up |
//! | `max-prefix N` | N distinct /32 routes | Cease 6/1 (with AFI/SAFI/limit) if N exceeds its limit |
//! | `graceful-restart` | the session is killed and comes back with the restart (R) bit, re-announcing half the routes, then End-of-RIB | keeps the routes as stale, then flushes the half not re-announced |
//! | `wrong-origin` | a pod block (10.244.0.0/16 range) announced from AS 64514 (MetalLB's) | accepts or rejects per its policy; `bgpd audit` flags it |
//!
//! Every fault is bounded in time and count and stops by itself.

use crate::lab_peer::{LabPeer, LabPeerConfig, LabRoute};
use anyhow::Context as _;
use bgp_proto::Family;
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
    GracefulRestart,
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

/// The catalog of malformed messages (items of ../shared/BAD-INPUTS.md).
pub const MALFORMED: &[MalformedCase] = &[
    MalformedCase {
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
        name: "bad-type",
        expect: "item 3: NOTIFICATION 1/3, session reset",
        bytes: || message(0, &[]),
    },
    MalformedCase {
        name: "attribute-overrun",
        expect: "item 10: RFC 7606 treat-as-withdraw, session stays up",
        bytes: || with(&[&ORIGIN, &AS_PATH, &NEXT_HOP, &[0xc0, 99, 40, 1, 2]]),
    },
    MalformedCase {
        name: "missing-next-hop",
        expect: "item 11: RFC 7606 treat-as-withdraw, session stays up",
        bytes: || with(&[&ORIGIN, &AS_PATH]),
    },
    MalformedCase {
        name: "origin-optional-flag",
        expect: "item 12: RFC 7606 treat-as-withdraw, session stays up",
        bytes: || with(&[&[0xc0, 1, 1, 0], &AS_PATH, &NEXT_HOP]),
    },
    MalformedCase {
        name: "bad-origin",
        expect: "item 13: RFC 7606 treat-as-withdraw, session stays up",
        bytes: || with(&[&[0x40, 1, 1, 7], &AS_PATH, &NEXT_HOP]),
    },
    MalformedCase {
        name: "as-path-zero-segment",
        expect: "item 14: RFC 7606 treat-as-withdraw, session stays up",
        bytes: || with(&[&ORIGIN, &[0x40, 2, 2, 2, 0], &NEXT_HOP]),
    },
    MalformedCase {
        name: "next-hop-length",
        expect: "item 15: RFC 7606 treat-as-withdraw, session stays up",
        bytes: || with(&[&ORIGIN, &AS_PATH, &[0x40, 3, 5, 198, 51, 100, 99, 0]]),
    },
    MalformedCase {
        name: "communities-length",
        expect: "item 18: RFC 7606 treat-as-withdraw, session stays up",
        bytes: || with(&[&ORIGIN, &AS_PATH, &NEXT_HOP, &[0xc0, 8, 3, 0, 1, 2]]),
    },
    MalformedCase {
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
        name: "unknown-well-known",
        expect: "item 22: NOTIFICATION 3/2 with the attribute, session reset",
        bytes: || with(&[&ORIGIN, &AS_PATH, &NEXT_HOP, &[0x40, 99, 1, 0]]),
    },
    MalformedCase {
        name: "prefix-sid-corrupt",
        expect: "item 23: kept or discarded, never a reset (the 2025 all-zero Prefix-SID)",
        bytes: || with(&[&ORIGIN, &AS_PATH, &NEXT_HOP, &[0xc0, 40, 4, 0, 0, 0, 0]]),
    },
    MalformedCase {
        name: "short-notification",
        expect: "item 24: the session closes without a NOTIFICATION in reply",
        bytes: || message(3, &[6]),
    },
];

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
    let started = Instant::now();
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
        format!("the session is still up after {:.0} s", wait.as_secs_f64())
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
        }
        Fault::StopReading => {
            let p = connect(args, config(args, None)).await?;
            p.stop_reading();
            println!("stopped reading; KEEPALIVEs go on");
            println!("{}", reaction(&p, wait).await);
        }
        Fault::Malformed { name } => {
            let case = MALFORMED.iter().find(|c| c.name == name).ok_or_else(|| {
                anyhow::anyhow!(
                    "no malformed case {name:?} (`bgpd chaos --target X malformed list`)"
                )
            })?;
            let p = connect(args, config(args, None)).await?;
            p.send_raw((case.bytes)().into());
            println!("sent {} ({})", case.name, case.expect);
            println!("{}", reaction(&p, wait.min(Duration::from_secs(5))).await);
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
        }
        Fault::GracefulRestart => {
            let all = routes(10);
            let refs: Vec<&str> = all.iter().map(String::as_str).collect();
            let p = connect(args, config(args, Some(120))).await?;
            p.announce(&route, &refs);
            p.end_of_rib(Family::IPV4_UNICAST);
            tokio::time::sleep(Duration::from_secs(1)).await;
            p.kill();
            println!("session killed after announcing 10 routes (graceful restart, 120 s)");
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
        }
        Fault::WrongOrigin { prefix } => {
            let p = connect(args, config(args, None)).await?;
            let wrong = LabRoute::new(vec![64514], args.next_hop);
            p.announce(&wrong, &[prefix.as_str()]);
            println!("announced {prefix} with AS_PATH 64514 (a pod block from MetalLB's AS)");
            println!("{}", reaction(&p, Duration::from_secs(3)).await);
        }
    }
    Ok(())
}
