//! Decode throughput on real data: the full-table MRT file `updates.et-header.2015.gz`
//! (BGP4MP_ET, one peer sending 577,706 IPv4 prefixes; 13.5 MB uncompressed), decompressed
//! into memory first so only decoding is measured.
//!
//! - `mrt_full_table`: every MRT record decoded (header, BGP4MP peer fields, and the whole
//!   BGP message with all attributes and prefixes), as `bgpd mrt` does.
//! - `update_messages`: only `Message::decode` on the UPDATE messages of the file, the work
//!   a session does per received message. `update_messages/checked_bytes`: the same UPDATEs
//!   through `CheckedUpdate::check`, prefixes read and the attribute block copied once (the
//!   few it leaves decoded in full).
//!
//! - `mrt_full_table_stream`: the same through the streaming reader (`MrtReader::new` over
//!   `&[u8]`), which copies each record out of its read buffer, as for a file or socket.
//!
//! Run: `cargo bench -p bgp-proto --bench decode` (set `BGPD_BENCH_MRT` to use another file).
//! The benchmark uses mimalloc, the allocator the `bgpd` binary ships with: decoding allocates
//! a few times per message, so the allocator is part of the figure.
#![allow(missing_docs, clippy::unwrap_used)]

use bgp_proto::mrt::{Bgp4mpMessage, MrtBody, MrtReader};
use bgp_proto::{CheckedUpdate, Message, SessionContext};
use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use std::io::Read;

#[global_allocator]
static ALLOC: bgpd_alloc::Allocator = bgpd_alloc::Allocator;

fn load() -> Vec<u8> {
    let path = std::env::var("BGPD_BENCH_MRT").unwrap_or_else(|_| {
        format!(
            "{}/../bgpd/tests/data/mrt/updates.et-header.2015.gz",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut data = Vec::new();
    flate2::read::MultiGzDecoder::new(file)
        .read_to_end(&mut data)
        .unwrap();
    data
}

fn count_prefixes(data: &[u8]) -> (u64, Vec<(Bytes, SessionContext)>) {
    let mut prefixes = 0u64;
    let mut updates = Vec::new();
    for r in MrtReader::new(data).unwrap().flatten() {
        if let MrtBody::Message(m) = r.body {
            if let Message::Update(u) = &m.message {
                prefixes += (u.announced().count() + u.withdrawals().count()) as u64;
                updates.push((
                    m.raw.clone(),
                    Bgp4mpMessage::context(m.four_octet_as, m.add_path),
                ));
            }
        }
    }
    (prefixes, updates)
}

fn decode_mrt(data: &Bytes) -> usize {
    let mut n = 0;
    for r in MrtReader::from_bytes(data.clone()).unwrap().flatten() {
        n += matches!(r.body, MrtBody::Message(_)) as usize;
    }
    n
}

fn decode_mrt_stream(data: &[u8]) -> usize {
    let mut n = 0;
    for r in MrtReader::new(data).unwrap().flatten() {
        n += matches!(r.body, MrtBody::Message(_)) as usize;
    }
    n
}

fn decode_updates(updates: &[(Bytes, SessionContext)]) -> usize {
    let mut n = 0;
    for (raw, ctx) in updates {
        if let Ok(Message::Update(u)) = Message::decode(raw, ctx) {
            n += u.nlri.len() + u.withdrawn.len();
        }
    }
    n
}

/// What a session does per UPDATE on the checked path ([`CheckedUpdate`]): check it in
/// place, read its prefixes, and copy its attribute block out of the read buffer once (the
/// form a RIB keeping attribute sets encoded stores); the UPDATEs the check leaves to the
/// full decoder are decoded as before.
fn check_updates(updates: &[(Bytes, SessionContext)]) -> (usize, usize) {
    let (mut n, mut full) = (0, 0);
    for (raw, ctx) in updates {
        match CheckedUpdate::check(raw, ctx) {
            Some(u) => {
                let kept: Box<[u8]> = u.attribute_block().into();
                n += u.nlri().count() + u.withdrawn().count() + usize::from(kept.is_empty());
            }
            None => {
                full += 1;
                if let Ok(Message::Update(u)) = Message::decode(raw, ctx) {
                    n += u.nlri.len() + u.withdrawn.len();
                }
            }
        }
    }
    (n, full)
}

fn benches(c: &mut Criterion) {
    let data = load();
    let (prefixes, updates) = count_prefixes(&data);
    let update_bytes: usize = updates.iter().map(|(b, _)| b.len()).sum();
    eprintln!(
        "input: {} bytes of MRT, {} UPDATE messages ({} bytes), {} prefixes",
        data.len(),
        updates.len(),
        update_bytes,
        prefixes
    );
    eprintln!(
        "checked path: {} of {} UPDATE messages go to the full decoder",
        check_updates(&updates).1,
        updates.len()
    );
    let data = Bytes::from(data);
    let mut g = c.benchmark_group("mrt_full_table");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("bytes", |b| b.iter(|| decode_mrt(black_box(&data))));
    g.throughput(Throughput::Elements(prefixes));
    g.bench_function("prefixes", |b| b.iter(|| decode_mrt(black_box(&data))));
    g.finish();

    let mut g = c.benchmark_group("mrt_full_table_stream");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("bytes", |b| b.iter(|| decode_mrt_stream(black_box(&data))));
    g.finish();

    let mut g = c.benchmark_group("update_messages");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(update_bytes as u64));
    g.bench_function("bytes", |b| b.iter(|| decode_updates(black_box(&updates))));
    g.throughput(Throughput::Elements(prefixes));
    g.bench_function("prefixes", |b| {
        b.iter(|| decode_updates(black_box(&updates)))
    });
    g.throughput(Throughput::Bytes(update_bytes as u64));
    g.bench_function("checked_bytes", |b| {
        b.iter(|| check_updates(black_box(&updates)))
    });
    g.finish();
}

criterion_group!(decode, benches);
criterion_main!(decode);
