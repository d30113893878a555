//! `bgpd mrt FILE` against the reference reader: for every MRT file in `tests/data/mrt/`,
//! the output must be byte-identical to `bgpdump -m FILE`. `bgpd mrt --json FILE` must print
//! one JSON object per text line, with the same content.
//!
//! `bgpdump` (Debian package `bgpdump`) must be installed: without it these tests fail, they
//! do not skip (`tests/install-deps.sh` installs it).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The MRT test files, in name order.
fn mrt_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mrt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x == "gz" || x == "bz2" || x == "mrt")
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 8,
        "MRT test files missing in {}",
        dir.display()
    );
    files
}

/// Runs a command and returns its standard output; panics with its error output otherwise.
fn output_of(cmd: &mut Command, what: &str) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| {
        if e.kind() == std::io::ErrorKind::NotFound && what == "bgpdump" {
            panic!(
                "bgpdump is not installed, and this test compares bgpd's output with it: \
                 install the Debian package `bgpdump` (apt-get install bgpdump, or run \
                 tests/install-deps.sh)"
            );
        }
        panic!("cannot run {what}: {e}");
    });
    assert!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn bgpd_mrt(file: &Path, json: bool) -> Vec<u8> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bgpd"));
    cmd.arg("mrt");
    if json {
        cmd.arg("--json");
    }
    output_of(cmd.arg(file), "bgpd mrt")
}

fn bgpdump(file: &Path) -> Vec<u8> {
    // -v: log to standard error instead of syslog.
    output_of(
        Command::new("bgpdump").arg("-v").arg("-m").arg(file),
        "bgpdump",
    )
}

/// The first line where two outputs differ, for the failure message.
fn first_difference(expected: &[u8], got: &[u8]) -> String {
    let e = expected.split(|b| *b == b'\n');
    let g = got.split(|b| *b == b'\n');
    for (i, (a, b)) in e.zip(g).enumerate() {
        if a != b {
            return format!(
                "line {}:\n  bgpdump: {}\n  bgpd:    {}",
                i + 1,
                String::from_utf8_lossy(a),
                String::from_utf8_lossy(b)
            );
        }
    }
    format!(
        "one output is a prefix of the other ({} vs {} bytes)",
        expected.len(),
        got.len()
    )
}

#[test]
fn text_output_is_byte_identical_to_bgpdump() {
    let mut failures = Vec::new();
    for file in mrt_files() {
        let expected = bgpdump(&file);
        let got = bgpd_mrt(&file, false);
        assert!(
            !expected.is_empty(),
            "bgpdump printed nothing for {}",
            file.display()
        );
        if expected != got {
            failures.push(format!(
                "{}: {}",
                file.display(),
                first_difference(&expected, &got)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The text columns a JSON line must repeat: (field, column) for every line kind.
fn check_json_line(json: &serde_json::Value, text: &str) {
    let cols: Vec<&str> = text.split('|').collect();
    let col = |i: usize| cols.get(i).copied().unwrap_or_default();
    let field = |name: &str| match json.get(name) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::Bool(b)) => b.to_string(),
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    };
    assert!(json.is_object(), "not a JSON object: {json}");
    assert_eq!(field("type"), col(0), "{text}");
    let time = match json.get("microseconds").and_then(|v| v.as_u64()) {
        Some(us) => format!("{}.{us:06}", field("timestamp")),
        None => field("timestamp"),
    };
    assert_eq!(time, col(1), "{text}");
    assert_eq!(field("entry"), col(2), "{text}");
    assert_eq!(field("peer_ip"), col(3), "{text}");
    assert_eq!(field("peer_as"), col(4), "{text}");
    match col(2) {
        "STATE" => {
            assert_eq!(field("old_state"), col(5), "{text}");
            assert_eq!(field("new_state"), col(6), "{text}");
        }
        "W" => {
            assert_eq!(field("prefix"), col(5), "{text}");
            assert_eq!(field("path_id"), col(6), "{text}");
        }
        "A" if col(0) == "BGP" => {
            // The deprecated BGP type: bgpdump runs MED and communities together.
            assert_eq!(field("prefix"), col(5), "{text}");
            assert_eq!(field("as_path"), col(6), "{text}");
            assert_eq!(field("origin"), col(7), "{text}");
            assert_eq!(field("next_hop"), col(8), "{text}");
            assert_eq!(field("local_pref"), col(9), "{text}");
            let med_and_communities = format!("{}{}", field("med"), field("communities"));
            assert_eq!(med_and_communities, col(10), "{text}");
        }
        _ => {
            assert_eq!(field("prefix"), col(5), "{text}");
            let at = if json.get("path_id").is_some() {
                assert_eq!(field("path_id"), col(6), "{text}");
                7
            } else {
                6
            };
            let c = |i: usize| col(at + i);
            assert_eq!(field("as_path"), c(0), "{text}");
            assert_eq!(field("origin"), c(1), "{text}");
            assert_eq!(field("next_hop"), c(2), "{text}");
            assert_eq!(field("local_pref"), c(3), "{text}");
            assert_eq!(field("med"), c(4), "{text}");
            assert_eq!(field("communities"), c(5), "{text}");
            let ag = if c(6) == "AG" { "true" } else { "false" };
            assert_eq!(field("atomic_aggregate"), ag, "{text}");
            let aggregator = match (json.get("aggregator_as"), json.get("aggregator_ip")) {
                (Some(_), Some(_)) => {
                    format!("{} {}", field("aggregator_as"), field("aggregator_ip"))
                }
                _ => String::new(),
            };
            assert_eq!(aggregator, c(7), "{text}");
        }
    }
}

#[test]
fn json_lines_match_the_text_lines() {
    for file in mrt_files() {
        let text = bgpd_mrt(&file, false);
        let json = bgpd_mrt(&file, true);
        let text = String::from_utf8(text).expect("text output is UTF-8");
        let json = String::from_utf8(json).expect("JSON output is UTF-8");
        let text_lines: Vec<&str> = text.lines().collect();
        let json_lines: Vec<&str> = json.lines().collect();
        assert_eq!(
            json_lines.len(),
            text_lines.len(),
            "{}: JSON and text line counts differ",
            file.display()
        );
        for (j, t) in json_lines.iter().zip(&text_lines) {
            let value: serde_json::Value = serde_json::from_str(j)
                .unwrap_or_else(|e| panic!("{}: bad JSON line {j}: {e}", file.display()));
            check_json_line(&value, t);
        }
    }
}

#[test]
fn a_missing_file_is_an_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_bgpd"))
        .args(["mrt", "/nonexistent/file.mrt"])
        .output()
        .expect("bgpd runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open"));
}
