//! Benchmark: `bgpd audit` over a synthetic table of 1,000,000 routes (the figure in
//! BENCHMARKS.md, "Audit"). Run it with
//!
//! ```sh
//! cargo run --release -p bgpd --example audit_1m
//! ```
//!
//! The table: 200,000 pod blocks (/26 of 10.0.0.0/8 from 100 Calico nodes, 100 of them
//! announced by two nodes), 300,000 LoadBalancer routes (100,000 service IPs, three
//! speakers each; 10,000 of them listed in the intent, speaker-3 withdrew 10 of those) and
//! 500,000 upstream /24s with AS paths of 2 to 6 ASes. It prints the time of
//! the checks alone (the daemon's case: the routes are in memory) and of a whole
//! `--snapshot` audit (JSON decoding, conversion, checks), each the best of 3 runs.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

use bgpd::audit::checks::audit;
use bgpd::audit::intent::load_str;
use bgpd::audit::routes::{parse_as_path, AuditRoute, PathInfo, PeerInfo, RouteSet};
use bgpd::daemon::query::RibEntry;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

const NODES: u32 = 100;
const SPEAKERS: u32 = 3;

fn node_ip(n: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, 10 + n as u8))
}

fn speaker_ip(s: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, 200 + s as u8))
}

fn intent_text() -> String {
    let mut t = String::from(
        r#"
local_as = 64515
max_as_path_length = 3
[upstream]
name = "vMX1"
asn = 64512
addresses = ["198.51.100.1"]
may_announce = ["0.0.0.0/0 le 24", "::/0 le 48"]
[[forbidden]]
prefixes = ["0.0.0.0/0", "::/0"]
from = "cluster"
reason = "a default route from the cluster side"
[[forbidden]]
prefixes = ["127.0.0.0/8 le 32", "169.254.0.0/16 le 32", "224.0.0.0/4 le 32", "240.0.0.0/4 le 32"]
reason = "a bogon"
[[pod_pools]]
name = "pods"
cidr = "10.0.0.0/8"
block_size = 26
origin_as = [64513]
required_communities = ["64513:100"]
[[lb_pools]]
name = "lb-auto"
cidr = "172.24.0.0/13"
prefix_length = 32
origin_as = [64514]
[[lb_pools]]
name = "lb-listed"
cidr = "172.16.0.0/16"
prefix_length = 32
origin_as = [64514]
"#,
    );
    for i in 0..10_000u32 {
        let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(172, 16, 0, 0)) + i * 4);
        t.push_str(&format!(
            "[[lb_pools.services]]\nip = \"{ip}\"\nspeakers = \"{}\"\n",
            if i % 2 == 0 { "all" } else { "at-least-one" }
        ));
    }
    for n in 1..=NODES {
        t.push_str(&format!(
            "[[nodes]]\nname = \"node-{n}\"\naddresses = [\"{}\"]\nroles = [\"pod\"]\n",
            node_ip(n)
        ));
    }
    for s in 1..=SPEAKERS {
        t.push_str(&format!(
            "[[nodes]]\nname = \"speaker-{s}\"\naddresses = [\"{}\"]\nroles = [\"loadbalancer\"]\n",
            speaker_ip(s)
        ));
    }
    t
}

fn routes() -> RouteSet {
    let path = |p: &str, communities: &[&str]| {
        Arc::new(PathInfo {
            as_path: parse_as_path(p).unwrap(),
            local_pref: None,
            communities: communities.iter().map(|c| c.parse().unwrap()).collect(),
            large_communities: Vec::new(),
        })
    };
    let pod = path("64513", &["64513:100"]);
    let lb = path("64514", &[]);
    let upstream: Vec<Arc<PathInfo>> = (0..64u32)
        .map(|i| {
            let mut p = vec!["64512".to_string()];
            for k in 0..(1 + i % 5) {
                p.push((3356 + k * 100 + i).to_string());
            }
            path(&p.join(" "), &[])
        })
        .collect();
    let mut v = Vec::with_capacity(1_000_000);
    let route = |prefix: ipnet::IpNet, peer: IpAddr, path: &Arc<PathInfo>| AuditRoute {
        prefix,
        peer,
        path_id: 0,
        next_hop: Some(peer),
        path: path.clone(),
    };
    let base = u32::from(Ipv4Addr::new(10, 0, 0, 0));
    for b in 0..200_000u32 {
        let prefix = ipnet::Ipv4Net::new(Ipv4Addr::from(base + b * 64), 26)
            .unwrap()
            .into();
        v.push(route(prefix, node_ip(1 + b % NODES), &pod));
    }
    for b in 0..100u32 {
        // The same block from a second node.
        let prefix = ipnet::Ipv4Net::new(Ipv4Addr::from(base + b * 64), 26)
            .unwrap()
            .into();
        v.push(route(prefix, node_ip(1 + (b + 1) % NODES), &pod));
    }
    for i in 0..100_000u32 {
        // 10,000 listed service IPs in lb-listed, 90,000 more in lb-auto.
        let ip = if i < 10_000 {
            u32::from(Ipv4Addr::new(172, 16, 0, 0)) + i * 4
        } else {
            u32::from(Ipv4Addr::new(172, 24, 0, 0)) + i * 4
        };
        let prefix = ipnet::Ipv4Net::new(Ipv4Addr::from(ip), 32).unwrap().into();
        for s in 1..=SPEAKERS {
            // Speaker 3 withdrew ten listed service IPs.
            if s == 3 && i < 20 && i % 2 == 0 {
                continue;
            }
            v.push(route(prefix, speaker_ip(s), &lb));
        }
    }
    let up_base = u32::from(Ipv4Addr::new(32, 0, 0, 0));
    let vmx = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1));
    let mut i = 0u32;
    while v.len() < 1_000_000 {
        i += 1;
        let prefix = ipnet::Ipv4Net::new(Ipv4Addr::from(up_base + i * 256), 24)
            .unwrap()
            .into();
        v.push(route(prefix, vmx, &upstream[(i % 64) as usize]));
    }
    let mut peers = HashMap::new();
    peers.insert(
        vmx,
        PeerInfo {
            asn: Some(64512),
            local_as: None,
        },
    );
    RouteSet {
        routes: v,
        peers,
        attributes_as_received: false,
        source: "synthetic".into(),
        notes: Vec::new(),
    }
}

fn best_of_3(mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut n = 0;
    for _ in 0..3 {
        let t = Instant::now();
        n = f();
        best = best.min(t.elapsed());
    }
    (best, n)
}

fn main() {
    let intent = load_str(&intent_text(), "synthetic-intent.toml").unwrap();
    let set = routes();
    assert_eq!(set.routes.len(), 1_000_000);
    let mut by_check = std::collections::BTreeMap::new();
    for f in audit(&intent, &set) {
        *by_check.entry(f.check.id()).or_insert(0usize) += 1;
    }
    println!("findings by check: {by_check:?}");
    let (checks, findings) = best_of_3(|| audit(&intent, &set).len());
    println!(
        "checks over {} routes: {:.3} s ({findings} findings)",
        set.routes.len(),
        checks.as_secs_f64()
    );
    let entries: Vec<RibEntry> = set
        .routes
        .iter()
        .map(|r| RibEntry {
            prefix: r.prefix.to_string(),
            family: if r.prefix.addr().is_ipv4() {
                "ipv4-unicast"
            } else {
                "ipv6-unicast"
            }
            .into(),
            peer: r.peer,
            path_id: r.path_id,
            best: true,
            next_hop: r.next_hop.map(|a| a.to_string()).unwrap_or_default(),
            as_path: r.path.as_path.to_string(),
            origin: "IGP".into(),
            med: None,
            local_pref: r.path.local_pref,
            communities: r.path.communities.iter().map(|c| c.to_string()).collect(),
            large_communities: Vec::new(),
            other_attributes: Vec::new(),
            class: None,
            age_seconds: Some(60),
            stale: false,
            llgr_stale: false,
        })
        .collect();
    let json = serde_json::to_vec(&entries).unwrap();
    drop(entries);
    let (whole, findings) = best_of_3(|| {
        let entries: Vec<RibEntry> = serde_json::from_slice(&json).unwrap();
        let s = RouteSet::from_rib_entries(&entries, &[], "snapshot".into()).unwrap();
        audit(&intent, &s).len()
    });
    println!(
        "--snapshot audit of a {} MB JSON snapshot: {:.3} s ({findings} findings)",
        json.len() / 1_000_000,
        whole.as_secs_f64()
    );
}
