//! Accepting BGP connections: one task per listen address hands each connection to the
//! neighbor with the remote address, or closes it.

use super::PeerDirectory;
use anyhow::Context as _;
use std::net::SocketAddr;
use std::sync::Arc;

/// Binds every address and starts its accept loop. A bind failure is an error naming the
/// address (e.g. port 179 without privileges).
/// Returns each listening socket's family (true for IPv6) and descriptor, so TCP-MD5 keys
/// can be installed on it; the sockets live as long as the process.
pub async fn start(
    addresses: &[SocketAddr],
    directory: Arc<PeerDirectory>,
) -> anyhow::Result<Vec<(bool, std::os::fd::RawFd)>> {
    use std::os::fd::AsRawFd;
    let mut fds = Vec::new();
    for addr in addresses {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        let s = socket2::SockRef::from(&socket);
        // RFC 5082 §3: a GTSM peer drops segments with a TTL below 255, and the kernel answers
        // its SYN with the listening socket's TTL, before bgpd can set anything on the
        // accepted connection; so the listeners send with TTL / hop limit 255 (accepted
        // connections inherit it; the minimum TTL is set per neighbor on its connection).
        if addr.is_ipv6() {
            // Keep [::]:179 IPv6-only so 0.0.0.0:179 can be bound beside it.
            s.set_only_v6(true)?;
            s.set_unicast_hops_v6(255)?;
        } else {
            s.set_ttl(255)?;
        }
        // A neighbor with TTL security has its accepted connection's SYN checked: the
        // minimum TTL set on the connection comes after the kernel queued the peer's first
        // segments (RFC 5082 §3; `PeerTask::attach`).
        crate::session::socket_options::save_syns(socket.as_raw_fd())
            .with_context(|| format!("cannot keep SYN headers on {addr}"))?;
        socket
            .bind(*addr)
            .with_context(|| format!("cannot listen on {addr}"))?;
        let listener = socket
            .listen(128)
            .with_context(|| format!("cannot listen on {addr}"))?;
        tracing::info!(address = %addr, "listening for BGP connections");
        fds.push((addr.is_ipv6(), listener.as_raw_fd()));
        let directory = directory.clone();
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, remote)) => {
                        if !directory.hand_over(remote.ip(), stream) {
                            tracing::info!(%remote, "connection from an address that is not a configured neighbor: closed");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                }
            }
        });
    }
    Ok(fds)
}
