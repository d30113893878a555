//! The Update-Send process (RFC 4271 §9.2): after the Decision Process re-selected some
//! destinations, work out what each established peer must now be sent and encode it.
//!
//! Three design choices keep this cheap with many routes and many peers:
//! - **No per-peer copy of the table.** For a family without ADD-PATH a peer is sent at most
//!   the best path, and what it is sent is a pure function of that path and the peer's
//!   configuration; so the RIB keeps only *which* peers hold each destination (a bitmap in
//!   [`Destination::advertised`]) and recomputes the attributes when they are shown. Peers with
//!   ADD-PATH for a family keep an explicit Adj-RIB-Out (`PeerEntry::adj_out`).
//! - **Export once per attribute set and group of alike peers.** Peers whose export rules and
//!   policy are the same (`Signature`) share one result per (attribute set, source peer,
//!   class) — the idea other daemons call update groups — unless their export policy looks at
//!   the prefix itself. Split horizon and the AS-loop check differ per peer and run per peer.
//! - **Route-server clients get their own view without a table each** (RFC 7947 §2.3.2.1).
//!   A client is sent the best path when it may have it; when the best came from the client
//!   itself, or its export policy or the LLGR rules keep it from the client, the client is
//!   sent the best of the paths it may have (BIRD's `secondary` export does the same over a
//!   sorted table). Only those exceptions are stored (`PeerEntry::alternates`), so with
//!   one path per prefix nothing changes, and a prefix announced by two clients no longer
//!   hides both paths from the client whose path wins.
//! - **One queue and one encoding per update group** (`update_group`). Peers that share
//!   export results and encode alike (same signature, session options and families, no
//!   ADD-PATH) form an update group for the pass. A destination is queued once for the
//!   members sent it alike (the same exported set, or a withdrawal): one queue per such
//!   receiving set, usually all members or all but the source (split horizon, the AS-loop
//!   check); a member sent something else (a route-server client's own view) is queued on
//!   its own. Each set's batch is packed once ([`super::outbox::SharedBatch`]) and its
//!   octets written to every member. With one route server and many clients, the queueing
//!   and packing no longer grow with the number of clients.
//! - **A new destination decided like the one before it is not decided again** (session
//!   24). A full table comes as UPDATEs of several prefixes with one attribute set; when the
//!   next destination has one path, is held by nobody yet and shares the last one's set,
//!   source, class and staleness, the pass repeats the last decision (the same announcement
//!   joined, the same advertised bits) instead of deciding group by group
//!   (`update_group::RepeatDecision`; only where every receiver is in a group decided a word
//!   at a time and shares export results).
//! - **Nothing when the best path did not change.** A destination whose best path is still
//!   the one last advertised (same path, same attributes: [`Destination::exported_best`]) is
//!   skipped for peers without ADD-PATH.

mod update_group;

use super::best_path::{self, Candidate};
use super::classes::{ClassId, ClassTable};
use super::export::{export, LocalIdentity, Source, Target};
use super::intern::AttrSet;
use super::llgr::carries_llgr_stale;
use super::loc_rib::SlotRef;
use super::outbox::{RouteBatch, SharedBatch};
use super::peer_set;
use super::route::{PeerId, RouteAttrs, SharedAttrs};
use super::table::{candidate, Destination, Dirty, Outbox, Path, PeerEntry, Rib, SessionInfo};
use super::FastMap;
use crate::config::{DefaultAction, Neighbor, Role};
use crate::policy::{PolicySet, RouteFacts};
use bgp_proto::{Family, Nlri};
use ipnet::IpNet;
use smallvec::SmallVec;
use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;
use update_group::{decide_group, queue_group, update_groups, Decision, RepeatDecision};

/// How much of `keys` an export pass sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// What changed: destinations whose best path is the one last advertised to every peer
    /// are skipped for peers without ADD-PATH.
    Changes,
    /// Everything (initial advertisement, route refresh, export policy changed).
    Full,
}

/// What decides the attributes a peer is sent, apart from split horizon and the AS-loop
/// check: peers with equal signatures share export results.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Signature<'a> {
    ibgp: bool,
    role: Role,
    next_hop_self: bool,
    local_address: Option<IpAddr>,
    export_policy: &'a [String],
    default_export: DefaultAction,
    /// Only when the export policy matches on neighbor addresses.
    neighbor: Option<IpAddr>,
}

/// (signature, family, attribute set, source peer, class) → exported attributes.
type MemoKey = (u32, Family, usize, PeerId, Option<ClassId>);

/// One established peer during an export pass.
struct Receiver {
    id: PeerId,
    target: Target,
    neighbor: Arc<Neighbor>,
    session: Arc<SessionInfo>,
    /// Negotiated long-lived graceful restart: may be sent LLGR-stale paths (RFC 9494 §4.3).
    llgr: bool,
    signature: u32,
    /// The export policy does not look at the prefix: results can be shared.
    memoize: bool,
    /// The ADD-PATH Adj-RIB-Out, taken out of the peer entry for the pass.
    adj_out: FastMap<(Family, IpNet), Vec<(u32, SharedAttrs)>>,
    /// A route-server client (RFC 7947): gets its own view (see the module documentation).
    rs_client: bool,
    /// `PeerEntry::alternates`, taken out of the peer entry for the pass.
    alternates: FastMap<(Family, IpNet), (u32, SharedAttrs)>,
    /// Change in the number of advertised destinations per family (bitmap side).
    count_delta: SmallVec<[(Family, isize); 2]>,
    /// What the pass sends the peer.
    queued: Queued,
    /// The last export result for this peer, by (family, attribute set, source peer, class):
    /// consecutive destinations usually share their path's set (they came in one UPDATE),
    /// so the peer checks and the memo's hash are skipped for them (only when `memoize`;
    /// otherwise it only holds the result for its destination).
    last: Option<(MemoKey, Option<SharedAttrs>)>,
    /// The update group of the pass it belongs to (index in the pass's groups), if any.
    group: Option<usize>,
}

/// The routes a pass queues for one peer: withdrawals per family, and announcements grouped
/// by (family, exported attribute set) in the order the groups first appear. Consecutive
/// destinations usually share their set (they came in one UPDATE), so the group of the last
/// announcement is checked before the index is.
#[derive(Default)]
struct Queued {
    withdraw: SmallVec<[(Family, Vec<Nlri>); 2]>,
    announce: Vec<(Family, SharedAttrs, Vec<Nlri>)>,
    /// (family, set address) → position in `announce`. The set is held by `announce`, so its
    /// address is not reused during the pass.
    index: FastMap<(Family, usize), usize>,
    last: Option<((Family, usize), usize)>,
}

impl Queued {
    fn withdraw(&mut self, family: Family, n: Nlri) {
        match self.withdraw.iter_mut().find(|(f, _)| *f == family) {
            Some((_, v)) => v.push(n),
            None => self.withdraw.push((family, vec![n])),
        }
    }

    fn announce(&mut self, family: Family, attrs: &SharedAttrs, n: Nlri) {
        let key = (family, Arc::as_ptr(attrs) as usize);
        let at = match self.last {
            Some((k, at)) if k == key => at,
            _ => {
                let next = self.announce.len();
                let at = *self.index.entry(key).or_insert(next);
                if at == next {
                    // A received UPDATE carries about six prefixes (a full table's average):
                    // room for eight saves a reallocation per group.
                    self.announce
                        .push((family, attrs.clone(), Vec::with_capacity(8)));
                }
                self.last = Some((key, at));
                at
            }
        };
        if let Some((_, _, v)) = self.announce.get_mut(at) {
            v.push(n);
        }
    }
}

fn add_count(deltas: &mut SmallVec<[(Family, isize); 2]>, family: Family, by: isize) {
    match deltas.iter_mut().find(|(f, _)| *f == family) {
        Some((_, d)) => *d += by,
        None => deltas.push((family, by)),
    }
}

/// The parts of the RIB that export reads, borrowed apart from the Loc-RIB.
pub(super) struct ExportView<'a> {
    pub(super) identity: &'a LocalIdentity,
    pub(super) policies: &'a PolicySet,
    pub(super) peers: &'a FastMap<PeerId, PeerEntry>,
    pub(super) classes: &'a ClassTable,
}

/// Export with interning and the per-pass memo.
///
/// An exported set that equals a set the RIB already holds is that set. Otherwise it is
/// shared only within the pass (`pass_interned`) and freed with it, unless an ADD-PATH
/// receiver stores it in its Adj-RIB-Out: then it joins the RIB's set. (Kept in the RIB's set,
/// a route server's exports — received sets minus ORIGINATOR_ID and CLUSTER_LIST, say —
/// doubled the attribute memory of a full table until the next garbage collection, and
/// left it fragmented after.)
struct Exporter<'a> {
    view: ExportView<'a>,
    interned: &'a mut AttrSet,
    pass_interned: AttrSet,
    memo: FastMap<MemoKey, Option<SharedAttrs>>,
}

/// Whether a path may go to a peer at all: not back to where it came from (split horizon)
/// and, toward an external peer, not with that peer's AS in the path (RFC 4271 §9.1.2; the
/// same checks as [`export`], done before the shared part).
fn passes_peer_checks(path: &Path, target: &Target) -> bool {
    if path.peer == target.peer {
        return false;
    }
    target.ibgp || !path.attrs.contains_as(target.peer_as)
}

/// The attributes of `path` as sent to a peer with export `target`/`tn`, or `None` when
/// suppressed by the protocol rules or the export policy; borrowed when unchanged.
pub(super) fn export_attrs<'p>(
    view: &ExportView<'_>,
    path: &'p Path,
    (family, prefix): (Family, IpNet),
    target: &Target,
    tn: &Neighbor,
) -> Option<Cow<'p, RouteAttrs>> {
    let ExportView {
        identity,
        policies,
        peers,
        classes,
    } = view;
    let sp = peers.get(&path.peer)?;
    let source = Source {
        peer: path.peer,
        ibgp: sp.neighbor.ibgp,
        role: sp.neighbor.role,
        bgp_id: sp.last_bgp_id,
    };
    let mut out = export(identity, family, &source, target, &path.attrs).ok()?;
    let verdict = policies.evaluate_cow(
        &tn.export_policy,
        tn.default_export,
        &RouteFacts {
            prefix: &prefix,
            family,
            neighbor: tn.address,
            class: classes.name(path.class),
            local_address: target.local_address,
            prepend_as: identity.asn,
        },
        &mut out,
    );
    verdict.accept.then_some(out)
}

impl Exporter<'_> {
    fn exported(
        &mut self,
        r: &mut Receiver,
        path: &Path,
        family: Family,
        prefix: IpNet,
        keep: bool,
    ) -> Option<SharedAttrs> {
        let out = self.exported_in_pass(r, path, family, prefix)?;
        if !keep {
            return Some(out);
        }
        // Stored beyond the pass (ADD-PATH Adj-RIB-Out): share it with the RIB's set.
        Some(self.interned.share(out))
    }

    fn exported_in_pass(
        &mut self,
        r: &mut Receiver,
        path: &Path,
        family: Family,
        prefix: IpNet,
    ) -> Option<SharedAttrs> {
        self.export_to_last(r, path, family, prefix);
        r.last.as_ref().and_then(|(_, v)| v.clone())
    }

    /// Exports `path` to `r` for `prefix` and leaves the result in `r.last`, where the
    /// caller borrows it: handing out a clone for every destination cost a locked reference
    /// count change each (see `Rib::store_imported`).
    fn export_to_last(&mut self, r: &mut Receiver, path: &Path, family: Family, prefix: IpNet) {
        let key: MemoKey = (
            r.signature,
            family,
            Arc::as_ptr(&path.attrs) as usize,
            path.peer,
            path.class,
        );
        // The set is held by the Loc-RIB for the whole pass: its address is not reused.
        if r.memoize && r.last.as_ref().is_some_and(|(k, _)| *k == key) {
            return;
        }
        let out =
            if !passes_peer_checks(path, &r.target) {
                None
            } else if let Some(v) = r.memoize.then(|| self.memo.get(&key)).flatten() {
                v.clone()
            } else {
                let out = export_attrs(&self.view, path, (family, prefix), &r.target, &r.neighbor)
                    .map(|a| match a {
                        // Exported unchanged: no copy, no hash.
                        Cow::Borrowed(_) => path.attrs.clone(),
                        Cow::Owned(a) if a == *path.attrs => path.attrs.clone(),
                        Cow::Owned(a) => {
                            let hash = super::intern::hash(&a);
                            match self.interned.get(hash, &a) {
                                Some(held) => held.clone(),
                                None => self.pass_interned.intern_hashed(hash, a),
                            }
                        }
                    });
                if r.memoize {
                    self.memo.insert(key, out.clone());
                }
                out
            };
        r.last = Some((key, out));
    }
}

/// Whether `best` is the path last advertised to everyone, with the same attributes (the
/// RIB zeroes `last` when a path's attributes change).
fn same_best(last: u32, best: Option<&Path>) -> bool {
    best.is_some_and(|p| last != 0 && p.local_id == last)
}

/// A value worked out from an attribute set, kept for the last set asked about: a pass meets
/// each set's destinations one after another, so it is worked out once per set in a row. The
/// set is known by its address (the Loc-RIB holds it for the whole pass).
#[derive(Debug, Default)]
struct LastSet<T>(Option<(usize, T)>);

impl<T: Copy> LastSet<T> {
    fn get(&mut self, attrs: &SharedAttrs, work_out: impl FnOnce() -> T) -> T {
        let set = Arc::as_ptr(attrs) as usize;
        match self.0 {
            Some((s, v)) if s == set => v,
            _ => {
                let v = work_out();
                self.0 = Some((set, v));
                v
            }
        }
    }
}

/// Whether paths may go to a peer (RFC 9494 §4.3: LLGR-stale paths only to LLGR peers). The
/// LLGR_STALE community is looked for once per attribute set in a row, not per destination
/// and receiver.
#[derive(Debug, Default)]
struct LlgrCheck {
    /// Whether the last set looked at carries LLGR_STALE.
    last: LastSet<bool>,
}

impl LlgrCheck {
    fn ok(&mut self, path: &Path, receiver_llgr: bool) -> bool {
        if receiver_llgr {
            return true;
        }
        if path.llgr_stale {
            return false;
        }
        !self
            .last
            .get(&path.attrs, || carries_llgr_stale(&path.attrs))
    }
}

/// The path a receiver without ADD-PATH is sent for `d`, and its attributes as exported:
/// the best path if the receiver may have it; for a route-server client that may not, the
/// best of the paths it may have (RFC 7947 §2.3.2.1, per-client views; RFC 4271 §9.1.2.2
/// orders them); `None` when nothing may go.
fn client_choice<'d>(
    ex: &mut Exporter<'_>,
    llgr: &mut LlgrCheck,
    r: &mut Receiver,
    d: &'d Destination,
    &(family, prefix): &(Family, IpNet),
) -> Option<(&'d Path, SharedAttrs)> {
    let best = d.best_path();
    if let Some(b) = best.filter(|b| llgr.ok(b, r.llgr)) {
        if let Some(a) = ex.exported_in_pass(r, b, family, prefix) {
            return Some((b, a));
        }
    }
    if !r.rs_client {
        return None;
    }
    let peers = ex.view.peers;
    let mut allowed: SmallVec<[(Candidate<'_>, &'d Path, SharedAttrs); 4]> = SmallVec::new();
    for p in d.paths.iter() {
        if best.is_some_and(|b| std::ptr::eq(b, p)) || !llgr.ok(p, r.llgr) {
            continue;
        }
        let Some(c) = candidate(peers, p) else {
            continue;
        };
        if let Some(a) = ex.exported_in_pass(r, p, family, prefix) {
            allowed.push((c, p, a));
        }
    }
    let i = best_path::select(allowed.iter().map(|(c, _, _)| *c))?;
    allowed.into_iter().nth(i).map(|(_, p, a)| (p, a))
}

impl Rib {
    /// Recomputes the best path of `keys` and advertises the changes to every established
    /// peer (or only to `only`); then drops destinations left without paths. Nothing is
    /// advertised while deferring (RFC 4724 §4.1).
    pub(super) fn export_to(
        &mut self,
        changed: &Dirty,
        only: Option<PeerId>,
        pass: Pass,
        outbox: &mut Outbox,
    ) {
        // Each key is hashed once here; selection, Update-Send and cleanup go by slot, and a
        // destination listed twice is visited once, where it first appears (a mark bit per
        // slot instead of hashing the keys again).
        // Keys are copied only when there is a repeat (a full pass lists each key once).
        let keys = changed.keys();
        let mut slots: Vec<Option<SlotRef>> = Vec::with_capacity(keys.len());
        let mut repeats: Vec<usize> = Vec::new();
        let mut absent: FastMap<(Family, IpNet), ()> = FastMap::default();
        for (i, k) in keys.iter().enumerate() {
            let slot = changed.slot(i).or_else(|| self.loc.locate(k));
            let first = match slot {
                Some(r) => self.loc.mark(r),
                None => absent.insert(*k, ()).is_none(),
            };
            if first {
                slots.push(slot);
            } else {
                repeats.push(i);
            }
        }
        let once: Cow<'_, [(Family, IpNet)]> = if repeats.is_empty() {
            Cow::Borrowed(keys)
        } else {
            Cow::Owned(
                keys.iter()
                    .enumerate()
                    .filter(|(i, _)| repeats.binary_search(i).is_err())
                    .map(|(_, k)| *k)
                    .collect(),
            )
        };
        let keys = &once[..];
        self.reselect(&slots);
        if !self.deferring {
            self.advertise(keys, &slots, only, pass, outbox);
        }
        // The marks go with the pass (before a destination's slot is freed for reuse).
        for (key, r) in keys.iter().zip(&slots) {
            let Some(r) = *r else {
                continue;
            };
            self.loc.unmark(r);
            let Some(d) = self.loc.at(r) else {
                continue;
            };
            if d.paths.is_empty() {
                if d.advertised.spilled() {
                    self.high_peers.forget(key);
                }
                self.loc.remove(key);
            }
        }
    }

    fn receivers(&mut self, only: Option<PeerId>) -> Vec<Receiver> {
        let mut ids: Vec<PeerId> = match only {
            Some(id) => vec![id],
            None => self
                .peers
                .iter()
                .filter(|(_, p)| p.session.is_some())
                .map(|(id, _)| *id)
                .collect(),
        };
        ids.sort_unstable();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(p) = self.peers.get_mut(&id) else {
                continue;
            };
            let Some(session) = p.session.clone() else {
                continue;
            };
            let tn = p.neighbor.clone();
            out.push(Receiver {
                id,
                target: Target {
                    peer: id,
                    ibgp: tn.ibgp,
                    role: tn.role,
                    peer_as: tn.peer_as,
                    next_hop_self: tn.next_hop_self,
                    local_address: session.local_address,
                },
                memoize: !self.policies.depends_on_prefix(&tn.export_policy),
                llgr: p.llgr.is_some(),
                adj_out: std::mem::take(&mut p.adj_out),
                rs_client: tn.role == Role::RouteServerClient,
                alternates: std::mem::take(&mut p.alternates),
                neighbor: tn,
                session,
                signature: 0,
                count_delta: SmallVec::new(),
                queued: Queued::default(),
                last: None,
                group: None,
            });
        }
        // Alike peers share export results: number the distinct signatures (borrowing the
        // neighbors' policy names, nothing is copied per pass).
        let mut signatures: FastMap<Signature<'_>, u32> = FastMap::default();
        let numbers: Vec<u32> = out
            .iter()
            .map(|r| {
                let tn = &r.neighbor;
                let by_neighbor = self.policies.depends_on_neighbor(&tn.export_policy);
                let sig = Signature {
                    ibgp: tn.ibgp,
                    role: tn.role,
                    next_hop_self: tn.next_hop_self,
                    local_address: r.target.local_address,
                    export_policy: &tn.export_policy,
                    default_export: tn.default_export,
                    neighbor: by_neighbor.then_some(tn.address),
                };
                let n = signatures.len() as u32;
                *signatures.entry(sig).or_insert(n)
            })
            .collect();
        for (r, n) in out.iter_mut().zip(numbers) {
            r.signature = n;
        }
        out
    }

    /// The Update-Send process for `keys` (see the module documentation).
    fn advertise(
        &mut self,
        keys: &[(Family, IpNet)],
        slots: &[Option<SlotRef>],
        only: Option<PeerId>,
        pass: Pass,
        outbox: &mut Outbox,
    ) {
        let mut receivers = self.receivers(only);
        let mut groups = update_groups(&mut receivers);
        // Per receiver, what it is sent for the current destination (update group members).
        let mut decided: Vec<Decision> = vec![Decision::Skip; receivers.len()];
        let record_best = only.is_none();
        let Rib {
            loc,
            peers,
            interned,
            identity,
            policies,
            classes,
            high_peers,
            ..
        } = self;
        let pass_interned = AttrSet::new();
        let mut ex = Exporter {
            view: ExportView {
                identity,
                policies,
                peers,
                classes,
            },
            interned,
            pass_interned,
            // Sized for a table's UPDATEs (about six destinations per attribute set), so that
            // it does not grow by doubling through every pass.
            memo: FastMap::with_capacity_and_hasher(keys.len() / 4, Default::default()),
        };
        let mut llgr = LlgrCheck::default();
        // Bitmap changes for the current destination: (receiver index, now advertised).
        let mut flips: SmallVec<[(usize, bool); 8]> = SmallVec::new();
        let mut repeats =
            RepeatDecision::new(pass == Pass::Changes && only.is_none(), &receivers, &groups);
        let mut group_on: SmallVec<[u64; 2]> = SmallVec::new();
        for (key, slot) in keys.iter().zip(slots) {
            let (family, prefix) = *key;
            flips.clear();
            let dest: Option<&Destination> = slot.and_then(|r| loc.at(r));
            let best = dest.and_then(Destination::best_path);
            let unchanged =
                pass == Pass::Changes && dest.is_some_and(|d| same_best(d.exported_best, best));
            // A new destination decided like the one before it: the same steps, repeated.
            let repeat_key = repeats.key(dest, best, family, unchanged, &groups);
            if let Some(k) = repeat_key {
                let n = Nlri {
                    prefix,
                    path_id: None,
                };
                let new_best = best.map_or(0, |p| p.local_id);
                if let Some(on) = repeats.repeat(k, &mut groups, &mut receivers, n) {
                    if let Some(d) = slot.and_then(|r| loc.at_mut(r)) {
                        d.advertised.apply_inline(on, 0);
                        d.exported_best = new_best;
                    }
                    continue;
                }
            }
            // Route-server clients may need their own view only where there is a choice.
            let several = dest.is_some_and(|d| d.paths.len() > 1);
            // Update groups decided a word at a time: (added, removed) bits for the
            // destination's advertised set.
            let (mut on_bits, mut off_bits) = (0u64, 0u64);
            group_on.clear();
            for g in &mut groups {
                g.fast = g.ids.is_some() && !g.alternates && !(several && g.rs_client);
                if g.fast {
                    let (on, off) = decide_group(
                        g,
                        &mut ex,
                        &mut llgr,
                        &mut receivers,
                        dest,
                        best,
                        *key,
                        unchanged,
                    );
                    on_bits |= on;
                    off_bits |= off;
                    group_on.push(on);
                }
            }
            // Only a pure announcement is repeated (`remember` takes the queue the group used
            // last as the announcement's).
            if let Some(k) = repeat_key.filter(|_| off_bits == 0) {
                repeats.remember(k, &groups, &group_on);
            }
            for (ri, r) in receivers.iter_mut().enumerate() {
                if let Some(gi) = r.group {
                    if groups.get(gi).is_some_and(|g| g.fast) {
                        continue;
                    }
                    if let Some(d) = decided.get_mut(ri) {
                        *d = Decision::Skip;
                    }
                }
                if !r.session.families.contains(&family) {
                    continue;
                }
                let add_path = r.session.add_path_send.contains(family);
                if add_path {
                    // RFC 7911: every path that passes goes, each with our own path id.
                    let mut desired: SmallVec<[(u32, SharedAttrs); 2]> = SmallVec::new();
                    for path in dest.into_iter().flat_map(|d| d.paths.iter()) {
                        if !llgr.ok(path, r.llgr) {
                            continue;
                        }
                        if let Some(a) = ex.exported(r, path, family, prefix, true) {
                            desired.push((path.local_id, a));
                        }
                    }
                    let current = r.adj_out.remove(key).unwrap_or_default();
                    for (pid, _) in current
                        .iter()
                        .filter(|(pid, _)| !desired.iter().any(|(d, _)| d == pid))
                    {
                        r.queued.withdraw(
                            family,
                            Nlri {
                                prefix,
                                path_id: Some(*pid),
                            },
                        );
                    }
                    for (pid, a) in &desired {
                        let same = pass == Pass::Changes
                            && current.iter().any(|(c, ca)| c == pid && Arc::ptr_eq(ca, a));
                        if !same {
                            r.queued.announce(
                                family,
                                a,
                                Nlri {
                                    prefix,
                                    path_id: Some(*pid),
                                },
                            );
                        }
                    }
                    if !desired.is_empty() {
                        r.adj_out.insert(*key, desired.into_vec());
                    }
                    continue;
                }
                // The alternate the client holds, taken out (put back below if it stays).
                let prev = if r.alternates.is_empty() {
                    None
                } else {
                    r.alternates.remove(key)
                };
                if prev.is_some() || (several && r.rs_client) {
                    let had = dest.is_some_and(|d| d.advertised.contains(r.id, key, high_peers));
                    // A client holding the unchanged best path keeps it.
                    if unchanged && had && prev.is_none() {
                        continue;
                    }
                    let choice = dest.and_then(|d| client_choice(&mut ex, &mut llgr, r, d, key));
                    let n = Nlri {
                        prefix,
                        path_id: None,
                    };
                    match choice {
                        Some((p, a)) => {
                            // What the client holds: an alternate, or the path last
                            // advertised to everyone (its attributes unchanged, as
                            // `exported_best` is zeroed when they change).
                            let same = pass == Pass::Changes
                                && had
                                && match &prev {
                                    Some((id, pa)) => *id == p.local_id && Arc::ptr_eq(pa, &a),
                                    None => dest.is_some_and(|d| {
                                        d.exported_best != 0 && d.exported_best == p.local_id
                                    }),
                                };
                            if !same {
                                match (r.group, decided.get_mut(ri)) {
                                    (Some(_), Some(d)) => *d = Decision::Owned(a.clone()),
                                    _ => r.queued.announce(family, &a, n),
                                }
                            }
                            if !had {
                                flips.push((ri, true));
                            }
                            if !best.is_some_and(|b| std::ptr::eq(b, p)) {
                                r.alternates
                                    .insert(*key, (p.local_id, ex.interned.share(a)));
                            }
                        }
                        None if had => {
                            match (r.group, decided.get_mut(ri)) {
                                (Some(_), Some(d)) => *d = Decision::Withdraw,
                                _ => r.queued.withdraw(family, n),
                            }
                            flips.push((ri, false));
                        }
                        None => {}
                    }
                    continue;
                }
                if unchanged {
                    continue;
                }
                let had = dest.is_some_and(|d| d.advertised.contains(r.id, key, high_peers));
                if !had && best.is_some_and(|p| p.peer == r.id) {
                    // Its own route, not held by it: split horizon leaves nothing to send
                    // (the check `exported` would make, without its memo lookups).
                    continue;
                }
                let desired = match best.filter(|p| llgr.ok(p, r.llgr)) {
                    Some(p) => {
                        ex.export_to_last(r, p, family, prefix);
                        r.last.as_ref().and_then(|(_, v)| v.as_ref())
                    }
                    None => None,
                };
                let n = Nlri {
                    prefix,
                    path_id: None,
                };
                match desired {
                    Some(a) => {
                        match (r.group, decided.get_mut(ri)) {
                            (Some(_), Some(d)) => *d = Decision::Last,
                            _ => r.queued.announce(family, a, n),
                        }
                        if !had {
                            flips.push((ri, true));
                        }
                    }
                    None if had => {
                        match (r.group, decided.get_mut(ri)) {
                            (Some(_), Some(d)) => *d = Decision::Withdraw,
                            _ => r.queued.withdraw(family, n),
                        }
                        flips.push((ri, false));
                    }
                    None => {}
                }
            }
            for g in groups.iter_mut().filter(|g| !g.fast) {
                let n = Nlri {
                    prefix,
                    path_id: None,
                };
                queue_group(g, &decided, &mut receivers, family, n);
                g.alternates = g
                    .members
                    .iter()
                    .filter_map(|m| receivers.get(*m))
                    .any(|r| !r.alternates.is_empty());
            }
            let new_best = best.map_or(0, |p| p.local_id);
            let group_flips = on_bits | off_bits != 0;
            if flips.is_empty() && !group_flips && (!record_best || unchanged) {
                continue;
            }
            let Some(d) = slot.and_then(|r| loc.at_mut(r)) else {
                continue;
            };
            if group_flips {
                d.advertised.apply_inline(on_bits, off_bits);
            }
            for (ri, on) in &flips {
                let Some(r) = receivers.get_mut(*ri) else {
                    continue;
                };
                if *on {
                    d.advertised.insert(r.id, key, high_peers);
                    add_count(&mut r.count_delta, family, 1);
                } else {
                    d.advertised.remove(r.id, key, high_peers);
                    add_count(&mut r.count_delta, family, -1);
                }
            }
            if record_best {
                d.exported_best = new_best;
            }
        }
        drop(ex);
        for g in &mut groups {
            g.flush_counts(&mut receivers);
        }
        for g in groups {
            for (mask, queued) in g.queues {
                if queued.announce.is_empty() && queued.withdraw.is_empty() {
                    continue;
                }
                let to: Vec<&Receiver> = g
                    .members
                    .iter()
                    .filter_map(|m| receivers.get(*m))
                    .filter(|r| {
                        mask.get(r.id as usize / 64)
                            .is_some_and(|w| w & (1 << (r.id % 64)) != 0)
                    })
                    .collect();
                let Some(first) = to.first() else {
                    continue;
                };
                let batch = RouteBatch {
                    peer: first.neighbor.address,
                    ctx: first.session.send_context,
                    withdraw: queued.withdraw.into_vec(),
                    announce: queued.announce,
                };
                if to.len() == 1 {
                    // One peer: its own batch, packed into its own output as before.
                    outbox.entry(first.id).or_default().push_routes(batch);
                    continue;
                }
                let shared = SharedBatch::new(batch, to.len());
                for r in to {
                    outbox.entry(r.id).or_default().push_shared(shared.clone());
                }
            }
        }
        for r in receivers {
            let Some(p) = self.peers.get_mut(&r.id) else {
                continue;
            };
            p.adj_out = r.adj_out;
            p.alternates = r.alternates;
            for (f, delta) in r.count_delta {
                let c = p.advertised_count.entry(f).or_default();
                *c = c.saturating_add_signed(delta);
            }
            if r.queued.announce.is_empty() && r.queued.withdraw.is_empty() {
                continue;
            }
            outbox.entry(r.id).or_default().push_routes(RouteBatch {
                peer: r.neighbor.address,
                ctx: r.session.send_context,
                withdraw: r.queued.withdraw.into_vec(),
                announce: r.queued.announce,
            });
        }
    }

    /// Records the current best path of every destination as advertised to everyone (after
    /// the per-peer full passes that end a selection deferral).
    pub(super) fn mark_all_exported(&mut self) {
        for d in self.loc.values_mut() {
            d.exported_best = d.best_path().map_or(0, |p| p.local_id);
        }
    }

    /// Forgets what was advertised to a peer (its session ended or restarts).
    pub(super) fn forget_advertised(&mut self, id: PeerId) {
        if let Some(p) = self.peers.get_mut(&id) {
            p.adj_out.clear();
            p.alternates.clear();
            if p.advertised_count.values().all(|n| *n == 0) {
                return;
            }
            p.advertised_count.clear();
        } else {
            return;
        }
        if peer_set::is_inline(id) {
            for d in self.loc.values_mut() {
                d.advertised.remove_inline(id);
            }
        } else {
            for key in self.high_peers.remove_everywhere(id) {
                if let Some(d) = self.loc.get_mut(&key) {
                    d.advertised.clear_spilled();
                }
            }
        }
    }

    /// The Adj-RIB-Out of a peer: (family, prefix, path id, attributes as sent), computed
    /// from the Loc-RIB for families without ADD-PATH.
    pub fn adj_rib_out(&self, id: PeerId) -> Vec<(Family, IpNet, u32, SharedAttrs)> {
        let Some(p) = self.peers.get(&id) else {
            return Vec::new();
        };
        let mut out: Vec<(Family, IpNet, u32, SharedAttrs)> = p
            .adj_out
            .iter()
            .flat_map(|((f, n), v)| v.iter().map(move |(pid, a)| (*f, *n, *pid, a.clone())))
            .collect();
        let Some(session) = p.session.as_ref() else {
            return out;
        };
        let target = Target {
            peer: id,
            ibgp: p.neighbor.ibgp,
            role: p.neighbor.role,
            peer_as: p.neighbor.peer_as,
            next_hop_self: p.neighbor.next_hop_self,
            local_address: session.local_address,
        };
        for ((family, prefix), d) in &self.loc {
            if !d
                .advertised
                .contains(id, &(family, prefix), &self.high_peers)
            {
                continue;
            }
            if let Some((_, a)) = p.alternates.get(&(family, prefix)) {
                out.push((family, prefix, 0, a.clone()));
                continue;
            }
            let Some(best) = d.best_path() else {
                continue;
            };
            let view = ExportView {
                identity: &self.identity,
                policies: &self.policies,
                peers: &self.peers,
                classes: &self.classes,
            };
            if let Some(a) = export_attrs(&view, best, (family, prefix), &target, &p.neighbor) {
                out.push((family, prefix, 0, Arc::new(a.into_owned())));
            }
        }
        out
    }

    /// What a peer holds from us: (family, prefix, path id) — without computing attributes.
    pub fn advertised_keys(&self, id: PeerId) -> Vec<(Family, IpNet, u32)> {
        let Some(p) = self.peers.get(&id) else {
            return Vec::new();
        };
        let mut out: Vec<(Family, IpNet, u32)> = p
            .adj_out
            .iter()
            .flat_map(|((f, n), v)| v.iter().map(move |(pid, _)| (*f, *n, *pid)))
            .collect();
        out.extend(
            self.loc
                .iter()
                .filter(|(k, d)| d.advertised.contains(id, k, &self.high_peers))
                .map(|((f, n), _)| (f, n, 0)),
        );
        out
    }
}
