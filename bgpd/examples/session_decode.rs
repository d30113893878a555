//! What a session task does per received UPDATE before the RIB gets it, two ways, on the
//! real full table (`updates.et-header.2015.gz`, 89,679 UPDATEs, 10.3 MB):
//!
//! - `full`: `Message::decode`, then `ReceivedUpdate::new` (routes per family, attributes
//!   built without NEXT_HOP and hashed for interning);
//! - `checked`: `CheckedUpdate::check`, then `ReceivedUpdate::from_checked` (the same result
//!   without building the decoded message; the few UPDATEs the check leaves take `full`).
//!
//! - `encoded`: what a session would hand a RIB that kept attribute sets encoded (not built):
//!   the checked block without NEXT_HOP copied once and hashed as bytes, and the routes.
//!
//! `full` and `checked` produce the RIB's input, so their figure is bytes to RIB input, per
//! core. It prints the
//! median and best of the rounds, in MB/s and ns per UPDATE, and checks that both ways give
//! equal results.
//!
//! ```sh
//! cargo run --release -p bgpd --example session_decode [-- ROUNDS]
//! ```
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

use bgp_proto::mrt::{Bgp4mpMessage, MrtBody, MrtReader};
use bgp_proto::{CheckedUpdate, Message, SessionContext};
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
    match CheckedUpdate::check(raw, ctx) {
        Some(c) => Some(ReceivedUpdate::from_checked(&c)),
        None => full(raw, ctx),
    }
}

/// What a session would hand the RIB if the RIB kept attribute sets encoded (not built yet;
/// BENCHMARKS.md "Session 19"): the checked attribute block without NEXT_HOP copied once and
/// hashed as bytes, the next hop, and the routes.
type Encoded = (
    u64,
    Box<[u8]>,
    Option<std::net::Ipv4Addr>,
    Vec<bgp_proto::Nlri>,
    Vec<bgp_proto::Nlri>,
);

fn encoded(raw: &[u8], ctx: &SessionContext) -> Option<Encoded> {
    use std::hash::BuildHasher;
    let c = CheckedUpdate::check(raw, ctx)?;
    let mut block = Vec::with_capacity(c.attribute_block().len());
    let mut rest = c.attribute_block();
    for (f, code, data) in c.attributes() {
        // Flags, type, and a length of one octet, or two with Extended Length.
        let whole = 2 + if f & 0x10 != 0 { 2 } else { 1 } + data.len();
        let (this, after) = rest.split_at(whole);
        if code != bgp_proto::attribute_type::NEXT_HOP {
            block.extend_from_slice(this);
        }
        rest = after;
    }
    let block = block.into_boxed_slice();
    let hash = foldhash::fast::FixedState::with_seed(0).hash_one(&block);
    Some((
        hash,
        block,
        c.next_hop(),
        c.nlri().collect(),
        c.withdrawn().collect(),
    ))
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
    let mut times = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (way, t) in times.iter_mut().enumerate() {
            let start = Instant::now();
            for (raw, ctx) in &updates {
                match way {
                    0 => drop(black_box(full(raw, ctx))),
                    1 => drop(black_box(checked(raw, ctx))),
                    _ => drop(black_box(encoded(raw, ctx))),
                }
            }
            t.push(start.elapsed().as_secs_f64());
        }
    }
    for (name, t) in ["full", "checked", "encoded"].iter().zip(&mut times) {
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
