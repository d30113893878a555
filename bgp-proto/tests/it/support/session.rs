//! The per-direction session context a speaker derives from the two OPENs (RFC 6793, RFC 7911,
//! RFC 8654).

use bgp_proto::{Capability, Family, FamilySet, Open, SessionContext};

/// The context in which the receiver of `sender`'s messages decodes them, given the OPEN each
/// side sent: 4-octet AS and extended messages when both announced them; ADD-PATH for a family
/// when the receiver said it can receive and the sender said it can send (RFC 7911 §4); iBGP
/// when both are in the same AS.
pub fn receive_context(receiver: &Open, sender: &Open) -> SessionContext {
    let both = |wanted: fn(&Capability) -> bool| {
        receiver.capabilities().any(wanted) && sender.capabilities().any(wanted)
    };
    let add_path = |open: &Open, family: Family, mode: fn(bgp_proto::AddPathMode) -> bool| {
        open.capabilities().any(|c| match c {
            Capability::AddPath(list) => list.iter().any(|(f, m)| *f == family && mode(*m)),
            _ => false,
        })
    };
    let mut families = FamilySet::EMPTY;
    for family in [
        Family::IPV4_UNICAST,
        Family::IPV6_UNICAST,
        Family::IPV4_MULTICAST,
        Family::IPV6_MULTICAST,
    ] {
        if add_path(receiver, family, |m| m.can_receive())
            && add_path(sender, family, |m| m.can_send())
        {
            families.insert(family);
        }
    }
    SessionContext {
        four_octet_as: both(|c| matches!(c, Capability::FourOctetAs(_))),
        add_path: families,
        extended_message: both(|c| matches!(c, Capability::ExtendedMessage)),
        ibgp: receiver.asn() == sender.asn(),
        enforce_first_as: None,
    }
}
