//! Shared by the integration tests (`mod support;`): a pcap reader and writer, a tshark runner
//! with a PDML reader, the comparison of this crate's reading of a message with tshark's,
//! session negotiation, and proptest strategies for every message, attribute and capability.

// Each test file uses a different part of this module.
#![allow(dead_code)]

pub mod facts;
pub mod pcap;
pub mod pcap_write;
pub mod session;
pub mod strategies;
pub mod tshark;
