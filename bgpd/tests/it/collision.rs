//! Connections both sides open, over TCP: RFC 4271 §6.8 (BAD-INPUTS item 28), a connection
//! collision that the peer, with the higher BGP identifier, resolves first, and one that
//! bgpd, with the higher identifier, resolves; and a peer that reconnects while bgpd waits
//! out its back-off after the peer's Cease.

use crate::support::{free_port, spawn_bgpd, Kill};
use bgp_proto::{Message, Notification, Open, SessionContext};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// The peer: 127.0.0.31, AS 64520, BGP identifier 127.0.0.31 (above bgpd's 127.0.0.2).
const PEER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 31);

/// Reads one BGP message, waiting at most `wait`.
async fn read_message(stream: &mut TcpStream, wait: Duration) -> Option<Message> {
    let read = async {
        let mut header = [0u8; 19];
        stream.read_exact(&mut header).await.ok()?;
        let len = usize::from(u16::from_be_bytes([header[16], header[17]]));
        let mut whole = header.to_vec();
        whole.resize(len.max(19), 0);
        stream.read_exact(&mut whole[19..]).await.ok()?;
        Message::decode(&whole, &SessionContext::default()).ok()
    };
    tokio::time::timeout(wait, read).await.ok().flatten()
}

async fn write(stream: &mut TcpStream, m: Message) {
    let bytes = m.to_bytes(&SessionContext::default()).unwrap();
    stream.write_all(&bytes).await.unwrap();
}

/// bgpd (AS 64515, identifier 127.0.0.2) configured to dial the peer, and the peer's
/// listener.
struct Lab {
    _dir: tempfile::TempDir,
    _bgpd: Kill,
    log: std::path::PathBuf,
    listener: TcpListener,
    port: u16,
}

impl Lab {
    async fn start() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let (port, peer_port) = (free_port(), free_port());
        let listener = TcpListener::bind(SocketAddr::from((PEER, peer_port)))
            .await
            .unwrap();
        let config = dir.path().join("bgpd.toml");
        std::fs::write(
            &config,
            format!(
                "[global]\nasn = 64515\nrouter_id = \"127.0.0.2\"\nlisten = [\"127.0.0.2:{port}\"]\n\n\
                 [[neighbors]]\naddress = \"{PEER}\"\npeer_as = 64520\nport = {peer_port}\n\
                 local_address = \"127.0.0.2\"\n"
            ),
        )
        .unwrap();
        let log = dir.path().join("bgpd.log");
        let bgpd = Kill(spawn_bgpd(&config, Some(&log), &[], Some("info")));
        Lab {
            _dir: dir,
            _bgpd: bgpd,
            log,
            listener,
            port,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// bgpd's connection to the peer's listener, its OPEN read from it.
    async fn bgpd_connection(&self) -> TcpStream {
        let (mut ours, _) = tokio::time::timeout(Duration::from_secs(10), self.listener.accept())
            .await
            .unwrap_or_else(|_| panic!("bgpd never dialled the peer; log:\n{}", self.log()))
            .unwrap();
        let first = read_message(&mut ours, Duration::from_secs(5)).await;
        assert!(
            matches!(first, Some(Message::Open(_))),
            "bgpd's first message: {first:?}"
        );
        ours
    }

    /// A connection from the peer's address to bgpd.
    async fn peer_connection(&self) -> TcpStream {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from((PEER, 0))).unwrap();
        socket
            .connect(SocketAddr::from(([127, 0, 0, 2], self.port)))
            .await
            .unwrap()
    }

    /// bgpd's connection (its OPEN read from it), then the peer's own connection to bgpd,
    /// which bgpd, in OpenSent, holds back (nothing comes back on it).
    async fn both_connections(&self) -> (TcpStream, TcpStream) {
        let ours = self.bgpd_connection().await;
        (ours, self.peer_connection().await)
    }

    /// The peer's side of the session on `stream` once bgpd's OPEN is read: its OPEN and
    /// KEEPALIVE, then bgpd's KEEPALIVE (Established), or a panic naming `when`.
    async fn finish_handshake(&self, stream: &mut TcpStream, when: &str) {
        write(
            stream,
            Message::Open(Open::new(64520, 90, PEER, Vec::new())),
        )
        .await;
        write(stream, Message::Keepalive).await;
        let keepalive = read_message(stream, Duration::from_secs(5)).await;
        assert!(
            matches!(keepalive, Some(Message::Keepalive)),
            "no KEEPALIVE {when} (got {keepalive:?}); log:\n{}",
            self.log()
        );
    }
}

/// bgpd dials the peer and sends its OPEN; the peer dials bgpd too, so bgpd (in OpenSent on
/// its own connection) holds the peer's connection back until it knows the peer's
/// identifier. The peer knows bgpd's from the OPEN it got, keeps its own connection (it has
/// the higher identifier) and closes bgpd's with Cease 6/7 before sending an OPEN there.
/// bgpd must then carry on over the peer's connection: its OPEN arrives there and the session
/// comes up. Held back for good, that connection would see nothing until the peer's hold
/// timer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collision_the_peer_resolves_first_continues_on_its_connection() {
    let lab = Lab::start().await;
    let (mut ours, mut theirs) = lab.both_connections().await;
    let early = read_message(&mut theirs, Duration::from_millis(500)).await;
    assert!(
        early.is_none(),
        "bgpd answered a held-back connection: {early:?}"
    );

    // The peer resolves the collision: bgpd's connection goes, with Cease 6/7.
    write(&mut ours, Message::Notification(Notification::new(6, 7))).await;
    drop(ours);

    // bgpd goes on over the peer's connection.
    let open = read_message(&mut theirs, Duration::from_secs(5)).await;
    assert!(
        matches!(open, Some(Message::Open(_))),
        "no OPEN on the peer's connection after bgpd's was closed with 6/7 (got {open:?}); log:\n{}",
        lab.log()
    );
    lab.finish_handshake(&mut theirs, "after the peer's OPEN")
        .await;
}

/// The other side of RFC 4271 §6.8: bgpd has the higher identifier, so bgpd resolves. bgpd
/// dials the peer; the peer dials bgpd too and sends its OPEN there (identifier 10.0.0.1,
/// below bgpd's 127.0.0.2), then answers bgpd's OPEN on bgpd's connection. In OpenConfirm
/// there, bgpd keeps the connection it opened (the higher identifier's) and closes the
/// peer's with Cease 6/7 (Connection Collision Resolution, RFC 4486); its own connection goes
/// on to Established.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collision_bgpd_resolves_keeps_its_own_connection() {
    let lab = Lab::start().await;
    let (mut ours, mut theirs) = lab.both_connections().await;
    let peer_open = || Message::Open(Open::new(64520, 90, Ipv4Addr::new(10, 0, 0, 1), Vec::new()));
    write(&mut theirs, peer_open()).await;
    let early = read_message(&mut theirs, Duration::from_millis(500)).await;
    assert!(
        early.is_none(),
        "bgpd answered a held-back connection: {early:?}"
    );

    // The peer answers bgpd's OPEN: bgpd reaches OpenConfirm on its own connection and
    // resolves the collision.
    write(&mut ours, peer_open()).await;
    let keepalive = read_message(&mut ours, Duration::from_secs(5)).await;
    assert!(
        matches!(keepalive, Some(Message::Keepalive)),
        "no KEEPALIVE on bgpd's connection after the peer's OPEN (got {keepalive:?}); log:\n{}",
        lab.log()
    );
    let closing = read_message(&mut theirs, Duration::from_secs(5)).await;
    assert!(
        matches!(&closing, Some(Message::Notification(n)) if (n.code, n.subcode) == (6, 7)),
        "the peer's connection was not closed with Cease 6/7 (got {closing:?}); log:\n{}",
        lab.log()
    );
    let mut rest = Vec::new();
    let eof = tokio::time::timeout(Duration::from_secs(5), theirs.read_to_end(&mut rest)).await;
    assert!(
        matches!(eof, Ok(Ok(0))),
        "the peer's connection stayed open after the Cease: {eof:?}"
    );

    // bgpd's connection goes on: Established after the peer's KEEPALIVE, and still up
    // (bgpd sends no NOTIFICATION there) a moment later.
    write(&mut ours, Message::Keepalive).await;
    let after = read_message(&mut ours, Duration::from_millis(1500)).await;
    assert!(
        !matches!(after, Some(Message::Notification(_))),
        "bgpd closed its own connection: {after:?}"
    );
    let log = lab.log();
    assert!(
        log.contains("keeping our connection"),
        "no log line of the resolution:\n{log}"
    );
}

/// A peer that shuts its session down (Cease 6/2, as BIRD and FRR do on a restart) and
/// connects again at once. bgpd is in Idle, its IdleHold back-off running (5 s after the
/// first failure, doubling with each further one): it takes the peer's connection anyway
/// (RFC 4271 §8.2.2 Idle, Event 5), and its OPEN arrives within 2 s, not after the back-off.
/// Refused, a restarted BIRD waited 30 s in one lab run (scenario 7).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_reconnecting_during_the_back_off_is_taken() {
    let lab = Lab::start().await;
    let mut ours = lab.bgpd_connection().await;
    lab.finish_handshake(&mut ours, "after the peer's OPEN")
        .await;

    // The peer shuts down and comes straight back, on a connection of its own.
    write(&mut ours, Message::Notification(Notification::new(6, 2))).await;
    drop(ours);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut theirs = lab.peer_connection().await;
    let open = read_message(&mut theirs, Duration::from_secs(2)).await;
    assert!(
        matches!(open, Some(Message::Open(_))),
        "no OPEN within 2 s on the peer's new connection during the back-off (got {open:?}); log:\n{}",
        lab.log()
    );
    lab.finish_handshake(&mut theirs, "on the peer's new connection")
        .await;
}
