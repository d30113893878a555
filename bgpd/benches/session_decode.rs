//! bgpd's own decode path, per core: what a session task does with each received UPDATE
//! before the RIB gets it, on the real full table (`updates.et-header.2015.gz`, 89,679
//! UPDATEs, 10.3 MB), read into memory first.
//!
//! - `session/from_frame`: what the session does since session 20
//!   (`ReceivedUpdate::from_frame`: the UPDATE checked where it lies, its routes read and
//!   its attribute block, minus NEXT_HOP, copied once as the encoded set the RIB keeps, and
//!   hashed for interning), and for the few UPDATEs the check leaves, the full decoder;
//! - `session/decode_and_prepare`: the full decoder (`Message::decode`) then
//!   `ReceivedUpdate::new` for every UPDATE (the session's path before session 20).
//!
//! Both produce the RIB's input (the unit test
//! `a_real_full_table_is_prepared_as_its_decoded_messages_also_with_octets_changed` holds
//! them equal), so the figure is bytes to RIB input.
//!
//! Run: `cargo bench -p bgpd --bench session_decode`. It uses mimalloc, the allocator the
//! `bgpd` binary ships with.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

#[path = "common/real_updates.rs"]
mod real_updates;
use real_updates::{decode_and_prepare, prepare, real_updates};

#[global_allocator]
static ALLOC: bgpd_alloc::Allocator = bgpd_alloc::Allocator;

fn benches(c: &mut Criterion) {
    let updates = real_updates();
    let bytes: usize = updates.iter().map(|(b, _)| b.len()).sum();
    let mut g = c.benchmark_group("session");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("from_frame", |b| {
        b.iter(|| {
            for (raw, ctx) in black_box(&updates) {
                black_box(&prepare(raw, ctx));
            }
        })
    });
    g.bench_function("decode_and_prepare", |b| {
        b.iter(|| {
            for (raw, ctx) in black_box(&updates) {
                {
                    black_box(&decode_and_prepare(raw, ctx));
                };
            }
        })
    });
    g.finish();
}

criterion_group!(session, benches);
criterion_main!(session);
