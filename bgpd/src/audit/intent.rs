//! The intent file (`configs/intent.toml`): what the lab *should* announce. Pod pools
//! (CIDR, block size, origin AS, allowed next hops), LoadBalancer pools (CIDR, prefix length,
//! origin AS, expected service IPs and how many speakers announce each), nodes, the
//! upstream (what the vMX may announce), forbidden ranges, protected ranges, the longest
//! acceptable AS path and required communities.
//!
//! Unknown keys are errors, and every error names the file, the line and the key, exactly
//! like the daemon's configuration ([`crate::config::ConfigError`]).

use crate::config::{CommunityText, ConfigError, LargeCommunityText, PrefixMatch};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

/// The intent as written and checked. Field docs are the documentation of the keys.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    /// Where it was read from (not a key; set by [`load`]).
    #[serde(skip)]
    pub path: String,
    /// The AS of the speaker whose table is audited (bgpd's `global.asn`). With it, a
    /// TABLE_DUMP_V2 file tells iBGP from eBGP peers (`local-pref-over-ebgp`). Optional.
    pub local_as: Option<u32>,
    /// Longest AS path (AS_SET counts one) a cluster route may have toward the vMX
    /// (`as-path-too-long`). Optional: no limit.
    pub max_as_path_length: Option<usize>,
    /// Private AS numbers (RFC 6996) that may appear in cluster paths besides those the
    /// intent names anyway (pool origins, upstream, `local_as`). Default none.
    #[serde(default)]
    pub allowed_private_as: Vec<u32>,
    /// Prefixes the cluster may announce outside the pools (Calico service cluster or
    /// external IP ranges), as prefix matches (`10.96.0.0/12 le 32`). Default none.
    #[serde(default)]
    pub cluster_may_announce: Vec<PrefixMatch>,
    /// `[[nodes]]`: the cluster's BGP speakers.
    #[serde(default)]
    pub nodes: Vec<Node>,
    /// `[[pod_pools]]`: Calico IP pools.
    #[serde(default)]
    pub pod_pools: Vec<PodPool>,
    /// `[[lb_pools]]`: MetalLB address pools.
    #[serde(default)]
    pub lb_pools: Vec<LbPool>,
    /// `[upstream]`: the vMX.
    pub upstream: Option<Upstream>,
    /// `[[forbidden]]`: prefixes nobody (or one side) may announce.
    #[serde(default)]
    pub forbidden: Vec<Forbidden>,
    /// `[[protected]]`: other ranges only given origins may announce (or announce inside).
    #[serde(default)]
    pub protected: Vec<Protected>,
}

/// What a node does over BGP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeRole {
    /// Runs Calico: announces its pod blocks (`node-without-pod-block` when it has none).
    Pod,
    /// Runs a MetalLB speaker: counts toward `speakers = "all"`.
    Loadbalancer,
}

/// `[[nodes]]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Name shown in findings (required, unique).
    pub name: String,
    /// The node's addresses (required): its BGP next hops and session addresses, IPv4 and
    /// IPv6.
    pub addresses: Vec<IpAddr>,
    /// `pod`, `loadbalancer`, both, or none (then the node only names next hops).
    #[serde(default)]
    pub roles: Vec<NodeRole>,
}

/// `[[pod_pools]]`: a Calico IP pool.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PodPool {
    /// Name shown in findings (required, unique among pools).
    pub name: String,
    /// The pool (required), e.g. `10.244.0.0/16`.
    pub cidr: IpNet,
    /// Calico block size (required): 26 for IPv4, 122 for IPv6 by default.
    pub block_size: u8,
    /// AS numbers that may originate blocks (required), e.g. `[64513]`.
    pub origin_as: Vec<u32>,
    /// Allowed next hops. Default: every address of the nodes with role `pod`.
    pub next_hops: Option<Vec<IpAddr>>,
    /// Communities every block must carry. Default none.
    #[serde(default)]
    pub required_communities: Vec<CommunityText>,
    /// Large communities every block must carry. Default none.
    #[serde(default)]
    pub required_large_communities: Vec<LargeCommunityText>,
}

/// `[[lb_pools]]`: a MetalLB address pool.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LbPool {
    /// Name shown in findings (required, unique among pools).
    pub name: String,
    /// The pool (required), e.g. `203.0.113.0/24`.
    pub cidr: IpNet,
    /// Length of the announced prefixes (required): 32 (128) per service, or MetalLB's
    /// `aggregationLength`.
    pub prefix_length: u8,
    /// AS numbers that may originate them (required), e.g. `[64514]`.
    pub origin_as: Vec<u32>,
    /// Allowed next hops. Default: every address of the nodes with role `loadbalancer`.
    pub next_hops: Option<Vec<IpAddr>>,
    /// Communities every route must carry. Default none.
    #[serde(default)]
    pub required_communities: Vec<CommunityText>,
    /// Large communities every route must carry. Default none.
    #[serde(default)]
    pub required_large_communities: Vec<LargeCommunityText>,
    /// `[[lb_pools.services]]`: service IPs that must be announced. When the list is not
    /// empty, other IPs announced from the pool are reported (`lb-unlisted-service`).
    #[serde(default)]
    pub services: Vec<Service>,
}

/// `[[lb_pools.services]]`: one LoadBalancer service IP.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// The service IP (required, inside the pool).
    pub ip: IpAddr,
    /// A name to show, e.g. `default/web`. Default: none.
    pub name: Option<String>,
    /// How many speakers announce it: `all` (externalTrafficPolicy `Cluster`: every node
    /// with role `loadbalancer`), `at-least-one` (`Local`: the nodes with a ready endpoint),
    /// or a number. Default `at-least-one`.
    #[serde(default)]
    pub speakers: Speakers,
}

/// How many speakers should announce a service IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Speakers {
    /// Every node with role `loadbalancer` (externalTrafficPolicy: Cluster).
    All,
    /// At least one (externalTrafficPolicy: Local).
    #[default]
    AtLeastOne,
    /// At least this many.
    Count(u32),
}

impl fmt::Display for Speakers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Speakers::All => f.write_str("all"),
            Speakers::AtLeastOne => f.write_str("at-least-one"),
            Speakers::Count(n) => write!(f, "{n}"),
        }
    }
}

impl<'de> Deserialize<'de> for Speakers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Speakers;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"all\", \"at-least-one\" or a number of speakers")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Speakers, E> {
                match s {
                    "all" => Ok(Speakers::All),
                    "at-least-one" => Ok(Speakers::AtLeastOne),
                    other => Err(E::custom(format!(
                        "{other:?} is not \"all\" (externalTrafficPolicy Cluster), \"at-least-one\" (Local) or a number"
                    ))),
                }
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Speakers, E> {
                match u32::try_from(n) {
                    Ok(n) if n >= 1 => Ok(Speakers::Count(n)),
                    _ => Err(E::custom(format!("{n} speakers: need 1 or more"))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Speakers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Speakers::Count(n) => s.serialize_u32(*n),
            other => s.collect_str(other),
        }
    }
}

/// `[upstream]`: the router above the cluster (the vMX).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    /// Name shown in findings. Default `upstream`.
    #[serde(default = "default_upstream_name")]
    pub name: String,
    /// Its AS (required). Routes from a peer in this AS, or whose AS path starts with it,
    /// come from the upstream side.
    pub asn: u32,
    /// Its session addresses. Routes from these peers come from the upstream side.
    #[serde(default)]
    pub addresses: Vec<IpAddr>,
    /// What it may announce, as prefix matches. Default: anything.
    #[serde(default)]
    pub may_announce: Vec<PrefixMatch>,
}

fn default_upstream_name() -> String {
    "upstream".into()
}

/// Which side a route comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    /// Anyone.
    #[default]
    Any,
    /// The cluster: every peer that is not the upstream.
    Cluster,
    /// The upstream (vMX).
    Upstream,
}

/// `[[forbidden]]`: prefixes that must not be announced.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Forbidden {
    /// Prefix matches (required), e.g. `["0.0.0.0/0", "127.0.0.0/8 le 32"]`.
    pub prefixes: Vec<PrefixMatch>,
    /// From which side: `any` (default), `cluster` or `upstream`.
    #[serde(default)]
    pub from: Side,
    /// Why, shown in findings (required).
    pub reason: String,
}

/// `[[protected]]`: a range only some origins may announce, or announce inside.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Protected {
    /// Name shown in findings (required).
    pub name: String,
    /// The range (required).
    pub prefix: IpNet,
    /// Origins allowed to announce it or anything inside it (may be empty: nobody).
    #[serde(default)]
    pub origin_as: Vec<u32>,
}

impl Intent {
    /// The allowed next hops of pod pool `i` (its `next_hops`, or the pod nodes' addresses).
    pub fn pod_next_hops(&self, pool: &PodPool) -> BTreeSet<IpAddr> {
        pool.next_hops
            .clone()
            .map(|v| v.into_iter().collect())
            .unwrap_or_else(|| self.addresses_with(NodeRole::Pod))
    }

    /// The allowed next hops of a LoadBalancer pool.
    pub fn lb_next_hops(&self, pool: &LbPool) -> BTreeSet<IpAddr> {
        pool.next_hops
            .clone()
            .map(|v| v.into_iter().collect())
            .unwrap_or_else(|| self.addresses_with(NodeRole::Loadbalancer))
    }

    fn addresses_with(&self, role: NodeRole) -> BTreeSet<IpAddr> {
        self.nodes
            .iter()
            .filter(|n| n.roles.contains(&role))
            .flat_map(|n| n.addresses.iter().copied())
            .collect()
    }

    /// Every AS the intent names: pool origins, protected origins, upstream, `local_as`,
    /// `allowed_private_as`.
    pub fn named_as(&self) -> BTreeSet<u32> {
        let mut s: BTreeSet<u32> = self.allowed_private_as.iter().copied().collect();
        s.extend(
            self.pod_pools
                .iter()
                .flat_map(|p| p.origin_as.iter().copied()),
        );
        s.extend(
            self.lb_pools
                .iter()
                .flat_map(|p| p.origin_as.iter().copied()),
        );
        s.extend(
            self.protected
                .iter()
                .flat_map(|p| p.origin_as.iter().copied()),
        );
        s.extend(self.upstream.iter().map(|u| u.asn));
        s.extend(self.local_as);
        s
    }
}

/// Reads and checks an intent file.
pub fn load(path: &std::path::Path) -> Result<Intent, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        line: None,
        key: String::new(),
        message: format!("cannot read the intent file: {e}"),
    })?;
    load_str(&text, &file)
}

/// Reads and checks intent text; `file` names it in errors.
pub fn load_str(text: &str, file: &str) -> Result<Intent, ConfigError> {
    let de = toml::Deserializer::new(text);
    let mut intent: Intent = serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        let line = inner
            .span()
            .map(|s| crate::config::line_of(text, s.start))
            .or_else(|| crate::config::locate(text, &key));
        ConfigError {
            file: file.to_string(),
            line,
            key: if key == "." { String::new() } else { key },
            message: inner.message().to_string(),
        }
    })?;
    intent.path = file.to_string();
    let err = |key: String, message: String| ConfigError {
        file: file.to_string(),
        line: crate::config::locate(text, &key),
        key,
        message,
    };
    validate(&intent, &err)?;
    Ok(intent)
}

fn check_cidr(
    net: &IpNet,
    key: String,
    err: &impl Fn(String, String) -> ConfigError,
) -> Result<(), ConfigError> {
    if net.trunc() != *net {
        return Err(err(
            key,
            format!("{net} has host bits set (did you mean {}?)", net.trunc()),
        ));
    }
    Ok(())
}

fn check_length(
    net: &IpNet,
    len: u8,
    key: String,
    what: &str,
    err: &impl Fn(String, String) -> ConfigError,
) -> Result<(), ConfigError> {
    if len < net.prefix_len() || len > net.max_prefix_len() {
        return Err(err(
            key,
            format!(
                "{what} /{len} does not fit {net} (need {} to {})",
                net.prefix_len(),
                net.max_prefix_len()
            ),
        ));
    }
    Ok(())
}

fn validate(i: &Intent, err: &impl Fn(String, String) -> ConfigError) -> Result<(), ConfigError> {
    let mut names = BTreeSet::new();
    let mut owners: BTreeMap<IpAddr, &str> = BTreeMap::new();
    for (n, node) in i.nodes.iter().enumerate() {
        if node.name.is_empty() {
            return Err(err(
                format!("nodes[{n}].name"),
                "name must not be empty".into(),
            ));
        }
        if !names.insert(node.name.as_str()) {
            return Err(err(
                format!("nodes[{n}].name"),
                format!("duplicate node name {:?}", node.name),
            ));
        }
        if node.addresses.is_empty() {
            return Err(err(
                format!("nodes[{n}].addresses"),
                "a node needs at least one address".into(),
            ));
        }
        for a in &node.addresses {
            if let Some(other) = owners.insert(*a, &node.name) {
                return Err(err(
                    format!("nodes[{n}].addresses"),
                    format!("{a} is already an address of node {other:?}"),
                ));
            }
        }
    }
    let mut pool_names = BTreeSet::new();
    let mut ranges: Vec<(IpNet, String)> = Vec::new();
    for (p, pool) in i.pod_pools.iter().enumerate() {
        let key = |k: &str| format!("pod_pools[{p}].{k}");
        if !pool_names.insert(pool.name.as_str()) || pool.name.is_empty() {
            return Err(err(
                key("name"),
                format!("pool name {:?} is empty or used twice", pool.name),
            ));
        }
        check_cidr(&pool.cidr, key("cidr"), err)?;
        check_length(
            &pool.cidr,
            pool.block_size,
            key("block_size"),
            "block size",
            err,
        )?;
        if pool.origin_as.is_empty() {
            return Err(err(
                key("origin_as"),
                "name at least one origin AS (Calico's asNumber)".into(),
            ));
        }
        ranges.push((pool.cidr, key("cidr")));
    }
    for (p, pool) in i.lb_pools.iter().enumerate() {
        let key = |k: &str| format!("lb_pools[{p}].{k}");
        if !pool_names.insert(pool.name.as_str()) || pool.name.is_empty() {
            return Err(err(
                key("name"),
                format!("pool name {:?} is empty or used twice", pool.name),
            ));
        }
        check_cidr(&pool.cidr, key("cidr"), err)?;
        check_length(
            &pool.cidr,
            pool.prefix_length,
            key("prefix_length"),
            "prefix length",
            err,
        )?;
        if pool.origin_as.is_empty() {
            return Err(err(
                key("origin_as"),
                "name at least one origin AS (MetalLB's myASN)".into(),
            ));
        }
        let mut seen = BTreeSet::new();
        for (s, svc) in pool.services.iter().enumerate() {
            let skey = format!("lb_pools[{p}].services[{s}].ip");
            if !pool.cidr.contains(&svc.ip) {
                return Err(err(
                    skey,
                    format!("service IP {} is outside the pool {}", svc.ip, pool.cidr),
                ));
            }
            if !seen.insert(svc.ip) {
                return Err(err(skey, format!("service IP {} is listed twice", svc.ip)));
            }
        }
        ranges.push((pool.cidr, key("cidr")));
    }
    for (a, (net_a, key_a)) in ranges.iter().enumerate() {
        for (net_b, key_b) in ranges.iter().skip(a + 1) {
            if net_a.contains(net_b) || net_b.contains(net_a) {
                return Err(err(
                    key_b.clone(),
                    format!("{net_b} overlaps {net_a} ({key_a}); pools must not overlap"),
                ));
            }
        }
    }
    if let Some(u) = &i.upstream {
        if u.asn == 0 {
            return Err(err(
                "upstream.asn".into(),
                "AS 0 is not a valid AS (RFC 7607)".into(),
            ));
        }
    }
    for (f, forbidden) in i.forbidden.iter().enumerate() {
        if forbidden.prefixes.is_empty() {
            return Err(err(
                format!("forbidden[{f}].prefixes"),
                "list at least one prefix".into(),
            ));
        }
    }
    for (p, protected) in i.protected.iter().enumerate() {
        check_cidr(&protected.prefix, format!("protected[{p}].prefix"), err)?;
    }
    if i.max_as_path_length == Some(0) {
        return Err(err(
            "max_as_path_length".into(),
            "0 would forbid every route; leave the key out for no limit".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn shipped_intent_loads() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/intent.toml");
        let i = load(&path).unwrap();
        assert_eq!(i.pod_pools.len(), 2);
        assert_eq!(i.lb_pools[0].services.len(), 2);
        assert_eq!(i.lb_pools[0].services[0].speakers, Speakers::All);
        assert_eq!(i.upstream.as_ref().unwrap().asn, 64512);
        assert!(i
            .pod_next_hops(&i.pod_pools[0])
            .contains(&"198.51.100.11".parse().unwrap()));
    }

    const BASE: &str = r#"
[[nodes]]
name = "node-1"
addresses = ["198.51.100.11"]
roles = ["pod"]

[[pod_pools]]
name = "pods"
cidr = "10.244.0.0/16"
block_size = 26
origin_as = [64513]

[[lb_pools]]
name = "lb"
cidr = "203.0.113.0/24"
prefix_length = 32
origin_as = [64514]
[[lb_pools.services]]
ip = "203.0.113.10"
speakers = "all"
"#;

    #[test]
    fn errors_name_file_line_and_key() {
        let e = load_str(&BASE.replace("block_size = 26", "block_size = 8"), "i.toml").unwrap_err();
        assert_eq!(e.key, "pod_pools[0].block_size", "{e}");
        assert_eq!(e.line, Some(10), "{e}");
        assert!(
            e.to_string()
                .starts_with("i.toml:10: key `pod_pools[0].block_size`"),
            "{e}"
        );

        let e = load_str(&BASE.replace("block_size = 26", "blok_size = 26"), "i.toml").unwrap_err();
        assert!(e.message.contains("unknown field `blok_size`"), "{e}");
        assert_eq!(e.line, Some(10), "{e}");

        let e = load_str(
            &BASE.replace("speakers = \"all\"", "speakers = \"most\""),
            "i.toml",
        )
        .unwrap_err();
        assert_eq!(e.key, "lb_pools[0].services[0].speakers", "{e}");
        assert_eq!(e.line, Some(20), "{e}");

        let e = load_str(
            &BASE.replace("ip = \"203.0.113.10\"", "ip = \"203.0.114.10\""),
            "i.toml",
        )
        .unwrap_err();
        assert_eq!(e.key, "lb_pools[0].services[0].ip", "{e}");
        assert!(e.message.contains("outside the pool"), "{e}");

        let e = load_str(&BASE.replace("10.244.0.0/16", "203.0.113.0/25"), "i.toml").unwrap_err();
        assert!(e.message.contains("overlaps"), "{e}");

        let e = load_str(&BASE.replace("10.244.0.0/16", "10.244.0.1/16"), "i.toml").unwrap_err();
        assert!(e.message.contains("host bits"), "{e}");
    }

    #[test]
    fn speakers_accepts_numbers() {
        let i = load_str(
            &BASE.replace("speakers = \"all\"", "speakers = 2"),
            "i.toml",
        )
        .unwrap();
        assert_eq!(i.lb_pools[0].services[0].speakers, Speakers::Count(2));
        assert!(load_str(
            &BASE.replace("speakers = \"all\"", "speakers = 0"),
            "i.toml"
        )
        .is_err());
    }
}
