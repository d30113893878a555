//! `bgpd demo`: the whole lab on loopback with no outside peers. A real bgpd (route server,
//! AS 64515) listens on 127.0.0.2; simulated routers built on bgp-proto ([`crate::lab_peer`])
//! connect from their own loopback addresses:
//!
//! | router | AS | connects from | announces |
//! |---|---|---|---|
//! | vMX1 | 64512 | 127.0.0.101 | default route, 192.0.2.0/24, ::/0 |
//! | Calico node-1..3 | 64513 | 127.0.0.111..113 | two /26 and one /122 pod block each |
//! | MetalLB speaker-1..3 | 64514 | 127.0.0.121..123 | /32 LoadBalancer IPs |
//!
//! Next hops are the nodes' lab addresses (198.51.100.x, ../shared/LAB.md); they are only
//! attribute values, no traffic goes there. The script: sessions come up, pod and
//! LoadBalancer prefixes arrive (the prefix log shows each with its class), a service IP
//! moves from speaker-3 to speaker-1, node-2 restarts with graceful restart, then the
//! neighbor table is printed. `--duration` ends it; Ctrl-C ends it cleanly.

use crate::daemon::{query, Control, Daemon};
use crate::lab_peer::{LabPeer, LabPeerConfig, LabRoute};
use bgp_proto::{AddPathMode, Community, Family};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Options of `bgpd demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// End after this many seconds (the script itself takes about 10).
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    /// TCP port bgpd listens on (127.0.0.2).
    #[arg(long, default_value_t = 1179)]
    pub port: u16,
    /// Port of the HTTP API and /metrics (on 127.0.0.1) while the demo runs.
    #[arg(long, default_value_t = 8179)]
    pub api_port: u16,
    /// Log format.
    #[arg(long, value_enum, default_value_t)]
    pub log_format: crate::logging::LogFormat,
}

const WAIT: Duration = Duration::from_secs(15);

fn config(port: u16, api_port: u16) -> String {
    format!(
        r#"# bgpd demo: route server for a simulated lab on loopback.
[global]
asn = 64515
router_id = "127.0.0.2"
listen = ["127.0.0.2:{port}"]

[api]
listen = "127.0.0.1:{api_port}"


[[classes]]
name = "pod"
prefixes = ["10.244.0.0/16 le 26", "fd00:10:244::/56 le 122"]
origin_as = [64513]

[[classes]]
name = "loadbalancer"
prefixes = ["203.0.113.0/24 le 32", "2001:db8:113::/120 le 128"]
origin_as = [64514]

[[prefix_sets]]
name = "pod-blocks"
prefixes = ["10.244.0.0/16 ge 26 le 26", "fd00:10:244::/56 ge 122 le 122"]

[[prefix_sets]]
name = "lb-ips"
prefixes = ["203.0.113.0/24 ge 32 le 32", "2001:db8:113::/120 ge 128 le 128"]

[[policies]]
name = "from-calico"
[[policies.statements]]
match = {{ prefix_set = "pod-blocks" }}
action = "accept"

[[policies]]
name = "from-metallb"
[[policies.statements]]
match = {{ prefix_set = "lb-ips" }}
action = "accept"

[[policies]]
name = "accept-all"
[[policies.statements]]
action = "accept"

[[peer_groups]]
name = "vmx"
peer_as = 64512
role = "route-server-client"
passive = true
import_policy = ["accept-all"]
export_policy = ["accept-all"]

[[peer_groups]]
name = "calico"
peer_as = 64513
role = "route-server-client"
passive = true
add_path = "both"
import_policy = ["from-calico"]
export_policy = ["accept-all"]

[[peer_groups]]
name = "metallb"
peer_as = 64514
role = "route-server-client"
passive = true
import_policy = ["from-metallb"]
export_policy = ["accept-all"]

[[neighbors]]
address = "127.0.0.101"
description = "vMX1"
peer_group = "vmx"
{calico}{metallb}"#,
        calico = (1..=3)
            .map(|i| format!("\n[[neighbors]]\naddress = \"127.0.0.11{i}\"\ndescription = \"calico node-{i}\"\npeer_group = \"calico\"\n"))
            .collect::<String>(),
        metallb = (1..=3)
            .map(|i| format!("\n[[neighbors]]\naddress = \"127.0.0.12{i}\"\ndescription = \"metallb speaker-{i}\"\npeer_group = \"metallb\"\n"))
            .collect::<String>(),
    )
}

fn say(text: &str) {
    println!("==> {text}");
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

async fn connect(port: u16, cfg: LabPeerConfig) -> anyhow::Result<LabPeer> {
    let target = SocketAddr::from(([127, 0, 0, 2], port));
    let mut last = None;
    for _ in 0..50 {
        match LabPeer::connect(target, cfg.clone()).await {
            Ok(p) => return Ok(p),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(anyhow::anyhow!(
        "lab peer {} cannot connect: {last:?}",
        cfg.router_id
    ))
}

fn calico_config(i: u8) -> LabPeerConfig {
    let mut c = LabPeerConfig::new(64513, Ipv4Addr::new(198, 51, 100, 10 + i));
    c.local_address = Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 110 + i)));
    c.hold_time = 240;
    c.add_path = Some(AddPathMode::Both);
    c.graceful_restart = Some(120);
    c
}

fn announce_pods(node: &LabPeer, i: u8) {
    let mut v4 = LabRoute::new(vec![64513], ip(&format!("198.51.100.1{i}")));
    v4.communities = vec![Community::new(64513, 100)];
    v4.path_id = Some(1);
    let base = u32::from(i - 1);
    node.announce(
        &v4,
        &[
            &format!("10.244.{base}.0/26"),
            &format!("10.244.{base}.64/26"),
        ],
    );
    let mut v6 = LabRoute::new(vec![64513], ip(&format!("2001:db8:51::1{i}")));
    v6.communities = v4.communities.clone();
    v6.path_id = Some(1);
    node.announce(&v6, &[&format!("fd00:10:244::{:x}/122", 64 * u32::from(i))]);
    node.end_of_rib(Family::IPV4_UNICAST);
    node.end_of_rib(Family::IPV6_UNICAST);
}

/// Runs the demo.
pub fn run(args: &DemoArgs) -> anyhow::Result<()> {
    crate::logging::init(args.log_format, "info,bgpd::session::driver=info");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(script(args))
}

async fn script(args: &DemoArgs) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("bgpd-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("demo.toml");
    std::fs::write(&path, config(args.port, args.api_port))?;
    let cfg = crate::config::load(&path)?;
    let classes: Vec<String> = cfg.classes.iter().map(|c| c.name.clone()).collect();
    let (control, rx) = mpsc::unbounded_channel();
    let daemon = tokio::spawn(Daemon::new(cfg, path.clone()).run(rx));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.duration);
    say(&format!(
        "bgpd route server (AS 64515) on 127.0.0.2:{}; config {}",
        args.port,
        path.display()
    ));
    say(&format!(
        "while it runs: `bgpd show neighbors --api http://127.0.0.1:{0}`, `bgpd watch --api ...`, http://127.0.0.1:{0}/metrics",
        args.api_port
    ));

    let result = tokio::select! {
        r = steps(args.port, &control, &classes) => r.map(Some),
        _ = tokio::signal::ctrl_c() => { say("Ctrl-C: stopping"); Ok(None) }
    };
    if let Err(e) = &result {
        say(&format!("demo step failed: {e:#}"));
    }
    if let Ok(Some(_routers)) = &result {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {}
            _ = tokio::signal::ctrl_c() => say("Ctrl-C: stopping"),
        }
    }
    say("shutting down: Cease 6/2 with a shutdown message to every peer (RFC 9003)");
    let _ = control.send(Control::Shutdown("bgpd demo finished".into()));
    let _ = tokio::time::timeout(Duration::from_secs(5), daemon).await;
    let _ = std::fs::remove_dir_all(&dir);
    result.map(|_| ())
}

/// The simulated routers, kept alive until the demo ends.
type Routers = (LabPeer, Vec<LabPeer>, Vec<LabPeer>);

async fn steps(
    port: u16,
    control: &mpsc::UnboundedSender<Control>,
    classes: &[String],
) -> anyhow::Result<Routers> {
    // Sessions.
    let mut vmx_cfg = LabPeerConfig::new(64512, Ipv4Addr::new(198, 51, 100, 1));
    vmx_cfg.local_address = Some(ip("127.0.0.101"));
    let vmx = connect(port, vmx_cfg).await?;
    say("vMX1 (AS 64512) Established");
    let mut nodes = Vec::new();
    for i in 1..=3u8 {
        nodes.push(connect(port, calico_config(i)).await?);
        say(&format!(
            "Calico node-{i} (AS 64513, ADD-PATH, graceful restart 120 s) Established"
        ));
    }
    let mut speakers = Vec::new();
    for i in 1..=3u8 {
        let mut c = LabPeerConfig::new(64514, Ipv4Addr::new(198, 51, 100, 20 + i));
        c.local_address = Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 120 + i)));
        c.families = vec![Family::IPV4_UNICAST];
        speakers.push(connect(port, c).await?);
        say(&format!(
            "MetalLB speaker-{i} (AS 64514, IPv4 only) Established"
        ));
    }

    // Routes.
    let upstream = LabRoute::new(vec![64512], ip("198.51.100.1"));
    vmx.announce(&upstream, &["0.0.0.0/0", "192.0.2.0/24"]);
    vmx.announce(&LabRoute::new(vec![64512], ip("2001:db8:51::1")), &["::/0"]);
    for (i, node) in nodes.iter().enumerate() {
        announce_pods(node, i as u8 + 1);
    }
    for (i, s) in speakers.iter().enumerate() {
        let r = LabRoute::new(vec![64514], ip(&format!("198.51.100.2{}", i + 1)));
        s.announce(&r, &["203.0.113.10/32"]);
        if i == 2 {
            s.announce(&r, &["203.0.113.20/32"]);
        }
    }
    let all_pods = [
        "10.244.0.0/26",
        "10.244.0.64/26",
        "10.244.1.0/26",
        "10.244.1.64/26",
        "10.244.2.0/26",
        "10.244.2.64/26",
    ];
    let ok = vmx
        .wait_for(WAIT, |r| {
            all_pods.iter().all(|p| r.has(p))
                && r.has("203.0.113.10/32")
                && r.has("203.0.113.20/32")
                && r.has("fd00:10:244::c0/122")
        })
        .await;
    anyhow::ensure!(ok, "the vMX did not receive every pod block and service IP");
    let got = vmx.received();
    say(&format!(
        "vMX1 has {} routes from the route server: 6 IPv4 + 3 IPv6 pod blocks, 2 LoadBalancer IPs (next hops = the nodes)",
        got.routes.len()
    ));
    let lb = nodes.first().map(|n| n.received()).unwrap_or_default();
    let paths = lb.paths(&"203.0.113.10/32".parse()?).len();
    say(&format!("Calico node-1 (ADD-PATH) sees {paths} paths for 203.0.113.10/32 (one per MetalLB speaker: nothing hidden)"));

    // A service IP moves: speaker-3 → speaker-1.
    say("service IP 203.0.113.20 moves from MetalLB speaker-3 to speaker-1");
    if let (Some(s1), Some(s3)) = (speakers.first(), speakers.get(2)) {
        s1.announce(
            &LabRoute::new(vec![64514], ip("198.51.100.21")),
            &["203.0.113.20/32"],
        );
        s3.withdraw(&["203.0.113.20/32"], None);
    }
    let moved = vmx
        .wait_for(WAIT, |r| {
            r.paths(&"203.0.113.20/32".parse().unwrap_or_default())
                .iter()
                .any(|(_, nh)| *nh == ip("198.51.100.21"))
        })
        .await;
    anyhow::ensure!(moved, "the vMX did not follow the service IP to speaker-1");
    say("vMX1 now reaches 203.0.113.20 via 198.51.100.21 (speaker-1)");

    // A node restarts with graceful restart.
    say("Calico node-2 restarts (process killed; graceful restart keeps its pod blocks as stale)");
    if nodes.len() > 1 {
        let node2 = nodes.remove(1);
        node2.kill();
        tokio::time::sleep(Duration::from_secs(1)).await;
        anyhow::ensure!(
            vmx.received().has("10.244.1.0/26"),
            "node-2's routes vanished during graceful restart"
        );
        say("node-2 is down; vMX1 still has 10.244.1.0/26 (stale, RFC 4724)");
        let node2 = connect(port, calico_config(2)).await?;
        announce_pods(&node2, 2);
        say("node-2 is back: re-announced its blocks and End-of-RIB; stale routes refreshed");
        nodes.insert(1, node2);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    let (tx, rx) = oneshot::channel();
    let _ = control.send(Control::Neighbors(tx));
    let rows = rx.await?;
    say("neighbor table (bgpd show neighbors):");
    print!("{}", query::neighbor_table(&rows, classes));
    let established = rows.iter().filter(|r| r.state == "Established").count();
    say(&format!(
        "{established} of {} sessions Established",
        rows.len()
    ));
    Ok((vmx, nodes, speakers))
}
