//! RFC 4271 §6.8 over TCP: a connection collision that the peer, with the higher BGP
//! identifier, resolves first (BAD-INPUTS item 28).

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

/// bgpd dials the peer and sends its OPEN; the peer dials bgpd too, so bgpd (in OpenSent on
/// its own connection) holds the peer's connection back until it knows the peer's
/// identifier. The peer knows bgpd's from the OPEN it got, keeps its own connection (it has
/// the higher identifier) and closes bgpd's with Cease 6/7 before sending an OPEN there.
/// bgpd must then carry on over the peer's connection: its OPEN arrives there and the session
/// comes up. Held back for good, that connection would see nothing until the peer's hold
/// timer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collision_the_peer_resolves_first_continues_on_its_connection() {
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
    let _bgpd = Kill(spawn_bgpd(&config, Some(&log), &[], Some("info")));
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();

    // bgpd's connection, and its OPEN on it.
    let (mut ours, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
        .await
        .unwrap_or_else(|_| panic!("bgpd never dialled the peer; log:\n{}", log_text()))
        .unwrap();
    let first = read_message(&mut ours, Duration::from_secs(5)).await;
    assert!(
        matches!(first, Some(Message::Open(_))),
        "bgpd's first message: {first:?}"
    );

    // The peer's connection: bgpd is in OpenSent, so it holds it back (no OPEN yet).
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((PEER, 0))).unwrap();
    let mut theirs = socket
        .connect(SocketAddr::from(([127, 0, 0, 2], port)))
        .await
        .unwrap();
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
        log_text()
    );
    write(
        &mut theirs,
        Message::Open(Open::new(64520, 90, PEER, Vec::new())),
    )
    .await;
    write(&mut theirs, Message::Keepalive).await;
    let keepalive = read_message(&mut theirs, Duration::from_secs(5)).await;
    assert!(
        matches!(keepalive, Some(Message::Keepalive)),
        "no KEEPALIVE after the peer's OPEN (got {keepalive:?}); log:\n{}",
        log_text()
    );
}
