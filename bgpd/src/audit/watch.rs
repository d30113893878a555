//! `bgpd audit --watch`: follows a running bgpd's live event stream (`/api/v1/events`) and
//! prints findings as they appear and clear. Each burst of prefix or session events (quiet
//! for 300 ms, or 2 s at most) triggers a fresh read of the RIB and a new audit, so the
//! state is always the daemon's own. When the stream ends (bgpd restarted) it reconnects.

use super::finding::Finding;
use super::intent::Intent;
use super::report::{finding_lines, severity_colour, FindingMap};
use super::{api_source, checks};
use anyhow::Context as _;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// UTC time of day, `HH:MM:SSZ`.
fn clock() -> String {
    let s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        % 86_400;
    format!("{:02}:{:02}:{:02}Z", s / 3600, (s / 60) % 60, s % 60)
}

fn print_change(
    out: &mut impl Write,
    json: bool,
    tty: bool,
    event: &str,
    f: &Finding,
) -> std::io::Result<()> {
    if json {
        let line =
            serde_json::json!({ "event": event, "time": crate::events::now(), "finding": f });
        writeln!(out, "{line}")?;
    } else if event == "new" {
        let tag = if tty {
            format!("\x1b[{}mNEW\x1b[0m    ", severity_colour(f.severity))
        } else {
            "NEW    ".into()
        };
        writeln!(
            out,
            "{} {tag} {:<8} {}",
            clock(),
            f.severity.name(),
            finding_lines(f, tty).trim_start()
        )?;
    } else {
        let tag = if tty {
            "\x1b[32mCLEARED\x1b[0m".to_string()
        } else {
            "CLEARED".into()
        };
        writeln!(
            out,
            "{} {tag} {:<8} {}  {}",
            clock(),
            f.severity.name(),
            f.check.id(),
            f.subject
        )?;
    }
    out.flush()
}

/// Audits once and prints what changed against `known`, which becomes the current state.
fn audit_and_print(
    api: &str,
    adj_rib_in: bool,
    intent: &Intent,
    known: &mut FindingMap,
    json: bool,
    tty: bool,
) -> anyhow::Result<()> {
    let set = api_source::fetch(api, adj_rib_in)?;
    let findings = checks::audit(intent, &set);
    let (new, cleared, _) = super::report::diff(known, &findings);
    let mut out = std::io::stdout().lock();
    for f in &cleared {
        print_change(&mut out, json, tty, "cleared", f)?;
    }
    for f in &new {
        print_change(&mut out, json, tty, "new", f)?;
    }
    *known = super::report::by_key(&findings);
    Ok(())
}

enum StreamEvent {
    Line,
    Ended(String),
}

/// Runs until interrupted. `known` starts as the baseline (or empty).
pub fn run(
    api: &str,
    adj_rib_in: bool,
    intent: &Intent,
    mut known: FindingMap,
    json: bool,
) -> anyhow::Result<()> {
    let tty = std::io::stdout().is_terminal();
    let url = format!("{}/api/v1/events", api.trim_end_matches('/'));
    let mut first = true;
    loop {
        let resp = match ureq::get(&url).call() {
            Ok(r) => r,
            Err(e) if first => {
                return Err(anyhow::anyhow!(e)).with_context(|| {
                    format!("cannot reach bgpd's API at {url} (is bgpd running? see --api)")
                })
            }
            Err(e) => {
                eprintln!("bgpd audit: {url}: {e}; retrying in 2 s");
                std::thread::sleep(Duration::from_secs(2));
                continue;
            }
        };
        first = false;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let reader = std::io::BufReader::new(resp.into_reader());
            for line in reader.lines() {
                match line {
                    Ok(_) => {
                        if tx.send(StreamEvent::Line).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(StreamEvent::Ended(e.to_string()));
                        return;
                    }
                }
            }
            let _ = tx.send(StreamEvent::Ended("end of stream".into()));
        });
        // Subscribed: now read the state, so no change between the two is missed.
        if let Err(e) = audit_and_print(api, adj_rib_in, intent, &mut known, json, tty) {
            eprintln!("bgpd audit: {e:#}");
        }
        let ended = loop {
            match rx.recv() {
                Ok(StreamEvent::Line) => {}
                Ok(StreamEvent::Ended(why)) => break why,
                Err(_) => break "event reader stopped".into(),
            }
            // Debounce: wait for 300 ms of quiet, at most 2 s.
            let start = Instant::now();
            let mut ended = None;
            while start.elapsed() < Duration::from_secs(2) {
                match rx.recv_timeout(Duration::from_millis(300)) {
                    Ok(StreamEvent::Line) => continue,
                    Ok(StreamEvent::Ended(why)) => {
                        ended = Some(why);
                        break;
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => break,
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        ended = Some("event reader stopped".into());
                        break;
                    }
                }
            }
            if let Err(e) = audit_and_print(api, adj_rib_in, intent, &mut known, json, tty) {
                eprintln!("bgpd audit: {e:#}");
            }
            if let Some(why) = ended {
                break why;
            }
        };
        eprintln!("bgpd audit: event stream ended ({ended}); reconnecting");
        std::thread::sleep(Duration::from_secs(1));
    }
}
