//! Prometheus metrics (`/metrics`). Names follow the Prometheus conventions: `bgpd_` prefix,
//! base units, `_total` for counters; label values are peer addresses, families, classes,
//! message types and NOTIFICATION codes.
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `bgpd_peer_up` | gauge | peer, peer_as | 1 while Established |
//! | `bgpd_peer_state` | gauge | peer | FSM state: 1 Idle, 2 Connect, 3 Active, 4 OpenSent, 5 OpenConfirm, 6 Established |
//! | `bgpd_peer_uptime_seconds` | gauge | peer | seconds since the session went up (0 when down) |
//! | `bgpd_peer_flaps_total` | counter | peer | times the session left Established |
//! | `bgpd_peer_messages_received_total` | counter | peer, type | messages received by type |
//! | `bgpd_peer_messages_sent_total` | counter | peer, type | messages sent by type |
//! | `bgpd_peer_notifications_received_total` | counter | peer, code, subcode | NOTIFICATIONs received |
//! | `bgpd_peer_notifications_sent_total` | counter | peer, code, subcode | NOTIFICATIONs sent |
//! | `bgpd_peer_update_errors_total` | counter | peer, action | RFC 7606 outcomes of received UPDATEs (treat-as-withdraw, attribute-discard, repaired), each counted even when its log line is rate-limited |
//! | `bgpd_peer_prefixes_received` | gauge | peer, family | routes in the Adj-RIB-In (before policy) |
//! | `bgpd_peer_prefixes_accepted` | gauge | peer, family, class | routes accepted into the Loc-RIB |
//! | `bgpd_peer_prefixes_advertised` | gauge | peer, family | routes in the Adj-RIB-Out |
//! | `bgpd_rib_routes` | gauge | family | paths in the Loc-RIB |
//! | `bgpd_rib_prefixes` | gauge | family | destinations in the Loc-RIB |
//! | `bgpd_rib_attribute_sets` | gauge | | distinct interned attribute sets |
//! | `bgpd_audit_findings` | gauge | check, severity | open findings of the in-daemon audit |
//! | `bgpd_rib_pass_prefixes` | histogram | | prefixes per RIB pass: a run of queued UPDATEs imported and exported together (count = passes) |
//! | `process_*` | | | RSS, CPU seconds, open files (prometheus process collector) |

use prometheus::{Histogram, HistogramOpts, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};
use std::sync::LazyLock;

/// Every metric bgpd exports.
pub struct Metrics {
    /// The registry `/metrics` gathers.
    pub registry: Registry,
    /// `bgpd_peer_up`.
    pub peer_up: IntGaugeVec,
    /// `bgpd_peer_state`.
    pub peer_state: IntGaugeVec,
    /// `bgpd_peer_uptime_seconds`.
    pub peer_uptime: IntGaugeVec,
    /// `bgpd_peer_flaps_total`.
    pub peer_flaps: IntCounterVec,
    /// `bgpd_peer_messages_received_total`.
    pub messages_received: IntCounterVec,
    /// `bgpd_peer_messages_sent_total`.
    pub messages_sent: IntCounterVec,
    /// `bgpd_peer_notifications_received_total`.
    pub notifications_received: IntCounterVec,
    /// `bgpd_peer_notifications_sent_total`.
    pub notifications_sent: IntCounterVec,
    /// `bgpd_peer_update_errors_total`.
    pub update_errors: IntCounterVec,
    /// `bgpd_peer_prefixes_received`.
    pub prefixes_received: IntGaugeVec,
    /// `bgpd_peer_prefixes_accepted`.
    pub prefixes_accepted: IntGaugeVec,
    /// `bgpd_peer_prefixes_advertised`.
    pub prefixes_advertised: IntGaugeVec,
    /// `bgpd_rib_routes`.
    pub rib_routes: IntGaugeVec,
    /// `bgpd_rib_prefixes`.
    pub rib_prefixes: IntGaugeVec,
    /// `bgpd_rib_attribute_sets`.
    pub rib_attribute_sets: IntGauge,
    /// `bgpd_audit_findings`.
    pub audit_findings: IntGaugeVec,
    /// `bgpd_rib_pass_prefixes`: how many prefixes each RIB pass took (a run of queued
    /// UPDATEs imported one by one and exported together); its count is the number of passes.
    pub rib_pass_prefixes: Histogram,
}

fn gauge_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|e| panic!("metric {name}: {e}"));
    let _ = r.register(Box::new(g.clone()));
    g
}

fn counter_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|e| panic!("metric {name}: {e}"));
    let _ = r.register(Box::new(c.clone()));
    c
}

impl Metrics {
    fn new() -> Self {
        let r = Registry::new();
        #[cfg(target_os = "linux")]
        {
            let _ = r.register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ));
        }
        let rib_attribute_sets = IntGauge::new(
            "bgpd_rib_attribute_sets",
            "Distinct interned attribute sets in the RIBs.",
        )
        .unwrap_or_else(|e| panic!("metric: {e}"));
        let _ = r.register(Box::new(rib_attribute_sets.clone()));
        let rib_pass_prefixes = Histogram::with_opts(
            HistogramOpts::new(
                "bgpd_rib_pass_prefixes",
                "Prefixes per RIB pass (queued UPDATEs imported and exported together).",
            )
            .buckets(vec![1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 2048.0, 4096.0]),
        )
        .unwrap_or_else(|e| panic!("metric: {e}"));
        let _ = r.register(Box::new(rib_pass_prefixes.clone()));
        Metrics {
            peer_up: gauge_vec(
                &r,
                "bgpd_peer_up",
                "1 while the session is Established.",
                &["peer", "peer_as"],
            ),
            peer_state: gauge_vec(
                &r,
                "bgpd_peer_state",
                "FSM state: 1 Idle, 2 Connect, 3 Active, 4 OpenSent, 5 OpenConfirm, 6 Established.",
                &["peer"],
            ),
            peer_uptime: gauge_vec(
                &r,
                "bgpd_peer_uptime_seconds",
                "Seconds since the session went up (0 when down).",
                &["peer"],
            ),
            peer_flaps: counter_vec(
                &r,
                "bgpd_peer_flaps_total",
                "Times the session left Established.",
                &["peer"],
            ),
            messages_received: counter_vec(
                &r,
                "bgpd_peer_messages_received_total",
                "BGP messages received, by type.",
                &["peer", "type"],
            ),
            messages_sent: counter_vec(
                &r,
                "bgpd_peer_messages_sent_total",
                "BGP messages sent, by type.",
                &["peer", "type"],
            ),
            update_errors: counter_vec(
                &r,
                "bgpd_peer_update_errors_total",
                "RFC 7606 outcomes of received UPDATEs, by action.",
                &["peer", "action"],
            ),
            notifications_received: counter_vec(
                &r,
                "bgpd_peer_notifications_received_total",
                "NOTIFICATIONs received, by code and subcode.",
                &["peer", "code", "subcode"],
            ),
            notifications_sent: counter_vec(
                &r,
                "bgpd_peer_notifications_sent_total",
                "NOTIFICATIONs sent, by code and subcode.",
                &["peer", "code", "subcode"],
            ),
            prefixes_received: gauge_vec(
                &r,
                "bgpd_peer_prefixes_received",
                "Routes in the peer's Adj-RIB-In (before import policy).",
                &["peer", "family"],
            ),
            prefixes_accepted: gauge_vec(
                &r,
                "bgpd_peer_prefixes_accepted",
                "Routes from the peer accepted into the Loc-RIB, by class.",
                &["peer", "family", "class"],
            ),
            prefixes_advertised: gauge_vec(
                &r,
                "bgpd_peer_prefixes_advertised",
                "Routes in the peer's Adj-RIB-Out.",
                &["peer", "family"],
            ),
            rib_routes: gauge_vec(&r, "bgpd_rib_routes", "Paths in the Loc-RIB.", &["family"]),
            rib_prefixes: gauge_vec(
                &r,
                "bgpd_rib_prefixes",
                "Destinations (prefixes) in the Loc-RIB.",
                &["family"],
            ),
            audit_findings: gauge_vec(
                &r,
                "bgpd_audit_findings",
                "Open audit findings, by check and severity.",
                &["check", "severity"],
            ),
            rib_attribute_sets,
            rib_pass_prefixes,
            registry: r,
        }
    }

    /// The name of every metric bgpd registers (also those without samples yet), plus the
    /// process collector's.
    pub fn names(&self) -> Vec<String> {
        use prometheus::core::Collector;
        let collectors: [&dyn Collector; 16] = [
            &self.peer_up,
            &self.peer_state,
            &self.peer_uptime,
            &self.peer_flaps,
            &self.messages_received,
            &self.messages_sent,
            &self.notifications_received,
            &self.notifications_sent,
            &self.prefixes_received,
            &self.prefixes_accepted,
            &self.prefixes_advertised,
            &self.rib_routes,
            &self.rib_prefixes,
            &self.rib_attribute_sets,
            &self.audit_findings,
            &self.rib_pass_prefixes,
        ];
        let mut names: Vec<String> = collectors
            .iter()
            .flat_map(|c| c.desc())
            .map(|d| d.fq_name.clone())
            .collect();
        names.extend(
            self.registry
                .gather()
                .into_iter()
                .map(|f| f.get_name().to_string()),
        );
        names.sort();
        names.dedup();
        names
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let encoder = prometheus::TextEncoder::new();
        let _ = prometheus::Encoder::encode(&encoder, &self.registry.gather(), &mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }
}

/// The process-wide metrics.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The counter of one peer's messages of type `t` received (or sent): for a caller that
/// keeps it instead of looking it up per message.
pub fn message_counter(peer: &str, received: bool, t: &str) -> prometheus::IntCounter {
    let msgs = if received {
        &METRICS.messages_received
    } else {
        &METRICS.messages_sent
    };
    msgs.with_label_values(&[peer, t])
}

/// Counts a message received from or sent to a peer.
pub fn count_message(peer: &str, received: bool, m: &bgp_proto::Message) {
    let t = match m.message_type() {
        bgp_proto::MessageType::Open => "open",
        bgp_proto::MessageType::Update => "update",
        bgp_proto::MessageType::Notification => "notification",
        bgp_proto::MessageType::Keepalive => "keepalive",
        bgp_proto::MessageType::RouteRefresh => "route_refresh",
    };
    message_counter(peer, received, t).inc();
    let notes = if received {
        &METRICS.notifications_received
    } else {
        &METRICS.notifications_sent
    };
    if let bgp_proto::Message::Notification(n) = m {
        notes
            .with_label_values(&[peer, &n.code.to_string(), &n.subcode.to_string()])
            .inc();
    }
}

/// The UPDATEs and the ROUTE-REFRESH messages (the BoRR and EoRR around a table sent again,
/// RFC 7313) among whole pre-encoded messages (the RIB's output).
pub fn encoded_message_kinds(bytes: &[u8]) -> (u64, u64) {
    let mut rest = bytes;
    let (mut updates, mut refreshes) = (0u64, 0u64);
    while let Ok(Some(len)) = bgp_proto::frame_len(rest, bgp_proto::MAX_EXTENDED_MESSAGE_LEN) {
        let Some(r) = rest.get(len..) else { break };
        // The type octet follows the marker and the length (RFC 4271 §4.1).
        if rest.get(18) == Some(&bgp_proto::MessageType::RouteRefresh.code()) {
            refreshes += 1;
        } else {
            updates += 1;
        }
        rest = r;
    }
    (updates, refreshes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use bgp_proto::{Family, Message, RouteRefresh, SessionContext, Update};

    /// UPDATEs and ROUTE-REFRESH messages (BoRR, EoRR) are told apart by their type octet;
    /// a partial message at the end is not counted.
    #[test]
    fn encoded_messages_are_counted_by_kind() {
        let c = SessionContext::default();
        let mut bytes = Vec::new();
        let borr = Message::RouteRefresh(RouteRefresh {
            subtype: bgp_proto::SUBTYPE_BORR,
            ..RouteRefresh::request(Family::IPV4_UNICAST)
        });
        bytes.extend_from_slice(&borr.to_bytes(&c).unwrap());
        let eor = Message::Update(Update::end_of_rib_marker(Family::IPV4_UNICAST));
        for _ in 0..3 {
            bytes.extend_from_slice(&eor.to_bytes(&c).unwrap());
        }
        assert_eq!(encoded_message_kinds(&bytes), (3, 1));
        let whole = bytes.len();
        bytes.extend_from_slice(&eor.to_bytes(&c).unwrap()[..10]);
        assert_eq!(encoded_message_kinds(&bytes), (3, 1));
        assert_eq!(encoded_message_kinds(&bytes[..whole - 1]), (2, 1));
        assert_eq!(encoded_message_kinds(&[]), (0, 0));
    }
}
