//! What decoding and encoding depend on: the session's negotiated properties.

use crate::family::FamilySet;

/// Maximum BGP message size without RFC 8654.
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Maximum BGP message size with RFC 8654 extended messages.
pub const MAX_EXTENDED_MESSAGE_LEN: usize = 65535;

/// How a session's messages are encoded, as negotiated in the OPEN exchange. One context is
/// used per direction: the receive context for decoding, the send context for encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionContext {
    /// RFC 6793: both sides announced the 4-octet AS capability, so AS_PATH and AGGREGATOR
    /// carry 4-octet AS numbers.
    pub four_octet_as: bool,
    /// RFC 7911: families whose NLRI carry a 4-octet path identifier in this direction.
    pub add_path: FamilySet,
    /// RFC 8654: messages may be up to 65535 octets.
    pub extended_message: bool,
    /// The peer is in our AS (iBGP). Decides LOCAL_PREF and ORIGINATOR_ID/CLUSTER_LIST error
    /// handling (RFC 7606 §7.5, §7.9, §7.10).
    pub ibgp: bool,
    /// RFC 4271 §6.3: on eBGP, the AS the leftmost AS_PATH segment must start with (`None`
    /// disables the check, e.g. on a route server's client side, RFC 7947 §2.2.2).
    pub enforce_first_as: Option<u32>,
}

impl Default for SessionContext {
    /// A 4-octet-AS, eBGP context without ADD-PATH or extended messages: what modern speakers
    /// negotiate.
    fn default() -> Self {
        SessionContext {
            four_octet_as: true,
            add_path: FamilySet::EMPTY,
            extended_message: false,
            ibgp: false,
            enforce_first_as: None,
        }
    }
}

impl SessionContext {
    /// The largest message this session may carry.
    pub fn max_message_len(&self) -> usize {
        if self.extended_message {
            MAX_EXTENDED_MESSAGE_LEN
        } else {
            MAX_MESSAGE_LEN
        }
    }

    /// A context with 2-octet AS numbers (a peer without RFC 6793 support, or MRT BGP4MP
    /// MESSAGE records).
    pub fn two_octet_as() -> Self {
        SessionContext {
            four_octet_as: false,
            ..Default::default()
        }
    }
}
