//! Decodes one message in the session context the first byte picks, then frames the same
//! bytes as a stream. Nothing may panic, and every offset must lie inside the input. The
//! checked path (`CheckedUpdate`) must agree with the full decoder on the message.
#![no_main]

use bgp_proto::{frame_len, BgpCodec, CheckedUpdate, DecodeError, Message, SessionContext};
use bgp_proto_fuzz::split;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fn exercise(m: &Message, len: usize) {
    let _ = format!("{m:?}");
    match m {
        Message::Open(o) => {
            let _ = o.asn();
            for c in o.capabilities() {
                let _ = c.to_string();
            }
        }
        Message::Update(u) => {
            for i in &u.issues {
                assert!(i.offset <= len, "issue offset {} past {len}: {i}", i.offset);
                let _ = i.to_string();
            }
            let _ = u.treat_as_withdraw();
            let _ = u.end_of_rib();
            let _ = u.announced().count() + u.withdrawals().count();
            let _ = u.attributes.full_as_path(false).map(|p| p.to_string());
            let _ = u.attributes.full_aggregator(false);
            for c in u.attributes.extended_communities() {
                let _ = c.to_string();
            }
        }
        Message::Notification(n) => {
            let _ = n.to_string();
            let _ = n.shutdown_message();
        }
        Message::Keepalive | Message::RouteRefresh(_) => {}
    }
}

/// The checked path agrees with the full decoder: what it accepts decodes without an issue
/// to the same UPDATE (the converse, that it accepts every clean UPDATE of its subset, is
/// the property test's: `bgp-proto/tests/it/checked_update.rs`).
fn checked_agrees(bytes: &[u8], ctx: &SessionContext, full: &Result<Message, DecodeError>) {
    let mut read = Vec::new();
    let one_pass = CheckedUpdate::check_into(bytes, ctx, &mut read);
    assert_eq!(
        one_pass,
        CheckedUpdate::check(bytes, ctx),
        "the one-pass check differs"
    );
    let Some(checked) = one_pass else {
        return;
    };
    match full {
        Ok(Message::Update(u)) => {
            assert!(u.issues.is_empty(), "checked, but issues {:?}", u.issues);
            assert_eq!(&checked.to_update(), u, "checked differently");
            assert_eq!(checked.nlri_count(), u.nlri.len());
            assert_eq!(read, u.nlri, "read differently in one pass");
            assert_eq!(checked.withdrawn_count(), u.withdrawn.len());
            assert_eq!(checked.next_hop(), u.attributes.next_hop().copied());
            assert_eq!(checked.origin(), u.attributes.origin().copied());
        }
        other => panic!("checked, but the full decoder gives {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let (ctx, bytes) = split(data);

    // The whole input as one message.
    let full = Message::decode(bytes, &ctx);
    checked_agrees(bytes, &ctx, &full);
    match full {
        Ok(m) => exercise(&m, bytes.len()),
        Err(e) => {
            assert!(
                e.offset <= bytes.len(),
                "offset {} past {}: {e}",
                e.offset,
                bytes.len()
            );
            let n = e.notification();
            assert!(
                (1..=7).contains(&n.code),
                "NOTIFICATION code {} for {e}",
                n.code
            );
            let _ = n.to_string();
        }
    }

    // The input as a stream, framed with frame_len ...
    let mut rest = bytes;
    while let Ok(Some(len)) = frame_len(rest, ctx.max_message_len()) {
        let Some(one) = rest.get(..len) else { break };
        if let Ok(m) = Message::decode(one, &ctx) {
            exercise(&m, len);
        }
        rest = rest.get(len..).unwrap_or(&[]);
    }

    // ... and with BgpCodec, in reads of 7 octets.
    let mut codec = BgpCodec::new(ctx, ctx);
    let mut src = BytesMut::new();
    'reads: for piece in bytes.chunks(7) {
        src.extend_from_slice(piece);
        loop {
            match codec.decode(&mut src) {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => break 'reads,
            }
        }
    }
});
