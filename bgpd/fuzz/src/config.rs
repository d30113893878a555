//! The `config_parse` target's checks, kept here so a unit test can replay them.

use bgpd::config::load_str;
use bgpd::policy::PolicySet;
use bgpd::rib::classes::ClassTable;

/// Inputs the target leaves alone: keys that make the loader read a file
/// (`password_file`, `token_file`) would let the fuzzer open `/dev/zero` or block on a FIFO,
/// which says nothing about the parser. Escapes are excluded with them because a quoted key
/// can spell `file` with `\u` escapes.
pub fn skipped(text: &str) -> bool {
    text.contains("file") || text.contains("\\u") || text.contains("\\U")
}

/// Loads `text` and checks the outcome; panics (the fuzzer's finding) on a broken rule.
pub fn check_load(text: &str) {
    if skipped(text) {
        return;
    }
    match load_str(text, "fuzz.toml") {
        Ok(cfg) => {
            // What `bgpd run` builds from a config must not panic either.
            let _ = PolicySet::from_config(&cfg);
            let _ = ClassTable::new(&cfg.classes);
            let _ = format!("{cfg:?}");
        }
        Err(e) => {
            let lines = text.matches('\n').count() + 1;
            let line = e
                .line
                .unwrap_or_else(|| panic!("error without a line: {e}"));
            assert!(
                (1..=lines).contains(&line),
                "line {line} outside 1..={lines}: {e}"
            );
            if e.key.is_empty() {
                // Only an error of the TOML syntax itself may name no key.
                assert!(
                    toml_syntax_error(text),
                    "error without a key although the TOML parses: {e}"
                );
            }
            let shown = e.to_string();
            assert!(
                shown.starts_with(&format!("fuzz.toml:{line}")),
                "display lacks file:line: {shown}"
            );
        }
    }
}

/// Whether the text is not TOML at all (as opposed to TOML with wrong keys or values).
fn toml_syntax_error(text: &str) -> bool {
    text.parse::<toml::Table>().is_err()
}
