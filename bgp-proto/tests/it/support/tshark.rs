//! Runs `tshark` on a capture and reads its PDML output (`-T pdml`).
//!
//! PDML is used rather than `-T json`: it keeps every field in wire order, never merges fields
//! of the same name, and gives each BGP message its own `<proto name="bgp">` element, also when
//! several messages share one TCP segment. The reader below understands exactly the XML that
//! tshark writes: elements with double-quoted attributes, one per tag.

use std::path::Path;
use std::process::Command;

/// An element of the PDML tree (`packet`, `proto` or `field`).
#[derive(Debug, Clone, Default)]
pub struct Node {
    /// The tag: `packet`, `proto`, `field`, or `pdml` for the root.
    pub tag: String,
    /// The `name` attribute (empty for text-only tree labels).
    pub name: String,
    /// The `show` attribute: the value as Wireshark displays it.
    pub show: String,
    /// The `showname` attribute: the whole tree line.
    pub showname: String,
    /// The `value` attribute: the field's octets in hex (empty for fields without a value
    /// of their own, such as subtrees).
    pub value: String,
    /// The `pos` attribute: where the field starts in the dissected octets.
    pub pos: usize,
    /// The `size` attribute: how many octets the field covers.
    pub size: usize,
    /// Child elements in document order.
    pub children: Vec<Node>,
}

impl Node {
    /// The first child with this name.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every node below this one (itself included), depth first in document order.
    pub fn walk(&self) -> Vec<&Node> {
        let mut out = vec![self];
        for c in &self.children {
            out.extend(c.walk());
        }
        out
    }
}

/// One dissected frame.
#[derive(Debug)]
pub struct Frame<'a> {
    /// Frame number.
    pub number: usize,
    /// The frame's `<packet>` element.
    pub packet: &'a Node,
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let c = match entity {
            "quot" => Some('"'),
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Position of the `>` that ends the tag at the start of `s` (a `>` inside a quoted attribute
/// value does not count).
fn tag_end(s: &str) -> Option<usize> {
    let mut quoted = false;
    s.char_indices().find_map(|(i, c)| match c {
        '"' => {
            quoted = !quoted;
            None
        }
        '>' if !quoted => Some(i),
        _ => None,
    })
}

/// Parses tshark's PDML output into a tree whose root holds the `<pdml>` element's children.
pub fn parse_pdml(xml: &str) -> Result<Node, String> {
    let mut stack = vec![Node {
        tag: "pdml".into(),
        ..Node::default()
    }];
    let mut rest = xml;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        let close = tag_end(rest).ok_or("unterminated tag")?;
        let tag = &rest[..close];
        rest = &rest[close + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            if name.trim() == "pdml" {
                continue;
            }
            let done = stack.pop().ok_or("unbalanced closing tag")?;
            stack
                .last_mut()
                .ok_or_else(|| format!("closing </{name}> without an open element"))?
                .children
                .push(done);
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let (element, mut attrs) = tag.split_once(' ').unwrap_or((tag, ""));
        if element == "pdml" {
            continue;
        }
        let mut node = Node {
            tag: element.to_string(),
            ..Node::default()
        };
        while let Some(eq) = attrs.find("=\"") {
            let key = attrs[..eq].trim();
            let after = &attrs[eq + 2..];
            let end = after.find('"').ok_or("unterminated attribute")?;
            let value = unescape(&after[..end]);
            match key {
                "name" => node.name = value,
                "show" => node.show = value,
                "showname" => node.showname = value,
                "value" => node.value = value,
                "pos" => node.pos = value.parse().map_err(|_| format!("pos {value:?}"))?,
                "size" => node.size = value.parse().map_err(|_| format!("size {value:?}"))?,
                _ => {}
            }
            attrs = &after[end + 1..];
        }
        if self_closing {
            stack
                .last_mut()
                .ok_or("element outside the document")?
                .children
                .push(node);
        } else {
            stack.push(node);
        }
    }
    match <[Node; 1]>::try_from(stack) {
        Ok([root]) => Ok(root),
        Err(stack) => Err(format!("{} unclosed elements", stack.len() - 1)),
    }
}

/// Runs `tshark -T pdml` on `capture` with BGP decoding on TCP port 179, TCP reassembly, no
/// name resolution, checksum checks, and the extra `-o` preferences given. Panics (so the
/// test fails) when tshark is not installed or fails.
pub fn dissect(capture: &Path, preferences: &[&str]) -> Node {
    let mut command = Command::new("tshark");
    command
        .arg("-n")
        .arg("-r")
        .arg(capture)
        .args(["-T", "pdml", "-d", "tcp.port==179,bgp"])
        .args(["-o", "tcp.desegment_tcp_streams:TRUE"])
        .args(["-o", "bgp.desegment:TRUE"])
        .args(["-o", "ip.check_checksum:TRUE"])
        .args(["-o", "tcp.check_checksum:TRUE"]);
    for p in preferences {
        command.args(["-o", p]);
    }
    let output = match command.output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "tshark is required for this test and was not found on PATH \
             (Debian: apt-get install tshark)"
        ),
        Err(e) => panic!("cannot run tshark: {e}"),
    };
    assert!(
        output.status.success(),
        "tshark failed on {}: {}\n{}",
        capture.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let xml = String::from_utf8(output.stdout).expect("tshark writes UTF-8");
    parse_pdml(&xml).unwrap_or_else(|e| panic!("cannot read tshark's PDML: {e}"))
}

/// A path for a capture written by a test, unique to this process (several test runs may
/// share the target directory). Kept when the test fails, for a look with Wireshark.
pub fn scratch_capture(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}.pcap", std::process::id()))
}

/// Frame number of a `<packet>` element (its `geninfo` `num` field).
fn frame_number(packet: &Node) -> usize {
    packet
        .children
        .iter()
        .find(|p| p.name == "geninfo")
        .and_then(|g| g.child("num"))
        .and_then(|n| n.show.parse().ok())
        .unwrap_or(0)
}

/// Every BGP message tshark dissected, in order, with its frame number.
pub fn bgp_messages(root: &Node) -> Vec<(usize, &Node)> {
    let mut out = Vec::new();
    for packet in root.children.iter().filter(|p| p.tag == "packet") {
        let number = frame_number(packet);
        for proto in packet.children.iter().filter(|p| p.name == "bgp") {
            out.push((number, proto));
        }
    }
    out
}

/// Wireshark's expert severity for errors (`PI_ERROR`) and warnings (`PI_WARN`).
pub const SEVERITY_ERROR: u64 = 0x0080_0000;
/// See [`SEVERITY_ERROR`].
pub const SEVERITY_WARN: u64 = 0x0060_0000;

/// Frame number and text of every malformed-packet marker and every expert entry of at least
/// `severity` in the dissection.
pub fn problems(root: &Node, severity: u64) -> Vec<String> {
    let mut out = Vec::new();
    for packet in root.children.iter().filter(|p| p.tag == "packet") {
        let number = frame_number(packet);
        for node in packet.walk() {
            if node.name == "_ws.malformed" {
                out.push(format!("frame {number}: malformed: {}", node.showname));
            }
            let level = node
                .child("_ws.expert.severity")
                .and_then(|s| s.show.parse::<u64>().ok());
            if node.name == "_ws.expert" && level.is_some_and(|l| l >= severity) {
                out.push(format!("frame {number}: expert: {}", node.showname));
            }
        }
    }
    out
}
