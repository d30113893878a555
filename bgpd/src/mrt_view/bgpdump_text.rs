//! The `bgpdump -m` one-line format:
//!
//! ```text
//! A/B: FORMAT|TIME|A|PEER_IP|PEER_AS|PREFIX|[PATH_ID|]AS_PATH|ORIGIN|NEXT_HOP|LOCAL_PREF|MED|COMMUNITIES|AG or NAG|[AGGR_AS AGGR_IP]|
//! W:   FORMAT|TIME|W|PEER_IP|PEER_AS|PREFIX[|PATH_ID]
//! STATE: FORMAT|TIME|STATE|PEER_IP|PEER_AS|OLD_STATE|NEW_STATE
//! ```
//!
//! (`A` lines of the deprecated BGP type differ: see `route_lines`.)
//!
//! Lines are built in a reused buffer, and everything but the prefix is formatted once per
//! line group (one message's NLRI of one kind), so a message with many prefixes costs little
//! more than copying.

use super::route_lines::{Line, LineKind, LineSink};
use super::text_format::{push_i32_of, push_ip, push_micros, push_u32};
use std::io::{self, Write};

/// Output is handed to the writer in chunks of about this size.
const FLUSH_AT: usize = 1 << 20;

/// Prints lines in bgpdump's `-m` format.
pub(crate) struct TextPrinter<W: Write> {
    out: W,
    buf: Vec<u8>,
    group: Option<u64>,
    head: Vec<u8>,
    tail: Vec<u8>,
}

impl<W: Write> TextPrinter<W> {
    /// A printer writing to `out`.
    pub(crate) fn new(out: W) -> Self {
        TextPrinter {
            out,
            buf: Vec::with_capacity(FLUSH_AT + 64 * 1024),
            group: None,
            head: Vec::with_capacity(128),
            tail: Vec::with_capacity(512),
        }
    }

    /// Writes what is buffered and flushes the output.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()
    }

    /// Formats everything of `l` that is the same for its whole group.
    fn cache_group(&mut self, l: &Line<'_>) {
        let head = &mut self.head;
        head.clear();
        head.extend_from_slice(l.format.as_bytes());
        head.push(b'|');
        push_u32(head, l.timestamp);
        if let Some(us) = l.microseconds {
            head.push(b'.');
            push_micros(head, us);
        }
        head.push(b'|');
        head.extend_from_slice(l.kind.text().as_bytes());
        head.push(b'|');
        push_ip(head, l.peer);
        head.push(b'|');
        push_u32(head, l.peer_as);
        head.push(b'|');
        if let Some((old, new)) = l.states {
            push_u32(head, u32::from(old));
            head.push(b'|');
            push_u32(head, u32::from(new));
        }

        let tail = &mut self.tail;
        tail.clear();
        if let Some(r) = &l.route {
            let a = r.attributes;
            tail.extend_from_slice(&a.as_path);
            tail.push(b'|');
            tail.extend_from_slice(a.origin.as_bytes());
            tail.push(b'|');
            push_ip(tail, r.next_hop);
            tail.push(b'|');
            if r.signed {
                push_i32_of(tail, a.local_pref);
                tail.push(b'|');
                push_i32_of(tail, a.med);
            } else {
                push_u32(tail, a.local_pref);
                tail.push(b'|');
                push_u32(tail, a.med);
            }
            if !r.legacy_layout {
                tail.push(b'|');
            }
            tail.extend_from_slice(&a.communities);
            tail.push(b'|');
            tail.extend_from_slice(if a.atomic_aggregate { b"AG" } else { b"NAG" });
            tail.push(b'|');
            if let Some((asn, address)) = a.aggregator {
                push_u32(tail, asn);
                tail.push(b' ');
                push_ip(tail, address.into());
            }
            tail.push(b'|');
        }
        self.group = Some(l.group);
    }
}

impl<W: Write> LineSink for TextPrinter<W> {
    fn line(&mut self, l: &Line<'_>) -> io::Result<()> {
        if self.group != Some(l.group) {
            self.cache_group(l);
        }
        let buf = &mut self.buf;
        buf.extend_from_slice(&self.head);
        if let Some((addr, len)) = l.prefix {
            push_ip(buf, addr);
            buf.push(b'/');
            push_u32(buf, u32::from(len));
            match (l.kind, l.path_id) {
                (LineKind::Withdraw, Some(id)) => {
                    buf.push(b'|');
                    push_u32(buf, id);
                }
                (LineKind::Withdraw, None) => {}
                (_, Some(id)) => {
                    buf.push(b'|');
                    push_u32(buf, id);
                    buf.push(b'|');
                }
                (_, None) => buf.push(b'|'),
            }
        }
        buf.extend_from_slice(&self.tail);
        buf.push(b'\n');
        if buf.len() >= FLUSH_AT {
            self.out.write_all(buf)?;
            buf.clear();
        }
        Ok(())
    }
}
