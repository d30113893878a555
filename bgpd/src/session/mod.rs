//! BGP sessions: the RFC 4271 §8 state machine (sans-IO), capability negotiation, and the
//! task that drives one peer over TCP.

pub mod backlog;
pub mod codec;
pub mod driver;
pub mod fsm;
pub mod log_limit;
pub mod negotiate;
pub mod refresh_gate;
pub mod restart;
pub mod socket_options;
pub mod waiting;
pub mod writer;
