//! Writing MRT records (RFC 6396): every body this crate decodes can be encoded again —
//! TABLE_DUMP_V2 PEER_INDEX_TABLE and RIB records (RFC 6396 §4.3, RFC 8050 §4) with the
//! §4.3.4 abbreviated MP_REACH_NLRI, BGP4MP / BGP4MP_ET messages and state changes
//! (§4.4, RFC 8050 §3), TABLE_DUMP (§4.2) and raw records.
//!
//! Lengths are computed by writing the body and patching the length fields; a value that
//! does not fit its field is an [`EncodeError`] and nothing of the record is left in the
//! buffer. Nothing is silently truncated.

use super::record::{mrt_type, Bgp4mpMessage, Bgp4mpPeer, MrtBody, MrtRecord};
use super::record::{PeerIndexTable, RibRecord, StateChange, TableDumpEntry};
use super::table_dump_v2::peer_type;
use crate::attribute::{flags, AttributeValue, PathAttributes};
use crate::context::SessionContext;
use crate::error::EncodeError;
use crate::family::{AFI_IPV4, AFI_IPV6};
use crate::prefix::Nlri;
use bytes::{BufMut, BytesMut};
use std::io::{self, Write};
use std::net::IpAddr;

fn too_large(what: &'static str, value: usize, max: usize) -> EncodeError {
    EncodeError::ValueTooLarge { what, value, max }
}

/// Appends one whole record (header and body) to `buf`. The type and subtype come from the
/// body (TABLE_DUMP_V2 subtypes from [`RibRecord::subtype`], BGP4MP subtypes from the
/// message flags); BGP4MP bodies are written as BGP4MP_ET when `header.microseconds` is set.
/// For [`MrtBody::Raw`] the header's type and subtype are used. The header's length field is
/// computed.
pub fn encode_record(record: &MrtRecord, buf: &mut BytesMut) -> Result<(), EncodeError> {
    let h = &record.header;
    let bgp4mp_type = if h.microseconds.is_some() {
        mrt_type::BGP4MP_ET
    } else {
        mrt_type::BGP4MP
    };
    match &record.body {
        MrtBody::TableDump(e) => {
            let subtype = if e.prefix.addr().is_ipv6() { 2 } else { 1 };
            framed(buf, h.timestamp, None, mrt_type::TABLE_DUMP, subtype, |b| {
                encode_table_dump(e, b)
            })
        }
        MrtBody::PeerIndexTable(t) => {
            framed(buf, h.timestamp, None, mrt_type::TABLE_DUMP_V2, 1, |b| {
                encode_peer_index_table(t, b)
            })
        }
        MrtBody::Rib(r) => framed(
            buf,
            h.timestamp,
            None,
            mrt_type::TABLE_DUMP_V2,
            r.subtype(),
            |b| encode_rib(r, b),
        ),
        MrtBody::StateChange(s) => {
            let subtype = if s.four_octet_as { 5 } else { 0 };
            framed(
                buf,
                h.timestamp,
                h.microseconds,
                bgp4mp_type,
                subtype,
                |b| {
                    encode_peer(&s.peer, s.four_octet_as, b)?;
                    b.put_u16(s.old_state);
                    b.put_u16(s.new_state);
                    Ok(())
                },
            )
        }
        MrtBody::Message(m) => framed(
            buf,
            h.timestamp,
            h.microseconds,
            bgp4mp_type,
            m.subtype(),
            |b| encode_message(m, b),
        ),
        MrtBody::Raw(body) => framed(
            buf,
            h.timestamp,
            h.microseconds,
            h.mrt_type,
            h.subtype,
            |b| {
                b.put_slice(body);
                Ok(())
            },
        ),
    }
}

/// Writes the common header (RFC 6396 §2, §3), then the body, then patches the length.
fn framed(
    buf: &mut BytesMut,
    timestamp: u32,
    microseconds: Option<u32>,
    mrt_type: u16,
    subtype: u16,
    body: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let start = buf.len();
    buf.put_u32(timestamp);
    buf.put_u16(mrt_type);
    buf.put_u16(subtype);
    buf.put_u32(0);
    if let Some(us) = microseconds {
        buf.put_u32(us);
    }
    let result = body(buf).and_then(|()| {
        let len = buf.len() - start - 12;
        let len =
            u32::try_from(len).map_err(|_| too_large("MRT length", len, u32::MAX as usize))?;
        patch(buf, start + 8, &len.to_be_bytes());
        Ok(())
    });
    if result.is_err() {
        buf.truncate(start);
    }
    result
}

/// Overwrites `bytes.len()` octets at `at` (which the caller wrote before).
fn patch(buf: &mut BytesMut, at: usize, bytes: &[u8]) {
    if let Some(slot) = buf.get_mut(at..at + bytes.len()) {
        slot.copy_from_slice(bytes);
    }
}

/// Runs `write`, then patches the 2-octet length field at `at` with what it wrote.
fn with_u16_length(
    buf: &mut BytesMut,
    what: &'static str,
    write: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let at = buf.len();
    buf.put_u16(0);
    write(buf)?;
    let len = buf.len() - at - 2;
    let len = u16::try_from(len).map_err(|_| too_large(what, len, 65535))?;
    patch(buf, at, &len.to_be_bytes());
    Ok(())
}

fn put_asn(buf: &mut BytesMut, asn: u32, four_octet: bool) -> Result<(), EncodeError> {
    if four_octet {
        buf.put_u32(asn);
    } else {
        let a =
            u16::try_from(asn).map_err(|_| too_large("2-octet AS number", asn as usize, 65535))?;
        buf.put_u16(a);
    }
    Ok(())
}

fn put_ip(buf: &mut BytesMut, ip: &IpAddr) {
    match ip {
        IpAddr::V4(a) => buf.put_slice(&a.octets()),
        IpAddr::V6(a) => buf.put_slice(&a.octets()),
    }
}

/// The peering fields of BGP4MP (RFC 6396 §4.4.1).
fn encode_peer(peer: &Bgp4mpPeer, four_octet: bool, buf: &mut BytesMut) -> Result<(), EncodeError> {
    let afi = match (peer.peer_address, peer.local_address) {
        (IpAddr::V4(_), IpAddr::V4(_)) => AFI_IPV4,
        (IpAddr::V6(_), IpAddr::V6(_)) => AFI_IPV6,
        _ => {
            return Err(EncodeError::WrongFamily {
                what: "BGP4MP peer and local addresses of different families",
            })
        }
    };
    put_asn(buf, peer.peer_as, four_octet)?;
    put_asn(buf, peer.local_as, four_octet)?;
    buf.put_u16(peer.interface_index);
    buf.put_u16(afi);
    put_ip(buf, &peer.peer_address);
    put_ip(buf, &peer.local_address);
    Ok(())
}

/// A BGP4MP MESSAGE body: the peering, then the message. A message record carries `raw` when it is set (the octets exactly as received or sent,
/// also for a malformed message: what an incident reproduction needs); otherwise the
/// decoded message is encoded in the record's context.
fn encode_message(m: &Bgp4mpMessage, buf: &mut BytesMut) -> Result<(), EncodeError> {
    encode_peer(&m.peer, m.four_octet_as, buf)?;
    if !m.raw.is_empty() {
        buf.put_slice(&m.raw);
        return Ok(());
    }
    let ctx = Bgp4mpMessage::context(m.four_octet_as, m.add_path);
    m.message.encode(&ctx, buf)
}

/// PEER_INDEX_TABLE (RFC 6396 §4.3.1).
fn encode_peer_index_table(t: &PeerIndexTable, buf: &mut BytesMut) -> Result<(), EncodeError> {
    buf.put_slice(&t.collector_id.octets());
    with_u16_length(buf, "view name length", |b| {
        b.put_slice(t.view_name.as_bytes());
        Ok(())
    })?;
    let n = t.peers.len();
    buf.put_u16(u16::try_from(n).map_err(|_| too_large("peer count", n, 65535))?);
    for p in &t.peers {
        buf.put_u8(peer_type(p));
        buf.put_slice(&p.bgp_id.octets());
        put_ip(buf, &p.address);
        put_asn(buf, p.asn, p.four_octet_as)?;
    }
    Ok(())
}

/// RIB_* and RIB_GENERIC (RFC 6396 §4.3.2–§4.3.4, RFC 8050 §4).
fn encode_rib(r: &RibRecord, buf: &mut BytesMut) -> Result<(), EncodeError> {
    buf.put_u32(r.sequence);
    if r.generic {
        buf.put_u16(r.family.afi);
        buf.put_u8(r.family.safi);
    }
    if r.prefix.addr().is_ipv6() != (r.family.afi == AFI_IPV6) {
        return Err(EncodeError::WrongFamily {
            what: "RIB prefix of another family than the record",
        });
    }
    Nlri::new(r.prefix).encode(false, buf);
    let n = r.entries.len();
    buf.put_u16(u16::try_from(n).map_err(|_| too_large("RIB entry count", n, 65535))?);
    let ctx = SessionContext::default();
    for e in &r.entries {
        buf.put_u16(e.peer_index);
        buf.put_u32(e.originated);
        if r.add_path {
            buf.put_u32(e.path_id.unwrap_or(0));
        }
        with_u16_length(buf, "attribute length", |b| {
            encode_rib_attributes(&e.attributes, &ctx, b)
        })?;
    }
    Ok(())
}

/// TABLE_DUMP (RFC 6396 §4.2).
fn encode_table_dump(e: &TableDumpEntry, buf: &mut BytesMut) -> Result<(), EncodeError> {
    if e.prefix.addr().is_ipv6() != e.peer_address.is_ipv6() {
        return Err(EncodeError::WrongFamily {
            what: "TABLE_DUMP prefix and peer address of different families",
        });
    }
    buf.put_u16(e.view_number);
    buf.put_u16(e.sequence);
    put_ip(buf, &e.prefix.network());
    buf.put_u8(e.prefix.prefix_len());
    buf.put_u8(e.status);
    buf.put_u32(e.originated);
    put_ip(buf, &e.peer_address);
    buf.put_u16(e.peer_as);
    let ctx = SessionContext::two_octet_as();
    with_u16_length(buf, "attribute length", |b| {
        encode_rib_attributes(&e.attributes, &ctx, b)
    })
}

/// Attributes of a RIB entry: as in an UPDATE, except MP_REACH_NLRI in the RFC 6396 §4.3.4
/// abbreviated form (next-hop length and next hop only).
fn encode_rib_attributes(
    attrs: &PathAttributes,
    ctx: &SessionContext,
    buf: &mut BytesMut,
) -> Result<(), EncodeError> {
    for a in &attrs.0 {
        match &a.value {
            AttributeValue::MpReach(m) => {
                let nh_len = m.next_hop.wire_len();
                let len = 1 + nh_len;
                let nh_octet =
                    u8::try_from(nh_len).map_err(|_| too_large("next-hop length", nh_len, 255))?;
                buf.put_u8(a.flags);
                buf.put_u8(crate::attribute::type_code::MP_REACH_NLRI);
                if a.flags & flags::EXTENDED_LENGTH != 0 {
                    buf.put_u16(len as u16);
                } else {
                    buf.put_u8(
                        u8::try_from(len)
                            .map_err(|_| too_large("MP_REACH_NLRI length", len, 255))?,
                    );
                }
                buf.put_u8(nh_octet);
                m.next_hop.encode(buf);
            }
            _ => a.encode(ctx, buf)?,
        }
    }
    Ok(())
}

impl MrtRecord {
    /// The record encoded as one buffer (see [`encode_record`]).
    pub fn to_bytes(&self) -> Result<bytes::Bytes, EncodeError> {
        let mut buf = BytesMut::new();
        encode_record(self, &mut buf)?;
        Ok(buf.freeze())
    }
}

/// An error while writing: the record cannot be encoded, or the output failed.
#[derive(Debug, thiserror::Error)]
pub enum MrtWriteError {
    /// The record cannot be encoded; nothing of it was written.
    #[error("encoding MRT record: {0}")]
    Encode(#[from] EncodeError),
    /// Writing to the output failed.
    #[error("writing MRT output: {0}")]
    Io(#[from] io::Error),
}

/// Writes MRT records to any [`std::io::Write`] (wrap files in a `BufWriter`, or a gzip
/// encoder).
pub struct MrtWriter<W: Write> {
    inner: W,
    buf: BytesMut,
}

impl<W: Write> MrtWriter<W> {
    /// A writer to `inner`.
    pub fn new(inner: W) -> Self {
        MrtWriter {
            inner,
            buf: BytesMut::with_capacity(4096),
        }
    }

    /// Writes one record (see [`encode_record`]).
    pub fn write_record(&mut self, record: &MrtRecord) -> Result<(), MrtWriteError> {
        self.buf.clear();
        encode_record(record, &mut self.buf)?;
        self.inner.write_all(&self.buf)?;
        Ok(())
    }

    /// Writes a TABLE_DUMP_V2 PEER_INDEX_TABLE (RFC 6396 §4.3.1).
    pub fn write_peer_index_table(
        &mut self,
        timestamp: u32,
        table: &PeerIndexTable,
    ) -> Result<(), MrtWriteError> {
        self.write_framed(timestamp, None, mrt_type::TABLE_DUMP_V2, 1, |b| {
            encode_peer_index_table(table, b)
        })
    }

    /// Writes a TABLE_DUMP_V2 RIB record (RFC 6396 §4.3.2, §4.3.3; RFC 8050 §4).
    pub fn write_rib(&mut self, timestamp: u32, rib: &RibRecord) -> Result<(), MrtWriteError> {
        self.write_framed(
            timestamp,
            None,
            mrt_type::TABLE_DUMP_V2,
            rib.subtype(),
            |b| encode_rib(rib, b),
        )
    }

    /// Writes a BGP4MP_ET message record (RFC 6396 §3, §4.4): MESSAGE_AS4 for a 4-octet,
    /// received, non-ADD-PATH message; the other subtypes follow the message's flags.
    pub fn write_message_et(
        &mut self,
        timestamp: u32,
        microseconds: u32,
        message: &Bgp4mpMessage,
    ) -> Result<(), MrtWriteError> {
        let subtype = message.subtype();
        self.write_framed(
            timestamp,
            Some(microseconds),
            mrt_type::BGP4MP_ET,
            subtype,
            |b| encode_message(message, b),
        )
    }

    /// Writes a BGP4MP_ET STATE_CHANGE_AS4 record (RFC 6396 §4.4.4), or STATE_CHANGE when
    /// `change.four_octet_as` is false.
    pub fn write_state_change_et(
        &mut self,
        timestamp: u32,
        microseconds: u32,
        change: &StateChange,
    ) -> Result<(), MrtWriteError> {
        let subtype = if change.four_octet_as { 5 } else { 0 };
        self.write_framed(
            timestamp,
            Some(microseconds),
            mrt_type::BGP4MP_ET,
            subtype,
            |b| {
                encode_peer(&change.peer, change.four_octet_as, b)?;
                b.put_u16(change.old_state);
                b.put_u16(change.new_state);
                Ok(())
            },
        )
    }

    fn write_framed(
        &mut self,
        timestamp: u32,
        microseconds: Option<u32>,
        mrt_type: u16,
        subtype: u16,
        body: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
    ) -> Result<(), MrtWriteError> {
        self.buf.clear();
        framed(
            &mut self.buf,
            timestamp,
            microseconds,
            mrt_type,
            subtype,
            body,
        )?;
        self.inner.write_all(&self.buf)?;
        Ok(())
    }

    /// Flushes the output.
    pub fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    /// The output.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// Gives back the output.
    pub fn into_inner(self) -> W {
        self.inner
    }
}
