//! `bgpd check` on the shipped configurations, and the error a bad file gets.
#![allow(clippy::unwrap_used, missing_docs)]

use std::process::Command;

fn check(path: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bgpd"))
        .args(["check", "--config"])
        .arg(path)
        .output()
        .unwrap()
}

#[test]
fn shipped_configs_pass_bgpd_check() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
    for name in ["lab.toml", "route-reflector.toml", "route-server.toml"] {
        let out = check(&root.join(name));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains(": OK"), "{name}: {text}");
        assert!(
            !text.contains("warning:"),
            "{name} has warnings (RFC 8212 policies missing?): {text}"
        );
    }
    let lab = String::from_utf8_lossy(&check(&root.join("lab.toml")).stdout).into_owned();
    assert!(lab.contains("class pod"), "{lab}");
    assert!(
        lab.contains("198.51.100.11") && lab.contains("route-server-client"),
        "{lab}"
    );
}

#[test]
fn bad_config_names_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[global]\nasn = 64512\nrouter_id = \"198.51.100.2\"\n\n[[neighbors]]\naddress = \"198.51.100.1\"\npeer_as = 64512\nhold_time = 1\n",
    )
    .unwrap();
    let out = check(&path);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml:8: key `neighbors[0].hold_time`"),
        "{err}"
    );
    assert!(err.contains("hold time 1 is invalid"), "{err}");

    std::fs::write(
        &path,
        "[global]\nasn = 64512\nrouter_id = \"198.51.100.2\"\nrouterid = 1\n",
    )
    .unwrap();
    let err = String::from_utf8_lossy(&check(&path).stderr).into_owned();
    assert!(
        err.contains("bad.toml:4") && err.contains("routerid"),
        "{err}"
    );
}
