//! The race's workloads (issue 7), each turned into pre-encoded UPDATE streams before the
//! clock starts: W1 the real full table of an MRT dump, W1b a synthetic million prefixes with
//! ~150,000 attribute sets, W2 ten peers, W3 fan-out to fifty clients, W4 churn.

use super::wire::{end_of_rib_message, prefix_key, Speaker};
use anyhow::Context as _;
use bgp_proto::mrt::{MrtBody, MrtReader};
use bgp_proto::{
    attribute_type, AsPath, AttributeValue, Community, Family, Message, Nlri, Origin,
    PathAttribute, PathAttributes, SessionContext, UpdatePacker,
};
use bytes::BytesMut;
use ipnet::{IpNet, Ipv4Net};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Which workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Kind {
    /// W1: one peer sends the real full table of the MRT file → monitor.
    W1,
    /// W1b: one peer sends synthetic IPv4 prefixes with many attribute sets → monitor.
    W1b,
    /// W2: many peers × distinct prefixes → monitor.
    W2,
    /// W3: one peer → many route-server clients, each must receive all.
    W3,
    /// W4: prefixes withdrawn and re-announced continuously; propagation delay.
    W4,
}

impl Kind {
    /// Every workload, in report order.
    pub const ALL: [Kind; 5] = [Kind::W1, Kind::W1b, Kind::W2, Kind::W3, Kind::W4];

    /// Short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Kind::W1 => "W1",
            Kind::W1b => "W1b",
            Kind::W2 => "W2",
            Kind::W3 => "W3",
            Kind::W4 => "W4",
        }
    }
}

/// How big each workload is (the full race or the smoke version).
#[derive(Debug, Clone)]
pub struct Sizes {
    /// W1: at most this many prefixes of the MRT file (`None`: all).
    pub w1_limit: Option<usize>,
    /// W1b: prefixes and distinct attribute sets.
    pub w1b: (usize, usize),
    /// W2: peers and prefixes per peer.
    pub w2: (usize, usize),
    /// W3: prefixes and route-server clients.
    pub w3: (usize, usize),
    /// W4: prefixes and churn duration.
    pub w4: (usize, Duration),
}

impl Sizes {
    /// The sizes issue 7 names.
    pub fn full() -> Self {
        Sizes {
            w1_limit: None,
            w1b: (1_000_000, 150_000),
            w2: (10, 100_000),
            w3: (100_000, 50),
            w4: (10_000, Duration::from_secs(60)),
        }
    }

    /// Small workloads that keep the harness itself from rotting (`--smoke`).
    pub fn smoke() -> Self {
        Sizes {
            w1_limit: Some(20_000),
            w1b: (20_000, 3_000),
            w2: (3, 5_000),
            w3: (5_000, 5),
            w4: (1_000, Duration::from_secs(3)),
        }
    }
}

/// One injector: who it is and the bytes it writes once established.
#[derive(Debug, Clone)]
pub struct InjectorPlan {
    /// Its AS and address.
    pub speaker: Speaker,
    /// Pre-encoded UPDATEs followed by End-of-RIB.
    pub stream: Arc<Vec<u8>>,
    /// Prefixes it announces.
    pub prefixes: usize,
}

/// W4's churn: which prefixes the (single) injector flaps and for how long.
#[derive(Debug, Clone)]
pub struct ChurnPlan {
    /// The churned prefixes (the same the injector announced first).
    pub prefixes: Vec<Ipv4Net>,
    /// How long to churn.
    pub duration: Duration,
}

/// A workload ready to run.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Which one.
    pub kind: Kind,
    /// A one-line description for the report.
    pub description: String,
    /// The injectors.
    pub injectors: Vec<InjectorPlan>,
    /// Route-server clients that only receive (the monitors).
    pub monitors: Vec<Speaker>,
    /// Prefixes each monitor must hold to have converged.
    pub expected_per_monitor: usize,
    /// Routes the daemon holds at convergence (for bytes per route).
    pub routes_held: usize,
    /// W4 only.
    pub churn: Option<ChurnPlan>,
}

/// The i-th injector (0-based): 127.0.1.(i+1), AS 65101+i.
pub fn injector_speaker(i: usize, asn: Option<u32>) -> Speaker {
    Speaker {
        asn: asn.unwrap_or(65101 + i as u32),
        address: Ipv4Addr::new(127, 0, 1, (i + 1) as u8),
    }
}

/// The NEXT_HOP the i-th injector announces: 198.18.1.(i+1) (RFC 2544 benchmark space).
/// Not its loopback address: GoBGP and FRR refuse 127/8 next hops as martians. No FIB is
/// programmed anywhere, so nothing is ever sent to it.
pub fn next_hop_of(speaker: Speaker) -> Ipv4Addr {
    let [_, _, _, host] = speaker.address.octets();
    Ipv4Addr::new(198, 18, 1, host)
}

/// The j-th monitor (0-based): 127.0.2.(j+1), AS 65201+j.
pub fn monitor_speaker(j: usize) -> Speaker {
    Speaker {
        asn: 65201 + j as u32,
        address: Ipv4Addr::new(127, 0, 2, (j + 1) as u8),
    }
}

/// The k-th synthetic prefix: a /24 from 11.0.0.0 on (k < 2^24 stays clear of 127/8 for
/// k < 16 M − 1 M; the race uses at most 1 M).
pub fn synthetic_prefix(k: usize) -> Ipv4Net {
    let addr = (11u32 << 24).wrapping_add((k as u32) << 8);
    Ipv4Net::new(Ipv4Addr::from(addr), 24).unwrap_or_default()
}

/// Key of a prefix as the monitor counts it.
pub fn key_of(p: &Ipv4Net) -> u64 {
    prefix_key(u32::from(p.network()), p.prefix_len())
}

/// Attribute set `s` of a synthetic feed from `asn`: paths of 2 to 5 ASes, one community.
pub fn synthetic_attributes(asn: u32, s: usize, next_hop: Ipv4Addr) -> PathAttributes {
    let s32 = s as u32;
    let mut path = vec![asn, 100_000 + s32];
    for extra in 0..(s % 4) {
        path.push(200_000 + (s32 % 1000) * 4 + extra as u32);
    }
    PathAttributes(vec![
        PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
        PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(path))),
        PathAttribute::new(AttributeValue::NextHop(next_hop)),
        PathAttribute::new(AttributeValue::Communities(
            vec![Community((asn & 0xffff) << 16 | (s32 % 1000))].into(),
        )),
    ])
}

/// Packs `groups` (attributes, prefixes) into UPDATEs and appends End-of-RIB.
fn pack(groups: &[(PathAttributes, Vec<Nlri>)]) -> anyhow::Result<Vec<u8>> {
    let packer = UpdatePacker::new(SessionContext::default());
    let mut out = BytesMut::new();
    for (attrs, nlri) in groups {
        packer
            .announce(attrs, Family::IPV4_UNICAST, None, nlri, &mut out)
            .context("packing UPDATEs")?;
    }
    out.extend_from_slice(&end_of_rib_message()?);
    Ok(out.to_vec())
}

/// A synthetic feed of prefixes `first..first+n` with `sets` attribute sets (prefix k has
/// set k % sets, so each set's prefixes are scattered, like a real table).
fn synthetic_feed(
    speaker: Speaker,
    first: usize,
    n: usize,
    sets: usize,
) -> anyhow::Result<InjectorPlan> {
    let sets = sets.clamp(1, n.max(1));
    let groups: Vec<(PathAttributes, Vec<Nlri>)> = (0..sets)
        .map(|s| {
            let nlri = (s..n)
                .step_by(sets)
                .map(|k| Nlri::new(IpNet::V4(synthetic_prefix(first + k))))
                .collect();
            (
                synthetic_attributes(speaker.asn, s, next_hop_of(speaker)),
                nlri,
            )
        })
        .collect();
    Ok(InjectorPlan {
        speaker,
        stream: Arc::new(pack(&groups)?),
        prefixes: n,
    })
}

/// W1: the final state of the first peer's IPv4 routes in an MRT updates file (withdrawals
/// applied), grouped by attribute set as a router would send them. NEXT_HOP becomes the
/// injector's ([`next_hop_of`]), AS_PATH/AGGREGATOR are
/// merged with AS4_PATH/AS4_AGGREGATOR for a 4-octet session (RFC 6793 §4.2.3), LOCAL_PREF
/// is dropped (eBGP, RFC 4271 §5.1.5). The injector takes the peer's AS and prepends it
/// where the path does not start with it, so the first AS of every path is its own (RFC 4271
/// §6.3).
pub fn full_table(file: &Path, limit: Option<usize>) -> anyhow::Result<(InjectorPlan, usize)> {
    let mut reader =
        MrtReader::open(file).with_context(|| format!("opening {}", file.display()))?;
    let mut peer: Option<(IpAddr, u32)> = None;
    let mut sets: Vec<PathAttributes> = Vec::new();
    let mut interned: HashMap<Vec<u8>, u32> = HashMap::new();
    let mut routes: HashMap<Ipv4Net, u32> = HashMap::new();
    let ctx = SessionContext::default();
    let next_hop = next_hop_of(injector_speaker(0, None));
    while let Some(record) = reader.next_record() {
        let Ok(record) = record else { continue };
        let MrtBody::Message(m) = record.body else {
            continue;
        };
        if m.local {
            continue;
        }
        let Message::Update(u) = &m.message else {
            continue;
        };
        let (address, asn) = *peer.get_or_insert((m.peer.peer_address, m.peer.peer_as));
        if m.peer.peer_address != address || asn != m.peer.peer_as {
            continue;
        }
        for (family, n) in u.withdrawals() {
            if let (true, IpNet::V4(p)) = (family == Family::IPV4_UNICAST, n.prefix) {
                routes.remove(&p);
            }
        }
        if u.treat_as_withdraw() {
            continue;
        }
        let v4: Vec<Ipv4Net> = u
            .announced()
            .filter_map(|(f, n)| match (f == Family::IPV4_UNICAST, n.prefix) {
                (true, IpNet::V4(p)) => Some(p),
                _ => None,
            })
            .collect();
        if v4.is_empty() {
            continue;
        }
        let mut attrs = u.attributes.clone();
        if let Some(mut p) = attrs.full_as_path(m.four_octet_as) {
            // A collector peer that is itself a route server does not prepend its AS; an
            // eBGP speaker must (RFC 4271 §5.1.2), and daemons check it (§6.3).
            if p.first_as() != Some(asn) {
                p.prepend(asn);
            }
            attrs.set(AttributeValue::AsPath(p));
        }
        if let Some(a) = attrs.full_aggregator(m.four_octet_as) {
            attrs.set(AttributeValue::Aggregator(a));
        }
        for code in [
            attribute_type::AS4_PATH,
            attribute_type::AS4_AGGREGATOR,
            attribute_type::LOCAL_PREF,
            attribute_type::MP_REACH_NLRI,
            attribute_type::MP_UNREACH_NLRI,
        ] {
            attrs.remove(code);
        }
        attrs.set(AttributeValue::NextHop(next_hop));
        let mut key = BytesMut::new();
        if attrs.encode(&ctx, &mut key).is_err() {
            continue;
        }
        let id = *interned.entry(key.to_vec()).or_insert_with(|| {
            sets.push(attrs);
            (sets.len() - 1) as u32
        });
        for p in v4 {
            if limit.is_none_or(|l| routes.len() < l || routes.contains_key(&p)) {
                routes.insert(p, id);
            }
        }
    }
    let Some((_, asn)) = peer else {
        anyhow::bail!("{}: no BGP4MP UPDATE found", file.display());
    };
    let mut groups: Vec<(PathAttributes, Vec<Nlri>)> =
        sets.into_iter().map(|a| (a, Vec::new())).collect();
    let mut sorted: Vec<(Ipv4Net, u32)> = routes.into_iter().collect();
    sorted.sort_unstable();
    for (p, id) in &sorted {
        if let Some((_, v)) = groups.get_mut(*id as usize) {
            v.push(Nlri::new(IpNet::V4(*p)));
        }
    }
    groups.retain(|(_, v)| !v.is_empty());
    let distinct = groups.len();
    Ok((
        InjectorPlan {
            speaker: injector_speaker(0, Some(asn)),
            stream: Arc::new(pack(&groups)?),
            prefixes: sorted.len(),
        },
        distinct,
    ))
}

/// Builds workload `kind` at `sizes`.
pub fn build(kind: Kind, sizes: &Sizes, mrt: &Path) -> anyhow::Result<Workload> {
    let one_monitor = vec![monitor_speaker(0)];
    Ok(match kind {
        Kind::W1 => {
            let (plan, sets) = full_table(mrt, sizes.w1_limit)?;
            let n = plan.prefixes;
            Workload {
                kind,
                description: format!(
                    "full table of {} ({n} prefixes, {sets} attribute sets, AS {}) → 1 monitor",
                    mrt.file_name().unwrap_or_default().to_string_lossy(),
                    plan.speaker.asn
                ),
                injectors: vec![plan],
                monitors: one_monitor,
                expected_per_monitor: n,
                routes_held: n,
                churn: None,
            }
        }
        Kind::W1b => {
            let (n, sets) = sizes.w1b;
            Workload {
                kind,
                description: format!(
                    "synthetic: {n} IPv4 prefixes, {sets} attribute sets → 1 monitor"
                ),
                injectors: vec![synthetic_feed(injector_speaker(0, None), 0, n, sets)?],
                monitors: one_monitor,
                expected_per_monitor: n,
                routes_held: n,
                churn: None,
            }
        }
        Kind::W2 => {
            let (peers, n) = sizes.w2;
            let injectors = (0..peers)
                .map(|i| synthetic_feed(injector_speaker(i, None), i * n, n, 100))
                .collect::<anyhow::Result<Vec<_>>>()?;
            Workload {
                kind,
                description: format!(
                    "{peers} peers × {n} distinct prefixes (100 attribute sets each) → 1 monitor"
                ),
                injectors,
                monitors: one_monitor,
                expected_per_monitor: peers * n,
                routes_held: peers * n,
                churn: None,
            }
        }
        Kind::W3 => {
            let (n, clients) = sizes.w3;
            Workload {
                kind,
                description: format!(
                    "1 peer × {n} prefixes (100 attribute sets) → {clients} route-server clients"
                ),
                injectors: vec![synthetic_feed(injector_speaker(0, None), 0, n, 100)?],
                monitors: (0..clients).map(monitor_speaker).collect(),
                expected_per_monitor: n,
                routes_held: n,
                churn: None,
            }
        }
        Kind::W4 => {
            let (n, duration) = sizes.w4;
            Workload {
                kind,
                description: format!(
                    "{n} prefixes withdrawn and re-announced continuously for {} s → 1 monitor",
                    duration.as_secs()
                ),
                injectors: vec![synthetic_feed(injector_speaker(0, None), 0, n, 100)?],
                monitors: one_monitor,
                expected_per_monitor: n,
                routes_held: n,
                churn: Some(ChurnPlan {
                    prefixes: (0..n).map(synthetic_prefix).collect(),
                    duration,
                }),
            }
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_feed_has_every_prefix_once_and_end_of_rib() {
        let plan = synthetic_feed(injector_speaker(0, None), 0, 1000, 37).unwrap();
        let mut scan = super::super::wire::Scan::default();
        let mut seen = std::collections::HashSet::new();
        let mut rest = &plan.stream[..];
        let mut eor = false;
        while !rest.is_empty() {
            let len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
            super::super::wire::scan_update(&rest[19..len], false, &mut scan).unwrap();
            eor |= scan.end_of_rib;
            seen.extend(scan.announced.iter().copied());
            rest = &rest[len..];
        }
        assert!(eor);
        assert_eq!(seen.len(), 1000);
        assert!(seen.contains(&key_of(&synthetic_prefix(999))));
    }
}
