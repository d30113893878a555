//! MRT records (RFC 6396): the streaming reader over arbitrary input (plain; gzip and bzip2
//! detection included), and one record decoded from memory. Nothing may panic; a record
//! that decodes must encode again and decode to a record of the same type (the deprecated
//! type 5, BGP, is read into BGP4MP and written back as BGP4MP by design).
#![no_main]

use bgp_proto::mrt::{mrt_type, MrtReader, MrtRecord};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(reader) = MrtReader::new(data) {
        for record in reader.take(1000) {
            let Ok(record) = record else { continue };
            let _ = format!("{record:?}");
        }
    }
    let bytes = bytes::Bytes::copy_from_slice(data);
    if let Ok(record) = MrtRecord::decode(&bytes) {
        if let Ok(again) = record.to_bytes() {
                        let back = MrtRecord::decode(&again).expect("an encoded record decodes");
            if record.header.mrt_type != mrt_type::BGP {
                assert_eq!(back.header.mrt_type, record.header.mrt_type);
            }
        }
    }
});
