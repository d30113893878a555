//! bgp-proto's integration tests, as one test binary (one release link instead of five; see
//! `bgpd/tests/it/main.rs`). `support` holds the pcap reader and writer, the tshark runner and
//! the proptest strategies that several modules share.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

mod bad_inputs;
mod checked_update;
mod encoder_tshark;
mod fixtures;
mod pcap_tshark;
mod roundtrip_props;
