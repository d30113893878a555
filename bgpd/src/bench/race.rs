//! One run of one workload: monitors and injectors connect (to the daemon under test, or,
//! for the floor, injectors straight to a listening monitor: one session per injector, or
//! one per monitor when a single injector fans out, see [`floor_copies`]; each floor monitor
//! receives what the same monitor receives from a daemon, so several injectors feeding one
//! monitor are read by one thread, [`wire::MultiReader`]), the clock starts, injectors
//! write their pre-encoded UPDATEs as fast as TCP takes them, and the run ends when every
//! monitor holds every prefix (or at the deadline). W4 then churns and measures how long each
//! change takes from leaving the injector to reaching the monitor.

use super::held::{Held, PrefixIndex};
use super::wire::{
    self, connect_from, establish, FrameSource, MessageReader, MultiReader, Scan, Speaker,
};
use super::workload::{key_of, ChurnPlan, InjectorPlan, Workload};
use anyhow::Context as _;
use bgp_proto::{AttributeValue, Family, Nlri, SessionContext, UpdatePacker};
use bytes::BytesMut;
use ipnet::IpNet;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What one run measured on the harness side.
#[derive(Debug, Clone, Default)]
pub struct RaceOutcome {
    /// From the first injector write to the last monitor holding every prefix.
    pub elapsed: Option<Duration>,
    /// From the first injector write until every injector had written everything.
    pub injector_time: Option<Duration>,
    /// Prefixes the slowest monitor held at the end.
    pub min_received: usize,
    /// W4: propagation delays of the changes seen (microseconds, sorted).
    pub latencies_us: Vec<u64>,
    /// W4: changes sent (announcements and withdrawals).
    pub changes_sent: u64,
    /// Why it did not converge, if it did not.
    pub failure: Option<String>,
    /// Prefixes that never arrived at a monitor that converged by quiescence.
    pub missing: usize,
}

/// How long a monitor with (almost) every prefix must see no change to count as converged.
pub const QUIET: Duration = Duration::from_secs(3);

/// A daemon may reject a handful of a real table's routes (W1: attributes one daemon finds
/// malformed). A monitor holding at least 99.9 % of its prefixes that saw no change for
/// [`QUIET`] has converged at its last change; the shortfall is reported.
fn quiesce(monitors: &[(Arc<Progress>, JoinHandle<Vec<u64>>)]) {
    let quiet: Vec<Option<Instant>> = monitors
        .iter()
        .map(|(p, _)| {
            let count = p.count.load(Ordering::Relaxed);
            let last = (*lock(&p.last_change))?;
            (count as f64 >= 0.999 * p.expected as f64 && last.elapsed() >= QUIET).then_some(last)
        })
        .collect();
    if quiet.iter().all(Option::is_some) {
        for ((p, _), last) in monitors.iter().zip(quiet) {
            if let Some(at) = last {
                p.converge(at, p.count.load(Ordering::Relaxed));
            }
        }
    }
}

/// Shared between the churn driver and the monitors: when each change left the injector.
struct ChurnClock {
    start: Instant,
    /// By MED tag: nanoseconds since `start` (+1) when that announcement batch was written.
    announce_sent: Vec<AtomicU64>,
    /// By prefix number ([`PrefixIndex`]): when its last withdrawal was written.
    withdraw_sent: Vec<AtomicU64>,
    /// The run's numbering of the prefixes.
    index: Arc<PrefixIndex>,
}

impl ChurnClock {
    fn stamp(&self, slot: Option<&AtomicU64>) {
        if let Some(s) = slot {
            s.store(
                self.start.elapsed().as_nanos() as u64 + 1,
                Ordering::Release,
            );
        }
    }
    fn since(&self, slot: Option<&AtomicU64>) -> Option<u64> {
        let sent = slot?.load(Ordering::Acquire);
        let now = self.start.elapsed().as_nanos() as u64;
        (sent != 0 && now + 1 >= sent).then(|| (now + 1 - sent) / 1000)
    }
}

/// One receiving session's progress.
#[derive(Default)]
struct Progress {
    expected: usize,
    count: AtomicUsize,
    last_change: Mutex<Option<Instant>>,
    done_at: Mutex<Option<Instant>>,
    /// Prefixes held when `done_at` was set: W4's churn starts right after, and its first
    /// withdrawals would otherwise count as prefixes that never arrived.
    held_when_done: AtomicUsize,
    error: Mutex<Option<String>>,
}

impl Progress {
    /// Marks the initial table converged at `at` with `held` prefixes (once).
    fn converge(&self, at: Instant, held: usize) {
        let mut done = lock(&self.done_at);
        if done.is_none() {
            self.held_when_done.store(held, Ordering::Relaxed);
            *done = Some(at);
        }
    }

    /// Prefixes of the initial table that never arrived: counted when it converged, or now.
    fn missing(&self) -> usize {
        let held = if lock(&self.done_at).is_some() {
            self.held_when_done.load(Ordering::Relaxed)
        } else {
            self.count.load(Ordering::Relaxed)
        };
        self.expected.saturating_sub(held)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads a monitor session until `stop`: keeps the set of held prefixes, marks when it
/// reaches `expected`, and (W4) records propagation delays.
fn monitor_loop(
    mut reader: Box<dyn FrameSource + Send>,
    index: Arc<PrefixIndex>,
    expected: usize,
    progress: Arc<Progress>,
    stop: Arc<AtomicBool>,
    churn: Option<Arc<ChurnClock>>,
) -> Vec<u64> {
    let mut held = Held::new(&index);
    let mut scan = Scan::default();
    let mut latencies = Vec::new();
    let mut last_tag: Vec<u32> = churn
        .as_ref()
        .map(|c| vec![0; c.withdraw_sent.len()])
        .unwrap_or_default();
    while !stop.load(Ordering::Relaxed) {
        let frame = match reader.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => continue,
            Err(e) => {
                if !stop.load(Ordering::Relaxed) {
                    *lock(&progress.error) = Some(format!("monitor session: {e:#}"));
                }
                break;
            }
        };
        match frame.kind {
            2 => {}
            3 => {
                *lock(&progress.error) = Some(format!(
                    "monitor got NOTIFICATION {}",
                    bgp_proto::Notification::parse(frame.body)
                ));
                break;
            }
            _ => continue,
        }
        if let Err(e) = wire::scan_update(frame.body, churn.is_some(), &mut scan) {
            *lock(&progress.error) = Some(format!("monitor: bad UPDATE: {e:#}"));
            break;
        }
        for k in &scan.withdrawn {
            let number = index.number(*k);
            let was = held.remove(number, *k);
            if let (true, Some(c), Some(i)) = (was, &churn, number) {
                latencies.extend(c.since(c.withdraw_sent.get(i)));
            }
        }
        for k in &scan.announced {
            let number = index.number(*k);
            held.insert(number, *k);
            if let (Some(c), Some(tag)) = (&churn, scan.med) {
                if let Some(i) = number {
                    if last_tag.get(i).is_some_and(|t| *t != tag) {
                        if let Some(t) = last_tag.get_mut(i) {
                            *t = tag;
                        }
                        latencies.extend(c.since(c.announce_sent.get(tag as usize)));
                    }
                }
            }
        }
        if !scan.withdrawn.is_empty() || !scan.announced.is_empty() {
            *lock(&progress.last_change) = Some(Instant::now());
        }
        progress.count.store(held.len(), Ordering::Relaxed);
        if held.len() >= expected {
            progress.converge(Instant::now(), held.len());
        }
    }
    latencies
}

/// How the daemon ended an injector's session, as its drain saw it: the NOTIFICATION it
/// sent, or the read error. Shared between an injector's drain and its writer.
type Ended = Arc<Mutex<Option<String>>>;

/// Reads and discards what the daemon sends an injector (a route-server client receives
/// the other clients' routes; a reader that stops would stall the daemon). A NOTIFICATION
/// or a read error before the run stops is kept in `ended`, for the writer's error.
fn drain_loop(mut reader: MessageReader, stop: Arc<AtomicBool>, ended: Ended) {
    while !stop.load(Ordering::Relaxed) {
        let why = match reader.next_frame() {
            Ok(Some(f)) if f.kind == 3 => {
                format!(
                    "the daemon sent NOTIFICATION {}",
                    bgp_proto::Notification::parse(f.body)
                )
            }
            Ok(_) => continue,
            Err(e) => format!("the daemon's side: {e:#}"),
        };
        if !stop.load(Ordering::Relaxed) {
            *lock(&ended) = Some(why);
        }
        break;
    }
}

/// An injector's write error, with what its drain saw of the session's end (waiting up to
/// half a second for the drain to read it): "Broken pipe" alone does not say why. Errors
/// after the run was stopped are left as they are.
fn with_end(e: anyhow::Error, ended: &Ended, stop: &AtomicBool) -> anyhow::Error {
    if stop.load(Ordering::Relaxed) {
        return e;
    }
    let until = Instant::now() + Duration::from_millis(500);
    loop {
        if let Some(why) = lock(ended).clone() {
            return e.context(why);
        }
        if Instant::now() >= until {
            return e.context("no NOTIFICATION from the daemon before the session ended");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Writes all of `bytes`, giving up when `stop` is set (a daemon that stops reading).
fn write_until(stream: &mut TcpStream, mut bytes: &[u8], stop: &AtomicBool) -> anyhow::Result<()> {
    stream.set_write_timeout(Some(Duration::from_millis(200)))?;
    while !bytes.is_empty() {
        if stop.load(Ordering::Relaxed) {
            anyhow::bail!("stopped");
        }
        match stream.write(bytes) {
            Ok(0) => anyhow::bail!("connection closed"),
            Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e).context("writing UPDATEs"),
        }
    }
    Ok(())
}

/// Connects `me` to `target` and completes the OPEN exchange, retrying until `deadline`
/// (a daemon that is still starting refuses or closes).
fn session(
    me: Speaker,
    target: SocketAddr,
    deadline: Instant,
) -> anyhow::Result<(TcpStream, MessageReader)> {
    let mut last = None;
    while Instant::now() < deadline {
        match connect_from(me.address, target)
            .and_then(|s| establish(s, me, Duration::from_secs(10)))
        {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("no time left")))
        .with_context(|| format!("session {} → {target}", me.address))
}

/// W4: after the initial table converged, every 10 ms withdraw the next batch of 1 % of
/// the prefixes and re-announce (with a new MED as tag) the batch withdrawn 0.5 s before.
fn churn_loop(
    mut stream: TcpStream,
    plan: &ChurnPlan,
    speaker: Speaker,
    clock: &ChurnClock,
    stop: &AtomicBool,
) -> anyhow::Result<u64> {
    let packer = UpdatePacker::new(SessionContext::default());
    let n = plan.prefixes.len();
    let batches = 100usize;
    let per = n.div_ceil(batches).max(1);
    let tick = Duration::from_millis(10);
    let batch = |b: usize| -> Vec<Nlri> {
        plan.prefixes
            .iter()
            .skip((b % batches) * per)
            .take(per)
            .map(|p| Nlri::new(IpNet::V4(*p)))
            .collect()
    };
    let started = Instant::now();
    let mut sent = 0u64;
    let mut t = 0usize;
    let mut out = BytesMut::new();
    while started.elapsed() < plan.duration && !stop.load(Ordering::Relaxed) {
        out.clear();
        let withdraw = batch(t);
        packer.withdraw(Family::IPV4_UNICAST, &withdraw, &mut out)?;
        let mut announce_tag = None;
        if t >= 50 {
            let tag = (t - 49) as u32;
            let mut attrs = super::workload::synthetic_attributes(
                speaker.asn,
                (t - 50) % 100,
                super::workload::next_hop_of(speaker),
            );
            attrs.set(AttributeValue::Med(tag));
            let nlri = batch(t - 50);
            packer.announce(&attrs, Family::IPV4_UNICAST, None, &nlri, &mut out)?;
            announce_tag = Some((tag, nlri.len()));
        }
        for p in &withdraw {
            if let IpNet::V4(v4) = p.prefix {
                if let Some(i) = clock.index.number(key_of(&v4)) {
                    clock.stamp(clock.withdraw_sent.get(i));
                }
            }
        }
        if let Some((tag, _)) = announce_tag {
            clock.stamp(clock.announce_sent.get(tag as usize));
        }
        write_until(&mut stream, &out, stop)?;
        sent += withdraw.len() as u64 + announce_tag.map_or(0, |(_, k)| k as u64);
        t += 1;
        let next = started + tick * t as u32;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    Ok(sent)
}

/// Where the sessions go.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// A daemon under test listening here.
    Daemon(SocketAddr),
    /// No daemon: one monitor listens here and the injectors connect to it (the floor).
    Floor(SocketAddr),
}

/// How many sessions each injector opens in a floor run: one per monitor when one injector
/// feeds several monitors (W3's fan-out: the floor delivers the table to all 50, as the
/// daemon must), otherwise one. With one session only, W3's floor measured 1/50 of what its
/// monitors receive and read 0.00 s.
pub fn floor_copies(workload: &Workload) -> usize {
    if workload.injectors.len() == 1 && workload.churn.is_none() {
        workload.monitors.len().max(1)
    } else {
        1
    }
}

/// Everything a run started, so it can be stopped in one place.
struct Running {
    stop: Arc<AtomicBool>,
    streams: Vec<TcpStream>,
    monitors: Vec<(Arc<Progress>, JoinHandle<Vec<u64>>)>,
    others: Vec<JoinHandle<()>>,
}

impl Running {
    fn finish(self) -> Vec<u64> {
        self.stop.store(true, Ordering::Relaxed);
        for s in &self.streams {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        for h in self.others {
            let _ = h.join();
        }
        let mut all = Vec::new();
        for (_, h) in self.monitors {
            all.extend(h.join().unwrap_or_default());
        }
        all
    }
}

/// Runs `workload` against `target`. `ready` is called once every session is up, just
/// before the clock starts (the caller samples the daemon's memory and CPU there);
/// `settled` once the run has ended (converged, failed or timed out), before the harness
/// closes its sessions: what the daemon does on their closing is not part of the run.
pub fn run(
    workload: &Workload,
    target: Target,
    timeout: Duration,
    ready: &mut dyn FnMut(),
    settled: &mut dyn FnMut(),
) -> anyhow::Result<RaceOutcome> {
    let stop = Arc::new(AtomicBool::new(false));
    // Before the clock: every prefix the injectors announce, numbered for the monitors.
    let index = Arc::new(PrefixIndex::from_streams(
        workload.injectors.iter().map(|i| i.stream.as_slice()),
    ));
    let clock = workload.churn.as_ref().map(|c| {
        let ticks = c.duration.as_millis() as usize / 10 + 200;
        Arc::new(ChurnClock {
            start: Instant::now(),
            announce_sent: (0..ticks).map(|_| AtomicU64::new(0)).collect(),
            withdraw_sent: (0..index.len()).map(|_| AtomicU64::new(0)).collect(),
            index: index.clone(),
        })
    });
    let mut running = Running {
        stop: stop.clone(),
        streams: Vec::new(),
        monitors: Vec::new(),
        others: Vec::new(),
    };
    let setup_deadline = Instant::now() + Duration::from_secs(60);
    let spawn_monitor =
        |running: &mut Running, reader: Box<dyn FrameSource + Send>, expected: usize| {
            let progress = Arc::new(Progress {
                expected,
                ..Progress::default()
            });
            let (p, s, c, i) = (progress.clone(), stop.clone(), clock.clone(), index.clone());
            let h = std::thread::spawn(move || monitor_loop(reader, i, expected, p, s, c));
            running.monitors.push((progress, h));
        };
    let mut writers: Vec<(TcpStream, &InjectorPlan, Ended)> = Vec::new();
    let setup = (|| -> anyhow::Result<()> {
        match target {
            Target::Daemon(addr) => {
                for m in &workload.monitors {
                    let (w, r) = session(*m, addr, setup_deadline)?;
                    running.streams.push(w.try_clone()?);
                    spawn_monitor(&mut running, Box::new(r), workload.expected_per_monitor);
                }
                for inj in &workload.injectors {
                    let (w, r) = session(inj.speaker, addr, setup_deadline)?;
                    running.streams.push(w.try_clone()?);
                    let (s, ended) = (stop.clone(), Ended::default());
                    let e = ended.clone();
                    running
                        .others
                        .push(std::thread::spawn(move || drain_loop(r, s, e)));
                    writers.push((w, inj, ended));
                }
            }
            Target::Floor(addr) => {
                let listener = wire::listen(addr)?;
                let me = Speaker {
                    asn: 65000,
                    address: match addr.ip() {
                        std::net::IpAddr::V4(a) => a,
                        std::net::IpAddr::V6(_) => anyhow::bail!("IPv4 only"),
                    },
                };
                // Monitor m's sessions and the prefixes they bring.
                let copies = floor_copies(workload);
                let mut monitors: Vec<(Vec<MessageReader>, usize)> = Vec::new();
                for inj in &workload.injectors {
                    for c in 0..copies {
                        let a = connect_from(inj.speaker.address, addr)?;
                        let (s, _) = listener.accept().context("floor monitor accept")?;
                        let h =
                            std::thread::spawn(move || establish(s, me, Duration::from_secs(10)));
                        let (w, r) = establish(a, inj.speaker, Duration::from_secs(10))?;
                        let (mw, mr) = h
                            .join()
                            .map_err(|_| anyhow::anyhow!("floor monitor thread panicked"))??;
                        running.streams.push(mw);
                        let m = if copies > 1 { c } else { 0 };
                        if monitors.len() <= m {
                            monitors.resize_with(m + 1, Default::default);
                        }
                        if let Some((readers, expected)) = monitors.get_mut(m) {
                            readers.push(mr);
                            *expected += inj.prefixes;
                        }
                        running.streams.push(w.try_clone()?);
                        let (s, ended) = (stop.clone(), Ended::default());
                        let e = ended.clone();
                        running
                            .others
                            .push(std::thread::spawn(move || drain_loop(r, s, e)));
                        writers.push((w, inj, ended));
                    }
                }
                for (mut readers, expected) in monitors {
                    let reader: Box<dyn FrameSource + Send> = match readers.len() {
                        1 => Box::new(readers.remove(0)),
                        _ => Box::new(MultiReader::new(readers)?),
                    };
                    spawn_monitor(&mut running, reader, expected);
                }
            }
        }
        Ok(())
    })();
    if let Err(e) = setup {
        running.finish();
        return Err(e);
    }
    ready();
    let t0 = Instant::now();
    let written = Arc::new(AtomicUsize::new(0));
    let injector_done = Arc::new(Mutex::new(None::<Instant>));
    let total = writers.len();
    let mut churn_handle = None;
    for (mut w, plan, ended) in writers {
        let (s, bytes, written, done) = (
            stop.clone(),
            plan.stream.clone(),
            written.clone(),
            injector_done.clone(),
        );
        let churn = workload.churn.clone().zip(clock.clone());
        let progress: Vec<Arc<Progress>> =
            running.monitors.iter().map(|(p, _)| p.clone()).collect();
        let speaker = plan.speaker;
        let h = std::thread::spawn(move || -> anyhow::Result<u64> {
            write_until(&mut w, &bytes, &s).map_err(|e| with_end(e, &ended, &s))?;
            if written.fetch_add(1, Ordering::AcqRel) + 1 == total {
                *lock(&done) = Some(Instant::now());
            }
            let Some((plan, clock)) = churn else {
                return Ok(0);
            };
            // Churn starts once the initial table has converged everywhere.
            while !progress.iter().all(|p| lock(&p.done_at).is_some()) {
                if s.load(Ordering::Relaxed) {
                    return Ok(0);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            churn_loop(w, &plan, speaker, &clock, &s).map_err(|e| with_end(e, &ended, &s))
        });
        churn_handle = Some(h);
    }
    let deadline = t0 + timeout;
    let mut outcome = RaceOutcome::default();
    let all_done = |running: &Running| {
        running
            .monitors
            .iter()
            .all(|(p, _)| lock(&p.done_at).is_some())
    };
    let failed = |running: &Running| {
        running
            .monitors
            .iter()
            .find_map(|(p, _)| lock(&p.error).clone())
    };
    while Instant::now() < deadline && !all_done(&running) {
        if let Some(e) = failed(&running) {
            outcome.failure = Some(e);
            break;
        }
        quiesce(&running.monitors);
        std::thread::sleep(Duration::from_millis(2));
    }
    outcome.missing = running.monitors.iter().map(|(p, _)| p.missing()).sum();
    let converged = all_done(&running);
    if converged {
        outcome.elapsed = running
            .monitors
            .iter()
            .filter_map(|(p, _)| *lock(&p.done_at))
            .max()
            .map(|t| t.duration_since(t0));
    } else if outcome.failure.is_none() {
        outcome.failure = Some(format!("timeout after {} s", timeout.as_secs()));
    }
    outcome.injector_time = lock(&injector_done).map(|t| t.duration_since(t0));
    if let (true, Some(h)) = (converged && workload.churn.is_some(), churn_handle) {
        match h.join() {
            Ok(Ok(sent)) => outcome.changes_sent = sent,
            Ok(Err(e)) => outcome.failure = Some(format!("churn: {e:#}")),
            Err(_) => outcome.failure = Some("churn thread panicked".into()),
        }
        // Let the last changes arrive (bounded).
        std::thread::sleep(Duration::from_secs(2));
    }
    outcome.min_received = running
        .monitors
        .iter()
        .map(|(p, _)| p.count.load(Ordering::Relaxed))
        .min()
        .unwrap_or(0);
    settled();
    let mut latencies = running.finish();
    latencies.sort_unstable();
    outcome.latencies_us = latencies;
    Ok(outcome)
}

/// The value at quantile `q` (0..=1) of sorted samples.
pub fn quantile(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted.get(i).copied()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::workload::Kind;
    use super::*;

    #[test]
    fn the_floor_delivers_to_every_monitor_of_a_fan_out() {
        let sizes = super::super::workload::Sizes::smoke();
        let mrt = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/mrt/updates.et-header.2015.gz");
        let copies = |k| floor_copies(&super::super::workload::build(k, &sizes, &mrt).unwrap());
        // W3: one injector, five route-server clients in the smoke sizes.
        assert_eq!(copies(Kind::W3), 5);
        // One monitor (W1, W1b), several injectors (W2) or churn (W4): one session each.
        for k in [Kind::W1, Kind::W1b, Kind::W2, Kind::W4] {
            assert_eq!(copies(k), 1, "{k:?}");
        }
    }

    #[test]
    fn prefixes_missing_are_counted_when_the_table_converged() {
        let p = Progress {
            expected: 10_000,
            ..Progress::default()
        };
        p.count.store(9_995, Ordering::Relaxed);
        assert_eq!(p.missing(), 5, "before convergence: what is held now");
        p.converge(Instant::now(), 9_995);
        // W4's churn withdraws 1 % at once after convergence; later marks change nothing.
        p.count.store(9_895, Ordering::Relaxed);
        p.converge(Instant::now(), 9_895);
        assert_eq!(p.missing(), 5);
    }

    #[test]
    fn an_injectors_write_error_says_how_the_daemon_ended_the_session() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut daemon = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (injector, _) = listener.accept().unwrap();
        injector
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let (stop, ended) = (Arc::new(AtomicBool::new(false)), Ended::default());
        let (s, e) = (stop.clone(), ended.clone());
        let drain = std::thread::spawn(move || drain_loop(MessageReader::new(injector), s, e));
        let cease = bgp_proto::Message::Notification(bgp_proto::Notification::new(6, 8));
        daemon
            .write_all(&cease.to_bytes(&SessionContext::default()).unwrap())
            .unwrap();
        let e = with_end(anyhow::anyhow!("Broken pipe"), &ended, &stop);
        let text = format!("{e:#}");
        assert!(
            text.contains("NOTIFICATION 6/8 (Cease / Out of Resources)"),
            "{text}"
        );
        assert!(text.contains("Broken pipe"), "{text}");
        drain.join().unwrap();
        // After the run stopped, an error is left as it is (no wait, no guess).
        stop.store(true, Ordering::Relaxed);
        let e = with_end(anyhow::anyhow!("stopped"), &Ended::default(), &stop);
        assert_eq!(format!("{e:#}"), "stopped");
    }

    #[test]
    fn quantiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(&v, 0.5), Some(51));
        assert_eq!(quantile(&v, 0.99), Some(99));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
