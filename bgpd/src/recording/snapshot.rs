//! TABLE_DUMP_V2 snapshots (RFC 6396 §4.3): the Loc-RIB (every accepted path, after import
//! policy) and every Adj-RIB-In (as received), each a PEER_INDEX_TABLE followed by one RIB
//! record per prefix.

use crate::rib::route::{PeerId, RouteAttrs};
use crate::rib::table::Rib;
use crate::rib::wire::wire_attributes;
use bgp_proto::mrt::{MrtWriter, PeerEntry, PeerIndexTable, RibEntry, RibRecord};
use bgp_proto::{AttributeValue, Family, MpReach, PathAttribute, SessionContext};
use bytes::Bytes;
use ipnet::IpNet;
use std::collections::BTreeMap;
use std::io::BufWriter;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// One path to dump.
struct DumpPath {
    peer: PeerId,
    path_id: u32,
    originated: u32,
    attrs: crate::rib::route::SharedAttrs,
}

fn rib_attributes(attrs: &RouteAttrs, family: Family) -> bgp_proto::PathAttributes {
    let (mut wire, mp) = wire_attributes(attrs, family, &SessionContext::default());
    if let Some(next_hop) = mp {
        wire.0.insert(
            0,
            PathAttribute::new(AttributeValue::from(MpReach {
                family,
                next_hop,
                nlri: Vec::new(),
                opaque_nlri: Bytes::new(),
            })),
        );
    }
    wire
}

fn write_dump(
    path: &Path,
    router_id: Ipv4Addr,
    view: &str,
    rib: &Rib,
    tables: &BTreeMap<(Family, IpNet), Vec<DumpPath>>,
) -> Result<(), bgp_proto::mrt::MrtWriteError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0);
    let mut ids: Vec<PeerId> = rib.peers.keys().copied().collect();
    ids.sort_unstable();
    let index: BTreeMap<PeerId, u16> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i as u16))
        .collect();
    let peers = ids
        .iter()
        .filter_map(|id| rib.peers.get(id))
        .map(|p| PeerEntry {
            bgp_id: p
                .session
                .as_ref()
                .map(|s| s.bgp_id)
                .unwrap_or(Ipv4Addr::UNSPECIFIED),
            address: p.neighbor.address,
            asn: p.neighbor.peer_as,
            four_octet_as: true,
        })
        .collect();
    let file = std::fs::File::create(path)?;
    let mut w = MrtWriter::new(BufWriter::new(file));
    w.write_peer_index_table(
        now,
        &PeerIndexTable {
            collector_id: router_id,
            view_name: view.to_string(),
            peers,
        },
    )?;
    for (seq, ((family, prefix), paths)) in tables.iter().enumerate() {
        let add_path = paths.iter().any(|p| p.path_id != 0);
        let entries = paths
            .iter()
            .map(|p| RibEntry {
                peer_index: index.get(&p.peer).copied().unwrap_or(0),
                originated: p.originated,
                path_id: add_path.then_some(p.path_id),
                attributes: rib_attributes(&p.attrs, *family),
                issues: Vec::new(),
            })
            .collect();
        let record = RibRecord {
            family: *family,
            generic: false,
            add_path,
            sequence: seq as u32,
            prefix: *prefix,
            entries,
        };
        w.write_rib(now, &record)?;
    }
    w.flush()?;
    Ok(())
}

/// Writes `loc-rib.<time>.mrt` and `adj-rib-in.<time>.mrt` into `dir`; returns their paths.
pub fn write(rib: &Rib, router_id: Ipv4Addr, dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let stamp = format!("{}.{:06}", now.as_secs(), now.subsec_micros());
    let mut loc: BTreeMap<(Family, IpNet), Vec<DumpPath>> = BTreeMap::new();
    for ((family, prefix), d) in &rib.loc {
        if !family.has_prefix_nlri() {
            continue;
        }
        for p in &d.paths {
            loc.entry((family, prefix)).or_default().push(DumpPath {
                peer: p.peer,
                path_id: p.received_path_id,
                originated: p.since,
                attrs: p.attrs.clone(),
            });
        }
    }
    let mut adj: BTreeMap<(Family, IpNet), Vec<DumpPath>> = BTreeMap::new();
    for id in rib.peers.keys() {
        for ((family, prefix, path_id), attrs) in rib.adj_rib_in(*id) {
            adj.entry((family, prefix)).or_default().push(DumpPath {
                peer: *id,
                path_id,
                originated: now.as_secs() as u32,
                attrs,
            });
        }
    }
    let loc_path = dir.join(format!("loc-rib.{stamp}.mrt"));
    let adj_path = dir.join(format!("adj-rib-in.{stamp}.mrt"));
    write_dump(&loc_path, router_id, "bgpd loc-rib", rib, &loc)?;
    write_dump(&adj_path, router_id, "bgpd adj-rib-in", rib, &adj)?;
    Ok((loc_path, adj_path))
}
