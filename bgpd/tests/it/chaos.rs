//! `bgpd chaos` against a running `bgpd` binary: every fault, with the reaction RFC 4271 /
//! RFC 7606 expect, while a healthy peer's session is never touched.
use crate::support::{free_port, global_with_api, spawn_bgpd, Kill, ACCEPT_ALL, HEALTHY_NEIGHBOR};

use bgpd::lab_peer::{LabPeer, LabPeerConfig, LabRoute};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

/// (chaos arguments, expected text in its output)
const CASES: &[(&[&str], &str)] = &[
    (&["malformed", "bad-marker"], "NOTIFICATION 1/1"),
    (&["malformed", "bad-length"], "NOTIFICATION 1/2"),
    (&["malformed", "bad-type"], "NOTIFICATION 1/3"),
    (&["malformed", "attribute-overrun"], "still up"),
    (&["malformed", "missing-next-hop"], "still up"),
    (&["malformed", "origin-optional-flag"], "still up"),
    (&["malformed", "bad-origin"], "still up"),
    (&["malformed", "as-path-zero-segment"], "still up"),
    (&["malformed", "next-hop-length"], "still up"),
    (&["malformed", "communities-length"], "still up"),
    (&["malformed", "mp-reach-twice"], "NOTIFICATION 3/1"),
    (&["malformed", "nlri-too-long"], "NOTIFICATION 3/10"),
    (&["malformed", "unknown-well-known"], "NOTIFICATION 3/2"),
    (&["malformed", "prefix-sid-corrupt"], "still up"),
    (
        &["malformed", "short-notification"],
        "without a NOTIFICATION",
    ),
    (&["silent"], "NOTIFICATION 4/0"),
    (&["max-prefix", "60"], "NOTIFICATION 6/1"),
    (&["graceful-restart"], "still up"),
    (&["wrong-origin"], "still up"),
    (
        &["flap", "--interval", "1", "--count", "2"],
        "flap 2/2: connection dropped",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_gets_the_expected_reaction() {
    let dir = tempfile::tempdir().unwrap();
    let (port, api_port) = (free_port(), free_port());
    let mut neighbors = String::new();
    for i in 0..CASES.len() {
        neighbors.push_str(&format!(
            "[[neighbors]]\naddress = \"127.0.1.{}\"\npeer_as = 64513\npassive = true\nhold_time = 3\nmax_prefixes = 50\nmax_prefixes_restart = 1\nimport_policy = [\"all\"]\n\n",
            i + 1
        ));
    }
    let config = dir.path().join("bgpd.toml");
    std::fs::write(
        &config,
        format!(
            "{}{ACCEPT_ALL}{HEALTHY_NEIGHBOR}{neighbors}",
            global_with_api(port, api_port)
        ),
    )
    .unwrap();
    let log = dir.path().join("bgpd.log");
    let _bgpd = Kill(spawn_bgpd(&config, Some(&log), &[], None));
    let mut healthy_cfg = LabPeerConfig::new(64514, Ipv4Addr::new(127, 0, 0, 21));
    healthy_cfg.local_address = Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 21)));
    let mut healthy = None;
    for _ in 0..50 {
        if let Ok(p) = LabPeer::connect(
            SocketAddr::from(([127, 0, 0, 2], port)),
            healthy_cfg.clone(),
        )
        .await
        {
            healthy = Some(p);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let healthy = healthy.expect("healthy peer connects");
    healthy.announce(
        &LabRoute::new(vec![64514], "198.51.100.21".parse().unwrap()),
        &["203.0.113.10/32"],
    );

    // The faults run concurrently, each from its own address (each neighbor its own FSM).
    let target = format!("127.0.0.2:{port}");
    let children: Vec<_> = CASES
        .iter()
        .enumerate()
        .map(|(i, (args, _))| {
            let local = format!("127.0.1.{}", i + 1);
            Command::new(env!("CARGO_BIN_EXE_bgpd"))
                .args([
                    "chaos",
                    "--target",
                    &target,
                    "--local-address",
                    &local,
                    "--timeout",
                    "30",
                ])
                .args(*args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut failures = Vec::new();
    for (child, (args, expect)) in children.into_iter().zip(CASES) {
        let out = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() || !text.contains(expect) {
            failures.push(format!("chaos {args:?}: expected {expect:?}, got:\n{text}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // bgpd is still running, and the healthy peer's session and route were never touched.
    let n: Value = serde_json::from_str(
        &ureq::get(&format!(
            "http://127.0.0.1:{api_port}/api/v1/neighbors/127.0.0.21"
        ))
        .call()
        .unwrap()
        .into_string()
        .unwrap(),
    )
    .unwrap();
    assert_eq!(n["state"], "Established");
    assert_eq!(n["flaps"], 0);
    assert_eq!(n["accepted"], 1);
    assert!(!healthy.received().closed);
    // The RFC 7606 cases are logged with peer, attribute and offset.
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("UPDATE error handled per RFC 7606") && text.contains("at byte offset"),
        "{text}"
    );
}
