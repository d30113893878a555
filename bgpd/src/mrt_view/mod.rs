//! `bgpd mrt FILE [--json]`: print an MRT file (RFC 6396; plain, gzip or bzip2) one route
//! per line, byte for byte as `bgpdump -m FILE` (bgpdump 1.6.2) prints it.
//!
//! The file is streamed: one record is decoded at a time with [`bgp_proto::mrt::MrtReader`],
//! so memory stays flat whatever its size. Records that cannot be decoded are reported on
//! standard error and skipped. Which lines are printed, and bgpdump's rules for each column,
//! are documented in `route_lines` and `route_attributes`; the line layout in
//! `bgpdump_text`.
//!
//! ## `--json`
//! One JSON object per line, one for each line the text format prints, with the same
//! content:
//!
//! | field | in | meaning |
//! |---|---|---|
//! | `type` | all | bgpdump's first column: `BGP4MP`, `BGP4MP_ET`, `BGP4MP_LOCAL`, `BGP4MP_AP`, ..., `TABLE_DUMP`, `TABLE_DUMP2`, `TABLE_DUMP2_AP` |
//! | `timestamp` | all | seconds since the Unix epoch |
//! | `microseconds` | BGP4MP_ET | the microsecond part of the timestamp |
//! | `entry` | all | `A` announcement, `W` withdrawal, `B` RIB entry, `STATE` state change |
//! | `peer_ip`, `peer_as` | all | the peer (address text as bgpdump prints it) |
//! | `prefix` | A, W, B | `address/length`, host bits as received |
//! | `path_id` | ADD-PATH | the path identifier |
//! | `as_path` | A, B | bgpdump notation (`{..}` AS_SET, `(..)` confederation sequence, `[..]` confederation set) |
//! | `origin` | A, B | `IGP`, `EGP` or `INCOMPLETE` |
//! | `next_hop` | A, B | the next hop |
//! | `local_pref`, `med` | A, B | numbers (0 when absent) |
//! | `communities` | A, B | array of `aa:nn` strings (or `no-export`, `no-advertise`, `local-AS`) |
//! | `atomic_aggregate` | A, B | bgpdump's `AG` (true) / `NAG` (false) |
//! | `aggregator_as`, `aggregator_ip` | A, B | the aggregator, when present |
//! | `old_state`, `new_state` | STATE | RFC 6396 §4.4.1 state numbers |

mod bgpdump_text;
mod json_lines;
mod route_attributes;
mod route_lines;
mod text_format;

use anyhow::Context;
use bgp_proto::mrt::MrtReader;
use route_lines::{LineSink, RouteLines};
use std::io::{self, Write};

/// Options of `bgpd mrt`.
#[derive(Debug, clap::Args)]
pub struct MrtArgs {
    /// MRT file (plain, gzip or bzip2).
    pub file: std::path::PathBuf,
    /// Print JSON lines instead of bgpdump's one-line format.
    #[arg(long)]
    pub json: bool,
}

/// Runs `bgpd mrt`: prints every record of the file to standard output.
pub fn run(args: &MrtArgs) -> anyhow::Result<()> {
    let reader = MrtReader::open(&args.file)
        .with_context(|| format!("cannot open {}", args.file.display()))?;
    let stdout = io::stdout();
    let out = stdout.lock();
    let result = if args.json {
        let mut printer = json_lines::JsonPrinter::new(io::BufWriter::with_capacity(1 << 20, out));
        print_all(reader, &mut printer).and_then(|()| printer.finish())
    } else {
        let mut printer = bgpdump_text::TextPrinter::new(out);
        print_all(reader, &mut printer).and_then(|()| printer.finish())
    };
    match result {
        // `bgpd mrt FILE | head` is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to standard output"),
    }
}

/// Prints every record; reports undecodable records on standard error.
fn print_all<R: io::Read>(reader: MrtReader<R>, sink: &mut impl LineSink) -> io::Result<()> {
    let mut lines = RouteLines::default();
    for record in reader {
        match record {
            Ok(record) => lines.record(record, sink)?,
            Err(e) => {
                let mut stderr = io::stderr().lock();
                // A failing standard error must not stop the output.
                let _ = writeln!(stderr, "bgpd: {e}");
            }
        }
    }
    Ok(())
}
