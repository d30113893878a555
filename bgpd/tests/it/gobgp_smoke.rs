//! Real-peer smoke test: GoBGP (Debian's `gobgpd`) as a Calico-like peer in AS 64513
//! announces /26 pod blocks to the `bgpd` binary acting as route server; bgpd's prefix log
//! shows each with `class=pod`, and a second GoBGP (AS 64514) receives them with the route
//! server's rules (AS_PATH without our AS, NEXT_HOP and communities unchanged). GoBGP's own
//! JSON output is the evidence. A missing `gobgpd` fails the test.
use crate::support::{free_port, KillAll};

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn require(tool: &str) {
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "`{tool}` is not installed: run tests/install-deps.sh (Debian package gobgpd)"
    );
}

fn gobgp_config(
    dir: &Path,
    name: &str,
    asn: u32,
    addr: &str,
    bgpd_port: u16,
) -> std::path::PathBuf {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(
        &p,
        format!(
            r#"[global.config]
  as = {asn}
  router-id = "{addr}"
  port = -1
[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.0.2"
    peer-as = 64515
  [neighbors.timers.config]
    connect-retry = 1
  [neighbors.transport.config]
    local-address = "{addr}"
    remote-port = {bgpd_port}
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
"#
        ),
    )
    .unwrap();
    p
}

fn gobgp(api: u16, args: &[&str]) -> String {
    let out = Command::new("gobgp")
        .arg("-p")
        .arg(api.to_string())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gobgp {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<String>) {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < timeout {
        match f() {
            None => return,
            Some(s) => last = s,
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("timed out waiting for {what}; last seen:\n{last}");
}

/// bgpd as route server on 127.0.0.2 with two GoBGP clients, "calico" (AS 64513 on
/// 127.0.0.11) and "metallb" (AS 64514 on 127.0.0.21), both sessions Established.
struct Lab {
    dir: tempfile::TempDir,
    log_path: std::path::PathBuf,
    api_a: u16,
    api_b: u16,
    procs: KillAll,
}

fn lab() -> Lab {
    require("gobgpd");
    require("gobgp");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (api_a, api_b) = (free_port(), free_port());
    let config = dir.path().join("bgpd.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[global]
asn = 64515
router_id = "127.0.0.2"
listen = ["127.0.0.2:{port}"]
log_level = "info"

[[classes]]
name = "pod"
prefixes = ["10.244.0.0/16 le 26", "fd00:10:244::/56 le 122"]
origin_as = [64513]

[[policies]]
name = "all"
[[policies.statements]]
action = "accept"

[[neighbors]]
address = "127.0.0.11"
peer_as = 64513
role = "route-server-client"
passive = true
import_policy = ["all"]
export_policy = ["all"]

[[neighbors]]
address = "127.0.0.21"
peer_as = 64514
role = "route-server-client"
passive = true
import_policy = ["all"]
export_policy = ["all"]
"#
        ),
    )
    .unwrap();
    let log_path = dir.path().join("bgpd.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let bgpd = Command::new(env!("CARGO_BIN_EXE_bgpd"))
        .args(["run", "--config"])
        .arg(&config)
        .args(["--log-format", "json"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut procs = KillAll(vec![bgpd]);
    for (name, asn, addr, api) in [
        ("calico", 64513, "127.0.0.11", api_a),
        ("metallb", 64514, "127.0.0.21", api_b),
    ] {
        let cfg = gobgp_config(dir.path(), name, asn, addr, port);
        let child = Command::new("gobgpd")
            .arg("-f")
            .arg(&cfg)
            .arg("--api-hosts")
            .arg(format!("127.0.0.1:{api}"))
            .arg("--pprof-disable")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join(format!("{name}.log"))).unwrap())
            .spawn()
            .unwrap();
        procs.0.push(child);
    }
    for api in [api_a, api_b] {
        wait("GoBGP session Established", Duration::from_secs(30), || {
            let out = Command::new("gobgp")
                .args(["-p", &api.to_string(), "-j", "neighbor"])
                .output()
                .ok()?;
            let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            let state = v.get(0).and_then(|n| n["state"]["session_state"].as_i64());
            if state == Some(6) {
                None
            } else {
                Some(String::from_utf8_lossy(&out.stdout).into_owned())
            }
        });
    }
    Lab {
        dir,
        log_path,
        api_a,
        api_b,
        procs,
    }
}

#[test]
fn gobgp_calico_pods_through_bgpd_route_server() {
    let Lab {
        dir: _dir,
        log_path,
        api_a,
        api_b,
        procs,
    } = lab();
    let pods = ["10.244.1.0/26", "10.244.2.0/26", "10.244.3.0/26"];
    for p in pods {
        gobgp(
            api_a,
            &[
                "global",
                "rib",
                "add",
                p,
                "-a",
                "ipv4",
                "nexthop",
                "198.51.100.11",
                "community",
                "64513:100",
            ],
        );
    }
    gobgp(
        api_a,
        &[
            "global",
            "rib",
            "add",
            "fd00:10:244::40/122",
            "-a",
            "ipv6",
            "nexthop",
            "2001:db8:51::11",
        ],
    );

    // The second GoBGP sees every pod block, as the route server must pass it.
    wait(
        "pod blocks at the second GoBGP",
        Duration::from_secs(20),
        || {
            let rib = gobgp(api_b, &["-j", "global", "rib"]);
            let v: Value = serde_json::from_str(&rib).unwrap_or(Value::Null);
            pods.iter().any(|p| v.get(*p).is_none()).then_some(rib)
        },
    );
    let v: Value = serde_json::from_str(&gobgp(api_b, &["-j", "global", "rib"])).unwrap();
    for p in pods {
        let attrs = v[p][0]["attrs"].as_array().unwrap();
        let find = |t: i64| {
            attrs
                .iter()
                .find(|a| a["type"] == t)
                .cloned()
                .unwrap_or(Value::Null)
        };
        assert_eq!(
            find(2)["as_paths"][0]["asns"],
            serde_json::json!([64513]),
            "{p}: AS_PATH without the route server's AS: {attrs:?}"
        );
        assert_eq!(
            find(3)["nexthop"],
            "198.51.100.11",
            "{p}: NEXT_HOP unchanged: {attrs:?}"
        );
        assert_eq!(
            find(8)["communities"],
            serde_json::json!([64513u32 << 16 | 100]),
            "{p}: community unchanged: {attrs:?}"
        );
    }
    wait(
        "IPv6 pod block at the second GoBGP",
        Duration::from_secs(20),
        || {
            let rib = gobgp(api_b, &["-j", "global", "rib", "-a", "ipv6"]);
            (!rib.contains("fd00:10:244::40/122")).then_some(rib)
        },
    );

    // Withdraw one: it disappears.
    gobgp(
        api_a,
        &["global", "rib", "del", "10.244.3.0/26", "-a", "ipv4"],
    );
    wait(
        "withdrawal at the second GoBGP",
        Duration::from_secs(20),
        || {
            let rib = gobgp(api_b, &["-j", "global", "rib"]);
            rib.contains("10.244.3.0/26").then_some(rib)
        },
    );

    // bgpd's prefix log: one JSON line per pod prefix, class pod, peer the Calico GoBGP.
    let lines: Vec<Value> = std::fs::read_to_string(&log_path)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &Value| v["target"] == "bgpd::prefix" && v.get("prefix").is_some())
        .collect();
    for p in pods.iter().chain(["fd00:10:244::40/122"].iter()) {
        assert!(
            lines.iter().any(|l| l["prefix"] == *p
                && l["class"] == "pod"
                && l["action"] == "announce"
                && l["peer"] == "127.0.0.11"
                && l["peer_as"] == 64513),
            "no announce line with class=pod for {p} in bgpd's log: {lines:?}"
        );
    }
    assert!(
        lines.iter().any(|l| l["prefix"] == "10.244.3.0/26"
            && l["action"] == "withdraw"
            && l["class"] == "pod"),
        "no withdraw line for 10.244.3.0/26"
    );
    drop(procs);
}

/// The AS numbers of the AS_PATH of every path for `prefix` in a GoBGP JSON table (`-j`).
fn as_paths(table: &str, prefix: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(table).unwrap_or(Value::Null);
    v.get(prefix)
        .and_then(Value::as_array)
        .map(|paths| {
            paths
                .iter()
                .map(|p| {
                    p["attrs"]
                        .as_array()
                        .and_then(|a| a.iter().find(|a| a["type"] == 2))
                        .map(|a| a["as_paths"][0]["asns"].clone())
                        .unwrap_or(Value::Null)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// RFC 7947 §2.3.2.1 with real clients and no ADD-PATH: both GoBGP clients announce the
/// same prefix; the first one's path wins at bgpd (equal AS_PATH length, lower router id),
/// and it is still sent the second one's path — a route server with one best path for all
/// would send it nothing. When the winner withdraws, the other client's path is the best
/// and the first client keeps holding it while the second loses the route. Each GoBGP's
/// table holds its own path (AS_PATH empty) and what bgpd sent it.
#[test]
fn gobgp_route_server_client_whose_path_wins_gets_the_other_path() {
    let l = lab();
    let p = "192.0.2.0/24";
    let from_a = serde_json::json!([64513]);
    let from_b = serde_json::json!([64514]);
    let rib = |api: u16| gobgp(api, &["-j", "global", "rib", "-a", "ipv4"]);
    let add = |api: u16, nh: &str| {
        gobgp(
            api,
            &["global", "rib", "add", p, "-a", "ipv4", "nexthop", nh],
        );
    };
    // Waits until the client's table has (or no longer has) the path with that AS_PATH.
    let wait_path = |what: &str, api: u16, path: &Value, present: bool| {
        wait(what, Duration::from_secs(20), || {
            let t = rib(api);
            (as_paths(&t, p).contains(path) != present).then_some(t)
        });
    };
    add(l.api_a, "198.51.100.11");
    wait_path(
        "the first path at the second client",
        l.api_b,
        &from_a,
        true,
    );
    add(l.api_b, "198.51.100.21");
    wait_path(
        "the second client's path at the first client, whose own path is bgpd's best",
        l.api_a,
        &from_b,
        true,
    );
    // bgpd's best is still the first client's path: the second client holds it.
    let t = rib(l.api_b);
    assert!(as_paths(&t, p).contains(&from_a), "{t}");

    gobgp(l.api_a, &["global", "rib", "del", p, "-a", "ipv4"]);
    wait_path(
        "the withdrawal at the second client",
        l.api_b,
        &from_a,
        false,
    );
    let t = rib(l.api_a);
    assert_eq!(as_paths(&t, p), vec![from_b], "{t}");
    let log = std::fs::read_to_string(&l.log_path).unwrap();
    assert!(!log.contains("panicked"), "{log}");
    drop(l.procs);
}
