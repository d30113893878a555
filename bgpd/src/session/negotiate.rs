//! Capability negotiation (placeholder).
