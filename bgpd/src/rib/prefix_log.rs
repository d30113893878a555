//! The prefix log: one structured `tracing` event per prefix a peer announces or withdraws
//! (target `bgpd::prefix`). Classified prefixes (pod, loadbalancer, ...) log at INFO, others
//! at DEBUG; a per-peer summary line per interval keeps a full table from flooding the log.

use super::classes::{ClassId, ClassTable};
use super::route::RouteAttrs;
use bgp_proto::Family;
use ipnet::IpNet;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

/// What happened to a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PrefixAction {
    /// A new route.
    Announce,
    /// A route replacing the peer's previous route for the same prefix and path id.
    ImplicitWithdraw,
    /// Withdrawn by the peer (or by RFC 7606 treat-as-withdraw, or its session went down).
    Withdraw,
    /// Received but not accepted: import policy, loop, or unusable next hop.
    Rejected,
}

impl PrefixAction {
    /// Every action, in their order (the summary line's).
    pub const ALL: [PrefixAction; 4] = [
        PrefixAction::Announce,
        PrefixAction::ImplicitWithdraw,
        PrefixAction::Withdraw,
        PrefixAction::Rejected,
    ];

    /// The word used in the log and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            PrefixAction::Announce => "announce",
            PrefixAction::ImplicitWithdraw => "implicit-withdraw",
            PrefixAction::Withdraw => "withdraw",
            PrefixAction::Rejected => "rejected",
        }
    }
}

/// One prefix event.
#[derive(Debug, Clone)]
pub struct PrefixEvent<'a> {
    /// Peer address.
    pub peer: IpAddr,
    /// Peer AS.
    pub peer_as: u32,
    /// Family.
    pub family: Family,
    /// Prefix.
    pub prefix: IpNet,
    /// ADD-PATH path identifier (0 without ADD-PATH).
    pub path_id: u32,
    /// Class name.
    pub class: Option<&'a str>,
    /// What happened.
    pub action: PrefixAction,
    /// Why (policy `name/statement`, loop, RFC 7606 reason, session down), if anything.
    pub reason: Option<&'a str>,
    /// The route's attributes, for announcements.
    pub attrs: Option<&'a RouteAttrs>,
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    let mut s = String::new();
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{x}");
    }
    s
}

macro_rules! prefix_event {
    ($level:expr, $e:expr, $nh:expr, $path:expr, $origin:expr, $med:expr, $lp:expr, $comm:expr, $large:expr) => {
        tracing::event!(
            target: "bgpd::prefix",
            $level,
            peer = %$e.peer,
            peer_as = $e.peer_as,
            family = %$e.family,
            prefix = %$e.prefix,
            path_id = $e.path_id,
            class = $e.class.unwrap_or("-"),
            action = $e.action.as_str(),
            reason = $e.reason.unwrap_or(""),
            next_hop = $nh,
            as_path = $path,
            origin = $origin,
            med = $med,
            local_pref = $lp,
            communities = $comm,
            large_communities = $large,
            "{} {} {}",
            $e.action.as_str(),
            $e.prefix,
            $e.class.unwrap_or("")
        )
    };
}

/// Whether an event for a prefix (in a class or not) goes anywhere: to a listener of the live
/// stream, or to the log at its level (INFO for classified prefixes, DEBUG for the others).
/// The RIB asks before it builds the event, which it would do for every route of a full
/// table that then goes nowhere.
#[inline]
pub fn wanted(classified: bool, bus: Option<&crate::events::EventBus>) -> bool {
    bus.is_some_and(crate::events::EventBus::listening) || logged(classified)
}

/// Whether the log takes a prefix event: at INFO for a classified prefix, DEBUG otherwise.
fn logged(classified: bool) -> bool {
    if classified {
        tracing::enabled!(target: "bgpd::prefix", tracing::Level::INFO)
    } else {
        tracing::enabled!(target: "bgpd::prefix", tracing::Level::DEBUG)
    }
}

/// Emits one prefix event: to the log and, when someone listens, to the live stream.
pub fn log(e: &PrefixEvent<'_>, bus: Option<&crate::events::EventBus>) {
    if let Some(bus) = bus.filter(|b| b.listening()) {
        let a = e.attrs;
        let d = a.map(RouteAttrs::decoded);
        bus.send(crate::events::LiveEvent::Prefix(Box::new(
            crate::events::PrefixRecord {
                time: crate::events::now(),
                peer: e.peer,
                peer_as: e.peer_as,
                family: e.family.to_string(),
                prefix: e.prefix.to_string(),
                path_id: e.path_id,
                class: e.class.map(str::to_string),
                action: e.action.as_str().to_string(),
                reason: e.reason.map(str::to_string),
                next_hop: a.map(|a| a.next_hop.to_string()),
                as_path: d.as_deref().map(RouteAttrs::as_path_text),
                origin: a.map(|a| a.origin().to_string()),
                med: a.and_then(|a| a.med()),
                local_pref: a.and_then(|a| a.local_pref()),
                communities: d
                    .as_deref()
                    .map(|d| d.communities().iter().map(|c| c.to_string()).collect())
                    .unwrap_or_default(),
                large_communities: d
                    .as_deref()
                    .map(|d| {
                        d.large_communities()
                            .iter()
                            .map(|c| c.to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
            },
        )));
    }
    let classified = e.class.is_some();
    if !logged(classified) {
        return;
    }
    let (nh, path, origin, med, lp, comm, large) = match e.attrs {
        Some(a) => {
            let d = a.decoded();
            (
                a.next_hop.to_string(),
                RouteAttrs::as_path_text(&d),
                a.origin().to_string(),
                a.med().map(|m| m.to_string()).unwrap_or_default(),
                a.local_pref().map(|m| m.to_string()).unwrap_or_default(),
                join(d.communities()),
                join(d.large_communities()),
            )
        }
        None => Default::default(),
    };
    if classified {
        prefix_event!(
            tracing::Level::INFO,
            e,
            nh,
            path,
            origin,
            med,
            lp,
            comm,
            large
        );
    } else {
        prefix_event!(
            tracing::Level::DEBUG,
            e,
            nh,
            path,
            origin,
            med,
            lp,
            comm,
            large
        );
    }
}

/// Per-peer counts per class and action since the last summary line.
///
/// Counted for every prefix a peer sends, so kept as plain counters: one row per class
/// ([`ClassId`] + 1; row 0 is the unclassified prefixes), one counter per action. The names
/// are looked up only when the line is written ([`PrefixSummary::take`]).
#[derive(Debug, Clone, Default)]
pub struct PrefixSummary {
    counts: Vec<[u64; ACTIONS]>,
}

/// How many [`PrefixAction`]s there are.
const ACTIONS: usize = 4;

impl PrefixSummary {
    /// Counts one event.
    #[inline]
    pub fn count(&mut self, class: Option<ClassId>, action: PrefixAction) {
        let row = class.map_or(0, |c| usize::from(c) + 1);
        if self.counts.len() <= row {
            self.counts.resize(row + 1, [0; ACTIONS]);
        }
        if let Some(n) = self
            .counts
            .get_mut(row)
            .and_then(|r| r.get_mut(action as usize))
        {
            *n += 1;
        }
    }

    /// The summary text (`announce loadbalancer=1 other=1200 pod=3; withdraw pod=1`: by
    /// action, classes in name order, with their names in `classes`) and resets the counts;
    /// `None` when nothing happened.
    pub fn take(&mut self, classes: &ClassTable) -> Option<String> {
        let counts = std::mem::take(&mut self.counts);
        // A class removed by a reload since it was counted is "other" now.
        let mut totals: BTreeMap<(PrefixAction, &str), u64> = BTreeMap::new();
        for (row, per_action) in counts.iter().enumerate() {
            let class = row
                .checked_sub(1)
                .and_then(|c| ClassId::try_from(c).ok())
                .and_then(|c| classes.name(Some(c)))
                .unwrap_or("other");
            for (action, n) in PrefixAction::ALL.iter().zip(per_action) {
                if *n > 0 {
                    *totals.entry((*action, class)).or_default() += n;
                }
            }
        }
        let mut by_action: BTreeMap<PrefixAction, Vec<String>> = BTreeMap::new();
        for ((action, class), n) in totals {
            by_action
                .entry(action)
                .or_default()
                .push(format!("{class}={n}"));
        }
        if by_action.is_empty() {
            return None;
        }
        let parts: Vec<String> = by_action
            .into_iter()
            .map(|(a, v)| format!("{} {}", a.as_str(), v.join(" ")))
            .collect();
        Some(parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClassConfig;

    #[test]
    fn the_summary_counts_by_class_and_action_and_names_them_when_written() {
        let classes = ClassTable::new(&[
            ClassConfig {
                name: "pod".into(),
                prefixes: vec!["10.244.0.0/16 le 26".parse().expect("m")],
                origin_as: vec![],
            },
            ClassConfig {
                name: "loadbalancer".into(),
                prefixes: vec!["203.0.113.0/24 le 32".parse().expect("m")],
                origin_as: vec![],
            },
        ]);
        let mut s = PrefixSummary::default();
        assert_eq!(s.take(&classes), None);
        for _ in 0..1200 {
            s.count(None, PrefixAction::Announce);
        }
        for _ in 0..3 {
            s.count(Some(0), PrefixAction::Announce);
        }
        s.count(Some(1), PrefixAction::Announce);
        s.count(Some(0), PrefixAction::Withdraw);
        s.count(None, PrefixAction::Rejected);
        assert_eq!(
            s.take(&classes).as_deref(),
            Some("announce loadbalancer=1 other=1200 pod=3; withdraw pod=1; rejected other=1")
        );
        assert_eq!(s.take(&classes), None, "taking resets the counts");
        // A class gone since (a reload) counts as "other", added to the unclassified.
        s.count(Some(7), PrefixAction::Announce);
        s.count(None, PrefixAction::Announce);
        assert_eq!(s.take(&classes).as_deref(), Some("announce other=2"));
    }
}
