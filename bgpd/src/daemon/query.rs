//! Answers about the running daemon, computed by the RIB task from its own state (so no
//! lock is ever taken on routing state): the neighbor table.

use super::Daemon;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::SystemTime;

/// One row of `show neighbors`.
#[derive(Debug, Clone, Serialize)]
pub struct NeighborRow {
    /// Peer address.
    pub address: IpAddr,
    /// Peer AS.
    pub peer_as: u32,
    /// Description.
    pub description: String,
    /// FSM state name.
    pub state: String,
    /// Seconds since the session last went up or down.
    pub since_seconds: u64,
    /// Routes received (Adj-RIB-In, before policy), all families.
    pub received: usize,
    /// Routes accepted into the Loc-RIB.
    pub accepted: usize,
    /// Routes advertised (Adj-RIB-Out).
    pub advertised: usize,
    /// Accepted routes per class (`other` for unclassified).
    pub accepted_by_class: BTreeMap<String, usize>,
    /// Why the session last went down.
    pub last_down_reason: Option<String>,
    /// Times the session left Established.
    pub flaps: u64,
}

impl Daemon {
    /// The neighbor table.
    pub fn neighbors(&self) -> Vec<NeighborRow> {
        let now = SystemTime::now();
        let mut accepted: BTreeMap<u32, (usize, BTreeMap<String, usize>)> = BTreeMap::new();
        for d in self.rib.loc.values() {
            for p in &d.paths {
                let e = accepted.entry(p.peer).or_default();
                e.0 += 1;
                let class = self
                    .rib
                    .classes
                    .name(p.class)
                    .unwrap_or("other")
                    .to_string();
                *e.1.entry(class).or_default() += 1;
            }
        }
        self.directory
            .statuses()
            .into_iter()
            .map(|(id, s)| {
                let rib_peer = self.rib.peers.get(&id);
                let (acc, by_class) = accepted.remove(&id).unwrap_or_default();
                NeighborRow {
                    address: s.address,
                    peer_as: s.peer_as,
                    description: s.description,
                    state: s.state.to_string(),
                    since_seconds: now
                        .duration_since(s.since)
                        .map(|d| d.as_secs())
                        .unwrap_or(0),
                    received: rib_peer.map(|p| p.adj_in.len()).unwrap_or(0),
                    accepted: acc,
                    advertised: rib_peer
                        .map(|p| p.adj_out.values().map(Vec::len).sum())
                        .unwrap_or(0),
                    accepted_by_class: by_class,
                    last_down_reason: s.last_down_reason,
                    flaps: s.flaps,
                }
            })
            .collect()
    }
}

/// Seconds as `hh:mm:ss` (or `NdHHh` past a day), as `show bgp summary` prints Up/Down.
pub fn up_down(seconds: u64) -> String {
    if seconds >= 86_400 {
        format!("{}d{:02}h", seconds / 86_400, (seconds % 86_400) / 3600)
    } else {
        format!(
            "{:02}:{:02}:{:02}",
            seconds / 3600,
            (seconds % 3600) / 60,
            seconds % 60
        )
    }
}

/// The neighbor table as aligned text: Peer, AS, Up/Down, State, #Received, #Accepted,
/// #Advertised and one column per class.
pub fn neighbor_table(rows: &[NeighborRow], classes: &[String]) -> String {
    let mut header = vec![
        "Peer".to_string(),
        "AS".into(),
        "Up/Down".into(),
        "State".into(),
        "#Received".into(),
        "#Accepted".into(),
        "#Advertised".into(),
    ];
    header.extend(classes.iter().cloned());
    header.push("Description".into());
    let mut table = vec![header];
    for r in rows {
        let mut row = vec![
            r.address.to_string(),
            r.peer_as.to_string(),
            up_down(r.since_seconds),
            r.state.clone(),
            r.received.to_string(),
            r.accepted.to_string(),
            r.advertised.to_string(),
        ];
        row.extend(
            classes
                .iter()
                .map(|c| r.accepted_by_class.get(c).copied().unwrap_or(0).to_string()),
        );
        row.push(r.description.clone());
        table.push(row);
    }
    let cols = table.first().map(Vec::len).unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            table
                .iter()
                .filter_map(|r| r.get(i))
                .map(String::len)
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &table {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let w = widths.get(i).copied().unwrap_or(0);
                // Numbers right-aligned, text left-aligned.
                if i >= 4 && i + 1 < cols || i == 1 {
                    format!("{c:>w$}")
                } else {
                    format!("{c:<w$}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
