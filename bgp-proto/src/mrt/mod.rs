//! MRT routing information export format (RFC 6396, with the RFC 8050 ADD-PATH subtypes):
//! a streaming reader and a writer.
//!
//! ## Reading
//! [`MrtReader`] reads from any [`std::io::Read`], detects gzip (`1f 8b`) and bzip2 (`BZh`)
//! by their magic bytes, and yields one [`MrtRecord`] at a time: memory stays at one record
//! however large the file. [`MrtRecord::decode`] decodes one record held in memory.
//!
//! | type | subtypes decoded | body |
//! |---|---|---|
//! | TABLE_DUMP (12), §4.2 | AFI_IPv4, AFI_IPv6 | [`TableDumpEntry`] |
//! | TABLE_DUMP_V2 (13), §4.3 | PEER_INDEX_TABLE | [`PeerIndexTable`] |
//! | | RIB_IPV4/IPV6_UNICAST/MULTICAST, RIB_GENERIC, ADD-PATH 8–12 (RFC 8050 §4) | [`RibRecord`] |
//! | BGP4MP (16), BGP4MP_ET (17), §4.4 | STATE_CHANGE, STATE_CHANGE_AS4 | [`StateChange`] |
//! | | MESSAGE, MESSAGE_AS4, MESSAGE_LOCAL, MESSAGE_AS4_LOCAL, ADD-PATH 8–11 (RFC 8050 §3) | [`Bgp4mpMessage`] |
//! | BGP (5, deprecated), Appendix B.2.3 | BGP_UPDATE, BGP_STATE_CHANGE | [`Bgp4mpMessage`], [`StateChange`] |
//!
//! Anything else (other types and subtypes, RIB_GENERIC of a family without prefix NLRI) is
//! yielded as [`MrtBody::Raw`], never as an error.
//!
//! ## What is validated where
//! - The reader: header present, length within [`DEFAULT_MAX_RECORD_LEN`], the whole body
//!   present. A truncated record at the end of the input, an oversized record or an I/O error
//!   ends the stream after one error.
//! - The body decoders: every fixed field present, known address families, prefix lengths
//!   that fit the family, attribute blocks inside the record. A record that fails is one
//!   [`MrtError::Record`] carrying a [`crate::DecodeError`] (`ErrorKind::Mrt { reason }`, or the
//!   error of an embedded BGP message) with the byte offset from the record's first octet;
//!   the reader goes on with the next record.
//! - BGP4MP messages are decoded with [`crate::Message::decode`] in the context
//!   [`Bgp4mpMessage::context`] gives (AS width from the subtype, ADD-PATH for every family
//!   with the ADD-PATH subtypes, extended messages allowed, LOCAL_PREF kept).
//! - TABLE_DUMP_V2 RIB attributes are decoded with 4-octet AS numbers and the §4.3.4
//!   abbreviated MP_REACH_NLRI (next hop only; the full RFC 4760 form some writers use is
//!   recognised too). RFC 7606 problems are listed in each entry's `issues`.
//! - An archive keeps what peers sent: attributes with AS 0 (RFC 7607) are kept, and an
//!   UPDATE whose NLRI field ends in a truncated prefix is decoded up to it; both are listed
//!   as issues.
//!
//! Nothing here panics on any input: no indexing or `unwrap` on file bytes.
//!
//! ## Writing
//! [`MrtWriter`] and [`encode_record`] write every body the reader decodes: TABLE_DUMP_V2
//! (PEER_INDEX_TABLE and RIB records with the abbreviated MP_REACH_NLRI), BGP4MP_ET
//! MESSAGE_AS4 and STATE_CHANGE_AS4 (and the other BGP4MP subtypes), TABLE_DUMP and raw
//! records. Decoding what was written gives the same records back, byte for byte (except
//! for the deprecated type 5 records, whose bodies are written as BGP4MP).
//!
//! ```
//! use bgp_proto::mrt::{MrtBody, MrtReader};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let input: &[u8] = &[]; // a file, a gzip or bzip2 stream...
//! for record in MrtReader::new(input)? {
//!     match record?.body {
//!         MrtBody::Message(m) => println!("{:?} from {}", m.message.message_type(), m.peer.peer_address),
//!         MrtBody::Rib(rib) => println!("{} paths to {}", rib.entries.len(), rib.prefix),
//!         _ => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod bgp4mp;
mod decode;
mod fields;
mod legacy_bgp;
mod reader;
mod record;
mod recovery;
#[cfg(test)]
mod round_trip;
mod table_dump;
mod table_dump_v2;
mod writer;

pub use reader::{Compression, MrtError, MrtReader, DEFAULT_MAX_RECORD_LEN};
pub use record::{
    bgp4mp_subtype, legacy_bgp_subtype, mrt_type, table_dump_subtype, table_dump_v2_subtype,
    Bgp4mpMessage, Bgp4mpPeer, MrtBody, MrtHeader, MrtRecord, PeerEntry, PeerIndexTable, RibEntry,
    RibRecord, StateChange, TableDumpEntry, MRT_HEADER_LEN,
};
pub use writer::{encode_record, MrtWriteError, MrtWriter};
