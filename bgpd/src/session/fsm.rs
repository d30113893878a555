//! RFC 4271 §8 finite state machine (placeholder).
