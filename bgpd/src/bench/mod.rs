//! `bgpd bench`: the performance race of issue 7 on loopback. Injectors open sessions and
//! write pre-encoded UPDATEs as fast as TCP takes them; monitors count what they receive
//! until every prefix has arrived. In the middle runs bgpd, BIRD, GoBGP or FRR's bgpd, each
//! as a route server (RFC 7947) with a generated configuration of the same meaning; the
//! floor runs the injectors straight into a monitor (one per monitor when one injector fans
//! out to several, as in W3). Every run is bounded in time and every
//! daemon is killed after its run.
//!
//! Addresses: daemon 127.0.9.1:179 (bgpd's HTTP API on 127.0.9.1:8179, read for its RIB passes),
//! injectors 127.0.1.N, monitors 127.0.2.N (all on lo).

pub mod daemons;
pub mod held;
pub mod png;
pub mod race;
pub mod report;
pub mod wire;
pub mod workload;

use daemons::Daemon;
use report::RunRecord;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use workload::Kind;

/// Arguments of `bgpd bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Small workloads, one repetition, every daemon: checks the harness (about 2 minutes).
    #[arg(long)]
    pub smoke: bool,
    /// Workloads to run (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub workloads: Vec<Kind>,
    /// Daemons to race (default: all; the floor always runs first).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub daemons: Vec<Daemon>,
    /// Repetitions of each run (medians are reported).
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Seconds a run may take before it counts as a timeout.
    #[arg(long, default_value_t = 180)]
    pub timeout: u64,
    /// After a timeout, skip the remaining repetitions of that daemon and workload.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub skip_after_timeout: bool,
    /// The full-table MRT updates file of W1 (default: the repository's copy of RIPE RIS
    /// `updates.et-header.2015.gz`, so a fresh clone needs nothing beside it).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/mrt/updates.et-header.2015.gz"))]
    pub mrt: PathBuf,
    /// Where to write the markdown table, CSV files and PNG chart (default:
    /// bench/results, or a temporary directory with --smoke).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Work directory for daemon configurations and logs.
    #[arg(long, default_value = "/tmp/bgpd-bench")]
    pub work_dir: PathBuf,
}

/// Runs `bgpd bench`; fails if a daemon is missing or (with `--smoke`) any run did not
/// converge.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let sizes = if args.smoke {
        workload::Sizes::smoke()
    } else {
        workload::Sizes::full()
    };
    let repeat = if args.smoke { 1 } else { args.repeat.max(1) };
    let timeout = Duration::from_secs(if args.smoke {
        args.timeout.min(30)
    } else {
        args.timeout
    });
    let kinds: Vec<Kind> = if args.workloads.is_empty() {
        Kind::ALL.to_vec()
    } else {
        args.workloads.clone()
    };
    let mut daemons: Vec<Daemon> = vec![Daemon::Floor];
    let chosen = if args.daemons.is_empty() {
        Daemon::ALL.to_vec()
    } else {
        args.daemons.clone()
    };
    daemons.extend(chosen.into_iter().filter(|d| *d != Daemon::Floor));
    let mut versions = Vec::new();
    for d in &daemons {
        versions.push((*d, d.version()?));
    }
    let out = match &args.out {
        Some(o) => o.clone(),
        None if args.smoke => args.work_dir.join("smoke-results"),
        None => PathBuf::from("bench/results"),
    };
    let machine = report::Machine::probe();
    eprintln!("bgpd bench: {}", machine.one_line());
    let started = Instant::now();
    let mut records: Vec<RunRecord> = Vec::new();
    let mut descriptions = Vec::new();
    for kind in &kinds {
        let w = workload::build(*kind, &sizes, &args.mrt)?;
        eprintln!("{}: {}", kind.name(), w.description);
        descriptions.push((*kind, w.description.clone()));
        for daemon in &daemons {
            for rep in 0..repeat {
                let dir = args
                    .work_dir
                    .join(format!("{}-{}-{rep}", kind.name(), daemon.name()));
                let record = report::measure(&w, *daemon, rep, &dir, timeout)?;
                eprintln!("  {}", record.one_line());
                let timed_out = record.failure.is_some();
                records.push(record);
                if timed_out && args.skip_after_timeout {
                    break;
                }
            }
        }
    }
    let load = report::Machine::loadavg();
    let mut summary = report::Summary::new(&records);
    summary.timeout = Some(timeout.as_secs_f64());
    summary.cores = Some(machine.cores);
    std::fs::create_dir_all(&out)?;
    let text = report::write_all(
        &out,
        &summary,
        &records,
        &machine,
        &load,
        &versions,
        &descriptions,
        args.smoke,
        started.elapsed(),
    )?;
    println!("{text}");
    eprintln!("written to {}", out.display());
    if args.smoke {
        let failed: Vec<String> = records
            .iter()
            .filter_map(|r| {
                r.failure
                    .as_ref()
                    .map(|f| format!("{} {}: {f}", r.workload.name(), r.daemon.name()))
            })
            .collect();
        if !failed.is_empty() {
            anyhow::bail!(
                "smoke race: runs did not converge:\n  {}",
                failed.join("\n  ")
            );
        }
    }
    Ok(())
}
