//! The routing information bases: Adj-RIB-In per peer, the Loc-RIB with best-path selection,
//! and what was advertised to each peer (Adj-RIB-Out).

pub mod adj_rib_in;
pub mod best_path;
pub mod classes;
pub mod deferral;
pub mod export;
#[cfg(test)]
mod graceful_tests;
pub mod llgr;
pub mod prefix_log;
pub mod route;
pub mod table;
#[cfg(test)]
mod table_tests;
pub mod wire;
