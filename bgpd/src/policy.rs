//! Import and export policy: prefix, AS-path and community sets; statements with conditions,
//! attribute changes and an action. A chain of policies is evaluated in order; the first
//! `accept` or `reject` decides; otherwise the neighbor's default applies (RFC 8212: reject
//! on eBGP unless configured otherwise).

use crate::config::{Config, DefaultAction, FamilyName, NextHopSetting, StatementAction};
use crate::rib::route::{NextHop, RouteAttrs};
use bgp_proto::{AttributeValue, Community, Family, LargeCommunity};
use ipnet::IpNet;
use regex::Regex;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

/// Turns an AS-path pattern into a regular expression over the path written as
/// space-separated numbers; `_` matches start, end or a space (Cisco/GoBGP convention).
pub fn compile_as_path_pattern(pattern: &str) -> Result<Regex, String> {
    let translated = pattern.replace('_', "(^|[ ]|$)");
    Regex::new(&translated).map_err(|e| format!("invalid AS-path pattern {pattern:?}: {e}"))
}

/// What a policy decides about one route.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict<'a> {
    /// Accepted or not.
    pub accept: bool,
    /// Which policy and statement decided (`policy/statement`), or `default`: text made
    /// when the policies were compiled, borrowed, so a verdict costs no allocation and no
    /// reference count.
    pub decided_by: &'a str,
}

/// The facts about a route that policies may look at.
#[derive(Debug, Clone, Copy)]
pub struct RouteFacts<'a> {
    /// The prefix.
    pub prefix: &'a IpNet,
    /// Its family.
    pub family: Family,
    /// The neighbor the route came from (import) or goes to (export).
    pub neighbor: IpAddr,
    /// The route's class, if any.
    pub class: Option<&'a str>,
    /// Our address on the session (for `next_hop = "self"`).
    pub local_address: Option<IpAddr>,
    /// The AS to prepend (ours on export, the peer's on import).
    pub prepend_as: u32,
}

/// Compiled policies, ready to evaluate.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    /// Each policy's statements, compiled, by policy name.
    policies: BTreeMap<String, Vec<Statement>>,
    prefix_sets: BTreeMap<String, Vec<crate::config::PrefixMatch>>,
    as_path_sets: BTreeMap<String, Vec<Regex>>,
    community_sets: BTreeMap<String, (Vec<Community>, Vec<LargeCommunity>)>,
}

/// One statement, with what evaluation asks of it every time worked out once.
#[derive(Debug, Clone)]
struct Statement {
    config: crate::config::StatementConfig,
    /// `policy/statement`, the verdict's label.
    label: Arc<str>,
    /// No condition: it matches every route.
    matches_all: bool,
    /// An empty `set` block.
    sets_nothing: bool,
}

/// The verdict's label when no statement decided.
const DEFAULT_LABEL: &str = "default";

impl PolicySet {
    /// Compiles the policies of a checked config.
    pub fn from_config(config: &Config) -> Self {
        let policies = config
            .policies
            .iter()
            .map(|(name, p)| {
                let statements = p
                    .statements
                    .iter()
                    .enumerate()
                    .map(|(i, st)| Statement {
                        label: statement_label(name, i, &st.name),
                        matches_all: matches_everything(&st.conditions),
                        sets_nothing: sets_nothing(&st.set),
                        config: st.clone(),
                    })
                    .collect();
                (name.clone(), statements)
            })
            .collect();
        PolicySet {
            policies,
            prefix_sets: config
                .prefix_sets
                .iter()
                .map(|(k, v)| (k.clone(), v.prefixes.clone()))
                .collect(),
            as_path_sets: config
                .as_path_sets
                .iter()
                .map(|(k, v)| {
                    let res = v
                        .patterns
                        .iter()
                        .filter_map(|p| compile_as_path_pattern(p).ok());
                    (k.clone(), res.collect())
                })
                .collect(),
            community_sets: config
                .community_sets
                .iter()
                .map(|(k, v)| {
                    let c = v.communities.iter().map(|c| c.0).collect();
                    let l = v.large_communities.iter().map(|c| c.0).collect();
                    (k.clone(), (c, l))
                })
                .collect(),
        }
    }

    /// Whether the outcome of `chain` can depend on the prefix itself (a `prefix_set`
    /// match). When it cannot, routes with the same attributes, family, class and neighbor get
    /// the same verdict, so the RIB computes it once per attribute set (see
    /// `rib::table`'s export memo).
    pub fn depends_on_prefix(&self, chain: &[String]) -> bool {
        self.statements(chain)
            .any(|st| st.conditions.prefix_set.is_some())
    }

    /// Whether the outcome of `chain` can depend on the neighbor's address (a `neighbor`
    /// match): peers that differ only in address then cannot share an export result.
    pub fn depends_on_neighbor(&self, chain: &[String]) -> bool {
        self.statements(chain)
            .any(|st| !st.conditions.neighbor.is_empty())
    }

    fn statements<'a>(
        &'a self,
        chain: &'a [String],
    ) -> impl Iterator<Item = &'a crate::config::StatementConfig> + 'a {
        chain
            .iter()
            .filter_map(|name| self.policies.get(name))
            .flat_map(|p| p.iter().map(|st| &st.config))
    }

    /// Evaluates `chain` (policy names, in order) on a route, changing `attrs` as the
    /// statements say. Changes made by statements are kept only when the route is accepted.
    pub fn evaluate(
        &self,
        chain: &[String],
        default: DefaultAction,
        facts: &RouteFacts<'_>,
        attrs: &mut RouteAttrs,
    ) -> Verdict<'_> {
        let mut cow = Cow::Borrowed(&*attrs);
        let verdict = self.evaluate_cow(chain, default, facts, &mut cow);
        if let Cow::Owned(changed) = cow {
            *attrs = changed;
        }
        verdict
    }

    /// As [`PolicySet::evaluate`], copying the attributes only when a matching statement
    /// changes something: an accept-all import policy costs no copy (and `Cow::Borrowed`
    /// afterwards tells the caller nothing changed).
    pub fn evaluate_cow(
        &self,
        chain: &[String],
        default: DefaultAction,
        facts: &RouteFacts<'_>,
        attrs: &mut Cow<'_, RouteAttrs>,
    ) -> Verdict<'_> {
        // The common chain (one accept-all policy, say): its first statement decides every
        // route without looking at it. Answered before any fact is read.
        if let Some(v) = self.first_decides(chain) {
            return v;
        }
        let mut path_text: Option<String> = None;
        for name in chain {
            let Some(policy) = self.policies.get(name) else {
                continue;
            };
            for st in policy {
                if !st.matches_all
                    && !self.matches(&st.config.conditions, facts, attrs, &mut path_text)
                {
                    continue;
                }
                if !st.sets_nothing {
                    apply(&st.config.set, facts, attrs.to_mut());
                    path_text = None;
                }
                match st.config.action {
                    StatementAction::Accept => {
                        return Verdict {
                            accept: true,
                            decided_by: &st.label,
                        }
                    }
                    StatementAction::Reject => {
                        return Verdict {
                            accept: false,
                            decided_by: &st.label,
                        }
                    }
                    StatementAction::Next => {}
                }
            }
        }
        Verdict {
            accept: default == DefaultAction::Accept,
            decided_by: DEFAULT_LABEL,
        }
    }

    /// The verdict of `chain` when its first statement matches every route, changes
    /// nothing and decides.
    fn first_decides(&self, chain: &[String]) -> Option<Verdict<'_>> {
        let st = self.policies.get(chain.first()?)?.first()?;
        let accept = match st.config.action {
            StatementAction::Accept => true,
            StatementAction::Reject => false,
            StatementAction::Next => return None,
        };
        (st.matches_all && st.sets_nothing).then_some(Verdict {
            accept,
            decided_by: &st.label,
        })
    }

    fn matches(
        &self,
        m: &crate::config::MatchConfig,
        facts: &RouteFacts<'_>,
        attrs: &RouteAttrs,
        path_text: &mut Option<String>,
    ) -> bool {
        if let Some(f) = m.family {
            if f.family() != facts.family {
                return false;
            }
        }
        if !m.neighbor.is_empty() && !m.neighbor.contains(&facts.neighbor) {
            return false;
        }
        if let Some(class) = &m.class {
            if facts.class != Some(class.as_str()) {
                return false;
            }
        }
        if let Some(set) = &m.prefix_set {
            let Some(set) = self.prefix_sets.get(set) else {
                return false;
            };
            if !set.iter().any(|p| p.matches(facts.prefix)) {
                return false;
            }
        }
        // Read from the set's octets: matching must not leave the RIB's shared sets decoded.
        if !m.origin_as.is_empty() {
            match attrs.origin_as() {
                Some(o) if m.origin_as.contains(&o) => {}
                _ => return false,
            }
        }
        if let Some(set) = &m.as_path_set {
            let Some(res) = self.as_path_sets.get(set) else {
                return false;
            };
            let text = path_text.get_or_insert_with(|| attrs.as_path_string());
            if !res.iter().any(|r| r.is_match(text)) {
                return false;
            }
        }
        if let Some(set) = &m.community_set {
            let Some((c, l)) = self.community_sets.get(set) else {
                return false;
            };
            let has_c = attrs.community_values().any(|x| c.contains(&x));
            let has_l = attrs.large_community_values().any(|x| l.contains(&x));
            if !has_c && !has_l {
                return false;
            }
        }
        true
    }
}

/// How a verdict names its statement: `policy/name`, or `policy/#N` (from 1) when unnamed.
fn statement_label(policy: &str, i: usize, name: &str) -> Arc<str> {
    if name.is_empty() {
        format!("{policy}/#{}", i + 1).into()
    } else {
        format!("{policy}/{name}").into()
    }
}

/// Whether a statement's `set` block is empty. Every field is named, so a new kind of change
/// cannot be forgotten here (and skipped by [`PolicySet::evaluate_cow`]).
fn sets_nothing(set: &crate::config::SetConfig) -> bool {
    let crate::config::SetConfig {
        local_pref,
        med,
        add_communities,
        remove_communities,
        add_large_communities,
        remove_large_communities,
        prepend,
        next_hop,
    } = set;
    local_pref.is_none()
        && med.is_none()
        && add_communities.is_empty()
        && remove_communities.is_empty()
        && add_large_communities.is_empty()
        && remove_large_communities.is_empty()
        && prepend.is_none()
        && next_hop.is_none()
}

/// Whether a statement's conditions are all absent, so it matches every route. Every field
/// is named, so a new kind of condition cannot be forgotten here (and skipped by
/// [`PolicySet::evaluate_cow`]).
fn matches_everything(m: &crate::config::MatchConfig) -> bool {
    let crate::config::MatchConfig {
        prefix_set,
        as_path_set,
        community_set,
        class,
        family,
        neighbor,
        origin_as,
    } = m;
    prefix_set.is_none()
        && as_path_set.is_none()
        && community_set.is_none()
        && class.is_none()
        && family.is_none()
        && neighbor.is_empty()
        && origin_as.is_empty()
}

/// Applies a statement's `set` block.
fn apply(set: &crate::config::SetConfig, facts: &RouteFacts<'_>, attrs: &mut RouteAttrs) {
    if let Some(lp) = set.local_pref {
        attrs.set(AttributeValue::LocalPref(lp));
    }
    if let Some(med) = set.med {
        attrs.set(AttributeValue::Med(med));
    }
    if !set.add_communities.is_empty() || !set.remove_communities.is_empty() {
        let mut c: Vec<Community> = attrs.communities().to_vec();
        c.retain(|x| !set.remove_communities.iter().any(|r| r.0 == *x));
        for a in &set.add_communities {
            if !c.contains(&a.0) {
                c.push(a.0);
            }
        }
        if c.is_empty() {
            attrs.edit(|a| a.remove(bgp_proto::attribute_type::COMMUNITIES));
        } else {
            attrs.set(AttributeValue::Communities(c.into()));
        }
    }
    if !set.add_large_communities.is_empty() || !set.remove_large_communities.is_empty() {
        let mut c: Vec<LargeCommunity> = attrs.large_communities().to_vec();
        c.retain(|x| !set.remove_large_communities.iter().any(|r| r.0 == *x));
        for a in &set.add_large_communities {
            if !c.contains(&a.0) {
                c.push(a.0);
            }
        }
        if c.is_empty() {
            attrs.edit(|a| a.remove(bgp_proto::attribute_type::LARGE_COMMUNITY));
        } else {
            attrs.set(AttributeValue::LargeCommunities(c.into()));
        }
    }
    if let Some(n) = set.prepend {
        let mut path = attrs.as_path().clone();
        for _ in 0..n {
            path.prepend(facts.prepend_as);
        }
        attrs.set(AttributeValue::AsPath(path));
    }
    match set.next_hop {
        Some(NextHopSetting::Address(a)) => attrs.next_hop = NextHop::from_addr(a),
        Some(NextHopSetting::SelfAddress) => {
            if let Some(a) = facts.local_address {
                attrs.next_hop = NextHop::from_addr(a);
            }
        }
        None => {}
    }
}

/// The family name used in policy matches for a wire family, if it has one.
pub fn family_name(family: Family) -> Option<FamilyName> {
    match family {
        Family::IPV4_UNICAST => Some(FamilyName::Ipv4Unicast),
        Family::IPV6_UNICAST => Some(FamilyName::Ipv6Unicast),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp_proto::{AsPath, Origin, PathAttribute, PathAttributes};

    const CONF: &str = r#"
[global]
asn = 64512
router_id = "198.51.100.2"

[[prefix_sets]]
name = "pods"
prefixes = ["10.244.0.0/16 le 26"]

[[as_path_sets]]
name = "from-calico"
patterns = ["_64513$"]

[[community_sets]]
name = "blue"
communities = ["64513:100"]
large_communities = ["64513:1:1"]

[[policies]]
name = "import"
[[policies.statements]]
name = "no-long"
match = { prefix_set = "pods", as_path_set = "from-calico" }
set = { local_pref = 200, add_communities = ["64512:7"] }
action = "accept"
[[policies.statements]]
name = "tagged"
match = { community_set = "blue" }
set = { med = 5, prepend = 2 }
action = "accept"

[[policies]]
name = "plain"
[[policies.statements]]
match = { prefix_set = "pods" }
action = "accept"
"#;

    /// A route from the Calico neighbor, nothing else known.
    fn facts(prefix: &IpNet) -> RouteFacts<'_> {
        RouteFacts {
            prefix,
            family: Family::IPV4_UNICAST,
            neighbor: "198.51.100.11".parse().expect("ip"),
            class: None,
            local_address: None,
            prepend_as: 64513,
        }
    }

    fn attrs(path: Vec<u32>, communities: Vec<Community>) -> RouteAttrs {
        let mut a = vec![
            PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
            PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(path))),
        ];
        if !communities.is_empty() {
            a.push(PathAttribute::new(AttributeValue::Communities(
                communities.into(),
            )));
        }
        RouteAttrs::new(
            NextHop::V4("198.51.100.11".parse().expect("ip")),
            PathAttributes(a),
        )
    }

    #[test]
    fn statements_match_set_and_decide() {
        let cfg = crate::config::load_str(CONF, "t.toml").expect("config");
        let set = PolicySet::from_config(&cfg);
        let chain = vec!["import".to_string()];
        let prefix: IpNet = "10.244.1.0/26".parse().expect("prefix");
        let facts = facts(&prefix);
        let mut a = attrs(vec![64513], vec![]);
        let v = set.evaluate(&chain, DefaultAction::Reject, &facts, &mut a);
        assert_eq!(
            v,
            Verdict {
                accept: true,
                decided_by: "import/no-long"
            }
        );
        assert_eq!(a.local_pref(), Some(200));
        assert_eq!(a.communities(), &[Community::new(64512, 7)]);

        let other: IpNet = "192.0.2.0/24".parse().expect("prefix");
        let facts2 = RouteFacts {
            prefix: &other,
            ..facts
        };
        let mut a = attrs(vec![64514], vec![Community::new(64513, 100)]);
        let v = set.evaluate(&chain, DefaultAction::Reject, &facts2, &mut a);
        assert_eq!(v.decided_by, "import/tagged");
        assert_eq!(a.med(), Some(5));
        assert_eq!(a.as_path().to_string(), "64513 64513 64514");

        let mut a = attrs(vec![64514], vec![]);
        let v = set.evaluate(&chain, DefaultAction::Reject, &facts2, &mut a);
        assert_eq!(
            v,
            Verdict {
                accept: false,
                decided_by: "default"
            }
        );
    }

    /// Matching on the AS path, the origin AS and communities reads the set's octets: the
    /// RIB's shared sets are not left decoded by import policy.
    #[test]
    fn matching_does_not_decode_the_set() {
        let cfg = crate::config::load_str(CONF, "t.toml").expect("config");
        let set = PolicySet::from_config(&cfg);
        let chain = vec!["import".to_string()];
        let prefix: IpNet = "10.244.1.0/26".parse().expect("prefix");
        let decoded = attrs(vec![64514], vec![Community::new(64999, 1)]);
        let mut a = RouteAttrs::from_encoded(decoded.next_hop, decoded.encoded().into());
        // The AS-path set (from-calico) and the community set (blue) are both tried.
        let v = set.evaluate(&chain, DefaultAction::Reject, &facts(&prefix), &mut a);
        assert_eq!(v.decided_by, "default");
        assert!(!a.is_decoded());
    }

    #[test]
    fn attributes_are_copied_only_when_a_statement_changes_them() {
        let cfg = crate::config::load_str(CONF, "t.toml").expect("config");
        let set = PolicySet::from_config(&cfg);
        let prefix: IpNet = "10.244.1.0/26".parse().expect("prefix");
        let facts = facts(&prefix);
        let a = attrs(vec![64513], vec![]);
        let mut cow = Cow::Borrowed(&a);
        let v = set.evaluate_cow(
            &["plain".to_string()],
            DefaultAction::Reject,
            &facts,
            &mut cow,
        );
        assert!(v.accept);
        assert!(
            matches!(cow, Cow::Borrowed(_)),
            "an empty set block copies nothing"
        );
        let mut cow = Cow::Borrowed(&a);
        let v = set.evaluate_cow(
            &["import".to_string()],
            DefaultAction::Reject,
            &facts,
            &mut cow,
        );
        assert!(v.accept);
        assert_eq!(cow.local_pref(), Some(200));
        assert!(matches!(cow, Cow::Owned(_)));
        assert_eq!(a.local_pref(), None, "the original is untouched");
    }

    #[test]
    fn as_path_underscore() {
        let r = compile_as_path_pattern("_64512_").expect("compiles");
        assert!(r.is_match("64512"));
        assert!(r.is_match("1 64512 3"));
        assert!(!r.is_match("645120"));
        assert!(compile_as_path_pattern("(").is_err());
    }
}
