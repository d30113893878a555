//! The `bgpd` binary's answer to SIGTERM (Cease 6/2 with an RFC 9003 message to every peer)
//! and SIGHUP (reload without touching unchanged sessions), seen by a peer over TCP.
use crate::support::{connect_peer, free_port, ACCEPT_ALL, ONLY_BLOCKS};

use bgpd::lab_peer::{LabPeer, LabPeerConfig, LabRoute};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn config(port: u16, extra: &str) -> String {
    format!(
        "[global]\nasn = 64515\nrouter_id = \"127.0.0.2\"\nlisten = [\"127.0.0.2:{port}\", \"[::1]:{port}\"]\n\n[[neighbors]]\naddress = \"127.0.0.11\"\npeer_as = 64513\npassive = true\n\n[[neighbors]]\naddress = \"::1\"\npeer_as = 64514\npassive = true\n{extra}"
    )
}

/// [`config`] with both neighbors importing and exporting through `all`, the Calico node's
/// import through `calico_import` instead.
fn config_with_policies(port: u16, calico_import: &str) -> String {
    config(port, &format!("{ACCEPT_ALL}{ONLY_BLOCKS}"))
        .replace(
            "peer_as = 64513\npassive = true\n",
            &format!(
                "peer_as = 64513\npassive = true\nimport_policy = [\"{calico_import}\"]\n\
                 export_policy = [\"all\"]\n"
            ),
        )
        .replace(
            "peer_as = 64514\npassive = true\n",
            "peer_as = 64514\npassive = true\nimport_policy = [\"all\"]\nexport_policy = [\"all\"]\n",
        )
}

fn signal(pid: u32, sig: &str) {
    assert!(Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success());
}

async fn connect(target: SocketAddr, cfg: LabPeerConfig) -> LabPeer {
    connect_peer(target, cfg, 50).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_and_sigterm_sends_cease_with_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bgpd.toml");
    let port = free_port();
    std::fs::write(&path, config_with_policies(port, "all")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bgpd"))
        .args(["run", "--config"])
        .arg(&path)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut v4 = LabPeerConfig::new(64513, Ipv4Addr::new(127, 0, 0, 11));
    v4.local_address = Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 11)));
    let p4 = connect(SocketAddr::from(([127, 0, 0, 2], port)), v4).await;
    // IPv6 transport.
    let mut v6 = LabPeerConfig::new(64514, Ipv4Addr::new(127, 0, 0, 21));
    v6.local_address = Some("::1".parse().unwrap());
    let p6 = connect(SocketAddr::new("::1".parse().unwrap(), port), v6).await;

    // The Calico node announces a pod block and a /24; the MetalLB speaker gets both.
    let pods = LabRoute::new(vec![64513], "127.0.0.11".parse().unwrap());
    p4.announce(&pods, &["10.244.1.0/26", "10.244.9.0/24"]);
    assert!(
        p6.wait_for(WAIT, |r| r.has("10.244.1.0/26") && r.has("10.244.9.0/24"))
            .await,
        "routes through bgpd before the reload"
    );

    // SIGHUP with a changed config (a description, and the Calico node's import policy now
    // takes /26 blocks only): the new policy applies, the /24 is withdrawn, and both sessions
    // stay up.
    std::fs::write(
        &path,
        config_with_policies(port, "only-blocks").replace(
            "peer_as = 64513",
            "peer_as = 64513\ndescription = \"calico node-1\"",
        ),
    )
    .unwrap();
    signal(child.id(), "-HUP");
    assert!(
        p6.wait_for(WAIT, |r| !r.has("10.244.9.0/24") && r.has("10.244.1.0/26"))
            .await,
        "the reloaded import policy applies: the /24 withdrawn, the /26 kept"
    );
    assert!(
        !p4.received().closed && !p6.received().closed,
        "unchanged sessions stay up across SIGHUP"
    );

    signal(child.id(), "-TERM");
    for p in [&p4, &p6] {
        assert!(p.wait_for(Duration::from_secs(10), |r| r.closed).await);
        let n = p
            .received()
            .notification
            .expect("a NOTIFICATION before the close");
        assert_eq!((n.code, n.subcode), (6, 2));
        assert!(
            n.shutdown_message().unwrap().unwrap().contains("SIGTERM"),
            "{n}"
        );
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "bgpd exits 0 after SIGTERM: {status}");
}
