//! `bgpd audit`: checks what the lab announces against what it should (an intent file):
//! pod blocks, LoadBalancer IPs, origins, next hops, AS paths, forbidden and protected
//! ranges, communities. See README.md, "Prefix audit".
//!
//! | module | holds |
//! |---|---|
//! | [`intent`] | the intent file: schema, loading with file/line/key errors |
//! | [`routes`] | the routes audited ([`RouteSet`]), whatever their source |
//! | [`api_source`], [`mrt_source`], [`snapshot_source`] | reading routes from a running bgpd, an MRT file, a `show rib --json` snapshot |
//! | [`checks`] | the checks ([`checks::audit`]) |
//! | [`finding`] | findings, check ids and severities |
//! | [`mod@report`] | table, JSON, baseline comparison |
//! | [`watch`] | `--watch`: findings as they appear and clear |
//! | [`in_daemon`] | `[audit]`: the same checks inside the daemon, metrics and log |
//!
//! Exit codes: 0 no finding at or above `--fail-on`, 1 findings at or above it, 2 bad input
//! (intent, source, baseline).

pub mod api_source;
pub mod checks;
pub mod finding;
pub mod in_daemon;
pub mod intent;
pub mod mrt_source;
pub mod report;
pub mod routes;
pub mod snapshot_source;
pub mod watch;

pub use finding::{Check, Finding, Severity};
pub use in_daemon::{AuditConfig, DaemonAudit};
pub use intent::Intent;
pub use routes::RouteSet;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// `bgpd audit` arguments.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["api", "mrt", "snapshot"])))]
pub struct AuditArgs {
    /// The intent file (see configs/intent.toml).
    #[arg(long)]
    pub intent: PathBuf,
    /// Read the Loc-RIB of a running bgpd through its HTTP API, e.g. http://127.0.0.1:8179.
    #[arg(long)]
    pub api: Option<String>,
    /// With --api: audit every neighbor's Adj-RIB-In (before import policy) instead.
    #[arg(long, requires = "api")]
    pub adj_rib_in: bool,
    /// Read an MRT file: a TABLE_DUMP_V2 RIB, or BGP4MP updates replayed to their final state.
    #[arg(long)]
    pub mrt: Option<PathBuf>,
    /// Read a bgpd RIB JSON snapshot (`bgpd show rib --json > FILE`).
    #[arg(long)]
    pub snapshot: Option<PathBuf>,
    /// Print JSON (with --watch: one JSON object per change).
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when a finding is at least this severe.
    #[arg(long, value_enum, default_value_t = Severity::Warning)]
    pub fail_on: Severity,
    /// Follow the live event stream (needs --api) and print findings as they appear and clear.
    #[arg(long, requires = "api")]
    pub watch: bool,
    /// A previous `--json` output: report only what changed since.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// In the table, at most this many findings per check (0: all). JSON lists all.
    #[arg(long, default_value_t = 20)]
    pub max_per_check: usize,
}

/// Reads the routes from the source the arguments name.
pub fn load_routes(args: &AuditArgs) -> anyhow::Result<RouteSet> {
    if let Some(api) = &args.api {
        api_source::fetch(api, args.adj_rib_in)
    } else if let Some(path) = &args.mrt {
        mrt_source::read(path)
    } else if let Some(path) = &args.snapshot {
        snapshot_source::read(path)
    } else {
        anyhow::bail!("name a source: --api URL, --mrt FILE or --snapshot FILE")
    }
}

/// Audits `set` against `intent`, compared with `baseline` when given.
pub fn report(
    intent: &Intent,
    set: &RouteSet,
    baseline: Option<(&str, &report::FindingMap)>,
) -> report::Report {
    let findings = checks::audit(intent, set);
    let (findings, baseline) = match baseline {
        Some((file, base)) => {
            let (new, cleared, unchanged) = report::diff(base, &findings);
            (
                new,
                Some(report::BaselineDiff {
                    file: file.to_string(),
                    cleared,
                    unchanged,
                }),
            )
        }
        None => (findings, None),
    };
    report::Report {
        intent: intent.path.clone(),
        source: set.source.clone(),
        routes: set.routes.len(),
        summary: report::Summary::of(&findings),
        notes: set.notes.clone(),
        findings,
        baseline,
    }
}

fn bad_input(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("bgpd audit: {e}");
    ExitCode::from(2)
}

/// Runs `bgpd audit`; the exit code says 0 clean, 1 findings, 2 bad input.
pub fn main(args: &AuditArgs) -> ExitCode {
    let intent = match intent::load(&args.intent) {
        Ok(i) => i,
        Err(e) => return bad_input(e),
    };
    let baseline = match &args.baseline {
        Some(p) => match report::read_baseline(p) {
            Ok(b) => Some((p.display().to_string(), b)),
            Err(e) => return bad_input(format!("{e:#}")),
        },
        None => None,
    };
    if args.watch {
        let api = args.api.clone().unwrap_or_default();
        let known = baseline.map(|(_, b)| b).unwrap_or_default();
        return match watch::run(&api, args.adj_rib_in, &intent, known, args.json) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => bad_input(format!("{e:#}")),
        };
    }
    let set = match load_routes(args) {
        Ok(s) => s,
        Err(e) => return bad_input(format!("{e:#}")),
    };
    for n in &set.notes {
        eprintln!("bgpd audit: note: {n}");
    }
    let r = report(
        &intent,
        &set,
        baseline.as_ref().map(|(f, b)| (f.as_str(), b)),
    );
    let mut out = std::io::stdout().lock();
    let written = if args.json {
        serde_json::to_writer_pretty(&mut out, &r)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out))
    } else {
        let tty = std::io::stdout().is_terminal();
        out.write_all(report::table(&r, tty, args.max_per_check).as_bytes())
    };
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => return bad_input(format!("writing the report: {e}")),
    }
    if r.findings.iter().any(|f| f.severity >= args.fail_on) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
