//! The routing information bases: Adj-RIB-In per peer, the Loc-RIB with best-path selection,
//! and what was advertised to each peer (Adj-RIB-Out).

pub mod best_path;
pub mod export;
pub mod route;
