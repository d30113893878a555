//! The audit's output: a table grouped by severity (colour on a terminal only) or JSON, and
//! the comparison with a previous JSON output (`--baseline`).

use super::finding::{Check, Finding, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Counts by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Critical findings.
    pub critical: usize,
    /// Warnings.
    pub warning: usize,
    /// Informational findings.
    pub info: usize,
}

impl Summary {
    /// Counts `findings`.
    pub fn of(findings: &[Finding]) -> Summary {
        let mut s = Summary::default();
        for f in findings {
            match f.severity {
                Severity::Critical => s.critical += 1,
                Severity::Warning => s.warning += 1,
                Severity::Info => s.info += 1,
            }
        }
        s
    }
}

/// What changed since a baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineDiff {
    /// The baseline file.
    pub file: String,
    /// Findings of the baseline that are gone.
    pub cleared: Vec<Finding>,
    /// Findings present in both.
    pub unchanged: usize,
}

/// The `--json` output (and what `--baseline` reads back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The intent file.
    pub intent: String,
    /// Where the routes came from.
    pub source: String,
    /// How many routes (paths) were audited.
    pub routes: usize,
    /// Counts of `findings` by severity.
    pub summary: Summary,
    /// What the source could not read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The findings, most severe first (with a baseline: only the new ones).
    pub findings: Vec<Finding>,
    /// With `--baseline`: what was cleared and how many stayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineDiff>,
}

/// Findings by identity.
pub type FindingMap = BTreeMap<(Check, String), Finding>;

/// Indexes findings by (check, subject).
pub fn by_key(findings: &[Finding]) -> FindingMap {
    findings
        .iter()
        .map(|f| ((f.check, f.subject.clone()), f.clone()))
        .collect()
}

/// Reads a previous `--json` output.
pub fn read_baseline(path: &std::path::Path) -> anyhow::Result<FindingMap> {
    use anyhow::Context as _;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read baseline {}", path.display()))?;
    let r: Report = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a `bgpd audit --json` output", path.display()))?;
    if r.baseline.is_some() {
        anyhow::bail!(
            "{} compares with another baseline; use the output of a run without --baseline",
            path.display()
        );
    }
    Ok(by_key(&r.findings))
}

/// (new, cleared, unchanged) between a baseline and the current findings.
pub fn diff(baseline: &FindingMap, current: &[Finding]) -> (Vec<Finding>, Vec<Finding>, usize) {
    let now = by_key(current);
    let new: Vec<Finding> = current
        .iter()
        .filter(|f| !baseline.contains_key(&(f.check, f.subject.clone())))
        .cloned()
        .collect();
    let mut cleared: Vec<Finding> = baseline
        .iter()
        .filter(|(k, _)| !now.contains_key(*k))
        .map(|(_, f)| f.clone())
        .collect();
    super::checks::sort(&mut cleared);
    let unchanged = current.len() - new.len();
    (new, cleared, unchanged)
}

fn colour(on: bool, code: &str, text: &str) -> String {
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// The terminal colour of a severity.
pub fn severity_colour(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "1;31",
        Severity::Warning => "33",
        Severity::Info => "36",
    }
}

/// Routes quoted per finding in the table.
const ROUTES_IN_TABLE: usize = 4;

/// One finding as table lines (no trailing newline on the last).
pub fn finding_lines(f: &Finding, tty: bool) -> String {
    let mut s = format!(
        "  {}  {}: {}",
        colour(
            tty,
            severity_colour(f.severity),
            &format!("{:<26}", f.check.id())
        ),
        f.subject,
        f.message
    );
    for r in f.routes.iter().take(ROUTES_IN_TABLE) {
        let _ = write!(s, "\n      {r}");
    }
    if f.routes_total > ROUTES_IN_TABLE {
        let _ = write!(
            s,
            "\n      ... and {} more route(s) (--json lists {})",
            f.routes_total - ROUTES_IN_TABLE,
            f.routes.len()
        );
    }
    s
}

/// The table: findings grouped by severity, at most `max_per_check` per check (0: all).
pub fn table(r: &Report, tty: bool, max_per_check: usize) -> String {
    let mut out = String::new();
    for sev in [Severity::Critical, Severity::Warning, Severity::Info] {
        let group: Vec<&Finding> = r.findings.iter().filter(|f| f.severity == sev).collect();
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "{}",
            colour(
                tty,
                severity_colour(sev),
                &format!("{} ({})", sev.name().to_uppercase(), group.len())
            )
        );
        let mut shown: BTreeMap<Check, usize> = BTreeMap::new();
        for f in &group {
            let n = shown.entry(f.check).or_default();
            *n += 1;
            if max_per_check == 0 || *n <= max_per_check {
                let _ = writeln!(out, "{}", finding_lines(f, tty));
            }
        }
        for (check, n) in shown {
            if max_per_check != 0 && n > max_per_check {
                let _ = writeln!(
                    out,
                    "  {:<26}  ... and {} more (--max-per-check 0 or --json shows all)",
                    check.id(),
                    n - max_per_check
                );
            }
        }
    }
    if let Some(b) = &r.baseline {
        if !b.cleared.is_empty() {
            let _ = writeln!(
                out,
                "{}",
                colour(tty, "32", &format!("CLEARED ({})", b.cleared.len()))
            );
            for f in &b.cleared {
                let _ = writeln!(out, "  {:<26}  {}: {}", f.check.id(), f.subject, f.message);
            }
        }
    }
    let s = r.summary;
    let _ = write!(
        out,
        "audit of {} route(s) from {} against {}: ",
        r.routes, r.source, r.intent
    );
    match &r.baseline {
        Some(b) => {
            let _ = writeln!(
                out,
                "{} new ({} critical, {} warning, {} info), {} cleared, {} unchanged since {}",
                r.findings.len(),
                s.critical,
                s.warning,
                s.info,
                b.cleared.len(),
                b.unchanged,
                b.file
            );
        }
        None if r.findings.is_empty() => {
            let _ = writeln!(
                out,
                "{}",
                colour(tty, "32", "no findings, the routes match the intent")
            );
        }
        None => {
            let _ = writeln!(
                out,
                "{} critical, {} warning, {} info",
                s.critical, s.warning, s.info
            );
        }
    }
    out
}
