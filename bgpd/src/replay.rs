//! `bgpd replay FILE`: plays the UPDATEs one peer sent, as recorded in an MRT file (BGP4MP or
//! BGP4MP_ET: a bgpd recording, a route collector's updates file), into a live session with
//! any BGP speaker, as that peer: its AS, router id and capabilities (from its recorded OPEN
//! when there is one). Original spacing, scaled by `--speed`, or as fast as possible with
//! `--fast`; once or `--loop N` times.
//!
//! Messages are re-encoded for the session that was negotiated (AS width, ADD-PATH), except
//! messages that were malformed when recorded: those go out as the recorded octets, so a
//! peer's bad UPDATE reaches the target exactly as it was.

use crate::lab_peer::{LabPeer, LabPeerConfig};
use anyhow::Context as _;
use bgp_proto::mrt::{MrtBody, MrtReader};
use bgp_proto::{Message, Nlri, Open, Update};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Options of `bgpd replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The MRT file (plain, gzip or bzip2).
    pub file: PathBuf,
    /// The speaker to replay into (ADDRESS:PORT).
    #[arg(long)]
    pub target: SocketAddr,
    /// Replay only this recorded peer (default: the first peer with UPDATEs in the file).
    #[arg(long)]
    pub peer: Option<IpAddr>,
    /// Source address of the session (the target must know it as a neighbor).
    #[arg(long)]
    pub local_address: Option<IpAddr>,
    /// Our AS (default: the recorded peer's AS).
    #[arg(long = "as")]
    pub asn: Option<u32>,
    /// Our router id (default: from the recorded OPEN, else the recorded peer's IPv4 address).
    #[arg(long)]
    pub router_id: Option<Ipv4Addr>,
    /// Play faster (2 = twice as fast) or slower (0.5).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Ignore the recorded spacing: send as fast as TCP allows.
    #[arg(long)]
    pub fast: bool,
    /// Play the file this many times.
    #[arg(long = "loop", default_value_t = 1)]
    pub repeat: u32,
    /// Keep the session up this many seconds after the last UPDATE, then close (Cease 6/2).
    #[arg(long, default_value_t = 1)]
    pub hold: u64,
}

/// What the first pass learns about the recorded peer.
struct RecordedPeer {
    address: IpAddr,
    asn: u32,
    /// The OPENs it sent, one per recorded session, in order.
    opens: Vec<Open>,
    updates: u64,
}

/// The first pass: the peer to replay (the first with UPDATEs, or `--peer`), its AS, its
/// UPDATE count, and the OPEN it sent for each session: the last OPEN recorded from it before
/// each state change to Established (a connection that lost a collision sends an OPEN too).
/// A file without state changes (a collector's updates file) gives its last OPEN, if any.
fn scan(args: &ReplayArgs) -> anyhow::Result<RecordedPeer> {
    let mut found: Option<RecordedPeer> = None;
    let mut latest: HashMap<IpAddr, Open> = HashMap::new();
    let mut sessions: Vec<(IpAddr, Open)> = Vec::new();
    for r in MrtReader::open(&args.file)
        .with_context(|| format!("cannot open {}", args.file.display()))?
        .flatten()
    {
        let m = match r.body {
            MrtBody::Message(m) => m,
            MrtBody::StateChange(c) if c.new_state == 6 => {
                let address = c.peer.peer_address;
                if let Some(o) = latest.get(&address) {
                    sessions.push((address, o.clone()));
                }
                continue;
            }
            _ => continue,
        };
        if m.local || args.peer.is_some_and(|p| p != m.peer.peer_address) {
            continue;
        }
        match &m.message {
            Message::Open(o) => {
                latest.insert(m.peer.peer_address, o.clone());
            }
            Message::Update(_) => match &mut found {
                Some(f) if f.address == m.peer.peer_address => f.updates += 1,
                Some(_) => {}
                None => {
                    found = Some(RecordedPeer {
                        address: m.peer.peer_address,
                        asn: m.peer.peer_as,
                        opens: Vec::new(),
                        updates: 1,
                    })
                }
            },
            _ => {}
        }
    }
    let mut peer = found.ok_or_else(|| {
        anyhow::anyhow!(
            "no UPDATE from {} in {}",
            args.peer
                .map(|p| p.to_string())
                .unwrap_or_else(|| "any peer".into()),
            args.file.display()
        )
    })?;
    peer.opens = sessions
        .into_iter()
        .filter(|(a, _)| *a == peer.address)
        .map(|(_, o)| o)
        .collect();
    if peer.opens.is_empty() {
        peer.opens.extend(latest.remove(&peer.address));
    }
    Ok(peer)
}

/// Fits an UPDATE to the negotiated session: path identifiers only where ADD-PATH was
/// negotiated for sending.
fn fit(mut u: Update, ctx: &bgp_proto::SessionContext) -> Update {
    let strip = |n: &mut Nlri, family| {
        if !ctx.add_path.contains(family) {
            n.path_id = None;
        }
    };
    u.nlri
        .iter_mut()
        .for_each(|n| strip(n, bgp_proto::Family::IPV4_UNICAST));
    u.withdrawn
        .iter_mut()
        .for_each(|n| strip(n, bgp_proto::Family::IPV4_UNICAST));
    for a in &mut u.attributes.0 {
        match &mut a.value {
            bgp_proto::AttributeValue::MpReach(m) => {
                let f = m.family;
                m.nlri.iter_mut().for_each(|n| strip(n, f));
            }
            bgp_proto::AttributeValue::MpUnreach(m) => {
                let f = m.family;
                m.withdrawn.iter_mut().for_each(|n| strip(n, f));
            }
            _ => {}
        }
    }
    u
}

/// One recorded event of the replayed peer.
enum Recorded {
    Message(Box<bgp_proto::mrt::Bgp4mpMessage>),
    State(u16, u16),
}

/// Opens the session, retrying for up to a minute (the target may be in its back-off after
/// a restart, exactly as it was when recorded).
async fn connect(target: SocketAddr, config: &LabPeerConfig) -> anyhow::Result<LabPeer> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match LabPeer::connect(target, config.clone()).await {
            Ok(p) => return Ok(p),
            Err(e) if Instant::now() >= deadline => {
                return Err(anyhow::anyhow!(e)).with_context(|| format!("no session with {target}"))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Runs `bgpd replay`.
pub fn run(args: &ReplayArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(replay(args))
}

async fn replay(args: &ReplayArgs) -> anyhow::Result<()> {
    let recorded = scan(args)?;
    let last_open = recorded.opens.last();
    let asn = args
        .asn
        .or(last_open.map(Open::asn))
        .unwrap_or(recorded.asn);
    let router_id = args
        .router_id
        .or(last_open.map(|o| o.bgp_id))
        .or(match recorded.address {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        })
        .unwrap_or(Ipv4Addr::new(192, 0, 2, 1));
    let mut base = LabPeerConfig::new(asn, router_id);
    base.local_address = args.local_address;
    // Session n (0 = the first) opens with the OPEN the peer sent for its n-th recorded
    // session (the last one once they run out): a peer that came back from a graceful restart
    // with the restart bit (RFC 4724 §3) does so again, and only then.
    let config_for = |n: u64| {
        let mut c = base.clone();
        let o = usize::try_from(n)
            .ok()
            .and_then(|n| recorded.opens.get(n))
            .or(last_open);
        if let Some(o) = o {
            c.open = Some(Open {
                my_as: o.my_as,
                bgp_id: router_id,
                ..o.clone()
            });
        }
        c
    };
    eprintln!(
        "replaying {} UPDATEs of {} (AS {asn}, router id {router_id}) from {} into {}",
        recorded.updates,
        recorded.address,
        args.file.display(),
        args.target
    );
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let (mut sent, mut prefixes, mut raw_sent, mut restarts) = (0u64, 0u64, 0u64, 0u64);
    let total = recorded.updates * u64::from(args.repeat.max(1));
    let mut session: Option<LabPeer> = Some(connect(args.target, &config_for(0)).await?);
    let mut notification = None;
    for _ in 0..args.repeat.max(1) {
        let mut previous: Option<f64> = None;
        let mut last_send = Instant::now();
        for r in MrtReader::open(&args.file)?.flatten() {
            let (address, event) = match r.body {
                MrtBody::Message(m) if !m.local => {
                    (m.peer.peer_address, Recorded::Message(Box::new(m)))
                }
                MrtBody::StateChange(s) => (
                    s.peer.peer_address,
                    Recorded::State(s.old_state, s.new_state),
                ),
                _ => continue,
            };
            if address != recorded.address {
                continue;
            }
            let t =
                f64::from(r.header.timestamp) + f64::from(r.header.microseconds.unwrap_or(0)) / 1e6;
            if let (false, Some(p)) = (args.fast, previous) {
                let gap = ((t - p) / args.speed.max(1e-6)).max(0.0);
                let due = last_send + Duration::from_secs_f64(gap.min(3600.0));
                tokio::time::sleep_until(due.into()).await;
            }
            previous = Some(t);
            last_send = Instant::now();
            match event {
                // The recorded session ended without a NOTIFICATION from the peer: drop the
                // connection the same way (a killed process, a cut link).
                Recorded::State(6, new) if new != 6 => {
                    if let Some(p) = session.take() {
                        notification = p.received().notification.clone().or(notification);
                        p.kill();
                    }
                }
                Recorded::State(_, 6) if session.is_none() => {
                    session = Some(connect(args.target, &config_for(restarts + 1)).await?);
                    restarts += 1;
                }
                Recorded::State(..) => {}
                Recorded::Message(m) => match m.message {
                    Message::Notification(n) => {
                        if let Some(p) = session.take() {
                            p.close(Some(n)).await;
                        }
                    }
                    Message::Update(u) => {
                        if session.is_none() {
                            session = Some(connect(args.target, &config_for(restarts + 1)).await?);
                            restarts += 1;
                        }
                        let Some(peer) = &session else { continue };
                        prefixes += (u.announced().count() + u.withdrawals().count()) as u64;
                        if !u.issues.is_empty() && !m.raw.is_empty() {
                            peer.send_raw(m.raw.clone());
                            raw_sent += 1;
                        } else {
                            peer.send(Message::Update(fit(u, &peer.send_context())));
                        }
                        sent += 1;
                        if tty && (sent % 1000 == 0 || sent == total) {
                            let rate = sent as f64 / started.elapsed().as_secs_f64().max(1e-3);
                            eprint!("\r  {sent}/{total} UPDATEs, {prefixes} prefixes, {rate:.0} UPDATEs/s ");
                            let _ = std::io::stderr().flush();
                        }
                    }
                    _ => {}
                },
            }
        }
    }
    if tty {
        eprintln!();
    }
    tokio::time::sleep(Duration::from_secs(args.hold)).await;
    if let Some(p) = session.take() {
        notification = p.received().notification.clone().or(notification);
        p.close(Some(bgp_proto::Notification::cease_with_message(
            2,
            "bgpd replay finished",
        )))
        .await;
    }
    let closed = notification;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "replayed {sent} UPDATEs ({prefixes} prefixes, {raw_sent} sent as recorded octets, {restarts} session restarts) in {secs:.2} s ({:.0} UPDATEs/s){}",
        sent as f64 / secs.max(1e-3),
        closed.map(|n| format!("; the target sent NOTIFICATION {n}")).unwrap_or_default()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp_proto::mrt::{Bgp4mpMessage, Bgp4mpPeer, MrtWriter, StateChange};
    use bgp_proto::{Capability, SessionContext};

    fn restarting(o: &Open) -> bool {
        o.capabilities()
            .any(|c| matches!(c, Capability::GracefulRestart { flags, .. } if flags & 0x8 != 0))
    }

    /// A graceful restart as bgpd records it: a first session (OPEN without the restart bit),
    /// an UPDATE, the session lost, a colliding connection's OPEN, then the session again
    /// with the restart bit.
    #[test]
    fn each_session_gets_the_open_it_was_recorded_with() -> anyhow::Result<()> {
        let peer = Bgp4mpPeer {
            peer_as: 64513,
            local_as: 64515,
            interface_index: 0,
            peer_address: "198.51.100.11".parse()?,
            local_address: "198.51.100.2".parse()?,
        };
        let open = |r: bool| {
            let gr = Capability::GracefulRestart {
                flags: if r { 0x8 } else { 0 },
                restart_time: 120,
                families: Vec::new(),
            };
            let caps = vec![Capability::FourOctetAs(64513), gr];
            Open::new(64513, 90, Ipv4Addr::new(198, 51, 100, 11), caps)
        };
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("updates.mrt");
        let mut w = MrtWriter::new(std::fs::File::create(&file)?);
        let message = |w: &mut MrtWriter<std::fs::File>, m: Message| -> anyhow::Result<()> {
            let raw = m.to_bytes(&SessionContext::default())?;
            let m = Bgp4mpMessage {
                peer,
                four_octet_as: true,
                local: false,
                add_path: false,
                message: Message::Keepalive,
                raw,
            };
            Ok(w.write_message_et(1, 0, &m)?)
        };
        let state = |w: &mut MrtWriter<std::fs::File>, old, new| {
            let c = StateChange {
                peer,
                four_octet_as: true,
                old_state: old,
                new_state: new,
            };
            w.write_state_change_et(1, 0, &c)
        };
        message(&mut w, Message::Open(open(false)))?;
        state(&mut w, 5, 6)?;
        message(&mut w, Message::Update(Update::default()))?;
        state(&mut w, 6, 1)?;
        message(&mut w, Message::Open(open(false)))?;
        message(&mut w, Message::Open(open(true)))?;
        state(&mut w, 5, 6)?;
        w.flush()?;
        let args = ReplayArgs {
            file,
            target: "127.0.0.1:179".parse()?,
            peer: None,
            local_address: None,
            asn: None,
            router_id: None,
            speed: 1.0,
            fast: true,
            repeat: 1,
            hold: 0,
        };
        let recorded = scan(&args)?;
        let flags: Vec<bool> = recorded.opens.iter().map(restarting).collect();
        assert_eq!(flags, [false, true]);
        Ok(())
    }
}
