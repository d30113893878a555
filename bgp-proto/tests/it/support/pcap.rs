//! A small reader for libpcap captures of BGP sessions.
//!
//! Reads the classic pcap format (either byte order, micro- or nanosecond timestamps; not
//! pcapng) with Ethernet (VLAN tags skipped), Linux cooked (SLL and SLL2) or raw IP link
//! layers, IPv4 or IPv6, and TCP. The payload of each TCP direction is put back together by
//! sequence number — retransmitted, duplicated and overlapping segments are used once, early
//! segments wait for the gap before them — and cut into BGP messages with
//! [`bgp_proto::frame_len`].
//!
//! Messages come out in the order Wireshark shows them: by the frame that completes them, then
//! by their place in the stream.

use bgp_proto::{frame_len, MAX_EXTENDED_MESSAGE_LEN};
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The well-known BGP port.
pub const BGP_PORT: u16 = 179;

/// One BGP message as it travelled in a TCP stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedMessage {
    /// Frame number (1-based, as Wireshark counts) of the segment that completed the message.
    pub frame: usize,
    /// The sending end.
    pub src: SocketAddr,
    /// The receiving end.
    pub dst: SocketAddr,
    /// The whole message, header included.
    pub bytes: Vec<u8>,
}

/// One TCP segment with its addresses.
#[derive(Debug, Clone)]
struct Segment {
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    syn: bool,
    payload: Vec<u8>,
}

fn be16(b: &[u8], at: usize) -> Result<u16, String> {
    b.get(at..at + 2)
        .map(|s| u16::from_be_bytes([s[0], s[1]]))
        .ok_or_else(|| format!("truncated at byte {at}"))
}

fn be32(b: &[u8], at: usize) -> Result<u32, String> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| format!("truncated at byte {at}"))
}

fn tail(b: &[u8], at: usize) -> Result<&[u8], String> {
    b.get(at..).ok_or_else(|| format!("truncated at byte {at}"))
}

/// The link-layer type and the captured frames of a classic pcap file.
pub fn read_frames(file: &[u8]) -> Result<(u32, Vec<&[u8]>), String> {
    let magic = file
        .get(..4)
        .ok_or("not a pcap file: shorter than its header")?;
    let little = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        [0x0a, 0x0d, 0x0d, 0x0a] => return Err("pcapng is not supported: save as pcap".into()),
        _ => return Err(format!("not a pcap file (magic {magic:02x?})")),
    };
    let u32_at = |at: usize| -> Result<u32, String> {
        let b = file
            .get(at..at + 4)
            .ok_or_else(|| format!("truncated at byte {at}"))?;
        let b = [b[0], b[1], b[2], b[3]];
        Ok(if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let linktype = u32_at(20)? & 0x0fff_ffff;
    let mut frames = Vec::new();
    let mut at = 24;
    while at < file.len() {
        // Record header: seconds, sub-seconds, captured length, original length.
        let caplen = u32_at(at + 8)? as usize;
        let data = file
            .get(at + 16..at + 16 + caplen)
            .ok_or_else(|| format!("frame {} truncated", frames.len() + 1))?;
        frames.push(data);
        at += 16 + caplen;
    }
    Ok((linktype, frames))
}

/// The IP packet inside a link-layer frame, or `None` for anything that is not IP.
fn ip_packet(linktype: u32, frame: &[u8]) -> Result<Option<&[u8]>, String> {
    let (mut ethertype, mut at) = match linktype {
        1 => (be16(frame, 12)?, 14),        // Ethernet
        113 => (be16(frame, 14)?, 16),      // Linux cooked (SLL)
        276 => (be16(frame, 0)?, 20),       // Linux cooked v2 (SLL2)
        12 | 101 => return Ok(Some(frame)), // raw IP
        other => return Err(format!("unsupported link-layer type {other}")),
    };
    // 802.1Q / 802.1ad tags.
    while matches!(ethertype, 0x8100 | 0x88a8) {
        ethertype = be16(frame, at + 2)?;
        at += 4;
    }
    Ok(match ethertype {
        0x0800 | 0x86dd => Some(tail(frame, at)?),
        _ => None,
    })
}

/// The TCP segment inside an IP packet, or `None` for anything else.
fn tcp_segment(ip: &[u8]) -> Result<Option<Segment>, String> {
    let version = ip.first().ok_or("empty IP packet")? >> 4;
    let (src, dst, tcp) = match version {
        4 => {
            let header = usize::from(ip[0] & 0x0f) * 4;
            let total = usize::from(be16(ip, 2)?);
            let fragment = be16(ip, 6)? & 0x3fff;
            if ip.get(9) != Some(&6) || fragment != 0 {
                return Ok(None);
            }
            let src = IpAddr::V4(Ipv4Addr::from(be32(ip, 12)?));
            let dst = IpAddr::V4(Ipv4Addr::from(be32(ip, 16)?));
            // The total length drops Ethernet padding after short packets.
            let tcp = ip
                .get(header..total)
                .ok_or("IPv4 length beyond the frame")?;
            (src, dst, tcp)
        }
        6 => {
            let payload = usize::from(be16(ip, 4)?);
            if ip.get(6) != Some(&6) {
                return Ok(None);
            }
            let addr = |at: usize| -> Result<IpAddr, String> {
                let b: [u8; 16] = ip
                    .get(at..at + 16)
                    .and_then(|s| s.try_into().ok())
                    .ok_or("truncated IPv6 header")?;
                Ok(IpAddr::V6(Ipv6Addr::from(b)))
            };
            let tcp = ip
                .get(40..40 + payload)
                .ok_or("IPv6 length beyond the frame")?;
            (addr(8)?, addr(24)?, tcp)
        }
        v => return Err(format!("IP version {v}")),
    };
    let data_offset = usize::from(tcp.get(12).ok_or("truncated TCP header")? >> 4) * 4;
    Ok(Some(Segment {
        src: SocketAddr::new(src, be16(tcp, 0)?),
        dst: SocketAddr::new(dst, be16(tcp, 2)?),
        seq: be32(tcp, 4)?,
        syn: tcp.get(13).is_some_and(|f| f & 0x02 != 0),
        payload: tail(tcp, data_offset)?.to_vec(),
    }))
}

/// One direction of a TCP connection being put back together.
#[derive(Default)]
struct Stream {
    /// Sequence number of the first payload octet (SYN + 1, or the first segment seen).
    start: Option<u32>,
    /// Stream offset of the next octet wanted.
    next: u64,
    /// Segments that arrived before the gap in front of them was filled, by stream offset.
    early: BTreeMap<u64, Vec<u8>>,
    /// Octets received in order but not yet cut into messages.
    unframed: Vec<u8>,
}

impl Stream {
    /// Adds a segment; returns whether new in-order octets arrived.
    fn add(&mut self, segment: &Segment) -> bool {
        if segment.syn {
            self.start = Some(segment.seq.wrapping_add(1));
        }
        if segment.payload.is_empty() {
            return false;
        }
        let start = *self.start.get_or_insert(segment.seq);
        // Signed distance from the stream start: data before it (a retransmission of what
        // was sent before the capture began) is dropped.
        let offset = i64::from(segment.seq.wrapping_sub(start) as i32);
        let Ok(offset) = u64::try_from(offset) else {
            return false;
        };
        self.early
            .entry(offset)
            .and_modify(|d| {
                if d.len() < segment.payload.len() {
                    d.clone_from(&segment.payload);
                }
            })
            .or_insert_with(|| segment.payload.clone());
        let before = self.next;
        while let Some(entry) = self.early.first_entry() {
            let offset = *entry.key();
            if offset > self.next {
                break;
            }
            let data = entry.remove();
            let end = offset + data.len() as u64;
            if end > self.next {
                let fresh = (self.next - offset) as usize;
                self.unframed.extend_from_slice(&data[fresh..]);
                self.next = end;
            }
        }
        self.next > before
    }

    /// Cuts the complete messages off the front of the unframed octets.
    fn take_messages(&mut self) -> Result<Vec<Vec<u8>>, String> {
        let mut out = Vec::new();
        while let Some(len) =
            frame_len(&self.unframed, MAX_EXTENDED_MESSAGE_LEN).map_err(|e| e.to_string())?
        {
            if self.unframed.len() < len {
                break;
            }
            out.push(self.unframed.drain(..len).collect());
        }
        Ok(out)
    }
}

/// Every BGP message in a capture (TCP port 179 at either end), in Wireshark's order.
pub fn bgp_messages(file: &[u8]) -> Result<Vec<CapturedMessage>, String> {
    let (linktype, frames) = read_frames(file)?;
    let mut streams: HashMap<(SocketAddr, SocketAddr), Stream> = HashMap::new();
    let mut out = Vec::new();
    for (i, frame) in frames.iter().enumerate() {
        let number = i + 1;
        let context = |e: String| format!("frame {number}: {e}");
        let Some(ip) = ip_packet(linktype, frame).map_err(context)? else {
            continue;
        };
        let Some(segment) = tcp_segment(ip).map_err(context)? else {
            continue;
        };
        if segment.src.port() != BGP_PORT && segment.dst.port() != BGP_PORT {
            continue;
        }
        let stream = streams.entry((segment.src, segment.dst)).or_default();
        if !stream.add(&segment) {
            continue;
        }
        for bytes in stream.take_messages().map_err(context)? {
            out.push(CapturedMessage {
                frame: number,
                src: segment.src,
                dst: segment.dst,
                bytes,
            });
        }
    }
    Ok(out)
}
