//! MRT (RFC 6396): placeholder until the reader lands.
