//! The running daemon: one task owns the RIB and the peer directory; one task per peer
//! drives its session; one task per listen address accepts connections. See ARCHITECTURE.md.
//!
//! Signals: SIGTERM/SIGINT send Cease 6/2 with an RFC 9003 shutdown message to every peer and
//! exit; SIGUSR1 stops gracefully (RFC 4724 §4.1: state file written, sessions closed without
//! NOTIFICATION so that peers keep our routes; the next start restarts gracefully, see
//! `session::restart`); SIGHUP reloads the configuration (added neighbors start, removed ones
//! stop with 6/3, neighbors whose session settings changed restart with 6/6, policy changes
//! re-apply from the stored Adj-RIB-In without touching sessions).

mod listener;
mod peers;
pub mod query;

use crate::config::{self, Config};
use crate::policy::PolicySet;
use crate::rib::classes::ClassTable;
use crate::rib::deferral::SelectionDeferral;
use crate::rib::llgr::LlgrSession;
use crate::rib::received::ReceivedUpdate;
use crate::rib::route::PeerId;
use crate::rib::table::{Outbox, Rib};
use crate::session::driver::{PeerCommand, RibEvent};
use crate::session::negotiate::Negotiated;
use crate::session::refresh_gate;
use crate::session::restart::{self, RestartFlags};
use bgp_proto::{cease_subcode, Family, FamilySet, Notification};
pub use peers::{PeerDirectory, PeerStatus};
use smallvec::SmallVec;
use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Something outside the RIB task asking it to act.
#[derive(Debug)]
pub enum Control {
    /// Reload the configuration file.
    Reload,
    /// Shut down with this message (RFC 9003).
    Shutdown(String),
    /// Stop gracefully (RFC 4724 §4.1): write the state file, close every session without
    /// a NOTIFICATION, exit.
    GracefulStop,
    /// Send back the neighbor table.
    Neighbors(tokio::sync::oneshot::Sender<Vec<query::NeighborRow>>),
    /// Write TABLE_DUMP_V2 snapshots of the Loc-RIB and the Adj-RIBs-In; reply with their
    /// paths.
    Snapshot(tokio::sync::oneshot::Sender<Result<(PathBuf, PathBuf), String>>),
    /// Send back one neighbor's details.
    Neighbor(
        std::net::IpAddr,
        tokio::sync::oneshot::Sender<Option<query::NeighborDetail>>,
    ),
    /// Send back RIB entries.
    Rib(
        query::RibQuery,
        tokio::sync::oneshot::Sender<Vec<query::RibEntry>>,
    ),
    /// Refresh the metric gauges, then reply.
    Metrics(tokio::sync::oneshot::Sender<()>),
    /// Reset a neighbor's session (hard) or re-send/re-apply its routes (soft).
    Reset(
        std::net::IpAddr,
        ResetKind,
        tokio::sync::oneshot::Sender<Result<(), String>>,
    ),
}

/// How to reset a neighbor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResetKind {
    /// Close the session with Cease 6/4 (Administrative Reset); it restarts by itself.
    Hard,
    /// Re-apply import policy to the stored Adj-RIB-In and ask the peer for a ROUTE-REFRESH.
    SoftIn,
    /// Send everything to the peer again.
    SoftOut,
}

/// The keys of `deadlines` whose time has come.
fn due<K: Copy>(deadlines: &HashMap<K, Instant>, now: Instant) -> Vec<K> {
    deadlines
        .iter()
        .filter(|(_, d)| **d <= now)
        .map(|(k, _)| *k)
        .collect()
}

/// At most this many queued RIB events are handled in one go (see [`Daemon::handle_events`]).
const BATCH: usize = 256;

/// A run of UPDATEs exported in one pass stops once it holds this many prefixes: the pass
/// keeps every prefix it sends per receiving peer until it packs them (50 route-server
/// clients × 200,000 prefixes held 160 MB before this bound).
const BATCH_PREFIXES: usize = 1024;

/// The RIB task's state.
pub struct Daemon {
    pub(crate) config: Config,
    config_path: PathBuf,
    pub(crate) rib: Rib,
    pub(crate) directory: Arc<PeerDirectory>,
    rib_tx: mpsc::UnboundedSender<RibEvent>,
    rib_rx: mpsc::UnboundedReceiver<RibEvent>,
    stale_deadlines: HashMap<PeerId, Instant>,
    /// The peer task whose session is up, per peer ([`PeerTask::incarnation`]): events of a
    /// replaced task are ignored.
    ///
    /// [`PeerTask::incarnation`]: crate::session::driver::PeerTask::incarnation
    incarnations: HashMap<PeerId, u64>,
    /// Families that become LLGR-stale when the peer's GR timer expires (RFC 9494 §4.2).
    llgr_after_gr: HashMap<PeerId, Vec<(Family, Duration)>>,
    /// When each peer's LLGR-stale routes of a family are flushed (RFC 9494 §4.2).
    llgr_deadlines: HashMap<(PeerId, Family), Instant>,
    /// When a peer's routes marked stale by a BoRR are removed if its EoRR has not come
    /// ([`refresh_gate::STALE_TIME`](crate::session::refresh_gate::STALE_TIME), RFC 7313 §4).
    refresh_deadlines: HashMap<(PeerId, Family), Instant>,
    /// Restarting speaker: whom we still wait for, and the selection deferral timer.
    deferral: Option<(SelectionDeferral, Instant)>,
    listener_fds: Vec<(bool, std::os::fd::RawFd)>,
    events: crate::events::EventBus,
    control_tx: mpsc::UnboundedSender<Control>,
    /// `[audit]`: audits snapshots of the Loc-RIB on a worker thread.
    audit: crate::audit::DaemonAudit,
}

impl Daemon {
    /// A daemon for a checked configuration read from `config_path`.
    pub fn new(config: Config, config_path: PathBuf) -> Self {
        let mut rib = Rib::for_config(&config);
        let events = crate::events::bus();
        rib.events = Some(events.clone());
        let (rib_tx, rib_rx) = mpsc::unbounded_channel();
        Daemon {
            directory: Arc::new(PeerDirectory::default()),
            config,
            config_path,
            rib,
            rib_tx,
            rib_rx,
            stale_deadlines: HashMap::new(),
            incarnations: HashMap::new(),
            llgr_after_gr: HashMap::new(),
            llgr_deadlines: HashMap::new(),
            refresh_deadlines: HashMap::new(),
            deferral: None,
            listener_fds: Vec::new(),
            events,
            control_tx: mpsc::unbounded_channel().0,
            audit: crate::audit::DaemonAudit::default(),
        }
    }

    /// The live event stream.
    pub fn events(&self) -> crate::events::EventBus {
        self.events.clone()
    }

    /// The peer directory (for the API).
    pub fn directory(&self) -> Arc<PeerDirectory> {
        self.directory.clone()
    }

    /// Runs until `control` asks for shutdown (or its sender is dropped).
    pub async fn run(
        mut self,
        mut control: mpsc::UnboundedReceiver<Control>,
    ) -> anyhow::Result<()> {
        // The API talks to this task through a control channel of its own.
        let (api_tx, mut api_rx) = mpsc::unbounded_channel();
        self.control_tx = api_tx;
        for w in &self.config.warnings {
            tracing::warn!("{w}");
        }
        self.listener_fds =
            listener::start(&self.config.global.listen, self.directory.clone()).await?;
        if self.config.api.enabled {
            let api = self.config.api.listen;
            let token = self.config.api.token.clone().map(|t| t.0);
            if let Err(e) =
                crate::api::serve(api, self.control_tx.clone(), self.events.clone(), token).await
            {
                tracing::error!(error = %e, address = %api, "HTTP API not started: routing goes on without it");
            }
        }
        if let Some(rc) = self.config.recording.clone() {
            match crate::recording::start(rc) {
                Ok(handle) => {
                    let _ = self.directory.recorder.set(handle);
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot start MRT recording: running without it")
                }
            }
        }
        let restarting = self.take_restart_state();
        let neighbors = self.config.neighbors.clone();
        for n in neighbors {
            if !self.install_key(&n) {
                continue;
            }
            let id = self.directory.allocate_id();
            self.rib.configure_peer(id, n.clone());
            self.directory
                .spawn(id, n, &self.config, self.rib_tx.clone());
        }
        tracing::info!(
            asn = self.config.global.asn,
            router_id = %self.config.global.router_id,
            neighbors = self.config.neighbors.len(),
            config = %self.config.path,
            "bgpd running"
        );
        if restarting {
            let ids: Vec<PeerId> = self
                .rib
                .peers
                .iter()
                .filter(|(_, p)| p.neighbor.graceful_restart)
                .map(|(id, _)| *id)
                .collect();
            let wait = Duration::from_secs(self.config.graceful_restart.selection_deferral);
            tracing::info!(
                peers = ids.len(),
                selection_deferral = wait.as_secs(),
                "graceful restart: deferring route selection and advertisement until End-of-RIB from every graceful-restart peer (RFC 4724 §4.1)"
            );
            self.rib.deferring = true;
            self.deferral = Some((SelectionDeferral::new(ids), Instant::now() + wait));
            self.check_deferral();
        }
        let mut summary = tokio::time::interval(Duration::from_secs(
            self.config.global.prefix_summary_interval.max(1),
        ));
        let mut gc = tokio::time::interval(Duration::from_secs(60));
        let snapshot_every = self
            .config
            .recording
            .as_ref()
            .map(|r| r.snapshot_interval)
            .filter(|s| *s > 0)
            .map(Duration::from_secs);
        let mut snapshots =
            tokio::time::interval(snapshot_every.unwrap_or(Duration::from_secs(3600)));
        snapshots.tick().await;
        self.audit.configure(self.config.audit.as_ref());
        loop {
            let next_stale = self
                .stale_deadlines
                .values()
                .chain(self.llgr_deadlines.values())
                .chain(self.refresh_deadlines.values())
                .chain(self.deferral.as_ref().map(|(_, d)| d))
                .min()
                .copied();
            tokio::select! {
                ev = self.rib_rx.recv() => {
                    let Some(ev) = ev else { break };
                    self.handle_events(ev);
                }
                c = async { tokio::select! { c = control.recv() => c, Some(c) = api_rx.recv() => Some(c) } } => match c {
                    Some(Control::Reload) => self.reload(),
                    Some(Control::Neighbors(reply)) => { let _ = reply.send(self.neighbors()); }
                    Some(Control::Neighbor(a, reply)) => { let _ = reply.send(self.neighbor_detail(a)); }
                    Some(Control::Rib(q, reply)) => { let _ = reply.send(self.rib_entries(&q)); }
                    Some(Control::Metrics(reply)) => { self.refresh_metrics(); let _ = reply.send(()); }
                                        Some(Control::Reset(a, kind, reply)) => { let _ = reply.send(self.reset(a, kind)); }
                    Some(Control::Snapshot(reply)) => { let _ = reply.send(self.snapshot()); }
                    Some(Control::Shutdown(msg)) => { self.shutdown(&msg).await; break; }
                    Some(Control::GracefulStop) => if self.graceful_stop().await { break; },
                    None => { self.shutdown("bgpd stopped").await; break; }
                },
                _ = summary.tick() => self.log_prefix_summaries(),
                                _ = gc.tick() => self.rib.collect_garbage(),
                _ = snapshots.tick(), if snapshot_every.is_some() => {
                    if let Err(e) = self.snapshot() {
                        tracing::error!(error = %e, "periodic RIB snapshot failed");
                    }
                }
                _ = self.audit.tick() => if self.audit.ready() {
                    self.audit.submit(self.rib_entries(&crate::audit::in_daemon::loc_rib_query()), self.neighbors());
                },
                _ = async { if let Some(d) = next_stale { tokio::time::sleep_until(d).await } else { std::future::pending::<()>().await } } => self.timers_due(),
            }
        }
        Ok(())
    }

    /// The GR restart timers, LLGR stale timers, enhanced route refresh stale timers and the
    /// selection deferral timer that are due.
    fn timers_due(&mut self) {
        let now = Instant::now();
        for p in due(&self.stale_deadlines, now) {
            self.stale_deadlines.remove(&p);
            let later = self.llgr_after_gr.remove(&p).unwrap_or_default();
            let llgr = FamilySet::of(&later.iter().map(|(f, _)| *f).collect::<Vec<_>>());
            let flushed = FamilySet::of(
                &FamilySet::ALL
                    .families()
                    .filter(|f| !llgr.contains(*f))
                    .collect::<Vec<_>>(),
            );
            tracing::info!(peer = %self.peer_name(p), long_lived = %llgr, "graceful restart timer expired: flushing stale routes (RFC 4724 §4.2)");
            let out = self.rib.flush_stale_families(p, flushed);
            self.deliver(out);
            if llgr != FamilySet::EMPTY {
                self.start_llgr(p, &later);
                let out = self.rib.enter_llgr(p, llgr);
                self.deliver(out);
            }
        }
        for (p, family) in due(&self.llgr_deadlines, now) {
            self.llgr_deadlines.remove(&(p, family));
            tracing::info!(peer = %self.peer_name(p), %family, "long-lived stale time expired: flushing LLGR-stale routes (RFC 9494 §4.2)");
            let out = self.rib.flush_stale(p, Some(family));
            self.deliver(out);
        }
        for (p, family) in due(&self.refresh_deadlines, now) {
            self.refresh_deadlines.remove(&(p, family));
            self.end_refresh(p, family, "no EoRR within the stale time");
        }
        if self.deferral.as_ref().is_some_and(|(_, d)| *d <= now) {
            self.end_deferral("selection deferral timer expired");
        }
    }

    /// Sends everything for `family` to the peer again (its ROUTE-REFRESH request, RFC 2918
    /// §4, or a soft reset out). The answer goes to the peer task as one piece, which wraps
    /// it in BoRR/EoRR when enhanced route refresh was negotiated (RFC 7313 §4).
    ///
    /// While we defer selection after our own restart `Rib::refresh_out` sends nothing (the
    /// table and End-of-RIB follow when the deferral ends), and no BoRR may go before that
    /// End-of-RIB (RFC 7313 §4).
    fn send_table_again(&mut self, peer: PeerId, family: Family) {
        let deferring = self.rib.deferring;
        let mut out = self.rib.refresh_out(peer, family);
        let answer = out.remove(&peer).unwrap_or_default();
        self.deliver(out);
        self.directory.send(
            peer,
            PeerCommand::Refreshed {
                family,
                parts: answer.parts,
                markers: !deferring,
            },
        );
        if let Some(n) = answer.reset {
            self.directory.send(peer, PeerCommand::Reset(n));
        }
    }

    /// The peer's re-advertisement of `family` is over (RFC 7313 §4): its EoRR came, or the
    /// stale time ran out. Its routes there that it did not send again are removed.
    fn end_refresh(&mut self, peer: PeerId, family: Family, why: &str) {
        match self.rib.end_refresh(peer, family) {
            Some((removed, out)) => {
                tracing::info!(peer = %self.peer_name(peer), %family, removed, "enhanced route refresh ended ({why}): routes not sent again are withdrawn (RFC 7313 §4)");
                self.deliver(out);
            }
            None => {
                tracing::info!(peer = %self.peer_name(peer), %family, "EoRR without a BoRR before it: ignored (RFC 7313 §4)");
            }
        }
    }

    /// Routes of these families of `peer` are LLGR-stale from now on, for their stale time.
    fn start_llgr(&mut self, peer: PeerId, families: &[(Family, Duration)]) {
        let now = Instant::now();
        for (f, t) in families {
            tracing::info!(peer = %self.peer_name(peer), family = %f, stale_time = t.as_secs(), "routes are LLGR-stale: LLGR_STALE attached, least preferred, sent only to LLGR peers (RFC 9494 §4.2, §4.3)");
            self.llgr_deadlines.insert((peer, *f), now + *t);
        }
    }

    fn peer_name(&self, p: PeerId) -> String {
        self.directory
            .address(p)
            .map(|a| a.to_string())
            .unwrap_or_default()
    }

    /// Reads the graceful restart state file: whether this start is a graceful restart
    /// (RFC 4724 §4.1). Sets the restart flags of the OPENs before any peer task starts.
    fn take_restart_state(&mut self) -> bool {
        let gr = self.config.graceful_restart.clone();
        let Some(path) = gr.state_file else {
            return false;
        };
        let elapsed = match restart::take_state(&path) {
            Ok(Some(e)) => e,
            Ok(None) => return false,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "starting without graceful restart");
                return false;
            }
        };
        let restart_time = self
            .config
            .neighbors
            .iter()
            .filter(|n| n.graceful_restart)
            .map(|n| n.restart_time)
            .max()
            .unwrap_or(0);
        if !restart::is_graceful_restart(elapsed, restart_time) {
            tracing::info!(
                elapsed,
                restart_time,
                "graceful stop too long ago (restart time passed): starting normally"
            );
            return false;
        }
        tracing::info!(
            elapsed,
            forwarding_preserved = gr.forwarding_preserved,
            "graceful restart: announcing the restart state (R bit) to every peer (RFC 4724 §4.1)"
        );
        restart::set_current(RestartFlags {
            restarting: true,
            forwarding_preserved: gr.forwarding_preserved,
        });
        true
    }

    /// Ends the selection deferral once nothing is awaited.
    fn check_deferral(&mut self) {
        if self.deferral.as_ref().is_some_and(|(d, _)| d.done()) {
            self.end_deferral("End-of-RIB received from every graceful-restart peer");
        }
    }

    /// RFC 4724 §4.1: select, advertise everything and End-of-RIB to every peer; later OPENs
    /// no longer carry the R bit.
    fn end_deferral(&mut self, why: &str) {
        let Some((d, _)) = self.deferral.take() else {
            return;
        };
        tracing::info!(
            reason = why,
            still_awaited = d.awaited(),
            "graceful restart: selection deferral over, advertising routes and End-of-RIB"
        );
        restart::set_current(RestartFlags::default());
        for (id, _) in self.directory.ids() {
            self.directory.send(id, PeerCommand::RestartComplete);
        }
        let out = self.rib.end_deferral();
        self.deliver(out);
    }

    /// SIGUSR1: stops without NOTIFICATION after writing the state file. Returns false (and
    /// keeps running) when there is no state file to write.
    async fn graceful_stop(&mut self) -> bool {
        let Some(path) = self.config.graceful_restart.state_file.clone() else {
            tracing::error!("graceful stop refused: no [graceful_restart] state_file is configured (the next start could not know it restarts)");
            return false;
        };
        if let Err(e) = restart::write_state(&path) {
            tracing::error!(error = %format!("{e:#}"), "graceful stop refused");
            return false;
        }
        tracing::info!(state_file = %path.display(), "graceful stop: closing every session without NOTIFICATION, peers keep our routes for the restart time (RFC 4724 §4.1)");
        for (id, _) in self.directory.ids() {
            self.directory.send(id, PeerCommand::StopGraceful);
        }
        // The tasks end on StopGraceful; this only waits for them (the Cease queued behind
        // it is never sent).
        let n = Notification::cease_with_message(cease_subcode::ADMINISTRATIVE_SHUTDOWN, "");
        self.directory.stop_all(n, Duration::from_secs(3)).await;
        true
    }

    /// Long-lived graceful restart on a new session: both sides announced capability 71.
    fn llgr_session(&self, peer: PeerId, negotiated: &Negotiated) -> Option<LlgrSession> {
        let ours = self
            .rib
            .peers
            .get(&peer)
            .and_then(|p| p.neighbor.long_lived_stale_time)?;
        let theirs = negotiated.peer_llgr.as_ref()?;
        Some(LlgrSession::new(
            theirs
                .families
                .iter()
                .filter(|f| negotiated.families.contains(&f.family))
                .map(|f| (f.family, f.stale_time)),
            ours,
        ))
    }

    fn deliver(&self, outbox: Outbox) {
        for (peer, out) in outbox {
            if !out.is_empty() {
                self.directory.send(peer, PeerCommand::Send(out.parts));
            }
            if let Some(n) = out.reset {
                self.directory.send(peer, PeerCommand::Reset(n));
            }
        }
    }

    /// Handles `first` and the events already queued behind it (at most [`BATCH`]): runs of
    /// UPDATEs are imported one by one and exported in one Update-Send pass
    /// ([`Rib::apply_updates`]), so the pass's fixed cost (receivers, export groups, packing)
    /// is paid once per run instead of once per UPDATE, and a peer gets fuller UPDATEs. Only
    /// what is already queued joins a batch: nothing waits for more to arrive.
    fn handle_events(&mut self, first: RibEvent) {
        let mut run: Vec<RibEvent> = Vec::new();
        let mut prefixes = 0;
        let mut next = Some(first);
        let mut taken = 0;
        while let Some(ev) = next.take() {
            if self.joins_batch(&ev) {
                if let RibEvent::Update { updates, .. } = &ev {
                    prefixes += updates.iter().map(ReceivedUpdate::prefixes).sum::<usize>();
                }
                run.push(ev);
                if prefixes >= BATCH_PREFIXES {
                    self.apply_run(&mut run, prefixes);
                    prefixes = 0;
                }
            } else {
                self.apply_run(&mut run, prefixes);
                prefixes = 0;
                self.event(ev);
            }
            taken += 1;
            if taken < BATCH {
                next = self.rib_rx.try_recv().ok();
            }
        }
        self.apply_run(&mut run, prefixes);
    }

    /// An UPDATE of the peer task whose session is up, other than End-of-RIB.
    fn joins_batch(&self, ev: &RibEvent) -> bool {
        matches!(ev, RibEvent::Update { peer, incarnation, updates, .. }
            if self.incarnations.get(peer) == Some(incarnation)
                && updates.iter().all(|u| u.end_of_rib.is_none()))
    }

    /// Applies a run of UPDATEs collected by [`Daemon::handle_events`], carrying `prefixes`
    /// prefixes (their backlog permits are released after).
    fn apply_run(&mut self, run: &mut Vec<RibEvent>, prefixes: usize) {
        if run.is_empty() {
            return;
        }
        let mut batch = Vec::with_capacity(run.len());
        // UPDATEs per peer, written to the peer directory (a mutex) once per run.
        let mut received: SmallVec<[(PeerId, u64); 2]> = SmallVec::new();
        for ev in run.iter_mut() {
            if let RibEvent::Update { peer, updates, .. } = ev {
                let n = updates.len() as u64;
                match received.iter_mut().find(|(p, _)| p == peer) {
                    Some((_, m)) => *m += n,
                    None => received.push((*peer, n)),
                }
                // The RIB consumes the UPDATEs; the event keeps its backlog permit until below.
                batch.extend(updates.drain(..).map(|u| (*peer, u)));
            }
        }
        for (peer, n) in received {
            self.directory.update(peer, |s| s.updates_received += n);
        }
        crate::metrics::METRICS
            .rib_pass_prefixes
            .observe(prefixes as f64);
        let out = self.rib.apply_received(batch);
        self.deliver(out);
        run.clear();
    }

    fn event(&mut self, ev: RibEvent) {
        match ev {
            RibEvent::Up {
                peer,
                incarnation,
                session,
                negotiated,
            } => {
                self.incarnations.insert(peer, incarnation);
                let had_stale = self.stale_deadlines.remove(&peer).is_some()
                    | self.llgr_after_gr.remove(&peer).is_some()
                    | self.llgr_deadlines.keys().any(|(p, _)| *p == peer);
                let llgr = self.llgr_session(peer, &negotiated);
                let keeps = session.graceful_restart.is_some() || llgr.is_some();
                self.rib.set_llgr(peer, llgr);
                self.directory.update(peer, |s| s.established(&negotiated));
                self.session_event(peer, "established", None);
                if let Some((d, _)) = self.deferral.as_mut() {
                    let gr = negotiated
                        .peer_graceful_restart
                        .as_ref()
                        .is_some_and(|g| g.restart_time > 0);
                    d.peer_up(peer, gr, &session.families);
                }
                let out = self.rib.peer_up(peer, session);
                self.deliver(out);
                if had_stale && !keeps {
                    self.llgr_deadlines.retain(|(p, _), _| *p != peer);
                    let out = self.rib.flush_stale(peer, None);
                    self.deliver(out);
                }
                self.check_deferral();
            }
            RibEvent::Down {
                peer,
                incarnation,
                graceful,
                reason,
            } => {
                if self.incarnations.get(&peer) != Some(&incarnation) {
                    tracing::debug!(peer = %self.peer_name(peer), "session end of a replaced peer task ignored");
                    return;
                }
                self.incarnations.remove(&peer);
                self.directory.update(peer, |s| s.down(&reason));
                if let Some(a) = self.directory.address(peer) {
                    crate::metrics::METRICS
                        .peer_flaps
                        .with_label_values(&[&a.to_string()])
                        .inc();
                }
                self.session_event(peer, "down", Some(reason.clone()));
                if let Some((d, _)) = self.deferral.as_mut() {
                    d.peer_down(peer);
                }
                self.refresh_deadlines.retain(|(p, _), _| *p != peer);
                let plan = self.rib.stale_plan(peer, graceful);
                let out = self.rib.peer_down(peer, graceful);
                if let Some((t, families)) = plan.gr {
                    tracing::info!(peer = %self.peer_name(peer), restart_time = t.as_secs(), %families, "keeping routes as stale (graceful restart helper, RFC 4724)");
                    self.stale_deadlines.insert(peer, Instant::now() + t);
                }
                if !plan.llgr_after_gr.is_empty() {
                    self.llgr_after_gr.insert(peer, plan.llgr_after_gr);
                }
                self.start_llgr(peer, &plan.llgr_now);
                self.deliver(out);
            }
            RibEvent::Update {
                peer,
                incarnation,
                mut updates,
                permit: _permit,
            } => {
                if self.incarnations.get(&peer) != Some(&incarnation) {
                    return;
                }
                let n = updates.len() as u64;
                self.directory.update(peer, |s| s.updates_received += n);
                // An End-of-RIB marker comes alone (see `RibEvent::Update`).
                let end_of_rib = match updates.as_slice() {
                    [u] => u.end_of_rib,
                    _ => None,
                };
                if let Some(family) = end_of_rib {
                    tracing::info!(peer = %self.peer_name(peer), %family, "End-of-RIB received");
                    self.rib.end_of_rib_received(peer, family);
                    self.llgr_deadlines.remove(&(peer, family));
                    let out = self.rib.flush_stale(peer, Some(family));
                    self.deliver(out);
                    if let Some((d, _)) = self.deferral.as_mut() {
                        d.end_of_rib(peer, family);
                    }
                    self.check_deferral();
                    return;
                }
                let out = self
                    .rib
                    .apply_received(updates.drain(..).map(|u| (peer, u)).collect());
                self.deliver(out);
            }
            RibEvent::RouteRefresh {
                peer,
                incarnation,
                family,
                subtype,
            } => {
                if self.incarnations.get(&peer) != Some(&incarnation) {
                    return;
                }
                match subtype {
                    bgp_proto::SUBTYPE_BORR if self.rib.borr_too_early(peer, family) => {
                        tracing::warn!(peer = %self.peer_name(peer), %family, "BoRR before the End-of-RIB of a graceful restart peer: ignored (RFC 7313 §4)");
                    }
                    bgp_proto::SUBTYPE_BORR => {
                        let marked = self.rib.begin_refresh(peer, family);
                        tracing::info!(peer = %self.peer_name(peer), %family, stale = marked, "enhanced route refresh began (BoRR): routes are stale until sent again (RFC 7313 §4)");
                        self.refresh_deadlines
                            .insert((peer, family), Instant::now() + refresh_gate::STALE_TIME);
                    }
                    bgp_proto::SUBTYPE_EORR => {
                        self.refresh_deadlines.remove(&(peer, family));
                        self.end_refresh(peer, family, "EoRR received");
                    }
                    _ => self.send_table_again(peer, family),
                }
            }
            RibEvent::State { peer, state } => self.directory.update(peer, |s| s.state = state),
            RibEvent::Notification {
                peer,
                sent,
                notification,
            } => {
                let text = notification.to_string();
                self.directory.update(peer, |s| {
                    if sent {
                        s.last_notification_sent = Some(text);
                    } else {
                        s.last_notification_received = Some(text);
                    }
                });
            }
        }
    }

    fn reset(&mut self, address: std::net::IpAddr, kind: ResetKind) -> Result<(), String> {
        let id = self
            .directory
            .id_of(address)
            .ok_or_else(|| format!("{address} is not a configured neighbor"))?;
        let established = self.rib.peers.get(&id).is_some_and(|p| p.session.is_some());
        match kind {
            ResetKind::Hard => {
                tracing::info!(peer = %address, "reset requested: Cease 6/4 (Administrative Reset)");
                let n = Notification::cease_with_message(
                    cease_subcode::ADMINISTRATIVE_RESET,
                    "reset by operator",
                );
                self.directory.send(id, PeerCommand::Reset(n));
            }
            ResetKind::SoftIn => {
                if !established {
                    return Err(format!("{address} is not Established"));
                }
                let out = self.rib.reimport(id);
                self.deliver(out);
                self.directory.send(id, PeerCommand::RequestRefresh);
            }
            ResetKind::SoftOut => {
                if !established {
                    return Err(format!("{address} is not Established"));
                }
                let families = self
                    .rib
                    .peers
                    .get(&id)
                    .and_then(|p| p.session.as_ref())
                    .map(|s| s.families.clone())
                    .unwrap_or_default();
                for f in families {
                    self.send_table_again(id, f);
                }
            }
        }
        Ok(())
    }

    /// Writes TABLE_DUMP_V2 snapshots into the recording directory.
    fn snapshot(&self) -> Result<(PathBuf, PathBuf), String> {
        let dir = self
            .config
            .recording
            .as_ref()
            .map(|r| r.directory.clone())
            .ok_or_else(|| "no [recording] directory is configured".to_string())?;
        let (loc, adj) =
            crate::recording::snapshot::write(&self.rib, self.config.global.router_id, &dir)
                .map_err(|e| format!("{e:#}"))?;
        tracing::info!(loc_rib = %loc.display(), adj_rib_in = %adj.display(), "RIB snapshot written (MRT TABLE_DUMP_V2)");
        Ok((loc, adj))
    }

    fn session_event(&self, peer: PeerId, state: &str, reason: Option<String>) {
        if !self.events.listening() {
            return;
        }
        let Some((address, peer_as)) = self
            .rib
            .peers
            .get(&peer)
            .map(|p| (p.neighbor.address, p.neighbor.peer_as))
        else {
            return;
        };
        self.events.send(crate::events::LiveEvent::Session(Box::new(
            crate::events::SessionRecord {
                time: crate::events::now(),
                peer: address,
                peer_as,
                state: state.to_string(),
                reason,
            },
        )));
    }

    /// Installs the neighbor's TCP-MD5 key (or removes any) on every listening socket of its
    /// family. A key that cannot be installed is fatal for that neighbor: it is not started,
    /// rather than accepting unauthenticated connections (RFC 2385).
    fn install_key(&self, n: &crate::config::Neighbor) -> bool {
        let key: &[u8] = n.password.as_ref().map(|p| p.0.as_slice()).unwrap_or(&[]);
        for (v6, fd) in &self.listener_fds {
            if *v6 != n.address.is_ipv6() {
                continue;
            }
            if let Err(e) = crate::session::socket_options::set_md5_key(*fd, n.address, key) {
                if key.is_empty() {
                    continue; // nothing to remove
                }
                tracing::error!(peer = %n.address, error = %e, "cannot install the TCP-MD5 key: neighbor not started");
                return false;
            }
        }
        true
    }

    async fn shutdown(&mut self, message: &str) {
        tracing::info!(
            message,
            "shutting down: sending Cease 6/2 to every peer (RFC 9003)"
        );
        let n = Notification::cease_with_message(cease_subcode::ADMINISTRATIVE_SHUTDOWN, message);
        self.directory.stop_all(n, Duration::from_secs(3)).await;
    }

    /// The per-peer prefix summary lines (counts per class and action since the last ones).
    fn log_prefix_summaries(&mut self) {
        for (peer, peer_as, text) in self.rib.take_summaries() {
            tracing::info!(target: "bgpd::prefix", %peer, peer_as, summary = %text, "prefix summary");
        }
    }

    fn reload(&mut self) {
        let new = match config::load(&self.config_path) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "reload failed: keeping the running configuration");
                return;
            }
        };
        tracing::info!(config = %new.path, "reloading configuration");
        for w in &new.warnings {
            tracing::warn!("{w}");
        }
        if new.global.asn != self.config.global.asn
            || new.global.router_id != self.config.global.router_id
        {
            tracing::warn!("global asn/router_id changed: restart bgpd for that to take effect");
        }
        self.rib.policies = PolicySet::from_config(&new);
        // The summaries count by class number: written out under the old classes' names
        // before the new classes renumber them.
        self.log_prefix_summaries();
        self.rib.classes = ClassTable::new(&new.classes);
        let mut reimport = Vec::new();
        // Removed neighbors.
        for (id, addr) in self.directory.ids() {
            if !new.neighbors.iter().any(|n| n.address == addr) {
                tracing::info!(peer = %addr, "neighbor removed: stopping (Cease 6/3)");
                self.directory
                    .remove(id, Notification::new(6, cease_subcode::PEER_DECONFIGURED));
                for (v6, fd) in &self.listener_fds {
                    if *v6 == addr.is_ipv6() {
                        let _ = crate::session::socket_options::set_md5_key(*fd, addr, &[]);
                    }
                }
                if let Some((d, _)) = self.deferral.as_mut() {
                    d.peer_removed(id);
                }
                let out = self.rib.remove_peer(id);
                self.deliver(out);
            }
        }
        for n in &new.neighbors {
            match self.directory.id_of(n.address) {
                None => {
                    tracing::info!(peer = %n.address, "neighbor added");
                    if !self.install_key(n) {
                        continue;
                    }
                    let id = self.directory.allocate_id();
                    self.rib.configure_peer(id, n.clone());
                    self.directory
                        .spawn(id, n.clone(), &new, self.rib_tx.clone());
                }
                Some(id) => {
                    let old = self.rib.peers.get(&id).map(|p| (*p.neighbor).clone());
                    let Some(old) = old else { continue };
                    let session_changed = {
                        let mut a = old.clone();
                        let mut b = n.clone();
                        for x in [&mut a, &mut b] {
                            x.import_policy.clear();
                            x.export_policy.clear();
                            x.description.clear();
                            x.max_prefixes = None;
                        }
                        a != b
                    };
                    self.rib.configure_peer(id, n.clone());
                    if session_changed {
                        tracing::info!(peer = %n.address, "session settings changed: restarting the session (Cease 6/6)");
                        if !self.install_key(n) {
                            self.directory.remove(
                                id,
                                Notification::new(6, cease_subcode::OTHER_CONFIGURATION_CHANGE),
                            );
                            continue;
                        }
                        self.directory.respawn(
                            id,
                            n.clone(),
                            &new,
                            self.rib_tx.clone(),
                            Notification::new(6, cease_subcode::OTHER_CONFIGURATION_CHANGE),
                        );
                        let out = self.rib.peer_down(id, false);
                        self.deliver(out);
                    } else {
                        reimport.push(id);
                    }
                }
            }
        }
        self.audit.configure(new.audit.as_ref());
        self.config = new;
        // Policies may have changed: re-apply import from the stored Adj-RIB-In, then export.
        for id in reimport {
            let out = self.rib.reimport(id);
            self.deliver(out);
        }
        let out = self.rib.reexport_all();
        self.deliver(out);
        tracing::info!("configuration reloaded; unchanged sessions stayed up");
    }
}

/// Runs bgpd with the configuration at `path` until `shutdown` completes (or a signal).
pub async fn run(
    path: PathBuf,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let config = config::load(&path)?;
    let daemon = Daemon::new(config, path);
    let (tx, rx) = mpsc::unbounded_channel();
    let signals = tx.clone();
    tokio::spawn(async move {
        if let Err(e) = forward_signals(signals).await {
            tracing::error!(error = %e, "cannot install signal handlers");
        }
    });
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(Control::Shutdown("bgpd shutting down".into()));
    });
    daemon.run(rx).await
}

async fn forward_signals(tx: mpsc::UnboundedSender<Control>) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut usr1 = signal(SignalKind::user_defined1())?;
    loop {
        tokio::select! {
            _ = usr1.recv() => { let _ = tx.send(Control::GracefulStop); }
            _ = term.recv() => { let _ = tx.send(Control::Shutdown("bgpd shutting down (SIGTERM)".into())); }
            _ = int.recv() => { let _ = tx.send(Control::Shutdown("bgpd shutting down (SIGINT)".into())); }
            _ = hup.recv() => { let _ = tx.send(Control::Reload); }
        }
    }
}
