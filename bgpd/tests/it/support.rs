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
