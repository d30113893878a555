//! bgpd's integration tests, as one test binary: each module was its own binary, and every
//! binary is a full release link with thin LTO, which made building the tests the longest step
//! of `tests/run.sh`. nextest still runs every test in its own process.
//!
//! The modules drive the real `bgpd` binary (`CARGO_BIN_EXE_bgpd`) over loopback, with real
//! peers (`gobgpd`) where one exists; `support` holds what several of them share.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

mod support;

mod api_cli;
mod api_token;
mod audit_api;
mod audit_mrt;
mod bad_inputs_tcp;
mod chaos;
mod collision;
mod config_check;
mod daemon_routes;
mod demo;
mod gobgp_smoke;
mod mrt_bgpdump;
mod record_replay;
mod rib_permutations;
mod session_security;
mod signals;
