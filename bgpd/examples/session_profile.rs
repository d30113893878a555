//! bgpd's session path on the real full table, as one plain process for
//! `valgrind --tool=callgrind` (instruction counts do not depend on the machine's load) and
//! `perf`: the same work as the criterion bench `session/from_frame` (every UPDATE from its
//! octets to the RIB's input), a number of rounds.
//!
//! `cargo run --release -p bgpd --example session_profile -- [ROUNDS] [decode]` (default 5
//! rounds; `decode`: the full decoder for every UPDATE, as `session/decode_and_prepare`, the
//! way UPDATEs the check leaves go). Under callgrind, the difference between 2 rounds and 1
//! is one round's instructions.
#![allow(missing_docs, clippy::unwrap_used)]

use std::time::Instant;

#[path = "../benches/common/real_updates.rs"]
#[allow(dead_code)]
mod real_updates;
use real_updates::{decode_and_prepare, prepare, real_updates};

/// The allocator the `bgpd` binary uses.
#[global_allocator]
static ALLOC: bgpd_alloc::Allocator = bgpd_alloc::Allocator;

fn main() {
    let rounds: u32 = std::env::args()
        .nth(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let way = match std::env::args().nth(2).as_deref() {
        Some("decode") => decode_and_prepare,
        _ => prepare,
    };
    let updates = real_updates();
    let bytes: usize = updates.iter().map(|(b, _)| b.len()).sum();
    let mut times = Vec::new();
    let mut prefixes = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        prefixes = 0;
        for (raw, ctx) in &updates {
            if let Some(r) = std::hint::black_box(way(raw, ctx)) {
                prefixes += r.prefixes();
            }
        }
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    if let (Some(best), Some(median)) = (times.first(), times.get(times.len() / 2)) {
        println!(
            "{bytes} bytes, {} UPDATEs, {prefixes} prefixes; {rounds} rounds: best {:.1} ms = \
             {:.0} MB/s, median {:.1} ms = {:.0} MB/s",
            updates.len(),
            best * 1e3,
            bytes as f64 / best / 1e6,
            median * 1e3,
            bytes as f64 / median / 1e6
        );
    }
}
