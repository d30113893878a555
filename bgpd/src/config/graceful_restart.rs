//! `[graceful_restart]`: bgpd as restarting speaker (RFC 4724 §4.1).
//!
//! A graceful stop (`SIGUSR1`) writes `state_file` and closes every session without a
//! NOTIFICATION, so that peers keep bgpd's routes as stale. The next start reads the file:
//! within the restart time it announces the restart state (R bit) and, for the families the
//! configuration says, preserved forwarding (F bit), and defers its own advertisements until
//! every graceful-restart peer has sent End-of-RIB or `selection_deferral` seconds passed.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `[graceful_restart]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GracefulRestartConfig {
    /// Where a graceful stop records when it happened. Without it, `SIGUSR1` is refused (the
    /// next start could not know it restarts). A relative path is relative to the
    /// configuration file. Default: none.
    #[serde(default)]
    pub state_file: Option<PathBuf>,
    /// Set the F bit (forwarding state preserved) for every family after a graceful restart.
    /// bgpd installs no route in any forwarding table: the routers forward along the next
    /// hops they learned, which a restart of bgpd does not touch. Default true.
    #[serde(default = "default_true")]
    pub forwarding_preserved: bool,
    /// Seconds to wait at most for End-of-RIB from every graceful-restart peer before
    /// selecting and advertising routes after a restart (RFC 4724 §4.1 "selection_deferral
    /// timer"). Default 60.
    #[serde(default = "default_deferral")]
    pub selection_deferral: u64,
}

fn default_true() -> bool {
    true
}

fn default_deferral() -> u64 {
    60
}

impl Default for GracefulRestartConfig {
    fn default() -> Self {
        GracefulRestartConfig {
            state_file: None,
            forwarding_preserved: true,
            selection_deferral: default_deferral(),
        }
    }
}

impl GracefulRestartConfig {
    /// The same with `state_file` made relative to the directory of `config_file`.
    pub fn resolved(mut self, config_file: &str) -> Self {
        if let Some(p) = &self.state_file {
            if p.is_relative() {
                let dir = std::path::Path::new(config_file)
                    .parent()
                    .unwrap_or(std::path::Path::new(""));
                self.state_file = Some(dir.join(p));
            }
        }
        self.selection_deferral = self.selection_deferral.max(1);
        self
    }
}
