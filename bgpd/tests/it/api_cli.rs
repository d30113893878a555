//! The operator's surface against a running `bgpd` binary: every API endpoint, every `show`
//! command (text and `--json`), `watch`, and `/metrics` checked by `promtool check metrics`
//! (Debian package `prometheus`; a missing promtool fails the test).
use crate::support::{
    connect_peer, free_port, global_with_api, route_server_group, spawn_bgpd, Kill, ACCEPT_ALL,
    LAB_CLASSES,
};

use bgp_proto::Community;
use bgpd::lab_peer::{LabPeer, LabPeerConfig, LabRoute};
use serde_json::Value;
use std::io::{BufRead, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

fn bgpd(args: &[&str]) -> (String, String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_bgpd"))
        .args(args)
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

fn get(url: &str) -> Value {
    serde_json::from_str(&ureq::get(url).call().unwrap().into_string().unwrap()).unwrap()
}

async fn connect(port: u16, asn: u32, addr: [u8; 4]) -> LabPeer {
    let mut c = LabPeerConfig::new(asn, Ipv4Addr::from(addr));
    c.local_address = Some(IpAddr::V4(Ipv4Addr::from(addr)));
    connect_peer(SocketAddr::from(([127, 0, 0, 2], port)), c, 50).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_show_watch_and_metrics() {
    let ok = Command::new("sh")
        .args(["-c", "command -v promtool"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "promtool is not installed: run tests/install-deps.sh (Debian package prometheus)"
    );
    let dir = tempfile::tempdir().unwrap();
    let (port, api_port) = (free_port(), free_port());
    let api = format!("http://127.0.0.1:{api_port}");
    let config = dir.path().join("bgpd.toml");
    std::fs::write(
        &config,
        format!(
            "{}{LAB_CLASSES}{ACCEPT_ALL}{}\n[[neighbors]]\naddress = \"127.0.0.11\"\n\
             description = \"calico node-1\"\npeer_as = 64513\npeer_group = \"c\"\n\n\
             [[neighbors]]\naddress = \"127.0.0.21\"\ndescription = \"metallb speaker-1\"\n\
             peer_as = 64514\npeer_group = \"c\"\n",
            global_with_api(port, api_port),
            route_server_group("c"),
        ),
    )
    .unwrap();
    let _bgpd = Kill(spawn_bgpd(&config, None, &[], None));
    let calico = connect(port, 64513, [127, 0, 0, 11]).await;
    let lb = connect(port, 64514, [127, 0, 0, 21]).await;
    let mut pods = LabRoute::new(vec![64513], "198.51.100.11".parse().unwrap());
    pods.communities = vec![Community::new(64513, 100)];
    calico.announce(&pods, &["10.244.1.0/26", "10.244.2.0/26"]);
    calico.announce(
        &LabRoute::new(vec![64513], "2001:db8:51::11".parse().unwrap()),
        &["fd00:10:244::40/122"],
    );
    lb.announce(
        &LabRoute::new(vec![64514], "198.51.100.21".parse().unwrap()),
        &["203.0.113.10/32"],
    );
    assert!(
        lb.wait_for(Duration::from_secs(10), |r| r.has("10.244.2.0/26"))
            .await
    );
    assert!(
        calico
            .wait_for(Duration::from_secs(10), |r| r.has("203.0.113.10/32"))
            .await
    );

    // Health and readiness.
    assert_eq!(get(&format!("{api}/api/v1/health"))["status"], "ok");
    assert_eq!(get(&format!("{api}/api/v1/ready"))["status"], "ready");

    // Neighbors.
    let n = get(&format!("{api}/api/v1/neighbors"));
    let calico_row = n
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "127.0.0.11")
        .unwrap();
    assert_eq!(calico_row["state"], "Established");
    assert_eq!(calico_row["received"], 3);
    assert_eq!(calico_row["accepted"], 3);
    assert_eq!(calico_row["advertised"], 1);
    assert_eq!(calico_row["accepted_by_class"]["pod"], 3);
    let d = get(&format!("{api}/api/v1/neighbors/127.0.0.11"));
    assert_eq!(d["negotiated"]["four_octet_as"], true);
    assert_eq!(
        d["negotiated"]["families"],
        serde_json::json!(["ipv4-unicast", "ipv6-unicast"])
    );
    assert!(
        d["peer_capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "4-octet-as 64513"),
        "{d}"
    );
    assert!(d["messages_received"]["update"].as_u64().unwrap() >= 2);
    assert_eq!(
        ureq::get(&format!("{api}/api/v1/neighbors/192.0.2.99"))
            .call()
            .unwrap_err()
            .kind(),
        ureq::ErrorKind::HTTP
    );

    // RIB with filters.
    let pods_rib = get(&format!("{api}/api/v1/rib?class=pod"));
    assert_eq!(pods_rib.as_array().unwrap().len(), 3, "{pods_rib}");
    let v6 = get(&format!("{api}/api/v1/rib?family=ipv6-unicast"));
    assert_eq!(v6[0]["prefix"], "fd00:10:244::40/122");
    assert_eq!(v6[0]["next_hop"], "2001:db8:51::11");
    let one = get(&format!("{api}/api/v1/rib?prefix=10.244.1.0/26"));
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["best"], true);
    assert_eq!(one[0]["communities"], serde_json::json!(["64513:100"]));
    assert_eq!(one[0]["as_path"], "64513");
    let adj_in = get(&format!("{api}/api/v1/rib?view=in&peer=127.0.0.21"));
    assert_eq!(adj_in[0]["prefix"], "203.0.113.10/32");
    let adj_out = get(&format!(
        "{api}/api/v1/rib?view=out&peer=127.0.0.21&family=ipv4-unicast"
    ));
    assert_eq!(
        adj_out.as_array().unwrap().len(),
        2,
        "the two IPv4 pod blocks went to MetalLB: {adj_out}"
    );
    assert!(
        ureq::get(&format!("{api}/api/v1/rib?view=in"))
            .call()
            .is_err(),
        "view=in needs a peer"
    );

    // show commands, text and JSON.
    let (text, err, ok) = bgpd(&["show", "neighbors", "--api", &api]);
    assert!(ok, "{err}");
    assert!(
        text.starts_with("Peer")
            && text.contains("#Received")
            && text.contains("pod")
            && text.contains("loadbalancer"),
        "{text}"
    );
    let row = text.lines().find(|l| l.starts_with("127.0.0.11")).unwrap();
    assert!(
        row.contains("Established") && row.contains("calico node-1"),
        "{row}"
    );
    assert!(!text.contains('\u{1b}'), "no colour when piped");
    let (json, _, _) = bgpd(&["show", "neighbors", "--api", &api, "--json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&json)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (text, err, ok) = bgpd(&["show", "neighbor", "127.0.0.11", "--api", &api]);
    assert!(ok, "{err}");
    assert!(
        text.contains("BGP neighbor 127.0.0.11, remote AS 64513")
            && text.contains("Capabilities received:")
            && text.contains("4-octet AS yes"),
        "{text}"
    );
    let (text, _, ok) = bgpd(&["show", "rib", "--class", "pod", "--api", &api]);
    assert!(ok);
    assert!(
        text.contains("*>  10.244.1.0/26")
            && text.contains("198.51.100.11")
            && text.contains("3 path(s)"),
        "{text}"
    );
    let (text, _, _) = bgpd(&["show", "rib", "10.244.2.0/26", "--api", &api, "--json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()[0]["prefix"],
        "10.244.2.0/26"
    );
    let (text, _, _) = bgpd(&["show", "rib", "--family", "ipv6", "--api", &api]);
    assert!(text.contains("fd00:10:244::40/122"), "{text}");
    let (text, _, _) = bgpd(&[
        "show",
        "rib",
        "--peer",
        "127.0.0.21",
        "--out",
        "--api",
        &api,
    ]);
    assert!(
        text.contains("10.244.1.0/26") && !text.contains("203.0.113.10"),
        "{text}"
    );
    let (_, err, ok) = bgpd(&["show", "neighbors", "--api", "http://127.0.0.1:9"]);
    assert!(!ok && err.contains("cannot reach bgpd's API"), "{err}");

    // watch --json and the event stream: a new announcement shows up.
    let mut watch = Kill(
        Command::new(env!("CARGO_BIN_EXE_bgpd"))
            .args(["watch", "--json", "--api", &api])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = watch.0.stdout.take().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    calico.announce(&pods, &["10.244.3.0/26"]);
    let line = tokio::task::spawn_blocking(move || {
        let mut r = std::io::BufReader::new(stdout);
        let mut line = String::new();
        loop {
            line.clear();
            if r.read_line(&mut line).unwrap() == 0 {
                return None;
            }
            if line.contains("10.244.3.0/26") {
                return Some(line);
            }
        }
    });
    let line = tokio::time::timeout(Duration::from_secs(10), line)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let ev: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        (
            ev["type"].as_str(),
            ev["action"].as_str(),
            ev["class"].as_str()
        ),
        (Some("prefix"), Some("announce"), Some("pod"))
    );
    drop(watch);

    // Metrics: valid per promtool, with the right values.
    let metrics = ureq::get(&format!("{api}/metrics"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "bgpd_peer_up{peer=\"127.0.0.11\",peer_as=\"64513\"} 1",
        "bgpd_peer_prefixes_accepted{class=\"pod\",family=\"ipv4-unicast\",peer=\"127.0.0.11\"} 3",
        "bgpd_peer_prefixes_accepted{class=\"loadbalancer\",family=\"ipv4-unicast\",peer=\"127.0.0.21\"} 1",
        "bgpd_rib_prefixes{family=\"ipv6-unicast\"} 1",
        "process_resident_memory_bytes",
    ] {
        assert!(metrics.contains(needle), "missing {needle} in\n{metrics}");
    }

    // Resets: soft-out re-sends; hard closes with Cease 6/4 and the session returns.
    let r: Value = serde_json::from_str(
        &ureq::post(&format!(
            "{api}/api/v1/neighbors/127.0.0.21/reset?kind=soft-out"
        ))
        .call()
        .unwrap()
        .into_string()
        .unwrap(),
    )
    .unwrap();
    assert_eq!(r["status"], "ok");
    ureq::post(&format!(
        "{api}/api/v1/neighbors/127.0.0.21/reset?kind=hard"
    ))
    .call()
    .unwrap();
    assert!(lb.wait_for(Duration::from_secs(10), |r| r.closed).await);
    assert_eq!(
        lb.received().notification.map(|n| (n.code, n.subcode)),
        Some((6, 4))
    );
}

#[test]
fn grafana_dashboard_uses_only_exported_metrics() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/grafana-dashboard.json");
    let dash: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let exported = bgpd::metrics::METRICS.names();
    let exprs: Vec<String> = dash["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t["expr"].as_str().map(str::to_string))
        .collect();
    assert!(exprs.len() >= 10);
    let re = regex::Regex::new(r"\b(bgpd_[a-z_]+|process_[a-z_]+)").unwrap();
    for e in &exprs {
        for m in re.find_iter(e) {
            let name = m.as_str();
            // A histogram's series carry a suffix on the family's name.
            let family = ["_count", "_sum", "_bucket"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .filter(|f| exported.iter().any(|n| n == f));
            assert!(
                family.is_some() || exported.iter().any(|n| n == name),
                "dashboard uses {name}, which bgpd does not export: {exported:?}"
            );
        }
    }
}
