#!/usr/bin/env python3
"""Writes the committed seed corpora of bgpd's fuzz targets (run from anywhere):

  seeds/config_parse/  the shipped configs (configs/*.toml), the README's snippets and broken
                       variants of them (each error kind the loader reports)
  seeds/session_rib/   decision sequences (see src/lab.rs, `one_step`) that bring the three
                       peers up, exchange UPDATEs, flap, kill a peer with graceful restart,
                       send End-of-RIB, and raw messages: UPDATEs from the real MRT dumps in
                       ../shared/data/mrt and the bad-input seeds of bgp-proto/fuzz
"""
import gzip
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared", "data"))


def write(target, name, data):
    d = os.path.join(HERE, "seeds", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes(data))


# --- config_parse ---------------------------------------------------------------------------
BASE = """[global]
asn = 64512
router_id = "198.51.100.2"
"""
for path in sorted(os.listdir(os.path.join(ROOT, "configs"))):
    if path.endswith(".toml"):
        with open(os.path.join(ROOT, "configs", path)) as f:
            write("config_parse", path, f.read())
BROKEN = {
    "hold_time_2": BASE + '[[neighbors]]\naddress = "198.51.100.1"\npeer_as = 64512\nhold_time = 2\n',
    "unknown_key": BASE + "colour = 3\n",
    "missing_global": '[[neighbors]]\naddress = "198.51.100.1"\npeer_as = 1\n',
    "bad_address": BASE + '[[neighbors]]\naddress = "198.51.100.300"\npeer_as = 1\n',
    "unknown_policy": BASE + '[[neighbors]]\naddress = "198.51.100.1"\npeer_as = 1\nimport_policy = ["x"]\n',
    "bad_prefix_match": BASE + '[[classes]]\nname = "pod"\nprefixes = ["10.244.0.0/16 le 99"]\n',
    "bad_regex": BASE + '[[as_path_sets]]\nname = "a"\npatterns = ["(("]\n',
    "duplicate_name": BASE + '[[policies]]\nname = "a"\n[[policies]]\nname = "a"\n',
    "syntax": "[global\nasn = ",
    "peer_group": BASE
    + '[[peer_groups]]\nname = "g"\npeer_as = 64513\nimport_policy = ["p"]\n'
    + '[[policies]]\nname = "p"\n[[policies.statements]]\naction = "accept"\n'
    + '[[neighbors]]\naddress = "2001:db8::1"\npeer_group = "g"\nrole = "route-server-client"\n',
    "keepalive": BASE + '[[neighbors]]\naddress = "198.51.100.1"\npeer_as = 64512\nhold_time = 9\nkeepalive = 9\n',
    "password_env": BASE + '[[neighbors]]\naddress = "198.51.100.1"\npeer_as = 64512\npassword_env = "NOPE_NOT_SET"\n',
}
for name, text in BROKEN.items():
    write("config_parse", name, text)

# --- session_rib ----------------------------------------------------------------------------
# one_step: peer = byte % 3, op = byte % 18, then the op's own bytes.
START, CONNECT, OPEN, KEEPALIVE, UPDATE, RAW, EOR, NOTIF, TCP_FAIL, TIMER, STOP, REFRESH, GR_TIMER = (
    0, 2, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15, 16)


def up(p, open_flags=0x0F, gr_families=0x03, restart=120, extra=b""):
    """ManualStart, outbound TCP up, the peer's OPEN (multiprotocol v4+v6, route refresh,
    graceful restart), its KEEPALIVE: Established."""
    o = bytes([p, START, p, CONNECT, 1, p, OPEN, open_flags])
    if open_flags & 0x08:
        o += bytes([gr_families, restart])
    if open_flags & 0x10:
        o += bytes([2])  # ADD-PATH both
    o += extra
    o += bytes([2])  # hold time 90
    return o + bytes([p, KEEPALIVE])


def update_v4(p, pools, ibgp=False, med=None, path_len=0, withdraw=()):
    b = bytes([p, UPDATE, 0, len(pools)]) + bytes(pools)
    b += bytes([len(withdraw)]) + bytes(withdraw)
    if pools:
        b += bytes([0, path_len]) + bytes([0] * path_len)
        b += bytes([3])  # next hop: the peer's own address
        b += bytes([1, med]) if med is not None else bytes([0])
        b += bytes([0])  # no LOCAL_PREF
        b += bytes([0x01])  # one community
        if ibgp:
            b += bytes([0])
    return b


def update_v6(p, pools, ibgp=False):
    b = bytes([p, UPDATE, 1, len(pools)]) + bytes(pools) + bytes([0])
    if pools:
        b += bytes([0, 0, 3, 0, 0, 0x01])
        if ibgp:
            b += bytes([0])
    return b


all_up = up(0) + up(1) + up(2)
write("session_rib", "three_up", all_up)
write("session_rib", "updates", all_up + update_v4(0, [0, 1, 5]) + update_v4(1, [0, 5], med=3)
      + update_v4(2, [0, 7], ibgp=True) + update_v6(0, [0, 2]) + update_v6(2, [0], ibgp=True))
write("session_rib", "withdraw", all_up + update_v4(0, [0, 1]) + update_v4(1, [1])
      + update_v4(0, [], withdraw=[0]) + update_v4(1, [], withdraw=[1]))
# Peer 0 dies without a NOTIFICATION (graceful restart keeps its routes as stale), comes back,
# re-announces one route, End-of-RIB flushes the other.
write("session_rib", "graceful_restart", all_up + update_v4(0, [0, 1, 2]) + bytes([0, TCP_FAIL])
      + up(0) + update_v4(0, [1]) + bytes([0, EOR, 0]))
# The same with the restart timer firing while it is down.
write("session_rib", "graceful_restart_timer", all_up + update_v4(0, [0, 1]) + bytes([0, TCP_FAIL])
      + bytes([0, GR_TIMER]) + up(0))
# Helper-only peer (no families in its capability): routes go at once.
write("session_rib", "gr_no_families", up(0, gr_families=0) + up(1) + update_v4(0, [0, 1])
      + bytes([0, TCP_FAIL]))
# NOTIFICATION from the peer, hold timer expiry, a flap, route refresh.
write("session_rib", "flaps", all_up + update_v4(1, [0, 3]) + bytes([1, NOTIF, 6, 2]) + up(1)
      + update_v4(1, [3]) + bytes([2, TIMER, 1]) + bytes([0, REFRESH, 0]) + bytes([2, STOP, 0]))
# ADD-PATH both ways with peer 0 (bgpd configures add_path = "both" for it).
write("session_rib", "add_path", up(0, open_flags=0x1F) + up(1) + bytes([0, UPDATE, 0, 2, 0, 1, 0, 2, 0, 0, 0, 3, 0, 0, 1]))
# More prefixes than peer 0's max_prefixes (12): Cease 6/1 from the RIB.
write("session_rib", "max_prefix", up(0) + up(1)
      + update_v4(0, [0, 1, 2, 3]) + update_v4(0, [4, 5, 6, 7]) + update_v4(0, [8, 9, 10, 11])
      + update_v6(0, [0, 1, 2, 3]))

KIND = {1: 0, 2: 1, 3: 4, 4: 5, 5: 6}


def raw(p, msg):
    """A RAW step carrying one whole BGP message's type and body."""
    if len(msg) < 19 or msg[18] not in KIND:
        return None
    body = msg[19:]
    if len(body) > 200:
        return None
    return bytes([p, RAW, KIND[msg[18]], len(body)]) + body


raws = []
seeds_dir = os.path.join(ROOT, "bgp-proto", "fuzz", "seeds", "decode_message")
for name in sorted(os.listdir(seeds_dir)):
    with open(os.path.join(seeds_dir, name), "rb") as f:
        data = f.read()
    r = raw(0, data[1:])  # the first byte is decode_message's context selector
    if r:
        raws.append((name, r))


def mrt_updates(path, limit):
    """BGP messages of BGP4MP MESSAGE / MESSAGE_AS4 records (RFC 6396 §4.4)."""
    out = []
    with gzip.open(path, "rb") as f:
        data = f.read()
    i = 0
    while i + 12 <= len(data) and len(out) < limit:
        _, typ, sub, length = struct.unpack(">IHHI", data[i:i + 12])
        rec = data[i + 12:i + 12 + length]
        i += 12 + length
        if typ not in (16, 17) or sub not in (1, 4):
            continue
        asl = 4 if sub == 4 else 2
        off = 2 * asl + 2
        if len(rec) < off + 2:
            continue
        afi = struct.unpack(">H", rec[off:off + 2])[0]
        off += 2 + (8 if afi == 1 else 32)
        msg = rec[off:]
        if len(msg) >= 19 and msg[18] == 2:
            out.append(msg)
    return out


mrt = os.path.join(SHARED, "mrt", "updates.20160811.1600.gz")
if os.path.exists(mrt):
    for n, msg in enumerate(mrt_updates(mrt, 400)[::20]):
        r = raw(0, msg)
        if r:
            raws.append((f"mrt_update_{n}", r))

for name, r in raws:
    write("session_rib", "raw_" + name, all_up + r + update_v4(1, [0]))
print("seeds written to", os.path.join(HERE, "seeds"))
