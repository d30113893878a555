//! Where the RIB's memory and time go: loads a race workload (W1 or W1b) into a `Rib` in
//! process, as the daemon's RIB task would (one route-server client sending, one receiving;
//! UPDATEs applied in runs of at most 1,024 prefixes, as the RIB task batches them), and prints
//! the resident bytes it added, split into the Loc-RIB slab and index, the attribute sets and
//! the rest, and the CPU time of the RIB's work (decoding, and packing the UPDATEs that the
//! receiving session tasks do, measured apart and left out). On a
//! shared machine this CPU figure is steadier than the race's elapsed times: run it 3 times.
//! The figures in BENCHMARKS.md ("Where the memory goes") come from
//!
//! ```sh
//! cargo run --release -p bgpd --example rib_memory -- w1
//! cargo run --release -p bgpd --example rib_memory -- w1b
//! ```
//!
//! `--shuffled` after the workload sends its UPDATEs in a fixed pseudo-random order instead
//! of the router's (nearly address) order: what the Loc-RIB's address-ordered IPv4 index
//! costs when the feed has no locality.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

use bgp_proto::{Family, FamilySet, Message, SessionContext};
use bgpd::bench::daemons::bgpd_config;
use bgpd::bench::workload::{build, Kind, Sizes};
use bgpd::config::load_str;
use bgpd::rib::received::ReceivedUpdate;
use bgpd::rib::table::{Rib, SessionInfo};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

/// The daemon's allocator, so the resident figures match.
#[global_allocator]
static ALLOC: bgpd_alloc::Allocator = bgpd_alloc::Allocator;

/// CPU time of this thread so far (`/proc/thread-self/schedstat`, first field, ns).
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// The UPDATE messages of a stream of BGP messages.
fn messages(stream: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at + 19 > stream.len() {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([stream[at + 16], stream[at + 17]]));
        let m = stream.get(at..at + len)?;
        at += len;
        Some(m)
    })
}

/// Resident bytes of this process (`/proc/self/statm`, second field, in pages).
fn resident() -> usize {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = s
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn session(id: u8) -> SessionInfo {
    SessionInfo {
        bgp_id: Ipv4Addr::new(127, 0, id, 1),
        local_address: Some(IpAddr::V4(Ipv4Addr::new(127, 0, 9, 1))),
        families: vec![Family::IPV4_UNICAST],
        add_path_send: FamilySet::EMPTY,
        send_context: SessionContext::default(),
        four_octet_as: true,
        graceful_restart: None,
        graceful_restart_families: FamilySet::EMPTY,
    }
}

/// Fisher-Yates with a fixed xorshift generator: the same order every run.
fn shuffle<T>(v: &mut [T]) {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
}

fn mib(b: usize) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "w1".into());
    let kind = if which == "w1b" { Kind::W1b } else { Kind::W1 };
    let mrt =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mrt/updates.et-header.2015.gz");
    // The workload is built in a child process and handed over as a file, so building it
    // (decoding the MRT file) leaves no freed-but-resident memory in this one.
    let file = std::env::temp_dir().join(format!("rib_memory.{which}.stream"));
    if std::env::args().nth(2).as_deref() == Some("--build") {
        let work = build(kind, &Sizes::full(), &mrt).unwrap();
        std::fs::write(&file, work.injectors[0].stream.as_slice()).unwrap();
        // The race's own configuration: the injector is neighbor 0, the monitor neighbor 1.
        let mut peers = vec![work.injectors[0].speaker];
        peers.extend(work.monitors.iter().copied());
        std::fs::write(file.with_extension("toml"), bgpd_config(&peers)).unwrap();
        return;
    }
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([which.as_str(), "--build"])
        .status()
        .unwrap();
    assert!(status.success(), "building the workload failed");
    let stream = std::fs::read(&file).unwrap();
    let conf = std::fs::read_to_string(file.with_extension("toml")).unwrap();
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_file(file.with_extension("toml"));

    let cfg = load_str(&conf, "rib_memory.toml").unwrap();
    let mut rib = Rib::for_config(&cfg);
    for (i, n) in cfg.neighbors.iter().enumerate() {
        rib.configure_peer(i as u32, n.clone());
    }
    drop(rib.peer_up(1, session(2)));
    drop(rib.peer_up(0, session(1)));
    let before = resident();

    let mut order: Vec<&[u8]> = messages(&stream).collect();
    if std::env::args().any(|a| a == "--shuffled") {
        shuffle(&mut order);
    }
    let ctx = SessionContext {
        four_octet_as: true,
        ..SessionContext::default()
    };
    // Decoding alone, to take out of the RIB's time below.
    let start = cpu_ns();
    for m in &order {
        drop(Message::decode(m, &ctx));
    }
    let decode_ns = cpu_ns() - start;

    // Packing the monitor's UPDATEs runs in its session task, on another core than the RIB's:
    // timed apart.
    let mut pack_ns = 0;
    let mut pack = |outbox: bgpd::rib::table::Outbox| {
        let t = cpu_ns();
        for out in outbox.values() {
            drop(out.bytes());
        }
        pack_ns += cpu_ns() - t;
    };
    // So is preparing each UPDATE for the RIB (`ReceivedUpdate::new`): the daemon does it in
    // the sending peer's session task.
    let mut prepare_ns = 0;
    let mut prepare = |run: &mut Vec<bgp_proto::Update>| {
        let t = cpu_ns();
        let batch: Vec<_> = run
            .drain(..)
            .map(|u| (0, ReceivedUpdate::new(u, true)))
            .collect();
        prepare_ns += cpu_ns() - t;
        batch
    };
    let start = cpu_ns();
    let mut updates = 0usize;
    let mut run = Vec::new();
    let mut prefixes = 0;
    for m in &order {
        if let Ok(Message::Update(u)) = Message::decode(m, &ctx) {
            prefixes += u.nlri.len() + u.withdrawn.len();
            run.push(u);
            updates += 1;
        }
        if prefixes >= 1024 {
            let batch = prepare(&mut run);
            pack(rib.apply_received(batch));
            prefixes = 0;
        }
    }
    let batch = prepare(&mut run);
    pack(rib.apply_received(batch));
    let rib_ns = (cpu_ns() - start).saturating_sub(decode_ns + prepare_ns + pack_ns);
    rib.collect_garbage();
    let total = resident().saturating_sub(before);
    let (slab, index) = rib.loc.memory();
    let sets = rib.attribute_sets();
    let attrs = total.saturating_sub(slab + index);
    let routes = rib.loc.len();
    println!("{kind:?}: {updates} UPDATEs, {routes} destinations, {sets} attribute sets");
    println!(
        "resident growth while loading: {:.1} MiB = {:.0} bytes per route",
        mib(total),
        total as f64 / routes as f64
    );
    println!(
        "  Loc-RIB slab   {:7.1} MiB  {:5.0} B/route",
        mib(slab),
        slab as f64 / routes as f64
    );
    println!(
        "  Loc-RIB index  {:7.1} MiB  {:5.0} B/route",
        mib(index),
        index as f64 / routes as f64
    );
    println!(
        "RIB work (import, best path, export to the monitor): {:.3} s CPU, {:.0} ns per route; apart: decoding {:.3} s and preparing {:.3} s (the sender's session task), packing the monitor's UPDATEs (its session task) {:.3} s",
        rib_ns as f64 / 1e9,
        rib_ns as f64 / routes as f64,
        decode_ns as f64 / 1e9,
        prepare_ns as f64 / 1e9,
        pack_ns as f64 / 1e9
    );
    println!(
        "  everything else (attribute sets, peer tables) {:7.1} MiB  {:5.0} B/route, {:.0} B per set",
        mib(attrs),
        attrs as f64 / routes as f64,
        attrs as f64 / sets.max(1) as f64
    );
}
