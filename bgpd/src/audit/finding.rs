//! What an audit finds: a [`Finding`] names its [`Check`] (a stable id), its [`Severity`],
//! what it is about (`subject`: a prefix, a service IP, a node), a one-line explanation and
//! the routes that prove it.

use super::routes::AuditRoute;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// How bad a finding is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing is wrong yet.
    Info,
    /// Hygiene or resilience: traffic flows, but not as planned.
    Warning,
    /// Traffic is (or will be) misrouted, blackholed or hijacked.
    Critical,
}

impl Severity {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

macro_rules! checks {
    ($($variant:ident => $id:literal, $severity:ident, $rule:literal;)*) => {
        /// Every check, by stable id (see README.md, "Prefix audit").
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Check {
            $(#[doc = $rule] $variant,)*
        }

        impl Check {
            /// Every check, in report order.
            pub const ALL: &'static [Check] = &[$(Check::$variant,)*];

            /// The stable id, e.g. `pod-duplicate-block`.
            pub fn id(self) -> &'static str {
                match self { $(Check::$variant => $id,)* }
            }

            /// Its severity.
            pub fn severity(self) -> Severity {
                match self { $(Check::$variant => Severity::$severity,)* }
            }

            /// The rule in one sentence.
            pub fn rule(self) -> &'static str {
                match self { $(Check::$variant => $rule,)* }
            }

            /// The check with this id.
            pub fn from_id(id: &str) -> Option<Check> {
                match id { $($id => Some(Check::$variant),)* _ => None }
            }
        }
    };
}

checks! {
    PodOutsidePool => "pod-outside-pool", Critical,
        "A cluster route originated by a pod AS lies outside every pod and LoadBalancer pool (and outside `cluster_may_announce`).";
    PodWrongLength => "pod-wrong-length", Warning,
        "A route inside a pod pool, from the right origin, is not of the pool's block size.";
    PodWrongOrigin => "pod-wrong-origin", Critical,
        "A pod block (the pool's block size) is originated by an AS the pool does not name.";
    PodDuplicateBlock => "pod-duplicate-block", Critical,
        "The same pod block is announced by two or more nodes (told apart by next hop).";
    PodOverlap => "pod-overlap", Critical,
        "A route inside a pod pool covers a block another node announces.";
    LbOutsidePool => "lb-outside-pool", Critical,
        "A cluster route originated by a LoadBalancer AS lies outside every LoadBalancer pool.";
    LbWrongLength => "lb-wrong-length", Warning,
        "A route inside a LoadBalancer pool, from the right origin, is not of the pool's prefix length.";
    LbWrongOrigin => "lb-wrong-origin", Critical,
        "A LoadBalancer IP (the pool's prefix length) is originated by an AS the pool does not name, e.g. Calico and MetalLB at once.";
    LbMissing => "lb-missing", Critical,
        "An expected service IP is announced by no speaker.";
    LbTooFewSpeakers => "lb-too-few-speakers", Warning,
        "An expected service IP is announced by fewer speakers than its traffic policy needs (`all` or a number).";
    LbUnlistedService => "lb-unlisted-service", Info,
        "An IP of a LoadBalancer pool that lists its services is announced but not listed.";
    ProtectedMoreSpecific => "protected-more-specific", Critical,
        "A protected range (pool or `[[protected]]`), or a more-specific of it, is announced by an unexpected origin.";
    NextHopNotNode => "next-hop-not-node", Critical,
        "A pod or LoadBalancer route's next hop is not one of the pool's allowed next hops (the nodes).";
    AsSet => "as-set", Warning,
        "A cluster route toward the vMX carries an AS_SET (deprecated, RFC 6472).";
    AsPathTooLong => "as-path-too-long", Warning,
        "A cluster route toward the vMX has a longer AS path than `max_as_path_length`.";
    PrivateAsToUpstream => "private-as-to-upstream", Warning,
        "A cluster route toward the vMX carries a private AS (RFC 6996) the intent does not name.";
    ForbiddenPrefix => "forbidden-prefix", Critical,
        "A route matches a `[[forbidden]]` entry for its side (bogons, a default route from the cluster).";
    LocalPrefOverEbgp => "local-pref-over-ebgp", Warning,
        "A route received over eBGP carries LOCAL_PREF (RFC 4271 §5.1.5; Junos logs BGP_ERROR_UNEXPECTED_LOCAL_PREF).";
    NodeWithoutPodBlock => "node-without-pod-block", Warning,
        "A node with role `pod` announces no pod block of a family it has an address in.";
    MissingRequiredCommunity => "missing-required-community", Warning,
        "A pool route lacks a community (or large community) the pool requires.";
    UpstreamUnexpectedPrefix => "upstream-unexpected-prefix", Warning,
        "The upstream announces a prefix outside its `may_announce` list.";
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for Check {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

impl<'de> Deserialize<'de> for Check {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Check::from_id(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown check {s:?}")))
    }
}

/// One route quoted as proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Prefix.
    pub prefix: IpNet,
    /// The peer it came from.
    pub peer: IpAddr,
    /// ADD-PATH path id.
    pub path_id: u32,
    /// Next hop.
    pub next_hop: Option<IpAddr>,
    /// AS path (bgpdump notation).
    pub as_path: String,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// Communities.
    pub communities: Vec<String>,
    /// Large communities.
    pub large_communities: Vec<String>,
}

impl Evidence {
    /// The evidence for a route.
    pub fn of(r: &AuditRoute) -> Evidence {
        Evidence {
            prefix: r.prefix,
            peer: r.peer,
            path_id: r.path_id,
            next_hop: r.next_hop,
            as_path: r.path.as_path.to_string(),
            local_pref: r.path.local_pref,
            communities: r.path.communities.iter().map(|c| c.to_string()).collect(),
            large_communities: r
                .path
                .large_communities
                .iter()
                .map(|c| c.to_string())
                .collect(),
        }
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} from {}", self.prefix, self.peer)?;
        if self.path_id != 0 {
            write!(f, " path-id {}", self.path_id)?;
        }
        match self.next_hop {
            Some(nh) => write!(f, " next-hop {nh}")?,
            None => f.write_str(" next-hop none")?,
        }
        write!(f, " as-path [{}]", self.as_path)?;
        if let Some(lp) = self.local_pref {
            write!(f, " local-pref {lp}")?;
        }
        if !self.communities.is_empty() {
            write!(f, " communities {}", self.communities.join(","))?;
        }
        if !self.large_communities.is_empty() {
            write!(f, " large-communities {}", self.large_communities.join(","))?;
        }
        Ok(())
    }
}

/// At most this many routes are quoted per finding; `routes_total` counts them all.
pub const MAX_EVIDENCE: usize = 16;

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The check's stable id.
    pub check: Check,
    /// Its severity.
    pub severity: Severity,
    /// What it is about: a prefix, a service IP, `node-2 ipv6`. With `check`, the finding's
    /// identity across runs (`--baseline`, `--watch`, the daemon's log).
    pub subject: String,
    /// One line a network engineer can act on.
    pub message: String,
    /// The routes that prove it (at most [`MAX_EVIDENCE`]).
    pub routes: Vec<Evidence>,
    /// How many routes prove it in all.
    pub routes_total: usize,
}

impl Finding {
    /// A finding of `check` about `subject`, proven by `routes`.
    pub fn new<'a>(
        check: Check,
        subject: impl Into<String>,
        message: impl Into<String>,
        routes: impl IntoIterator<Item = &'a AuditRoute>,
    ) -> Finding {
        let mut evidence = Vec::new();
        let mut total = 0;
        for r in routes {
            total += 1;
            if evidence.len() < MAX_EVIDENCE {
                evidence.push(Evidence::of(r));
            }
        }
        Finding {
            check,
            severity: check.severity(),
            subject: subject.into(),
            message: message.into(),
            routes: evidence,
            routes_total: total,
        }
    }

    /// The identity of the finding across runs.
    pub fn key(&self) -> (Check, &str) {
        (self.check, self.subject.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_round_trip() {
        let mut ids: Vec<&str> = Check::ALL.iter().map(|c| c.id()).collect();
        for c in Check::ALL {
            assert_eq!(Check::from_id(c.id()), Some(*c));
            assert!(c.rule().ends_with('.'), "{c}");
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), Check::ALL.len());
        assert!(Severity::Critical > Severity::Warning && Severity::Warning > Severity::Info);
    }
}
