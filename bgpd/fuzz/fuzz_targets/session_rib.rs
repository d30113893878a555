//! A stateful target: the input is a sequence of decisions that drive four peers' FSMs
//! (starts, TCP up/down, OPENs, UPDATEs, raw messages, End-of-RIB, NOTIFICATIONs, timers,
//! route refresh, graceful-restart expiry) and, through them, the RIB. Invariants are checked
//! after every step (see `bgpd_fuzz::invariants`).
#![no_main]

use bgpd_fuzz::input::Input;
use bgpd_fuzz::lab::Lab;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut lab = Lab::new();
    lab.run(&mut Input::new(data));
});
