//! `bgpd check --config FILE`: validate a configuration and print what would run.

use crate::config::{load, Config, DefaultAction};
use std::fmt::Write as _;
use std::path::Path;

/// Loads and checks the file; returns the summary text or the error.
pub fn check(path: &Path) -> Result<String, crate::config::ConfigError> {
    let c = load(path)?;
    Ok(summary(&c))
}

fn summary(c: &Config) -> String {
    let mut s = String::new();
    let g = &c.global;
    let _ = writeln!(s, "{}: OK", c.path);
    let _ = writeln!(
        s,
        "local AS {} router-id {} cluster-id {}",
        g.asn, g.router_id, c.cluster_id
    );
    let listen: Vec<String> = g.listen.iter().map(|a| a.to_string()).collect();
    let _ = writeln!(
        s,
        "listen {}",
        if listen.is_empty() {
            "(none: active sessions only)".into()
        } else {
            listen.join(", ")
        }
    );
    for class in &c.classes {
        let prefixes: Vec<String> = class.prefixes.iter().map(|p| p.to_string()).collect();
        let origin = if class.origin_as.is_empty() {
            "any origin".to_string()
        } else {
            format!(
                "origin AS {}",
                class
                    .origin_as
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            )
        };
        let _ = writeln!(
            s,
            "class {:<14} {} ({origin})",
            class.name,
            prefixes.join(", ")
        );
    }
    let _ = writeln!(
        s,
        "{:<26} {:>7} {:<6} {:<23} {:<10} {:<22} import / export",
        "neighbor", "AS", "type", "role", "hold", "families"
    );
    for n in &c.neighbors {
        let families: Vec<String> = n.families.iter().map(|f| f.family().to_string()).collect();
        let pol = |list: &[String], d: DefaultAction| {
            let d = match d {
                DefaultAction::Accept => "accept",
                DefaultAction::Reject => "reject",
            };
            if list.is_empty() {
                format!("(none, default {d})")
            } else {
                format!("{} (default {d})", list.join(","))
            }
        };
        let role = match n.role {
            crate::config::Role::Plain => "plain",
            crate::config::Role::RouteReflectorClient => "route-reflector-client",
            crate::config::Role::RouteServerClient => "route-server-client",
        };
        let _ = writeln!(
            s,
            "{:<26} {:>7} {:<6} {:<23} {:<10} {:<22} {} / {}{}",
            format!("{}{}", n.address, if n.passive { " (passive)" } else { "" }),
            n.peer_as,
            if n.ibgp { "iBGP" } else { "eBGP" },
            role,
            n.hold_time,
            families.join(","),
            pol(&n.import_policy, n.default_import),
            pol(&n.export_policy, n.default_export),
            if n.description.is_empty() {
                String::new()
            } else {
                format!("  # {}", n.description)
            },
        );
    }
    for (name, p) in &c.policies {
        let _ = writeln!(s, "policy {name}: {} statement(s)", p.statements.len());
    }
    for w in &c.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    s
}
