//! Appending numbers and addresses to a byte buffer without allocating, in exactly the forms
//! `bgpdump` prints them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Appends `v` in decimal.
pub(crate) fn push_u32(out: &mut Vec<u8>, v: u32) {
    if v < 10 {
        out.push(b'0' + v as u8);
        return;
    }
    let mut digits = [0u8; 10];
    let mut n = v;
    let mut i = digits.len();
    while n > 0 && i > 0 {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
    }
    // Byte by byte: for a few digits this is faster than a `memmove` call.
    out.reserve(digits.len() - i);
    for d in digits.get(i..).unwrap_or(&[]) {
        out.push(*d);
    }
}

/// The decimal text of every octet value: up to three digits and the digit count.
// Evaluated at compile time: an index out of range would fail the build, not panic.
#[allow(clippy::indexing_slicing)]
const OCTET_TEXT: [[u8; 4]; 256] = {
    let mut table = [[0u8; 4]; 256];
    let mut v = 0;
    while v < 256 {
        let (h, t, o) = ((v / 100) as u8, (v / 10 % 10) as u8, (v % 10) as u8);
        table[v] = if v >= 100 {
            [b'0' + h, b'0' + t, b'0' + o, 3]
        } else if v >= 10 {
            [b'0' + t, b'0' + o, 0, 2]
        } else {
            [b'0' + o, 0, 0, 1]
        };
        v += 1;
    }
    table
};

/// Appends one octet in decimal.
fn push_octet(out: &mut Vec<u8>, o: u8) {
    let [a, b, c, n] = OCTET_TEXT
        .get(usize::from(o))
        .copied()
        .unwrap_or([b'0', 0, 0, 1]);
    out.push(a);
    if n > 1 {
        out.push(b);
    }
    if n > 2 {
        out.push(c);
    }
}

/// Appends `v` as C's `%d` prints an `unsigned int` reinterpreted as `int`.
pub(crate) fn push_i32_of(out: &mut Vec<u8>, v: u32) {
    let signed = v as i32;
    if signed < 0 {
        out.push(b'-');
        push_u32(out, signed.unsigned_abs());
    } else {
        push_u32(out, v);
    }
}

/// Appends `v` zero-padded to six digits (the microseconds of BGP4MP_ET timestamps).
pub(crate) fn push_micros(out: &mut Vec<u8>, v: u32) {
    let mut width = 1;
    let mut n = v / 10;
    while n > 0 {
        width += 1;
        n /= 10;
    }
    for _ in width..6 {
        out.push(b'0');
    }
    push_u32(out, v);
}

/// Appends an IPv4 address in dotted-decimal form.
pub(crate) fn push_ipv4(out: &mut Vec<u8>, a: Ipv4Addr) {
    let [o0, o1, o2, o3] = a.octets();
    out.reserve(15);
    push_octet(out, o0);
    out.push(b'.');
    push_octet(out, o1);
    out.push(b'.');
    push_octet(out, o2);
    out.push(b'.');
    push_octet(out, o3);
}

/// Appends an IPv6 address the way bgpdump's own formatter does. It differs from RFC 5952
/// (and Rust's `Display`) in two ways: a single zero group is also shortened to `::`, and
/// IPv4-compatible addresses (`::a.b.c.d`, last 32 bits above 1) print their IPv4 part in
/// dotted form, like IPv4-mapped ones (`::ffff:a.b.c.d`).
pub(crate) fn push_ipv6(out: &mut Vec<u8>, a: Ipv6Addr) {
    let groups = a.segments();
    let bits = u128::from(a);
    let low32 = (bits & 0xffff_ffff) as u32;
    if bits >> 32 == 0xffff {
        out.extend_from_slice(b"::ffff:");
        push_ipv4(out, Ipv4Addr::from(low32));
        return;
    }
    if bits >> 32 == 0 && low32 > 1 {
        out.extend_from_slice(b"::");
        push_ipv4(out, Ipv4Addr::from(low32));
        return;
    }
    // The longest run of zero groups (the first of equal runs), even of length one.
    let (mut best_at, mut best_len) = (usize::MAX, 0usize);
    let mut run_at = 0;
    let mut run_len = 0;
    for (i, g) in groups.iter().enumerate() {
        if *g == 0 {
            if run_len == 0 {
                run_at = i;
            }
            run_len += 1;
            if run_len > best_len {
                best_at = run_at;
                best_len = run_len;
            }
        } else {
            run_len = 0;
        }
    }
    let mut i = 0;
    while i < 8 {
        if i == best_at {
            if i == 0 {
                out.push(b':');
            }
            out.push(b':');
            i += best_len;
            continue;
        }
        push_hex_group(out, groups.get(i).copied().unwrap_or(0));
        if i != 7 {
            out.push(b':');
        }
        i += 1;
    }
}

fn push_hex_group(out: &mut Vec<u8>, g: u16) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut started = false;
    for shift in [12u32, 8, 4, 0] {
        let nibble = usize::from((g >> shift) & 0xf);
        if nibble != 0 || started || shift == 0 {
            started = true;
            out.push(HEX.get(nibble).copied().unwrap_or(b'0'));
        }
    }
}

/// Appends an address of either family.
pub(crate) fn push_ip(out: &mut Vec<u8>, a: IpAddr) {
    match a {
        IpAddr::V4(a) => push_ipv4(out, a),
        IpAddr::V6(a) => push_ipv6(out, a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).unwrap_or_default()
    }

    #[test]
    fn numbers() {
        assert_eq!(text(|o| push_u32(o, 0)), "0");
        assert_eq!(text(|o| push_u32(o, u32::MAX)), "4294967295");
        assert_eq!(text(|o| push_i32_of(o, u32::MAX)), "-1");
        assert_eq!(text(|o| push_i32_of(o, 100)), "100");
        assert_eq!(text(|o| push_micros(o, 5)), "000005");
        assert_eq!(text(|o| push_micros(o, 509_481)), "509481");
        assert_eq!(text(|o| push_micros(o, 0)), "000000");
    }

    #[test]
    fn ipv6_like_bgpdump() {
        let cases = [
            ("fe80::", "fe80::"),
            ("2001:db8::1", "2001:db8::1"),
            ("::ffff:192.168.2.1", "::ffff:192.168.2.1"),
            ("::192.168.1.2", "::192.168.1.2"),
            ("2001:7f8:30::2:1:0:8447", "2001:7f8:30::2:1:0:8447"),
            ("2001:db8:0:1::", "2001:db8:0:1::"),
            ("2001:db8:0:1:1:1:1:1", "2001:db8::1:1:1:1:1"),
            ("1:0:0:2:0:0:3:4", "1::2:0:0:3:4"),
            ("::", "::"),
            ("::1", "::1"),
            ("2001:db8::ff00:42:8329", "2001:db8::ff00:42:8329"),
            ("2a03:6180::", "2a03:6180::"),
        ];
        for (input, want) in cases {
            let a: Ipv6Addr = input.parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
            assert_eq!(text(|o| push_ipv6(o, a)), want, "{input}");
        }
    }

    #[test]
    fn ipv4() {
        assert_eq!(
            text(|o| push_ipv4(o, Ipv4Addr::new(255, 0, 10, 1))),
            "255.0.10.1"
        );
    }
}
