//! The fields of a BGP message as a flat list of `key=value` facts in wire order, computed
//! twice: from this crate's decoded [`Message`] and from tshark's dissection of the same
//! octets. Two lists that are equal mean Wireshark and this crate read the message alike.
//!
//! Values are normalised only in representation (numbers in decimal, addresses as Rust prints
//! them, octets in lower-case hex), never in content. Where Wireshark 4.0 shows a value in a
//! particular shape (a well-known community as one number, a capability it does not know as
//! raw octets), the crate side produces that shape from the decoded value.

use super::tshark::Node;
use bgp_proto::{
    AsPath, AttributeValue, Capability, Message, MpNextHop, Nlri, Notification, Open,
    OptionalParameter, PathAttribute, SessionContext, Update, AS_TRANS,
};
use std::fmt::Display;
use std::net::IpAddr;

/// How a tshark field's value is turned into a fact.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A number, shown in decimal or as `0x…`.
    Number,
    /// An IPv4 or IPv6 address.
    Address,
    /// Text, as shown.
    Text,
    /// The field's octets in hex; the field's subtree is not read.
    Octets,
    /// The octets a field without a value of its own covers (its position and size, read
    /// from the message), in hex; the subtree is read.
    Span,
}

/// tshark field name → fact key. Fields not listed are not facts, but their subtrees are read.
const FIELDS: &[(&str, &str, Kind)] = {
    use Kind::*;
    &[
        ("bgp.type", "type", Number),
        ("bgp.length", "length", Number),
        // OPEN
        ("bgp.open.version", "open.version", Number),
        ("bgp.open.myas", "open.my_as", Number),
        ("bgp.open.holdtime", "open.hold_time", Number),
        ("bgp.open.identifier", "open.bgp_id", Address),
        ("bgp.open.opt.len", "open.params_len", Number),
        ("bgp.open.opt.param.type", "param.type", Number),
        ("bgp.open.opt.param.len", "param.len", Number),
        ("bgp.cap.type", "cap.code", Number),
        ("bgp.cap.length", "cap.len", Number),
        ("bgp.cap.mp.afi", "cap.mp.afi", Number),
        ("bgp.cap.mp.safi", "cap.mp.safi", Number),
        ("bgp.cap.enh.afi", "cap.enh.afi", Number),
        ("bgp.cap.enh.safi", "cap.enh.safi", Number),
        ("bgp.cap.enh.nhafi", "cap.enh.nh_afi", Number),
        ("bgp.cap.gr.timers", "cap.gr.timers", Number),
        ("bgp.cap.gr.timers.restart_flag", "cap.gr.restart", Number),
        (
            "bgp.cap.gr.timers.notification_flag",
            "cap.gr.notification",
            Number,
        ),
        ("bgp.cap.gr.timers.restart_time", "cap.gr.time", Number),
        ("bgp.cap.gr.afi", "cap.gr.afi", Number),
        ("bgp.cap.gr.safi", "cap.gr.safi", Number),
        ("bgp.cap.gr.flag", "cap.gr.flags", Number),
        ("bgp.cap.4as", "cap.4as", Number),
        ("bgp.cap.ap.afi", "cap.ap.afi", Number),
        ("bgp.cap.ap.safi", "cap.ap.safi", Number),
        ("bgp.cap.ap.sendreceive", "cap.ap.mode", Number),
        ("bgp.cap.orf.fqdn.hostname.len", "cap.fqdn.host_len", Number),
        ("bgp.cap.orf.fqdn.hostname", "cap.fqdn.host", Text),
        (
            "bgp.cap.orf.fqdn.domain_name.len",
            "cap.fqdn.domain_len",
            Number,
        ),
        ("bgp.cap.orf.fqdn.domain_name", "cap.fqdn.domain", Text),
        ("bgp.cap.unknown", "cap.data", Octets),
        // UPDATE
        (
            "bgp.update.withdrawn_routes.length",
            "withdrawn.len",
            Number,
        ),
        ("bgp.update.path_attributes.length", "attrs.len", Number),
        ("bgp.update.path_attribute.flags", "attr.flags", Number),
        ("bgp.update.path_attribute.type_code", "attr.type", Number),
        ("bgp.update.path_attribute.length", "attr.len", Number),
        ("bgp.update.path_attribute.origin", "origin", Number),
        (
            "bgp.update.path_attribute.as_path_segment.type",
            "as_path.seg.type",
            Number,
        ),
        (
            "bgp.update.path_attribute.as_path_segment.length",
            "as_path.seg.len",
            Number,
        ),
        (
            "bgp.update.path_attribute.as_path_segment.as2",
            "as_path.as2",
            Number,
        ),
        (
            "bgp.update.path_attribute.as_path_segment.as4",
            "as_path.as4",
            Number,
        ),
        ("bgp.update.path_attribute.next_hop", "next_hop", Address),
        ("bgp.update.path_attribute.multi_exit_disc", "med", Number),
        ("bgp.update.path_attribute.local_pref", "local_pref", Number),
        (
            "bgp.update.path_attribute.aggregator_as",
            "aggregator.as",
            Number,
        ),
        (
            "bgp.update.path_attribute.aggregator_origin",
            "aggregator.address",
            Address,
        ),
        (
            "bgp.update.path_attribute.community_wellknown",
            "community.well_known",
            Number,
        ),
        (
            "bgp.update.path_attribute.community_as",
            "community.as",
            Number,
        ),
        (
            "bgp.update.path_attribute.community_value",
            "community.value",
            Number,
        ),
        (
            "bgp.update.path_attribute.originator_id",
            "originator_id",
            Address,
        ),
        ("bgp.path_attribute.cluster_id", "cluster_id", Address),
        (
            "bgp.update.path_attribute.mp_reach_nlri.afi",
            "mp_reach.afi",
            Number,
        ),
        (
            "bgp.update.path_attribute.mp_reach_nlri.safi",
            "mp_reach.safi",
            Number,
        ),
        (
            "bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv4",
            "mp_reach.next_hop",
            Address,
        ),
        (
            "bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6",
            "mp_reach.next_hop",
            Address,
        ),
        (
            "bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6.link_local",
            "mp_reach.link_local",
            Address,
        ),
        (
            "bgp.update.path_attribute.mp_reach_nlri.nbr_snpa",
            "mp_reach.snpa_count",
            Number,
        ),
        (
            "bgp.update.path_attribute.mp_unreach_nlri.afi",
            "mp_unreach.afi",
            Number,
        ),
        (
            "bgp.update.path_attribute.mp_unreach_nlri.safi",
            "mp_unreach.safi",
            Number,
        ),
        ("bgp.ext_community", "ext_community", Span),
        ("bgp.ext_com.type", "ext_community.type", Number),
        ("bgp.ext_com.stype_tr_as2", "ext_community.subtype", Number),
        ("bgp.ext_com.stype_ntr_as2", "ext_community.subtype", Number),
        ("bgp.ext_com.stype_tr_IP4", "ext_community.subtype", Number),
        ("bgp.ext_com.stype_ntr_IP4", "ext_community.subtype", Number),
        ("bgp.ext_com.stype_tr_as4", "ext_community.subtype", Number),
        ("bgp.ext_com.stype_ntr_as4", "ext_community.subtype", Number),
        ("bgp.ext_com.value_as2", "ext_community.global", Number),
        ("bgp.ext_com.value_as4", "ext_community.global", Number),
        ("bgp.ext_com.value_IP4", "ext_community.global", Address),
        ("bgp.ext_com.value_an2", "ext_community.local", Number),
        ("bgp.ext_com.value_an4", "ext_community.local", Number),
        ("bgp.large_communities.ga", "large.global", Number),
        ("bgp.large_communities.ldp1", "large.local1", Number),
        ("bgp.large_communities.ldp2", "large.local2", Number),
        ("bgp.update.path_attributes.unknown", "attr.data", Span),
        // NOTIFICATION
        ("bgp.notify.major_error", "notify.code", Number),
        ("bgp.notify.minor_error", "notify.subcode", Number),
        ("bgp.notify.minor_error_open", "notify.subcode", Number),
        ("bgp.notify.minor_error_update", "notify.subcode", Number),
        ("bgp.notify.minor_error_expired", "notify.subcode", Number),
        ("bgp.notify.minor_error_state", "notify.subcode", Number),
        ("bgp.notify.minor_error_cease", "notify.subcode", Number),
        (
            "bgp.notify.minor_error_capability",
            "notify.subcode",
            Number,
        ),
        ("bgp.notify.minor_error_unknown", "notify.subcode", Number),
        ("bgp.notify.minor_data", "notify.data", Octets),
        (
            "bgp.notify.error_open.bad_peer_as",
            "notify.bad_peer_as",
            Number,
        ),
        (
            "bgp.notify.communication_length",
            "notify.shutdown.len",
            Number,
        ),
        ("bgp.notify.communication", "notify.shutdown", Text),
        // ROUTE-REFRESH
        ("bgp.route_refresh.afi", "refresh.afi", Number),
        ("bgp.route_refresh.subtype", "refresh.subtype", Number),
        ("bgp.route_refresh.safi", "refresh.safi", Number),
    ]
};

/// Panics with the first fact where `ours` and `tshark` differ, and those around it.
pub fn assert_same(ours: &[String], tshark: &[String], what: &str) {
    let Some(at) = (0..ours.len().max(tshark.len())).find(|i| ours.get(*i) != tshark.get(*i))
    else {
        return;
    };
    let around = |list: &[String]| -> Vec<String> {
        list.iter()
            .skip(at.saturating_sub(6))
            .take(12)
            .cloned()
            .collect()
    };
    panic!(
        "{what}: this crate and tshark disagree at fact {at} of {}/{}:\n  this crate: {:?}\n  tshark:     {:?}",
        ours.len(),
        tshark.len(),
        around(ours),
        around(tshark)
    );
}

fn number(show: &str) -> String {
    let n = match show.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => show.parse(),
    };
    n.map_or_else(|_| format!("unreadable number {show:?}"), |n| n.to_string())
}

fn address(show: &str) -> String {
    show.parse::<IpAddr>().map_or_else(
        |_| format!("unreadable address {show:?}"),
        |a| a.to_string(),
    )
}

fn hex(octets: &[u8]) -> String {
    octets.iter().map(|b| format!("{b:02x}")).collect()
}

/// The facts tshark shows for one `<proto name="bgp">` element; `message` holds the octets of
/// that message (for fields Wireshark shows only by position).
pub fn from_tshark(bgp: &Node, message: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let reader = Reader {
        message,
        start: bgp.pos,
    };
    for c in &bgp.children {
        reader.visit(c, "", &mut out);
    }
    out
}

struct Reader<'a> {
    message: &'a [u8],
    /// Position of the message in tshark's octets.
    start: usize,
}

impl Reader<'_> {
    fn visit(&self, node: &Node, section: &str, out: &mut Vec<String>) {
        // A prefix is a text-only tree label holding its length, address and path identifier.
        if node.name.is_empty() && node.child("bgp.prefix_length").is_some() {
            let len = node.child("bgp.prefix_length").map_or("?", |n| &n.show);
            let addr = node
                .children
                .iter()
                .find(|c| c.name.ends_with("_prefix") && c.name != "bgp.prefix_length")
                .map_or_else(|| "?".to_string(), |c| address(&c.show));
            let id = node
                .child("bgp.nlri_path_id")
                .map(|n| format!(" path_id={}", number(&n.show)))
                .unwrap_or_default();
            out.push(format!("{section}={addr}/{len}{id}"));
            return;
        }
        let section = match node.name.as_str() {
            "bgp.update.withdrawn_routes" => "withdrawn",
            "bgp.update.nlri" => "nlri",
            "bgp.update.path_attribute.mp_reach_nlri" => "mp_reach.nlri",
            "bgp.update.path_attribute.mp_unreach_nlri" => "mp_unreach.withdrawn",
            _ => section,
        };
        if let Some((_, key, kind)) = FIELDS.iter().find(|(name, ..)| *name == node.name) {
            let value = match kind {
                Kind::Number => number(&node.show),
                Kind::Address => address(&node.show),
                Kind::Text => node.show.clone(),
                Kind::Octets => node.value.to_ascii_lowercase(),
                Kind::Span => node
                    .pos
                    .checked_sub(self.start)
                    .and_then(|at| self.message.get(at..at + node.size))
                    .map_or_else(|| format!("outside the message: {}", node.showname), hex),
            };
            out.push(format!("{key}={value}"));
            if *kind == Kind::Octets {
                return;
            }
        }
        for c in &node.children {
            self.visit(c, section, out);
        }
    }
}

/// Facts collected from a decoded message.
struct Facts(Vec<String>);

impl Facts {
    fn push(&mut self, key: &str, value: impl Display) {
        self.0.push(format!("{key}={value}"));
    }

    fn hex(&mut self, key: &str, octets: &[u8]) {
        self.push(key, hex(octets));
    }

    fn prefix(&mut self, section: &str, n: &Nlri, add_path: bool) {
        let id = if add_path {
            format!(" path_id={}", n.path_id.unwrap_or(0))
        } else {
            String::new()
        };
        self.0.push(format!(
            "{section}={}/{}{id}",
            n.prefix.addr(),
            n.prefix.prefix_len()
        ));
    }
}

/// The facts of `message` as encoded in `ctx`, in the shape tshark 4.0 shows them.
pub fn from_message(message: &Message, ctx: &SessionContext) -> Vec<String> {
    let mut f = Facts(Vec::new());
    f.push("length", message.wire_len(ctx));
    f.push("type", message.message_type().code());
    match message {
        Message::Open(o) => open(&mut f, o),
        Message::Update(u) => update(&mut f, u, ctx),
        Message::Notification(n) => notification(&mut f, n),
        Message::Keepalive => {}
        Message::RouteRefresh(r) => {
            f.push("refresh.afi", r.family.afi);
            f.push("refresh.subtype", r.subtype);
            f.push("refresh.safi", r.family.safi);
        }
    }
    f.0
}

fn open(f: &mut Facts, o: &Open) {
    f.push("open.version", o.version);
    f.push("open.my_as", o.my_as);
    f.push("open.hold_time", o.hold_time);
    f.push("open.bgp_id", o.bgp_id);
    let params: Vec<(u8, usize, &[Capability])> = o
        .params
        .iter()
        .map(|p| match p {
            OptionalParameter::Capabilities(c) => {
                (2, c.iter().map(Capability::wire_len).sum(), c.as_slice())
            }
            OptionalParameter::Unknown { param_type, data } => (*param_type, data.len(), &[][..]),
        })
        .collect();
    f.push(
        "open.params_len",
        params.iter().map(|(_, len, _)| 2 + len).sum::<usize>(),
    );
    for (param_type, len, caps) in params {
        f.push("param.type", param_type);
        f.push("param.len", len);
        for c in caps {
            capability(f, c);
        }
    }
}

fn capability(f: &mut Facts, c: &Capability) {
    f.push("cap.code", c.code());
    f.push("cap.len", c.value_len());
    match c {
        Capability::Multiprotocol(fam) => {
            f.push("cap.mp.afi", fam.afi);
            f.push("cap.mp.safi", fam.safi);
        }
        Capability::RouteRefresh
        | Capability::EnhancedRouteRefresh
        | Capability::ExtendedMessage => {}
        Capability::ExtendedNextHop(v) => {
            for (afi, safi, nh_afi) in v {
                f.push("cap.enh.afi", afi);
                f.push("cap.enh.safi", safi);
                f.push("cap.enh.nh_afi", nh_afi);
            }
        }
        Capability::GracefulRestart {
            flags,
            restart_time,
            families,
        } => {
            f.push(
                "cap.gr.timers",
                (u16::from(*flags & 0xf) << 12) | (restart_time & 0x0fff),
            );
            f.push("cap.gr.restart", u8::from(flags & 0x8 != 0));
            f.push("cap.gr.notification", u8::from(flags & 0x4 != 0));
            f.push("cap.gr.time", restart_time & 0x0fff);
            for fam in families {
                f.push("cap.gr.afi", fam.family.afi);
                f.push("cap.gr.safi", fam.family.safi);
                f.push("cap.gr.flags", fam.flags);
            }
        }
        Capability::FourOctetAs(asn) => f.push("cap.4as", asn),
        Capability::AddPath(v) => {
            for (fam, mode) in v {
                f.push("cap.ap.afi", fam.afi);
                f.push("cap.ap.safi", fam.safi);
                f.push("cap.ap.mode", mode.code());
            }
        }
        Capability::Fqdn { hostname, domain } => {
            f.push("cap.fqdn.host_len", hostname.len());
            f.push("cap.fqdn.host", String::from_utf8_lossy(hostname));
            f.push("cap.fqdn.domain_len", domain.len());
            f.push("cap.fqdn.domain", String::from_utf8_lossy(domain));
        }
        // Wireshark 4.0 shows these as raw octets: role (9), long-lived graceful restart
        // (71), software version (75) and capabilities it does not know.
        other => {
            if other.value_len() > 0 {
                let mut buf = bytes::BytesMut::new();
                other.encode(&mut buf);
                f.hex("cap.data", buf.get(2..).unwrap_or_default());
            }
        }
    }
}

fn as_path(f: &mut Facts, path: &AsPath, four_octet: bool) {
    for seg in path.segments() {
        for chunk in seg.asns.chunks(255) {
            f.push("as_path.seg.type", seg.kind.code());
            f.push("as_path.seg.len", chunk.len());
            for asn in chunk {
                if four_octet {
                    f.push("as_path.as4", asn);
                } else {
                    f.push(
                        "as_path.as2",
                        u16::try_from(*asn).unwrap_or(AS_TRANS as u16),
                    );
                }
            }
        }
    }
}

fn update(f: &mut Facts, u: &Update, ctx: &SessionContext) {
    let v4_add_path = ctx.add_path.contains(bgp_proto::Family::IPV4_UNICAST);
    f.push(
        "withdrawn.len",
        u.withdrawn
            .iter()
            .map(|n| n.wire_len(v4_add_path))
            .sum::<usize>(),
    );
    for n in &u.withdrawn {
        f.prefix("withdrawn", n, v4_add_path);
    }
    f.push("attrs.len", u.attributes.wire_len(ctx));
    for a in &u.attributes.0 {
        attribute(f, a, ctx);
    }
    for n in &u.nlri {
        f.prefix("nlri", n, v4_add_path);
    }
}

fn attribute(f: &mut Facts, a: &PathAttribute, ctx: &SessionContext) {
    let len = a.value.wire_len(ctx);
    let extended = if len > 255 {
        bgp_proto::attribute_flags::EXTENDED_LENGTH
    } else {
        0
    };
    f.push("attr.flags", a.flags | extended);
    f.push("attr.type", a.type_code());
    f.push("attr.len", len);
    match &a.value {
        AttributeValue::Origin(o) => f.push("origin", o.code()),
        AttributeValue::AsPath(p) => as_path(f, p, ctx.four_octet_as),
        AttributeValue::As4Path(p) => as_path(f, p, true),
        AttributeValue::NextHop(a) => f.push("next_hop", a),
        AttributeValue::Med(v) => f.push("med", v),
        AttributeValue::LocalPref(v) => f.push("local_pref", v),
        AttributeValue::AtomicAggregate => {}
        AttributeValue::Aggregator(ag) => {
            let asn = if ctx.four_octet_as {
                ag.asn
            } else {
                u32::from(u16::try_from(ag.asn).unwrap_or(AS_TRANS as u16))
            };
            f.push("aggregator.as", asn);
            f.push("aggregator.address", ag.address);
        }
        AttributeValue::As4Aggregator(ag) => {
            f.push("aggregator.as", ag.asn);
            f.push("aggregator.address", ag.address);
        }
        AttributeValue::Communities(list) => {
            for c in list {
                // Wireshark shows 0x0000xxxx and 0xFFFFxxxx as one well-known value.
                if matches!(c.0 >> 16, 0 | 0xffff) {
                    f.push("community.well_known", c.0);
                } else {
                    f.push("community.as", c.0 >> 16);
                    f.push("community.value", c.0 & 0xffff);
                }
            }
        }
        AttributeValue::OriginatorId(a) => f.push("originator_id", a),
        AttributeValue::ClusterList(list) => {
            for a in list {
                f.push("cluster_id", a);
            }
        }
        AttributeValue::MpReach(m) => {
            f.push("mp_reach.afi", m.family.afi);
            f.push("mp_reach.safi", m.family.safi);
            match &m.next_hop {
                MpNextHop::Ipv4(a) => f.push("mp_reach.next_hop", a),
                MpNextHop::Ipv6 { global, link_local } => {
                    f.push("mp_reach.next_hop", global);
                    if let Some(ll) = link_local {
                        f.push("mp_reach.link_local", ll);
                    }
                }
                MpNextHop::Opaque(b) => f.hex("mp_reach.next_hop.octets", b),
            }
            f.push("mp_reach.snpa_count", 0);
            let add_path = ctx.add_path.contains(m.family);
            for n in &m.nlri {
                f.prefix("mp_reach.nlri", n, add_path);
            }
            if !m.opaque_nlri.is_empty() {
                f.hex("mp_reach.opaque_nlri", &m.opaque_nlri);
            }
        }
        AttributeValue::MpUnreach(m) => {
            f.push("mp_unreach.afi", m.family.afi);
            f.push("mp_unreach.safi", m.family.safi);
            let add_path = ctx.add_path.contains(m.family);
            for n in &m.withdrawn {
                f.prefix("mp_unreach.withdrawn", n, add_path);
            }
            if !m.opaque_nlri.is_empty() {
                f.hex("mp_unreach.opaque_nlri", &m.opaque_nlri);
            }
        }
        AttributeValue::ExtendedCommunities(list) => {
            for c in list {
                extended_community(f, &c.0);
            }
        }
        AttributeValue::LargeCommunities(list) => {
            for c in list {
                f.push("large.global", c.global_admin);
                f.push("large.local1", c.local_data_1);
                f.push("large.local2", c.local_data_2);
            }
        }
        // Wireshark 4.0 does not know ONLY_TO_CUSTOMER (RFC 9234) and shows its octets.
        AttributeValue::OnlyToCustomer(v) => f.hex("attr.data", &v.to_be_bytes()),
        AttributeValue::Unknown { data, .. } => f.hex("attr.data", data),
    }
}

/// An extended community; the global and local administrator of the route target and route
/// origin of the 2-octet-AS, IPv4 and 4-octet-AS types (RFC 4360, RFC 5668).
fn extended_community(f: &mut Facts, b: &[u8; 8]) {
    f.hex("ext_community", b);
    f.push("ext_community.type", b[0]);
    if !matches!(b[0] & 0xbf, 0x00..=0x02) {
        return;
    }
    f.push("ext_community.subtype", b[1]);
    if !matches!(b[1], 0x02 | 0x03) {
        return;
    }
    let be16 = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
    let be32 = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    match b[0] & 0xbf {
        0x00 => {
            f.push("ext_community.global", be16(2));
            f.push("ext_community.local", be32(4));
        }
        0x01 => {
            f.push(
                "ext_community.global",
                std::net::Ipv4Addr::new(b[2], b[3], b[4], b[5]),
            );
            f.push("ext_community.local", be16(6));
        }
        _ => {
            f.push("ext_community.global", be32(2));
            f.push("ext_community.local", be16(6));
        }
    }
}

fn notification(f: &mut Facts, n: &Notification) {
    f.push("notify.code", n.code);
    f.push("notify.subcode", n.subcode);
    let Some((&first, rest)) = n.data.split_first() else {
        return;
    };
    // Wireshark's reading of the data: an RFC 9003 shutdown communication when the length
    // octet covers exactly the rest, the AS of a Bad Peer AS, raw octets otherwise.
    let shutdown = n.code == 6 && matches!(n.subcode, 2 | 4) && usize::from(first) == rest.len();
    if shutdown {
        f.push("notify.shutdown.len", first);
        f.push("notify.shutdown", String::from_utf8_lossy(rest));
    } else if (n.code, n.subcode) == (2, 2) && n.data.len() <= 4 {
        let asn = n.data.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b));
        f.push("notify.bad_peer_as", asn);
    } else {
        f.hex("notify.data", &n.data);
    }
}
