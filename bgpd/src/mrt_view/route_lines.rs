//! Which lines `bgpdump -m` prints for each MRT record, in which order, with which values.
//! The text and JSON printers render the [`Line`]s this module produces.
//!
//! bgpdump's rules, as observed on its output:
//! - BGP4MP / BGP4MP_ET UPDATEs: first one `W` line per withdrawn prefix (the Withdrawn
//!   Routes field, then MP_UNREACH_NLRI), then one `A` line per announced prefix (the NLRI
//!   field, then MP_REACH_NLRI). Other BGP messages print nothing. The first column is
//!   `BGP4MP`, with `_ET` for the extended timestamp, `_LOCAL` for messages the collector
//!   sent and `_AP` for ADD-PATH subtypes; ADD-PATH lines carry the path identifier.
//! - The peer is always the record's Peer IP / Peer AS. Its address is printed in its own
//!   family, except for an IPv4 peer of a `_LOCAL` record in IPv6 withdrawals, where bgpdump
//!   prints the IPv4 octets as an IPv6 address.
//! - Next hop of NLRI-field routes: NEXT_HOP; of MP_REACH_NLRI routes: its next hop (the
//!   global one of a pair). LOCAL_PREF and MED of IPv4 MP_REACH_NLRI routes print as signed.
//! - Prefixes print with the host bits as received (bgpdump 1.6.2 does not clear them).
//! - STATE_CHANGE: `STATE` lines with old and new state numbers.
//! - TABLE_DUMP_V2: `B` lines from RIB_IPV4_UNICAST, RIB_IPV6_UNICAST and their ADD-PATH
//!   subtypes (`TABLE_DUMP2_AP`), one per entry; the peer from the PEER_INDEX_TABLE; the next
//!   hop from MP_REACH_NLRI when present. Multicast and generic RIB records print nothing.
//! - TABLE_DUMP: one `B` line per record.
//! - The deprecated BGP type (5): `BGP` lines for the NLRI and Withdrawn Routes fields only,
//!   and `STATE` lines; in `A` lines the communities follow the MED without a separator, and
//!   `W` lines show the peer's address in place of the prefix's (bgpdump formats both into
//!   one static buffer).

use super::route_attributes::RouteAttributes;
use bgp_proto::mrt::{
    mrt_type, table_dump_v2_subtype as tdv2, Bgp4mpMessage, MrtBody, MrtHeader, MrtRecord,
    PeerIndexTable, RibRecord, TableDumpEntry,
};
use bgp_proto::{
    AttributeAction, ErrorKind, Message, MpNextHop, Nlri, PathAttributes, Update, UpdateIssue,
    AFI_IPV4, AFI_IPV6,
};
use ipnet::IpNet;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The kind of line (bgpdump's third column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineKind {
    /// `A`: an announcement.
    Announce,
    /// `W`: a withdrawal.
    Withdraw,
    /// `B`: a RIB entry.
    Rib,
    /// `STATE`: a state change.
    State,
}

impl LineKind {
    /// The column text.
    pub(crate) fn text(self) -> &'static str {
        match self {
            LineKind::Announce => "A",
            LineKind::Withdraw => "W",
            LineKind::Rib => "B",
            LineKind::State => "STATE",
        }
    }
}

/// The route columns of `A` and `B` lines.
pub(crate) struct RouteColumns<'a> {
    /// The attribute columns.
    pub attributes: &'a RouteAttributes,
    /// The next hop as printed.
    pub next_hop: IpAddr,
    /// LOCAL_PREF and MED printed as signed numbers (bgpdump's `%d`).
    pub signed: bool,
    /// bgpdump's layout for the deprecated BGP type: no separator between MED and the
    /// communities.
    pub legacy_layout: bool,
}

/// One output line.
pub(crate) struct Line<'a> {
    /// Changes whenever anything but `prefix` and `path_id` changes, so printers may cache
    /// the rest.
    pub group: u64,
    /// First column: BGP4MP, BGP4MP_ET, TABLE_DUMP2, ...
    pub format: &'static str,
    /// Seconds since the Unix epoch.
    pub timestamp: u32,
    /// Microseconds (BGP4MP_ET only).
    pub microseconds: Option<u32>,
    /// A, W, B or STATE.
    pub kind: LineKind,
    /// The peer address as printed.
    pub peer: IpAddr,
    /// The peer AS.
    pub peer_as: u32,
    /// Address (host bits as received) and length.
    pub prefix: Option<(IpAddr, u8)>,
    /// ADD-PATH path identifier.
    pub path_id: Option<u32>,
    /// Route columns of A and B lines.
    pub route: Option<RouteColumns<'a>>,
    /// Old and new state of STATE lines.
    pub states: Option<(u16, u16)>,
}

/// Where lines go (the text or the JSON printer).
pub(crate) trait LineSink {
    /// Prints one line.
    fn line(&mut self, line: &Line<'_>) -> io::Result<()>;
}

/// Turns records into lines; keeps the PEER_INDEX_TABLE between records.
#[derive(Default)]
pub(crate) struct RouteLines {
    peers: Option<PeerIndexTable>,
    attributes: RouteAttributes,
    group: u64,
    repaired: Vec<(u8, [u8; 16])>,
}

impl RouteLines {
    /// Prints the lines of one record.
    pub(crate) fn record(&mut self, record: MrtRecord, sink: &mut impl LineSink) -> io::Result<()> {
        let h = record.header;
        match record.body {
            MrtBody::Message(m) => self.message(&h, &m, sink),
            MrtBody::StateChange(s) => {
                self.group += 1;
                sink.line(&Line {
                    group: self.group,
                    format: match h.mrt_type {
                        mrt_type::BGP4MP_ET => "BGP4MP_ET",
                        mrt_type::BGP => "BGP",
                        _ => "BGP4MP",
                    },
                    timestamp: h.timestamp,
                    microseconds: h.microseconds,
                    kind: LineKind::State,
                    peer: s.peer.peer_address,
                    peer_as: s.peer.peer_as,
                    prefix: None,
                    path_id: None,
                    route: None,
                    states: Some((s.old_state, s.new_state)),
                })
            }
            MrtBody::PeerIndexTable(t) => {
                self.peers = Some(t);
                Ok(())
            }
            MrtBody::Rib(rib) => self.rib(&h, &rib, sink),
            MrtBody::TableDump(e) => self.table_dump(&h, &e, sink),
            MrtBody::Raw(_) => Ok(()),
        }
    }

    fn message(
        &mut self,
        h: &MrtHeader,
        m: &Bgp4mpMessage,
        sink: &mut impl LineSink,
    ) -> io::Result<()> {
        let Message::Update(u) = &m.message else {
            return Ok(());
        };
        let legacy = h.mrt_type == mrt_type::BGP;
        let format = match (h.mrt_type == mrt_type::BGP4MP_ET, m.local, m.add_path) {
            _ if legacy => "BGP",
            (false, false, false) => "BGP4MP",
            (false, false, true) => "BGP4MP_AP",
            (false, true, false) => "BGP4MP_LOCAL",
            (false, true, true) => "BGP4MP_LOCAL_AP",
            (true, false, false) => "BGP4MP_ET",
            (true, false, true) => "BGP4MP_ET_AP",
            (true, true, false) => "BGP4MP_ET_LOCAL",
            (true, true, true) => "BGP4MP_ET_LOCAL_AP",
        };
        self.find_repaired(u, &m.raw);
        let peer = m.peer.peer_address;
        let mut base = Line {
            group: 0,
            format,
            timestamp: h.timestamp,
            microseconds: h.microseconds,
            kind: LineKind::Withdraw,
            peer,
            peer_as: m.peer.peer_as,
            prefix: None,
            path_id: None,
            route: None,
            states: None,
        };

        // Withdrawals: the Withdrawn Routes field, then MP_UNREACH_NLRI.
        self.group += 1;
        base.group = self.group;
        for n in &u.withdrawn {
            if legacy {
                // bgpdump 1.6.2 formats both addresses of these lines into one static buffer:
                // the prefix shows the peer's address.
                base.prefix = Some((peer, n.prefix.prefix_len()));
                base.path_id = n.path_id;
                sink.line(&base)?;
            } else {
                self.emit(&mut base, n, sink)?;
            }
        }
        // bgpdump prints no multiprotocol routes of the deprecated BGP type.
        if let Some(mp) = u.attributes.mp_unreach().filter(|_| !legacy) {
            self.group += 1;
            base.group = self.group;
            if mp.family.afi == AFI_IPV6 {
                if let (IpAddr::V4(v4), true) = (peer, m.local) {
                    base.peer = IpAddr::V6(v4_octets_as_v6(v4));
                }
            }
            for n in &mp.withdrawn {
                self.emit(&mut base, n, sink)?;
            }
            base.peer = peer;
        }

        // Announcements: the NLRI field, then MP_REACH_NLRI.
        if u.nlri.is_empty() && u.attributes.mp_reach().is_none() {
            return Ok(());
        }
        let mut attributes = std::mem::take(&mut self.attributes);
        attributes.fill(&u.attributes, &u.issues, !m.four_octet_as);
        base.kind = LineKind::Announce;
        let result = (|| {
            if !u.nlri.is_empty() {
                self.group += 1;
                base.group = self.group;
                base.route = Some(RouteColumns {
                    attributes: &attributes,
                    next_hop: IpAddr::V4(attributes.next_hop),
                    signed: false,
                    legacy_layout: legacy,
                });
                for n in &u.nlri {
                    self.emit(&mut base, n, sink)?;
                }
            }
            if let Some(mp) = u.attributes.mp_reach().filter(|_| !legacy) {
                self.group += 1;
                base.group = self.group;
                base.route = Some(RouteColumns {
                    attributes: &attributes,
                    next_hop: mp_next_hop(&mp.next_hop).unwrap_or(IpAddr::V4(attributes.next_hop)),
                    signed: mp.family.afi == AFI_IPV4,
                    legacy_layout: false,
                });
                for n in &mp.nlri {
                    self.emit(&mut base, n, sink)?;
                }
            }
            Ok(())
        })();
        self.attributes = attributes;
        result
    }

    /// Prints `base` for one NLRI entry.
    fn emit(&mut self, base: &mut Line<'_>, n: &Nlri, sink: &mut impl LineSink) -> io::Result<()> {
        base.prefix = Some((self.printed_address(&n.prefix), n.prefix.prefix_len()));
        base.path_id = n.path_id;
        sink.line(base)
    }

    /// The address bgpdump prints for `prefix`: as received, host bits included.
    fn printed_address(&mut self, prefix: &IpNet) -> IpAddr {
        if !self.repaired.is_empty() {
            let len = prefix.prefix_len();
            let found = self.repaired.iter().position(|(l, raw)| {
                *l == len
                    && IpNet::new(address_of(prefix, raw), len).map(|n| n.trunc()) == Ok(*prefix)
            });
            if let Some(i) = found {
                let (_, raw) = self.repaired.swap_remove(i);
                return address_of(prefix, &raw);
            }
        }
        prefix.addr()
    }

    /// Finds the prefixes whose host bits the decoder cleared, and their bits as received.
    fn find_repaired(&mut self, u: &Update, raw: &[u8]) {
        self.repaired.clear();
        for issue in &u.issues {
            if let UpdateIssue {
                kind: ErrorKind::InvalidNetworkField { .. },
                action: AttributeAction::Repaired,
                offset,
            } = issue
            {
                if let Some(found) = raw_prefix(raw, *offset) {
                    self.repaired.push(found);
                }
            }
        }
    }

    fn rib(&mut self, h: &MrtHeader, rib: &RibRecord, sink: &mut impl LineSink) -> io::Result<()> {
        let format = match rib.subtype() {
            tdv2::RIB_IPV4_UNICAST | tdv2::RIB_IPV6_UNICAST => "TABLE_DUMP2",
            tdv2::RIB_IPV4_UNICAST_ADDPATH | tdv2::RIB_IPV6_UNICAST_ADDPATH => "TABLE_DUMP2_AP",
            _ => return Ok(()),
        };
        let Some(peers) = self.peers.take() else {
            eprintln!("bgpd: RIB record without a PEER_INDEX_TABLE before it; skipped");
            return Ok(());
        };
        let mut attributes = std::mem::take(&mut self.attributes);
        let mut result = Ok(());
        for e in &rib.entries {
            let Some(peer) = peers.peer(e.peer_index) else {
                eprintln!(
                    "bgpd: RIB entry with peer index {} beyond the PEER_INDEX_TABLE; skipped",
                    e.peer_index
                );
                continue;
            };
            attributes.fill(&e.attributes, &e.issues, false);
            self.group += 1;
            result = sink.line(&Line {
                group: self.group,
                format,
                timestamp: h.timestamp,
                microseconds: None,
                kind: LineKind::Rib,
                peer: peer.address,
                peer_as: peer.asn,
                prefix: Some((rib.prefix.addr(), rib.prefix.prefix_len())),
                path_id: e.path_id,
                route: Some(RouteColumns {
                    attributes: &attributes,
                    next_hop: rib_next_hop(&e.attributes, attributes.next_hop),
                    signed: false,
                    legacy_layout: false,
                }),
                states: None,
            });
            if result.is_err() {
                break;
            }
        }
        self.attributes = attributes;
        self.peers = Some(peers);
        result
    }

    fn table_dump(
        &mut self,
        h: &MrtHeader,
        e: &TableDumpEntry,
        sink: &mut impl LineSink,
    ) -> io::Result<()> {
        let mut attributes = std::mem::take(&mut self.attributes);
        attributes.fill(&e.attributes, &e.issues, true);
        self.group += 1;
        let result = sink.line(&Line {
            group: self.group,
            format: "TABLE_DUMP",
            timestamp: h.timestamp,
            microseconds: None,
            kind: LineKind::Rib,
            peer: e.peer_address,
            peer_as: u32::from(e.peer_as),
            prefix: Some((e.prefix.addr(), e.prefix.prefix_len())),
            path_id: None,
            route: Some(RouteColumns {
                attributes: &attributes,
                next_hop: rib_next_hop(&e.attributes, attributes.next_hop),
                signed: false,
                legacy_layout: false,
            }),
            states: None,
        });
        self.attributes = attributes;
        result
    }
}

/// The printed next hop of an MP_REACH_NLRI (the global address of a pair).
fn mp_next_hop(nh: &MpNextHop) -> Option<IpAddr> {
    match nh {
        MpNextHop::Ipv4(a) => Some(IpAddr::V4(*a)),
        MpNextHop::Ipv6 { global, .. } => Some(IpAddr::V6(*global)),
        MpNextHop::Opaque(_) => None,
    }
}

/// A RIB entry's next hop: from MP_REACH_NLRI when present, else NEXT_HOP.
fn rib_next_hop(attrs: &PathAttributes, next_hop: Ipv4Addr) -> IpAddr {
    attrs
        .mp_reach()
        .and_then(|m| mp_next_hop(&m.next_hop))
        .unwrap_or(IpAddr::V4(next_hop))
}

/// bgpdump's rendering of an IPv4 address where it expects IPv6: the four octets followed
/// by zeros.
fn v4_octets_as_v6(a: Ipv4Addr) -> Ipv6Addr {
    Ipv6Addr::from(u128::from(u32::from(a)) << 96)
}

/// The prefix at `offset` of a message (its length octet): length and address octets as
/// received.
fn raw_prefix(raw: &[u8], offset: usize) -> Option<(u8, [u8; 16])> {
    let (len, rest) = raw.get(offset..)?.split_first()?;
    let bytes = rest.get(..usize::from(*len).div_ceil(8))?;
    let mut o = [0u8; 16];
    o.iter_mut().zip(bytes).for_each(|(d, s)| *d = *s);
    Some((*len, o))
}

/// `raw` as an address of `prefix`'s family.
fn address_of(prefix: &IpNet, raw: &[u8; 16]) -> IpAddr {
    match prefix {
        IpNet::V4(_) => {
            let [a, b, c, d, ..] = *raw;
            IpAddr::V4(Ipv4Addr::new(a, b, c, d))
        }
        IpNet::V6(_) => IpAddr::V6(Ipv6Addr::from(*raw)),
    }
}
