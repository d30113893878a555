//! Recording and replay, end to end: a scenario runs against bgpd A with recording on (a
//! Calico node restarting with graceful restart, a service IP moving); each recorded peer is
//! replayed with `bgpd replay` into a fresh bgpd B; B ends with the same Loc-RIB and the same
//! prefix log as A. The recording opens in `bgpdump -m` with the routes `bgpd mrt` shows, and
//! `bgpd snapshot` writes TABLE_DUMP_V2 files both read.
use crate::support::{
    connect_peer, free_port, global_with_api, group_neighbors, route_server_group, spawn_bgpd,
    wait_for_api, ACCEPT_ALL, LAB_CLASSES,
};

use bgp_proto::{Community, Family};
use bgpd::lab_peer::{LabPeer, LabPeerConfig, LabRoute};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

struct Bgpd {
    child: std::process::Child,
    api: String,
    port: u16,
    log: std::path::PathBuf,
}

impl Drop for Bgpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, name: &str, recording: Option<&Path>) -> Bgpd {
    let (port, api_port) = (free_port(), free_port());
    let recording = recording
        .map(|d| format!("[recording]\ndirectory = \"{}\"\n", d.display()))
        .unwrap_or_default();
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            "{}{recording}{LAB_CLASSES}{ACCEPT_ALL}{}{}",
            global_with_api(port, api_port),
            route_server_group("c"),
            group_neighbors(
                "c",
                &[
                    ("127.0.0.11", 64513),
                    ("127.0.0.21", 64514),
                    ("127.0.0.22", 64514)
                ]
            ),
        ),
    )
    .unwrap();
    let log = dir.join(format!("{name}.log"));
    let child = spawn_bgpd(
        &config,
        Some(&log),
        &["--log-format", "json"],
        Some("info,bgpd::prefix=debug"),
    );
    let api = format!("http://127.0.0.1:{api_port}");
    wait_for_api(&api);
    Bgpd {
        child,
        api,
        port,
        log,
    }
}

async fn connect(port: u16, cfg: LabPeerConfig) -> LabPeer {
    connect_peer(SocketAddr::from(([127, 0, 0, 2], port)), cfg, 100).await
}

fn peer(addr: [u8; 4], asn: u32, gr: bool) -> LabPeerConfig {
    let mut c = LabPeerConfig::new(asn, Ipv4Addr::from(addr));
    c.local_address = Some(IpAddr::V4(Ipv4Addr::from(addr)));
    if gr {
        c.graceful_restart = Some(120);
    }
    c
}

/// The Loc-RIB as comparable text: prefix, peer, next hop, AS path, communities, stale.
fn loc_rib(api: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(
        &ureq::get(&format!("{api}/api/v1/rib"))
            .call()
            .unwrap()
            .into_string()
            .unwrap(),
    )
    .unwrap();
    let mut rows: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {} {} [{}] {} stale={}",
                e["prefix"], e["peer"], e["next_hop"], e["as_path"], e["communities"], e["stale"]
            )
        })
        .collect();
    rows.sort();
    rows
}

/// The prefix log as counts of (peer, prefix, action).
fn prefix_log(path: &Path) -> BTreeMap<(String, String, String), usize> {
    let mut m = BTreeMap::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if v["target"] != "bgpd::prefix" || v.get("prefix").is_none() {
            continue;
        }
        let key = (
            v["peer"].as_str().unwrap_or("").to_string(),
            v["prefix"].as_str().unwrap_or("").to_string(),
            v["action"].as_str().unwrap_or("").to_string(),
        );
        *m.entry(key).or_default() += 1;
    }
    m
}

async fn wait_until(what: &str, f: impl Fn() -> bool) {
    for _ in 0..100 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_then_replay_gives_the_same_rib_and_prefix_log() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("recording");
    let a = start(dir.path(), "a", Some(&rec));

    // The scenario.
    let mut pods = LabRoute::new(vec![64513], "198.51.100.11".parse().unwrap());
    pods.communities = vec![Community::new(64513, 100)];
    let calico = connect(a.port, peer([127, 0, 0, 11], 64513, true)).await;
    let lb1 = connect(a.port, peer([127, 0, 0, 21], 64514, false)).await;
    let lb2 = connect(a.port, peer([127, 0, 0, 22], 64514, false)).await;
    calico.announce(&pods, &["10.244.1.0/26", "10.244.2.0/26", "10.244.3.0/26"]);
    calico.announce(
        &LabRoute::new(vec![64513], "2001:db8:51::11".parse().unwrap()),
        &["fd00:10:244::40/122"],
    );
    calico.end_of_rib(Family::IPV4_UNICAST);
    lb1.announce(
        &LabRoute::new(vec![64514], "198.51.100.21".parse().unwrap()),
        &["203.0.113.10/32", "203.0.113.20/32"],
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The service IP .20 moves from speaker 1 to speaker 2.
    lb2.announce(
        &LabRoute::new(vec![64514], "198.51.100.22".parse().unwrap()),
        &["203.0.113.20/32"],
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    lb1.withdraw(&["203.0.113.20/32"], None);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The Calico node restarts (graceful restart): it comes back with two of its three
    // blocks and End-of-RIB, so the third is flushed as stale.
    calico.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let calico = connect(a.port, peer([127, 0, 0, 11], 64513, true)).await;
    calico.announce(&pods, &["10.244.1.0/26", "10.244.2.0/26"]);
    calico.announce(
        &LabRoute::new(vec![64513], "2001:db8:51::11".parse().unwrap()),
        &["fd00:10:244::40/122"],
    );
    calico.end_of_rib(Family::IPV4_UNICAST);
    calico.end_of_rib(Family::IPV6_UNICAST);
    wait_until("A converged", || {
        let r = loc_rib(&a.api);
        r.len() == 5 && !r.iter().any(|l| l.contains("10.244.3.0/26"))
    })
    .await;
    let rib_a = loc_rib(&a.api);
    // A snapshot while the sessions are up.
    let out = Command::new(env!("CARGO_BIN_EXE_bgpd"))
        .args(["snapshot", "--json", "--api", &a.api])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let snap: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Stop A while the sessions are up, so the recording ends with them up (closing the lab
    // peers first would record the sessions ending too, and the replay would end them).
    drop(a);
    drop((calico, lb1, lb2));
    let log_a = prefix_log(&dir.path().join("a.log"));

    // The recording opens in bgpdump and bgpd mrt with the same route lines.
    let files: Vec<_> = std::fs::read_dir(&rec)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("updates."))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let recording = &files[0];
    let bgpdump = Command::new("bgpdump")
        .arg("-m")
        .arg(recording)
        .output()
        .expect("bgpdump is installed (tests/install-deps.sh)");
    let ours = Command::new(env!("CARGO_BIN_EXE_bgpd"))
        .arg("mrt")
        .arg(recording)
        .output()
        .unwrap();
    assert!(!bgpdump.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&bgpdump.stdout),
        "bgpd mrt and bgpdump -m agree on the recording"
    );
    let text = String::from_utf8_lossy(&bgpdump.stdout);
    assert!(
        text.contains("|A|127.0.0.11|64513|10.244.3.0/26|64513|")
            && text.contains("|W|127.0.0.21|64514|203.0.113.20/32"),
        "{text}"
    );
    for key in ["loc_rib", "adj_rib_in"] {
        let path = snap[key].as_str().unwrap();
        let b = Command::new("bgpdump")
            .arg("-m")
            .arg(path)
            .output()
            .unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_bgpd"))
            .arg("mrt")
            .arg(path)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&b.stdout),
            "{key} snapshot"
        );
        assert!(
            String::from_utf8_lossy(&b.stdout).contains("10.244.1.0/26"),
            "{key}"
        );
    }

    // Replay every recorded peer into a fresh bgpd B, concurrently, with the recorded spacing
    // sped up.
    let b = start(dir.path(), "b", None);
    let target = format!("127.0.0.2:{}", b.port);
    let replays: Vec<_> = ["127.0.0.11", "127.0.0.21", "127.0.0.22"]
        .iter()
        .map(|p| {
            Command::new(env!("CARGO_BIN_EXE_bgpd"))
                .args([
                    "replay",
                    "--speed",
                    "4",
                    "--hold",
                    "15",
                    "--target",
                    &target,
                    "--peer",
                    p,
                    "--local-address",
                    p,
                ])
                .arg(recording)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect::<Vec<_>>();
    // While the replayed sessions are up, B's Loc-RIB becomes A's.
    let mut last = Vec::new();
    let mut same = false;
    for _ in 0..150 {
        last = loc_rib(&b.api);
        if last == rib_a {
            same = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if !same {
        let outputs: Vec<String> = replays
            .into_iter()
            .map(|r| {
                let o = r.wait_with_output().unwrap();
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                )
            })
            .collect();
        let dump = Command::new(env!("CARGO_BIN_EXE_bgpd"))
            .arg("mrt")
            .arg(recording)
            .output()
            .unwrap();
        panic!("Loc-RIB after replay differs:\nA: {rib_a:#?}\nB: {last:#?}\nreplays: {outputs:#?}\nrecording:\n{}\nB log: {}", String::from_utf8_lossy(&dump.stdout), std::fs::read_to_string(&b.log).unwrap_or_default().lines().filter(|l| !l.contains("bgpd::prefix")).collect::<Vec<_>>().join("\n"));
    }
    for r in replays {
        let r = r.wait_with_output().unwrap();
        assert!(
            r.status.success(),
            "replay failed: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        assert!(
            String::from_utf8_lossy(&r.stdout).starts_with("replayed "),
            "{}",
            String::from_utf8_lossy(&r.stdout)
        );
    }
    // (The replays end by closing their sessions after --hold; compare what B logged and held
    // while they were up: B's log and its Loc-RIB just before the close are in its log.)
    let log_b = prefix_log(&b.log);
    let strip = |m: &BTreeMap<(String, String, String), usize>| -> BTreeMap<(String, String, String), usize> {
        // Session-end withdrawals differ in cause (test teardown), the rest must match.
        m.iter().filter(|((_, _, action), _)| action != "withdraw").map(|(k, v)| (k.clone(), *v)).collect()
    };
    assert_eq!(
        strip(&log_b),
        strip(&log_a),
        "announcements and implicit withdraws per peer and prefix"
    );
    let stale_flush = |m: &BTreeMap<(String, String, String), usize>| {
        m.get(&(
            "127.0.0.11".into(),
            "10.244.3.0/26".into(),
            "withdraw".into(),
        ))
        .copied()
    };
    assert_eq!(
        stale_flush(&log_b),
        stale_flush(&log_a),
        "the stale block is flushed in both runs"
    );
    let moved = |m: &BTreeMap<(String, String, String), usize>| {
        m.get(&(
            "127.0.0.21".into(),
            "203.0.113.20/32".into(),
            "withdraw".into(),
        ))
        .copied()
    };
    assert_eq!(
        moved(&log_b),
        moved(&log_a),
        "the moved service IP is withdrawn by speaker 1 in both runs"
    );
}
