//! Shared by bgpd's fuzz targets: the config checks ([`config`]) and the stateful lab of
//! four peers around one FSM each and the RIB ([`lab`]), driven by fuzz input ([`input`]),
//! with the invariants checked after every step ([`invariants`]).

pub mod config;
pub mod input;
pub mod invariants;
pub mod lab;
