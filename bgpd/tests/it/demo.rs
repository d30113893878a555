//! `bgpd demo` as a new user runs it: exits 0, shows all seven sessions Established and logs
//! the pod and LoadBalancer prefixes with their classes.
#![allow(clippy::unwrap_used, missing_docs)]

use std::process::Command;

#[test]
fn demo_runs_the_lab_and_exits_cleanly() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let api_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = Command::new(env!("CARGO_BIN_EXE_bgpd"))
        .args([
            "demo",
            "--duration",
            "20",
            "--port",
            &port.to_string(),
            "--api-port",
            &api_port.to_string(),
        ])
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("7 of 7 sessions Established"), "{stdout}");
    let table_rows = stdout
        .lines()
        .filter(|l| l.starts_with("127.0.0.") && l.contains(" Established "))
        .count();
    assert_eq!(table_rows, 7, "every neighbor row Established:\n{stdout}");
    for needle in [
        "vMX1 now reaches 203.0.113.20 via 198.51.100.21",
        "still has 10.244.1.0/26 (stale",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?}:\n{stdout}");
    }
    for prefix in [
        "10.244.0.0/26",
        "10.244.1.64/26",
        "10.244.2.0/26",
        "fd00:10:244::40/122",
    ] {
        assert!(
            stderr.lines().any(|l| l.contains("bgpd::prefix")
                && l.contains(&format!("prefix={prefix} "))
                && l.contains("class=\"pod\"")),
            "no pod log line for {prefix}"
        );
    }
    assert!(
        stderr.lines().any(|l| l.contains("prefix=203.0.113.20/32")
            && l.contains("class=\"loadbalancer\"")
            && l.contains("action=\"withdraw\"")),
        "no loadbalancer withdraw line for the moved service IP"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "no terminal colours when not on a terminal"
    );
}
