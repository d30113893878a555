//! Writes a synthetic capture of one BGP session: Ethernet, IPv4 127.0.0.1, TCP from port
//! 50179 (the client) to 179 (the server), starting with a three-way handshake, with correct
//! sequence numbers and IP and TCP checksums. Each side's messages are cut into segments of at
//! most [`MSS`] octets, so large messages span several segments and small ones share one.

use std::net::Ipv4Addr;

/// Largest TCP payload per segment.
pub const MSS: usize = 1448;
/// The client's port.
pub const CLIENT_PORT: u16 = 50179;

const ADDRESS: Ipv4Addr = Ipv4Addr::LOCALHOST;
const SYN: u8 = 0x02;
const PSH_ACK: u8 = 0x18;
const SYN_ACK: u8 = 0x12;
const ACK: u8 = 0x10;

/// A capture being written.
pub struct SessionWriter {
    out: Vec<u8>,
    /// Next sequence number of the client and of the server.
    seq: [u32; 2],
    /// Timestamp of the next frame, in microseconds.
    time: u64,
    frames: usize,
}

/// RFC 1071 Internet checksum over `data`, starting from `sum`.
fn checksum(mut sum: u32, data: &[u8]) -> u16 {
    for pair in data.chunks(2) {
        let word = u16::from_be_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

impl Default for SessionWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl SessionWriter {
    /// A capture holding the handshake of a connection from the client to port 179.
    pub fn new() -> Self {
        let mut out = Vec::new();
        out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes()); // magic, microseconds
        out.extend_from_slice(&2u16.to_le_bytes()); // version 2.4
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&0i32.to_le_bytes()); // UTC offset
        out.extend_from_slice(&0u32.to_le_bytes()); // accuracy
        out.extend_from_slice(&65535u32.to_le_bytes()); // snapshot length
        out.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
        let mut w = SessionWriter {
            out,
            seq: [1_000_000, 3_000_000_000],
            time: 1_700_000_000_000_000,
            frames: 0,
        };
        w.segment(true, SYN, &[]);
        w.seq[0] = w.seq[0].wrapping_add(1);
        w.segment(false, SYN_ACK, &[]);
        w.seq[1] = w.seq[1].wrapping_add(1);
        w.segment(true, ACK, &[]);
        w
    }

    /// Number of frames written so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Sends `messages` back to back from one side, cut into segments of at most [`MSS`].
    pub fn send(&mut self, from_client: bool, messages: &[&[u8]]) {
        let stream: Vec<u8> = messages.concat();
        for chunk in stream.chunks(MSS) {
            self.segment(from_client, PSH_ACK, chunk);
            let side = usize::from(!from_client);
            self.seq[side] = self.seq[side].wrapping_add(chunk.len() as u32);
        }
    }

    /// Writes one segment whose payload starts `offset` octets after the side's current
    /// sequence number (negative: a retransmission), without moving that sequence number:
    /// for building captures with lost, reordered and repeated segments. [`send`] must not be
    /// mixed with this for the same side.
    ///
    /// [`send`]: SessionWriter::send
    pub fn segment_at(&mut self, from_client: bool, offset: i64, payload: &[u8]) {
        let side = usize::from(!from_client);
        let current = self.seq[side];
        self.seq[side] = current.wrapping_add(offset as u32);
        self.segment(from_client, PSH_ACK, payload);
        self.seq[side] = current;
    }

    /// The finished capture.
    pub fn finish(self) -> Vec<u8> {
        self.out
    }

    fn segment(&mut self, from_client: bool, flags: u8, payload: &[u8]) {
        let (side, src_port, dst_port) = if from_client {
            (0, CLIENT_PORT, 179)
        } else {
            (1, 179, CLIENT_PORT)
        };
        let mut tcp = Vec::with_capacity(20 + payload.len());
        tcp.extend_from_slice(&src_port.to_be_bytes());
        tcp.extend_from_slice(&dst_port.to_be_bytes());
        tcp.extend_from_slice(&self.seq[side].to_be_bytes());
        let ack = if flags == SYN { 0 } else { self.seq[1 - side] };
        tcp.extend_from_slice(&ack.to_be_bytes());
        tcp.push(5 << 4); // data offset: 20 octets, no options
        tcp.push(flags);
        tcp.extend_from_slice(&65535u16.to_be_bytes()); // window
        tcp.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
        tcp.extend_from_slice(payload);
        // Pseudo header: source, destination, protocol, TCP length.
        let mut pseudo = Vec::with_capacity(12);
        pseudo.extend_from_slice(&ADDRESS.octets());
        pseudo.extend_from_slice(&ADDRESS.octets());
        pseudo.extend_from_slice(&[0, 6]);
        pseudo.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
        let partial = u32::from(!checksum(0, &pseudo));
        let sum = checksum(partial, &tcp);
        tcp[16..18].copy_from_slice(&sum.to_be_bytes());

        let mut ip = Vec::with_capacity(20 + tcp.len());
        ip.extend_from_slice(&[0x45, 0]);
        ip.extend_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
        ip.extend_from_slice(&(self.frames as u16).to_be_bytes()); // identification
        ip.extend_from_slice(&[0x40, 0, 64, 6, 0, 0]); // DF, TTL 64, TCP, checksum
        ip.extend_from_slice(&ADDRESS.octets());
        ip.extend_from_slice(&ADDRESS.octets());
        let sum = checksum(0, &ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        ip.extend_from_slice(&tcp);

        let mut frame = Vec::with_capacity(14 + ip.len());
        frame.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00]);
        frame.extend_from_slice(&ip);

        let (seconds, micros) = (self.time / 1_000_000, self.time % 1_000_000);
        self.out.extend_from_slice(&(seconds as u32).to_le_bytes());
        self.out.extend_from_slice(&(micros as u32).to_le_bytes());
        self.out
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.out
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.out.extend_from_slice(&frame);
        self.frames += 1;
        self.time += 1000;
    }
}

/// A classic pcap file of `frames` with link-layer type `linktype` (microsecond timestamps,
/// one millisecond apart).
pub fn pcap_file(linktype: u32, frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for field in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, linktype] {
        out.extend_from_slice(&field.to_le_bytes());
    }
    for (i, frame) in frames.iter().enumerate() {
        let len = frame.len() as u32;
        for field in [1_700_000_000u32, i as u32 * 1000, len, len] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        out.extend_from_slice(frame);
    }
    out
}
