//! decode → encode → decode: a message that decodes must encode (with `wire_len` octets), the
//! result must decode to the same message (RFC 7606 issues aside: what was discarded or
//! repaired is gone), and encoding that again must give the same bytes.
#![no_main]

use bgp_proto::Message;
use bgp_proto_fuzz::split;
use libfuzzer_sys::fuzz_target;

/// The message without its RFC 7606 issues (they describe the input, not the content).
fn content(m: &Message) -> Message {
    match m {
        Message::Update(u) => {
            let mut u = u.clone();
            u.issues.clear();
            Message::Update(u)
        }
        other => other.clone(),
    }
}

fuzz_target!(|data: &[u8]| {
    let (ctx, bytes) = split(data);
    let Ok(first) = Message::decode(bytes, &ctx) else {
        return;
    };
    let encoded = match first.to_bytes(&ctx) {
        Ok(b) => b,
        Err(e) => panic!("decoded message does not encode: {e}: {first:?}"),
    };
    assert_eq!(encoded.len(), first.wire_len(&ctx), "wire_len");
    assert!(encoded.len() <= bytes.len(), "encoding grew the message");
    let second = match Message::decode(&encoded, &ctx) {
        Ok(m) => m,
        Err(e) => panic!("encoded message does not decode: {e}: {first:?}"),
    };
    assert_eq!(content(&first), content(&second), "decode(encode(m)) != m");
    let again = second.to_bytes(&ctx).expect("encodes again");
    assert_eq!(encoded, again, "encoding is not a fixpoint");
});
