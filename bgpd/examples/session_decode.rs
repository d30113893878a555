//! What a session task does per received UPDATE before the RIB gets it, two ways, on the
//! real full table (`updates.et-header.2015.gz`, 89,679 UPDATEs, 10.3 MB):
//!
//! - `full`: `Message::decode`, then `ReceivedUpdate::new` (routes per family, attributes
//!   decoded without NEXT_HOP and hashed for interning): what the session does with an
//!   UPDATE the check leaves;
//! - `checked`: what the session does (since session 20): `ReceivedUpdate::from_frame`
//!   (`CheckedUpdate::check`, then the attribute block without NEXT_HOP copied once as the
//!   encoded set, hashed, and the routes), and `full` for the few UPDATEs the check leaves.
//!
//! Both produce the RIB's input, so the figure is bytes to RIB input, per core. It prints
//! the median and best of the rounds, in MB/s and ns per UPDATE, and checks that both ways
//! give equal results (equal sets, equal hashes, equal routes).
//!
//! ```sh
//! cargo run --release -p bgpd --example session_decode [-- ROUNDS]
//! ```
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

use bgp_proto::mrt::{Bgp4mpMessage, MrtBody, MrtReader};
use bgp_proto::{Message, SessionContext};
use bgpd::rib::received::ReceivedUpdate;
use std::hint::black_box;
use std::io::Read;
use std::time::Instant;

/// The daemon's allocator.
#[global_allocator]
static ALLOC: bgpd_alloc::Allocator = bgpd_alloc::Allocator;

fn full(raw: &[u8], ctx: &SessionContext) -> Option<ReceivedUpdate> {
    match Message::decode(raw, ctx) {
        Ok(Message::Update(u)) => Some(ReceivedUpdate::new(u, ctx.four_octet_as)),
        _ => None,
    }
}

fn checked(raw: &[u8], ctx: &SessionContext) -> Option<ReceivedUpdate> {
    ReceivedUpdate::from_frame(raw, ctx).or_else(|| full(raw, ctx))
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().unwrap())
        .unwrap_or(15);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/mrt/updates.et-header.2015.gz"
    );
    let mut data = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut data)
        .unwrap();
    let updates: Vec<(Vec<u8>, SessionContext)> = MrtReader::new(&data[..])
        .unwrap()
        .flatten()
        .filter_map(|r| match r.body {
            MrtBody::Message(m) if matches!(m.message, Message::Update(_)) => Some((
                m.raw.to_vec(),
                Bgp4mpMessage::context(m.four_octet_as, m.add_path),
            )),
            _ => None,
        })
        .collect();
    let bytes: usize = updates.iter().map(|(b, _)| b.len()).sum();
    for (raw, ctx) in &updates {
        assert_eq!(full(raw, ctx), checked(raw, ctx), "the two ways differ");
    }
    println!(
        "{} UPDATEs, {bytes} bytes; both ways give equal results",
        updates.len()
    );
    let taken = updates
        .iter()
        .filter(|(raw, ctx)| ReceivedUpdate::from_frame(raw, ctx).is_some())
        .count();
    println!("{taken} of them are taken by the check");
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (way, t) in times.iter_mut().enumerate() {
            let start = Instant::now();
            for (raw, ctx) in &updates {
                match way {
                    0 => drop(black_box(full(raw, ctx))),
                    _ => drop(black_box(checked(raw, ctx))),
                }
            }
            t.push(start.elapsed().as_secs_f64());
        }
    }
    for (name, t) in ["full", "checked"].iter().zip(&mut times) {
        t.sort_by(f64::total_cmp);
        let (median, best) = (t[t.len() / 2], t[0]);
        println!(
            "{name:>8}: median {:.1} ms = {:.0} MB/s, {:.0} ns/UPDATE; best {:.1} ms = {:.0} MB/s",
            median * 1e3,
            bytes as f64 / median / 1e6,
            median * 1e9 / updates.len() as f64,
            best * 1e3,
            bytes as f64 / best / 1e6
        );
    }
}
