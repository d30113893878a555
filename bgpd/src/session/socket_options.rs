//! Socket options the sessions need and the standard library does not offer: TCP-MD5
//! signatures (RFC 2385, Linux `TCP_MD5SIG`) and TTL security (RFC 5082, `IP_MINTTL` /
//! `IPV6_MINHOPCOUNT`, with an outgoing TTL / hop limit of 255, and the TTL of an accepted
//! connection's SYN from `TCP_SAVED_SYN`).
//!
//! This is the one module of bgpd with `unsafe` code: each block is a `setsockopt` or
//! `getsockopt` call on a file descriptor the caller owns, with a value whose layout matches
//! the kernel's.
#![allow(unsafe_code)]

use std::io;
use std::net::IpAddr;
use std::os::fd::RawFd;

/// Longest TCP-MD5 key the kernel accepts (`TCP_MD5SIG_MAXKEYLEN`).
pub const MAX_KEY_LEN: usize = 80;

/// `struct tcp_md5sig` from `<linux/tcp.h>`.
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefix_len: u8,
    key_len: u16,
    ifindex: libc::c_int,
    key: [u8; MAX_KEY_LEN],
}

fn storage(peer: IpAddr) -> libc::sockaddr_storage {
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid (AF_UNSPEC) value.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    match peer {
        IpAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write(std::ptr::addr_of_mut!(ss).cast::<libc::sockaddr_in>(), sin) };
        }
        IpAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: 0,
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: a.octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe {
                std::ptr::write(
                    std::ptr::addr_of_mut!(ss).cast::<libc::sockaddr_in6>(),
                    sin6,
                )
            };
        }
    }
    ss
}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to a live, properly initialised T of the size passed; the
    // kernel only reads it. An invalid fd makes the call fail with EBADF, nothing else.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast::<libc::c_void>(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Installs (or, with an empty key, removes) the TCP-MD5 key for segments to and from
/// `peer` on socket `fd`. On a listening socket it applies to connections from `peer`; on a
/// socket about to connect, to that connection. Keys longer than 80 octets are refused.
pub fn set_md5_key(fd: RawFd, peer: IpAddr, key: &[u8]) -> io::Result<()> {
    if key.len() > MAX_KEY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "TCP-MD5 key longer than 80 octets",
        ));
    }
    let mut sig = TcpMd5Sig {
        addr: storage(peer),
        flags: 0,
        prefix_len: 0,
        key_len: key.len() as u16,
        ifindex: 0,
        key: [0; MAX_KEY_LEN],
    };
    if let Some(dst) = sig.key.get_mut(..key.len()) {
        dst.copy_from_slice(key);
    }
    setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_MD5SIG, &sig)
}

/// RFC 5082 §3: the lowest TTL / hop limit accepted from a peer `hops` away, 255 − (hops − 1)
/// (`hops = 1`: 255, directly connected peers only; 0 counts as 1).
pub fn min_ttl(hops: u8) -> u8 {
    u8::MAX - (hops.max(1) - 1)
}

/// RFC 5082 (GTSM): send with TTL / hop limit 255 and drop segments that arrive with less
/// than [`min_ttl`].
pub fn set_ttl_security(fd: RawFd, ipv6: bool, hops: u8) -> io::Result<()> {
    let min = libc::c_int::from(min_ttl(hops));
    let out: libc::c_int = 255;
    if ipv6 {
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, &out)?;
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT, &min)
    } else {
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_TTL, &out)?;
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_MINTTL, &min)
    }
}

/// Makes the listening socket `fd` keep the IP and TCP headers of each SYN for the
/// connection it accepts (Linux `TCP_SAVE_SYN`), so [`saved_syn_ttl`] can tell the TTL the
/// peer's connection began with.
pub fn save_syns(fd: RawFd) -> io::Result<()> {
    let on: libc::c_int = 1;
    setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_SAVE_SYN, &on)
}

/// The TTL (IPv4) or hop limit (IPv6) with which the SYN of the accepted connection `fd`
/// arrived, from the headers its listener kept ([`save_syns`]); `None` when none were kept
/// (the listener did not ask, SYN cookies let the connection in, or they were read already:
/// the kernel hands them out once, and answers "none" with an empty value).
pub fn saved_syn_ttl(fd: RawFd) -> io::Result<Option<u8>> {
    let mut headers = [0u8; 512];
    let mut len = headers.len() as libc::socklen_t;
    // SAFETY: `headers` is a live buffer of `len` octets that the kernel may write and `len`
    // a live length it updates; an invalid fd makes the call fail with EBADF, nothing else.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_SAVED_SYN,
            headers.as_mut_ptr().cast::<libc::c_void>(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(headers.get(..len as usize).and_then(ip_header_ttl))
}

/// The TTL of an IPv4 header (octet 8) or the hop limit of an IPv6 one (octet 7), after the
/// version in the first four bits.
fn ip_header_ttl(header: &[u8]) -> Option<u8> {
    match header.first()? >> 4 {
        4 => header.get(8).copied(),
        6 => header.get(7).copied(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn layout_matches_the_kernel() {
        assert_eq!(std::mem::size_of::<TcpMd5Sig>(), 216);
    }

    #[test]
    fn keys_install_and_long_keys_are_refused() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        set_md5_key(l.as_raw_fd(), "127.0.0.9".parse().expect("ip"), b"secret").expect("install");
        set_md5_key(l.as_raw_fd(), "127.0.0.9".parse().expect("ip"), b"").expect("remove");
        assert!(set_md5_key(l.as_raw_fd(), "127.0.0.9".parse().expect("ip"), &[b'x'; 81]).is_err());
        set_ttl_security(l.as_raw_fd(), false, 1).expect("gtsm");
    }

    /// A connection accepted by a listener that keeps SYNs tells its SYN's TTL once: the
    /// kernel's default TTL (64) over loopback, and 255 from a socket set to send with it.
    #[test]
    fn the_ttl_of_an_accepted_connections_syn_is_read_once() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        save_syns(l.as_raw_fd()).expect("save syns");
        let addr = l.local_addr().expect("addr");
        let _plain = std::net::TcpStream::connect(addr).expect("connect");
        let (accepted, _) = l.accept().expect("accept");
        assert_eq!(saved_syn_ttl(accepted.as_raw_fd()).expect("read"), Some(64));
        assert_eq!(
            saved_syn_ttl(accepted.as_raw_fd()).expect("read again"),
            None
        );
        let gtsm = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        gtsm.set_ttl(255).expect("ttl");
        gtsm.connect(&addr.into()).expect("connect");
        let (accepted, _) = l.accept().expect("accept");
        assert_eq!(
            saved_syn_ttl(accepted.as_raw_fd()).expect("read"),
            Some(255)
        );
    }

    #[test]
    fn the_minimum_ttl_follows_the_hop_count() {
        assert_eq!(
            (min_ttl(0), min_ttl(1), min_ttl(2), min_ttl(255)),
            (255, 255, 254, 1)
        );
    }

    #[test]
    fn ttl_and_hop_limit_are_found_by_ip_version() {
        let mut v4 = [0u8; 20];
        v4[0] = 0x45;
        v4[8] = 1;
        assert_eq!(ip_header_ttl(&v4), Some(1));
        let mut v6 = [0u8; 40];
        v6[0] = 0x60;
        v6[7] = 254;
        assert_eq!(ip_header_ttl(&v6), Some(254));
        assert_eq!(ip_header_ttl(&[0x50; 20]), None);
        assert_eq!(ip_header_ttl(&[]), None);
    }
}
