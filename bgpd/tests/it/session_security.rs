//! Session security and timers against a running `bgpd` binary over real TCP: TCP-MD5
//! (right key, wrong key, no key), TTL security (RFC 5082), max-prefix (Cease 6/1 and the
//! restart interval), the send hold timer (RFC 9687) against a peer that stops reading, and a
//! malformed NOTIFICATION that must not be answered.
use crate::support::{free_port, wait_for_api};

use bgp_proto::{Message, SessionContext};
use bgpd::lab_peer::{LabPeer, LabPeerConfig, LabRoute};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Bgpd {
    child: std::process::Child,
    api: String,
    port: u16,
    _dir: tempfile::TempDir,
    log: std::path::PathBuf,
}

impl Drop for Bgpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(neighbors: &str) -> Bgpd {
    start_at("127.0.0.2", 64515, neighbors)
}

/// A bgpd listening on `address` (also its router id) in AS `asn`.
fn start_at(address: &str, asn: u32, neighbors: &str) -> Bgpd {
    let dir = tempfile::tempdir().unwrap();
    let (port, api_port) = (free_port(), free_port());
    let config = dir.path().join("bgpd.toml");
    std::fs::write(
        &config,
        format!(
            "[global]\nasn = {asn}\nrouter_id = \"{address}\"\nlisten = [\"{address}:{port}\"]\n[api]\nlisten = \"127.0.0.1:{api_port}\"\n[[policies]]\nname = \"all\"\n[[policies.statements]]\naction = \"accept\"\n{neighbors}"
        ),
    )
    .unwrap();
    let log = dir.path().join("bgpd.log");
    let child = Command::new(env!("CARGO_BIN_EXE_bgpd"))
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "info")
        .stderr(std::fs::File::create(&log).unwrap())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let api = format!("http://127.0.0.1:{api_port}");
    wait_for_api(&api);
    Bgpd {
        child,
        api,
        port,
        _dir: dir,
        log,
    }
}

fn neighbor(api: &str, addr: &str) -> Value {
    serde_json::from_str(
        &ureq::get(&format!("{api}/api/v1/neighbors/{addr}"))
            .call()
            .unwrap()
            .into_string()
            .unwrap(),
    )
    .unwrap()
}

fn peer(addr: [u8; 4], asn: u32) -> LabPeerConfig {
    let mut c = LabPeerConfig::new(asn, Ipv4Addr::from(addr));
    c.local_address = Some(IpAddr::V4(Ipv4Addr::from(addr)));
    c
}

async fn try_connect(port: u16, cfg: LabPeerConfig, wait: Duration) -> Option<LabPeer> {
    try_connect_to([127, 0, 0, 2], port, cfg, wait).await
}

async fn try_connect_to(
    addr: [u8; 4],
    port: u16,
    cfg: LabPeerConfig,
    wait: Duration,
) -> Option<LabPeer> {
    let target = SocketAddr::from((addr, port));
    tokio::time::timeout(wait, LabPeer::connect(target, cfg))
        .await
        .ok()?
        .ok()
}

async fn connect(port: u16, cfg: LabPeerConfig) -> LabPeer {
    connect_to([127, 0, 0, 2], port, cfg).await
}

async fn connect_to(addr: [u8; 4], port: u16, cfg: LabPeerConfig) -> LabPeer {
    for _ in 0..50 {
        if let Some(p) = try_connect_to(addr, port, cfg.clone(), Duration::from_secs(3)).await {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("cannot connect");
}

const MD5_NEIGHBORS: &str = "
[[neighbors]]
address = \"127.0.0.11\"
peer_as = 64513
passive = true
password = \"calico-secret\"
import_policy = [\"all\"]
export_policy = [\"all\"]

[[neighbors]]
address = \"127.0.0.12\"
peer_as = 64513
passive = true
password_env = \"BGPD_TEST_NO_SUCH_VARIABLE_IS_SET_HERE\"
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_md5_right_key_wrong_key_no_key() {
    // A password from an unset environment variable is a config error naming the key.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let policies = "[[policies]]\nname = \"all\"\n[[policies.statements]]\naction = \"accept\"\n";
    std::fs::write(
        &bad,
        format!("[global]\nasn = 64515\nrouter_id = \"127.0.0.2\"\n{policies}{MD5_NEIGHBORS}"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bgpd"))
        .args(["check", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains("neighbors[1].password_env")
            && err.contains("is not set"),
        "{err}"
    );

    let only_first = MD5_NEIGHBORS
        .split("\n[[neighbors]]\naddress = \"127.0.0.12\"")
        .next()
        .unwrap();
    let bgpd = start(only_first);
    // Wrong key and no key: the SYN is dropped by the kernel, the session never comes up.
    let mut wrong = peer([127, 0, 0, 11], 64513);
    wrong.password = Some(b"wrong".to_vec());
    assert!(
        try_connect(bgpd.port, wrong, Duration::from_secs(4))
            .await
            .is_none(),
        "a wrong TCP-MD5 key must not connect"
    );
    assert!(
        try_connect(
            bgpd.port,
            peer([127, 0, 0, 11], 64513),
            Duration::from_secs(4)
        )
        .await
        .is_none(),
        "no key must not connect"
    );
    assert_ne!(neighbor(&bgpd.api, "127.0.0.11")["state"], "Established");
    // The right key: Established, routes flow.
    let mut right = peer([127, 0, 0, 11], 64513);
    right.password = Some(b"calico-secret".to_vec());
    let p = connect(bgpd.port, right).await;
    p.announce(
        &LabRoute::new(vec![64513], "198.51.100.11".parse().unwrap()),
        &["10.244.1.0/26"],
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let n = neighbor(&bgpd.api, "127.0.0.11");
    assert_eq!(n["state"], "Established");
    assert_eq!(n["accepted"], 1);
    let log = std::fs::read_to_string(&bgpd.log).unwrap();
    assert!(
        !log.contains("calico-secret"),
        "the password never appears in the log"
    );
}

/// TCP-MD5 when bgpd opens the connection (RFC 2385): its key is on the socket before the
/// SYN. Three peers listen, each with the key "peer-key" for bgpd's address; bgpd dials them
/// with the same key, a wrong one and none. Only the first connection is ever accepted (the
/// kernel drops segments whose signature is missing or wrong), and bgpd's OPEN arrives on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_md5_on_connections_bgpd_opens() {
    use std::os::fd::AsRawFd;
    let bgpd_address: IpAddr = Ipv4Addr::new(127, 0, 0, 2).into();
    let mut listeners = Vec::new();
    let mut neighbors = String::new();
    for (last, key) in [
        (41u8, Some("peer-key")),
        (42, Some("wrong-key")),
        (43, None),
    ] {
        let address = Ipv4Addr::new(127, 0, 0, last);
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        bgpd::session::socket_options::set_md5_key(socket.as_raw_fd(), bgpd_address, b"peer-key")
            .unwrap();
        socket.bind(SocketAddr::from((address, 0))).unwrap();
        let port = socket.local_addr().unwrap().port();
        listeners.push((last, socket.listen(8).unwrap()));
        let password = key.map_or(String::new(), |k| format!("password = \"{k}\"\n"));
        neighbors.push_str(&format!(
            "[[neighbors]]\naddress = \"{address}\"\npeer_as = 64513\nport = {port}\n\
             local_address = \"127.0.0.2\"\n{password}"
        ));
    }
    let bgpd = start(&neighbors);
    let mut accepted = Vec::new();
    for (last, listener) in &listeners {
        if let Ok(Ok((mut stream, _))) =
            tokio::time::timeout(Duration::from_secs(5), listener.accept()).await
        {
            let mut header = [0u8; 19];
            let read = tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut header));
            let open = matches!(read.await, Ok(Ok(_))) && header[18] == 1;
            accepted.push((*last, open));
        }
    }
    assert_eq!(
        accepted,
        vec![(41, true)],
        "only the connection signed with the listener's key is accepted, and bgpd's OPEN comes on it"
    );
    let log = std::fs::read_to_string(&bgpd.log).unwrap();
    assert!(
        !log.contains("peer-key") && !log.contains("wrong-key"),
        "the password never appears in the log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_security_drops_peers_that_do_not_send_ttl_255() {
    let bgpd = start(
        "[[neighbors]]\naddress = \"127.0.0.11\"\npeer_as = 64513\npassive = true\nttl_security = 1\n\
         [[neighbors]]\naddress = \"127.0.0.12\"\npeer_as = 64513\npassive = true\nttl_security = 1\n",
    );
    // A peer sending with TTL 64: bgpd reads its SYN's TTL (kept by the listener) and closes
    // the connection at once, with the TTL in its log. Without that check, its first segment
    // (the OPEN) was queued before bgpd set the minimum TTL and read; nothing after it
    // passed, so bgpd never reached Established (whatever the peer believed). The GTSM peer
    // below is another neighbor all the same.
    let far = try_connect(
        bgpd.port,
        peer([127, 0, 0, 11], 64513),
        Duration::from_secs(3),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_ne!(
        neighbor(&bgpd.api, "127.0.0.11")["state"],
        "Established",
        "TTL 64 must not pass a minimum TTL of 255"
    );
    assert!(far.is_none(), "a peer sending TTL 64 got a session");
    let log = std::fs::read_to_string(&bgpd.log).unwrap();
    assert!(
        log.contains("the peer's SYN arrived with TTL 64, below 255: connection refused"),
        "no log line naming the SYN's TTL:\n{log}"
    );
    let mut gtsm = peer([127, 0, 0, 12], 64513);
    gtsm.ttl_255 = true;
    gtsm.graceful_restart = Some(120);
    let p = connect(bgpd.port, gtsm).await;
    // The peer is Established once it has our KEEPALIVE; bgpd once it has the peer's.
    let mut state = Value::Null;
    for _ in 0..50 {
        state = neighbor(&bgpd.api, "127.0.0.12")["state"].clone();
        if state == "Established" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(state, "Established", "a peer sending TTL 255 gets in");

    // A connection from the GTSM peer's address with TTL 64 while its session, with graceful
    // restart, is Established: refused before anything acts on it. Taken as the peer
    // restarting (RFC 4724 §4.2), it would end the live session, from anyone who can reach
    // the port from farther away.
    let spoof = try_connect(
        bgpd.port,
        peer([127, 0, 0, 12], 64513),
        Duration::from_secs(2),
    )
    .await;
    assert!(spoof.is_none(), "a TTL-64 connection got a session");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        neighbor(&bgpd.api, "127.0.0.12")["state"],
        "Established",
        "the live session did not survive a refused connection"
    );
    assert!(!p.received().closed, "bgpd closed the live session");
    let log = std::fs::read_to_string(&bgpd.log).unwrap();
    assert!(
        !log.contains("peer restarted (graceful restart)"),
        "a refused connection was taken for a restart:\n{log}"
    );
    assert_eq!(
        log.matches("the peer's SYN arrived with TTL 64, below 255")
            .count(),
        2,
        "each TTL-64 connection is logged:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_prefix_cease_6_1_then_waits_the_restart_interval() {
    let bgpd = start(
        "[[neighbors]]\naddress = \"127.0.0.11\"\npeer_as = 64513\npassive = true\nmax_prefixes = 2\nmax_prefixes_restart = 6\nimport_policy = [\"all\"]\n",
    );
    let p = connect(bgpd.port, peer([127, 0, 0, 11], 64513)).await;
    p.announce(
        &LabRoute::new(vec![64513], "198.51.100.11".parse().unwrap()),
        &["10.244.1.0/26", "10.244.2.0/26", "10.244.3.0/26"],
    );
    assert!(p.wait_for(Duration::from_secs(10), |r| r.closed).await);
    let n = p.received().notification.unwrap();
    assert_eq!(
        (n.code, n.subcode, &n.data[..]),
        (6, 1, &[0, 1, 1, 0, 0, 0, 2][..]),
        "Cease 6/1 with AFI/SAFI/limit"
    );
    // No new session within the restart interval (6 s from the Cease, which came just
    // before t0)...
    let t0 = std::time::Instant::now();
    assert!(try_connect(
        bgpd.port,
        peer([127, 0, 0, 11], 64513),
        Duration::from_secs(3)
    )
    .await
    .is_none());
    // ...but after it: not before 5 s (a shorter wait fails here), and not long after.
    let p = connect(bgpd.port, peer([127, 0, 0, 11], 64513)).await;
    let back = t0.elapsed();
    assert!(
        back >= Duration::from_secs(5) && back <= Duration::from_secs(15),
        "came back {back:?} after the Cease; the restart interval is 6 s"
    );
    drop(p);
}

/// A raw peer 127.0.0.21 (AS 64514) with a 4 KiB receive buffer: it sends OPEN and KEEPALIVE,
/// reads bgpd's answer, and from then on reads only when the test does.
async fn raw_peer_with_a_small_window(port: u16) -> tokio::net::TcpStream {
    raw_slow_peer(port, vec![bgp_proto::Capability::FourOctetAs(64514)]).await
}

/// [`raw_peer_with_a_small_window`] offering `capabilities`.
async fn raw_slow_peer(
    port: u16,
    capabilities: Vec<bgp_proto::Capability>,
) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.bind("127.0.0.21:0".parse().unwrap()).unwrap();
    let mut stream = socket
        .connect(SocketAddr::from(([127, 0, 0, 2], port)))
        .await
        .unwrap();
    let open = bgp_proto::Open::new(64514, 90, Ipv4Addr::new(127, 0, 0, 21), capabilities);
    let ctx = SessionContext::default();
    for m in [Message::Open(open), Message::Keepalive] {
        stream.write_all(&m.to_bytes(&ctx).unwrap()).await.unwrap();
    }
    let mut buf = [0u8; 512];
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await;
    stream
}

/// Gives a slow peer's socket a large receive buffer before it reads everything. With the
/// 4,096-octet buffer it filled with, the window it can reopen is far below loopback's
/// 64 KiB segment, and the kernel may leave the sender on zero-window probes that back off
/// exponentially: the rest then trickles in for minutes (two fresh-clone CI runs of session
/// 19 read 9,487 of 20,001 routes in 60 s and 14,163 of 60,000 in 90 s, where a run alone
/// reads all in 4 s). What bgpd sends does not change; only how fast the test reads it.
fn open_the_window(stream: &tokio::net::TcpStream) {
    socket2::SockRef::from(stream)
        .set_recv_buffer_size(1 << 20)
        .unwrap();
}

/// One read from a raw peer's socket, waiting at most `wait`: the messages it completed in
/// `stream` (which keeps a partial one for the next read), or `None` when nothing came.
async fn read_messages(
    peer: &mut tokio::net::TcpStream,
    stream: &mut Vec<u8>,
    ctx: &SessionContext,
    wait: Duration,
) -> Option<Vec<Message>> {
    let mut buf = vec![0u8; 1 << 16];
    let Ok(read) = tokio::time::timeout(wait, peer.read(&mut buf)).await else {
        return None;
    };
    // A reset, a stream that is not framed or a message that does not decode fails here,
    // not as a peer that later waits for routes that never come.
    let n = read.unwrap_or_else(|e| panic!("reading from bgpd failed: {e}"));
    assert!(n > 0, "bgpd closed the session to the slow peer");
    stream.extend_from_slice(&buf[..n]);
    let mut messages = Vec::new();
    loop {
        match bgp_proto::frame_len(stream, bgp_proto::MAX_MESSAGE_LEN) {
            Ok(Some(len)) if len <= stream.len() => {
                let frame: Vec<u8> = stream.drain(..len).collect();
                messages.push(Message::decode(&frame, ctx).unwrap_or_else(|e| {
                    panic!("bgpd sent a message the peer cannot decode: {e}: {frame:02x?}")
                }));
            }
            Ok(_) => break,
            Err(e) => panic!(
                "bgpd's stream is not framed: {e}; next octets {:02x?}",
                &stream[..stream.len().min(40)]
            ),
        }
    }
    Some(messages)
}

/// The feeder 127.0.0.11 and the peer 127.0.0.21 that reads slowly, both accepting and
/// sent everything.
const FEEDER_AND_SLOW_PEER: &str = "[[neighbors]]\naddress = \"127.0.0.11\"\npeer_as = 64513\npassive = true\nimport_policy = [\"all\"]\nexport_policy = [\"all\"]\n\n[[neighbors]]\naddress = \"127.0.0.21\"\npeer_as = 64514\npassive = true\nimport_policy = [\"all\"]\nexport_policy = [\"all\"]\n";

/// A feeder 127.0.0.11 announcing 60,000 routes, so bgpd has megabytes to send to the raw
/// peer. Distinct as exported: each has an AS path of its own (MED is not passed on to
/// another AS, RFC 4271 §5.1.4, so routes differing only in it would share an UPDATE).
async fn feed_distinct_routes(port: u16) -> LabPeer {
    let feeder = connect(port, peer([127, 0, 0, 11], 64513)).await;
    for i in 0..60_000u32 {
        let mut r = LabRoute::new(
            vec![64513, 65000 + i % 500, 100_000 + i],
            "198.51.100.11".parse().unwrap(),
        );
        r.med = Some(i);
        feeder.announce(&r, &[&format!("10.{}.{}.0/24", i / 256, i % 256)]);
    }
    feeder
}

/// A raw peer that completes the OPEN exchange and then never reads again, while it keeps
/// sending KEEPALIVEs (the RFC 9687 case).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_hold_timer_drops_a_peer_that_stops_reading() {
    let bgpd = start(
        "[[neighbors]]\naddress = \"127.0.0.11\"\npeer_as = 64513\npassive = true\nimport_policy = [\"all\"]\nexport_policy = [\"all\"]\n\n[[neighbors]]\naddress = \"127.0.0.21\"\npeer_as = 64514\npassive = true\nsend_hold_time = 4\nexport_policy = [\"all\"]\n",
    );
    let mut stuck = raw_peer_with_a_small_window(bgpd.port).await;
    let _feeder = feed_distinct_routes(bgpd.port).await;
    let ctx = SessionContext::default();
    let keepalive = Message::Keepalive.to_bytes(&ctx).unwrap();
    let mut dropped = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let _ = tokio::time::timeout(Duration::from_millis(100), stuck.write_all(&keepalive)).await;
        let n = neighbor(&bgpd.api, "127.0.0.21");
        if n["flaps"].as_u64().unwrap_or(0) >= 1 {
            assert_eq!(
                n["last_notification_sent"]
                    .as_str()
                    .map(|s| s.starts_with("8/0")),
                Some(true),
                "{n}"
            );
            dropped = true;
            break;
        }
    }
    assert!(
        dropped,
        "bgpd kept the session to a peer that stopped reading"
    );
    let log = std::fs::read_to_string(&bgpd.log).unwrap();
    assert!(log.contains("send hold timer expired (RFC 9687)"), "{log}");
    assert_eq!(
        neighbor(&bgpd.api, "127.0.0.11")["state"],
        "Established",
        "the feeder's session is untouched"
    );
}

/// A peer whose TCP window is full is still read: bgpd writes to it from another task, so
/// the UPDATE it sends meanwhile reaches the RIB, the octets waiting for it show as OutQ, and
/// once it reads again the queue drains without a reset. (A session task that waited in its
/// own write read nothing until the peer read again; two such speakers sending each other a
/// table could wait on each other until the send hold timer.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_whose_window_is_full_is_still_read() {
    let bgpd = start(FEEDER_AND_SLOW_PEER);
    let mut slow = raw_peer_with_a_small_window(bgpd.port).await;
    let _feeder = feed_distinct_routes(bgpd.port).await;
    let ctx = SessionContext::default();
    let mut buf = vec![0u8; 1 << 16];
    let out_queue = |n: &Value| n["out_queue"].as_u64().unwrap_or(0);
    let mut stalled = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if out_queue(&neighbor(&bgpd.api, "127.0.0.21")) > 0 {
            stalled = true;
            break;
        }
    }
    assert!(stalled, "bgpd never had octets queued for the slow peer");
    // Without reading anything, the slow peer announces a route of its own.
    let update = Message::Update(bgp_proto::Update {
        nlri: vec![bgp_proto::Nlri::new("10.250.0.0/24".parse().unwrap())],
        attributes: bgp_proto::PathAttributes(vec![
            bgp_proto::PathAttribute::new(bgp_proto::AttributeValue::Origin(
                bgp_proto::Origin::Igp,
            )),
            bgp_proto::PathAttribute::new(bgp_proto::AttributeValue::AsPath(
                bgp_proto::AsPath::sequence(vec![64514]),
            )),
            bgp_proto::PathAttribute::new(bgp_proto::AttributeValue::NextHop(Ipv4Addr::new(
                127, 0, 0, 21,
            ))),
        ]),
        ..Default::default()
    });
    slow.write_all(&update.to_bytes(&ctx).unwrap())
        .await
        .unwrap();
    let mut read = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let n = neighbor(&bgpd.api, "127.0.0.21");
        if n["received"].as_u64() == Some(1) {
            assert!(out_queue(&n) > 0, "still queued: the peer has read nothing");
            assert_eq!(n["state"], "Established", "{n}");
            read = true;
            break;
        }
    }
    assert!(
        read,
        "bgpd did not read the UPDATE of a peer whose window is full"
    );
    // The peer reads again: the queue drains and the session stays up. (Session 20: one
    // local run of the whole suite drained too slowly for the 30 s here, the trickle of
    // `open_the_window`'s note; alone it drains in under a second.)
    open_the_window(&slow);
    let mut drained = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        let _ = tokio::time::timeout(Duration::from_millis(100), slow.read(&mut buf)).await;
        let n = neighbor(&bgpd.api, "127.0.0.21");
        if out_queue(&n) == 0 && n["advertised"].as_u64() >= Some(60_000) {
            assert_eq!(n["state"], "Established", "{n}");
            assert_eq!(n["flaps"].as_u64(), Some(0), "{n}");
            drained = true;
            break;
        }
    }
    assert!(
        drained,
        "the out queue did not drain once the peer read again"
    );
}

/// A peer that reads slowly while the routes it is sent keep changing gets each route's
/// latest state, not every change: once the OutQ reaches its high-water mark further routes
/// wait coalesced, one entry per route, so what waits for the peer is bounded by its routes.
/// (Queued as UPDATEs, the 40 rounds below would be about 40 MiB; the out queue stays near
/// 4 MiB, at most one entry per route waits, and the peer reads about a fifth of the
/// changes: what the kernel's send buffer and the out queue held, then the latest state.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_peer_is_sent_each_routes_latest_state_not_every_change() {
    const ROUTES: u32 = 20_000;
    const ROUNDS: u32 = 40;
    let bgpd = start(FEEDER_AND_SLOW_PEER);
    let mut slow = raw_peer_with_a_small_window(bgpd.port).await;
    let feeder = connect(bgpd.port, peer([127, 0, 0, 11], 64513)).await;
    // Every round changes every route's AS path (distinct per route, so one UPDATE each).
    for round in 0..ROUNDS {
        for i in 0..ROUTES {
            let r = LabRoute::new(
                vec![64513, 65000 + round, 100_000 + i],
                "198.51.100.11".parse().unwrap(),
            );
            feeder.announce(&r, &[&format!("10.{}.{}.0/24", i / 256, i % 256)]);
        }
    }
    // A last route: once the RIB decided it for the slow peer, it decided every round.
    let marker = LabRoute::new(vec![64513, 64999], "198.51.100.11".parse().unwrap());
    feeder.announce(&marker, &["10.255.255.0/24"]);
    let (mut max_queue, mut max_waiting) = (0u64, 0u64);
    let mut decided = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let n = neighbor(&bgpd.api, "127.0.0.21");
        max_queue = max_queue.max(n["out_queue"].as_u64().unwrap_or(0));
        max_waiting = max_waiting.max(n["waiting_routes"].as_u64().unwrap_or(0));
        if n["advertised"].as_u64() == Some(u64::from(ROUTES) + 1) {
            decided = true;
            break;
        }
    }
    assert!(
        decided,
        "the RIB never decided every route for the slow peer"
    );
    assert!(
        max_waiting > 0,
        "no route ever waited: the test did not fill the queue"
    );
    assert!(
        max_waiting <= u64::from(ROUTES) + 1,
        "more entries wait than there are routes: {max_waiting}"
    );
    assert!(
        max_queue <= 6 << 20,
        "the out queue grew with the changes: {max_queue} octets"
    );
    // The peer reads everything: each route arrives with its last round's path.
    open_the_window(&slow);
    let ctx = SessionContext {
        four_octet_as: true,
        ..SessionContext::default()
    };
    let mut latest: std::collections::HashMap<ipnet::IpNet, Vec<u32>> = Default::default();
    let mut announcements = 0usize;
    let mut stream = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let done = |latest: &std::collections::HashMap<ipnet::IpNet, Vec<u32>>| {
        latest.len() == ROUTES as usize + 1
            && latest
                .values()
                .all(|p| p.contains(&(65000 + ROUNDS - 1)) || p.contains(&64999))
    };
    while !done(&latest) && tokio::time::Instant::now() < deadline {
        let wait = Duration::from_secs(5);
        for m in read_messages(&mut slow, &mut stream, &ctx, wait)
            .await
            .unwrap_or_default()
        {
            if let Message::Update(u) = m {
                let path: Vec<u32> = u
                    .attributes
                    .as_path()
                    .map(|p| p.segments().flat_map(|s| s.asns.to_vec()).collect())
                    .unwrap_or_default();
                for (_, nlri) in u.announced() {
                    announcements += 1;
                    latest.insert(nlri.prefix, path.clone());
                }
            }
        }
    }
    assert!(
        done(&latest),
        "the slow peer did not end with every route's last state ({} routes; bgpd's view of \
         the peer: {})",
        latest.len(),
        neighbor(&bgpd.api, "127.0.0.21")
    );
    assert!(
        announcements < (ROUNDS * ROUTES / 3) as usize,
        "{announcements} announcements for {ROUTES} routes changed {ROUNDS} times: not coalesced"
    );
    let n = neighbor(&bgpd.api, "127.0.0.21");
    assert_eq!(n["state"], "Established", "{n}");
    assert_eq!(n["waiting_routes"].as_u64(), Some(0), "{n}");
    drop(feeder);
}

/// A peer that reads slowly and keeps asking for the table again (ROUTE-REFRESH with enhanced
/// route refresh, RFC 7313 §4): each answer is BoRR, the table, EoRR, and routes do not
/// coalesce across those markers, so answering every request would queue one table per
/// request. A request whose family still has an answer that has not started to leave (on its
/// way from the RIB, or its BoRR still waiting) is answered by that one: what waits stays
/// within two tables, and the peer ends with every route, each BoRR closed by an EoRR.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_route_refresh_requests_from_a_slow_peer_queue_at_most_two_tables() {
    use bgp_proto::{Capability, Family, RouteRefresh};
    const ROUTES: u64 = 60_000;
    let bgpd = start(FEEDER_AND_SLOW_PEER);
    let mut slow = raw_slow_peer(
        bgpd.port,
        vec![
            Capability::FourOctetAs(64514),
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
        ],
    )
    .await;
    let feeder = feed_distinct_routes(bgpd.port).await;
    let mut max_waiting = 0u64;
    let poll = |max_waiting: &mut u64| {
        let n = neighbor(&bgpd.api, "127.0.0.21");
        *max_waiting = (*max_waiting).max(n["waiting_routes"].as_u64().unwrap_or(0));
        n
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while poll(&mut max_waiting)["advertised"].as_u64() != Some(ROUTES) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the RIB never decided every route for the slow peer"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Twenty requests at once, then ten more, 200 ms apart.
    let ctx = SessionContext {
        four_octet_as: true,
        ..SessionContext::default()
    };
    let request = Message::RouteRefresh(RouteRefresh::request(Family::IPV4_UNICAST))
        .to_bytes(&ctx)
        .unwrap();
    slow.write_all(&request.repeat(20)).await.unwrap();
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        slow.write_all(&request).await.unwrap();
        poll(&mut max_waiting);
    }
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        poll(&mut max_waiting);
    }
    assert!(
        max_waiting > 0,
        "no route ever waited: the test did not fill the queue"
    );
    assert!(
        max_waiting <= 2 * ROUTES,
        "{max_waiting} routes waited for a peer sent {ROUTES}: one table per request"
    );
    // The peer reads everything.
    open_the_window(&slow);
    let (mut begins, mut ends) = (0usize, 0usize);
    let mut prefixes = std::collections::HashSet::new();
    let mut stream = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while tokio::time::Instant::now() < deadline {
        let wait = Duration::from_secs(3);
        let Some(messages) = read_messages(&mut slow, &mut stream, &ctx, wait).await else {
            break;
        };
        for m in messages {
            match m {
                Message::Update(u) => {
                    prefixes.extend(u.announced().map(|(_, n)| n.prefix));
                }
                Message::RouteRefresh(rr) if rr.subtype == bgp_proto::SUBTYPE_BORR => {
                    assert_eq!(begins, ends, "a BoRR before the last one's EoRR");
                    begins += 1;
                }
                Message::RouteRefresh(rr) if rr.subtype == bgp_proto::SUBTYPE_EORR => {
                    ends += 1;
                    assert_eq!(begins, ends, "an EoRR without its BoRR");
                }
                _ => {}
            }
        }
    }
    eprintln!("most routes waiting {max_waiting}, refreshes answered {begins} for 30 requests");
    assert_eq!(prefixes.len() as u64, ROUTES, "the slow peer lacks routes");
    assert!(
        (1..=2).contains(&begins),
        "{begins} refreshes answered for 30 requests made while one was waiting"
    );
    assert_eq!(begins, ends, "the last refresh has no EoRR");
    let n = neighbor(&bgpd.api, "127.0.0.21");
    assert_eq!(n["state"], "Established", "{n}");
    assert_eq!(n["waiting_routes"].as_u64(), Some(0), "{n}");
    assert_eq!(
        n["messages_sent"]["route_refresh"].as_u64(),
        Some((begins + ends) as u64),
        "BoRR/EoRR counted as ROUTE-REFRESH messages sent: {n}"
    );
    let log = std::fs::read_to_string(&bgpd.log).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains("table sent again") && !l.contains("requests_joined=0")),
        "no log line counts the requests answered together"
    );
    drop(feeder);
}

/// Two bgpd send each other a table at once: A (AS 64515) and B (AS 64600) peer over eBGP
/// and each has a feeder announcing 100,000 routes of its own (distinct AS paths, one UPDATE
/// per route, about 6 MB each way), fed at the same time. Each must end with the other's
/// whole table and the session between them must stay up: neither may wait on its own writes
/// while the other does (the writer task, `session/writer.rs`), and neither may queue
/// without bound (`session/waiting.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_bgpd_send_each_other_a_table_at_once() {
    const ROUTES: u32 = 100_000;
    let all = "import_policy = [\"all\"]\nexport_policy = [\"all\"]\n";
    let b = start_at(
        "127.0.0.3",
        64600,
        &format!("[[neighbors]]\naddress = \"127.0.0.2\"\npeer_as = 64515\npassive = true\n{all}\n[[neighbors]]\naddress = \"127.0.0.41\"\npeer_as = 64999\npassive = true\n{all}"),
    );
    let a = start_at(
        "127.0.0.2",
        64515,
        &format!("[[neighbors]]\naddress = \"127.0.0.3\"\npeer_as = 64600\nport = {}\nlocal_address = \"127.0.0.2\"\n{all}\n[[neighbors]]\naddress = \"127.0.0.31\"\npeer_as = 64513\npassive = true\n{all}", b.port),
    );
    let mut up = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if neighbor(&a.api, "127.0.0.3")["state"] == "Established" {
            up = true;
            break;
        }
    }
    assert!(up, "A and B never established");
    let fa = connect(a.port, peer([127, 0, 0, 31], 64513)).await;
    let fb = connect_to([127, 0, 0, 3], b.port, peer([127, 0, 0, 41], 64999)).await;
    for i in 0..ROUTES {
        let (x, y) = (i / 256 % 256, i % 256);
        let ra = LabRoute::new(vec![64513, 100_000 + i], "198.51.100.31".parse().unwrap());
        fa.announce(&ra, &[&format!("10.{}.{x}.{y}/32", i / 65_536)]);
        let rb = LabRoute::new(vec![64999, 100_000 + i], "198.51.100.41".parse().unwrap());
        fb.announce(&rb, &[&format!("20.{}.{x}.{y}/32", i / 65_536)]);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let (mut at_a, mut at_b) = (Value::Null, Value::Null);
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        at_a = neighbor(&a.api, "127.0.0.3");
        at_b = neighbor(&b.api, "127.0.0.2");
        if at_a["received"].as_u64() == Some(u64::from(ROUTES))
            && at_b["received"].as_u64() == Some(u64::from(ROUTES))
        {
            break;
        }
    }
    assert_eq!(
        at_a["received"].as_u64(),
        Some(u64::from(ROUTES)),
        "A from B: {at_a}"
    );
    assert_eq!(
        at_b["received"].as_u64(),
        Some(u64::from(ROUTES)),
        "B from A: {at_b}"
    );
    for n in [&at_a, &at_b] {
        assert_eq!(n["state"], "Established", "{n}");
        assert_eq!(n["flaps"].as_u64(), Some(0), "{n}");
    }
    drop((fa, fb));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_notification_is_not_answered() {
    let bgpd = start("[[neighbors]]\naddress = \"127.0.0.11\"\npeer_as = 64513\npassive = true\n");
    let p = connect(bgpd.port, peer([127, 0, 0, 11], 64513)).await;
    // Header of a NOTIFICATION with length 20 (one octet of body): malformed.
    let mut raw = vec![0xffu8; 16];
    raw.extend_from_slice(&[0, 20, 3, 6]);
    p.send_raw(raw.into());
    assert!(p.wait_for(Duration::from_secs(10), |r| r.closed).await);
    assert!(
        p.received().notification.is_none(),
        "no NOTIFICATION in reply to a NOTIFICATION (RFC 4271 §6.4)"
    );
    let log = std::fs::read_to_string(&bgpd.log).unwrap();
    assert!(log.contains("malformed NOTIFICATION received"), "{log}");
}
