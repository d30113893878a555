//! `bgpd audit --mrt` on every real MRT file in tests/data/mrt (RIPE RIS data from the
//! bgpdump project, see its README): each one is read to the end without an error (exit 0
//! or 1, never 2), whatever the findings against the lab intent.

use std::path::Path;
use std::process::Command;

#[test]
fn every_mrt_file_is_audited_without_error() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mrt");
    let intent = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/intent.toml");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "gz" || e == "bz2"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "MRT files missing in {}", dir.display());
    for f in &files {
        let out = Command::new(env!("CARGO_BIN_EXE_bgpd"))
            .args(["audit", "--intent"])
            .arg(&intent)
            .arg("--mrt")
            .arg(f)
            .arg("--json")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code();
        assert!(
            code == Some(0) || code == Some(1),
            "{}: exit {code:?}: {err}",
            f.display()
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let routes = report["routes"].as_u64().unwrap();
        let findings = report["findings"].as_array().unwrap();
        assert_eq!(code == Some(1), !findings.is_empty(), "{}", f.display());
        for line in err.lines() {
            assert!(
                line.starts_with("bgpd audit: note:"),
                "{}: {line}",
                f.display()
            );
        }
        eprintln!(
            "{}: {routes} routes, {} findings, notes {:?}",
            f.file_name().unwrap().to_string_lossy(),
            findings.len(),
            report["notes"]
        );
    }
}
