//! # bgpd
//!
//! A BGP speaker for Kubernetes labs. This library holds everything the `bgpd` binary runs;
//! each module holds one concept (see ARCHITECTURE.md).

pub mod api;
pub mod audit;
pub mod bench;
pub mod chaos;
pub mod check;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod events;
pub mod lab_peer;
pub mod logging;
pub mod metrics;
pub mod mrt_view;
pub mod policy;
pub mod recording;
pub mod replay;
pub mod rib;
pub mod session;
pub mod show;
