//! `bgpd show ...` and `bgpd watch`: the operator's commands. They talk to a running bgpd's
//! HTTP API (default `http://127.0.0.1:8179`), print aligned tables (with colour on a
//! terminal, plain when piped) or, with `--json`, the API's JSON as it is.

// `serde_json::Value` indexing by key never panics (a missing key reads as Null).
#![allow(clippy::indexing_slicing)]

use crate::daemon::query::{neighbor_table, up_down, NeighborDetail, NeighborRow, RibEntry};
use anyhow::Context as _;
use std::io::{BufRead, IsTerminal, Write};

/// Where the API is, and how to print.
#[derive(Debug, Clone, clap::Args)]
pub struct ApiArgs {
    /// Base URL of bgpd's HTTP API.
    #[arg(long, global = true, default_value = "http://127.0.0.1:8179")]
    pub api: String,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// Bearer token for requests that change state (`[api] token`); default: the
    /// environment variable BGPD_API_TOKEN. Prefer the variable: arguments show in `ps`.
    #[arg(long, global = true)]
    pub token: Option<String>,
}

impl ApiArgs {
    /// The token from `--token`, else from BGPD_API_TOKEN.
    pub fn token(&self) -> Option<String> {
        self.token
            .clone()
            .or_else(|| std::env::var("BGPD_API_TOKEN").ok())
            .filter(|t| !t.is_empty())
    }
}

/// `bgpd show` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ShowCommand {
    /// The neighbor table (like `show bgp summary`).
    Neighbors,
    /// One neighbor: capabilities both sides sent, what was negotiated, timers, counters,
    /// the last NOTIFICATIONs.
    Neighbor {
        /// Neighbor address.
        address: String,
    },
    /// Routes: the Loc-RIB, or a neighbor's Adj-RIB-In/-Out.
    Rib {
        /// Only this prefix and the prefixes inside it.
        prefix: Option<String>,
        /// Family: ipv4 or ipv6 (or ipv4-unicast / ipv6-unicast).
        #[arg(long)]
        family: Option<String>,
        /// Only routes of this class (e.g. pod, loadbalancer).
        #[arg(long)]
        class: Option<String>,
        /// Only routes from (or, with --out, to) this neighbor.
        #[arg(long)]
        peer: Option<String>,
        /// The neighbor's Adj-RIB-In (before policy); needs --peer.
        #[arg(long = "in", conflicts_with = "out")]
        adj_in: bool,
        /// The neighbor's Adj-RIB-Out; needs --peer.
        #[arg(long)]
        out: bool,
    },
}

fn get(api: &str, path: &str) -> anyhow::Result<String> {
    let url = format!("{}{path}", api.trim_end_matches('/'));
    match ureq::get(&url)
        .timeout(std::time::Duration::from_secs(15))
        .call()
    {
        Ok(r) => Ok(r.into_string()?),
        Err(ureq::Error::Status(code, r)) => {
            let body = r.into_string().unwrap_or_default();
            let msg = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_string))
                .unwrap_or(body);
            anyhow::bail!("{url}: HTTP {code}: {msg}")
        }
        Err(e) => Err(anyhow::anyhow!(e)).with_context(|| {
            format!("cannot reach bgpd's API at {url} (is bgpd running? see --api)")
        }),
    }
}

fn colour(on: bool, code: &str, text: &str) -> String {
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn family_param(f: &str) -> String {
    match f {
        "ipv4" | "4" => "ipv4-unicast".into(),
        "ipv6" | "6" => "ipv6-unicast".into(),
        other => other.into(),
    }
}

/// Runs a `show` command.
pub fn show(cmd: &ShowCommand, args: &ApiArgs) -> anyhow::Result<()> {
    let tty = std::io::stdout().is_terminal();
    let mut out = std::io::stdout().lock();
    match cmd {
        ShowCommand::Neighbors => {
            let body = get(&args.api, "/api/v1/neighbors")?;
            if args.json {
                writeln!(out, "{body}")?;
                return Ok(());
            }
            let rows: Vec<NeighborRow> = serde_json::from_str(&body)?;
            let mut classes: Vec<String> = rows
                .iter()
                .flat_map(|r| r.accepted_by_class.keys().cloned())
                .filter(|c| c != "other")
                .collect();
            classes.sort();
            classes.dedup();
            let table = neighbor_table(&rows, &classes);
            for line in table.lines() {
                let line = if line.contains(" Established ") {
                    line.replacen(
                        " Established ",
                        &format!(" {} ", colour(tty, "32", "Established")),
                        1,
                    )
                } else if line.starts_with("Peer") {
                    colour(tty, "1", line)
                } else {
                    line.to_string()
                };
                writeln!(out, "{line}")?;
            }
        }
        ShowCommand::Neighbor { address } => {
            let body = get(&args.api, &format!("/api/v1/neighbors/{address}"))?;
            if args.json {
                writeln!(out, "{body}")?;
                return Ok(());
            }
            let d: NeighborDetail = serde_json::from_str(&body)?;
            let r = &d.row;
            writeln!(
                out,
                "BGP neighbor {}, remote AS {}, {} link, role {}",
                r.address,
                r.peer_as,
                if d.ibgp { "internal" } else { "external" },
                d.role
            )?;
            if !r.description.is_empty() {
                writeln!(out, "  Description: {}", r.description)?;
            }
            let state = if r.state == "Established" {
                colour(tty, "32", &r.state)
            } else {
                colour(tty, "31", &r.state)
            };
            writeln!(
                out,
                "  BGP state {state}, up/down {}, flaps {}, out queue {} octets, {} routes waiting",
                up_down(r.since_seconds),
                r.flaps,
                r.out_queue,
                r.waiting_routes
            )?;
            if let Some(n) = &d.negotiated {
                writeln!(
                    out,
                    "  Peer router id {}, hold time {} s (configured {}), keepalive {} s",
                    n.peer_id, n.hold_time, d.configured_hold_time, n.keepalive
                )?;
                writeln!(out, "  Negotiated: families {}; 4-octet AS {}; ADD-PATH receive {} send {}; route refresh {}{}; extended message {}; peer graceful restart {}",
                    n.families.join(","), yes(n.four_octet_as), n.add_path_receive, n.add_path_send, yes(n.route_refresh),
                    if n.enhanced_route_refresh { " (enhanced)" } else { "" }, yes(n.extended_message),
                    n.peer_graceful_restart_time.map(|t| format!("{t} s")).unwrap_or_else(|| "no".into()))?;
            } else {
                writeln!(out, "  Hold time configured {} s", d.configured_hold_time)?;
            }
            writeln!(out, "  Capabilities sent:")?;
            for c in &d.local_capabilities {
                writeln!(out, "    {c}")?;
            }
            writeln!(out, "  Capabilities received:")?;
            for c in &d.peer_capabilities {
                writeln!(out, "    {c}")?;
            }
            writeln!(
                out,
                "  Prefixes: received {}, accepted {}, advertised {}",
                r.received, r.accepted, r.advertised
            )?;
            for (class, n) in &r.accepted_by_class {
                writeln!(out, "    {class}: {n}")?;
            }
            let fmt = |m: &std::collections::BTreeMap<String, u64>| {
                m.iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            writeln!(out, "  Messages received: {}", fmt(&d.messages_received))?;
            writeln!(out, "  Messages sent:     {}", fmt(&d.messages_sent))?;
            if let Some(n) = &d.last_notification_received {
                writeln!(out, "  Last NOTIFICATION received: {n}")?;
            }
            if let Some(n) = &d.last_notification_sent {
                writeln!(out, "  Last NOTIFICATION sent: {n}")?;
            }
            if let Some(reason) = &r.last_down_reason {
                writeln!(out, "  Last down: {reason}")?;
            }
        }
        ShowCommand::Rib {
            prefix,
            family,
            class,
            peer,
            adj_in,
            out: adj_out,
        } => {
            let mut q: Vec<String> = Vec::new();
            if let Some(p) = prefix {
                q.push(format!("prefix={p}"));
            }
            if let Some(f) = family {
                q.push(format!("family={}", family_param(f)));
            }
            if let Some(c) = class {
                q.push(format!("class={c}"));
            }
            if let Some(p) = peer {
                q.push(format!("peer={p}"));
            }
            if *adj_in {
                q.push("view=in".into());
            }
            if *adj_out {
                q.push("view=out".into());
            }
            let body = get(&args.api, &format!("/api/v1/rib?{}", q.join("&")))?;
            if args.json {
                writeln!(out, "{body}")?;
                return Ok(());
            }
            let entries: Vec<RibEntry> = serde_json::from_str(&body)?;
            let mut table = vec![
                ["", "Network", "Next Hop", "Peer", "AS_PATH", "Age", "Attrs"]
                    .map(str::to_string)
                    .to_vec(),
            ];
            for e in &entries {
                let mut attrs = vec![format!("origin {}", e.origin)];
                if let Some(m) = e.med {
                    attrs.push(format!("med {m}"));
                }
                if let Some(l) = e.local_pref {
                    attrs.push(format!("local-pref {l}"));
                }
                if !e.communities.is_empty() {
                    attrs.push(format!("communities {}", e.communities.join(" ")));
                }
                if !e.large_communities.is_empty() {
                    attrs.push(format!("large {}", e.large_communities.join(" ")));
                }
                attrs.extend(e.other_attributes.iter().cloned());
                if let Some(c) = &e.class {
                    attrs.push(format!("class {c}"));
                }
                if e.llgr_stale {
                    attrs.push("llgr-stale".into());
                } else if e.stale {
                    attrs.push("stale".into());
                }
                let network = if e.path_id != 0 {
                    format!("{} (id {})", e.prefix, e.path_id)
                } else {
                    e.prefix.clone()
                };
                table.push(vec![
                    if e.best { "*>".into() } else { "* ".into() },
                    network,
                    e.next_hop.clone(),
                    e.peer.to_string(),
                    e.as_path.clone(),
                    e.age_seconds.map(up_down).unwrap_or_default(),
                    attrs.join(", "),
                ]);
            }
            let widths: Vec<usize> = (0..7)
                .map(|i| {
                    table
                        .iter()
                        .map(|r| r.get(i).map(String::len).unwrap_or(0))
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            for (n, row) in table.iter().enumerate() {
                let line: Vec<String> = row
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect();
                let line = line.join("  ");
                let line = if n == 0 {
                    colour(tty, "1", line.trim_end())
                } else {
                    line.trim_end().to_string()
                };
                writeln!(out, "{line}")?;
            }
            writeln!(out, "{} path(s)", entries.len())?;
        }
    }
    Ok(())
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// `bgpd snapshot`: asks the daemon to write TABLE_DUMP_V2 snapshots and prints their paths.
pub fn snapshot(args: &ApiArgs) -> anyhow::Result<()> {
    let url = format!("{}/api/v1/snapshot", args.api.trim_end_matches('/'));
    let mut request = ureq::post(&url).timeout(std::time::Duration::from_secs(120));
    if let Some(t) = args.token() {
        request = request.set("Authorization", &format!("Bearer {t}"));
    }
    let body = match request.call() {
        Ok(r) => r.into_string()?,
        Err(ureq::Error::Status(401, _)) => {
            anyhow::bail!(
                "{url}: HTTP 401: bgpd wants its API token ([api] token): pass --token or set BGPD_API_TOKEN"
            )
        }
        Err(ureq::Error::Status(code, r)) => {
            anyhow::bail!(
                "{url}: HTTP {code}: {}",
                r.into_string().unwrap_or_default()
            )
        }
        Err(e) => {
            return Err(anyhow::anyhow!(e))
                .with_context(|| format!("cannot reach bgpd's API at {url}"))
        }
    };
    if args.json {
        println!("{body}");
    } else {
        let v: serde_json::Value = serde_json::from_str(&body)?;
        println!("Loc-RIB:     {}", v["loc_rib"].as_str().unwrap_or(""));
        println!("Adj-RIB-In:  {}", v["adj_rib_in"].as_str().unwrap_or(""));
    }
    Ok(())
}

/// `bgpd watch`: prints prefix and session events as they happen until interrupted.
pub fn watch(args: &ApiArgs) -> anyhow::Result<()> {
    let url = format!("{}/api/v1/events", args.api.trim_end_matches('/'));
    let resp = ureq::get(&url)
        .call()
        .with_context(|| format!("cannot reach bgpd's API at {url}"))?;
    let reader = std::io::BufReader::new(resp.into_reader());
    let tty = std::io::stdout().is_terminal();
    let mut out = std::io::stdout().lock();
    for line in reader.lines() {
        let line = line?;
        if args.json {
            writeln!(out, "{line}")?;
            out.flush()?;
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        let text = match v["type"].as_str() {
            Some("prefix") => {
                let action = v["action"].as_str().unwrap_or("");
                let code = match action {
                    "announce" | "implicit-withdraw" => "32",
                    "withdraw" => "33",
                    _ => "31",
                };
                let mut t = format!(
                    "{} {:<17} {:<22} class={} peer={} AS{}",
                    colour(tty, code, &format!("{action:<17}")).trim_end(),
                    "",
                    v["prefix"].as_str().unwrap_or(""),
                    v["class"].as_str().unwrap_or("-"),
                    v["peer"].as_str().unwrap_or(""),
                    v["peer_as"],
                );
                t = t.replacen(&format!(" {:<17} ", ""), " ", 1);
                if let Some(nh) = v["next_hop"].as_str() {
                    t.push_str(&format!(
                        " next-hop={nh} as-path=[{}]",
                        v["as_path"].as_str().unwrap_or("")
                    ));
                }
                if let Some(r) = v["reason"].as_str() {
                    t.push_str(&format!(" ({r})"));
                }
                t
            }
            Some("session") => format!(
                "session {} peer={} AS{}{}",
                colour(
                    tty,
                    if v["state"] == "established" {
                        "32"
                    } else {
                        "31"
                    },
                    v["state"].as_str().unwrap_or("")
                ),
                v["peer"].as_str().unwrap_or(""),
                v["peer_as"],
                v["reason"]
                    .as_str()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
            _ => line.clone(),
        };
        writeln!(out, "{text}")?;
        out.flush()?;
    }
    Ok(())
}
