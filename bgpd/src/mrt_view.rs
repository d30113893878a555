//! `bgpd mrt FILE`: print MRT files the way `bgpdump -m` does (placeholder).

/// Options of `bgpd mrt`.
#[derive(Debug, clap::Args)]
pub struct MrtArgs {
    /// MRT file (plain, gzip or bzip2).
    pub file: std::path::PathBuf,
    /// Print JSON lines instead of bgpdump's one-line format.
    #[arg(long)]
    pub json: bool,
}

/// Runs `bgpd mrt`.
pub fn run(_args: &MrtArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
