//! The `bgpd` command line.

use clap::{Parser, Subcommand};

/// A BGP speaker for Kubernetes labs: route reflector, route server, prefix audit, MRT tools.
#[derive(Debug, Parser)]
#[command(name = "bgpd", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print an MRT file (RFC 6396) one route per line, exactly like `bgpdump -m`.
    Mrt(bgpd::mrt_view::MrtArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Mrt(args) => bgpd::mrt_view::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bgpd: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
