//! The audit inside the daemon (`[audit]` in the configuration): every `interval` seconds
//! the RIB task hands a snapshot of its Loc-RIB to a worker thread, which runs the same
//! checks as `bgpd audit`, sets `bgpd_audit_findings{check,severity}` and logs each new
//! finding (WARN; INFO for `info` findings) and each cleared one (INFO) once, with target
//! `bgpd::audit`. The RIB task only copies its table; the checks never run on it. When the
//! worker is still busy with the previous snapshot, the next one is not taken.
//!
//! SIGHUP re-reads the intent file (and `[audit]`): findings already logged are not logged
//! again unless they clear and come back.

use super::finding::{Check, Finding, Severity};
use super::intent::Intent;
use super::report::{by_key, diff, FindingMap};
use super::routes::RouteSet;
use crate::daemon::query::{NeighborRow, RibEntry, RibQuery};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

/// `[audit]`: the prefix audit inside the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// The intent file (required). A relative path is relative to the configuration file.
    pub intent: PathBuf,
    /// Seconds between audits of the Loc-RIB. Default 10.
    #[serde(default = "default_interval")]
    pub interval: u64,
}

fn default_interval() -> u64 {
    10
}

/// Checks `[audit]` while the configuration loads: resolves the intent path against the
/// configuration file's directory and loads the intent once. Errors are (key, message).
pub fn resolve_config(
    audit: Option<AuditConfig>,
    config_file: &str,
) -> Result<Option<AuditConfig>, (String, String)> {
    let Some(mut a) = audit else { return Ok(None) };
    if a.interval == 0 {
        return Err((
            "audit.interval".into(),
            "the interval is at least 1 second".into(),
        ));
    }
    if a.intent.is_relative() {
        if let Some(dir) = std::path::Path::new(config_file).parent() {
            a.intent = dir.join(&a.intent);
        }
    }
    super::intent::load(&a.intent).map_err(|e| ("audit.intent".to_string(), e.to_string()))?;
    Ok(Some(a))
}

/// What the worker is told.
enum Work {
    Snapshot(Vec<RibEntry>, Vec<NeighborRow>),
    Intent(Box<Intent>),
}

struct Running {
    config: AuditConfig,
    interval: tokio::time::Interval,
    tx: SyncSender<Work>,
    busy: Arc<AtomicBool>,
}

/// The daemon's audit: off, or a timer and a worker thread.
#[derive(Default)]
pub struct DaemonAudit {
    running: Option<Running>,
}

/// The query for the snapshot: the whole Loc-RIB.
pub fn loc_rib_query() -> RibQuery {
    RibQuery {
        limit: Some(usize::MAX),
        ..RibQuery::default()
    }
}

impl DaemonAudit {
    /// Starts, changes or stops the audit as `[audit]` says (at start and on SIGHUP).
    pub fn configure(&mut self, config: Option<&crate::audit::AuditConfig>) {
        let Some(config) = config else {
            if self.running.take().is_some() {
                tracing::info!(target: "bgpd::audit", "audit stopped");
                crate::metrics::METRICS.audit_findings.reset();
            }
            return;
        };
        let intent = match super::intent::load(&config.intent) {
            Ok(i) => i,
            Err(e) => {
                tracing::error!(target: "bgpd::audit", error = %e, "cannot load the intent file: audit unchanged");
                return;
            }
        };
        let period = Duration::from_secs(config.interval.max(1));
        let interval = || {
            let mut i = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            i
        };
        if let Some(r) = &mut self.running {
            if r.config.interval != config.interval {
                r.interval = interval();
            }
            r.config = config.clone();
            // The worker takes the new intent before the next snapshot (the channel keeps order).
            if r.tx.send(Work::Intent(Box::new(intent))).is_ok() {
                tracing::info!(target: "bgpd::audit", intent = %config.intent.display(), "audit intent reloaded");
                return;
            }
            self.running = None;
            return;
        }
        let (tx, rx) = sync_channel::<Work>(1);
        let busy = Arc::new(AtomicBool::new(false));
        let worker_busy = busy.clone();
        let spawned = std::thread::Builder::new()
            .name("bgpd-audit".into())
            .spawn(move || worker(intent, rx, worker_busy));
        if let Err(e) = spawned {
            tracing::error!(target: "bgpd::audit", error = %e, "cannot start the audit thread");
            return;
        }
        tracing::info!(
            target: "bgpd::audit",
            intent = %config.intent.display(),
            interval = config.interval,
            "audit of the Loc-RIB enabled"
        );
        self.running = Some(Running {
            config: config.clone(),
            interval: interval(),
            tx,
            busy,
        });
    }

    /// Completes when the next audit is due; never when the audit is off.
    pub async fn tick(&mut self) {
        match &mut self.running {
            Some(r) => {
                r.interval.tick().await;
            }
            None => std::future::pending::<()>().await,
        }
    }

    /// Whether the worker can take a snapshot now.
    pub fn ready(&self) -> bool {
        self.running
            .as_ref()
            .is_some_and(|r| !r.busy.load(Ordering::Relaxed))
    }

    /// Hands a Loc-RIB snapshot to the worker.
    pub fn submit(&self, entries: Vec<RibEntry>, neighbors: Vec<NeighborRow>) {
        let Some(r) = &self.running else { return };
        r.busy.store(true, Ordering::Relaxed);
        match r.tx.try_send(Work::Snapshot(entries, neighbors)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                r.busy.store(false, Ordering::Relaxed);
            }
        }
    }
}

/// Logs new and cleared findings and sets the metric.
pub fn publish(previous: &FindingMap, findings: &[Finding]) {
    let (new, cleared, _) = diff(previous, findings);
    for f in &cleared {
        tracing::info!(target: "bgpd::audit", check = %f.check, severity = %f.severity, subject = %f.subject, "audit finding cleared: {}", f.message);
    }
    for f in &new {
        if f.severity == Severity::Info {
            tracing::info!(target: "bgpd::audit", check = %f.check, severity = %f.severity, subject = %f.subject, "audit finding: {}", f.message);
        } else {
            tracing::warn!(target: "bgpd::audit", check = %f.check, severity = %f.severity, subject = %f.subject, "audit finding: {}", f.message);
        }
    }
    for check in Check::ALL {
        let n = findings.iter().filter(|f| f.check == *check).count();
        crate::metrics::METRICS
            .audit_findings
            .with_label_values(&[check.id(), check.severity().name()])
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
}

fn worker(mut intent: Intent, rx: std::sync::mpsc::Receiver<Work>, busy: Arc<AtomicBool>) {
    let mut previous = FindingMap::new();
    while let Ok(work) = rx.recv() {
        match work {
            Work::Intent(i) => intent = *i,
            Work::Snapshot(entries, neighbors) => {
                match RouteSet::from_rib_entries(&entries, &neighbors, "Loc-RIB".into()) {
                    Ok(set) => {
                        let findings = super::checks::audit(&intent, &set);
                        publish(&previous, &findings);
                        previous = by_key(&findings);
                    }
                    Err(e) => {
                        tracing::error!(target: "bgpd::audit", error = %e, "cannot audit the Loc-RIB snapshot")
                    }
                }
                busy.store(false, Ordering::Relaxed);
            }
        }
    }
}
