//! The decoder's answer to every bad input of `shared/BAD-INPUTS.md`, items 1–24.
//!
//! Each test builds the malformed bytes by hand and checks the exact outcome: the
//! NOTIFICATION (code, subcode, data) from [`DecodeError::notification`] and the byte offset
//! (counted from the first marker octet), or the RFC 7606 action in [`Update::issues`] with
//! its offset, or the attribute being discarded while the routes stay.
//!
//! Where an item needs knowledge the decoder does not have (the configured peer AS, our own
//! router id, cluster id or addresses), the test checks what the decoder hands the daemon and
//! a comment says what the daemon must check.

use bgp_proto::attribute_flags::{EXTENDED_LENGTH, OPTIONAL, PARTIAL, TRANSITIVE};
use bgp_proto::{
    frame_len, AttributeAction, AttributeValue, BgpCodec, Capability, CodecError, DecodeError,
    ErrorKind, Family, FamilySet, Message, Notification, Origin, PathAttribute, SessionContext,
    ShutdownMessageError, Update, UpdateIssue,
};
use bytes::BytesMut;
use std::net::Ipv4Addr;
use tokio_util::codec::Decoder;

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

const OPEN: u8 = 1;
const UPDATE: u8 = 2;
const NOTIFICATION: u8 = 3;
const KEEPALIVE: u8 = 4;
const ROUTE_REFRESH: u8 = 5;

/// Flags of a well-known (transitive) attribute.
const WELL_KNOWN: u8 = TRANSITIVE;
/// Flags of an optional transitive attribute.
const OPTIONAL_TRANSITIVE: u8 = OPTIONAL | TRANSITIVE;

/// A whole message: marker, length (computed), type, body.
fn message(message_type: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&u16::try_from(19 + body.len()).unwrap().to_be_bytes());
    m.push(message_type);
    m.extend_from_slice(body);
    m
}

/// Overwrites the header's length field (to lie about the length).
fn with_length(mut m: Vec<u8>, length: u16) -> Vec<u8> {
    m[16..18].copy_from_slice(&length.to_be_bytes());
    m
}

/// An UPDATE from its three fields; both length fields are computed.
fn update(withdrawn: &[u8], attributes: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&u16::try_from(withdrawn.len()).unwrap().to_be_bytes());
    b.extend_from_slice(withdrawn);
    b.extend_from_slice(&u16::try_from(attributes.len()).unwrap().to_be_bytes());
    b.extend_from_slice(attributes);
    b.extend_from_slice(nlri);
    message(UPDATE, &b)
}

/// One path attribute; the length field is two octets when `flags` has Extended Length.
fn attr(flags: u8, type_code: u8, value: &[u8]) -> Vec<u8> {
    let mut a = vec![flags, type_code];
    if flags & EXTENDED_LENGTH != 0 {
        a.extend_from_slice(&u16::try_from(value.len()).unwrap().to_be_bytes());
    } else {
        a.push(u8::try_from(value.len()).unwrap());
    }
    a.extend_from_slice(value);
    a
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// ORIGIN IGP: 4 octets.
fn origin() -> Vec<u8> {
    attr(WELL_KNOWN, 1, &[0])
}

/// AS_PATH "65001" in the 4-octet form: 9 octets.
fn as_path() -> Vec<u8> {
    attr(WELL_KNOWN, 2, &[2, 1, 0, 0, 0xfd, 0xe9])
}

/// NEXT_HOP 192.0.2.1: 7 octets.
fn next_hop() -> Vec<u8> {
    attr(WELL_KNOWN, 3, &[192, 0, 2, 1])
}

/// ORIGIN, AS_PATH, NEXT_HOP: 20 octets, from offset 23 to 43 in an UPDATE without withdrawn
/// routes.
fn mandatory() -> Vec<u8> {
    cat(&[&origin(), &as_path(), &next_hop()])
}

/// One IPv4 NLRI: 198.51.100.0/24.
const NLRI: &[u8] = &[24, 198, 51, 100];

/// Offset of the first attribute in an UPDATE without withdrawn routes.
const ATTRS: usize = 23;
/// Offset of the first attribute after `mandatory()`.
const AFTER_MANDATORY: usize = ATTRS + 20;

/// An UPDATE announcing `NLRI` with the mandatory attributes followed by `extra`.
fn update_with(extra: &[u8]) -> Vec<u8> {
    update(&[], &cat(&[&mandatory(), extra]), NLRI)
}

/// An OPEN: version, my AS, hold time, BGP identifier, then `optional` (the optional
/// parameters length octet and everything after it, as given).
fn open(version: u8, my_as: u16, hold_time: u16, id: [u8; 4], optional: &[u8]) -> Vec<u8> {
    let mut b = vec![version];
    b.extend_from_slice(&my_as.to_be_bytes());
    b.extend_from_slice(&hold_time.to_be_bytes());
    b.extend_from_slice(&id);
    b.extend_from_slice(optional);
    message(OPEN, &b)
}

/// Optional parameters in the ordinary form: length octet, then one capabilities parameter.
fn capabilities(caps: &[u8]) -> Vec<u8> {
    let param = cat(&[&[2, u8::try_from(caps.len()).unwrap()], caps]);
    cat(&[&[u8::try_from(param.len()).unwrap()], &param])
}

/// Optional parameters in the RFC 9072 extended form: 255, 255, a 2-octet length, then one
/// capabilities parameter with a 2-octet length.
fn extended_capabilities(caps: &[u8]) -> Vec<u8> {
    let param = cat(&[
        &[2],
        &u16::try_from(caps.len()).unwrap().to_be_bytes(),
        caps,
    ]);
    let length = u16::try_from(param.len()).unwrap().to_be_bytes();
    cat(&[&[255, 255], &length, &param])
}

/// An OPEN with AS 65001, hold time 90, identifier 192.0.2.1 and `caps`.
fn open_with_caps(caps: &[u8]) -> Vec<u8> {
    open(4, 65001, 90, [192, 0, 2, 1], &capabilities(caps))
}

/// 4-octet AS capability for 65001.
const CAP_AS4: &[u8] = &[65, 4, 0, 0, 0xfd, 0xe9];
/// Multiprotocol IPv4 unicast.
const CAP_MP_V4: &[u8] = &[1, 4, 0, 1, 0, 1];

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

fn ebgp() -> SessionContext {
    SessionContext::default()
}

fn ibgp() -> SessionContext {
    SessionContext {
        ibgp: true,
        ..SessionContext::default()
    }
}

fn extended() -> SessionContext {
    SessionContext {
        extended_message: true,
        ..SessionContext::default()
    }
}

fn decode_error(bytes: &[u8], ctx: &SessionContext) -> DecodeError {
    match Message::decode(bytes, ctx) {
        Ok(m) => panic!("expected an error, decoded {m:?}"),
        Err(e) => e,
    }
}

fn decode_update(bytes: &[u8], ctx: &SessionContext) -> Update {
    match Message::decode(bytes, ctx) {
        Ok(Message::Update(u)) => u,
        other => panic!("expected an UPDATE, got {other:?}"),
    }
}

/// The message resets the session: exact error kind and offset, and the NOTIFICATION.
#[track_caller]
fn assert_reset(
    bytes: &[u8],
    ctx: &SessionContext,
    kind: ErrorKind,
    offset: usize,
    (code, subcode): (u8, u8),
    data: &[u8],
) {
    let e = decode_error(bytes, ctx);
    assert_eq!(e.kind, kind, "error kind ({e})");
    assert_eq!(e.offset, offset, "offset ({e})");
    let n = e.notification();
    assert_eq!((n.code, n.subcode), (code, subcode), "NOTIFICATION for {e}");
    assert_eq!(&n.data[..], data, "NOTIFICATION data for {e}");
}

/// The UPDATE decodes with exactly these issues.
#[track_caller]
fn assert_issues(
    bytes: &[u8],
    ctx: &SessionContext,
    expected: &[(ErrorKind, usize, AttributeAction)],
) -> Update {
    let u = decode_update(bytes, ctx);
    let expected: Vec<UpdateIssue> = expected
        .iter()
        .map(|(kind, offset, action)| UpdateIssue {
            kind: kind.clone(),
            offset: *offset,
            action: *action,
        })
        .collect();
    assert_eq!(u.issues, expected);
    u
}

/// The UPDATE is treat-as-withdraw for `kind` at `offset`, and its NLRI are still found (so
/// the daemon can withdraw them).
#[track_caller]
fn assert_withdraw(bytes: &[u8], ctx: &SessionContext, kind: ErrorKind, offset: usize) -> Update {
    let u = assert_issues(
        bytes,
        ctx,
        &[(kind, offset, AttributeAction::TreatAsWithdraw)],
    );
    assert!(u.treat_as_withdraw());
    u
}

/// The attribute is discarded for `kind` at `offset`; the route stays.
#[track_caller]
fn assert_discard(
    bytes: &[u8],
    ctx: &SessionContext,
    kind: ErrorKind,
    offset: usize,
    type_code: u8,
) -> Update {
    let u = assert_issues(bytes, ctx, &[(kind, offset, AttributeAction::Discard)]);
    assert!(!u.treat_as_withdraw());
    assert!(u.attributes.get(type_code).is_none(), "attribute kept");
    assert_eq!(u.nlri.len(), 1, "the route stays");
    u
}

fn length_error(type_code: u8, length: usize) -> ErrorKind {
    ErrorKind::AttributeLength { type_code, length }
}

// ---------------------------------------------------------------------------------------------
// Framing (RFC 4271 §4, §6.1)
// ---------------------------------------------------------------------------------------------

/// Item 1: marker not all ones → 1/1.
#[test]
fn item_01_marker_not_all_ones() {
    for (at, value) in [(0, 0xfe), (7, 0x00), (15, 0x7f)] {
        let mut m = message(KEEPALIVE, &[]);
        m[at] = value;
        assert_reset(&m, &ebgp(), ErrorKind::BadMarker, 0, (1, 1), &[]);
        assert_eq!(frame_len(&m, 4096).unwrap_err().kind, ErrorKind::BadMarker);
    }
    // An all-zero marker (RFC 1771 authentication) is no exception.
    let mut m = message(KEEPALIVE, &[]);
    m[..16].fill(0);
    assert_reset(&m, &ebgp(), ErrorKind::BadMarker, 0, (1, 1), &[]);
}

/// Item 2: length < 19, > 4096 (> 65535 cannot be written in the 2-octet field), or below the
/// type's minimum → 1/2 with the length as data.
#[test]
fn item_02_bad_message_length() {
    let bad_length = |length: u16| ErrorKind::BadMessageLength { length };
    // Below 19, whatever the type.
    for length in [0u16, 1, 18] {
        let m = with_length(message(KEEPALIVE, &[]), length);
        let data = length.to_be_bytes();
        assert_reset(&m, &ebgp(), bad_length(length), 16, (1, 2), &data);
        assert_eq!(frame_len(&m, 4096).unwrap_err().kind, bad_length(length));
    }
    // Below the type's minimum (KEEPALIVE must be exactly 19).
    for (message_type, length) in [
        (KEEPALIVE, 20u16),
        (OPEN, 28),
        (UPDATE, 22),
        (NOTIFICATION, 20),
        (ROUTE_REFRESH, 22),
    ] {
        let m = message(message_type, &vec![0; usize::from(length) - 19]);
        // A short NOTIFICATION has its own kind (it must not be answered, RFC 4271 §6.4).
        let kind = if message_type == NOTIFICATION {
            ErrorKind::BadNotification { length }
        } else {
            bad_length(length)
        };
        assert_reset(&m, &ebgp(), kind, 16, (1, 2), &length.to_be_bytes());
    }
    // Above 4096 without RFC 8654: an UPDATE of 4097 octets (an unknown optional attribute
    // fills it).
    let filler = |total: usize| {
        attr(
            OPTIONAL_TRANSITIVE | EXTENDED_LENGTH,
            200,
            &vec![7; total - 27],
        )
    };
    let big = update(&[], &filler(4097), &[]);
    assert_eq!(big.len(), 4097);
    assert_reset(&big, &ebgp(), bad_length(4097), 16, (1, 2), &[0x10, 0x01]);
    assert_eq!(frame_len(&big, 4096).unwrap_err().kind, bad_length(4097));
    // With extended messages it is fine, up to 65535, the most the length field can say.
    assert_eq!(frame_len(&big, 65535).unwrap(), Some(4097));
    decode_update(&big, &extended());
    let largest = update(&[], &filler(65535), &[]);
    assert_eq!(largest.len(), 65535);
    assert!(decode_update(&largest, &extended()).issues.is_empty());
    // ... but an OPEN stays limited to 4096 (RFC 8654 §3).
    let caps: Vec<u8> = (0..40)
        .flat_map(|_| [200u8, 100].into_iter().chain([0; 100]))
        .collect();
    let long_open = open(4, 65001, 90, [192, 0, 2, 1], &extended_capabilities(&caps));
    assert!(long_open.len() > 4096);
    let length = u16::try_from(long_open.len()).unwrap();
    assert_reset(
        &long_open,
        &extended(),
        bad_length(length),
        16,
        (1, 2),
        &length.to_be_bytes(),
    );
    // A buffer that is not exactly one message (a caller bug, not a peer's) is refused too.
    let mut two = message(KEEPALIVE, &[]);
    two.push(0);
    assert_eq!(decode_error(&two, &ebgp()).kind, bad_length(20));
}

/// Item 3: unknown message type (0, 255, and the first unassigned, 6) → 1/3 with the type.
#[test]
fn item_03_unknown_message_type() {
    for t in [0u8, 6, 255] {
        let m = message(t, &[0; 4]);
        let kind = ErrorKind::BadMessageType { message_type: t };
        assert_reset(&m, &ebgp(), kind.clone(), 18, (1, 3), &[t]);
        assert_eq!(frame_len(&m, 4096).unwrap_err().kind, kind);
    }
}

/// A stream of five different messages, and what they decode to.
fn stream() -> (Vec<u8>, Vec<Message>) {
    let parts = [
        open_with_caps(&cat(&[CAP_MP_V4, CAP_AS4])),
        message(KEEPALIVE, &[]),
        update_with(&[]),
        update(&[], &[], &[]),
        message(ROUTE_REFRESH, &[0, 1, 0, 1]),
        message(NOTIFICATION, &[6, 2, 3, b'b', b'y', b'e']),
    ];
    let decoded = parts
        .iter()
        .map(|p| Message::decode(p, &ebgp()).unwrap())
        .collect();
    (parts.concat(), decoded)
}

/// Item 4: a message split byte by byte, or many packed in one segment → parsed the same,
/// through `frame_len` and through the `codec` feature's `BgpCodec`.
#[test]
fn item_04_split_and_packed_framing() {
    let (bytes, expected) = stream();

    // frame_len, growing the buffer one octet at a time.
    let mut decoded = Vec::new();
    let mut start = 0;
    for end in start + 1..=bytes.len() {
        let available = &bytes[start..end];
        match frame_len(available, 4096).unwrap() {
            None => assert!(available.len() < 19),
            Some(len) if available.len() < len => {}
            Some(len) => {
                assert_eq!(len, available.len());
                decoded.push(Message::decode(available, &ebgp()).unwrap());
                start = end;
            }
        }
    }
    assert_eq!(start, bytes.len());
    assert_eq!(decoded, expected);

    // BgpCodec, one octet per read.
    let mut codec = BgpCodec::default();
    let mut src = BytesMut::new();
    let mut decoded = Vec::new();
    for b in &bytes {
        src.extend_from_slice(&[*b]);
        while let Some(m) = codec.decode(&mut src).unwrap() {
            decoded.push(m);
        }
    }
    assert!(src.is_empty());
    assert_eq!(decoded, expected);
    assert!(codec.decode_eof(&mut src).unwrap().is_none());

    // BgpCodec, everything in one read.
    let mut src = BytesMut::from(&bytes[..]);
    let mut decoded = Vec::new();
    while let Some(m) = codec.decode(&mut src).unwrap() {
        decoded.push(m);
    }
    assert_eq!(decoded, expected);

    // Odd-sized reads (3, 7, 11 octets).
    for chunk in [3, 7, 11] {
        let mut src = BytesMut::new();
        let mut decoded = Vec::new();
        for piece in bytes.chunks(chunk) {
            src.extend_from_slice(piece);
            while let Some(m) = codec.decode(&mut src).unwrap() {
                decoded.push(m);
            }
        }
        assert_eq!(decoded, expected, "chunks of {chunk}");
    }

    // A bad message in the middle of a stream is reported with its own offsets; the messages
    // before it were delivered.
    let mut bad = bytes.clone();
    let keepalive_at = expected[0].wire_len(&ebgp());
    bad[keepalive_at + 3] = 0;
    let mut src = BytesMut::from(&bad[..]);
    assert_eq!(codec.decode(&mut src).unwrap(), Some(expected[0].clone()));
    match codec.decode(&mut src) {
        Err(CodecError::Decode(e)) => {
            assert_eq!((e.kind, e.offset), (ErrorKind::BadMarker, 0));
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// OPEN (RFC 4271 §6.2, RFC 5492, RFC 6793, RFC 7607, RFC 9072)
// ---------------------------------------------------------------------------------------------

/// Item 5: version ≠ 4 → 2/1 with the supported version; hold time 1 or 2 → 2/6.
#[test]
fn item_05_version_and_hold_time() {
    for version in [0u8, 3, 5, 255] {
        let m = open(version, 65001, 90, [192, 0, 2, 1], &[0]);
        let kind = ErrorKind::UnsupportedVersion { version };
        assert_reset(&m, &ebgp(), kind, 19, (2, 1), &[0, 4]);
    }
    for hold_time in [1u16, 2] {
        let m = open(4, 65001, hold_time, [192, 0, 2, 1], &[0]);
        let kind = ErrorKind::UnacceptableHoldTime { hold_time };
        assert_reset(&m, &ebgp(), kind, 22, (2, 6), &[]);
    }
    for hold_time in [0u16, 3, 65535] {
        let m = open(4, 65001, hold_time, [192, 0, 2, 1], &[0]);
        match Message::decode(&m, &ebgp()).unwrap() {
            Message::Open(o) => assert_eq!(o.hold_time, hold_time),
            other => panic!("{other:?}"),
        }
    }
}

/// Item 6: AS 0 → 2/2; BGP identifier 0 → 2/3. The daemon checks the peer AS against its
/// configuration and the identifier against its own on iBGP, from `Open::asn()` and
/// `Open::bgp_id`.
#[test]
fn item_06_peer_as_and_identifier() {
    let bad_as = ErrorKind::BadPeerAs { asn: 0 };
    assert_reset(
        &open(4, 0, 90, [192, 0, 2, 1], &[0]),
        &ebgp(),
        bad_as.clone(),
        20,
        (2, 2),
        &[],
    );
    // AS 0 in the 4-octet AS capability (RFC 7607), reported at the My AS field.
    let m = open(
        4,
        23456,
        90,
        [192, 0, 2, 1],
        &capabilities(&[65, 4, 0, 0, 0, 0]),
    );
    assert_reset(&m, &ebgp(), bad_as, 20, (2, 2), &[]);
    let m = open(4, 65001, 90, [0, 0, 0, 0], &[0]);
    let kind = ErrorKind::BadBgpIdentifier {
        identifier: Ipv4Addr::UNSPECIFIED,
    };
    assert_reset(&m, &ebgp(), kind, 24, (2, 3), &[]);

    // What the daemon compares: the AS the peer really has (the capability wins over
    // AS_TRANS) and its identifier. A mismatch is the daemon's 2/2 (configured peer AS) or
    // 2/3 (identifier equal to ours on iBGP).
    let m = open(
        4,
        23456,
        90,
        [192, 0, 2, 9],
        &capabilities(&[65, 4, 0xfa, 0x56, 0xea, 0x00]),
    );
    match Message::decode(&m, &ebgp()).unwrap() {
        Message::Open(o) => {
            assert_eq!(o.asn(), 4_200_000_000);
            assert_eq!(o.bgp_id, Ipv4Addr::new(192, 0, 2, 9));
        }
        other => panic!("{other:?}"),
    }
}

/// Item 7: truncated optional parameters, lengths that overrun, the RFC 9072 extended-length
/// form → a clean 2/0 (or 2/4 for a parameter type other than capabilities).
#[test]
fn item_07_optional_parameter_framing() {
    let id = [192, 0, 2, 1];
    let malformed = |reason| ErrorKind::MalformedOptionalParameters { reason };
    let mismatch = malformed("optional parameters length does not match the message");
    // Offsets: length octet at 28, first parameter at 29.
    // Length says 8, four octets follow.
    let m = open(4, 65001, 90, id, &[8, 2, 2, 2, 0]);
    assert_reset(&m, &ebgp(), mismatch.clone(), 28, (2, 0), &[]);
    // Length says 2, four octets follow.
    let m = open(4, 65001, 90, id, &[2, 2, 2, 2, 0]);
    assert_reset(&m, &ebgp(), mismatch.clone(), 28, (2, 0), &[]);
    // Length octet missing altogether.
    let m = open(4, 65001, 90, id, &[]);
    assert_eq!(m.len(), 28);
    assert_reset(
        &m,
        &ebgp(),
        ErrorKind::BadMessageLength { length: 28 },
        16,
        (1, 2),
        &[0, 28],
    );
    // A parameter header cut after its type.
    let m = open(4, 65001, 90, id, &[1, 2]);
    assert_reset(
        &m,
        &ebgp(),
        malformed("truncated parameter header"),
        29,
        (2, 0),
        &[],
    );
    // A parameter whose length overruns the list.
    let m = open(4, 65001, 90, id, &[4, 2, 6, 2, 0]);
    assert_reset(
        &m,
        &ebgp(),
        malformed("parameter overruns the list"),
        29,
        (2, 0),
        &[],
    );
    // A capability whose length overruns its parameter.
    let m = open(4, 65001, 90, id, &[4, 2, 2, 65, 4]);
    assert_reset(
        &m,
        &ebgp(),
        malformed("capability overruns its parameter"),
        31,
        (2, 0),
        &[],
    );
    // A capability header cut in two.
    let m = open(4, 65001, 90, id, &[3, 2, 1, 65]);
    assert_reset(
        &m,
        &ebgp(),
        malformed("truncated capability header"),
        31,
        (2, 0),
        &[],
    );
    // A parameter type other than capabilities (1, the deprecated authentication) → 2/4.
    let m = open(4, 65001, 90, id, &[3, 1, 1, 0]);
    let kind = ErrorKind::UnsupportedOptionalParameter { parameter_type: 1 };
    assert_reset(&m, &ebgp(), kind, 29, (2, 4), &[]);

    // RFC 9072: 255, 255, then a 2-octet length; parameters have 2-octet lengths.
    let ext = |len: u16, params: &[u8]| cat(&[&[255, 255], &len.to_be_bytes(), params]);
    let param = [2, 0, 6, 65, 4, 0, 0, 0xfd, 0xe9];
    let m = open(4, 65001, 90, id, &ext(9, &param));
    match Message::decode(&m, &ebgp()).unwrap() {
        Message::Open(o) => {
            assert!(o.extended_params);
            assert_eq!(o.asn(), 65001);
            assert_eq!(o.capabilities().count(), 1);
        }
        other => panic!("{other:?}"),
    }
    // The extended length cut short.
    let m = open(4, 65001, 90, id, &[255, 255, 0]);
    assert_reset(
        &m,
        &ebgp(),
        malformed("truncated extended length"),
        28,
        (2, 0),
        &[],
    );
    // The extended length overruns the message.
    let m = open(4, 65001, 90, id, &ext(20, &param));
    assert_reset(&m, &ebgp(), mismatch, 28, (2, 0), &[]);
    // An extended parameter length overruns the list (parameters start at 32).
    let m = open(4, 65001, 90, id, &ext(5, &[2, 0, 9, 65, 4]));
    assert_reset(
        &m,
        &ebgp(),
        malformed("parameter overruns the list"),
        32,
        (2, 0),
        &[],
    );
    // An extended parameter header cut after its type and one length octet.
    let m = open(4, 65001, 90, id, &ext(2, &[2, 0]));
    assert_reset(
        &m,
        &ebgp(),
        malformed("truncated parameter header"),
        32,
        (2, 0),
        &[],
    );
}

/// Item 8: capabilities with a wrong length → 2/0; unknown or informational capabilities
/// (FQDN 73, software version 75, role 9, an unassigned code) are tolerated.
#[test]
fn item_08_capability_lengths() {
    // The capability starts at 31 (parameter type 29, parameter length 30).
    for (cap, code, length) in [
        (&[65u8, 2, 0xfd, 0xe9][..], 65u8, 2u8), // 4-octet AS of two octets
        (&[65, 5, 0, 0, 0xfd, 0xe9, 0], 65, 5),  // ... or five
        (&[73, 0], 73, 0),                       // zero-length FQDN
        (&[73, 3, 5, b'a', 0], 73, 3),           // FQDN host name overrunning
        (&[64, 1, 0x80], 64, 1),                 // graceful restart cut in its header
        (&[64, 5, 0x80, 0x78, 0, 1, 1], 64, 5),  // ... or in a family
        (&[1, 3, 0, 1, 0], 1, 3),                // multiprotocol of three octets
        (&[2, 1, 0], 2, 1),                      // route refresh with a value
        (&[9, 0], 9, 0),                         // role without its octet
        (&[75, 3, 5, b'v', b'1'], 75, 3),        // software version overrunning
        (&[69, 3, 0, 1, 1], 69, 3),              // ADD-PATH not a multiple of 4
    ] {
        let m = open_with_caps(&cat(&[CAP_AS4, cap]));
        let kind = ErrorKind::BadCapabilityLength { code, length };
        assert_reset(&m, &ebgp(), kind, 37, (2, 0), &[]);
    }

    let tolerated = cat(&[
        CAP_AS4,
        &[73, 9, 4, b'e', b'd', b'g', b'e', 3, b'l', b'a', b'b'],
        &[75, 6, 5, b'b', b'g', b'p', b'd', b'1'],
        &[9, 1, 3],
        &[200, 3, 1, 2, 3],
        &[201, 0],
    ]);
    match Message::decode(&open_with_caps(&tolerated), &ebgp()).unwrap() {
        Message::Open(o) => {
            let caps: Vec<&Capability> = o.capabilities().collect();
            assert_eq!(caps.len(), 6);
            assert!(
                matches!(caps[1], Capability::Fqdn { hostname, .. } if &hostname[..] == b"edge")
            );
            assert!(matches!(caps[2], Capability::SoftwareVersion(v) if &v[..] == b"bgpd1"));
            assert_eq!(caps[3], &Capability::Role(3));
            assert!(
                matches!(caps[4], Capability::Unknown { code: 200, data } if data[..] == [1, 2, 3])
            );
            assert!(matches!(caps[5], Capability::Unknown { code: 201, data } if data.is_empty()));
        }
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// UPDATE (RFC 4271 §6.3, RFC 7606, RFC 4760)
// ---------------------------------------------------------------------------------------------

/// Item 9: withdrawn-routes length or total-path-attribute length overrunning the message →
/// 3/1.
#[test]
fn item_09_update_length_fields_overrun() {
    let malformed = |reason| ErrorKind::MalformedAttributeList { reason };
    let withdrawn = malformed("withdrawn routes length overruns the message");
    let attributes = malformed("total path attribute length overruns the message");
    // Withdrawn length 10 with nothing after it (reported at the field, offset 19).
    let m = message(UPDATE, &[0, 10, 0, 0]);
    assert_reset(&m, &ebgp(), withdrawn.clone(), 19, (3, 1), &[]);
    // Withdrawn length 2 that leaves no room for the attribute length.
    let m = message(UPDATE, &[0, 2, 8, 10]);
    assert_reset(&m, &ebgp(), withdrawn, 19, (3, 1), &[]);
    // Total path attribute length 50 with four octets present (field at 21).
    let m = message(UPDATE, &[0, 0, 0, 50, 0x40, 1, 1, 0]);
    assert_reset(&m, &ebgp(), attributes.clone(), 21, (3, 1), &[]);
    // The same after four octets of withdrawn routes (field at 25).
    let m = message(UPDATE, &[0, 4, 24, 10, 0, 0, 0, 50]);
    assert_reset(&m, &ebgp(), attributes, 25, (3, 1), &[]);
}

/// Item 10: an attribute overrunning the attribute block, or stray trailing bytes →
/// treat-as-withdraw; the NLRI are still found.
#[test]
fn item_10_attribute_overrun_and_trailing_bytes() {
    // AS_PATH (at 27) claims 50 octets.
    let attrs = cat(&[&origin(), &[0x40, 2, 50, 2, 1, 0, 0, 0xfd, 0xe9]]);
    let m = update(&[], &attrs, NLRI);
    let kind = ErrorKind::AttributeOverrun {
        type_code: 2,
        length: 50,
    };
    let u = assert_withdraw(&m, &ebgp(), kind, 27);
    assert_eq!(u.nlri.len(), 1);
    assert_eq!(u.attributes.origin(), Some(&Origin::Igp));
    // Extended length claiming more than is there.
    let m = update_with(&[0xd0, 200, 0x01, 0x00, 1, 2, 3]);
    let kind = ErrorKind::AttributeOverrun {
        type_code: 200,
        length: 256,
    };
    assert_withdraw(&m, &ebgp(), kind, AFTER_MANDATORY);
    // One stray octet after the attributes.
    let kind = ErrorKind::AttributeOverrun {
        type_code: 0,
        length: 1,
    };
    assert_withdraw(&update_with(&[0x40]), &ebgp(), kind, AFTER_MANDATORY);
    // Two stray octets (flags and type, no length).
    let kind = ErrorKind::AttributeOverrun {
        type_code: 8,
        length: 0,
    };
    assert_withdraw(&update_with(&[0xc0, 8]), &ebgp(), kind, AFTER_MANDATORY);
    // Three stray octets with the extended-length flag (the length needs four).
    let kind = ErrorKind::AttributeOverrun {
        type_code: 8,
        length: 0,
    };
    assert_withdraw(&update_with(&[0xd0, 8, 0]), &ebgp(), kind, AFTER_MANDATORY);
}

/// Item 11: an empty UPDATE is the IPv4 End-of-RIB; attributes with NLRI but without ORIGIN,
/// AS_PATH or NEXT_HOP → treat-as-withdraw (reported at the total path attribute length).
#[test]
fn item_11_end_of_rib_and_missing_mandatory() {
    let u = assert_issues(&update(&[], &[], &[]), &ebgp(), &[]);
    assert_eq!(u.end_of_rib(), Some(Family::IPV4_UNICAST));

    for (attrs, missing) in [
        (cat(&[&as_path(), &next_hop()]), 1u8),
        (cat(&[&origin(), &next_hop()]), 2),
        (cat(&[&origin(), &as_path()]), 3),
        (Vec::new(), 1),
    ] {
        let kind = ErrorKind::MissingWellKnownAttribute { type_code: missing };
        let u = assert_withdraw(&update(&[], &attrs, NLRI), &ebgp(), kind, 21);
        assert_eq!(u.nlri.len(), 1);
    }
    // Without NLRI nothing is mandatory.
    assert_issues(&update(&[], &origin(), &[]), &ebgp(), &[]);
    // With MP_REACH_NLRI, NEXT_HOP is not needed but ORIGIN and AS_PATH are.
    let mp = attr(OPTIONAL, 14, &mp_reach_v6(&[32, 0x20, 0x01, 0x0d, 0xb8]));
    assert_issues(
        &update(&[], &cat(&[&origin(), &as_path(), &mp]), &[]),
        &ebgp(),
        &[],
    );
    let kind = ErrorKind::MissingWellKnownAttribute { type_code: 2 };
    assert_withdraw(
        &update(&[], &cat(&[&origin(), &mp]), &[]),
        &ebgp(),
        kind,
        21,
    );
}

/// Item 12: flag conflicts on well-known attributes → treat-as-withdraw (RFC 7606 §3(c));
/// for ATOMIC_AGGREGATE the attribute is discarded instead (§7.6).
#[test]
fn item_12_well_known_flag_conflicts() {
    // (flags, type, attributes, offset of the conflicting attribute)
    let cases = [
        // ORIGIN marked optional, then marked non-transitive (at 23).
        (
            OPTIONAL_TRANSITIVE,
            1u8,
            cat(&[&attr(OPTIONAL_TRANSITIVE, 1, &[0]), &as_path(), &next_hop()]),
            ATTRS,
        ),
        (
            0,
            1,
            cat(&[&attr(0, 1, &[0]), &as_path(), &next_hop()]),
            ATTRS,
        ),
        // AS_PATH marked optional (at 27).
        (
            OPTIONAL_TRANSITIVE,
            2,
            cat(&[
                &origin(),
                &attr(OPTIONAL_TRANSITIVE, 2, &[2, 1, 0, 0, 0xfd, 0xe9]),
                &next_hop(),
            ]),
            27,
        ),
        // NEXT_HOP marked optional (at 36).
        (
            OPTIONAL,
            3,
            cat(&[&origin(), &as_path(), &attr(OPTIONAL, 3, &[192, 0, 2, 1])]),
            36,
        ),
        // MED marked well-known (at 43).
        (
            WELL_KNOWN,
            4,
            cat(&[&mandatory(), &attr(WELL_KNOWN, 4, &[0, 0, 0, 5])]),
            AFTER_MANDATORY,
        ),
    ];
    for (flags, code, attrs, offset) in cases {
        let kind = ErrorKind::AttributeFlags {
            type_code: code,
            flags,
        };
        let u = assert_withdraw(&update(&[], &attrs, NLRI), &ebgp(), kind, offset);
        assert!(u.attributes.get(code).is_none());
        assert_eq!(u.nlri.len(), 1);
    }
    let kind = ErrorKind::AttributeFlags {
        type_code: 6,
        flags: OPTIONAL_TRANSITIVE,
    };
    let m = update_with(&attr(OPTIONAL_TRANSITIVE, 6, &[]));
    assert_discard(&m, &ebgp(), kind, AFTER_MANDATORY, 6);
}

/// Item 13: ORIGIN length ≠ 1 or value > 2 → treat-as-withdraw (reported at the value).
#[test]
fn item_13_origin_bad_length_or_value() {
    let rest = cat(&[&as_path(), &next_hop()]);
    for value in [&[][..], &[0, 0][..]] {
        let m = update(&[], &cat(&[&attr(WELL_KNOWN, 1, value), &rest]), NLRI);
        assert_withdraw(&m, &ebgp(), length_error(1, value.len()), 26);
    }
    for value in [3u8, 255] {
        let m = update(&[], &cat(&[&attr(WELL_KNOWN, 1, &[value]), &rest]), NLRI);
        assert_withdraw(&m, &ebgp(), ErrorKind::InvalidOrigin { value }, 26);
    }
}

/// Item 14: AS_PATH malformations → treat-as-withdraw (reported at the segment); a very long
/// path over extended messages decodes without recursion.
#[test]
fn item_14_as_path_malformations() {
    let with_path = |path: &[u8]| {
        update(
            &[],
            &cat(&[&origin(), &attr(WELL_KNOWN, 2, path), &next_hop()]),
            NLRI,
        )
    };
    let malformed = |reason| ErrorKind::MalformedAsPath {
        type_code: 2,
        reason,
    };
    // The AS_PATH value starts at 30 (ORIGIN 23..27, AS_PATH header 27..30).
    for (path, reason, offset) in [
        (&[5u8, 1, 0, 0, 0xfd, 0xe9][..], "unknown segment type", 30),
        (&[0, 1, 0, 0, 0xfd, 0xe9], "unknown segment type", 30),
        (&[2, 0], "zero-length segment", 30),
        (
            &[2, 2, 0, 0, 0xfd, 0xe9],
            "segment overruns the attribute",
            30,
        ),
        (&[2], "truncated segment header", 30),
        (&[2, 1, 0, 0, 0xfd, 0xe9, 2], "truncated segment header", 36),
        (
            &[2, 1, 0, 0, 0xfd, 0xe9, 9, 1, 0, 0, 0, 1],
            "unknown segment type",
            36,
        ),
    ] {
        assert_withdraw(&with_path(path), &ebgp(), malformed(reason), offset);
    }
    // AS 0 (RFC 7607), in the first or a later segment: reported at the segment.
    let as_zero = ErrorKind::AsZero { type_code: 2 };
    assert_withdraw(
        &with_path(&[2, 1, 0, 0, 0, 0]),
        &ebgp(),
        as_zero.clone(),
        30,
    );
    let path = [2, 1, 0, 0, 0xfd, 0xe9, 1, 2, 0, 0, 0, 7, 0, 0, 0, 0];
    assert_withdraw(&with_path(&path), &ebgp(), as_zero, 36);
    // A 2-octet session reads the same octets differently: 2 ASNs, the second 65001.
    let two = SessionContext::two_octet_as();
    let u = assert_issues(&with_path(&[2, 2, 0, 7, 0xfd, 0xe9]), &two, &[]);
    assert_eq!(u.attributes.as_path().unwrap().to_string(), "7 65001");

    // First AS ≠ the eBGP peer's AS (RFC 4271 §6.3), checked when the session enables it.
    let peer = SessionContext {
        enforce_first_as: Some(65002),
        ..SessionContext::default()
    };
    let mismatch = |first| ErrorKind::FirstAsMismatch {
        first,
        expected: 65002,
    };
    assert_withdraw(
        &with_path(&[2, 1, 0, 0, 0xfd, 0xe9]),
        &peer,
        mismatch(65001),
        30,
    );
    // A path that starts with an AS_SET, or is empty, has no first AS.
    assert_withdraw(
        &with_path(&[1, 1, 0, 0, 0xfd, 0xea]),
        &peer,
        mismatch(0),
        30,
    );
    assert_withdraw(&with_path(&[]), &peer, mismatch(0), 30);
    assert_issues(&with_path(&[2, 1, 0, 0, 0xfd, 0xea]), &peer, &[]);
    // AS_CONFED_SEQUENCE (3) or AS_CONFED_SET (4) from an external peer: bgpd is in no
    // confederation, so the path is malformed (RFC 5065 §5) and the route withdrawn (RFC 7606
    // §7.2), with or without the first-AS check; from an internal peer it is kept.
    let confed = malformed("AS_CONFED segment from an external peer");
    for path in [
        &[2, 1, 0, 0, 0xfd, 0xea, 3, 1, 0, 0, 0, 7][..],
        &[2, 1, 0, 0, 0xfd, 0xea, 4, 2, 0, 0, 0, 7, 0, 0, 0, 8],
    ] {
        assert_withdraw(&with_path(path), &ebgp(), confed.clone(), 30);
        assert_withdraw(&with_path(path), &peer, confed.clone(), 30);
        let u = assert_issues(&with_path(path), &ibgp(), &[]);
        assert!(u.attributes.as_path().unwrap().has_confed_segment());
    }
    // Malformed AS4_PATH is discarded (RFC 6793 §6, RFC 7606 §7.2 for AS4_PATH).
    let m = update_with(&attr(OPTIONAL_TRANSITIVE, 17, &[2, 0]));
    let kind = ErrorKind::MalformedAsPath {
        type_code: 17,
        reason: "zero-length segment",
    };
    assert_discard(&m, &ebgp(), kind, AFTER_MANDATORY + 3, 17);

    // 15,300 ASNs in 60 full segments, 61,320 octets, over extended messages.
    let asns: Vec<u32> = (1..=15_300).collect();
    let mut path = Vec::new();
    for seg in asns.chunks(255) {
        path.extend_from_slice(&[2, 255]);
        seg.iter()
            .for_each(|a| path.extend_from_slice(&a.to_be_bytes()));
    }
    let attrs = cat(&[
        &origin(),
        &attr(WELL_KNOWN | EXTENDED_LENGTH, 2, &path),
        &next_hop(),
    ]);
    let m = update(&[], &attrs, NLRI);
    assert!(m.len() > 60_000 && m.len() <= 65_535);
    let u = assert_issues(&m, &extended(), &[]);
    let p = u.attributes.as_path().unwrap();
    assert_eq!(p.path_len(), 15_300);
    assert_eq!(p.segments().count(), 60);
    assert_eq!(Message::Update(u).to_bytes(&extended()).unwrap(), m[..]);
    // Without extended messages the same message is too long: 1/2.
    let length = u16::try_from(m.len()).unwrap();
    assert_reset(
        &m,
        &ebgp(),
        ErrorKind::BadMessageLength { length },
        16,
        (1, 2),
        &length.to_be_bytes(),
    );
}

/// Item 15: NEXT_HOP length ≠ 4 → treat-as-withdraw. Semantically wrong next hops (0/8,
/// 127/8, multicast, our own address) are delivered as they are: the daemon ignores the
/// route (RFC 4271 §6.3), since it alone knows its addresses.
#[test]
fn item_15_next_hop() {
    let rest = cat(&[&origin(), &as_path()]);
    for value in [&[][..], &[192, 0, 2], &[192, 0, 2, 1, 0], &[0; 16]] {
        let m = update(&[], &cat(&[&rest, &attr(WELL_KNOWN, 3, value)]), NLRI);
        // NEXT_HOP header at 36, value at 39.
        assert_withdraw(&m, &ebgp(), length_error(3, value.len()), 39);
    }
    for addr in [
        Ipv4Addr::new(0, 1, 2, 3),
        Ipv4Addr::new(127, 0, 0, 1),
        Ipv4Addr::new(224, 0, 0, 5),
        Ipv4Addr::new(255, 255, 255, 255),
    ] {
        let m = update(
            &[],
            &cat(&[&rest, &attr(WELL_KNOWN, 3, &addr.octets())]),
            NLRI,
        );
        let u = assert_issues(&m, &ebgp(), &[]);
        // The daemon's check: martian or own address → ignore the route.
        assert_eq!(u.attributes.next_hop(), Some(&addr));
    }
}

/// Item 16: MED or LOCAL_PREF length ≠ 4 → treat-as-withdraw; LOCAL_PREF from an eBGP peer is
/// discarded, whatever its length (RFC 7606 §7.5).
#[test]
fn item_16_med_and_local_pref() {
    let value_at = AFTER_MANDATORY + 3;
    for len in [0usize, 3, 5] {
        let m = update_with(&attr(OPTIONAL, 4, &vec![0; len]));
        assert_withdraw(&m, &ebgp(), length_error(4, len), value_at);
        let m = update_with(&attr(WELL_KNOWN, 5, &vec![0; len]));
        assert_withdraw(&m, &ibgp(), length_error(5, len), value_at);
    }
    for len in [4usize, 3] {
        let m = update_with(&attr(WELL_KNOWN, 5, &vec![0; len]));
        let u = assert_discard(
            &m,
            &ebgp(),
            ErrorKind::LocalPrefFromEbgp,
            AFTER_MANDATORY,
            5,
        );
        assert!(u.attributes.local_pref().is_none());
    }
    // From an eBGP peer it is discarded whatever its flags (RFC 7606 §7.5): a flags conflict
    // does not withdraw a route over an attribute that is dropped anyway. From an iBGP peer a
    // flags conflict withdraws (§3(c)).
    let m = update_with(&attr(OPTIONAL_TRANSITIVE, 5, &[0, 0, 0, 200]));
    assert_discard(
        &m,
        &ebgp(),
        ErrorKind::LocalPrefFromEbgp,
        AFTER_MANDATORY,
        5,
    );
    let flags = ErrorKind::AttributeFlags {
        type_code: 5,
        flags: OPTIONAL_TRANSITIVE,
    };
    assert_withdraw(&m, &ibgp(), flags, AFTER_MANDATORY);
    let m = update_with(&attr(WELL_KNOWN, 5, &[0, 0, 0, 200]));
    assert_eq!(
        assert_issues(&m, &ibgp(), &[]).attributes.local_pref(),
        Some(&200)
    );
}

/// Item 17: ATOMIC_AGGREGATE length ≠ 0, AGGREGATOR / AS4_AGGREGATOR of the wrong length (or
/// with AS 0) → the attribute is discarded, the route stays.
#[test]
fn item_17_aggregator_and_atomic_aggregate() {
    let value_at = AFTER_MANDATORY + 3;
    let m = update_with(&attr(WELL_KNOWN, 6, &[0]));
    assert_discard(&m, &ebgp(), length_error(6, 1), value_at, 6);
    // AGGREGATOR is 8 octets on a 4-octet session, 6 on a 2-octet one.
    for len in [6usize, 7, 9] {
        let m = update_with(&attr(OPTIONAL_TRANSITIVE, 7, &vec![1; len]));
        assert_discard(&m, &ebgp(), length_error(7, len), value_at, 7);
    }
    let two = SessionContext::two_octet_as();
    let m = update(
        &[],
        &cat(&[
            &origin(),
            &attr(WELL_KNOWN, 2, &[2, 1, 0xfd, 0xe9]),
            &next_hop(),
            &attr(OPTIONAL_TRANSITIVE, 7, &[1; 8]),
        ]),
        NLRI,
    );
    // (The 2-octet AS_PATH is 2 octets shorter: AGGREGATOR at 41, value at 44.)
    assert_discard(&m, &two, length_error(7, 8), 44, 7);
    for len in [6usize, 7] {
        let m = update_with(&attr(OPTIONAL_TRANSITIVE, 18, &vec![1; len]));
        assert_discard(&m, &ebgp(), length_error(18, len), value_at, 18);
    }
    // AS 0 (RFC 7607).
    let m = update_with(&attr(OPTIONAL_TRANSITIVE, 7, &[0, 0, 0, 0, 192, 0, 2, 1]));
    assert_discard(&m, &ebgp(), ErrorKind::AsZero { type_code: 7 }, value_at, 7);
    let m = update_with(&attr(OPTIONAL_TRANSITIVE, 18, &[0, 0, 0, 0, 192, 0, 2, 1]));
    assert_discard(
        &m,
        &ebgp(),
        ErrorKind::AsZero { type_code: 18 },
        value_at,
        18,
    );
}

/// Item 18: COMMUNITIES not a non-zero multiple of 4, EXTENDED_COMMUNITIES of 8,
/// LARGE_COMMUNITY of 12 → treat-as-withdraw.
#[test]
fn item_18_community_lengths() {
    let value_at = AFTER_MANDATORY + 3;
    for (code, lengths) in [(8u8, [0usize, 5, 6]), (16, [0, 7, 12]), (32, [0, 8, 13])] {
        for len in lengths {
            let m = update_with(&attr(OPTIONAL_TRANSITIVE, code, &vec![1; len]));
            assert_withdraw(&m, &ebgp(), length_error(code, len), value_at);
        }
    }
    // The good lengths.
    let m = update_with(&cat(&[
        &attr(
            OPTIONAL_TRANSITIVE,
            8,
            &[0xfd, 0xe9, 0, 1, 0xff, 0xff, 0xff, 0x01],
        ),
        &attr(OPTIONAL_TRANSITIVE, 16, &[0, 2, 0xfd, 0xe9, 0, 0, 0, 1]),
        &attr(
            OPTIONAL_TRANSITIVE,
            32,
            &[0, 0, 0xfd, 0xe9, 0, 0, 0, 1, 0, 0, 0, 2],
        ),
    ]));
    let u = assert_issues(&m, &ebgp(), &[]);
    assert_eq!(u.attributes.communities().len(), 2);
    assert_eq!(u.attributes.extended_communities().len(), 1);
    assert_eq!(u.attributes.large_communities().len(), 1);
}

/// Item 19: ORIGINATOR_ID / CLUSTER_LIST malformed → treat-as-withdraw on iBGP, discard on
/// eBGP. The loop check (our router id as ORIGINATOR_ID, our cluster id in CLUSTER_LIST,
/// RFC 4456 §8) is the daemon's: the decoder delivers both values.
#[test]
fn item_19_originator_id_and_cluster_list() {
    let value_at = AFTER_MANDATORY + 3;
    for (code, len) in [(9u8, 3usize), (9, 5), (9, 0), (10, 0), (10, 5), (10, 7)] {
        let m = update_with(&attr(OPTIONAL, code, &vec![10; len]));
        assert_withdraw(&m, &ibgp(), length_error(code, len), value_at);
        assert_discard(&m, &ebgp(), length_error(code, len), value_at, code);
    }
    let m = update_with(&cat(&[
        &attr(OPTIONAL, 9, &[10, 0, 0, 1]),
        &attr(OPTIONAL, 10, &[10, 0, 0, 9, 10, 0, 0, 8]),
    ]));
    // From an eBGP peer, well-formed ones are discarded too (RFC 4456 §8: reflection
    // attributes stay inside one AS), each reported at its attribute's first octet.
    let ebgp_u = assert_issues(
        &m,
        &ebgp(),
        &[
            (
                ErrorKind::ReflectionAttributeFromEbgp { type_code: 9 },
                AFTER_MANDATORY,
                AttributeAction::Discard,
            ),
            (
                ErrorKind::ReflectionAttributeFromEbgp { type_code: 10 },
                AFTER_MANDATORY + 7,
                AttributeAction::Discard,
            ),
        ],
    );
    assert!(ebgp_u.attributes.originator_id().is_none());
    assert!(ebgp_u.attributes.cluster_list().is_none());
    assert_eq!(ebgp_u.nlri.len(), 1, "the route stays");
    let u = assert_issues(&m, &ibgp(), &[]);
    // The daemon drops the route if 10.0.0.1 is its router id or 10.0.0.9/8 its cluster id.
    assert_eq!(
        u.attributes.originator_id(),
        Some(&Ipv4Addr::new(10, 0, 0, 1))
    );
    assert_eq!(
        &u.attributes.cluster_list().unwrap()[..],
        &[Ipv4Addr::new(10, 0, 0, 9), Ipv4Addr::new(10, 0, 0, 8)]
    );
}

/// MP_REACH_NLRI value for IPv6 unicast with next hop 2001:db8::1 and `nlri`.
fn mp_reach_v6(nlri: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 2, 1, 16, 0x20, 0x01, 0x0d, 0xb8];
    v.extend_from_slice(&[0; 11]);
    v.push(1);
    v.push(0);
    v.extend_from_slice(nlri);
    v
}

/// Item 20: an ordinary attribute twice → the first is kept; MP_REACH_NLRI or
/// MP_UNREACH_NLRI twice, truncated, or with a next-hop length that does not fit → 3/1.
#[test]
fn item_20_duplicates_and_broken_multiprotocol() {
    // ORIGIN IGP, then ORIGIN INCOMPLETE at 43: the second is dropped.
    let m = update_with(&attr(WELL_KNOWN, 1, &[2]));
    let kind = ErrorKind::DuplicateAttribute { type_code: 1 };
    let u = assert_issues(
        &m,
        &ebgp(),
        &[(kind, AFTER_MANDATORY, AttributeAction::Discard)],
    );
    assert_eq!(u.attributes.origin(), Some(&Origin::Igp));
    assert_eq!(u.nlri.len(), 1);

    let head = cat(&[&origin(), &as_path()]); // 23..36
    let reach = attr(OPTIONAL, 14, &mp_reach_v6(&[32, 0x20, 0x01, 0x0d, 0xb8])); // 29 octets
    let unreach = attr(OPTIONAL, 15, &[0, 2, 1, 32, 0x20, 0x01, 0x0d, 0xb8]);
    let dup = |code| ErrorKind::DuplicateMultiprotocolAttribute { type_code: code };
    let m = update(&[], &cat(&[&head, &reach, &reach]), &[]);
    assert_reset(&m, &ebgp(), dup(14), 65, (3, 1), &[]);
    let m = update(&[], &cat(&[&head, &unreach, &unreach]), &[]);
    assert_reset(&m, &ebgp(), dup(15), 47, (3, 1), &[]);

    let mp = |code, reason| ErrorKind::MalformedMultiprotocolAttribute {
        type_code: code,
        reason,
    };
    // The MP value starts at 39.
    for (value, kind, offset) in [
        (&[0u8, 2][..], mp(14, "truncated SAFI"), 39),
        (&[0], mp(14, "truncated AFI"), 39),
        (&[0, 2, 1], mp(14, "truncated next-hop length"), 42),
        (
            &[0, 2, 1, 200, 1, 2],
            mp(14, "next hop overruns the attribute"),
            43,
        ),
        (
            &[0, 2, 1, 5, 1, 2, 3, 4, 5, 0],
            mp(14, "next-hop length does not fit the address family"),
            43,
        ),
        (
            &[0, 1, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0],
            mp(14, "next-hop length does not fit the address family"),
            43,
        ),
        (
            &[0, 1, 1, 4, 192, 0, 2, 1],
            mp(14, "missing reserved octet"),
            47,
        ),
    ] {
        let m = update(&[], &cat(&[&head, &attr(OPTIONAL, 14, value)]), &[]);
        assert_reset(&m, &ebgp(), kind, offset, (3, 1), &[]);
    }
    let m = update(&[], &cat(&[&head, &attr(OPTIONAL, 15, &[0, 2])]), &[]);
    assert_reset(&m, &ebgp(), mp(15, "truncated SAFI"), 39, (3, 1), &[]);
    // MP_REACH_NLRI overrunning the attribute block: its NLRI cannot be found.
    let m = update(&[], &cat(&[&head, &[0x80, 14, 40, 0, 2, 1]]), &[]);
    let kind = ErrorKind::AttributeOverrun {
        type_code: 14,
        length: 40,
    };
    assert_reset(&m, &ebgp(), kind, 36, (3, 1), &[]);
}

/// Item 21: NLRI prefix length > 32 / > 128, or overrunning → 3/10; host bits set are
/// masked, accepted and reported as `Repaired`.
#[test]
fn item_21_nlri_prefix_lengths() {
    let invalid = |prefix_length| ErrorKind::InvalidNetworkField { prefix_length };
    // NLRI field at 43.
    let m = update(&[], &mandatory(), &[24, 10, 0, 0, 33, 10, 0, 0, 0, 0]);
    assert_reset(&m, &ebgp(), invalid(33), 47, (3, 10), &[]);
    let m = update(&[], &mandatory(), &[24, 10, 0]);
    assert_reset(&m, &ebgp(), invalid(24), 43, (3, 10), &[]);
    // Withdrawn routes field at 21.
    let m = update(&[40, 10, 0, 0, 0, 0, 0], &[], &[]);
    assert_reset(&m, &ebgp(), invalid(40), 21, (3, 10), &[]);
    // IPv6 in MP_REACH_NLRI (NLRI at 36 + 3 + 21 = 60) and MP_UNREACH_NLRI (NLRI at 29).
    let head = cat(&[&origin(), &as_path()]);
    let m = update(
        &[],
        &cat(&[&head, &attr(OPTIONAL, 14, &mp_reach_v6(&[129]))]),
        &[],
    );
    assert_reset(&m, &ebgp(), invalid(129), 60, (3, 10), &[]);
    let m = update(&[], &attr(OPTIONAL, 15, &[0, 2, 1, 64, 0x20, 0x01]), &[]);
    assert_reset(&m, &ebgp(), invalid(64), 29, (3, 10), &[]);
    // ADD-PATH: a path identifier cut short makes the NLRI field syntactically incorrect →
    // 3/10, in the NLRI field and in MP_REACH_NLRI alike.
    let add_path = SessionContext {
        add_path: FamilySet::of(&[Family::IPV4_UNICAST, Family::IPV6_UNICAST]),
        ..SessionContext::default()
    };
    let m = update(&[], &mandatory(), &[0, 0, 1]);
    assert_reset(
        &m,
        &add_path,
        ErrorKind::TruncatedPathIdentifier,
        43,
        (3, 10),
        &[],
    );
    let m = update(
        &[],
        &cat(&[&head, &attr(OPTIONAL, 14, &mp_reach_v6(&[0, 0]))]),
        &[],
    );
    assert_reset(
        &m,
        &add_path,
        ErrorKind::TruncatedPathIdentifier,
        60,
        (3, 10),
        &[],
    );

    // Host bits: 10.0.1.0/23 becomes 10.0.0.0/23; 2001:db8::1/32 becomes 2001:db8::/32.
    let m = update(&[], &mandatory(), &[23, 10, 0, 1]);
    let u = assert_issues(&m, &ebgp(), &[(invalid(23), 43, AttributeAction::Repaired)]);
    assert!(!u.treat_as_withdraw());
    assert_eq!(u.nlri[0].prefix.to_string(), "10.0.0.0/23");
    let m = update(
        &[],
        &attr(OPTIONAL, 15, &[0, 2, 1, 31, 0x20, 0x01, 0x0d, 0xb9]),
        &[],
    );
    let u = assert_issues(&m, &ebgp(), &[(invalid(31), 29, AttributeAction::Repaired)]);
    assert_eq!(
        u.withdrawals().next().unwrap().1.prefix.to_string(),
        "2001:db8::/31"
    );
}

/// Item 22: unknown optional transitive → kept byte-exact (the daemon sets Partial when it
/// passes it on); unknown optional non-transitive → kept in the decoded form but not to be
/// passed on (the daemon drops it); unknown well-known → 3/2 with the attribute as data.
#[test]
fn item_22_unknown_attributes() {
    let transitive = attr(OPTIONAL_TRANSITIVE, 200, &[1, 2, 3]);
    let non_transitive = attr(OPTIONAL, 201, &[4, 5]);
    let m = update_with(&cat(&[&transitive, &non_transitive]));
    let u = assert_issues(&m, &ebgp(), &[]);
    let unknown = |code| u.attributes.get(code).unwrap().clone();
    assert_eq!(
        unknown(200),
        PathAttribute {
            flags: OPTIONAL_TRANSITIVE,
            value: AttributeValue::Unknown {
                type_code: 200,
                data: Box::new([1, 2, 3]),
            },
        }
    );
    assert_eq!(unknown(201).flags, OPTIONAL);
    // Byte-exact as received.
    assert_eq!(Message::Update(u.clone()).to_bytes(&ebgp()).unwrap(), m[..]);
    // Passed on with the Partial bit: only the flags octet changes.
    let mut passed = unknown(200);
    passed.flags |= PARTIAL;
    let mut out = BytesMut::new();
    passed.encode(&ebgp(), &mut out).unwrap();
    assert_eq!(&out[..], &[0xe0, 200, 3, 1, 2, 3]);

    // Well-known flags on an unassigned type code.
    let wk = attr(WELL_KNOWN, 202, &[9, 9]);
    let kind = ErrorKind::UnrecognizedWellKnownAttribute { type_code: 202 };
    assert_reset(
        &update_with(&wk),
        &ebgp(),
        kind,
        AFTER_MANDATORY,
        (3, 2),
        &wk,
    );
}

/// Item 23: attributes a peer corrupts (tunnel encapsulation 23, AIGP 26, BGP-LS 29, OTC 35,
/// Prefix-SID 40) → withdraw or discard, never a reset.
#[test]
fn item_23_corrupted_attributes_never_reset() {
    let value_at = AFTER_MANDATORY + 3;
    // OTC (RFC 9234 §5) is interpreted: a wrong length or flags → treat-as-withdraw.
    let m = update_with(&attr(OPTIONAL_TRANSITIVE, 35, &[0, 0, 0xfd]));
    assert_withdraw(&m, &ebgp(), length_error(35, 3), value_at);
    let m = update_with(&attr(WELL_KNOWN, 35, &[0, 0, 0xfd, 0xe9]));
    let kind = ErrorKind::AttributeFlags {
        type_code: 35,
        flags: WELL_KNOWN,
    };
    assert_withdraw(&m, &ebgp(), kind, AFTER_MANDATORY);
    let m = update_with(&attr(OPTIONAL_TRANSITIVE, 35, &[0, 0, 0xfd, 0xe9]));
    assert_eq!(
        assert_issues(&m, &ebgp(), &[])
            .attributes
            .only_to_customer(),
        Some(&65001)
    );

    // Tunnel encapsulation and Prefix-SID are optional transitive: carried opaque and passed
    // on, so their TLVs are checked and a corrupted one (TLV lengths that overrun, as in the
    // 2023 incidents) is discarded, the route kept (RFC 9012 §13, RFC 8669 §6).
    for (flags, code, value, reason) in [
        (
            OPTIONAL_TRANSITIVE,
            23u8,
            &[0, 8, 0xff, 0xff, 1][..],
            "tunnel TLV overruns the attribute",
        ),
        (
            OPTIONAL_TRANSITIVE,
            23,
            &[0, 8, 0],
            "tunnel TLV header cut short",
        ),
        (
            OPTIONAL_TRANSITIVE,
            23,
            &[0, 8, 0, 3, 13, 5, 1],
            "sub-TLV overruns its tunnel TLV",
        ),
        (
            OPTIONAL_TRANSITIVE,
            23,
            &[0, 8, 0, 2, 0x80, 0],
            "sub-TLV length missing",
        ),
        (
            OPTIONAL_TRANSITIVE | PARTIAL,
            40,
            &[1, 0, 7, 0],
            "TLV overruns the attribute",
        ),
        (
            OPTIONAL_TRANSITIVE,
            40,
            &[1, 0, 4, 0, 0, 0, 1],
            "Label-Index TLV length is not 7",
        ),
        (
            OPTIONAL_TRANSITIVE,
            40,
            &[3, 0, 5, 0, 0, 0, 0, 1],
            "Originator SRGB TLV length is not 2 plus a multiple of 6",
        ),
    ] {
        let m = update_with(&attr(flags, code, value));
        let kind = ErrorKind::MalformedTlvs {
            type_code: code,
            reason,
        };
        assert_discard(&m, &ebgp(), kind, AFTER_MANDATORY, code);
    }
    // Well-formed ones, and the others (carried opaque, non-transitive, so never passed on to
    // another AS), are kept byte-exact with no reset.
    for (flags, code, value) in [
        (OPTIONAL_TRANSITIVE, 23u8, &[0, 8, 0, 5, 13, 3, 1, 2, 3][..]), // 1-octet sub-TLV length
        (OPTIONAL_TRANSITIVE, 23, &[0, 8, 0, 6, 0x80, 0, 3, 1, 2, 3]),  // 2-octet sub-TLV length
        (OPTIONAL_TRANSITIVE, 23, &[]),
        (OPTIONAL_TRANSITIVE, 40, &[1, 0, 7, 0, 0, 0, 0, 0, 0, 100]), // Label-Index
        (
            OPTIONAL_TRANSITIVE,
            40,
            &[3, 0, 8, 0, 0, 0, 0, 100, 0, 0, 50],
        ), // Originator SRGB
        (OPTIONAL_TRANSITIVE, 40, &[]),
        (OPTIONAL, 26, &[1, 0, 200, 0, 0]), // AIGP TLV length overruns
        (OPTIONAL, 29, &[0x04, 0x00, 0xff]), // BGP-LS TLV cut short
    ] {
        let m = update_with(&attr(flags, code, value));
        let u = assert_issues(&m, &ebgp(), &[]);
        assert_eq!(u.attributes.get(code).unwrap().flags, flags);
        assert_eq!(Message::Update(u).to_bytes(&ebgp()).unwrap(), m[..]);
    }
    // The same attributes with the Optional bit cleared (a flags conflict: they are
    // registered as optional) are discarded, not taken for unknown well-known attributes.
    for (flags, code) in [
        (WELL_KNOWN, 23u8),
        (0, 26),
        (WELL_KNOWN, 29),
        (WELL_KNOWN, 40),
    ] {
        let m = update_with(&attr(flags, code, &[1, 2, 3, 4]));
        let kind = ErrorKind::AttributeFlags {
            type_code: code,
            flags,
        };
        assert_discard(&m, &ebgp(), kind, AFTER_MANDATORY, code);
    }
}

// ---------------------------------------------------------------------------------------------
// NOTIFICATION (RFC 4271 §6.4, RFC 9003)
// ---------------------------------------------------------------------------------------------

fn decode_notification(body: &[u8]) -> Notification {
    match Message::decode(&message(NOTIFICATION, body), &ebgp()).unwrap() {
        Message::Notification(n) => n,
        other => panic!("{other:?}"),
    }
}

/// Item 24: truncated NOTIFICATION, unknown code, shutdown communication with a bad length or
/// invalid UTF-8 → decoded or reported without panic, shown sanitised.
#[test]
fn item_24_bad_notifications() {
    // Shorter than 21 octets: the header check reports 1/2. The daemon must not answer a
    // NOTIFICATION with a NOTIFICATION: it sees type 3 at octet 18, logs and closes.
    for body in [&[][..], &[6]] {
        let m = message(NOTIFICATION, body);
        let length = u16::try_from(m.len()).unwrap();
        let kind = ErrorKind::BadNotification { length };
        assert_reset(&m, &ebgp(), kind, 16, (1, 2), &length.to_be_bytes());
        assert_eq!(m[18], NOTIFICATION);
    }
    // Unknown code and subcode: decoded, named as unknown.
    let n = decode_notification(&[42, 7, 0xde, 0xad]);
    assert_eq!((n.code, n.subcode, &n.data[..]), (42, 7, &[0xde, 0xad][..]));
    assert_eq!(
        n.to_string(),
        "42/7 (Unknown Error Code / Unknown Subcode) data dead"
    );
    // Shutdown communication whose length overruns the data.
    let n = decode_notification(&[6, 2, 10, b'b', b'y']);
    assert_eq!(
        n.shutdown_message(),
        Some(Err(ShutdownMessageError::BadLength {
            length: 10,
            available: 2
        }))
    );
    assert!(n.to_string().contains("exceeds the 2 octets present"));
    // Invalid UTF-8: the lossy text is kept.
    let n = decode_notification(&[6, 4, 3, b'a', 0xff, 0xfe]);
    assert_eq!(
        n.shutdown_message(),
        Some(Err(ShutdownMessageError::InvalidUtf8 {
            lossy: "a\u{fffd}\u{fffd}".to_string()
        }))
    );
    // Control characters (a terminal escape, a newline) are shown escaped (the text is
    // escaped once by the sanitiser and once more by the quoting).
    let text = b"\x1b[2Jbye\nnow";
    let mut body = vec![6, 2, u8::try_from(text.len()).unwrap()];
    body.extend_from_slice(text);
    let shown = decode_notification(&body).to_string();
    assert!(!shown.contains('\x1b') && !shown.contains('\n'), "{shown}");
    assert!(
        shown.contains(r#"message "\\u{1b}[2Jbye\\nnow""#),
        "{shown}"
    );
    // An empty shutdown communication (length 0) is no message at all.
    assert_eq!(decode_notification(&[6, 2, 0]).shutdown_message(), None);
    // A Cease without data.
    assert_eq!(decode_notification(&[6, 2]).shutdown_message(), None);
}
