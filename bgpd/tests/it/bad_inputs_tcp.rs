//! ../shared/BAD-INPUTS.md items 1–24 over real TCP against the `bgpd` binary, while a real
//! GoBGP peer (Debian's `gobgpd`; missing fails the test) keeps a session and a route at bgpd.
//! Every case of `bgpd::chaos::MALFORMED` is sent from its own address (its own neighbor),
//! all at once. For each: the NOTIFICATION the attacker receives (code, subcode, data), or
//! for RFC 7606 cases the session staying up and the route withdrawn / kept, seen through
//! `GET /api/v1/rib?peer=` (for a kept route, also that the discarded attribute is gone from
//! it, and a kept unknown one there, through `other_attributes`); the log line naming the peer (and the offset); bgpd still
//! running; GoBGP's session (`gobgp -j neighbor`) and its route at bgpd untouched.
//! Item 4 (framing) runs alongside: a session whose OPEN, KEEPALIVE and first UPDATE arrive
//! one octet per segment and whose next messages arrive packed in one write.
use crate::support::{
    free_port, global_with_api, spawn_bgpd, KillAll, ACCEPT_ALL, HEALTHY_NEIGHBOR,
};

use bgpd::chaos::{open_case, Stage, MALFORMED};
use bgpd::lab_peer::{LabPeer, LabPeerConfig, LabRoute};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What the RIB entry of a kept route must show.
#[derive(Debug, Clone, Copy)]
enum Kept {
    /// A JSON field with this number (`None`: null, the attribute is gone).
    Field(&'static str, Option<i64>),
    /// An `other_attributes` text starting with this: the attribute was kept, as shown.
    Present(&'static str),
    /// No `other_attributes` text starting with any of these: the attribute was discarded
    /// (its name, and its type code in case it were kept opaque).
    Absent(&'static [&'static str]),
}

/// What the attacker must see.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// NOTIFICATION code/subcode, with this data if given; the session closed.
    Notify(u8, u8, Option<&'static [u8]>),
    /// The OPEN is accepted: a KEEPALIVE comes back.
    Keepalive,
    /// RFC 7606 treat-as-withdraw: session up, the route announced before is gone.
    Withdraw,
    /// Attribute discarded (or kept): session up, the route is in the RIB, and its RIB entry
    /// shows what was kept and what was discarded.
    Keep(&'static [Kept]),
    /// The connection closes without a NOTIFICATION from bgpd.
    ClosedSilently,
}

fn expected(name: &str) -> Expect {
    use Expect::*;
    match name {
        "bad-marker" => Notify(1, 1, None),
        "bad-length" => Notify(1, 2, Some(&[0, 20])),
        "bad-type" => Notify(1, 3, Some(&[0])),
        "open-version-3" => Notify(2, 1, Some(&[0, 4])),
        "open-hold-time-1" => Notify(2, 6, None),
        "open-bad-peer-as" | "open-as-zero" => Notify(2, 2, None),
        "open-bgp-id-zero" => Notify(2, 3, None),
        "open-params-truncated" => Notify(2, 0, None),
        "open-capability-length" | "open-fqdn-zero-length" => Notify(2, 0, None),
        "open-unknown-capabilities" => Keepalive,
        "withdrawn-length-overrun" | "mp-reach-twice" => Notify(3, 1, None),
        "nlri-too-long" => Notify(3, 10, None),
        "unknown-well-known" => Notify(3, 2, Some(&[0x40, 99, 1, 0])),
        "attribute-overrun"
        | "missing-next-hop"
        | "origin-optional-flag"
        | "bad-origin"
        | "origin-length"
        | "as-path-zero-segment"
        | "as-path-as-zero"
        | "next-hop-length"
        | "med-length"
        | "communities-length"
        | "ext-communities-length"
        | "large-communities-length"
        | "as-path-confed" => Withdraw,
        "local-pref-ebgp" => Keep(&[Kept::Field("local_pref", None)]),
        "atomic-aggregate-length" => Keep(&[Kept::Absent(&["atomic-aggregate", "attribute 6 "])]),
        "aggregator-length" => Keep(&[Kept::Absent(&["aggregator", "attribute 7 "])]),
        "originator-id-ebgp" => Keep(&[Kept::Absent(&["originator-id", "attribute 9 "])]),
        "host-bits-set" => Keep(&[]),
        // Stored as received; the Partial bit is set when it is passed on (export).
        "unknown-optional-transitive" => {
            Keep(&[Kept::Present("attribute 250 flags 0xc0 length 2")])
        }
        // Stored, never passed on (RFC 4271 §5: export leaves it out).
        "unknown-optional-non-transitive" => {
            Keep(&[Kept::Present("attribute 251 flags 0x80 length 2")])
        }
        "prefix-sid-corrupt" => Keep(&[Kept::Absent(&["attribute 40 "])]),
        "tunnel-encap-corrupt" => Keep(&[Kept::Absent(&["attribute 23 "])]),
        "duplicate-attribute" => Keep(&[Kept::Field("med", Some(7))]),
        "short-notification" | "notification-bad-shutdown" => ClosedSilently,
        other => panic!("no expectation for MALFORMED case {other}: add one"),
    }
}

const PREFIX: &str = "10.244.9.0/26";

async fn rib(api: u16, peer: &str) -> Vec<Value> {
    let url = format!("http://127.0.0.1:{api}/api/v1/rib?peer={peer}");
    tokio::task::spawn_blocking(move || {
        let body = ureq::get(&url).call().ok()?.into_string().ok()?;
        serde_json::from_str::<Vec<Value>>(&body).ok()
    })
    .await
    .unwrap()
    .unwrap_or_default()
}

async fn entry(api: u16, peer: &str, prefix: &str) -> Option<Value> {
    rib(api, peer)
        .await
        .into_iter()
        .find(|e| e["prefix"] == prefix)
}

/// Polls until `want` holds for the prefix's presence, or `timeout`.
async fn wait_presence(api: u16, peer: &str, present: bool, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if entry(api, peer, PREFIX).await.is_some() == present {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Runs one case from `local`; returns an error text, or None if all held.
async fn run_case(
    target: SocketAddr,
    api: u16,
    local: Ipv4Addr,
    name: &'static str,
    bytes: Vec<u8>,
    stage: Stage,
) -> Option<String> {
    let peer = local.to_string();
    let exp = expected(name);
    if stage == Stage::Open {
        let r = open_case(
            target,
            Some(IpAddr::V4(local)),
            &bytes,
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        let ok = match exp {
            Expect::Notify(c, s, d) => match &r.notification {
                Some((rc, rs, rd)) => {
                    *rc == c && *rs == s && d.is_none_or(|d| rd.as_slice() == d) && r.types[0] == 1
                }
                None => false,
            },
            Expect::Keepalive => r.types == [1, 4] && r.notification.is_none(),
            _ => false,
        };
        return (!ok).then(|| format!("{name}: expected {exp:?}, got {r} ({:?})", r.types));
    }
    let mut cfg = LabPeerConfig::new(64513, Ipv4Addr::new(198, 51, 100, 99));
    cfg.local_address = Some(IpAddr::V4(local));
    let mut p = None;
    for _ in 0..50 {
        match LabPeer::connect(target, cfg.clone()).await {
            Ok(x) => {
                p = Some(x);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let Some(p) = p else {
        return Some(format!("{name}: no session"));
    };
    let route = LabRoute::new(vec![64513], "198.51.100.99".parse().unwrap());
    if matches!(exp, Expect::Withdraw) {
        p.announce(&route, &[PREFIX]);
        if !wait_presence(api, &peer, true, Duration::from_secs(10)).await {
            return Some(format!("{name}: the valid route never reached bgpd's RIB"));
        }
    }
    p.send_raw(bytes.into());
    let closed = p.wait_for(Duration::from_secs(3), |r| r.closed).await;
    let got = p.received();
    match exp {
        Expect::Notify(c, s, d) => {
            let n = got.notification.as_ref();
            let ok = closed
                && n.is_some_and(|n| {
                    n.code == c && n.subcode == s && d.is_none_or(|d| n.data.as_ref() == d)
                });
            (!ok).then(|| format!("{name}: expected {exp:?}, got closed={closed} {n:?}"))
        }
        Expect::ClosedSilently => (!(closed && got.notification.is_none())).then(|| {
            format!(
                "{name}: expected a close without NOTIFICATION, got closed={closed} {:?}",
                got.notification
            )
        }),
        Expect::Withdraw => {
            if closed {
                return Some(format!("{name}: session reset: {:?}", got.notification));
            }
            (!wait_presence(api, &peer, false, Duration::from_secs(10)).await)
                .then(|| format!("{name}: the route was not withdrawn"))
        }
        Expect::Keep(checks) => {
            if closed {
                return Some(format!("{name}: session reset: {:?}", got.notification));
            }
            if !wait_presence(api, &peer, true, Duration::from_secs(10)).await {
                return Some(format!("{name}: the route is not in bgpd's RIB"));
            }
            let e = entry(api, &peer, PREFIX).await.unwrap_or_default();
            let others: Vec<&str> = e["other_attributes"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let wrong = checks.iter().find(|c| match c {
                Kept::Field(f, v) => e[f] != v.map_or(Value::Null, Value::from),
                Kept::Present(text) => !others.iter().any(|o| o.starts_with(text)),
                Kept::Absent(texts) => others
                    .iter()
                    .any(|o| texts.iter().any(|t| o.starts_with(t))),
            });
            wrong.map(|c| format!("{name}: expected {c:?} in the RIB entry {e}"))
        }
        Expect::Keepalive => Some(format!("{name}: Keepalive is for OPEN cases")),
    }
}

fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    m.push(kind);
    m.extend_from_slice(body);
    m
}

/// A valid UPDATE: ORIGIN IGP, AS_PATH 64513, NEXT_HOP 198.51.100.98, NLRI 10.244.N.0/26.
fn valid_update(n: u8) -> Vec<u8> {
    let attrs = [
        0x40, 1, 1, 0, 0x40, 2, 6, 2, 1, 0, 0, 0xfc, 0x01, 0x40, 3, 4, 198, 51, 100, 98,
    ];
    let mut body = vec![0, 0, 0, attrs.len() as u8];
    body.extend_from_slice(&attrs);
    body.extend_from_slice(&[26, 10, 244, n, 0]);
    message(2, &body)
}

/// Item 4 over TCP: the OPEN, a KEEPALIVE and an UPDATE sent one octet per segment, then
/// two UPDATEs and a KEEPALIVE packed in one write: the session comes up and all three
/// routes reach the RIB.
async fn framing_byte_by_byte_and_packed(target: SocketAddr, api: u16) -> Option<String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from(([127, 0, 3, 1], 0))).unwrap();
    let mut stream = socket.connect(target).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let caps = [2, 12, 1, 4, 0, 1, 0, 1, 65, 4, 0, 0, 0xfc, 0x01];
    let mut open = vec![4, 0xfc, 0x01, 0, 90, 198, 51, 100, 98, caps.len() as u8];
    open.extend_from_slice(&caps);
    let one_by_one = [message(1, &open), message(4, &[]), valid_update(31)].concat();
    let mut seen = Vec::new();
    for (i, b) in one_by_one.iter().enumerate() {
        stream.write_all(&[*b]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
        if i + 1 == message(1, &open).len() {
            // bgpd answers the OPEN with its OPEN and a KEEPALIVE.
            let mut buf = [0u8; 4096];
            while !seen.windows(3).any(|w| w == [0, 19, 4]) {
                match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
                    Ok(Ok(n)) if n > 0 => seen.extend_from_slice(&buf[..n]),
                    other => {
                        return Some(format!(
                            "framing: no KEEPALIVE after the split OPEN: {other:?} {seen:02x?}"
                        ))
                    }
                }
            }
        }
    }
    let packed = [valid_update(32), valid_update(33), message(4, &[])].concat();
    stream.write_all(&packed).await.unwrap();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        let rib = rib(api, "127.0.3.1").await;
        if [31, 32, 33].iter().all(|n| {
            rib.iter()
                .any(|e| e["prefix"] == format!("10.244.{n}.0/26"))
        }) {
            drop(stream);
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Some(format!(
        "framing: not every route reached the RIB: {:?}",
        rib(api, "127.0.3.1").await
    ))
}

fn gobgp_json(api: u16, args: &[&str]) -> Value {
    let out = Command::new("gobgp")
        .args(["-p", &api.to_string(), "-j"])
        .args(args)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_bad_input_over_tcp_with_a_healthy_gobgp_peer() {
    for tool in ["gobgpd", "gobgp"] {
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
    let dir = tempfile::tempdir().unwrap();
    let (port, api, gapi) = (free_port(), free_port(), free_port());
    let mut neighbors = String::new();
    for i in 0..MALFORMED.len() {
        neighbors.push_str(&format!(
            "[[neighbors]]\naddress = \"127.0.2.{}\"\npeer_as = 64513\npassive = true\nimport_policy = [\"all\"]\n\n",
            i + 1
        ));
    }
    neighbors.push_str(
        "[[neighbors]]\naddress = \"127.0.3.1\"\npeer_as = 64513\npassive = true\nimport_policy = [\"all\"]\n\n",
    );
    let config = dir.path().join("bgpd.toml");
    std::fs::write(
        &config,
        format!(
            "{}{ACCEPT_ALL}{HEALTHY_NEIGHBOR}{neighbors}",
            global_with_api(port, api)
        ),
    )
    .unwrap();
    let log = dir.path().join("bgpd.log");
    let bgpd = spawn_bgpd(&config, Some(&log), &[], None);
    let mut procs = KillAll(vec![bgpd]);
    let gcfg = dir.path().join("gobgp.toml");
    std::fs::write(
        &gcfg,
        format!(
            "[global.config]\n  as = 64514\n  router-id = \"127.0.0.21\"\n  port = -1\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"127.0.0.2\"\n    peer-as = 64515\n  [neighbors.timers.config]\n    connect-retry = 1\n  [neighbors.transport.config]\n    local-address = \"127.0.0.21\"\n    remote-port = {port}\n  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"ipv4-unicast\"\n"
        ),
    )
    .unwrap();
    procs.0.push(
        Command::new("gobgpd")
            .arg("-f")
            .arg(&gcfg)
            .arg("--api-hosts")
            .arg(format!("127.0.0.1:{gapi}"))
            .arg("--pprof-disable")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("gobgpd.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let healthy = "203.0.113.0/24";
    let start = Instant::now();
    let mut added = false;
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "GoBGP never Established: {}",
            gobgp_json(gapi, &["neighbor"])
        );
        let v = gobgp_json(gapi, &["neighbor"]);
        if v[0]["state"]["session_state"] == 6 {
            if !added {
                let st = Command::new("gobgp")
                    .args([
                        "-p",
                        &gapi.to_string(),
                        "global",
                        "rib",
                        "add",
                        healthy,
                        "-a",
                        "ipv4",
                        "nexthop",
                        "198.51.100.21",
                    ])
                    .status()
                    .unwrap();
                assert!(st.success());
                added = true;
            }
            if entry(api, "127.0.0.21", healthy).await.is_some() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let before = gobgp_json(gapi, &["neighbor"]);
    let healthy_entry = entry(api, "127.0.0.21", healthy).await.unwrap();

    let target = SocketAddr::from(([127, 0, 0, 2], port));
    let t0 = Instant::now();
    let tasks: Vec<_> = MALFORMED
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let local = Ipv4Addr::new(127, 0, 2, i as u8 + 1);
            tokio::spawn(run_case(target, api, local, c.name, (c.bytes)(), c.stage))
        })
        .collect();
    let framing = tokio::spawn(framing_byte_by_byte_and_packed(target, api));
    let mut failures = Vec::new();
    if let Some(f) = framing.await.unwrap() {
        failures.push(f);
    }
    for t in tasks {
        if let Some(f) = t.await.unwrap() {
            failures.push(f);
        }
    }
    eprintln!(
        "{} cases in {:.1} s",
        MALFORMED.len(),
        t0.elapsed().as_secs_f64()
    );

    // The log names the peer for every case; with the offset where the decoder found one.
    let text = std::fs::read_to_string(&log).unwrap();
    for (i, c) in MALFORMED.iter().enumerate() {
        let peer = format!("127.0.2.{}", i + 1);
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(&format!("peer={peer} ")))
            .collect();
        let needs_offset = matches!(expected(c.name), Expect::Withdraw)
            || (c.stage == Stage::Established && matches!(expected(c.name), Expect::Notify(..)));
        if needs_offset && !lines.iter().any(|l| l.contains("offset")) {
            failures.push(format!(
                "{}: no log line with peer {peer} and the offset:\n{}",
                c.name,
                lines.join("\n")
            ));
        }
        // An accepted OPEN is no error: nothing to log until the session is Established.
        if lines.is_empty() && !matches!(expected(c.name), Expect::Keepalive) {
            failures.push(format!("{}: no log line names peer {peer}", c.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\nbgpd log:\n{text}",
        failures.join("\n")
    );

    // bgpd still runs; GoBGP's session and route were never touched.
    assert!(procs.0[0].try_wait().unwrap().is_none(), "bgpd exited");
    let after = gobgp_json(gapi, &["neighbor"]);
    assert_eq!(after[0]["state"]["session_state"], 6, "{after}");
    assert_eq!(
        after[0]["timers"]["state"]["uptime"], before[0]["timers"]["state"]["uptime"],
        "GoBGP's session restarted: {before} -> {after}"
    );
    // The same route, never replaced: everything equal, and its age kept growing.
    let mut now = entry(api, "127.0.0.21", healthy).await.unwrap();
    let mut was = healthy_entry;
    assert!(
        now["age_seconds"].as_u64() >= was["age_seconds"].as_u64(),
        "{was} -> {now}"
    );
    now["age_seconds"] = Value::Null;
    was["age_seconds"] = Value::Null;
    assert_eq!(now, was);
    let n: Value = serde_json::from_str(
        &ureq::get(&format!(
            "http://127.0.0.1:{api}/api/v1/neighbors/127.0.0.21"
        ))
        .call()
        .unwrap()
        .into_string()
        .unwrap(),
    )
    .unwrap();
    assert_eq!(n["state"], "Established");
    assert_eq!(n["flaps"], 0);
}
