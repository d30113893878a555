//! The `--json` format: one JSON object per line, with the content of the bgpdump line it
//! stands for (field names in the module doc of [`super`]).

use super::route_lines::{Line, LineKind, LineSink};
use super::text_format::{push_ip, push_u32};
use serde::ser::{Serialize, Serializer};
use std::io::{self, Write};

/// Space-separated communities, serialized as an array of strings.
struct Communities<'a>(&'a str);

impl Serialize for Communities<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.split(' ').filter(|c| !c.is_empty()))
    }
}

#[derive(serde::Serialize)]
struct JsonLine<'a> {
    #[serde(rename = "type")]
    format: &'a str,
    timestamp: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    microseconds: Option<u32>,
    entry: &'a str,
    peer_ip: &'a str,
    peer_as: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    prefix: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    as_path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_hop: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    local_pref: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    med: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    communities: Option<Communities<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    atomic_aggregate: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aggregator_as: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aggregator_ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    old_state: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_state: Option<u16>,
}

/// Prints lines as JSON objects, one per line.
pub(crate) struct JsonPrinter<W: Write> {
    out: W,
    peer: Vec<u8>,
    prefix: Vec<u8>,
    next_hop: Vec<u8>,
    aggregator: Vec<u8>,
}

impl<W: Write> JsonPrinter<W> {
    /// A printer writing to `out` (give it a buffered writer).
    pub(crate) fn new(out: W) -> Self {
        JsonPrinter {
            out,
            peer: Vec::new(),
            prefix: Vec::new(),
            next_hop: Vec::new(),
            aggregator: Vec::new(),
        }
    }

    /// Flushes the output.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// `buf` as text (the formatters write ASCII only).
fn text(buf: &[u8]) -> &str {
    std::str::from_utf8(buf).unwrap_or_default()
}

impl<W: Write> LineSink for JsonPrinter<W> {
    fn line(&mut self, l: &Line<'_>) -> io::Result<()> {
        self.peer.clear();
        push_ip(&mut self.peer, l.peer);
        self.prefix.clear();
        if let Some((addr, len)) = l.prefix {
            push_ip(&mut self.prefix, addr);
            self.prefix.push(b'/');
            push_u32(&mut self.prefix, u32::from(len));
        }
        self.next_hop.clear();
        self.aggregator.clear();
        let route = l.route.as_ref();
        if let Some(r) = route {
            push_ip(&mut self.next_hop, r.next_hop);
            if let Some((_, address)) = r.attributes.aggregator {
                push_ip(&mut self.aggregator, address.into());
            }
        }
        let printed = |v: u32, signed: bool| {
            if signed {
                i64::from(v as i32)
            } else {
                i64::from(v)
            }
        };
        let line = JsonLine {
            format: l.format,
            timestamp: l.timestamp,
            microseconds: l.microseconds,
            entry: l.kind.text(),
            peer_ip: text(&self.peer),
            peer_as: l.peer_as,
            prefix: l.prefix.map(|_| text(&self.prefix)),
            path_id: l.path_id,
            as_path: route.map(|r| text(&r.attributes.as_path)),
            origin: route.map(|r| r.attributes.origin),
            next_hop: route.map(|_| text(&self.next_hop)),
            local_pref: route.map(|r| printed(r.attributes.local_pref, r.signed)),
            med: route.map(|r| printed(r.attributes.med, r.signed)),
            communities: route.map(|r| Communities(text(&r.attributes.communities))),
            atomic_aggregate: route.map(|r| r.attributes.atomic_aggregate),
            aggregator_as: route.and_then(|r| r.attributes.aggregator.map(|(asn, _)| asn)),
            aggregator_ip: route
                .and_then(|r| r.attributes.aggregator)
                .map(|_| text(&self.aggregator)),
            old_state: l.states.map(|(old, _)| old),
            new_state: l.states.map(|(_, new)| new),
        };
        debug_assert!(l.kind != LineKind::State || l.states.is_some());
        serde_json::to_writer(&mut self.out, &line).map_err(|e| match e.io_error_kind() {
            Some(kind) => io::Error::from(kind),
            None => io::Error::other(e),
        })?;
        self.out.write_all(b"\n")
    }
}
