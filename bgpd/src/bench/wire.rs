//! The bench's own minimal BGP session over a blocking socket: OPEN exchange (RFC 4271 §4.2,
//! §8.2.2), message framing (§4.1) and a fast scan of IPv4 UPDATEs (§4.3) that reads only
//! the withdrawn routes, the NLRI and, when asked, the MED. It is deliberately smaller and
//! faster than the daemon's codec: the injector and the monitor must not be what is measured.

use anyhow::Context as _;
use bgp_proto::{
    Capability, Family, GracefulRestartFamily, Message, Open, SessionContext, Update, HEADER_LEN,
};
use socket2::{Domain, Socket, Type};
use std::io::{BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Who one end of a bench session is.
#[derive(Debug, Clone, Copy)]
pub struct Speaker {
    /// Its AS (also the first AS of the paths it announces).
    pub asn: u32,
    /// Its address: source of the connection and BGP identifier.
    pub address: Ipv4Addr,
}

/// The hold time every bench session proposes and every daemon is configured with: an hour,
/// so no run ever needs keepalives from the harness (0 would be simpler, but GoBGP uses the
/// hold time as its write deadline and fails every write with 0).
pub const HOLD_TIME: u16 = 3600;

/// The OPEN a bench speaker sends: IPv4 unicast, 4-octet AS, route refresh, graceful restart
/// (so the daemon sends End-of-RIB, RFC 4724 §2), hold time [`HOLD_TIME`] (RFC 4271 §4.2).
pub fn open_message(me: Speaker) -> anyhow::Result<Vec<u8>> {
    let caps = vec![
        Capability::Multiprotocol(Family::IPV4_UNICAST),
        Capability::RouteRefresh,
        Capability::FourOctetAs(me.asn),
        Capability::GracefulRestart {
            flags: 0,
            restart_time: 120,
            families: vec![GracefulRestartFamily {
                family: Family::IPV4_UNICAST,
                flags: 0,
            }],
        },
    ];
    let open = Open::new(me.asn, HOLD_TIME, me.address, caps);
    Ok(Message::Open(open)
        .to_bytes(&SessionContext::default())?
        .to_vec())
}

/// A KEEPALIVE (RFC 4271 §4.4).
pub fn keepalive_message() -> anyhow::Result<Vec<u8>> {
    Ok(Message::Keepalive
        .to_bytes(&SessionContext::default())?
        .to_vec())
}

/// An IPv4 unicast End-of-RIB marker (RFC 4724 §2: an UPDATE with nothing in it).
pub fn end_of_rib_message() -> anyhow::Result<Vec<u8>> {
    Ok(
        Message::Update(Update::end_of_rib_marker(Family::IPV4_UNICAST))
            .to_bytes(&SessionContext::default())?
            .to_vec(),
    )
}

/// A message header's type code and length (RFC 4271 §4.1: all-ones marker, length
/// 19–65535; 4,096 without extended messages is not checked here).
fn header_fields(header: &[u8; HEADER_LEN]) -> anyhow::Result<(u8, usize)> {
    let [marker @ .., l0, l1, kind] = *header;
    let len = usize::from(u16::from_be_bytes([l0, l1]));
    if len < HEADER_LEN || marker != [0xff; 16] {
        anyhow::bail!("bad BGP header (length {len}, RFC 4271 §4.1)");
    }
    Ok((kind, len))
}

/// Reads whole BGP messages from a stream into one reused buffer.
pub struct MessageReader {
    reader: BufReader<TcpStream>,
    body: Vec<u8>,
}

/// One message read: its type code and body (header removed).
pub struct Frame<'a> {
    /// RFC 4271 §4.1 type code (2 = UPDATE).
    pub kind: u8,
    /// The octets after the 19-octet header.
    pub body: &'a [u8],
}

impl MessageReader {
    /// Wraps a connected stream.
    pub fn new(stream: TcpStream) -> Self {
        MessageReader {
            reader: BufReader::with_capacity(256 * 1024, stream),
            body: Vec::with_capacity(65536),
        }
    }

    /// The next message; `Ok(None)` when the read timed out (the caller checks its deadline
    /// and calls again), an error when the peer closed or sent garbage.
    pub fn next_frame(&mut self) -> anyhow::Result<Option<Frame<'_>>> {
        let mut header = [0u8; HEADER_LEN];
        match self.reader.read_exact(&mut header) {
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(e).context("reading a BGP header"),
        }
        let (kind, len) = header_fields(&header)?;
        self.body.resize(len - HEADER_LEN, 0);
        // A timeout inside a body is retried: a message is never split between two calls.
        let mut got = 0;
        let deadline = Instant::now() + Duration::from_secs(30);
        while got < self.body.len() {
            let rest = self.body.get_mut(got..).unwrap_or_default();
            match self.reader.read(rest) {
                Ok(0) => anyhow::bail!("connection closed inside a message"),
                Ok(n) => got += n,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) && Instant::now() < deadline => {}
                Err(e) => return Err(e).context("reading a BGP message body"),
            }
        }
        Ok(Some(Frame {
            kind,
            body: &self.body,
        }))
    }
}

/// Where a monitor reads its messages from: one session, or several read by one thread.
pub trait FrameSource {
    /// The next message; `Ok(None)` when nothing arrived for a while (the caller checks
    /// whether to stop and calls again), an error when a peer closed or sent garbage.
    fn next_frame(&mut self) -> anyhow::Result<Option<Frame<'_>>>;
}

impl FrameSource for MessageReader {
    fn next_frame(&mut self) -> anyhow::Result<Option<Frame<'_>>> {
        MessageReader::next_frame(self)
    }
}

/// Several sessions read by one thread, message by message, in turn: one monitor peer with
/// a session from each injector (the floor of W2, where ten injectors feed the one monitor
/// that, in a daemon's run, receives all their routes over one session). The sockets are
/// non-blocking; when none has a whole message, the thread sleeps 50 µs.
pub struct MultiReader {
    inputs: Vec<Input>,
    next: usize,
    body: Vec<u8>,
}

/// One session of a [`MultiReader`]: its socket and a fixed buffer, whose octets
/// `start..end` were read and not yet taken.
struct Input {
    stream: TcpStream,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

/// The size of an [`Input`]'s buffer: room for the largest message (65,535 octets) and more.
const INPUT_BUFFER: usize = 256 * 1024;

impl Input {
    /// The whole message at the front of the buffer, if there is one: (type, body range).
    fn whole_message(&self) -> anyhow::Result<Option<(u8, std::ops::Range<usize>)>> {
        let Some(header) = self
            .buf
            .get(self.start..self.end)
            .and_then(|b| b.first_chunk::<HEADER_LEN>())
        else {
            return Ok(None);
        };
        let (kind, len) = header_fields(header)?;
        if self.end < self.start + len {
            return Ok(None);
        }
        Ok(Some((kind, self.start + HEADER_LEN..self.start + len)))
    }

    /// Reads what the socket has (without waiting), after moving the octets not yet taken
    /// to the front. Returns whether anything came.
    fn fill(&mut self) -> anyhow::Result<bool> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        match self
            .stream
            .read(self.buf.get_mut(self.end..).unwrap_or_default())
        {
            Ok(0) => anyhow::bail!("connection closed"),
            Ok(n) => {
                self.end += n;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e).context("reading a monitor session"),
        }
    }
}

impl MultiReader {
    /// Reads `readers` (established sessions, nothing buffered past the OPEN exchange) in
    /// turn from one thread.
    pub fn new(readers: Vec<MessageReader>) -> anyhow::Result<Self> {
        let inputs = readers
            .into_iter()
            .map(|r| {
                let mut buf = vec![0; INPUT_BUFFER].into_boxed_slice();
                let held = r.reader.buffer();
                let end = held.len().min(INPUT_BUFFER);
                if let (Some(dst), Some(src)) = (buf.get_mut(..end), held.get(..end)) {
                    dst.copy_from_slice(src);
                }
                let stream = r.reader.into_inner();
                stream.set_nonblocking(true)?;
                Ok(Input {
                    stream,
                    buf,
                    start: 0,
                    end,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(MultiReader {
            inputs,
            next: 0,
            body: Vec::with_capacity(65536),
        })
    }
}

impl FrameSource for MultiReader {
    fn next_frame(&mut self) -> anyhow::Result<Option<Frame<'_>>> {
        let n = self.inputs.len();
        let deadline = Instant::now() + Duration::from_millis(200);
        loop {
            let mut progress = false;
            for step in 0..n {
                let i = (self.next + step) % n;
                let Some(input) = self.inputs.get_mut(i) else {
                    continue;
                };
                let mut found = input.whole_message()?;
                if found.is_none() && input.fill()? {
                    progress = true;
                    found = input.whole_message()?;
                }
                if let Some((kind, range)) = found {
                    self.body.clear();
                    self.body
                        .extend_from_slice(input.buf.get(range.clone()).unwrap_or_default());
                    input.start = range.end;
                    // The next call starts with the next session: no session starves.
                    self.next = (i + 1) % n;
                    return Ok(Some(Frame {
                        kind,
                        body: &self.body,
                    }));
                }
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            if !progress {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
    }
}

/// Binds a socket to `local` (port chosen by the kernel) and connects it to `remote`.
pub fn connect_from(local: Ipv4Addr, remote: SocketAddr) -> anyhow::Result<TcpStream> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket
        .bind(&SocketAddr::V4(SocketAddrV4::new(local, 0)).into())
        .with_context(|| format!("binding {local}"))?;
    socket
        .connect_timeout(&remote.into(), Duration::from_secs(2))
        .with_context(|| format!("connecting {local} to {remote}"))?;
    let stream: TcpStream = socket.into();
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// A listening socket on `addr` with SO_REUSEADDR (the floor runs' monitor).
pub fn listen(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket
        .bind(&addr.into())
        .with_context(|| format!("binding the floor monitor to {addr}"))?;
    socket.listen(128)?;
    Ok(socket.into())
}

/// Completes the OPEN exchange on a connected stream (RFC 4271 §8.2.2: OPEN, then
/// KEEPALIVE, both ways). Returns the reader and the peer's OPEN AS.
pub fn establish(
    stream: TcpStream,
    me: Speaker,
    timeout: Duration,
) -> anyhow::Result<(TcpStream, MessageReader)> {
    let mut writer = stream.try_clone()?;
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    writer.write_all(&open_message(me)?)?;
    let mut reader = MessageReader::new(stream);
    let deadline = Instant::now() + timeout;
    let (mut got_open, mut got_keepalive) = (false, false);
    while !(got_open && got_keepalive) {
        if Instant::now() > deadline {
            anyhow::bail!("no OPEN/KEEPALIVE within {timeout:?}");
        }
        let Some(frame) = reader.next_frame()? else {
            continue;
        };
        match frame.kind {
            1 => {
                got_open = true;
                writer.write_all(&keepalive_message()?)?;
            }
            3 => {
                let code = frame.body.first().copied().unwrap_or(0);
                let sub = frame.body.get(1).copied().unwrap_or(0);
                anyhow::bail!("NOTIFICATION {code}/{sub} during the OPEN exchange");
            }
            4 if got_open => got_keepalive = true,
            _ => {}
        }
    }
    Ok((writer, reader))
}

/// What one UPDATE said, as far as the bench cares.
#[derive(Debug, Default)]
pub struct Scan {
    /// IPv4 prefixes withdrawn, as keys ([`prefix_key`]).
    pub withdrawn: Vec<u64>,
    /// IPv4 prefixes announced, as keys.
    pub announced: Vec<u64>,
    /// The MED (type 4), when present.
    pub med: Option<u32>,
    /// No withdrawals, no attributes, no NLRI: IPv4 End-of-RIB (RFC 4724 §2).
    pub end_of_rib: bool,
}

/// A prefix as one integer: address in the high bits, length in the low 8.
pub fn prefix_key(addr: u32, len: u8) -> u64 {
    (u64::from(addr) << 8) | u64::from(len)
}

fn prefixes(mut field: &[u8], out: &mut Vec<u64>) -> anyhow::Result<()> {
    while let Some((&len, rest)) = field.split_first() {
        if len > 32 {
            anyhow::bail!("IPv4 prefix length {len} (RFC 4271 §4.3)");
        }
        let n = usize::from(len).div_ceil(8);
        let Some(bytes) = rest.get(..n) else {
            anyhow::bail!("prefix runs past its field");
        };
        let mut a = [0u8; 4];
        if let Some(dst) = a.get_mut(..n) {
            dst.copy_from_slice(bytes);
        }
        out.push(prefix_key(u32::from_be_bytes(a), len));
        field = rest.get(n..).unwrap_or_default();
    }
    Ok(())
}

/// The messages in `stream` (BGP messages back to back, as an injector writes them), as
/// (type code, body). Stops at the first header that is bad or does not fit (RFC 4271 §4.1).
pub fn frames(mut stream: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        let (kind, len) = header_fields(stream.first_chunk::<HEADER_LEN>()?).ok()?;
        let body = stream.get(HEADER_LEN..len)?;
        stream = stream.get(len..)?;
        Some((kind, body))
    })
}

/// Scans an UPDATE body (RFC 4271 §4.3) into `scan` (cleared first).
pub fn scan_update(body: &[u8], want_med: bool, scan: &mut Scan) -> anyhow::Result<()> {
    scan.withdrawn.clear();
    scan.announced.clear();
    scan.med = None;
    let field = |b: &[u8], at: usize| -> anyhow::Result<(usize, usize)> {
        let Some(&[l0, l1]) = b.get(at..at + 2) else {
            anyhow::bail!("UPDATE too short");
        };
        Ok((at + 2, usize::from(u16::from_be_bytes([l0, l1]))))
    };
    let (wstart, wlen) = field(body, 0)?;
    let withdrawn = body
        .get(wstart..wstart + wlen)
        .context("withdrawn routes run past the UPDATE")?;
    prefixes(withdrawn, &mut scan.withdrawn)?;
    let (astart, alen) = field(body, wstart + wlen)?;
    let attrs = body
        .get(astart..astart + alen)
        .context("path attributes run past the UPDATE")?;
    if want_med {
        scan.med = find_med(attrs);
    }
    let nlri = body.get(astart + alen..).unwrap_or_default();
    prefixes(nlri, &mut scan.announced)?;
    scan.end_of_rib = wlen == 0 && alen == 0 && nlri.is_empty();
    Ok(())
}

/// The MED in an attribute block (RFC 4271 §4.3: flags, type, 1- or 2-octet length).
fn find_med(mut attrs: &[u8]) -> Option<u32> {
    while let Some(&[flags, code, l0]) = attrs.get(..3) {
        let (len, head) = if flags & 0x10 != 0 {
            (usize::from(u16::from_be_bytes([l0, *attrs.get(3)?])), 4)
        } else {
            (usize::from(l0), 3)
        };
        let value = attrs.get(head..head + len)?;
        if let (4, &[a, b, c, d]) = (code, value) {
            return Some(u32::from_be_bytes([a, b, c, d]));
        }
        attrs = attrs.get(head + len..)?;
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn frames_splits_a_stream_and_stops_at_a_short_header() {
        let mut stream = keepalive_message().unwrap();
        stream.extend(end_of_rib_message().unwrap());
        stream.extend([0xff; 10]);
        let got: Vec<(u8, usize)> = frames(&stream).map(|(k, b)| (k, b.len())).collect();
        assert_eq!(got, vec![(4, 0), (2, 4)]);
    }

    #[test]
    fn a_multi_reader_takes_every_message_of_every_session() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut senders = Vec::new();
        let mut readers = Vec::new();
        for _ in 0..3 {
            senders.push(TcpStream::connect(addr).unwrap());
            readers.push(MessageReader::new(listener.accept().unwrap().0));
        }
        let mut multi = MultiReader::new(readers).unwrap();
        let (eor, keepalive) = (end_of_rib_message().unwrap(), keepalive_message().unwrap());
        for (i, s) in senders.iter_mut().enumerate() {
            for _ in 0..=i {
                s.write_all(&eor).unwrap();
            }
            // Half a message now, the rest later: it is taken only once whole.
            s.write_all(&keepalive[..10]).unwrap();
        }
        let mut kinds = Vec::new();
        while kinds.len() < 6 {
            if let Some(f) = multi.next_frame().unwrap() {
                kinds.push(f.kind);
            }
        }
        assert_eq!(kinds, vec![2; 6]);
        assert!(
            multi.next_frame().unwrap().is_none(),
            "no whole message left"
        );
        for s in &mut senders {
            s.write_all(&keepalive[10..]).unwrap();
        }
        for _ in 0..3 {
            let f = loop {
                if let Some(f) = multi.next_frame().unwrap() {
                    break f.kind;
                }
            };
            assert_eq!(f, 4);
        }
        drop(senders);
        assert!(multi.next_frame().is_err(), "a closed session is an error");
    }

    #[test]
    fn scans_withdrawals_nlri_and_med() {
        // withdrawn 10.0.0.0/8; attributes: MED 7; NLRI 192.168.1.0/24, 0.0.0.0/0
        let body = [
            0, 2, 8, 10, // withdrawn
            0, 7, 0x80, 4, 4, 0, 0, 0, 7, // MED
            24, 192, 168, 1, 0,
        ];
        let mut s = Scan::default();
        scan_update(&body, true, &mut s).unwrap();
        assert_eq!(s.withdrawn, vec![prefix_key(0x0a00_0000, 8)]);
        assert_eq!(
            s.announced,
            vec![prefix_key(0xc0a8_0100, 24), prefix_key(0, 0)]
        );
        assert_eq!(s.med, Some(7));
        assert!(!s.end_of_rib);
        scan_update(&[0, 0, 0, 0], false, &mut s).unwrap();
        assert!(s.end_of_rib);
    }

    #[test]
    fn bad_updates_are_errors_not_panics() {
        let mut s = Scan::default();
        for body in [
            &[0u8][..],
            &[0, 5, 1],
            &[0, 0, 0, 0, 33, 1],
            &[0, 0, 0, 9, 0x80],
        ] {
            assert!(scan_update(body, true, &mut s).is_err() || s.announced.is_empty());
        }
    }
}
