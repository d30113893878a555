//! What several integration tests need: a free loopback port and owners that kill the
//! processes a test started, however the test ends.

use std::process::Child;

/// A TCP port that was free on 127.0.0.1 a moment ago (bgpd, GoBGP and the API bind it next).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills and reaps one child process when dropped, so a failing assertion leaves no daemon.
pub struct Kill(pub Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// [`Kill`] for several processes (bgpd and the real peers of one test).
pub struct KillAll(pub Vec<Child>);

impl Drop for KillAll {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Polls bgpd's API (`http://127.0.0.1:PORT`) until `/api/v1/health` answers, at most 5 s:
/// the daemon has then loaded its configuration and bound its listeners.
pub fn wait_for_api(api: &str) {
    for _ in 0..50 {
        if ureq::get(&format!("{api}/api/v1/health")).call().is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Connects a lab peer to bgpd at `target`, retrying every 200 ms at most `tries` times
/// while bgpd is still starting; panics with the last error after that.
pub async fn connect_peer(
    target: std::net::SocketAddr,
    cfg: bgpd::lab_peer::LabPeerConfig,
    tries: usize,
) -> bgpd::lab_peer::LabPeer {
    let mut last = None;
    for _ in 0..tries {
        match bgpd::lab_peer::LabPeer::connect(target, cfg.clone()).await {
            Ok(p) => return p,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("cannot connect to {target}: {last:?}");
}
