//! Recording sessions to MRT (RFC 6396): every message received and sent and every state
//! change as BGP4MP_ET records (microsecond timestamps), in one file or one per peer,
//! rotated by size or time; and TABLE_DUMP_V2 snapshots of the Loc-RIB and every
//! Adj-RIB-In ([`snapshot`]). Files open in `bgpdump` and in `bgpd mrt`, and `bgpd replay`
//! plays them back.
//!
//! Messages are written as the octets on the wire (also malformed ones), so a recording
//! reproduces exactly what a peer sent.

pub mod snapshot;

use bgp_proto::mrt::{Bgp4mpMessage, Bgp4mpPeer, MrtWriter, StateChange};
use bgp_proto::Message;
use bytes::Bytes;
use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// `[recording]` settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RecordingConfig {
    /// Directory for the files (created if missing). Required.
    pub directory: PathBuf,
    /// One file per peer instead of one for all. Default false.
    #[serde(default)]
    pub per_peer: bool,
    /// Start a new file after this many seconds. Default 3600.
    #[serde(default = "default_rotate_seconds")]
    pub rotate_seconds: u64,
    /// Start a new file after this many bytes. Default 100 MiB.
    #[serde(default = "default_rotate_bytes")]
    pub rotate_bytes: u64,
    /// Seconds between TABLE_DUMP_V2 snapshots; 0 = only on demand. Default 0.
    #[serde(default)]
    pub snapshot_interval: u64,
}

fn default_rotate_seconds() -> u64 {
    3600
}
fn default_rotate_bytes() -> u64 {
    100 * 1024 * 1024
}

/// Who the two ends of a session are, for the BGP4MP peer header.
#[derive(Debug, Clone, Copy)]
pub struct SessionEnds {
    /// The peer's AS.
    pub peer_as: u32,
    /// Our AS.
    pub local_as: u32,
    /// The peer's address.
    pub peer_address: IpAddr,
    /// Our address on the session (unspecified before a connection exists).
    pub local_address: IpAddr,
}

impl SessionEnds {
    fn bgp4mp(&self) -> Bgp4mpPeer {
        let local = match (self.peer_address, self.local_address) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => v6
                .to_ipv4_mapped()
                .map(IpAddr::V4)
                .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
            (IpAddr::V6(_), IpAddr::V4(v4)) => IpAddr::V6(v4.to_ipv6_mapped()),
            (_, l) => l,
        };
        Bgp4mpPeer {
            peer_as: self.peer_as,
            local_as: self.local_as,
            interface_index: 0,
            peer_address: self.peer_address,
            local_address: local,
        }
    }
}

/// One thing to record.
#[derive(Debug)]
pub enum RecordEvent {
    /// A message, as its octets.
    Message {
        /// When.
        time: SystemTime,
        /// The session.
        ends: SessionEnds,
        /// We sent it (`_LOCAL` subtypes) rather than received it.
        sent: bool,
        /// Its NLRI carry ADD-PATH path identifiers (RFC 8050 subtypes).
        add_path: bool,
        /// The octets, marker included.
        raw: Bytes,
    },
    /// A state change (RFC 6396 §4.4.1 state numbers: 1 Idle ... 6 Established).
    State {
        /// When.
        time: SystemTime,
        /// The session.
        ends: SessionEnds,
        /// Old state.
        old: u16,
        /// New state.
        new: u16,
    },
}

/// Where peer tasks send what they record.
pub type RecorderHandle = mpsc::UnboundedSender<RecordEvent>;

/// The MRT state number of an FSM state (RFC 6396 §4.4.1).
pub fn mrt_state(state: crate::session::fsm::State) -> u16 {
    use crate::session::fsm::State::*;
    match state {
        Idle => 1,
        Connect => 2,
        Active => 3,
        OpenSent => 4,
        OpenConfirm => 5,
        Established => 6,
    }
}

struct OpenFile {
    writer: MrtWriter<BufWriter<File>>,
    opened: Instant,
    bytes: u64,
}

fn split_time(t: SystemTime) -> (u32, u32) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    (
        u32::try_from(d.as_secs()).unwrap_or(u32::MAX),
        d.subsec_micros(),
    )
}

fn file_name(dir: &Path, peer: Option<IpAddr>) -> PathBuf {
    let (secs, micros) = split_time(SystemTime::now());
    let who = peer
        .map(|p| p.to_string().replace(':', "_"))
        .unwrap_or_else(|| "all".into());
    dir.join(format!("updates.{who}.{secs}.{micros:06}.mrt"))
}

/// Starts the recorder task; returns the handle peer tasks send to.
pub fn start(config: RecordingConfig) -> std::io::Result<RecorderHandle> {
    std::fs::create_dir_all(&config.directory)?;
    let (tx, mut rx) = mpsc::unbounded_channel::<RecordEvent>();
    tokio::task::spawn_blocking(move || {
        let mut files: HashMap<Option<IpAddr>, OpenFile> = HashMap::new();
        let rotate_after = Duration::from_secs(config.rotate_seconds.max(1));
        while let Some(ev) = rx.blocking_recv() {
            let peer = match &ev {
                RecordEvent::Message { ends, .. } | RecordEvent::State { ends, .. } => {
                    ends.peer_address
                }
            };
            let key = config.per_peer.then_some(peer);
            let rotate = files.get(&key).is_some_and(|f| {
                f.opened.elapsed() >= rotate_after || f.bytes >= config.rotate_bytes
            });
            if rotate {
                if let Some(mut f) = files.remove(&key) {
                    let _ = f.writer.flush();
                }
            }
            if let std::collections::hash_map::Entry::Vacant(slot) = files.entry(key) {
                let path = file_name(&config.directory, key);
                match File::create(&path) {
                    Ok(f) => {
                        tracing::info!(file = %path.display(), "recording BGP messages (MRT BGP4MP_ET)");
                        slot.insert(OpenFile {
                            writer: MrtWriter::new(BufWriter::new(f)),
                            opened: Instant::now(),
                            bytes: 0,
                        });
                    }
                    Err(e) => {
                        tracing::error!(file = %path.display(), error = %e, "cannot create the recording file");
                        continue;
                    }
                }
            }
            let Some(f) = files.get_mut(&key) else {
                continue;
            };
            let result = match ev {
                RecordEvent::Message {
                    time,
                    ends,
                    sent,
                    add_path,
                    raw,
                } => {
                    let (s, us) = split_time(time);
                    f.bytes += raw.len() as u64 + 60;
                    let m = Bgp4mpMessage {
                        peer: ends.bgp4mp(),
                        four_octet_as: true,
                        local: sent,
                        add_path,
                        // Written from `raw`; the decoded form is not needed for writing.
                        message: Message::Keepalive,
                        raw,
                    };
                    f.writer.write_message_et(s, us, &m)
                }
                RecordEvent::State {
                    time,
                    ends,
                    old,
                    new,
                } => {
                    let (s, us) = split_time(time);
                    f.bytes += 40;
                    f.writer.write_state_change_et(
                        s,
                        us,
                        &StateChange {
                            peer: ends.bgp4mp(),
                            four_octet_as: true,
                            old_state: old,
                            new_state: new,
                        },
                    )
                }
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "cannot write a recording record");
            }
            if rx.is_empty() {
                for f in files.values_mut() {
                    let _ = f.writer.flush();
                }
            }
        }
        for f in files.values_mut() {
            let _ = f.writer.flush();
        }
    });
    Ok(tx)
}
