//! `[api] token_file`: every request that changes state (POST reset, POST snapshot) needs
//! `Authorization: Bearer TOKEN`; missing or wrong → 401 and nothing done; GET stays open.
//! `bgpd snapshot` sends the token from `--token` or BGPD_API_TOKEN. The token never appears
//! in bgpd's log.
use crate::support::{free_port, global_with_api, spawn_bgpd, Kill};

use std::process::Command;
use std::time::Duration;

const TOKEN: &str = "s3cret-token-for-tests";

/// Status of a POST with this Authorization header (None: no header).
fn post(url: &str, auth: Option<&str>) -> u16 {
    let mut r = ureq::post(url);
    if let Some(a) = auth {
        r = r.set("Authorization", a);
    }
    match r.call() {
        Ok(resp) => resp.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(e) => panic!("{url}: {e}"),
    }
}

#[test]
fn state_changes_need_the_bearer_token() {
    let dir = tempfile::tempdir().unwrap();
    let (port, api_port) = (free_port(), free_port());
    let token_file = dir.path().join("api.token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let rec = dir.path().join("rec");
    std::fs::create_dir(&rec).unwrap();
    let config = dir.path().join("bgpd.toml");
    std::fs::write(
        &config,
        format!(
            "{}token_file = \"{}\"\n[recording]\ndirectory = \"{}\"\n\n[[neighbors]]\naddress = \"127.0.0.21\"\npeer_as = 64514\npassive = true\n",
            global_with_api(port, api_port),
            token_file.display(),
            rec.display()
        ),
    )
    .unwrap();
    let log = dir.path().join("bgpd.log");
    let _bgpd = Kill(spawn_bgpd(&config, Some(&log), &[], None));
    let api = format!("http://127.0.0.1:{api_port}");
    let mut up = false;
    for _ in 0..100 {
        if ureq::get(&format!("{api}/api/v1/ready")).call().is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(up, "bgpd's API never came up");

    // GET stays open.
    assert_eq!(
        ureq::get(&format!("{api}/api/v1/neighbors"))
            .call()
            .unwrap()
            .status(),
        200
    );
    let reset = format!("{api}/api/v1/neighbors/127.0.0.21/reset?kind=hard");
    let snapshot = format!("{api}/api/v1/snapshot");
    for url in [&reset, &snapshot] {
        assert_eq!(post(url, None), 401, "{url} without a token");
        assert_eq!(post(url, Some("Bearer wrong")), 401, "{url} wrong token");
        assert_eq!(
            post(url, Some(&format!("Bearer {TOKEN}x"))),
            401,
            "{url} token with a suffix"
        );
        assert_eq!(post(url, Some(TOKEN)), 401, "{url} without `Bearer `");
    }
    // Nothing was done: no snapshot written.
    let written = || {
        walk(&rec)
            .iter()
            .filter(|p| {
                p.to_string_lossy().contains("snapshot") || p.to_string_lossy().contains("rib")
            })
            .count()
    };
    let before = written();
    assert_eq!(
        before,
        0,
        "a refused snapshot wrote files: {:?}",
        walk(&rec)
    );

    // With the token: done.
    let auth = format!("Bearer {TOKEN}");
    assert_eq!(post(&reset, Some(&auth)), 200);
    assert_eq!(post(&snapshot, Some(&auth)), 200);
    assert!(written() > before, "no snapshot: {:?}", walk(&rec));

    // The CLI: 401 without, success with --token and with BGPD_API_TOKEN.
    let cli = |extra: &[&str], env: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_bgpd"));
        c.args(["snapshot", "--api", &api]).args(extra);
        c.env_remove("BGPD_API_TOKEN");
        if let Some(e) = env {
            c.env("BGPD_API_TOKEN", e);
        }
        c.output().unwrap()
    };
    let out = cli(&[], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("401") && err.contains("BGPD_API_TOKEN"),
        "{err}"
    );
    let out = cli(&["--token", TOKEN], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(&[], Some(TOKEN));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!cli(&[], Some("wrong")).status.success());

    // The refusals are logged, the token never.
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("missing or wrong bearer token"), "{text}");
    assert!(!text.contains(TOKEN), "the token is in the log:\n{text}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            v.extend(walk(&p));
        } else {
            v.push(p);
        }
    }
    v
}
