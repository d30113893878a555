//! `bgpd audit` against a running `bgpd` binary: lab peers (Calico nodes, MetalLB speakers)
//! connect over TCP on 127.0.0.0/8 and announce the lab of `configs/intent.toml`; each fault
//! is then caused for real (a /24 inside the pod pool, an IP outside the LoadBalancer pool,
//! two nodes announcing the same block, a speaker withdrawing a service IP), `bgpd audit
//! --api` must report exactly that finding, and after the fault is removed, nothing. Also:
//! `--watch`, `--snapshot`, `--baseline`, exit codes, and the daemon's own `[audit]`
//! (metric and log).
use crate::support::{
    connect_peer, free_port, global_with_api, group_neighbors, route_server_group, spawn_bgpd,
    Kill, ACCEPT_ALL,
};

use bgp_proto::Community;
use bgpd::lab_peer::{LabPeer, LabPeerConfig, LabRoute};
use serde_json::Value;
use std::io::BufRead;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn intent_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/intent.toml")
}

/// Runs `bgpd audit ARGS`: (stdout, stderr, exit code).
fn audit(args: &[&str]) -> (String, String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_bgpd"))
        .arg("audit")
        .args(args)
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

/// The (check, subject) pairs of `bgpd audit --api --json`, and its exit code.
fn findings(api: &str) -> (Vec<(String, String)>, i32, Value) {
    let intent = intent_path();
    let (out, err, code) = audit(&["--intent", intent.to_str().unwrap(), "--api", api, "--json"]);
    assert!(code == 0 || code == 1, "exit {code}: {err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["subject"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (f, code, v)
}

/// Waits until the audit reports exactly `want`.
async fn expect(api: &str, want: &[(&str, &str)]) -> Value {
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let start = Instant::now();
    loop {
        let (got, code, v) = findings(api);
        if got == want {
            assert_eq!(code, i32::from(!want.is_empty()), "exit code");
            return v;
        }
        if start.elapsed() > Duration::from_secs(20) {
            panic!("expected {want:?}, audit reports {got:?}:\n{v:#}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn connect(port: u16, asn: u32, addr: [u8; 4], v6: bool) -> LabPeer {
    let mut c = LabPeerConfig::new(asn, Ipv4Addr::from(addr));
    c.local_address = Some(IpAddr::V4(Ipv4Addr::from(addr)));
    if !v6 {
        c.families = vec![bgp_proto::Family::IPV4_UNICAST];
    }
    connect_peer(SocketAddr::from(([127, 0, 0, 2], port)), c, 50).await
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn pod_route(node: u8, v6: bool) -> LabRoute {
    let nh = if v6 {
        format!("2001:db8:51::1{node}")
    } else {
        format!("198.51.100.1{node}")
    };
    let mut r = LabRoute::new(vec![64513], ip(&nh));
    r.communities = vec![Community::new(64513, 100)];
    r
}

fn lb_route(speaker: u8) -> LabRoute {
    LabRoute::new(vec![64514], ip(&format!("198.51.100.2{speaker}")))
}

fn metric(api: &str, needle: &str) -> Option<i64> {
    let text = ureq::get(&format!("{api}/metrics"))
        .call()
        .ok()?
        .into_string()
        .ok()?;
    text.lines()
        .find(|l| l.starts_with(needle))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_caused_over_tcp_are_reported_and_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let (port, api_port) = (free_port(), free_port());
    let api = format!("http://127.0.0.1:{api_port}");
    std::fs::copy(intent_path(), dir.path().join("intent.toml")).unwrap();
    let neighbors = group_neighbors(
        "lab",
        &[
            ("127.0.0.11", 64513),
            ("127.0.0.12", 64513),
            ("127.0.0.13", 64513),
            ("127.0.0.21", 64514),
            ("127.0.0.22", 64514),
            ("127.0.0.23", 64514),
        ],
    );
    let config = dir.path().join("bgpd.toml");
    std::fs::write(
        &config,
        format!(
            "{}[audit]\nintent = \"intent.toml\"\ninterval = 1\n{ACCEPT_ALL}{}{neighbors}",
            global_with_api(port, api_port),
            route_server_group("lab"),
        ),
    )
    .unwrap();
    let log = dir.path().join("bgpd.log");
    let _bgpd = Kill(spawn_bgpd(&config, Some(&log), &[], None));

    // The lab: three Calico nodes (two IPv4 blocks and one IPv6 block each), three MetalLB
    // speakers (203.0.113.10 from all, 203.0.113.20 from speaker-3).
    let mut nodes = Vec::new();
    for n in 1..=3u8 {
        let node = connect(port, 64513, [127, 0, 0, 10 + n], true).await;
        let b = n - 1;
        node.announce(
            &pod_route(n, false),
            &[&format!("10.244.{b}.0/26"), &format!("10.244.{b}.64/26")],
        );
        node.announce(
            &pod_route(n, true),
            &[&format!("fd00:10:244::{:x}/122", 64 * u32::from(n))],
        );
        nodes.push(node);
    }
    let mut speakers = Vec::new();
    for s in 1..=3u8 {
        let sp = connect(port, 64514, [127, 0, 0, 20 + s], false).await;
        sp.announce(&lb_route(s), &["203.0.113.10/32"]);
        if s == 3 {
            sp.announce(&lb_route(s), &["203.0.113.20/32"]);
        }
        speakers.push(sp);
    }
    let clean = expect(&api, &[]).await;
    assert_eq!(clean["routes"], 13, "{clean}");
    let intent = intent_path();
    let intent = intent.to_str().unwrap();
    let (text, _, code) = audit(&["--intent", intent, "--api", &api]);
    assert_eq!(code, 0);
    assert!(
        text.contains("no findings") && !text.contains('\u{1b}'),
        "{text}"
    );

    // 1. A /24 inside the pod pool (node-3).
    nodes[2].announce(&pod_route(3, false), &["10.244.200.0/24"]);
    let v = expect(&api, &[("pod-wrong-length", "10.244.200.0/24")]).await;
    assert_eq!(v["findings"][0]["severity"], "warning");
    assert_eq!(v["findings"][0]["routes"][0]["peer"], "127.0.0.13");
    // --fail-on critical: a warning does not fail.
    let (_, _, code) = audit(&["--intent", intent, "--api", &api, "--fail-on", "critical"]);
    assert_eq!(code, 0);
    nodes[2].withdraw(&["10.244.200.0/24"], None);
    expect(&api, &[]).await;

    // 2. An IP outside the LoadBalancer pool (speaker-1).
    speakers[0].announce(&lb_route(1), &["203.0.114.5/32"]);
    expect(&api, &[("lb-outside-pool", "203.0.114.5/32")]).await;
    speakers[0].withdraw(&["203.0.114.5/32"], None);
    expect(&api, &[]).await;

    // 3. Two nodes announce the same block: node-2 takes node-1's 10.244.0.0/26. Watched
    // live, and by the daemon's own audit (metric and one log line).
    let mut watch = Kill(
        Command::new(env!("CARGO_BIN_EXE_bgpd"))
            .args([
                "audit", "--intent", intent, "--api", &api, "--watch", "--json",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = watch.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    nodes[1].announce(&pod_route(2, false), &["10.244.0.0/26"]);
    let v = expect(&api, &[("pod-duplicate-block", "10.244.0.0/26")]).await;
    let msg = v["findings"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("node-1 (198.51.100.11)") && msg.contains("node-2 (198.51.100.12)"),
        "{msg}"
    );
    assert_eq!(v["findings"][0]["routes_total"], 2);
    let dup = "bgpd_audit_findings{check=\"pod-duplicate-block\",severity=\"critical\"}";
    let start = Instant::now();
    while metric(&api, dup) != Some(1) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "metric {dup} not 1"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // A baseline with the fault present.
    let (baseline, _, code) = audit(&["--intent", intent, "--api", &api, "--json"]);
    assert_eq!(code, 1);
    let baseline_file = dir.path().join("baseline.json");
    std::fs::write(&baseline_file, baseline).unwrap();
    let (text, _, code) = audit(&[
        "--intent",
        intent,
        "--api",
        &api,
        "--baseline",
        baseline_file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "nothing new since the baseline: {text}");
    assert!(
        text.contains("0 new") && text.contains("1 unchanged"),
        "{text}"
    );
    // A snapshot gives the same finding.
    let snap = Command::new(env!("CARGO_BIN_EXE_bgpd"))
        .args(["show", "rib", "--json", "--api", &api])
        .output()
        .unwrap();
    let snap_file = dir.path().join("rib.json");
    std::fs::write(&snap_file, &snap.stdout).unwrap();
    let (out, err, code) = audit(&[
        "--intent",
        intent,
        "--snapshot",
        snap_file.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 1, "{err}");
    let s: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(s["findings"].as_array().unwrap().len(), 1, "{s:#}");
    assert_eq!(s["findings"][0]["check"], "pod-duplicate-block");

    nodes[1].withdraw(&["10.244.0.0/26"], None);
    expect(&api, &[]).await;
    let start = Instant::now();
    while metric(&api, dup) != Some(0) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "metric {dup} not back to 0"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // --baseline now reports the finding as cleared.
    let (text, _, code) = audit(&[
        "--intent",
        intent,
        "--api",
        &api,
        "--baseline",
        baseline_file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert!(
        text.contains("CLEARED (1)") && text.contains("pod-duplicate-block"),
        "{text}"
    );
    // The watcher saw it appear and clear.
    let mut events = Vec::new();
    let start = Instant::now();
    while events.len() < 2 && start.elapsed() < Duration::from_secs(15) {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) {
            let v: Value = serde_json::from_str(&line).unwrap();
            events.push((
                v["event"].as_str().unwrap().to_string(),
                v["finding"]["check"].as_str().unwrap().to_string(),
            ));
        }
    }
    assert_eq!(
        events,
        vec![
            ("new".to_string(), "pod-duplicate-block".to_string()),
            ("cleared".to_string(), "pod-duplicate-block".to_string())
        ]
    );
    drop(watch);

    // 4. A speaker withdraws a service IP (externalTrafficPolicy Cluster: all must announce).
    speakers[1].withdraw(&["203.0.113.10/32"], None);
    let v = expect(&api, &[("lb-too-few-speakers", "203.0.113.10")]).await;
    assert!(
        v["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("missing speaker-2"),
        "{v}"
    );
    speakers[1].announce(&lb_route(2), &["203.0.113.10/32"]);
    expect(&api, &[]).await;

    // The daemon logged each new finding once, and each cleared one.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let text = std::fs::read_to_string(&log).unwrap();
    let new_dup = text
        .lines()
        .filter(|l| l.contains("audit finding:") && l.contains("pod-duplicate-block"))
        .count();
    let cleared_dup = text
        .lines()
        .filter(|l| l.contains("audit finding cleared") && l.contains("pod-duplicate-block"))
        .count();
    assert_eq!((new_dup, cleared_dup), (1, 1), "{text}");
}

#[test]
fn bad_input_exits_2_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("intent.toml");
    let text = std::fs::read_to_string(intent_path())
        .unwrap()
        .replace("block_size = 26", "block_size = 12");
    std::fs::write(&bad, &text).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("block_size = 12"))
        .unwrap()
        + 1;
    let (_, err, code) = audit(&[
        "--intent",
        bad.to_str().unwrap(),
        "--snapshot",
        "/nonexistent",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains(&format!(
            "intent.toml:{line}: key `pod_pools[0].block_size`"
        )),
        "{err}"
    );
    let intent = intent_path();
    let intent = intent.to_str().unwrap();
    let (_, err, code) = audit(&["--intent", intent, "--api", "http://127.0.0.1:9"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot reach bgpd's API"), "{err}");
    let (_, err, code) = audit(&["--intent", intent, "--snapshot", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("is not a bgpd RIB JSON snapshot"), "{err}");
    let (_, _, code) = audit(&["--intent", intent]);
    assert_eq!(code, 2, "a source is required");

    // The daemon's configuration names the intent file's error too.
    let config = dir.path().join("bgpd.toml");
    std::fs::write(
        &config,
        "[global]\nasn = 64515\nrouter_id = \"127.0.0.2\"\n[audit]\nintent = \"intent.toml\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bgpd"))
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("key `audit.intent`") && err.contains("pod_pools[0].block_size"),
        "{err}"
    );
}
