//! Update groups: the peers of one Update-Send pass that share export results and encode
//! alike, so that what they are sent alike is decided, queued and packed once (see the
//! documentation of [`super`]).
//!
//! A child of `advertise`: it works on the pass's private receivers and queues.

use super::{add_count, Exporter, LastSet, LlgrCheck, Queued, Receiver};
use crate::rib::classes::ClassId;
use crate::rib::peer_set;
use crate::rib::route::{PeerId, SharedAttrs};
use crate::rib::table::{Destination, Path};
use crate::rib::FastMap;
use bgp_proto::{Family, FamilySet, Nlri, SessionContext};
use ipnet::IpNet;
use smallvec::SmallVec;
use std::sync::Arc;

/// Peers of one pass that may share a queue (an update group): they share export results
/// and encode alike. What they are sent is queued once per set of members sent alike.
pub(super) struct UpdateGroup {
    /// Receiver indices, ascending.
    pub(super) members: Vec<usize>,
    /// The members' peer ids as bits, when every id sits in a destination's inline word
    /// ([`peer_set::PeerSet::inline_bits`]): then the group is decided a word at a time.
    pub(super) ids: Option<u64>,
    /// Peer id → receiver index, for ids below 63.
    index_of: Vec<usize>,
    /// What the members share: families, internal or external, LLGR, route-server clients.
    families: Vec<Family>,
    ibgp: bool,
    llgr: bool,
    pub(super) rs_client: bool,
    /// Some member holds its own view of some destination (`Receiver::alternates`): the
    /// group is decided member by member.
    pub(super) alternates: bool,
    /// The members an attribute set's AS_PATH loops to (RFC 4271 §9.1.2), for the last set
    /// looked at (its address: the Loc-RIB holds it for the whole pass).
    loops: LastSet<u64>,
    /// Advertised-count changes not yet handed to the members: (family, added, removed,
    /// destinations), merged while consecutive destinations change the same members.
    counts: Option<(Family, u64, u64, isize)>,
    /// One queue per set of members sent alike (peer-id bits): usually all of them, or all
    /// but the peer the routes came from (split horizon).
    pub(super) queues: Vec<(Vec<u64>, Queued)>,
    /// Receiving set → position in `queues`.
    index: FastMap<Vec<u64>, usize>,
    /// The queue used last (consecutive destinations usually go to the same set).
    last: Option<usize>,
    /// The current destination's receiving set (scratch, peer-id bits).
    mask: Vec<u64>,
    /// Whether the current destination was decided a word at a time.
    pub(super) fast: bool,
}

impl UpdateGroup {
    fn new(members: Vec<usize>, receivers: &[Receiver]) -> Self {
        let rs: Vec<&Receiver> = members.iter().filter_map(|m| receivers.get(*m)).collect();
        let max_id = rs.iter().map(|r| r.id).max().unwrap_or(0);
        let ids = rs.iter().try_fold(0u64, |acc, r| {
            peer_set::PeerSet::inline_bit(r.id).map(|b| acc | b)
        });
        let mut index_of = vec![usize::MAX; 64];
        for (m, r) in members.iter().zip(&rs) {
            if let Some(slot) = index_of.get_mut(r.id as usize) {
                *slot = *m;
            }
        }
        let first = rs.first();
        UpdateGroup {
            ids,
            index_of,
            families: first
                .map(|r| r.session.families.clone())
                .unwrap_or_default(),
            ibgp: first.is_some_and(|r| r.target.ibgp),
            llgr: first.is_some_and(|r| r.llgr),
            rs_client: first.is_some_and(|r| r.rs_client),
            alternates: rs.iter().any(|r| !r.alternates.is_empty()),
            loops: LastSet::default(),
            counts: None,
            members,
            queues: Vec::new(),
            index: FastMap::default(),
            last: None,
            mask: vec![0; max_id as usize / 64 + 1],
            fast: false,
        }
    }

    /// The queue of the members in `self.mask`.
    fn queue(&mut self) -> Option<&mut Queued> {
        let at = match self.last {
            Some(at) if self.queues.get(at).is_some_and(|(m, _)| *m == self.mask) => at,
            _ => {
                let next = self.queues.len();
                let at = *self.index.entry(self.mask.clone()).or_insert(next);
                if at == next {
                    self.queues.push((self.mask.clone(), Queued::default()));
                }
                self.last = Some(at);
                at
            }
        };
        self.queues.get_mut(at).map(|(_, q)| q)
    }

    /// The queue of the members whose (inline) peer-id bits are `bits`.
    fn queue_bits(&mut self, bits: u64) -> Option<&mut Queued> {
        self.mask.fill(0);
        if let Some(w) = self.mask.first_mut() {
            *w = bits;
        }
        self.queue()
    }

    /// The members `path` may not go to: the peer it came from (split horizon) and, toward
    /// external peers, those whose AS is in its AS_PATH (RFC 4271 §9.1.2); the checks
    /// [`super::passes_peer_checks`] makes per peer.
    fn refused(&mut self, path: &Path, receivers: &[Receiver]) -> u64 {
        let own = peer_set::PeerSet::inline_bit(path.peer).unwrap_or(0);
        if self.ibgp {
            return own;
        }
        let members = &self.members;
        let loops = self.loops.get(&path.attrs, || {
            members
                .iter()
                .filter_map(|m| receivers.get(*m))
                .filter(|r| path.attrs.contains_as(r.target.peer_as))
                .filter_map(|r| peer_set::PeerSet::inline_bit(r.id))
                .fold(0, |a, b| a | b)
        });
        own | loops
    }

    /// Records that `added` now hold one more destination of `family` and `removed` one less;
    /// handed to the members by [`UpdateGroup::flush_counts`].
    fn count(&mut self, family: Family, added: u64, removed: u64, receivers: &mut [Receiver]) {
        if added == 0 && removed == 0 {
            return;
        }
        match &mut self.counts {
            Some((f, a, r, n)) if *f == family && *a == added && *r == removed => *n += 1,
            _ => {
                self.flush_counts(receivers);
                self.counts = Some((family, added, removed, 1));
            }
        }
    }

    pub(super) fn flush_counts(&mut self, receivers: &mut [Receiver]) {
        let Some((family, added, removed, n)) = self.counts.take() else {
            return;
        };
        for (bits, by) in [(added, n), (removed, -n)] {
            let mut bits = bits;
            while bits != 0 {
                let id = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if let Some(r) = self.index_of.get(id).and_then(|ri| receivers.get_mut(*ri)) {
                    add_count(&mut r.count_delta, family, by);
                }
            }
        }
    }
}

/// The Update-Send process for a whole update group at one destination, a word at a time:
/// for groups whose peer ids all sit in the destination's inline word and where no member
/// holds its own view. One export for the group (its members share the result, the
/// [`super::Signature`]), minus the members the path may not go to; those that held the route and
/// may no longer are sent a withdrawal. Returns the bits to add to and remove from the
/// destination's advertised set.
#[allow(clippy::too_many_arguments)]
pub(super) fn decide_group(
    g: &mut UpdateGroup,
    ex: &mut Exporter<'_>,
    llgr: &mut LlgrCheck,
    receivers: &mut [Receiver],
    dest: Option<&Destination>,
    best: Option<&Path>,
    (family, prefix): (Family, IpNet),
    unchanged: bool,
) -> (u64, u64) {
    let Some(ids) = g.ids else {
        return (0, 0);
    };
    if unchanged || !g.families.contains(&family) {
        return (0, 0);
    }
    let had = dest.map_or(0, |d| d.advertised.inline_bits()) & ids;
    let mut to = 0u64;
    let mut from = None;
    if let Some(p) = best.filter(|p| llgr.ok(p, g.llgr)) {
        let may = ids & !g.refused(p, receivers);
        if may != 0 {
            let ri = g
                .index_of
                .get(may.trailing_zeros() as usize)
                .copied()
                .unwrap_or(usize::MAX);
            if let Some(r) = receivers.get_mut(ri) {
                ex.export_to_last(r, p, family, prefix);
                if r.last.as_ref().is_some_and(|(_, v)| v.is_some()) {
                    to = may;
                    from = Some(ri);
                }
            }
        }
    }
    let off = had & !to;
    let n = Nlri {
        prefix,
        path_id: None,
    };
    if let Some((_, Some(a))) = from
        .and_then(|ri| receivers.get(ri))
        .and_then(|r| r.last.as_ref())
    {
        if let Some(q) = g.queue_bits(to) {
            q.announce(family, a, n);
        }
    }
    if off != 0 {
        if let Some(q) = g.queue_bits(off) {
            q.withdraw(family, n);
        }
    }
    let on = to & !had;
    g.count(family, on, off, receivers);
    (on, off)
}

/// What one member of an update group is sent for the current destination.
#[derive(Clone)]
pub(super) enum Decision {
    /// Nothing.
    Skip,
    /// A withdrawal.
    Withdraw,
    /// An announcement with the receiver's `last` export result.
    Last,
    /// An announcement with these attributes (a route-server client's own choice).
    Owned(SharedAttrs),
}

/// What decides whether two receivers can share a queue: their export signature, how they
/// encode, the families they have, and whether they take LLGR-stale paths.
type GroupKey<'r> = (u32, SessionContext, &'r [Family], bool);

/// The update groups of a pass (two members at least); sets `Receiver::group`. Peers with
/// ADD-PATH for any family keep their own queue (their Adj-RIB-Out is per peer).
pub(super) fn update_groups(receivers: &mut [Receiver]) -> Vec<UpdateGroup> {
    let mut by_key: FastMap<GroupKey, Vec<usize>> = FastMap::default();
    for (i, r) in receivers.iter().enumerate() {
        if r.session.add_path_send != FamilySet::EMPTY {
            continue;
        }
        let key = (
            r.signature,
            r.session.send_context,
            &r.session.families[..],
            r.llgr,
        );
        by_key.entry(key).or_default().push(i);
    }
    let mut groups: Vec<UpdateGroup> = by_key
        .into_values()
        .filter(|m| m.len() > 1)
        .map(|m| UpdateGroup::new(m, receivers))
        .collect();
    groups.sort_unstable_by_key(|g| g.members.first().copied());
    for (gi, g) in groups.iter().enumerate() {
        for m in &g.members {
            if let Some(r) = receivers.get_mut(*m) {
                r.group = Some(gi);
            }
        }
    }
    groups
}

/// The attributes a decision announces (its address identifies it), `None` for a
/// withdrawal or nothing.
fn decided_attrs<'a>(d: &'a Decision, r: &'a Receiver) -> Option<&'a SharedAttrs> {
    match d {
        Decision::Skip | Decision::Withdraw => None,
        Decision::Last => r.last.as_ref().and_then(|(_, v)| v.as_ref()),
        Decision::Owned(a) => Some(a),
    }
}

/// Queues one member's decision for `n` in its own queue.
fn queue_own(d: &Decision, r: &mut Receiver, family: Family, n: Nlri) {
    match d {
        Decision::Skip => {}
        Decision::Withdraw => r.queued.withdraw(family, n),
        Decision::Last => {
            if let Some((_, Some(a))) = &r.last {
                r.queued.announce(family, a, n);
            }
        }
        Decision::Owned(a) => r.queued.announce(family, a, n),
    }
}

/// Queues the members' decisions for `n`. The members sent what the first member with a
/// decision is sent (the same exported set, or a withdrawal) are queued once, as one
/// receiving set; members sent nothing are left out of the set; a member sent something
/// else is queued on its own.
pub(super) fn queue_group(
    group: &mut UpdateGroup,
    decided: &[Decision],
    receivers: &mut [Receiver],
    family: Family,
    n: Nlri,
) {
    // Nothing = 0, withdrawal = 1 (an attribute set's address is neither), else the set.
    let id = |ri: usize, receivers: &[Receiver]| -> usize {
        match (decided.get(ri), receivers.get(ri)) {
            (Some(Decision::Withdraw), _) => 1,
            (Some(d), Some(r)) => decided_attrs(d, r).map_or(0, |a| Arc::as_ptr(a) as usize),
            _ => 0,
        }
    };
    group.mask.fill(0);
    // The shared decision and the first member sent it (a set of one member becomes that
    // member's own batch when the pass hands its queues out).
    let mut shared: Option<(usize, usize)> = None;
    for &m in &group.members {
        let this = id(m, receivers);
        if this == 0 {
            continue;
        }
        match shared {
            None => shared = Some((this, m)),
            Some((s, _)) if s == this => {}
            Some(_) => {
                if let (Some(d), Some(r)) = (decided.get(m), receivers.get_mut(m)) {
                    queue_own(d, r, family, n);
                }
                continue;
            }
        }
        if let Some(r) = receivers.get(m) {
            if let Some(w) = group.mask.get_mut(r.id as usize / 64) {
                *w |= 1 << (r.id % 64);
            }
        }
    }
    let Some((kind, first)) = shared else {
        return;
    };
    let (Some(d), Some(r)) = (decided.get(first), receivers.get(first)) else {
        return;
    };
    let Some(q) = group.queue() else {
        return;
    };
    if kind == 1 {
        q.withdraw(family, n);
    } else if let Some(a) = decided_attrs(d, r) {
        q.announce(family, a, n);
    }
}

/// What makes two destinations decided alike by every update group of a pass: the family and
/// their only path's attribute set (by address: the Loc-RIB holds it for the whole pass),
/// source peer, class and LLGR staleness. [`decide_group`] reads nothing else of a new
/// destination when its groups are decided a word at a time and their export results are
/// shared (the export policy does not look at the prefix).
type RepeatKey = (Family, usize, PeerId, Option<ClassId>, bool);

/// One group's part of a repeated decision: the members sent the route (peer-id bits), and
/// where its prefix went (queue, announcement) when they are not none.
type GroupRepeat = (u64, Option<(usize, usize)>);

/// The pass's decision for the last new destination, to repeat for the ones after it that
/// share its key: a full table comes as UPDATEs of several prefixes with one attribute set,
/// and each of them used to be decided again, group by group (about half of the RIB task's
/// instructions loading a table). A repeat appends the prefix to the announcement its
/// predecessor joined and sets the same advertised bits, the very steps [`decide_group`]
/// would take.
///
/// Only for a destination with one path, advertised to nobody, not the best last advertised
/// (a new destination, the common case while tables load), in a `Changes` pass to every
/// peer, where every receiver belongs to an update group decided a word at a time and
/// shares export results. Anything else takes the general way.
#[derive(Default)]
pub(super) struct RepeatDecision {
    /// Whether the pass allows repeats at all (see above).
    enabled: bool,
    key: Option<RepeatKey>,
    /// Per group, in group order.
    per_group: SmallVec<[GroupRepeat; 2]>,
}

impl RepeatDecision {
    /// Repeats are allowed in a `Changes` pass to every peer where every receiver is in an
    /// update group whose ids fit the inline word and shares export results.
    pub(super) fn new(
        changes_to_all: bool,
        receivers: &[Receiver],
        groups: &[UpdateGroup],
    ) -> Self {
        let enabled = changes_to_all
            && receivers.iter().all(|r| {
                r.memoize
                    && r.group
                        .and_then(|gi| groups.get(gi))
                        .is_some_and(|g| g.ids.is_some())
            });
        RepeatDecision {
            enabled,
            ..RepeatDecision::default()
        }
    }

    /// The key of a destination that may be repeated, `None` for one that takes the general
    /// way.
    pub(super) fn key(
        &self,
        dest: Option<&Destination>,
        best: Option<&Path>,
        family: Family,
        unchanged: bool,
        groups: &[UpdateGroup],
    ) -> Option<RepeatKey> {
        if !self.enabled || unchanged {
            return None;
        }
        let d = dest?;
        let p = best?;
        if d.paths.len() != 1 || !d.advertised.is_empty() {
            return None;
        }
        // A member holding its own view of some destination makes its group decide member
        // by member from then on.
        if groups.iter().any(|g| g.alternates) {
            return None;
        }
        Some((
            family,
            Arc::as_ptr(&p.attrs) as usize,
            p.peer,
            p.class,
            p.llgr_stale,
        ))
    }

    /// Repeats the last decision for a destination with `key`: queues `n` where its
    /// predecessor went and returns the bits to add to its advertised set; `None` when the
    /// last decision was for another key.
    pub(super) fn repeat(
        &self,
        key: RepeatKey,
        groups: &mut [UpdateGroup],
        receivers: &mut [Receiver],
        n: Nlri,
    ) -> Option<u64> {
        if self.key != Some(key) {
            return None;
        }
        let family = key.0;
        let mut on = 0;
        for (g, (to, at)) in groups.iter_mut().zip(&self.per_group) {
            if let Some((qi, ai)) = *at {
                if let Some((_, _, v)) = g
                    .queues
                    .get_mut(qi)
                    .and_then(|(_, q)| q.announce.get_mut(ai))
                {
                    v.push(n);
                }
            }
            g.count(family, *to, 0, receivers);
            on |= *to;
        }
        Some(on)
    }

    /// Keeps what [`decide_group`] just decided for a destination with `key` (`on`: each
    /// group's added bits, in group order), with where each announcement was queued.
    pub(super) fn remember(&mut self, key: RepeatKey, groups: &[UpdateGroup], on: &[u64]) {
        self.key = None;
        self.per_group.clear();
        for (g, &to) in groups.iter().zip(on) {
            let at = if to == 0 {
                None
            } else {
                // `decide_group` left the queue it used as the group's last, and the
                // announcement it joined as that queue's last.
                let at = g.last.and_then(|qi| {
                    g.queues
                        .get(qi)
                        .and_then(|(_, q)| q.last.map(|(_, ai)| (qi, ai)))
                });
                if at.is_none() {
                    return;
                }
                at
            };
            self.per_group.push((to, at));
        }
        if self.per_group.len() == groups.len() {
            self.key = Some(key);
        }
    }
}
