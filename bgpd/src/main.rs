//! The `bgpd` command line.

use bgpd::logging::LogFormat;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// mimalloc (through `bgpd_alloc`) instead of the system allocator: decoding and the RIB allocate small objects
/// per message and per route, where it is markedly faster than glibc's malloc
/// (BENCHMARKS.md, decode figures with both).
#[global_allocator]
static ALLOC: bgpd_alloc::Allocator = bgpd_alloc::Allocator;

/// A BGP speaker for Kubernetes labs: route reflector, route server, prefix audit, MRT tools.
#[derive(Debug, Parser)]
#[command(name = "bgpd", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon with a configuration file.
    Run {
        /// The TOML configuration.
        #[arg(long, short)]
        config: PathBuf,
        /// Log format.
        #[arg(long, value_enum, default_value_t)]
        log_format: LogFormat,
    },
    /// Check a configuration file and print what would run.
    Check {
        /// The TOML configuration.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Run a complete simulated lab on loopback (vMX, 3 Calico nodes, 3 MetalLB speakers)
    /// around a real bgpd, and show what it does.
    Demo(bgpd::demo::DemoArgs),
    /// Show neighbors and routes of a running bgpd (through its HTTP API).
    Show {
        /// What to show.
        #[command(subcommand)]
        what: bgpd::show::ShowCommand,
        /// API address and output format.
        #[command(flatten)]
        api: bgpd::show::ApiArgs,
    },
    /// Write TABLE_DUMP_V2 snapshots of a running bgpd's Loc-RIB and Adj-RIBs-In (needs a
    /// [recording] directory).
    Snapshot {
        /// API address and output format.
        #[command(flatten)]
        api: bgpd::show::ApiArgs,
    },
    /// Print prefix and session events of a running bgpd as they happen.
    Watch {
        /// API address and output format.
        #[command(flatten)]
        api: bgpd::show::ApiArgs,
    },
    /// Play the UPDATEs one peer sent, recorded in an MRT file, into a live session with any
    /// BGP speaker.
    Replay(bgpd::replay::ReplayArgs),
    /// Cause a BGP fault on purpose against any speaker and report its reaction.
    Chaos(bgpd::chaos::ChaosArgs),
    /// Print an MRT file (RFC 6396) one route per line, exactly like `bgpdump -m`.
    Mrt(bgpd::mrt_view::MrtArgs),
    /// Check routes (API, MRT file or snapshot) against an intent file; exit 0 clean,
    /// 1 findings at or above --fail-on, 2 bad input.
    Audit(bgpd::audit::AuditArgs),
    /// Race bgpd against BIRD, GoBGP and FRR on loopback (issue 7) and write the results.
    Bench(bgpd::bench::BenchArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Audit(args) => return bgpd::audit::main(args),
        Command::Mrt(args) => bgpd::mrt_view::run(args),
        Command::Bench(args) => bgpd::bench::run(args),
        Command::Demo(args) => bgpd::demo::run(args),
        Command::Show { what, api } => bgpd::show::show(what, api),
        Command::Watch { api } => bgpd::show::watch(api),
        Command::Snapshot { api } => bgpd::show::snapshot(api),
        Command::Replay(args) => bgpd::replay::run(args),
        Command::Chaos(args) => bgpd::chaos::run(args),
        Command::Check { config } => match bgpd::check::check(config) {
            Ok(text) => {
                print!("{text}");
                Ok(())
            }
            Err(e) => Err(anyhow::anyhow!(e)),
        },
        Command::Run { config, log_format } => run(config, *log_format),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bgpd: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run(config: &std::path::Path, format: LogFormat) -> anyhow::Result<()> {
    // Read once here so a bad file fails before anything starts, with file:line: key.
    let level = bgpd::config::load(config)?.global.log_level;
    bgpd::logging::init(format, &level);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(bgpd::daemon::run(
        config.to_path_buf(),
        std::future::pending(),
    ))
}
