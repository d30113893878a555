//! The real full table's UPDATEs (`updates.et-header.2015.gz`, 89,679 UPDATEs, 10.3 MB) as
//! raw messages with the context of the session they came on, read into memory; shared by the
//! `session_decode` bench and the `session_profile` example (included with `#[path]`).

use bgp_proto::mrt::{Bgp4mpMessage, MrtBody, MrtReader};
use bgp_proto::{Message, SessionContext};
use bgpd::rib::received::ReceivedUpdate;
use std::io::Read;

/// Every UPDATE of the file: its octets and its session's context.
pub fn real_updates() -> Vec<(Vec<u8>, SessionContext)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/mrt/updates.et-header.2015.gz"
    );
    let mut data = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).expect("open the MRT file"))
        .read_to_end(&mut data)
        .expect("read the MRT file");
    MrtReader::new(&data[..])
        .expect("an MRT file")
        .flatten()
        .filter_map(|r| match r.body {
            MrtBody::Message(m) if matches!(m.message, Message::Update(_)) => Some((
                m.raw.to_vec(),
                Bgp4mpMessage::context(m.four_octet_as, m.add_path),
            )),
            _ => None,
        })
        .collect()
}

/// The session's path before session 20: the full decoder, then [`ReceivedUpdate::new`].
pub fn decode_and_prepare(raw: &[u8], ctx: &SessionContext) -> Option<ReceivedUpdate> {
    match Message::decode(raw, ctx) {
        Ok(Message::Update(u)) => Some(ReceivedUpdate::new(u, ctx.four_octet_as)),
        _ => None,
    }
}

/// The session's path since session 20: [`ReceivedUpdate::from_frame`], and the full
/// decoder for what the check leaves.
pub fn prepare(raw: &[u8], ctx: &SessionContext) -> Option<ReceivedUpdate> {
    ReceivedUpdate::from_frame(raw, ctx).or_else(|| decode_and_prepare(raw, ctx))
}
