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

/// The `[global]` table of the tests' bgpd (AS 64515, router id 127.0.0.2, listening on
/// 127.0.0.2:`port`) and its `[api]` table (127.0.0.1:`api_port`, no token). The `[api]` table
/// is left open: a test may add keys to it.
pub fn global_with_api(port: u16, api_port: u16) -> String {
    format!(
        "[global]\nasn = 64515\nrouter_id = \"127.0.0.2\"\nlisten = [\"127.0.0.2:{port}\"]\n\
         [api]\nlisten = \"127.0.0.1:{api_port}\"\n"
    )
}

/// The lab's prefix classes (LAB.md): Calico's pod blocks from AS 64513 and MetalLB's
/// LoadBalancer addresses from AS 64514.
pub const LAB_CLASSES: &str = r#"
[[classes]]
name = "pod"
prefixes = ["10.244.0.0/16 le 26", "fd00:10:244::/56 le 122"]
origin_as = [64513]

[[classes]]
name = "loadbalancer"
prefixes = ["203.0.113.0/24 le 32"]
origin_as = [64514]
"#;

/// A policy named `all` that accepts every route.
pub const ACCEPT_ALL: &str = r#"
[[policies]]
name = "all"
[[policies.statements]]
action = "accept"
"#;

/// A peer group `name` of passive route-server clients (RFC 7947) importing and exporting
/// through [`ACCEPT_ALL`].
pub fn route_server_group(name: &str) -> String {
    format!(
        "\n[[peer_groups]]\nname = \"{name}\"\nrole = \"route-server-client\"\npassive = true\n\
         import_policy = [\"all\"]\nexport_policy = [\"all\"]\n"
    )
}

/// One `[[neighbors]]` entry per (address, AS) in peer group `group`.
pub fn group_neighbors(group: &str, neighbors: &[(&str, u32)]) -> String {
    neighbors
        .iter()
        .map(|(address, asn)| {
            format!("\n[[neighbors]]\naddress = \"{address}\"\npeer_as = {asn}\npeer_group = \"{group}\"\n")
        })
        .collect()
}

/// Starts `bgpd run [args] --config CONFIG`, its stderr into `log` (discarded without one),
/// its stdout discarded, with `RUST_LOG` set when given.
pub fn spawn_bgpd(
    config: &std::path::Path,
    log: Option<&std::path::Path>,
    args: &[&str],
    rust_log: Option<&str>,
) -> Child {
    use std::process::{Command, Stdio};
    let mut c = Command::new(env!("CARGO_BIN_EXE_bgpd"));
    c.arg("run").args(args).arg("--config").arg(config);
    if let Some(filter) = rust_log {
        c.env("RUST_LOG", filter);
    }
    c.stderr(match log {
        Some(path) => Stdio::from(std::fs::File::create(path).unwrap()),
        None => Stdio::null(),
    });
    c.stdout(Stdio::null()).spawn().unwrap()
}

/// The healthy neighbor of the fault tests: a passive GoBGP or lab peer at 127.0.0.21 in
/// AS 64514, importing and exporting through [`ACCEPT_ALL`]. It must stay up while the
/// faulty peers are reset.
pub const HEALTHY_NEIGHBOR: &str = r#"
[[neighbors]]
address = "127.0.0.21"
peer_as = 64514
passive = true
import_policy = ["all"]
export_policy = ["all"]

"#;

/// A prefix set of the /26 pod blocks and a policy `only-blocks` accepting only those: the
/// stricter import policy the reload tests switch to.
pub const ONLY_BLOCKS: &str = r#"
[[prefix_sets]]
name = "blocks"
prefixes = ["10.244.0.0/16 ge 26 le 26"]

[[policies]]
name = "only-blocks"
[[policies.statements]]
match = { prefix_set = "blocks" }
action = "accept"
"#;
