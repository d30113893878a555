//! Decodes an MRT file in memory a number of times and prints the throughput: the same work as
//! the criterion benchmark `mrt_full_table`, as one plain process for `valgrind --tool=callgrind`
//! (instruction counts do not depend on the machine's load) and `perf`.
//!
//! `cargo run --release -p bgp-proto --example decode_profile -- [FILE] [ROUNDS]`
//! (default: bgpd/tests/data/mrt/updates.et-header.2015.gz, 5 rounds).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use bgp_proto::mrt::{MrtBody, MrtReader};
use bgp_proto::Message;
use std::io::Read;
use std::time::Instant;

/// The allocator the `bgpd` binary uses; decoding allocates per message, so the allocator
/// is part of the figure (BENCHMARKS.md gives both).
#[global_allocator]
static ALLOC: bgpd_alloc::Allocator = bgpd_alloc::Allocator;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| {
        format!(
            "{}/../bgpd/tests/data/mrt/updates.et-header.2015.gz",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let rounds: u32 = args.next().and_then(|r| r.parse().ok()).unwrap_or(5);
    let mut data = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_end(&mut data)
        .unwrap();
    let data = bytes::Bytes::from(data);
    let mut best = f64::MAX;
    let mut on_cpu = Vec::new();
    let mut prefixes = 0usize;
    for _ in 0..rounds {
        let t = Instant::now();
        let cpu0 = thread_cpu_ns();
        prefixes = 0;
        for r in MrtReader::from_bytes(data.clone()).unwrap().flatten() {
            if let MrtBody::Message(m) = r.body {
                if let Message::Update(u) = &m.message {
                    prefixes += u.nlri.len() + u.withdrawn.len();
                }
            }
        }
        best = best.min(t.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (cpu0, thread_cpu_ns()) {
            on_cpu.push((b - a) as f64 / 1e9);
        }
    }
    on_cpu.sort_by(f64::total_cmp);
    println!(
        "{} bytes, {prefixes} prefixes, best of {rounds}: {:.1} ms = {:.0} MB/s, {:.2} M prefixes/s",
        data.len(),
        best * 1e3,
        data.len() as f64 / best / 1e6,
        prefixes as f64 / best / 1e6
    );
    if let Some(median) = on_cpu.get(on_cpu.len() / 2) {
        println!(
            "on-CPU time (time waiting for a CPU excluded): median {:.1} ms = {:.0} MB/s, \
             best {:.1} ms = {:.0} MB/s",
            median * 1e3,
            data.len() as f64 / median / 1e6,
            on_cpu[0] * 1e3,
            data.len() as f64 / on_cpu[0] / 1e6
        );
    }
}

/// Nanoseconds this thread has run on a CPU (Linux schedstat), so a loaded machine's run-queue
/// waits do not count.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}
