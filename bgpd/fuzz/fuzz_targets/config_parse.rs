//! Arbitrary bytes as a config file into `bgpd::config::load_str`. Nothing may panic; every
//! error names a line inside the text, and a key unless the TOML itself cannot be read;
//! an accepted config builds its policies and classes like the daemon does.
#![no_main]

use bgpd_fuzz::config::check_load;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check_load(text);
    }
});
