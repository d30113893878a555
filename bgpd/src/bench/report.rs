//! Measuring one run (the daemon's CPU from /proc/PID/stat, peak RSS from VmHWM, bytes per
//! route as (peak RSS − RSS after start) / routes held) and reporting the race: medians per
//! daemon and workload, ratios to bgpd, the floor warning, the targets of issue 7, as a
//! markdown table, CSV files and a PNG chart.

use super::daemons::{self, Daemon};
use super::png::{Canvas, Rgb};
use super::race::{self, quantile, Target};
use super::workload::{Kind, Workload};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// What one run measured.
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// Workload.
    pub workload: Kind,
    /// Daemon (or the floor).
    pub daemon: Daemon,
    /// Repetition (0-based).
    pub rep: usize,
    /// Seconds to convergence (None: did not converge).
    pub elapsed: Option<f64>,
    /// Seconds until the injectors had written everything.
    pub injector: Option<f64>,
    /// Daemon CPU seconds from the clock start to the end of the run.
    pub cpu: Option<f64>,
    /// CPU seconds of this process over the same time: the injectors and monitors, which
    /// share the machine's cores with the daemon.
    pub harness_cpu: Option<f64>,
    /// Daemon RSS when every session was up, bytes.
    pub start_rss: Option<u64>,
    /// Daemon peak RSS (VmHWM), bytes.
    pub peak_rss: Option<u64>,
    /// Routes held at convergence.
    pub routes: usize,
    /// W4: median and 99th percentile propagation delay, milliseconds.
    pub p50_ms: Option<f64>,
    /// W4: 99th percentile.
    pub p99_ms: Option<f64>,
    /// W4: changes sent and delays measured.
    pub changes: (u64, usize),
    /// Why it failed.
    pub failure: Option<String>,
    /// Prefixes that never reached a monitor (converged by quiescence, see `race::QUIET`).
    pub missing: usize,
    /// bgpd: its RIB passes and the prefixes they took, from its `/metrics` after the run
    /// (counted from the daemon's start; each run starts its own daemon).
    pub rib_passes: Option<(u64, f64)>,
    /// bgpd: CPU seconds of its main thread over the run, where the RIB task runs (the rest
    /// of [`RunRecord::cpu`] is the sessions', on tokio's worker threads).
    pub rib_cpu: Option<f64>,
    /// bgpd: milliseconds its `/metrics` took to answer at the end of the run, the table
    /// loaded ([`daemons::Scrape`]).
    pub scrape_ms: Option<f64>,
}

impl RunRecord {
    /// (peak − start RSS) / routes.
    pub fn bytes_per_route(&self) -> Option<f64> {
        let (p, s) = (self.peak_rss?, self.start_rss?);
        (self.routes > 0).then(|| p.saturating_sub(s) as f64 / self.routes as f64)
    }

    /// A progress line.
    pub fn one_line(&self) -> String {
        let f = |v: Option<f64>, unit: &str| v.map_or("-".into(), |v| format!("{v:.2}{unit}"));
        format!(
            "{:5} #{} elapsed {} injector {} cpu {} harness cpu {} peak {} B/route {} p50 {} p99 {}{}{}{}{}",
            self.daemon.name(),
            self.rep + 1,
            f(self.elapsed, "s"),
            f(self.injector, "s"),
            f(self.cpu, "s"),
            f(self.harness_cpu, "s"),
            f(self.peak_rss.map(|b| b as f64 / 1048576.0), "MiB"),
            f(self.bytes_per_route(), ""),
            f(self.p50_ms, "ms"),
            f(self.p99_ms, "ms"),
            self.rib_passes
                .map(|(n, p)| format!(" rib passes {n} ({:.0} prefixes each)", p / n.max(1) as f64))
                .unwrap_or_default(),
            self.rib_cpu
                .zip(self.cpu)
                .map(|(r, c)| format!(" rib thread {r:.2}s others {:.2}s", c - r))
                .unwrap_or_default(),
            if self.missing > 0 {
                format!(" missing {}", self.missing)
            } else {
                String::new()
            },
            self.failure
                .as_ref()
                .map(|e| format!("  FAILED: {e}"))
                .unwrap_or_default()
        )
    }
}

/// Starts `daemon` (if any), runs `workload` against it, measures, stops it.
pub fn measure(
    workload: &Workload,
    daemon: Daemon,
    rep: usize,
    dir: &Path,
    timeout: Duration,
) -> anyhow::Result<RunRecord> {
    let _ = std::fs::remove_dir_all(dir);
    let mut peers: Vec<_> = workload.injectors.iter().map(|i| i.speaker).collect();
    peers.extend(workload.monitors.iter().copied());
    let lifetime = timeout + Duration::from_secs(90);
    let running = daemons::start(daemon, &peers, dir, lifetime)?;
    let pid = running.as_ref().map(|r| r.pid);
    let target = match daemon {
        Daemon::Floor => {
            daemons::check_address_free()?;
            Target::Floor(daemons::dut_socket())
        }
        _ => Target::Daemon(daemons::dut_socket()),
    };
    let (mut start_rss, mut start_cpu, mut start_harness) = (None, None, None);
    let (mut end_cpu, mut end_harness, mut peak_rss) = (None, None, None);
    let (mut start_rib, mut end_rib, mut scrape) = (None, None, None);
    let bgpd_pid = pid.filter(|_| daemon == Daemon::Bgpd);
    let outcome = race::run(
        workload,
        target,
        timeout,
        &mut || {
            start_harness = daemons::cpu_seconds(std::process::id());
            if let Some(p) = pid {
                start_rss = daemons::status_bytes(p, "VmRSS");
                start_cpu = daemons::cpu_seconds(p);
            }
            start_rib = bgpd_pid.and_then(daemons::main_thread_cpu);
        },
        &mut || {
            end_harness = daemons::cpu_seconds(std::process::id());
            if let Some(p) = pid {
                end_cpu = daemons::cpu_seconds(p);
                peak_rss = daemons::status_bytes(p, "VmHWM");
            }
            end_rib = bgpd_pid.and_then(daemons::main_thread_cpu);
            // After the samples above: serving the request costs the daemon a little CPU.
            scrape = bgpd_pid.and_then(|_| daemons::bgpd_scrape());
        },
    );
    let rib_cpu = end_rib.zip(start_rib).map(|(e, s)| e - s);
    let log = running.as_ref().map(|r| r.log()).unwrap_or_default();
    let tail = daemons::tail(&log);
    // Another process holding the API's port would have answered in bgpd's place.
    if log.contains("HTTP API not started") {
        scrape = None;
    }
    if let Some(r) = running {
        r.stop();
    }
    let mut record = RunRecord {
        workload: workload.kind,
        daemon,
        rep,
        elapsed: None,
        injector: None,
        cpu: end_cpu.zip(start_cpu).map(|(e, s)| e - s),
        harness_cpu: end_harness.zip(start_harness).map(|(e, s)| e - s),
        start_rss,
        peak_rss,
        routes: workload.routes_held,
        p50_ms: None,
        p99_ms: None,
        changes: (0, 0),
        failure: None,
        missing: 0,
        rib_passes: scrape.map(|s| s.rib_passes),
        scrape_ms: scrape.map(|s| s.millis),
        rib_cpu,
    };
    match outcome {
        Ok(o) => {
            record.elapsed = o.elapsed.map(|d| d.as_secs_f64());
            record.injector = o.injector_time.map(|d| d.as_secs_f64());
            record.p50_ms = quantile(&o.latencies_us, 0.5).map(|v| v as f64 / 1000.0);
            record.p99_ms = quantile(&o.latencies_us, 0.99).map(|v| v as f64 / 1000.0);
            record.changes = (o.changes_sent, o.latencies_us.len());
            record.missing = o.missing;
            record.failure = o.failure.map(|f| {
                format!(
                    "{f} ({} of {} prefixes at the slowest monitor)",
                    o.min_received, workload.expected_per_monitor
                )
            });
        }
        Err(e) => record.failure = Some(format!("{e:#}")),
    }
    if record.failure.is_some() && !tail.is_empty() {
        eprintln!("    {} log tail:\n{tail}", daemon.name());
    }
    Ok(record)
}

/// The machine the race ran on.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    /// CPU model.
    pub cpu: String,
    /// Online CPUs.
    pub cores: usize,
    /// Memory, bytes.
    pub memory: u64,
    /// Kernel release.
    pub kernel: String,
    /// Load average before the race.
    pub load_before: String,
}

impl Machine {
    /// Reads /proc.
    pub fn probe() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default();
        let memory = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            })
            .unwrap_or(0)
            * 1024;
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
            load_before: Self::loadavg(),
        }
    }

    /// The 1, 5 and 15 minute load averages.
    pub fn loadavg() -> String {
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// One line for the log and the report.
    pub fn one_line(&self) -> String {
        format!(
            "{} CPUs ({}), {:.1} GiB, Linux {}, load average {}",
            self.cores,
            self.cpu,
            self.memory as f64 / (1u64 << 30) as f64,
            self.kernel,
            self.load_before
        )
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v.get(n / 2).copied().unwrap_or_default()
    } else {
        (v.get(n / 2 - 1).copied().unwrap_or_default() + v.get(n / 2).copied().unwrap_or_default())
            / 2.0
    })
}

/// Medians of one daemon on one workload.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    /// Runs, and runs that converged.
    pub runs: (usize, usize),
    /// Median elapsed seconds.
    pub elapsed: Option<f64>,
    /// Median injector seconds.
    pub injector: Option<f64>,
    /// Median CPU seconds.
    pub cpu: Option<f64>,
    /// Median CPU seconds of the harness (injectors and monitors).
    pub harness_cpu: Option<f64>,
    /// Median peak RSS, bytes.
    pub peak_rss: Option<f64>,
    /// Median bytes per route.
    pub bytes_per_route: Option<f64>,
    /// W4 medians of the per-run p50 and p99, ms.
    pub p50_ms: Option<f64>,
    /// W4.
    pub p99_ms: Option<f64>,
    /// First failure seen.
    pub failure: Option<String>,
    /// Most prefixes missing in a run that converged by quiescence.
    pub missing: usize,
    /// bgpd: median CPU seconds of its RIB thread, and of its other threads (per run: CPU
    /// − RIB thread).
    pub rib_cpu: (Option<f64>, Option<f64>),
    /// bgpd: median RIB passes per run, and median prefixes per pass.
    pub rib_passes: (Option<f64>, Option<f64>),
    /// bgpd: median milliseconds of a `/metrics` request with the table loaded.
    pub scrape_ms: Option<f64>,
}

/// Every cell of the race.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// By workload, then daemon.
    pub cells: BTreeMap<Kind, BTreeMap<Daemon, Cell>>,
    /// The per-run timeout, seconds: a daemon that did not converge took longer.
    pub timeout: Option<f64>,
    /// The machine's online CPUs (for the floor verdict's bound).
    pub cores: Option<usize>,
}

impl Summary {
    /// Medians over the runs that converged (failures counted, not averaged in).
    pub fn new(records: &[RunRecord]) -> Self {
        let mut groups: BTreeMap<(Kind, Daemon), Vec<&RunRecord>> = BTreeMap::new();
        for r in records {
            groups.entry((r.workload, r.daemon)).or_default().push(r);
        }
        let mut cells: BTreeMap<Kind, BTreeMap<Daemon, Cell>> = BTreeMap::new();
        for ((k, d), runs) in groups {
            let ok: Vec<&&RunRecord> = runs.iter().filter(|r| r.failure.is_none()).collect();
            let m = |f: &dyn Fn(&RunRecord) -> Option<f64>| {
                median(ok.iter().filter_map(|r| f(r)).collect())
            };
            let cell = Cell {
                runs: (runs.len(), ok.len()),
                elapsed: m(&|r| r.elapsed),
                injector: m(&|r| r.injector),
                cpu: m(&|r| r.cpu),
                harness_cpu: m(&|r| r.harness_cpu),
                peak_rss: m(&|r| r.peak_rss.map(|b| b as f64)),
                bytes_per_route: m(&|r| r.bytes_per_route()),
                p50_ms: m(&|r| r.p50_ms),
                p99_ms: m(&|r| r.p99_ms),
                failure: runs.iter().find_map(|r| r.failure.clone()),
                missing: ok.iter().map(|r| r.missing).max().unwrap_or(0),
                rib_cpu: (
                    m(&|r| r.rib_cpu),
                    m(&|r| r.cpu.zip(r.rib_cpu).map(|(c, rib)| c - rib)),
                ),
                rib_passes: (
                    m(&|r| r.rib_passes.map(|p| p.0 as f64)),
                    m(&|r| r.rib_passes.map(|(n, sum)| sum / n.max(1) as f64)),
                ),
                scrape_ms: m(&|r| r.scrape_ms),
            };
            cells.entry(k).or_default().insert(d, cell);
        }
        Summary {
            cells,
            timeout: None,
            cores: None,
        }
    }

    fn get(&self, k: Kind, d: Daemon) -> Option<&Cell> {
        self.cells.get(&k)?.get(&d)
    }

    /// What bgpd's runs kept busy: its CPU and the harness's over its elapsed time, in
    /// cores. Near the machine's core count, the run was bound by the CPU they share, and
    /// bgpd comes nearer the floor only with less CPU for its work, not by waiting less.
    /// With the core count known, also the bound that follows: to finish within `factor` ×
    /// the floor with every core busy throughout, bgpd's CPU may be at most
    /// cores × factor × floor − harness CPU.
    fn cores_busy(&self, k: Kind, factor: f64, floor: f64) -> String {
        let Some(c) = self.get(k, Daemon::Bgpd) else {
            return String::new();
        };
        match (c.elapsed, c.cpu, c.harness_cpu) {
            (Some(e), Some(cpu), Some(h)) if e > 0.0 => {
                let mut t = format!(
                    "; in bgpd's runs: bgpd CPU {cpu:.2} s + harness CPU {h:.2} s = {:.1} cores busy",
                    (cpu + h) / e
                );
                if let Some(n) = self.cores {
                    let _ = write!(
                        t,
                        "; within {factor} × the floor on {n} cores busy throughout, bgpd's CPU could be at most {:.2} s",
                        (n as f64 * factor * floor - h).max(0.0)
                    );
                }
                t
            }
            _ => String::new(),
        }
    }

    /// The warning of bgperf2: a daemon within 1.5× of the floor was not what limited the run.
    fn floor_note(&self, k: Kind, d: Daemon) -> Option<String> {
        let floor = self.get(k, Daemon::Floor)?.elapsed?;
        let e = self.get(k, d)?.elapsed?;
        (d != Daemon::Floor && k != Kind::W4 && e < 1.5 * floor).then(|| {
            format!(
                "within 1.5× of the floor ({floor:.2} s): this measured the harness, not the daemon"
            )
        })
    }
}

fn fmt(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".into(), |v| format!("{v:.digits$}"))
}

fn ratio(v: Option<f64>, base: Option<f64>) -> String {
    match (v, base) {
        (Some(v), Some(b)) if b > 0.0 => format!("{:.2}×", v / b),
        _ => "–".into(),
    }
}

/// One target line: met, missed, or not measurable.
fn target(text: &str, ok: Option<bool>, detail: String) -> String {
    let verdict = match ok {
        Some(true) => "**met**",
        Some(false) => "**missed**",
        None => "not measured",
    };
    format!("| {text} | {verdict} | {detail} |\n")
}

fn targets(s: &Summary) -> String {
    let mut t = String::from("| target (issue 7) | verdict | figures (medians) |\n|---|---|---|\n");
    let el = |k, d| s.get(k, d).and_then(|c| c.elapsed);
    for k in [Kind::W1, Kind::W1b, Kind::W2, Kind::W3] {
        let b = el(k, Daemon::Bgpd);
        for (d, factor) in [
            (Daemon::Bird, 0.5),
            (Daemon::Gobgp, 0.1),
            (Daemon::Floor, 2.0),
        ] {
            let other = el(k, d);
            let (ok, detail) = match (b, other, s.get(k, d)) {
                (Some(b), Some(o), _) => (
                    Some(b <= factor * o),
                    format!(
                        "bgpd {b:.2} s, {} {o:.2} s{}",
                        d.name(),
                        if d == Daemon::Floor {
                            s.cores_busy(k, factor, o)
                        } else {
                            String::new()
                        }
                    ),
                ),
                // The other daemon timed out: it took longer than the timeout, so the target
                // is met only if bgpd is within the factor of the timeout itself.
                (Some(b), None, Some(c)) if c.runs.1 == 0 && d != Daemon::Floor => {
                    let t = s.timeout.unwrap_or(f64::INFINITY);
                    (
                        (b <= factor * t).then_some(true),
                        format!(
                            "bgpd {b:.2} s, {} did not converge within {t:.0} s{}",
                            d.name(),
                            if b <= factor * t {
                                ""
                            } else {
                                " (undecided: bgpd is above the factor times the timeout)"
                            }
                        ),
                    )
                }
                _ => (None, "–".into()),
            };
            t += &target(
                &format!("{}: bgpd elapsed ≤ {factor} × {}", k.name(), d.name()),
                ok,
                detail,
            );
        }
    }
    for k in [Kind::W1b, Kind::W2] {
        let b = s.get(k, Daemon::Bgpd).and_then(|c| c.peak_rss);
        let o = s.get(k, Daemon::Bird).and_then(|c| c.peak_rss);
        let ok = b.zip(o).map(|(b, o)| b <= o);
        let mib = |v: Option<f64>| fmt(v.map(|v| v / 1048576.0), 1);
        t += &target(
            &format!("{}: bgpd peak RSS ≤ BIRD's", k.name()),
            ok,
            format!("bgpd {} MiB, bird {} MiB", mib(b), mib(o)),
        );
    }
    let bpr = s
        .get(Kind::W1b, Daemon::Bgpd)
        .and_then(|c| c.bytes_per_route);
    t += &target(
        "W1b: bgpd < 200 bytes per route at 1M routes",
        bpr.map(|v| v < 200.0),
        format!("{} bytes per route", fmt(bpr, 0)),
    );
    let p99 = s.get(Kind::W4, Daemon::Bgpd).and_then(|c| c.p99_ms);
    t += &target(
        "W4: bgpd p99 propagation < 50 ms while churning",
        p99.map(|v| v < 50.0),
        format!("p99 {} ms", fmt(p99, 1)),
    );
    t
}

/// The markdown report.
#[allow(clippy::too_many_arguments)]
pub fn markdown(
    s: &Summary,
    machine: &Machine,
    load_after: &str,
    versions: &[(Daemon, String)],
    descriptions: &[(Kind, String)],
    smoke: bool,
    took: Duration,
) -> String {
    let mut m = String::new();
    let _ =
        writeln!(
        m,
        "# bgpd bench{}\n\nMachine: {}; load average after: {load_after}. The race took {:.0} s.\n",
        if smoke { " (smoke: small workloads, 1 run)" } else { "" },
        machine.one_line(),
        took.as_secs_f64()
    );
    for (d, v) in versions {
        if !v.is_empty() {
            let _ = writeln!(m, "- {}: `{v}`", d.name());
        }
    }
    m.push('\n');
    for (k, d) in descriptions {
        let _ = writeln!(m, "- **{}**: {d}", k.name());
    }
    m.push_str(
        "\nMedians over the runs that converged. ×bgpd = the daemon's value ÷ bgpd's (above 1: \
         bgpd is faster or smaller). CPU is the daemon's (utime + stime) from the clock start to \
         the end of the run; harness CPU is the injectors' and monitors' (this process) over the \
         same time, on the same cores; bytes/route = (peak RSS − RSS with every session up) ÷ routes held.\n\n",
    );
    m.push_str("| workload | daemon | ok/runs | elapsed s | ×bgpd | injector s | CPU s | ×bgpd | harness CPU s | peak RSS MiB | ×bgpd | bytes/route | p50 ms | p99 ms | note |\n");
    m.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (k, row) in &s.cells {
        let base = row.get(&Daemon::Bgpd).cloned().unwrap_or_default();
        for (d, c) in row {
            let mut note = s.floor_note(*k, *d).unwrap_or_default();
            if c.missing > 0 {
                if !note.is_empty() {
                    note.push_str("; ");
                }
                let _ = write!(
                    note,
                    "{} prefixes never arrived (rejected by the daemon); converged at the last arrival",
                    c.missing
                );
            }
            if let Some(f) = &c.failure {
                if !note.is_empty() {
                    note.push_str("; ");
                }
                note.push_str(&f.replace('|', "/"));
            }
            let _ = writeln!(
                m,
                "| {} | {} | {}/{} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {note} |",
                k.name(),
                d.name(),
                c.runs.1,
                c.runs.0,
                fmt(c.elapsed, 2),
                ratio(c.elapsed, base.elapsed),
                fmt(c.injector, 2),
                fmt(c.cpu, 2),
                ratio(c.cpu, base.cpu),
                fmt(c.harness_cpu, 2),
                fmt(c.peak_rss.map(|b| b / 1048576.0), 1),
                ratio(c.peak_rss, base.peak_rss),
                fmt(c.bytes_per_route, 0),
                fmt(c.p50_ms, 1),
                fmt(c.p99_ms, 1),
            );
        }
    }
    m.push_str(&rib_thread(s));
    m.push_str("\n## Targets\n\n");
    m.push_str(&targets(s));
    m
}

/// Where bgpd's CPU went: its RIB thread (the main thread) and the rest (the sessions, on
/// tokio's workers), and how the RIB took the routes (passes: runs of queued UPDATEs
/// imported and exported together: a full pass takes 1,024 to about 2,048 prefixes, as the
/// sessions hand the RIB up to 1,024 at a time).
fn rib_thread(s: &Summary) -> String {
    if !s.cells.values().any(|row| row.contains_key(&Daemon::Bgpd)) {
        return String::new();
    }
    let mut m = String::from(
        "\n## bgpd's threads\n\nMedians of bgpd's runs. The RIB thread is bgpd's main thread; \
         the others run the sessions (decoding, writing). A RIB thread whose CPU is close to the \
         elapsed time was busy throughout: the run waited on it. A `/metrics` request, made \
         after the run with the table loaded, holds the RIB task while it counts the routes.\n\n\
         | workload | elapsed s | CPU s | RIB thread CPU s | other threads CPU s | RIB passes | prefixes per pass | /metrics ms |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for (k, row) in &s.cells {
        let Some(c) = row.get(&Daemon::Bgpd) else {
            continue;
        };
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            k.name(),
            fmt(c.elapsed, 2),
            fmt(c.cpu, 2),
            fmt(c.rib_cpu.0, 2),
            fmt(c.rib_cpu.1, 2),
            fmt(c.rib_passes.0, 0),
            fmt(c.rib_passes.1, 0),
            fmt(c.scrape_ms, 1),
        );
    }
    m
}

/// Every run as CSV.
pub fn runs_csv(records: &[RunRecord]) -> String {
    let mut c = String::from("workload,daemon,run,elapsed_s,injector_s,cpu_s,harness_cpu_s,start_rss_bytes,peak_rss_bytes,routes,bytes_per_route,p50_ms,p99_ms,changes_sent,changes_measured,missing,rib_thread_cpu_s,rib_passes,rib_pass_prefixes_sum,metrics_scrape_ms,failure\n");
    let o = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
    for r in records {
        let _ = writeln!(
            c,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},\"{}\"",
            r.workload.name(),
            r.daemon.name(),
            r.rep + 1,
            o(r.elapsed),
            o(r.injector),
            o(r.cpu),
            o(r.harness_cpu),
            r.start_rss.map(|v| v.to_string()).unwrap_or_default(),
            r.peak_rss.map(|v| v.to_string()).unwrap_or_default(),
            r.routes,
            o(r.bytes_per_route()),
            o(r.p50_ms),
            o(r.p99_ms),
            r.changes.0,
            r.changes.1,
            r.missing,
            o(r.rib_cpu),
            r.rib_passes.map(|p| p.0.to_string()).unwrap_or_default(),
            r.rib_passes.map(|p| p.1.to_string()).unwrap_or_default(),
            o(r.scrape_ms),
            r.failure.clone().unwrap_or_default().replace('"', "'")
        );
    }
    c
}

/// Medians as CSV.
pub fn summary_csv(s: &Summary) -> String {
    let mut c = String::from("workload,daemon,runs,converged,elapsed_s,elapsed_ratio_to_bgpd,cpu_s,harness_cpu_s,peak_rss_bytes,bytes_per_route,p50_ms,p99_ms\n");
    let o = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
    for (k, row) in &s.cells {
        let base = row.get(&Daemon::Bgpd).and_then(|c| c.elapsed);
        for (d, cell) in row {
            let _ = writeln!(
                c,
                "{},{},{},{},{},{},{},{},{},{},{},{}",
                k.name(),
                d.name(),
                cell.runs.0,
                cell.runs.1,
                o(cell.elapsed),
                o(cell.elapsed.zip(base).map(|(e, b)| e / b)),
                o(cell.cpu),
                o(cell.harness_cpu),
                o(cell.peak_rss),
                o(cell.bytes_per_route),
                o(cell.p50_ms),
                o(cell.p99_ms)
            );
        }
    }
    c
}

fn colour(d: Daemon) -> Rgb {
    match d {
        Daemon::Floor => [150, 150, 150],
        Daemon::Bgpd => [214, 39, 40],
        Daemon::Bird => [31, 119, 180],
        Daemon::Gobgp => [44, 160, 44],
        Daemon::Frr => [255, 127, 14],
    }
}

/// The chart: one group per workload, one bar per daemon (elapsed seconds; W4: p99 ms), on
/// a log scale so a timeout-bound daemon does not flatten the others.
pub fn chart(s: &Summary) -> std::io::Result<Vec<u8>> {
    let rows: usize = s.cells.values().map(|r| r.len() + 1).sum();
    let (scale, row_h, left, width) = (2usize, 22usize, 250usize, 1000usize);
    let height = 60 + rows * row_h;
    let mut c = Canvas::new(width, height, [255, 255, 255]);
    c.text(
        10,
        10,
        "BGPD BENCH: ELAPSED S (W4: P99 MS), LOG SCALE",
        scale,
        [0, 0, 0],
    );
    let values: Vec<f64> = s
        .cells
        .iter()
        .flat_map(|(k, r)| {
            r.values()
                .filter_map(move |c| if *k == Kind::W4 { c.p99_ms } else { c.elapsed })
        })
        .collect();
    let max = values.iter().copied().fold(0.01f64, f64::max);
    let min = values.iter().copied().fold(max, f64::min).min(max / 10.0);
    let span = (max / min).ln().max(1e-9);
    let bar_room = (width - left - 130) as f64;
    let mut y = 45;
    for (k, row) in &s.cells {
        c.text(10, y, k.name(), scale, [0, 0, 0]);
        y += row_h;
        for (d, cell) in row {
            let v = if *k == Kind::W4 {
                cell.p99_ms
            } else {
                cell.elapsed
            };
            c.text(40, y + 2, d.name(), scale, [0, 0, 0]);
            match v {
                Some(v) => {
                    let w = (((v / min).ln() / span).clamp(0.0, 1.0) * bar_room) as usize + 2;
                    c.rect(left, y, w, row_h - 6, colour(*d));
                    let unit = if *k == Kind::W4 { "MS" } else { "S" };
                    c.text(
                        left + w + 6,
                        y + 2,
                        &format!("{v:.2} {unit}"),
                        scale,
                        [0, 0, 0],
                    );
                }
                None => {
                    c.text(left, y + 2, "DID NOT CONVERGE", scale, [200, 0, 0]);
                }
            }
            y += row_h;
        }
    }
    c.to_png()
}

/// Writes race.md, race.csv (medians), race-runs.csv and race.png into `out`; returns the
/// markdown.
#[allow(clippy::too_many_arguments)]
pub fn write_all(
    out: &Path,
    s: &Summary,
    records: &[RunRecord],
    machine: &Machine,
    load_after: &str,
    versions: &[(Daemon, String)],
    descriptions: &[(Kind, String)],
    smoke: bool,
    took: Duration,
) -> anyhow::Result<String> {
    let md = markdown(s, machine, load_after, versions, descriptions, smoke, took);
    std::fs::write(out.join("race.md"), &md)?;
    std::fs::write(out.join("race.csv"), summary_csv(s))?;
    std::fs::write(out.join("race-runs.csv"), runs_csv(records))?;
    std::fs::write(out.join("race.png"), chart(s)?)?;
    Ok(md)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rec(d: Daemon, k: Kind, e: Option<f64>) -> RunRecord {
        RunRecord {
            workload: k,
            daemon: d,
            rep: 0,
            elapsed: e,
            injector: Some(0.1),
            cpu: Some(1.0),
            harness_cpu: Some(0.5),
            start_rss: Some(1000),
            peak_rss: Some(201_000),
            routes: 1000,
            p50_ms: None,
            p99_ms: None,
            changes: (0, 0),
            failure: e.is_none().then(|| "timeout".into()),
            missing: 0,
            rib_passes: (d == Daemon::Bgpd).then_some((10, 10_000.0)),
            rib_cpu: (d == Daemon::Bgpd).then_some(0.25),
            scrape_ms: (d == Daemon::Bgpd).then_some(3.5),
        }
    }

    #[test]
    fn medians_ratios_floor_warning_and_targets() {
        let r = vec![
            rec(Daemon::Floor, Kind::W1, Some(1.0)),
            rec(Daemon::Bgpd, Kind::W1, Some(1.2)),
            rec(Daemon::Bgpd, Kind::W1, Some(1.4)),
            rec(Daemon::Bgpd, Kind::W1, Some(9.0)),
            rec(Daemon::Bird, Kind::W1, Some(4.0)),
            rec(Daemon::Gobgp, Kind::W1, None),
        ];
        let mut s = Summary::new(&r);
        s.timeout = Some(150.0);
        s.cores = Some(2);
        let b = s.get(Kind::W1, Daemon::Bgpd).unwrap();
        assert_eq!(b.elapsed, Some(1.4));
        assert_eq!(b.bytes_per_route, Some(200.0));
        assert!(s.floor_note(Kind::W1, Daemon::Bgpd).is_some());
        let md = markdown(&s, &Machine::default(), "0", &[], &[], true, Duration::ZERO);
        assert!(md.contains("| W1 | bird | 1/1 | 4.00 | 2.86× |"), "{md}");
        assert!(
            md.contains(
                "W1: bgpd elapsed ≤ 2 × floor | **met** | bgpd 1.40 s, floor 1.00 s; in bgpd's \
                 runs: bgpd CPU 1.00 s + harness CPU 0.50 s = 1.1 cores busy; within 2 × the \
                 floor on 2 cores busy throughout, bgpd's CPU could be at most 3.50 s"
            ),
            "{md}"
        );
        assert!(
            md.contains("W1: bgpd elapsed ≤ 0.5 × bird | **met**"),
            "{md}"
        );
        assert!(
            md.contains(
                "W1: bgpd elapsed ≤ 0.1 × gobgp | **met** | bgpd 1.40 s, gobgp did not converge within 150 s"
            ),
            "{md}"
        );
        assert!(
            md.contains("| W1 | 1.40 | 1.00 | 0.25 | 0.75 | 10 | 1000 | 3.5 |"),
            "{md}"
        );
        assert!(chart(&s).unwrap().starts_with(b"\x89PNG"));
        let no_bgpd = Summary::new(r.get(4..).unwrap());
        assert!(!rib_thread(&no_bgpd).contains("bgpd's threads"));
        assert_eq!(runs_csv(&r).lines().count(), 7);
    }
}
