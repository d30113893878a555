//! The routing information bases: Adj-RIB-In per peer, the Loc-RIB with best-path selection,
//! and what was advertised to each peer (Adj-RIB-Out).

pub mod adj_rib_in;
pub mod advertise;
#[cfg(test)]
mod advertise_tests;
pub mod attr_block;
pub mod best_path;
pub mod classes;
pub mod deferral;
pub mod export;
#[cfg(test)]
mod graceful_tests;
pub mod intern;
pub mod llgr;
pub mod loc_rib;
pub mod outbox;
pub mod path_list;
pub mod peer_set;
pub mod prefix_log;
pub mod received;
#[cfg(test)]
mod refresh_tests;
#[cfg(test)]
mod repeat_tests;
pub mod route;
pub mod table;
#[cfg(test)]
mod table_tests;
mod v4_index;
pub mod wire;

/// The hash map of the RIB: foldhash, seeded per process (fast on small keys such as
/// prefixes, and not predictable by a peer choosing its prefixes).
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
