//! The prefix log: one structured `tracing` event per prefix a peer announces or withdraws
//! (target `bgpd::prefix`). Classified prefixes (pod, loadbalancer, ...) log at INFO, others
//! at DEBUG; a per-peer summary line per interval keeps a full table from flooding the log.

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
    if classified && !tracing::enabled!(target: "bgpd::prefix", tracing::Level::INFO) {
        return;
    }
    if !classified && !tracing::enabled!(target: "bgpd::prefix", tracing::Level::DEBUG) {
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
#[derive(Debug, Clone, Default)]
pub struct PrefixSummary {
    /// (class, action, count), unordered; classes are few.
    counts: Vec<(String, PrefixAction, u64)>,
    /// Index in `counts` of the pair counted last.
    last: usize,
}

impl PrefixSummary {
    /// Counts one event.
    pub fn count(&mut self, class: Option<&str>, action: PrefixAction) {
        let class = class.unwrap_or("other");
        // Called for every prefix: the pair counted last first (consecutive prefixes usually
        // share it), then a scan of the few (class, action) pairs, allocating only the first
        // time a pair is seen.
        let hit = |(c, a, _): &(String, PrefixAction, u64)| c == class && *a == action;
        if let Some(e) = self.counts.get_mut(self.last).filter(|e| hit(e)) {
            e.2 += 1;
            return;
        }
        match self.counts.iter().position(hit) {
            Some(i) => {
                if let Some(e) = self.counts.get_mut(i) {
                    e.2 += 1;
                }
                self.last = i;
            }
            None => {
                self.last = self.counts.len();
                self.counts.push((class.to_string(), action, 1));
            }
        }
    }

    /// The summary text (`announce pod=3 loadbalancer=1 other=1200; withdraw pod=1`) and
    /// resets the counts; `None` when nothing happened.
    pub fn take(&mut self) -> Option<String> {
        if self.counts.is_empty() {
            return None;
        }
        let mut by_action: BTreeMap<PrefixAction, Vec<String>> = BTreeMap::new();
        let mut counts = std::mem::take(&mut self.counts);
        counts.sort_unstable_by(|x, y| (&x.0, x.1).cmp(&(&y.0, y.1)));
        for (class, action, n) in counts {
            by_action
                .entry(action)
                .or_default()
                .push(format!("{class}={n}"));
        }
        let parts: Vec<String> = by_action
            .into_iter()
            .map(|(a, v)| format!("{} {}", a.as_str(), v.join(" ")))
            .collect();
        Some(parts.join("; "))
    }
}
