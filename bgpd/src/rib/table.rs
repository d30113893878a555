//! The RIB owner: Adj-RIB-In per peer (before import policy), the Loc-RIB (every accepted
//! path per destination, best path marked), and Adj-RIB-Out per peer (what was advertised).
//!
//! Sans-IO: every operation returns an [`Outbox`] of routes to send (and session resets) per
//! peer; the daemon task hands them to the sessions, which pack and write them. One task owns this; no locks.

use super::advertise::Pass;
use super::best_path::{self, Candidate};
use super::classes::{ClassId, ClassTable};
use super::export::LocalIdentity;
use super::intern::AttrSet;
use super::llgr::{carries_llgr_stale, llgr_stale_attrs, LlgrSession, StalePlan};
use super::loc_rib::{LocRib, SlotRef};
pub use super::outbox::{merge, Outbox, PeerOutput};
use super::path_list::PathList;
use super::peer_set::{HighPeers, PeerSet};
use super::prefix_log::{self, PrefixAction, PrefixEvent, PrefixSummary};
use super::received::{Announced, ReceivedUpdate};
use super::route::{NextHop, PeerId, RouteAttrs, SharedAttrs};
use super::FastMap;
use crate::config::{Neighbor, Role};
use crate::policy::{PolicySet, RouteFacts};
use bgp_proto::{cease_subcode, Family, FamilySet, Nlri, Notification, SessionContext, Update};
use bytes::BytesMut;
use ipnet::IpNet;
use smallvec::SmallVec;
use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// What the RIB needs to know about an established session.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// The peer's BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// Our address on the session.
    pub local_address: Option<IpAddr>,
    /// Negotiated families.
    pub families: Vec<Family>,
    /// Families we may send several paths for (RFC 7911).
    pub add_path_send: FamilySet,
    /// How to encode toward the peer.
    pub send_context: SessionContext,
    /// The peer speaks 4-octet AS (for AS4_PATH reconstruction on receive).
    pub four_octet_as: bool,
    /// The peer announced graceful restart (RFC 4724) for at least one family: keep its
    /// routes as stale on a drop, for this long at most.
    pub graceful_restart: Option<std::time::Duration>,
    /// The families the peer listed in its graceful restart capability: only their routes
    /// are kept as stale; the others are withdrawn at once (RFC 4724 §4.2).
    pub graceful_restart_families: FamilySet,
}

/// One path in the Loc-RIB.
#[derive(Debug, Clone)]
pub struct Path {
    /// The peer it came from.
    pub peer: PeerId,
    /// The path identifier the peer used (0 without ADD-PATH).
    pub received_path_id: u32,
    /// Our own identifier for this path, used when sending with ADD-PATH.
    pub local_id: u32,
    /// Attributes after import policy. When they differ from the received ones (import
    /// policy changed them, or long-lived graceful restart marked the path), the peer's
    /// Adj-RIB-In keeps the received ones ([`super::adj_rib_in::AdjRibIn::received`]).
    pub attrs: SharedAttrs,
    /// Class.
    pub class: Option<ClassId>,
    /// When it was received (seconds since the epoch).
    pub since: u32,
    /// Kept across a graceful restart, waiting for a refresh (RFC 4724 §4.2).
    pub stale: bool,
    /// In the long-lived stale phase: carries LLGR_STALE, least preferred, sent only to
    /// peers that negotiated LLGR (RFC 9494 §4.2, §4.3). Implies `stale`.
    pub llgr_stale: bool,
}

/// A path as best-path selection sees it (its peer's facts looked up in `peers`).
pub(super) fn candidate<'a>(
    peers: &'a FastMap<PeerId, PeerEntry>,
    p: &'a Path,
) -> Option<Candidate<'a>> {
    let peer = peers.get(&p.peer)?;
    Some(Candidate {
        attrs: &p.attrs,
        ebgp: !peer.neighbor.ibgp,
        peer_id: peer.last_bgp_id,
        peer_address: peer.neighbor.address,
        llgr_stale: p.llgr_stale || carries_llgr_stale(&p.attrs),
    })
}

/// Every path for one prefix.
#[derive(Debug, Clone, Default)]
pub struct Destination {
    /// The accepted paths (one, inline, in the common case).
    pub paths: PathList,
    /// Index of the best path plus one (4 bytes; see [`Destination::best`]).
    best: Option<std::num::NonZeroU32>,
    /// The peers without ADD-PATH for the family that were sent this destination (its best
    /// path, as exported to them) and not a withdrawal since: their Adj-RIB-Out entry.
    pub advertised: PeerSet,
    /// The local id of the best path as of the last export to every peer (0: none, or its
    /// attributes changed since); while it is the best path's id, a re-selection has nothing
    /// to send to peers without ADD-PATH.
    pub exported_best: u32,
}

impl Destination {
    /// Index of the best path in `paths`.
    pub fn best(&self) -> Option<usize> {
        self.best.map(|b| b.get() as usize - 1)
    }

    /// The best path.
    pub fn best_path(&self) -> Option<&Path> {
        self.best().and_then(|b| self.paths.get(b))
    }

    /// Marks the best path by its index in `paths`.
    pub fn set_best(&mut self, best: Option<usize>) {
        self.best = best
            .and_then(|b| u32::try_from(b + 1).ok())
            .and_then(std::num::NonZeroU32::new);
    }
}

/// What import policy made of one received route.
#[derive(Debug, Clone)]
enum Imported {
    /// Accepted with these attributes (interned; the received set itself when policy changed
    /// nothing).
    Accept(SharedAttrs),
    /// Rejected; the reason names the deciding statement.
    Reject(Arc<str>),
}

/// The sending peer of a run of UPDATEs, as import needs it (see `Rib::apply_received`).
struct Sender {
    id: PeerId,
    session: Arc<SessionInfo>,
    neighbor: Arc<Neighbor>,
    /// Addresses that are never a usable next hop: ours.
    own: SmallVec<[IpAddr; 2]>,
    /// The import policy looks at the prefix itself (no verdict per class).
    per_prefix_policy: bool,
    /// When the routes were received (seconds since the epoch).
    since: u32,
}

/// A peer as the RIB sees it.
#[derive(Debug)]
pub struct PeerEntry {
    /// Configuration.
    pub neighbor: Arc<Neighbor>,
    /// Present while Established.
    pub session: Option<Arc<SessionInfo>>,
    /// Received-route counts and the routes the import policy rejected (accepted ones are
    /// in the Loc-RIB, see [`Rib::adj_rib_in`]).
    pub adj_in: super::adj_rib_in::AdjRibIn,
    /// What was advertised in families with ADD-PATH (RFC 7911): (family, prefix) → [(path
    /// id, attributes)]. Other families: [`Destination::advertised`], see
    /// [`Rib::adj_rib_out`].
    pub adj_out: FastMap<(Family, IpNet), Vec<(u32, SharedAttrs)>>,
    /// Route-server clients (RFC 7947 §2.3.2.1): the destinations, in families without
    /// ADD-PATH, where the client holds another path than the best one, since the best
    /// came from it or its export policy (or the LLGR rules) keep it from the client:
    /// (family, prefix) → (that path's local id, attributes as sent). Everywhere else a
    /// client in [`Destination::advertised`] holds the best path.
    pub alternates: FastMap<(Family, IpNet), (u32, SharedAttrs)>,
    /// Destinations advertised per family through [`Destination::advertised`].
    pub advertised_count: FastMap<Family, usize>,
    /// Counts for the summary log line.
    pub summary: PrefixSummary,
    /// Families for which the max-prefix warning was logged (cleared below the threshold).
    pub max_prefix_warned: FamilySet,
    /// Families that may hold this peer's stale paths (RFC 4724 §4.2): set when a session
    /// end keeps them, cleared when they are flushed. End-of-RIB from a peer with none costs
    /// no walk over the Loc-RIB.
    pub stale_families: FamilySet,
    /// Families the peer is re-advertising (RFC 7313 §4: BoRR received, EoRR not yet): its
    /// paths there were marked stale at the BoRR, and those still stale at the EoRR go.
    pub refreshing: FamilySet,
    /// Families whose End-of-RIB the peer sent on the current session (RFC 4724 §2).
    pub end_of_rib_received: FamilySet,
    /// The BGP identifier of the peer's last session, kept after the session ends: its stale
    /// paths (RFC 4724 §4.2) are still compared by it (RFC 4271 §9.1.2.2 f) and reflected
    /// with it as ORIGINATOR_ID (RFC 4456 §8), never with 0.0.0.0.
    pub last_bgp_id: Ipv4Addr,
    /// Long-lived graceful restart negotiated on the current (or last) session (RFC 9494).
    pub llgr: Option<LlgrSession>,
}

impl PeerEntry {
    /// Routes received per family (Adj-RIB-In).
    pub fn received(&self, family: Family) -> usize {
        self.adj_in.count(family)
    }

    /// Routes advertised per family (Adj-RIB-Out).
    pub fn advertised(&self, family: Family) -> usize {
        self.adj_out
            .iter()
            .filter(|((f, _), _)| *f == family)
            .map(|(_, v)| v.len())
            .sum::<usize>()
            + self.advertised_count.get(&family).copied().unwrap_or(0)
    }

    /// Routes advertised in every family.
    pub fn advertised_total(&self) -> usize {
        self.adj_out.values().map(Vec::len).sum::<usize>()
            + self.advertised_count.values().sum::<usize>()
    }
}

/// The RIBs.
#[derive(Debug)]
pub struct Rib {
    /// Our identity.
    pub identity: LocalIdentity,
    /// Classes.
    pub classes: ClassTable,
    /// Policies.
    pub policies: PolicySet,
    /// Peers by id.
    pub peers: FastMap<PeerId, PeerEntry>,
    /// The Loc-RIB (see [`LocRib`] for its layout).
    pub loc: LocRib,
    /// Peers 63 and up of the destinations' advertised sets (see [`PeerSet`]).
    pub(super) high_peers: HighPeers,
    pub(super) interned: AttrSet,
    next_local_id: u32,
    /// The live event stream, if the daemon has one.
    pub events: Option<crate::events::EventBus>,
    /// Restarting speaker: routes are selected but nothing is advertised until
    /// [`Rib::end_deferral`] (RFC 4724 §4.1).
    pub deferring: bool,
}

/// How a route reaches [`Rib::store_imported`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Receipt {
    /// In an UPDATE: the route is fresh (a stale path sent again is fresh again, RFC 4724
    /// §4.2, RFC 7313 §4).
    Received,
    /// Re-imported from the Adj-RIB-In (a policy change): the peer sent nothing, so a route
    /// it has yet to send again stays so, and its EoRR or End-of-RIB still removes it.
    Reimported(Option<Awaiting>),
}

/// Why a route of a peer's Adj-RIB-In is waiting for the peer to send it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Awaiting {
    /// A stale Loc-RIB path; `llgr`: in the long-lived stale phase.
    Stale { llgr: bool },
    /// A rejected route set aside by an enhanced route refresh.
    SetAside,
}

/// The destinations an export pass covers: each key, with the slot where a change found it
/// when it was known (`None`: the pass looks it up), so the pass does not hash the key again.
/// Slots stay valid until the pass: only the pass removes destinations.
#[derive(Debug, Default)]
pub(super) struct Dirty {
    keys: Vec<(Family, IpNet)>,
    /// Parallel to `keys`, or empty when no slot is known.
    slots: Vec<Option<SlotRef>>,
}

impl Dirty {
    /// Keys whose slots are not known.
    pub(super) fn from_keys(keys: Vec<(Family, IpNet)>) -> Self {
        Dirty {
            keys,
            slots: Vec::new(),
        }
    }

    fn with_capacity(n: usize) -> Self {
        Dirty {
            keys: Vec::with_capacity(n),
            slots: Vec::with_capacity(n),
        }
    }

    fn push(&mut self, key: (Family, IpNet), slot: Option<SlotRef>) {
        self.keys.push(key);
        self.slots.push(slot);
    }

    /// The keys, in the order changes touched them.
    pub(super) fn keys(&self) -> &[(Family, IpNet)] {
        &self.keys
    }

    /// Where the `i`-th key's destination sits, if the change that listed it knew.
    pub(super) fn slot(&self, i: usize) -> Option<SlotRef> {
        self.slots.get(i).copied().flatten()
    }
}

fn now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        .unwrap_or(0)
}

/// RFC 4271 §6.3 (semantic next-hop check): addresses that can never be a next hop.
fn unusable_next_hop(nh: &NextHop, own: &[IpAddr]) -> Option<&'static str> {
    let a = nh.addr();
    if own.contains(&a) {
        return Some("next hop is our own address");
    }
    match a {
        IpAddr::V4(v) if v.octets()[0] == 0 => Some("next hop in 0.0.0.0/8"),
        IpAddr::V4(v) if v.is_loopback() && !own.iter().any(IpAddr::is_loopback) => {
            Some("next hop in 127.0.0.0/8")
        }
        IpAddr::V4(v) if v.is_multicast() || v.is_broadcast() => Some("next hop is multicast"),
        IpAddr::V6(v) if v.is_unspecified() || v.is_multicast() => {
            Some("next hop is :: or multicast")
        }
        _ => None,
    }
}

impl Rib {
    /// An empty RIB.
    pub fn new(identity: LocalIdentity, classes: ClassTable, policies: PolicySet) -> Self {
        Rib {
            identity,
            classes,
            policies,
            peers: FastMap::default(),
            loc: LocRib::new(),
            high_peers: HighPeers::default(),
            interned: AttrSet::new(),
            next_local_id: 1,
            events: None,
            deferring: false,
        }
    }

    /// An empty RIB with the identity, classes and policies of `config` (no peers yet).
    pub fn for_config(config: &crate::config::Config) -> Self {
        Rib::new(
            LocalIdentity {
                asn: config.global.asn,
                router_id: config.global.router_id,
                cluster_id: config.cluster_id,
            },
            ClassTable::new(&config.classes),
            PolicySet::from_config(config),
        )
    }

    /// Adds (or replaces the configuration of) a peer.
    pub fn configure_peer(&mut self, id: PeerId, neighbor: Neighbor) {
        match self.peers.get_mut(&id) {
            Some(p) => p.neighbor = Arc::new(neighbor),
            None => {
                self.peers.insert(
                    id,
                    PeerEntry {
                        neighbor: Arc::new(neighbor),
                        session: None,
                        adj_in: Default::default(),
                        adj_out: FastMap::default(),
                        alternates: FastMap::default(),
                        advertised_count: FastMap::default(),
                        summary: PrefixSummary::default(),
                        max_prefix_warned: FamilySet::EMPTY,
                        stale_families: FamilySet::EMPTY,
                        refreshing: FamilySet::EMPTY,
                        end_of_rib_received: FamilySet::EMPTY,
                        last_bgp_id: Ipv4Addr::UNSPECIFIED,
                        llgr: None,
                    },
                );
            }
        }
    }

    /// Number of distinct attribute sets in use.
    pub fn attribute_sets(&self) -> usize {
        self.interned.len()
    }

    fn intern(&mut self, attrs: RouteAttrs) -> SharedAttrs {
        self.interned.intern(attrs)
    }

    /// Drops attribute sets nothing refers to any more.
    pub fn collect_garbage(&mut self) {
        self.interned.collect_garbage();
    }

    /// A session came up: send it the whole table and End-of-RIB per family (RFC 4724 §2);
    /// while deferring after our own restart, nothing yet (RFC 4724 §4.1).
    pub fn peer_up(&mut self, id: PeerId, session: SessionInfo) -> Outbox {
        self.forget_advertised(id);
        if let Some(p) = self.peers.get_mut(&id) {
            p.last_bgp_id = session.bgp_id;
            p.session = Some(Arc::new(session));
        }
        if self.deferring {
            return Outbox::new();
        }
        self.initial_advertisement(id)
    }

    /// Sets what long-lived graceful restart the peer's new session negotiated (`None`: none).
    pub fn set_llgr(&mut self, id: PeerId, llgr: Option<LlgrSession>) {
        if let Some(p) = self.peers.get_mut(&id) {
            p.llgr = llgr;
        }
    }

    /// Ends the selection deferral of a restarting speaker: every established peer gets the
    /// whole table, then End-of-RIB per family (RFC 4724 §4.1).
    pub fn end_deferral(&mut self) -> Outbox {
        self.deferring = false;
        let slots: Vec<Option<SlotRef>> = self.loc.keys().map(|k| self.loc.locate(&k)).collect();
        let mut outbox = Outbox::new();
        self.reselect(&slots);
        let ids: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.session.is_some())
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let out = self.initial_advertisement(id);
            merge(&mut outbox, out);
        }
        self.mark_all_exported();
        outbox
    }

    /// The whole table and End-of-RIB per family, to one peer.
    fn initial_advertisement(&mut self, id: PeerId) -> Outbox {
        let families = self
            .peers
            .get(&id)
            .and_then(|p| p.session.as_ref())
            .map(|s| s.families.clone())
            .unwrap_or_default();
        let mut outbox = Outbox::new();
        for family in families {
            let keys: Vec<(Family, IpNet)> =
                self.loc.keys().filter(|(f, _)| *f == family).collect();
            self.export_to(&Dirty::from_keys(keys), Some(id), Pass::Full, &mut outbox);
            if let Some((ctx, _)) = self.send_context(id) {
                let mut eor = BytesMut::new();
                let _ = bgp_proto::Message::Update(Update::end_of_rib_marker(family))
                    .encode(&ctx, &mut eor);
                outbox.entry(id).or_default().push_encoded(eor);
            }
        }
        outbox
    }

    /// What happens to the peer's routes if its session ends now ([`StalePlan`]).
    pub fn stale_plan(&self, id: PeerId, graceful: bool) -> StalePlan {
        let Some(p) = self.peers.get(&id) else {
            return StalePlan::default();
        };
        match p.session.as_ref() {
            Some(s) => StalePlan::new(
                graceful,
                s.graceful_restart,
                s.graceful_restart_families,
                p.llgr.as_ref(),
            ),
            None => StalePlan::default(),
        }
    }

    /// A session went down. With graceful restart negotiated (and `graceful` true), the
    /// peer's paths in the families it listed in its capability stay as stale until
    /// [`Rib::flush_stale`] (RFC 4724 §4.2); with long-lived graceful restart, the families
    /// without a GR period become LLGR-stale at once (RFC 9494 §4.2, see [`StalePlan`]);
    /// every other path is withdrawn now.
    pub fn peer_down(&mut self, id: PeerId, graceful: bool) -> Outbox {
        let plan = self.stale_plan(id, graceful);
        self.forget_advertised(id);
        let Some(p) = self.peers.get_mut(&id) else {
            return Outbox::new();
        };
        let kept = plan.kept();
        p.session = None;
        p.refreshing = FamilySet::EMPTY;
        p.adj_in.restore_set_aside();
        p.end_of_rib_received = FamilySet::EMPTY;
        p.stale_families = FamilySet::of(
            &p.stale_families
                .families()
                .chain(kept.families())
                .collect::<Vec<_>>(),
        );
        p.adj_in.retain_families(|f| kept.contains(f));
        self.mark_stale(id, kept);
        let mut outbox = Outbox::new();
        let dirty = self.remove_paths(id, |family, _| !kept.contains(family), "session down");
        self.export_to(&Dirty::from_keys(dirty), None, Pass::Changes, &mut outbox);
        let now = plan.llgr_now_set();
        if now != FamilySet::EMPTY {
            let out = self.enter_llgr(id, now);
            merge(&mut outbox, out);
        }
        outbox
    }

    /// The peer's stale paths in `families` enter the long-lived stale phase (RFC 9494 §4.2):
    /// LLGR_STALE is attached, they become least preferred, and those carrying NO_LLGR are
    /// removed. Peers that did not negotiate LLGR stop getting them (§4.3, see `export`).
    pub fn enter_llgr(&mut self, id: PeerId, families: FamilySet) -> Outbox {
        let mut outbox = Outbox::new();
        let mut dirty = self.remove_paths(
            id,
            |f, p| families.contains(f) && p.stale && llgr_stale_attrs(&p.attrs).is_none(),
            "long-lived graceful restart: route carries NO_LLGR (RFC 9494 §4.2)",
        );
        let mut marked = Vec::new();
        for (key, d) in &self.loc {
            if !families.contains(key.0) {
                continue;
            }
            for (i, p) in d.paths.iter().enumerate() {
                if p.peer == id && p.stale && !p.llgr_stale {
                    if let Some(a) = llgr_stale_attrs(&p.attrs) {
                        marked.push((key, i, a));
                    }
                }
            }
        }
        for (key, i, a) in marked {
            let a = self.intern(a);
            let Some(d) = self.loc.get_mut(&key) else {
                continue;
            };
            // Its attributes change: the next export pass must not skip it.
            d.exported_best = 0;
            if let Some(p) = d.paths.get_mut(i) {
                let received = std::mem::replace(&mut p.attrs, a);
                p.llgr_stale = true;
                dirty.push(key);
                // The Adj-RIB-In keeps the attributes as received.
                let route = (key.0, key.1, p.received_path_id);
                if let Some(peer) = self.peers.get_mut(&id) {
                    if !peer.adj_in.has_received(&route) {
                        peer.adj_in.set_received(route, Some(received));
                    }
                }
            }
        }
        dirty.sort_unstable();
        dirty.dedup();
        self.export_to(&Dirty::from_keys(dirty), None, Pass::Changes, &mut outbox);
        outbox
    }

    /// Notes the peer's End-of-RIB for `family` on this session (RFC 4724 §2).
    pub fn end_of_rib_received(&mut self, id: PeerId, family: Family) {
        if let Some(p) = self.peers.get_mut(&id) {
            p.end_of_rib_received.insert(family);
        }
    }

    /// Whether a BoRR for `family` from the peer must be ignored: it sent the graceful
    /// restart capability and not yet its End-of-RIB for the family (RFC 7313 §4).
    pub fn borr_too_early(&self, id: PeerId, family: Family) -> bool {
        self.peers.get(&id).is_some_and(|p| {
            p.session
                .as_ref()
                .is_some_and(|s| s.graceful_restart.is_some())
                && !p.end_of_rib_received.contains(family)
        })
    }

    /// The peer begins re-advertising `family` (BoRR received, RFC 7313 §4): its paths
    /// there become stale until re-advertised, and [`Rib::end_refresh`] removes the rest.
    /// Stale paths are selected and exported as before (as in RFC 4724 §4.2), so nothing
    /// changes for other peers unless a route is not re-advertised. Its routes the import
    /// policy rejected are set aside in the Adj-RIB-In the same way. Returns how many routes
    /// were marked or set aside.
    pub fn begin_refresh(&mut self, id: PeerId, family: Family) -> usize {
        let Some(p) = self.peers.get_mut(&id) else {
            return 0;
        };
        p.refreshing.insert(family);
        let set_aside = p.adj_in.set_aside_rejected(family);
        set_aside + self.mark_stale(id, FamilySet::of(&[family]))
    }

    /// Marks the peer's paths in `families` stale (graceful restart, RFC 4724 §4.2; enhanced
    /// route refresh, RFC 7313 §4); returns how many.
    fn mark_stale(&mut self, id: PeerId, families: FamilySet) -> usize {
        let mut marked = 0;
        for ((family, _), d) in self.loc.iter_mut() {
            if families.contains(family) {
                for path in d.paths.iter_mut().filter(|x| x.peer == id) {
                    path.stale = true;
                    marked += 1;
                }
            }
        }
        marked
    }

    /// Removes the peer's paths that `which` picks, with `reason` in the prefix log, and
    /// exports the change; returns how many destinations changed and what to send.
    fn withdraw_paths(
        &mut self,
        id: PeerId,
        which: impl Fn(Family, &Path) -> bool,
        reason: &str,
    ) -> (usize, Outbox) {
        let mut outbox = Outbox::new();
        let dirty = self.remove_paths(id, which, reason);
        let n = dirty.len();
        self.export_to(&Dirty::from_keys(dirty), None, Pass::Changes, &mut outbox);
        (n, outbox)
    }

    /// The peer finished re-advertising `family` (EoRR received, RFC 7313 §4): its paths
    /// there that are still stale were not re-advertised and are removed, as withdrawn, and
    /// so are its rejected routes still set aside. Returns how many routes went and what to
    /// send; `None` for an EoRR without a BoRR before it, which is ignored.
    pub fn end_refresh(&mut self, id: PeerId, family: Family) -> Option<(usize, Outbox)> {
        let p = self.peers.get_mut(&id)?;
        if !p.refreshing.contains(family) {
            return None;
        }
        p.refreshing.remove(family);
        let rejected = p.adj_in.drop_set_aside(family);
        let (removed, outbox) = self.withdraw_paths(
            id,
            |f, p| f == family && p.stale,
            "enhanced route refresh: not sent again before the EoRR or the stale time (RFC 7313 §4)",
        );
        Some((removed + rejected, outbox))
    }

    /// Removes the peer's stale paths (GR and LLGR) in `families`.
    pub fn flush_stale_families(&mut self, id: PeerId, families: FamilySet) -> Outbox {
        self.withdraw_paths(
            id,
            |f, p| p.stale && families.contains(f),
            "graceful restart: stale route flushed",
        )
        .1
    }

    /// Removes the peer's stale paths (End-of-RIB received for `family`, or the restart
    /// timer fired: every family).
    pub fn flush_stale(&mut self, id: PeerId, family: Option<Family>) -> Outbox {
        let Some(p) = self.peers.get_mut(&id) else {
            return Outbox::new();
        };
        let stale = p.stale_families;
        let left: Vec<Family> = match family {
            Some(f) if stale.contains(f) => stale.families().filter(|x| *x != f).collect(),
            None if stale != FamilySet::EMPTY => Vec::new(),
            // Nothing of this peer can be stale there.
            _ => return Outbox::new(),
        };
        p.stale_families = FamilySet::of(&left);
        self.withdraw_paths(
            id,
            |f, p| p.stale && family.is_none_or(|x| x == f),
            "graceful restart: stale route flushed",
        )
        .1
    }

    /// The peer no longer exists in the configuration.
    pub fn remove_peer(&mut self, id: PeerId) -> Outbox {
        let out = self.peer_down(id, false);
        self.peers.remove(&id);
        out
    }

    fn remove_paths(
        &mut self,
        id: PeerId,
        which: impl Fn(Family, &Path) -> bool,
        reason: &str,
    ) -> Vec<(Family, IpNet)> {
        let mut dirty = Vec::new();
        let (addr, asn) = match self.peers.get(&id) {
            Some(p) => (p.neighbor.address, p.neighbor.peer_as),
            None => return dirty,
        };
        // The Adj-RIB-In entries behind removed paths go too (they are the paths): a flushed
        // stale route must not count towards max-prefix or come back at the next reload
        // (RFC 4724 §4.2: deleted). The received counts are recomputed on the way.
        let mut counts: FastMap<Family, usize> = FastMap::default();
        let mut adj_in = self.peers.get_mut(&id).map(|p| &mut p.adj_in);
        for (key, d) in self.loc.iter_mut() {
            let before = d.paths.len();
            let classes = &self.classes;
            let bus = self.events.as_ref();
            d.paths.retain(|p| {
                if p.peer != id {
                    return true;
                }
                let gone = which(key.0, p);
                if !gone {
                    *counts.entry(key.0).or_default() += 1;
                } else {
                    if let Some(adj_in) = adj_in.as_mut() {
                        adj_in.set_received((key.0, key.1, p.received_path_id), None);
                    }
                    prefix_log::log(
                        &PrefixEvent {
                            peer: addr,
                            peer_as: asn,
                            family: key.0,
                            prefix: key.1,
                            path_id: p.received_path_id,
                            class: classes.name(p.class),
                            action: PrefixAction::Withdraw,
                            reason: Some(reason),
                            attrs: None,
                        },
                        bus,
                    );
                }
                !gone
            });
            if d.paths.len() != before {
                dirty.push(key);
            }
        }
        if let Some(p) = self.peers.get_mut(&id) {
            for (k, _) in p.adj_in.rejected().chain(p.adj_in.set_aside()) {
                *counts.entry(k.0).or_default() += 1;
            }
            p.adj_in.set_counts(counts);
        }
        dirty
    }

    fn send_context(&self, id: PeerId) -> Option<(SessionContext, FamilySet)> {
        let s = self.peers.get(&id)?.session.as_ref()?;
        Some((s.send_context, s.add_path_send))
    }

    /// Processes one UPDATE from an established peer.
    pub fn apply_update(&mut self, id: PeerId, update: &Update) -> Outbox {
        self.apply_updates(vec![(id, update.clone())])
    }

    /// Processes UPDATEs (from one or several established peers, in order): each goes through
    /// import (RFC 4271 §9.1.1, §9.1.2), then one Update-Send pass (§9.2) covers every
    /// destination they changed. The result equals applying them one by one, except that a
    /// destination changed twice is sent once, as it ends.
    ///
    /// The UPDATEs are consumed: their attributes move into the RIB's sets instead of being
    /// copied. The daemon prepares them in the session tasks instead
    /// ([`Rib::apply_received`]); this is the same for callers that hold decoded UPDATEs.
    pub fn apply_updates(&mut self, updates: Vec<(PeerId, Update)>) -> Outbox {
        let received = updates
            .into_iter()
            .map(|(id, u)| {
                let four_octet = self
                    .peers
                    .get(&id)
                    .and_then(|p| p.session.as_ref())
                    .is_none_or(|s| s.four_octet_as);
                (id, ReceivedUpdate::new(u, four_octet))
            })
            .collect();
        self.apply_received(received)
    }

    /// [`Rib::apply_updates`] for UPDATEs their session tasks prepared
    /// ([`ReceivedUpdate::new`]).
    pub fn apply_received(&mut self, updates: Vec<(PeerId, ReceivedUpdate)>) -> Outbox {
        let mut outbox = Outbox::new();
        // Sized for the routes (nearly every route of a full table) so the lists do not grow
        // by doubling through each batch.
        let routes = updates.iter().map(|(_, u)| u.prefixes()).sum();
        let mut dirty = Dirty::with_capacity(routes);
        // What import needs of the sending peer, looked up once per run of its UPDATEs.
        let mut sender: Option<Sender> = None;
        for (id, update) in updates {
            if sender.as_ref().is_none_or(|s| s.id != id) {
                sender = self.sender(id);
            }
            if let Some(from) = &sender {
                self.import_update(from, update, &mut dirty, &mut outbox);
            }
        }
        // `export_to` visits a destination changed twice once, and finds the destinations
        // import placed where import left them.
        self.export_to(&dirty, None, Pass::Changes, &mut outbox);
        outbox
    }

    /// The established peer `id` as import sees it.
    fn sender(&self, id: PeerId) -> Option<Sender> {
        let peer = self.peers.get(&id)?;
        let session = peer.session.clone()?;
        let own = session
            .local_address
            .into_iter()
            .chain([IpAddr::V4(self.identity.router_id)])
            .collect();
        Some(Sender {
            id,
            per_prefix_policy: self
                .policies
                .depends_on_prefix(&peer.neighbor.import_policy),
            neighbor: peer.neighbor.clone(),
            session,
            own,
            since: now(),
        })
    }

    /// Import of one UPDATE (withdrawals, then announcements, then the max-prefix check):
    /// the changed destinations go to `dirty`, a max-prefix reset to `outbox`.
    fn import_update(
        &mut self,
        from: &Sender,
        update: ReceivedUpdate,
        dirty: &mut Dirty,
        outbox: &mut Outbox,
    ) {
        let Sender {
            id,
            ref session,
            ref neighbor,
            ref own,
            per_prefix_policy,
            since,
        } = *from;
        let reason = update.withdraw_reason.as_deref().unwrap_or_default();
        for (family, n) in &update.withdrawn {
            self.forget_received(id, *family, n, reason, dirty);
        }

        if !update.announced.is_empty() {
            for Announced {
                family,
                attrs,
                nlri,
            } in update.announced
            {
                let rejection: Option<String> = match &attrs {
                    None => Some("no usable next hop for the family".into()),
                    Some((_, a)) => self.loop_or_next_hop_problem(neighbor, a, own),
                };
                let raw = match (attrs, rejection) {
                    (Some((hash, a)), None) => self.interned.intern_hashed(hash, a),
                    (_, Some(reason)) => {
                        for n in nlri {
                            self.log_rejected(id, neighbor, family, &n, None, &reason);
                            self.forget_received(id, family, &n, &reason, dirty);
                        }
                        continue;
                    }
                    (None, None) => continue,
                };
                let origin_as = raw.origin_as();
                // Import policy runs once per class for the whole UPDATE unless a statement
                // matches on the prefix: every other fact it looks at is the same for all of
                // the UPDATE's NLRI.
                let mut memo: SmallVec<[(Option<ClassId>, Imported); 2]> = SmallVec::new();
                for n in nlri {
                    let class = self.classes.classify(&n.prefix, origin_as);
                    // Borrowed, not cloned: an atomic reference-count change per prefix waits
                    // for the RIB's stores to cold memory to drain (see `store_imported`).
                    let mut fresh = None;
                    let at = match memo.iter().position(|(c, _)| *c == class) {
                        Some(i) => Some(i),
                        None => {
                            let done = self
                                .import_policy(neighbor, session, family, &n.prefix, class, &raw);
                            if per_prefix_policy {
                                fresh = Some(done);
                                None
                            } else {
                                memo.push((class, done));
                                Some(memo.len() - 1)
                            }
                        }
                    };
                    let Some(imported) = at
                        .and_then(|i| memo.get(i))
                        .map(|(_, done)| done)
                        .or(fresh.as_ref())
                    else {
                        continue;
                    };
                    self.store_imported(
                        id,
                        neighbor,
                        family,
                        n,
                        &raw,
                        class,
                        imported,
                        since,
                        Receipt::Received,
                        dirty,
                    );
                }
            }
        }
        if let Some(max) = neighbor.max_prefixes {
            if let Some(p) = self.peers.get_mut(&id) {
                let warn_at =
                    (u64::from(max) * u64::from(neighbor.max_prefixes_warning) / 100) as usize;
                for family in &session.families {
                    let n = p.received(*family);
                    if n >= warn_at && !p.max_prefix_warned.contains(*family) {
                        p.max_prefix_warned.insert(*family);
                        tracing::warn!(peer = %neighbor.address, %family, received = n, limit = max, "prefix count reached {}% of max_prefixes", neighbor.max_prefixes_warning);
                    }
                }
                for family in &session.families {
                    if p.received(*family) > max as usize {
                        let mut data = Vec::with_capacity(7);
                        data.extend_from_slice(&family.afi.to_be_bytes());
                        data.push(family.safi);
                        data.extend_from_slice(&max.to_be_bytes());
                        outbox.entry(id).or_default().reset = Some(Notification {
                            code: bgp_proto::notification_code::CEASE,
                            subcode: cease_subcode::MAXIMUM_PREFIXES_REACHED,
                            data: data.into(),
                        });
                        tracing::warn!(peer = %neighbor.address, %family, limit = max, "maximum prefixes exceeded: resetting with Cease 6/1 (RFC 4486)");
                    }
                }
            }
        }
    }

    fn loop_or_next_hop_problem(
        &self,
        neighbor: &Neighbor,
        a: &RouteAttrs,
        own: &[IpAddr],
    ) -> Option<String> {
        if neighbor.ibgp {
            // RFC 4456 §8: our own ORIGINATOR_ID or CLUSTER_ID means a reflection loop.
            if a.originator_id() == Some(self.identity.router_id) {
                return Some("ORIGINATOR_ID is our router id (RFC 4456 loop)".into());
            }
            if a.cluster_list_contains(self.identity.cluster_id) {
                return Some("CLUSTER_LIST contains our cluster id (RFC 4456 loop)".into());
            }
        } else if a.contains_as(self.identity.asn) {
            return Some(format!(
                "AS_PATH contains our AS {} (RFC 4271 §9.1.2 loop)",
                self.identity.asn
            ));
        }
        unusable_next_hop(&a.next_hop, own).map(|r| format!("{r} (RFC 4271 §6.3: route ignored)"))
    }

    fn log_rejected(
        &mut self,
        id: PeerId,
        neighbor: &Neighbor,
        family: Family,
        n: &Nlri,
        attrs: Option<&RouteAttrs>,
        reason: &str,
    ) {
        let origin = attrs.and_then(RouteAttrs::origin_as);
        let class = self.classes.classify(&n.prefix, origin);
        prefix_log::log(
            &PrefixEvent {
                peer: neighbor.address,
                peer_as: neighbor.peer_as,
                family,
                prefix: n.prefix,
                path_id: n.path_id.unwrap_or(0),
                class: self.classes.name(class),
                action: PrefixAction::Rejected,
                reason: Some(reason),
                attrs,
            },
            self.events.as_ref(),
        );
        if let Some(p) = self.peers.get_mut(&id) {
            p.summary.count(class, PrefixAction::Rejected);
        }
    }

    /// Re-imports one route of the Adj-RIB-In (see [`Rib::reimport`]). A long-lived stale
    /// path keeps LLGR_STALE on its new attributes, and goes if they now carry NO_LLGR (RFC
    /// 9494 §4.2, as [`Rib::enter_llgr`] does).
    #[allow(clippy::too_many_arguments)]
    fn reimport_one(
        &mut self,
        id: PeerId,
        neighbor: &Neighbor,
        session: &SessionInfo,
        family: Family,
        n: Nlri,
        raw: SharedAttrs,
        class: Option<ClassId>,
        dirty: &mut Dirty,
    ) {
        let awaiting = self.awaiting(id, (family, n.prefix, n.path_id.unwrap_or(0)));
        let mut imported = self.import_policy(neighbor, session, family, &n.prefix, class, &raw);
        if let (Some(Awaiting::Stale { llgr: true }), Imported::Accept(a)) = (awaiting, &imported) {
            match llgr_stale_attrs(a) {
                Some(stale) => imported = Imported::Accept(self.intern(stale)),
                None => {
                    let reason =
                        "long-lived graceful restart: route carries NO_LLGR (RFC 9494 §4.2)";
                    self.forget_received(id, family, &n, reason, dirty);
                    return;
                }
            }
        }
        self.store_imported(
            id,
            neighbor,
            family,
            n,
            &raw,
            class,
            &imported,
            now(),
            Receipt::Reimported(awaiting),
            dirty,
        );
    }

    /// Runs import policy on one received route (RFC 4271 §9.1.1: the degree of preference
    /// and any attribute changes come from local policy).
    fn import_policy(
        &mut self,
        neighbor: &Neighbor,
        session: &SessionInfo,
        family: Family,
        prefix: &IpNet,
        class: Option<ClassId>,
        raw: &SharedAttrs,
    ) -> Imported {
        if neighbor.import_policy.is_empty() {
            // No statement can match or change anything: the default decides.
            return match neighbor.default_import {
                crate::config::DefaultAction::Accept => Imported::Accept(raw.clone()),
                crate::config::DefaultAction::Reject => {
                    Imported::Reject("import policy default".into())
                }
            };
        }
        let mut attrs = Cow::Borrowed(&**raw);
        let verdict = self.policies.evaluate_cow(
            &neighbor.import_policy,
            neighbor.default_import,
            &RouteFacts {
                prefix,
                family,
                neighbor: neighbor.address,
                class: self.classes.name(class),
                local_address: session.local_address,
                prepend_as: neighbor.peer_as,
            },
            &mut attrs,
        );
        if !verdict.accept {
            return Imported::Reject(format!("import policy {}", verdict.decided_by).into());
        }
        match attrs {
            Cow::Owned(changed) if changed != **raw => Imported::Accept(self.intern(changed)),
            _ => Imported::Accept(raw.clone()),
        }
    }

    /// Stores a received route as import policy left it: into the Loc-RIB when accepted
    /// (with the received attributes kept beside when policy changed them), into the peer's
    /// table of rejected routes otherwise.
    #[allow(clippy::too_many_arguments)]
    fn store_imported(
        &mut self,
        id: PeerId,
        neighbor: &Neighbor,
        family: Family,
        n: Nlri,
        raw: &SharedAttrs,
        class: Option<ClassId>,
        imported: &Imported,
        since: u32,
        receipt: Receipt,
        dirty: &mut Dirty,
    ) {
        // The shared sets are cloned only where a reference is kept. A clone or drop of an
        // `Arc` is a locked instruction, and a locked instruction waits until every earlier
        // store has reached the cache: here, the stores of a table load to memory not yet
        // cached. `perf` put most of this thread's time on such instructions when each
        // prefix cloned and dropped its sets five times.
        let path_id = n.path_id.unwrap_or(0);
        let attrs = match imported {
            Imported::Accept(attrs) => attrs,
            Imported::Reject(reason) => {
                self.log_rejected(id, neighbor, family, &n, Some(raw), reason);
                let had_path = self.remove_path(id, family, n.prefix, path_id, reason, dirty);
                if let Some(p) = self.peers.get_mut(&id) {
                    // Kept in the Adj-RIB-In: a policy change may accept it later. One the
                    // peer has yet to send again in a refresh stays set aside for its EoRR.
                    let aside = matches!(receipt, Receipt::Reimported(Some(_)))
                        && p.refreshing.contains(family);
                    let key = (family, n.prefix, path_id);
                    let had_rejected = p.adj_in.reject(key, raw.clone(), aside);
                    if !had_path && !had_rejected {
                        p.adj_in.count_in(family);
                    }
                }
                return;
            }
        };
        let received = (!Arc::ptr_eq(attrs, raw)).then(|| raw.clone());
        // The sending peer's entry, looked up once for the route (three hash probes per
        // route were a twentieth of the RIB task's instructions loading a table).
        let Rib {
            peers,
            loc,
            next_local_id,
            classes,
            events,
            ..
        } = self;
        let mut peer = peers.get_mut(&id);
        let was_rejected = peer
            .as_mut()
            .is_some_and(|p| p.adj_in.accept(family, &n.prefix, path_id, received));
        let (stale, llgr_stale) = match receipt {
            Receipt::Reimported(Some(Awaiting::Stale { llgr })) => (true, llgr),
            Receipt::Reimported(Some(Awaiting::SetAside)) => (true, false),
            Receipt::Received | Receipt::Reimported(None) => (false, false),
        };
        let local_id = *next_local_id;
        let (slot, dest) = loc.entry_slot(family, &n.prefix);
        let action = match dest
            .paths
            .iter_mut()
            .find(|p| p.peer == id && p.received_path_id == path_id)
        {
            Some(p) => {
                // A stale path (graceful restart, enhanced route refresh) sent again as it
                // was is fresh again, and nothing else changed.
                let same = Arc::ptr_eq(&p.attrs, attrs);
                if !Arc::ptr_eq(&p.attrs, attrs) {
                    // The path last advertised to everyone changes: the next export pass
                    // must not skip this destination. (Another path changing needs no
                    // mark: if it becomes the best, the best is a different path.)
                    if dest.exported_best == p.local_id {
                        dest.exported_best = 0;
                    }
                    p.attrs = attrs.clone();
                }
                p.class = class;
                p.stale = stale;
                p.llgr_stale = llgr_stale;
                if same {
                    return;
                }
                p.since = since;
                PrefixAction::ImplicitWithdraw
            }
            None => {
                if !was_rejected {
                    if let Some(p) = peer.as_mut() {
                        p.adj_in.count_in(family);
                    }
                }
                dest.paths.push(Path {
                    peer: id,
                    received_path_id: path_id,
                    local_id,
                    attrs: attrs.clone(),
                    class,
                    since,
                    stale,
                    llgr_stale,
                });
                *next_local_id = next_local_id.wrapping_add(1).max(1);
                PrefixAction::Announce
            }
        };
        dirty.push((family, n.prefix), slot);
        if prefix_log::wanted(class.is_some(), events.as_ref()) {
            prefix_log::log(
                &PrefixEvent {
                    peer: neighbor.address,
                    peer_as: neighbor.peer_as,
                    family,
                    prefix: n.prefix,
                    path_id,
                    class: classes.name(class),
                    action,
                    reason: None,
                    attrs: Some(attrs),
                },
                events.as_ref(),
            );
        }
        if let Some(p) = peer {
            p.summary.count(class, action);
        }
    }

    /// A received route is gone (withdrawn, or ignored on receipt): out of the Loc-RIB and
    /// of the Adj-RIB-In.
    fn forget_received(
        &mut self,
        id: PeerId,
        family: Family,
        n: &Nlri,
        reason: &str,
        dirty: &mut Dirty,
    ) {
        let path_id = n.path_id.unwrap_or(0);
        let removed = self.remove_path(id, family, n.prefix, path_id, reason, dirty);
        if let Some(p) = self.peers.get_mut(&id) {
            let was_rejected = p.adj_in.unreject(&(family, n.prefix, path_id));
            if removed || was_rejected {
                p.adj_in.count_out(family);
            }
        }
    }

    /// Removes one path; returns whether something was removed.
    fn remove_path(
        &mut self,
        id: PeerId,
        family: Family,
        prefix: IpNet,
        path_id: u32,
        reason: &str,
        dirty: &mut Dirty,
    ) -> bool {
        let Some(dest) = self.loc.get_mut(&(family, prefix)) else {
            return false;
        };
        let Some(i) = dest
            .paths
            .iter()
            .position(|p| p.peer == id && p.received_path_id == path_id)
        else {
            return false;
        };
        let path = dest.paths.remove(i);
        dirty.push((family, prefix), None);
        let class = self.classes.name(path.class);
        if let Some(p) = self.peers.get_mut(&id) {
            p.adj_in.set_received((family, prefix, path_id), None);
            p.summary.count(path.class, PrefixAction::Withdraw);
            prefix_log::log(
                &PrefixEvent {
                    peer: p.neighbor.address,
                    peer_as: p.neighbor.peer_as,
                    family,
                    prefix,
                    path_id,
                    class,
                    action: PrefixAction::Withdraw,
                    reason: (!reason.is_empty()).then_some(reason),
                    attrs: None,
                },
                self.events.as_ref(),
            );
        }
        true
    }

    /// Recomputes the best path of the destinations at `slots` (RFC 4271 §9.1.2).
    /// Destinations left without paths stay until the export pass has withdrawn them (see
    /// `advertise`).
    pub(super) fn reselect(&mut self, slots: &[Option<SlotRef>]) {
        let Rib { loc, peers, .. } = self;
        // Whether the last path's peer is known: a run's destinations mostly come from one
        // peer, so its entry is looked up once, not per destination.
        let mut last: Option<(PeerId, bool)> = None;
        for r in slots.iter().flatten() {
            if let Some(d) = loc.at_mut(*r) {
                let best = match &d.paths[..] {
                    // The common case: one path, nothing to compare (select never rejects a
                    // candidate, it only orders them).
                    [only] => {
                        let known = match last {
                            Some((p, known)) if p == only.peer => known,
                            _ => {
                                let known = peers.contains_key(&only.peer);
                                last = Some((only.peer, known));
                                known
                            }
                        };
                        known.then_some(0)
                    }
                    paths => best_path::select(paths.iter().filter_map(|p| candidate(peers, p))),
                };
                d.set_best(best);
            }
        }
    }

    /// Re-sends everything for `family` to a peer (ROUTE-REFRESH received, RFC 2918 §4),
    /// wrapped in BoRR/EoRR when enhanced route refresh was negotiated (RFC 7313 §4).
    ///
    /// Nothing while deferring after our own restart: the whole table and End-of-RIB follow
    /// when the deferral ends (RFC 4724 §4.1), and they answer the request.
    pub fn refresh_out(&mut self, id: PeerId, family: Family) -> Outbox {
        if self.deferring {
            return Outbox::new();
        }
        let keys: Vec<(Family, IpNet)> = self.loc.keys().filter(|(f, _)| *f == family).collect();
        let mut outbox = Outbox::new();
        self.export_to(&Dirty::from_keys(keys), Some(id), Pass::Full, &mut outbox);
        outbox
    }

    /// Re-applies import policy to everything in the peer's Adj-RIB-In (after a config
    /// reload changed policies), and re-exports to everyone.
    pub fn reimport(&mut self, id: PeerId) -> Outbox {
        let mut outbox = Outbox::new();
        let Some(p) = self.peers.get(&id) else {
            return outbox;
        };
        let Some(session) = p.session.clone() else {
            return outbox;
        };
        let neighbor = p.neighbor.clone();
        let entries = self.adj_rib_in(id);
        let mut dirty = Dirty::default();
        for ((family, prefix, path_id), raw) in entries {
            let class = self.classes.classify(&prefix, raw.origin_as());
            let n = Nlri {
                prefix,
                path_id: (path_id != 0).then_some(path_id),
            };
            self.reimport_one(id, &neighbor, &session, family, n, raw, class, &mut dirty);
        }
        let mut keys = dirty.keys;
        keys.sort_unstable();
        keys.dedup();
        self.export_to(&Dirty::from_keys(keys), None, Pass::Changes, &mut outbox);
        outbox
    }

    /// Whether the peer has yet to send `route` again: a stale path (graceful restart, RFC
    /// 4724 §4.2; long-lived, RFC 9494 §4.2; enhanced route refresh, RFC 7313 §4) or a
    /// rejected route set aside by a refresh.
    fn awaiting(&self, id: PeerId, route: super::adj_rib_in::RouteKey) -> Option<Awaiting> {
        let (family, prefix, path_id) = route;
        let path = self.loc.get(&(family, prefix)).and_then(|d| {
            d.paths
                .iter()
                .find(|p| p.peer == id && p.received_path_id == path_id)
        });
        match path {
            Some(p) if p.stale => Some(Awaiting::Stale { llgr: p.llgr_stale }),
            Some(_) => None,
            None => self
                .peers
                .get(&id)
                .is_some_and(|p| p.adj_in.is_set_aside(&route))
                .then_some(Awaiting::SetAside),
        }
    }

    /// A peer's Adj-RIB-In (RFC 4271 §3.2): every route it sent that is held, as received —
    /// accepted ones from their Loc-RIB paths, rejected ones from the peer's table.
    pub fn adj_rib_in(&self, id: PeerId) -> Vec<((Family, IpNet, u32), SharedAttrs)> {
        let mut out = Vec::new();
        let adj_in = self.peers.get(&id).map(|p| &p.adj_in);
        for ((family, prefix), d) in &self.loc {
            for p in d.paths.iter().filter(|p| p.peer == id) {
                let route = (family, prefix, p.received_path_id);
                let received = adj_in.and_then(|a| a.received(&route)).unwrap_or(&p.attrs);
                out.push((route, received.clone()));
            }
        }
        if let Some(adj_in) = adj_in {
            out.extend(
                adj_in
                    .rejected()
                    .chain(adj_in.set_aside())
                    .map(|(k, v)| (*k, v.clone())),
            );
        }
        out
    }

    /// Re-evaluates export to every peer for every destination (export policy changed).
    pub fn reexport_all(&mut self) -> Outbox {
        let keys: Vec<(Family, IpNet)> = self.loc.keys().collect();
        let mut outbox = Outbox::new();
        self.export_to(&Dirty::from_keys(keys), None, Pass::Full, &mut outbox);
        outbox
    }

    /// Summary lines (peer address, text) for peers with activity since the last call.
    pub fn take_summaries(&mut self) -> Vec<(IpAddr, u32, String)> {
        let classes = &self.classes;
        self.peers
            .values_mut()
            .filter_map(|p| {
                p.summary
                    .take(classes)
                    .map(|s| (p.neighbor.address, p.neighbor.peer_as, s))
            })
            .collect()
    }

    /// Whether a peer's role reflects routes (for display).
    pub fn role(&self, id: PeerId) -> Option<Role> {
        self.peers.get(&id).map(|p| p.neighbor.role)
    }
}
