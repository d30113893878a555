//! The TOML configuration: what the file may say ([`ConfigFile`]), and what bgpd runs after
//! defaults and peer groups are applied ([`Config`], [`Neighbor`]).
//!
//! Every key is documented next to its default here and in README.md ("Configuration
//! reference"). Unknown keys are errors; so are values that do not parse, and references to
//! sets, policies or groups that do not exist. Each error names the file, line and key
//! ([`load`]).

mod graceful_restart;
mod load;
mod prefix_match;

pub use graceful_restart::GracefulRestartConfig;

pub(crate) use load::{line_of, locate};
pub use load::{load, load_str, ConfigError};
pub use prefix_match::PrefixMatch;

use bgp_proto::{Community, Family, LargeCommunity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `[global]`: this speaker.
    pub global: GlobalConfig,
    /// `[[classes]]`: labels for prefixes (pod, loadbalancer, ...).
    #[serde(default)]
    pub classes: Vec<ClassConfig>,
    /// `[[peer_groups]]`: settings shared by neighbors.
    #[serde(default)]
    pub peer_groups: Vec<PeerGroupConfig>,
    /// `[[neighbors]]`: the peers.
    #[serde(default)]
    pub neighbors: Vec<NeighborConfig>,
    /// `[[prefix_sets]]`.
    #[serde(default)]
    pub prefix_sets: Vec<PrefixSetConfig>,
    /// `[[as_path_sets]]`.
    #[serde(default)]
    pub as_path_sets: Vec<AsPathSetConfig>,
    /// `[[community_sets]]`.
    #[serde(default)]
    pub community_sets: Vec<CommunitySetConfig>,
    /// `[[policies]]`.
    #[serde(default)]
    pub policies: Vec<PolicyConfig>,
    /// `[recording]`: MRT recording of sessions and RIB snapshots. Default off.
    pub recording: Option<crate::recording::RecordingConfig>,
    /// `[api]`: the HTTP API and `/metrics`.
    #[serde(default)]
    pub api: ApiConfig,
    /// `[audit]`: the prefix audit inside the daemon. Default off.
    #[serde(default)]
    pub audit: Option<crate::audit::AuditConfig>,
    /// `[graceful_restart]`: bgpd as restarting speaker (RFC 4724 §4.1).
    #[serde(default)]
    pub graceful_restart: GracefulRestartConfig,
}

/// `[api]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Serve the API and metrics. Default true.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Address of the HTTP API and `/metrics`. Default `127.0.0.1:8179` (localhost only).
    #[serde(default = "default_api_listen")]
    pub listen: SocketAddr,
    /// Bearer token required (`Authorization: Bearer TOKEN`) on every request that changes
    /// state (POST). GET stays open. Default: none, nothing required.
    #[serde(default)]
    pub token: Option<ApiToken>,
    /// A file holding the token (trailing newline ignored); read once at load, then `token`.
    #[serde(default, skip_serializing)]
    pub token_file: Option<std::path::PathBuf>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            enabled: true,
            listen: default_api_listen(),
            token: None,
            token_file: None,
        }
    }
}

/// The API bearer token: never printed, never serialised.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct ApiToken(pub String);

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

impl Serialize for ApiToken {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

fn default_true() -> bool {
    true
}
fn default_api_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8179))
}

/// `[global]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// Our AS number (required).
    pub asn: u32,
    /// Our BGP identifier (required).
    pub router_id: Ipv4Addr,
    /// Addresses to accept BGP connections on. Default `["0.0.0.0:179", "[::]:179"]`; an
    /// empty list accepts none (every neighbor must then be active).
    #[serde(default = "default_listen")]
    pub listen: Vec<SocketAddr>,
    /// RFC 4456 cluster id used when reflecting. Default: the router id.
    pub cluster_id: Option<Ipv4Addr>,
    /// Log level when `RUST_LOG` is not set: error, warn, info, debug, trace. Default `info`.
    #[serde(default = "default_log_level")]
    pub log_level: String,
    /// Seconds between per-peer prefix summary lines. Default 1.
    #[serde(default = "default_summary_interval")]
    pub prefix_summary_interval: u64,
}

fn default_listen() -> Vec<SocketAddr> {
    vec![
        SocketAddr::from(([0, 0, 0, 0], 179)),
        SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 179)),
    ]
}
fn default_log_level() -> String {
    "info".to_string()
}
fn default_summary_interval() -> u64 {
    1
}

/// `[[classes]]`: a label for prefixes, e.g. `pod` or `loadbalancer`. A route is in the
/// first class whose prefixes match it and whose `origin_as` (if given) contains the route's
/// origin AS.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClassConfig {
    /// The label (required), shown in logs, metrics and the API as `class=NAME`.
    pub name: String,
    /// Prefix matches (required), e.g. `["10.244.0.0/16 le 26", "fd00:10:244::/56 le 122"]`.
    pub prefixes: Vec<PrefixMatch>,
    /// Origin ASes allowed for this class. Default: any.
    #[serde(default)]
    pub origin_as: Vec<u32>,
}

/// The role a neighbor plays toward us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// A plain BGP peer (RFC 4271 rules).
    #[default]
    Plain,
    /// An iBGP route-reflector client (RFC 4456).
    RouteReflectorClient,
    /// A route-server client (RFC 7947): next hop, AS_PATH, MED, communities unchanged.
    RouteServerClient,
}

/// ADD-PATH (RFC 7911) setting for a neighbor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AddPathSetting {
    /// No ADD-PATH.
    #[default]
    None,
    /// Receive multiple paths.
    Receive,
    /// Send all paths.
    Send,
    /// Both.
    Both,
}

/// A policy's fallback when no statement decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DefaultAction {
    /// Accept the route.
    Accept,
    /// Reject the route.
    Reject,
}

/// Declares a struct holding the per-session settings that a neighbor may set itself or take
/// from its peer group (serde's `flatten` cannot be combined with `deny_unknown_fields`, so
/// the fields are repeated by this macro instead).
macro_rules! with_session_settings {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, Deserialize, Serialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*

            /// Peer AS. Required (here or in the group).
            pub peer_as: Option<u32>,
            /// Role: `plain` (default), `route-reflector-client`, `route-server-client`.
            pub role: Option<Role>,
            /// Never connect out; wait for the peer. Default false.
            pub passive: Option<bool>,
            /// TCP port of the peer. Default 179.
            pub port: Option<u16>,
            /// Source address for outgoing connections. Default: chosen by the kernel.
            pub local_address: Option<IpAddr>,
            /// Proposed hold time in seconds (0 or >= 3). Default 90 (as the vMX).
            pub hold_time: Option<u16>,
            /// Keepalive interval in seconds. Default hold time / 3.
            pub keepalive: Option<u16>,
            /// Seconds between connection attempts. Default 30.
            pub connect_retry: Option<u64>,
            /// Address families: `ipv4-unicast`, `ipv6-unicast`. Default both.
            pub families: Option<Vec<FamilyName>>,
            /// ADD-PATH: `none` (default), `receive`, `send`, `both`.
            pub add_path: Option<AddPathSetting>,
            /// Set NEXT_HOP to our address when advertising to this peer. Default false.
            pub next_hop_self: Option<bool>,
            /// Maximum prefixes accepted per family; more resets with Cease 6/1. Default: no limit.
            pub max_prefixes: Option<u32>,
            /// Import policies, in order. eBGP default: none (RFC 8212: nothing accepted).
            pub import_policy: Option<Vec<String>>,
            /// Export policies, in order. eBGP default: none (RFC 8212: nothing sent).
            pub export_policy: Option<Vec<String>>,
            /// What happens when no import statement decides: `accept` or `reject` (default).
            pub default_import: Option<DefaultAction>,
            /// What happens when no export statement decides: `accept` or `reject` (default).
            pub default_export: Option<DefaultAction>,
            /// Announce graceful restart (RFC 4724) and keep the peer's routes as stale when its
            /// session drops. Default true.
            pub graceful_restart: Option<bool>,
            /// Graceful restart time in seconds announced to the peer. Default 120.
            pub restart_time: Option<u16>,
            /// TCP-MD5 password (RFC 2385). Prefer `password_file` or `password_env`.
            pub password: Option<String>,
            /// Read the TCP-MD5 password from this file (trailing newline removed).
            pub password_file: Option<std::path::PathBuf>,
            /// Read the TCP-MD5 password from this environment variable.
            pub password_env: Option<String>,
            /// RFC 5082 TTL security: accept only packets from at most this many hops away
            /// (1 = directly connected) and send with TTL 255. Default off.
            pub ttl_security: Option<u8>,
            /// Log a warning when a family's received prefixes reach this percentage of
            /// `max_prefixes`. Default 80.
            pub max_prefixes_warning: Option<u8>,
            /// Seconds to wait before reconnecting after a max-prefix reset. Default 60.
            pub max_prefixes_restart: Option<u64>,
            /// RFC 9687 send hold time in seconds. Default max(480, 2 × hold time).
            pub send_hold_time: Option<u64>,
            /// RFC 9494 long-lived graceful restart: announce capability 71 with this
            /// long-lived stale time (seconds, at most 16777215) and keep a peer that
            /// announced it as LLGR-stale for up to this long. Default: off.
            pub long_lived_stale_time: Option<u32>,
        }

        impl $name {
            /// The session settings part.
            pub fn settings(&self) -> SessionSettings {
                SessionSettings {
                    peer_as: self.peer_as, role: self.role, passive: self.passive, port: self.port,
                    local_address: self.local_address, hold_time: self.hold_time,
                    keepalive: self.keepalive, connect_retry: self.connect_retry,
                    families: self.families.clone(), add_path: self.add_path,
                    next_hop_self: self.next_hop_self, max_prefixes: self.max_prefixes,
                    import_policy: self.import_policy.clone(),
                    export_policy: self.export_policy.clone(),
                    default_import: self.default_import, default_export: self.default_export,
                    graceful_restart: self.graceful_restart, restart_time: self.restart_time,
                    password: self.password.clone(), password_file: self.password_file.clone(),
                    password_env: self.password_env.clone(), ttl_security: self.ttl_security,
                    max_prefixes_warning: self.max_prefixes_warning,
                    max_prefixes_restart: self.max_prefixes_restart,
                    send_hold_time: self.send_hold_time,
                    long_lived_stale_time: self.long_lived_stale_time,
                }
            }
        }
    };
}

/// Settings a neighbor takes from its peer group unless it sets them itself. All optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionSettings {
    /// Peer AS. Required (here or in the group).
    pub peer_as: Option<u32>,
    /// Role: `plain` (default), `route-reflector-client`, `route-server-client`.
    pub role: Option<Role>,
    /// Never connect out; wait for the peer. Default false.
    pub passive: Option<bool>,
    /// TCP port of the peer. Default 179.
    pub port: Option<u16>,
    /// Source address for outgoing connections. Default: chosen by the kernel.
    pub local_address: Option<IpAddr>,
    /// Proposed hold time in seconds (0 or >= 3). Default 90 (as the vMX).
    pub hold_time: Option<u16>,
    /// Keepalive interval in seconds. Default hold time / 3.
    pub keepalive: Option<u16>,
    /// Seconds between connection attempts. Default 30.
    pub connect_retry: Option<u64>,
    /// Address families: `ipv4-unicast`, `ipv6-unicast`. Default both.
    pub families: Option<Vec<FamilyName>>,
    /// ADD-PATH: `none` (default), `receive`, `send`, `both`.
    pub add_path: Option<AddPathSetting>,
    /// Set NEXT_HOP to our address when advertising to this peer. Default false.
    pub next_hop_self: Option<bool>,
    /// Maximum prefixes accepted per family; more resets with Cease 6/1. Default: no limit.
    pub max_prefixes: Option<u32>,
    /// Import policies, in order. eBGP default: none (RFC 8212: nothing accepted).
    pub import_policy: Option<Vec<String>>,
    /// Export policies, in order. eBGP default: none (RFC 8212: nothing sent).
    pub export_policy: Option<Vec<String>>,
    /// What happens when no import statement decides: `accept` or `reject` (default).
    pub default_import: Option<DefaultAction>,
    /// What happens when no export statement decides: `accept` or `reject` (default).
    pub default_export: Option<DefaultAction>,
    /// Announce graceful restart (RFC 4724) and keep the peer's routes as stale when its
    /// session drops. Default true.
    pub graceful_restart: Option<bool>,
    /// Graceful restart time in seconds announced to the peer. Default 120.
    pub restart_time: Option<u16>,
    /// TCP-MD5 password (RFC 2385). Prefer `password_file` or `password_env`.
    pub password: Option<String>,
    /// Read the TCP-MD5 password from this file (trailing newline removed).
    pub password_file: Option<std::path::PathBuf>,
    /// Read the TCP-MD5 password from this environment variable.
    pub password_env: Option<String>,
    /// RFC 5082 TTL security: accept only packets from at most this many hops away
    /// (1 = directly connected) and send with TTL 255. Default off.
    pub ttl_security: Option<u8>,
    /// Log a warning when a family's received prefixes reach this percentage of
    /// `max_prefixes`. Default 80.
    pub max_prefixes_warning: Option<u8>,
    /// Seconds to wait before reconnecting after a max-prefix reset. Default 60.
    pub max_prefixes_restart: Option<u64>,
    /// RFC 9687 send hold time in seconds. Default max(480, 2 × hold time).
    pub send_hold_time: Option<u64>,
    /// RFC 9494 long-lived stale time in seconds. Default: off.
    pub long_lived_stale_time: Option<u32>,
}

with_session_settings! {
    /// `[[peer_groups]]`.
    pub struct PeerGroupConfig {
        /// Group name (required), referenced by `neighbors.peer_group`.
        pub name: String,
    }
}

with_session_settings! {
    /// `[[neighbors]]`.
    pub struct NeighborConfig {
        /// The peer's address (required).
        pub address: Option<IpAddr>,
        /// Free text shown by `show neighbors`.
        pub description: Option<String>,
        /// Take unset settings from this group.
        pub peer_group: Option<String>,
    }
}

/// An address family as written in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FamilyName {
    /// IPv4 unicast.
    Ipv4Unicast,
    /// IPv6 unicast.
    Ipv6Unicast,
}

impl FamilyName {
    /// The wire family.
    pub fn family(self) -> Family {
        match self {
            FamilyName::Ipv4Unicast => Family::IPV4_UNICAST,
            FamilyName::Ipv6Unicast => Family::IPV6_UNICAST,
        }
    }
}

/// `[[prefix_sets]]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixSetConfig {
    /// Set name (required).
    pub name: String,
    /// Prefix matches, e.g. `["10.244.0.0/16 le 26"]`.
    pub prefixes: Vec<PrefixMatch>,
}

/// `[[as_path_sets]]`: regular expressions over the AS path written as space-separated
/// numbers; `_` matches a boundary (start, end or space), as on Cisco and GoBGP.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AsPathSetConfig {
    /// Set name (required).
    pub name: String,
    /// Expressions; the set matches when any matches. E.g. `["^64513$", "_64512_"]`.
    pub patterns: Vec<String>,
}

/// `[[community_sets]]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CommunitySetConfig {
    /// Set name (required).
    pub name: String,
    /// Standard communities `aa:nn` or well-known names; matches when the route has any.
    #[serde(default)]
    pub communities: Vec<CommunityText>,
    /// Large communities `a:b:c`; matches when the route has any.
    #[serde(default)]
    pub large_communities: Vec<LargeCommunityText>,
}

/// A standard community in the config (`64513:100`, `no-export`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommunityText(pub Community);

/// A large community in the config (`64513:1:2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LargeCommunityText(pub LargeCommunity);

macro_rules! text_serde {
    ($t:ty, $inner:ty) => {
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse::<$inner>()
                    .map(Self)
                    .map_err(serde::de::Error::custom)
            }
        }
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0)
            }
        }
    };
}
text_serde!(CommunityText, Community);
text_serde!(LargeCommunityText, LargeCommunity);

/// `[[policies]]`: statements evaluated in order; the first `accept` or `reject` decides.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Policy name (required), referenced by `import_policy` / `export_policy`.
    pub name: String,
    /// Statements (`[[policies.statements]]`).
    pub statements: Vec<StatementConfig>,
}

/// One policy statement: conditions (all must hold), changes, then an action.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StatementConfig {
    /// Statement name, for logs. Default: its position.
    #[serde(default)]
    pub name: String,
    /// Conditions. Empty matches every route.
    #[serde(default, rename = "match")]
    pub conditions: MatchConfig,
    /// Attribute changes applied when the conditions hold.
    #[serde(default)]
    pub set: SetConfig,
    /// `accept`, `reject`, or `next` (default: apply `set` and continue).
    #[serde(default)]
    pub action: StatementAction,
}

/// What a matching statement does after its changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum StatementAction {
    /// Accept: stop evaluating.
    Accept,
    /// Reject: stop evaluating.
    Reject,
    /// Go on with the next statement.
    #[default]
    Next,
}

/// Statement conditions.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MatchConfig {
    /// The prefix is in this prefix set.
    pub prefix_set: Option<String>,
    /// The AS path matches this AS-path set.
    pub as_path_set: Option<String>,
    /// The route carries a community of this set.
    pub community_set: Option<String>,
    /// The route is in this class.
    pub class: Option<String>,
    /// The route is of this family.
    pub family: Option<FamilyName>,
    /// The neighbor's address is one of these.
    #[serde(default)]
    pub neighbor: Vec<IpAddr>,
    /// The origin AS is one of these.
    #[serde(default)]
    pub origin_as: Vec<u32>,
}

/// Statement changes.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SetConfig {
    /// Set LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// Set MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// Add communities.
    #[serde(default)]
    pub add_communities: Vec<CommunityText>,
    /// Remove communities.
    #[serde(default)]
    pub remove_communities: Vec<CommunityText>,
    /// Add large communities.
    #[serde(default)]
    pub add_large_communities: Vec<LargeCommunityText>,
    /// Remove large communities.
    #[serde(default)]
    pub remove_large_communities: Vec<LargeCommunityText>,
    /// Prepend our AS this many times (export) or the peer's (import).
    pub prepend: Option<u8>,
    /// Set the next hop: an address, or `self`.
    pub next_hop: Option<NextHopSetting>,
}

/// A next-hop change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextHopSetting {
    /// Our own address on the session.
    SelfAddress,
    /// This address.
    Address(IpAddr),
}

impl<'de> Deserialize<'de> for NextHopSetting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "self" {
            return Ok(NextHopSetting::SelfAddress);
        }
        s.parse().map(NextHopSetting::Address).map_err(|_| {
            serde::de::Error::custom(format!("{s:?} is neither `self` nor an IP address"))
        })
    }
}

impl Serialize for NextHopSetting {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            NextHopSetting::SelfAddress => s.serialize_str("self"),
            NextHopSetting::Address(a) => s.collect_str(a),
        }
    }
}

/// A neighbor with every setting resolved (neighbor, then group, then default).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Neighbor {
    /// Peer address.
    pub address: IpAddr,
    /// Description.
    pub description: String,
    /// Peer group, if any.
    pub peer_group: Option<String>,
    /// Peer AS.
    pub peer_as: u32,
    /// Role.
    pub role: Role,
    /// Passive.
    pub passive: bool,
    /// Peer TCP port.
    pub port: u16,
    /// Source address.
    pub local_address: Option<IpAddr>,
    /// Hold time.
    pub hold_time: u16,
    /// Keepalive.
    pub keepalive: Option<u16>,
    /// Connect retry seconds.
    pub connect_retry: u64,
    /// Families.
    pub families: Vec<FamilyName>,
    /// ADD-PATH.
    pub add_path: AddPathSetting,
    /// Next hop self.
    pub next_hop_self: bool,
    /// Max prefixes per family.
    pub max_prefixes: Option<u32>,
    /// Import policies.
    pub import_policy: Vec<String>,
    /// Export policies.
    pub export_policy: Vec<String>,
    /// Import fallback.
    pub default_import: DefaultAction,
    /// Export fallback.
    pub default_export: DefaultAction,
    /// Graceful restart.
    pub graceful_restart: bool,
    /// Restart time.
    pub restart_time: u16,
    /// TCP-MD5 key.
    pub password: Option<Password>,
    /// RFC 5082 hops.
    pub ttl_security: Option<u8>,
    /// Warning threshold in percent of `max_prefixes`.
    pub max_prefixes_warning: u8,
    /// Seconds before reconnecting after a max-prefix reset.
    pub max_prefixes_restart: u64,
    /// RFC 9687 send hold time override.
    pub send_hold_time: Option<u64>,
    /// RFC 9494 long-lived stale time (seconds); `None`: no LLGR with this neighbor.
    pub long_lived_stale_time: Option<u32>,
    /// Whether the peer is in our AS.
    pub ibgp: bool,
}

/// What bgpd runs: the file with defaults applied and references checked.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it was read from (for messages).
    pub path: String,
    /// Global settings.
    pub global: GlobalConfig,
    /// Cluster id (global.cluster_id or router id).
    pub cluster_id: Ipv4Addr,
    /// Classes in order.
    pub classes: Vec<ClassConfig>,
    /// Neighbors, resolved.
    pub neighbors: Vec<Neighbor>,
    /// Prefix sets by name.
    pub prefix_sets: BTreeMap<String, PrefixSetConfig>,
    /// AS-path sets by name.
    pub as_path_sets: BTreeMap<String, AsPathSetConfig>,
    /// Community sets by name.
    pub community_sets: BTreeMap<String, CommunitySetConfig>,
    /// Policies by name.
    pub policies: BTreeMap<String, PolicyConfig>,
    /// Warnings to log at start (e.g. RFC 8212: an eBGP neighbor without import policy).
    pub warnings: Vec<String>,
    /// MRT recording, if configured.
    pub recording: Option<crate::recording::RecordingConfig>,
    /// The HTTP API.
    pub api: ApiConfig,
    /// The prefix audit (intent path resolved against the config file's directory).
    pub audit: Option<crate::audit::AuditConfig>,
    /// Restarting-speaker settings (state file resolved against the config file's directory).
    pub graceful_restart: GracefulRestartConfig,
}

/// A TCP-MD5 password: never printed, never serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub Vec<u8>);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Serialize for Password {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}
