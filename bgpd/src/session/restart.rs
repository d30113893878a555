//! bgpd as restarting speaker (RFC 4724 §4.1): the state file a graceful stop leaves for the
//! next start, and the restart flags of the OPENs sent while the restart is under way.
//!
//! A graceful stop writes `stopped_at=SECONDS` (Unix time) to the state file. The next start
//! takes the file (reads and removes it, so a later crash is never taken for a graceful
//! restart) and restarts gracefully when it is younger than the restart time.

use anyhow::Context;
use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The R and F bits to send in the graceful restart capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RestartFlags {
    /// R bit: we are restarting (RFC 4724 §3 "Restart State").
    pub restarting: bool,
    /// F bit for every family: forwarding state preserved across the restart.
    pub forwarding_preserved: bool,
}

/// The flags of this process: set at start when it restarts gracefully, cleared when the
/// selection deferral ends. Bit 0: restarting; bit 1: forwarding preserved.
static FLAGS: AtomicU8 = AtomicU8::new(0);

/// The restart flags for OPENs sent now.
pub fn current() -> RestartFlags {
    let v = FLAGS.load(Ordering::Relaxed);
    RestartFlags {
        restarting: v & 1 != 0,
        forwarding_preserved: v & 2 != 0,
    }
}

/// Sets the restart flags for OPENs sent from now on.
pub fn set_current(flags: RestartFlags) {
    let v = u8::from(flags.restarting) | (u8::from(flags.forwarding_preserved) << 1);
    FLAGS.store(v, Ordering::Relaxed);
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Records a graceful stop now.
pub fn write_state(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the state directory {}", dir.display()))?;
    }
    std::fs::write(path, format!("stopped_at={}\n", unix_now())).with_context(|| {
        format!(
            "cannot write the graceful restart state file {}",
            path.display()
        )
    })
}

/// Reads and removes the state file: `Ok(Some(seconds since the graceful stop))`, `Ok(None)`
/// when there is none.
pub fn take_state(path: &Path) -> anyhow::Result<Option<u64>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(e).with_context(|| {
                format!(
                    "cannot read the graceful restart state file {}",
                    path.display()
                )
            })
        }
    };
    std::fs::remove_file(path).with_context(|| {
        format!(
            "cannot remove the graceful restart state file {}",
            path.display()
        )
    })?;
    let stopped_at = parse_state(&text).with_context(|| {
        format!(
            "graceful restart state file {} is not `stopped_at=SECONDS`",
            path.display()
        )
    })?;
    Ok(Some(unix_now().saturating_sub(stopped_at)))
}

fn parse_state(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("stopped_at="))
        .and_then(|v| v.trim().parse().ok())
}

/// Whether a start `elapsed` seconds after a graceful stop is a graceful restart: the peers
/// still keep our routes only within the restart time we announced (RFC 4724 §4.2).
pub fn is_graceful_restart(elapsed: u64, restart_time: u16) -> bool {
    elapsed < u64::from(restart_time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_file_round_trip_is_taken_once() {
        let dir = std::env::temp_dir().join(format!("bgpd-restart-test-{}", std::process::id()));
        let path = dir.join("sub").join("restart-state");
        write_state(&path).expect("written");
        let elapsed = take_state(&path).expect("read").expect("present");
        assert!(elapsed < 5);
        assert_eq!(take_state(&path).expect("read"), None, "taken once");
        std::fs::write(&path, "garbage").expect("write");
        assert!(take_state(&path).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn neighbor(extra: &str) -> crate::config::Neighbor {
        let text = format!(
            "[global]\nasn = 64515\nrouter_id = \"198.51.100.2\"\n\n[[neighbors]]\naddress = \"198.51.100.21\"\npeer_as = 64514\npassive = true\nfamilies = [\"ipv4-unicast\"]\n{extra}\n"
        );
        let cfg = crate::config::load_str(&text, "t.toml").expect("config");
        cfg.neighbors.first().cloned().expect("one neighbor")
    }

    fn restart_caps(c: &crate::session::fsm::FsmConfig) -> Vec<&bgp_proto::Capability> {
        c.capabilities
            .iter()
            .filter(|c| {
                matches!(
                    c,
                    bgp_proto::Capability::GracefulRestart { .. }
                        | bgp_proto::Capability::LongLivedGracefulRestart(_)
                )
            })
            .collect()
    }

    /// RFC 4724 §3 (R and F bits), RFC 9494 §3 (capability 71), and the passive neighbor
    /// dialled while restarting.
    #[test]
    fn open_while_restarting_and_after() {
        use crate::session::driver::fsm_config_with;
        use bgp_proto::{Capability, Family, GracefulRestartFamily, LongLivedFamily};
        let id = std::net::Ipv4Addr::new(198, 51, 100, 2);
        let n = neighbor("long_lived_stale_time = 30");
        let restarting = RestartFlags {
            restarting: true,
            forwarding_preserved: true,
        };
        let c = fsm_config_with(64515, id, &n, restarting);
        assert!(!c.passive, "a passive neighbor is dialled while we restart");
        let gr = Capability::GracefulRestart {
            flags: 0x8,
            restart_time: 120,
            families: vec![GracefulRestartFamily {
                family: Family::IPV4_UNICAST,
                flags: 0x80,
            }],
        };
        let llgr = Capability::LongLivedGracefulRestart(vec![LongLivedFamily {
            family: Family::IPV4_UNICAST,
            flags: 0x80,
            stale_time: 30,
        }]);
        assert_eq!(restart_caps(&c), vec![&gr, &llgr]);

        let c = fsm_config_with(64515, id, &n, RestartFlags::default());
        assert!(c.passive);
        let gr = Capability::GracefulRestart {
            flags: 0,
            restart_time: 120,
            families: vec![GracefulRestartFamily {
                family: Family::IPV4_UNICAST,
                flags: 0,
            }],
        };
        let llgr = Capability::LongLivedGracefulRestart(vec![LongLivedFamily {
            family: Family::IPV4_UNICAST,
            flags: 0,
            stale_time: 30,
        }]);
        assert_eq!(restart_caps(&c), vec![&gr, &llgr]);

        // LLGR without GR: GR capability with restart time 0 and no families.
        let n = neighbor("long_lived_stale_time = 30\ngraceful_restart = false");
        let c = fsm_config_with(64515, id, &n, RestartFlags::default());
        let gr0 = Capability::GracefulRestart {
            flags: 0,
            restart_time: 0,
            families: vec![],
        };
        assert_eq!(restart_caps(&c), vec![&gr0, &llgr]);
        // Neither: no restart capability at all.
        let n = neighbor("graceful_restart = false");
        assert!(restart_caps(&fsm_config_with(64515, id, &n, RestartFlags::default())).is_empty());
    }

    #[test]
    fn long_lived_stale_time_is_24_bits_and_state_file_is_relative_to_the_config() {
        let text = "[global]\nasn = 1\nrouter_id = \"10.0.0.1\"\n[[neighbors]]\naddress = \"10.0.0.2\"\npeer_as = 2\nlong_lived_stale_time = 16777216\n";
        let e = crate::config::load_str(text, "t.toml").expect_err("too large");
        assert!(e.to_string().contains("long_lived_stale_time"), "{e}");
        let text = "[global]\nasn = 1\nrouter_id = \"10.0.0.1\"\n[graceful_restart]\nstate_file = \"run/gr\"\nselection_deferral = 0\n";
        let c = crate::config::load_str(text, "/etc/bgpd/bgpd.toml").expect("config");
        assert_eq!(
            c.graceful_restart.state_file.as_deref(),
            Some(Path::new("/etc/bgpd/run/gr"))
        );
        assert_eq!(c.graceful_restart.selection_deferral, 1);
        assert!(c.graceful_restart.forwarding_preserved);
    }

    #[test]
    fn restart_only_within_the_restart_time() {
        assert!(is_graceful_restart(0, 120));
        assert!(is_graceful_restart(119, 120));
        assert!(!is_graceful_restart(120, 120));
        assert!(!is_graceful_restart(5, 0));
        assert_eq!(parse_state("stopped_at=42\n"), Some(42));
        assert_eq!(parse_state("x"), None);
    }
}
