//! MRT records (RFC 6396). Placeholder: `bgp_proto::mrt` is being written in parallel; enable
//! the `[[bin]]` entry in ../Cargo.toml and the body below once its reader API has landed.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Something like:
    // let mut reader = bgp_proto::mrt::Reader::new(data);
    // while let Some(record) = reader.next() {
    //     let Ok(record) = record else { break };
    //     let _ = format!("{record:?}");
    // }
    let _ = data;
});
