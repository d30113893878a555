//! The daemons under test, each started with a generated configuration of the same meaning:
//! a route server (RFC 7947) for every injector and monitor, accepting and exporting
//! everything, no FIB, passive (the harness connects), IPv4 unicast. One at a time; each is
//! killed with its whole process group after its run.

use super::wire::{Speaker, HOLD_TIME};
use anyhow::Context as _;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The address every daemon under test listens on (port 179).
pub const DUT_ADDRESS: Ipv4Addr = Ipv4Addr::new(127, 0, 9, 1);
/// The daemon's AS (RFC 6996 private 4-octet: no path of the real table contains it).
pub const DUT_ASN: u32 = 4_200_000_000;

/// Who runs in the middle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Daemon {
    /// No daemon: injectors straight into the monitor (the floor).
    Floor,
    /// This project's bgpd (the running executable's `run`).
    Bgpd,
    /// BIRD 2 (`bird`).
    Bird,
    /// GoBGP (`gobgpd`).
    Gobgp,
    /// FRR's bgpd (`/usr/lib/frr/bgpd`, without zebra).
    Frr,
}

impl Daemon {
    /// Every daemon, floor first.
    pub const ALL: [Daemon; 5] = [
        Daemon::Floor,
        Daemon::Bgpd,
        Daemon::Bird,
        Daemon::Gobgp,
        Daemon::Frr,
    ];

    /// Name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Daemon::Floor => "floor",
            Daemon::Bgpd => "bgpd",
            Daemon::Bird => "bird",
            Daemon::Gobgp => "gobgp",
            Daemon::Frr => "frr",
        }
    }

    /// The program it needs, checked before anything runs (a missing daemon fails the
    /// bench; it is never skipped).
    pub fn program(self) -> Option<PathBuf> {
        match self {
            Daemon::Floor => None,
            Daemon::Bgpd => std::env::current_exe().ok(),
            Daemon::Bird => Some("bird".into()),
            Daemon::Gobgp => Some("gobgpd".into()),
            Daemon::Frr => Some("/usr/lib/frr/bgpd".into()),
        }
    }

    /// The program's version line (for the report), or an error if it cannot run.
    pub fn version(self) -> anyhow::Result<String> {
        let Some(program) = self.program() else {
            return Ok(String::new());
        };
        let out = Command::new(&program)
            .arg("--version")
            .output()
            .with_context(|| format!("{} is missing ({})", self.name(), program.display()))?;
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        Ok(text.lines().next().unwrap_or_default().trim().to_string())
    }
}

/// The last 15 lines of a log.
pub fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines
        .get(lines.len().saturating_sub(15)..)
        .unwrap_or_default()
        .join("\n")
}

/// A started daemon.
pub struct Running {
    child: Child,
    /// The process whose CPU and memory are measured.
    pub pid: u32,
    /// Its work directory (config, logs).
    pub dir: PathBuf,
}

/// The port of bgpd's HTTP API in the race (on [`DUT_ADDRESS`]): the bench reads its RIB
/// pass counts from `/metrics` after a run.
pub const BGPD_API_PORT: u16 = 8179;

/// What the bench reads from bgpd's `/metrics` after a run: its RIB passes so far and the
/// prefixes they took (`bgpd_rib_pass_prefixes`'s count and sum), and how long the request
/// took (the RIB task scans the Loc-RIB for the gauges while other work waits).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scrape {
    /// Passes, and the sum of their prefixes.
    pub rib_passes: (u64, f64),
    /// Milliseconds from the request to the whole reply.
    pub millis: f64,
}

/// Reads bgpd's `/metrics` ([`Scrape`]); None if it cannot be read within 2 s.
pub fn bgpd_scrape() -> Option<Scrape> {
    let started = std::time::Instant::now();
    let text = ureq::get(&format!("http://{DUT_ADDRESS}:{BGPD_API_PORT}/metrics"))
        .timeout(Duration::from_secs(2))
        .call()
        .ok()?
        .into_string()
        .ok()?;
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    Some(Scrape {
        rib_passes: (
            metric_value(&text, "bgpd_rib_pass_prefixes_count")? as u64,
            metric_value(&text, "bgpd_rib_pass_prefixes_sum")?,
        ),
        millis,
    })
}

/// The value of an unlabelled sample `name` in Prometheus text.
fn metric_value(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// CPU seconds of a process's main thread (`/proc/PID/task/PID/stat`): bgpd's RIB task
/// runs there; its sessions run on tokio's worker threads.
pub fn main_thread_cpu(pid: u32) -> Option<f64> {
    cpu_seconds_of(&format!("/proc/{pid}/task/{pid}/stat"))
}

/// CPU seconds (utime + stime, /proc/PID/stat fields 14 and 15, at 100 ticks/s).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    cpu_seconds_of(&format!("/proc/{pid}/stat"))
}

/// [`cpu_seconds`] of a process's or a thread's `stat` file.
fn cpu_seconds_of(path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the command name: field 3 is index 0, so 14 and 15 are 11 and 12.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// A `/proc/PID/status` value in bytes (`VmRSS`, `VmHWM`).
pub fn status_bytes(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| {
        let rest = l.strip_prefix(key)?.strip_prefix(':')?;
        let kb: u64 = rest.split_whitespace().next()?.parse().ok()?;
        Some(kb * 1024)
    })
}

impl Running {
    /// Whether the process still runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Its log (empty if it cannot be read).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default()
    }

    /// The last lines of its log.
    pub fn log_tail(&self) -> String {
        tail(&self.log())
    }

    /// Kills the whole process group and reaps the child.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The daemon is `timeout`'s child: wait (bounded) until it is really gone, so its
        // listening socket is closed before the next daemon starts.
        for _ in 0..500 {
            let state = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
                .ok()
                .and_then(|s| {
                    s.rsplit_once(')')
                        .map(|(_, r)| r.trim_start().starts_with('Z'))
                });
            if state.is_none_or(|zombie| zombie) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The race's bgpd configuration: a passive route server for `peers` (accept and export
/// everything, IPv4 unicast). Also used by `examples/rib_memory.rs`.
pub fn bgpd_config(peers: &[Speaker]) -> String {
    let mut c = format!(
        "[global]\nasn = {DUT_ASN}\nrouter_id = \"{DUT_ADDRESS}\"\nlisten = [\"{DUT_ADDRESS}:179\"]\n\
         log_level = \"warn\"\n\n[api]\nlisten = \"{DUT_ADDRESS}:{BGPD_API_PORT}\"\n\n\
         [[policies]]\nname = \"accept-all\"\n[[policies.statements]]\naction = \"accept\"\n\n\
         [[peer_groups]]\nname = \"rs\"\nrole = \"route-server-client\"\npassive = true\n\
         hold_time = {HOLD_TIME}\nfamilies = [\"ipv4-unicast\"]\nimport_policy = [\"accept-all\"]\nexport_policy = [\"accept-all\"]\n"
    );
    for p in peers {
        let _ = write!(
            c,
            "\n[[neighbors]]\naddress = \"{}\"\npeer_as = {}\npeer_group = \"rs\"\n",
            p.address, p.asn
        );
    }
    c
}

/// BIRD on loopback: its peers are not on a connected network it accepts (lo is host
/// scope), so sessions are `multihop` and next hops resolve recursively through a separate
/// IGP table holding one device route for the injectors' next hops (nothing of it is
/// exported; the master table holds only BGP routes).
fn bird_config(peers: &[Speaker]) -> String {
    let mut c = format!(
        "log stderr {{ error, fatal, bug }};\nrouter id {DUT_ADDRESS};\nprotocol device {{}}\nipv4 table igp4;\n\
         protocol static {{ ipv4 {{ table igp4; }}; route 198.18.0.0/16 via \"lo\"; }}\n\
         template bgp rsc {{\n  local {DUT_ADDRESS} as {DUT_ASN};\n  rs client;\n  passive on;\n  \
         hold time {HOLD_TIME};\n  keepalive time {ka};\n  multihop;\n  strict bind on;\n  ipv4 {{ igp table igp4; import all; export all; }};\n}}\n",
        ka = HOLD_TIME / 3
    );
    for (i, p) in peers.iter().enumerate() {
        let _ = writeln!(
            c,
            "protocol bgp p{i} from rsc {{ neighbor {} as {}; }}",
            p.address, p.asn
        );
    }
    c
}

fn gobgp_config(peers: &[Speaker]) -> String {
    let mut c = format!(
        "[global.config]\n  as = {DUT_ASN}\n  router-id = \"{DUT_ADDRESS}\"\n  port = 179\n  \
         local-address-list = [\"{DUT_ADDRESS}\"]\n"
    );
    for p in peers {
        let _ = write!(
            c,
            "\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{}\"\n    peer-as = {}\n  \
             [neighbors.timers.config]\n    hold-time = {hold}\n    keepalive-interval = {ka}\n  \
             [neighbors.transport.config]\n    passive-mode = true\n    local-address = \"{DUT_ADDRESS}\"\n  \
             [neighbors.route-server.config]\n    route-server-client = true\n  \
             [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"ipv4-unicast\"\n",
            p.address,
            p.asn,
            hold = HOLD_TIME,
            ka = HOLD_TIME / 3
        );
    }
    c
}

fn frr_config(peers: &[Speaker]) -> String {
    let mut c = format!(
        "hostname bench\nrouter bgp {DUT_ASN}\n bgp router-id {DUT_ADDRESS}\n no bgp ebgp-requires-policy\n \
         no bgp network import-check\n"
    );
    for p in peers {
        let _ = write!(
            c,
            " neighbor {a} remote-as {asn}\n neighbor {a} passive\n neighbor {a} disable-connected-check\n \
             neighbor {a} timers {ka} {hold}\n",
            a = p.address,
            asn = p.asn,
            ka = HOLD_TIME / 3,
            hold = HOLD_TIME
        );
    }
    c.push_str(" address-family ipv4 unicast\n");
    for p in peers {
        let _ = writeln!(c, "  neighbor {} route-server-client", p.address);
    }
    c.push_str(" exit-address-family\n");
    c
}

/// Fails if something already listens on the daemon's address (a daemon left over from an
/// interrupted run would otherwise be measured instead).
pub fn check_address_free() -> anyhow::Result<()> {
    // With SO_REUSEADDR, like the daemons: connections of the previous run still in
    // TIME_WAIT do not count, only a listener does. A socket being closed gets 3 s.
    for _ in 0..30 {
        if super::wire::listen(dut_socket()).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    super::wire::listen(dut_socket())
        .map(drop)
        .with_context(|| {
            format!(
            "{} is in use: a daemon left from an interrupted run? (ss -ltnp | grep {DUT_ADDRESS})",
            dut_socket()
        )
        })
}

/// The process `timeout` started (its only child), waiting up to a second for it.
fn child_of(pid: u32) -> Option<u32> {
    for _ in 0..100 {
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        if let Some(c) = children
            .split_whitespace()
            .next()
            .and_then(|c| c.parse().ok())
        {
            return Some(c);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// Writes the configuration for `peers` into `dir` and starts `daemon` under
/// `timeout --signal=KILL lifetime`, so it dies even if the bench itself is killed.
pub fn start(
    daemon: Daemon,
    peers: &[Speaker],
    dir: &Path,
    lifetime: Duration,
) -> anyhow::Result<Option<Running>> {
    let Some(program) = daemon.program() else {
        return Ok(None);
    };
    check_address_free()?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let d = dir.display();
    let mut cmd = Command::new("timeout");
    cmd.arg("--signal=KILL")
        .arg(lifetime.as_secs().max(1).to_string())
        .arg(&program);
    match daemon {
        Daemon::Floor => return Ok(None),
        Daemon::Bgpd => {
            std::fs::write(dir.join("bgpd.toml"), bgpd_config(peers))?;
            cmd.args(["run", "--config", &format!("{d}/bgpd.toml")]);
        }
        Daemon::Bird => {
            std::fs::write(dir.join("bird.conf"), bird_config(peers))?;
            cmd.args([
                "-f",
                "-c",
                &format!("{d}/bird.conf"),
                "-s",
                &format!("{d}/bird.ctl"),
                "-P",
                &format!("{d}/bird.pid"),
            ]);
        }
        Daemon::Gobgp => {
            std::fs::write(dir.join("gobgpd.toml"), gobgp_config(peers))?;
            cmd.args([
                "-f",
                &format!("{d}/gobgpd.toml"),
                "-l",
                "warn",
                "-p",
                &format!("--api-hosts={DUT_ADDRESS}:50051"),
                "--pprof-disable",
            ]);
        }
        Daemon::Frr => {
            std::fs::write(dir.join("frr.conf"), frr_config(peers))?;
            std::fs::create_dir_all(dir.join("vty"))?;
            cmd.args([
                "-f",
                &format!("{d}/frr.conf"),
                "-Z",
                "-S",
                "-n",
                "-l",
                &DUT_ADDRESS.to_string(),
                "-p",
                "179",
                "-P",
                "0",
                "-i",
                &format!("{d}/frr.pid"),
                "--vty_socket",
                &format!("{d}/vty"),
            ]);
        }
    }
    let log = std::fs::File::create(dir.join("daemon.log"))?;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    let pid = child_of(child.id()).unwrap_or(child.id());
    let mut running = Running {
        child,
        pid,
        dir: dir.to_path_buf(),
    };
    std::thread::sleep(Duration::from_millis(300));
    if !running.alive() {
        let tail = running.log_tail();
        running.stop();
        anyhow::bail!("{} exited at start:\n{tail}", daemon.name());
    }
    Ok(Some(running))
}

/// The address the harness connects to.
pub fn dut_socket() -> SocketAddr {
    SocketAddr::from((DUT_ADDRESS, 179))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn configs_name_every_peer() {
        let peers = [
            Speaker {
                asn: 65101,
                address: Ipv4Addr::new(127, 0, 1, 1),
            },
            Speaker {
                asn: 65201,
                address: Ipv4Addr::new(127, 0, 2, 1),
            },
        ];
        for c in [
            bgpd_config(&peers),
            bird_config(&peers),
            gobgp_config(&peers),
            frr_config(&peers),
        ] {
            assert!(c.contains("127.0.1.1") && c.contains("65201"), "{c}");
        }
        let cfg: toml::Value = toml::from_str(&gobgp_config(&peers)).unwrap();
        assert!(cfg.get("neighbors").is_some());
        let api = format!("listen = \"{DUT_ADDRESS}:{BGPD_API_PORT}\"");
        assert!(bgpd_config(&peers).contains(&api));
    }

    /// The RIB pass figures are read off bgpd's own rendering of its metrics.
    #[test]
    fn rib_pass_counts_are_read_from_the_metrics_text() {
        crate::metrics::METRICS.rib_pass_prefixes.observe(1200.0);
        crate::metrics::METRICS.rib_pass_prefixes.observe(800.0);
        let text = crate::metrics::METRICS.render();
        let n = metric_value(&text, "bgpd_rib_pass_prefixes_count").unwrap();
        let sum = metric_value(&text, "bgpd_rib_pass_prefixes_sum").unwrap();
        // Other tests of this process may have observed passes too.
        assert!(n >= 2.0 && sum >= 2000.0, "{text}");
        assert_eq!(metric_value("x_count 3\nx 4\n", "x"), Some(4.0));
        assert_eq!(metric_value("x_sum 3\n", "x"), None);
    }

    /// A thread's CPU is read from its own `stat` file.
    #[test]
    fn a_threads_cpu_is_counted() {
        let t0 = std::time::Instant::now();
        let mut x = 0u64;
        // Until the kernel has counted a tick of this thread (bounded).
        while t0.elapsed() < Duration::from_secs(5) {
            for i in 0..100_000u64 {
                x = std::hint::black_box(x.wrapping_add(i));
            }
            if cpu_seconds_of("/proc/thread-self/stat").is_some_and(|c| c > 0.0) {
                break;
            }
        }
        assert!(cpu_seconds_of("/proc/thread-self/stat").is_some_and(|c| c > 0.0));
        let me = std::process::id();
        assert!(main_thread_cpu(me).is_some());
        assert!(main_thread_cpu(me) <= cpu_seconds(me));
    }
}
