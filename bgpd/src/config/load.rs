//! Reading a config file: TOML syntax and types (serde), then defaults, peer groups and
//! references. Every error names the file, the line and the key.

use super::*;
use std::collections::BTreeSet;
use std::fmt;

/// A configuration error: where and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The key path, e.g. `neighbors[2].peer_as`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": key `{}`", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Reads and checks a config file.
pub fn load(path: &std::path::Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        line: None,
        key: String::new(),
        message: format!("cannot read: {e}"),
    })?;
    load_str(&text, &file)
}

pub(crate) fn line_of(text: &str, byte: usize) -> usize {
    text.get(..byte)
        .map(|t| t.matches('\n').count())
        .unwrap_or(0)
        + 1
}

/// Finds the line of a key path like `neighbors[2].peer_as` in the document.
pub(crate) fn locate(text: &str, key: &str) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut item: &toml_edit::Item = doc.as_item();
    let mut best = None;
    for part in key.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if !name.is_empty() {
            let table = item.as_table_like()?;
            let (k, v) = table.get_key_value(name)?;
            best = k.span().or(v.span()).or(best);
            item = v;
        }
        if let Some(i) = index {
            if let toml_edit::Item::ArrayOfTables(tables) = item {
                // A table's own span may be missing; its first key has one.
                if let Some(t) = tables.get(i) {
                    if let Some((k, _)) = t.iter().next() {
                        best = t.key(k).and_then(|k| k.span()).or(best);
                    }
                }
            }
            item = item.get(i)?;
            best = item.span().or(best);
        }
    }
    best.map(|s| line_of(text, s.start))
}

/// The line of `key`, or else of the nearest enclosing table present in the text: a
/// neighbor's value taken from its peer group is not in the neighbor's own table, so an error
/// about it points at the neighbor.
fn locate_or_enclosing(text: &str, key: &str) -> Option<usize> {
    let mut k = key;
    loop {
        if let Some(line) = locate(text, k) {
            return Some(line);
        }
        k = k.get(..k.rfind(['.', '['])?)?;
    }
}

/// serde names the table, not the key, when a required key is missing (e.g. `global` in an
/// empty file): the key of such an error is the table's path plus the missing key.
fn with_missing_field(path: &str, message: &str) -> String {
    let field = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name);
    match field {
        Some(f) if path.is_empty() => f.to_string(),
        Some(f) => format!("{path}.{f}"),
        // An unknown top-level key that serde_path_to_error cannot show apart from the root
        // (the empty string, `'' = 0`, or a quoted dot, `'.' = 0`, shown as ".") leaves the
        // path empty: the key is then the unknown field the message names.
        None if path.is_empty() => message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| toml_key(name))
            .unwrap_or_default(),
        None => path.to_string(),
    }
}

/// A key as TOML would write it: bare when it may be, else quoted.
fn toml_key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        name.to_string()
    } else {
        format!("{name:?}")
    }
}

/// Reads and checks config text; `file` names it in errors.
pub fn load_str(text: &str, file: &str) -> Result<Config, ConfigError> {
    let de = toml::Deserializer::new(text);
    let raw: ConfigFile = serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        let line = inner
            .span()
            .map(|s| line_of(text, s.start))
            .or_else(|| locate(text, &key));
        let message = inner.message().to_string();
        ConfigError {
            file: file.to_string(),
            line,
            key: with_missing_field(if key == "." { "" } else { &key }, &message),
            message,
        }
    })?;
    let err = |key: String, message: String| ConfigError {
        file: file.to_string(),
        line: locate_or_enclosing(text, &key),
        key,
        message,
    };
    resolve(raw, file, err)
}

fn unique<'a>(
    names: impl Iterator<Item = &'a str>,
    section: &str,
    err: &impl Fn(String, String) -> ConfigError,
) -> Result<(), ConfigError> {
    let mut seen = BTreeSet::new();
    for (i, n) in names.enumerate() {
        if n.is_empty() {
            return Err(err(
                format!("{section}[{i}].name"),
                "name must not be empty".into(),
            ));
        }
        if !seen.insert(n) {
            return Err(err(
                format!("{section}[{i}].name"),
                format!("duplicate name {n:?}"),
            ));
        }
    }
    Ok(())
}

fn resolve(
    raw: ConfigFile,
    file: &str,
    err: impl Fn(String, String) -> ConfigError,
) -> Result<Config, ConfigError> {
    let g = &raw.global;
    if g.asn == 0 || g.asn == bgp_proto::AS_TRANS {
        return Err(err(
            "global.asn".into(),
            format!("AS {} cannot be used as our AS", g.asn),
        ));
    }
    if g.router_id.is_unspecified() {
        return Err(err(
            "global.router_id".into(),
            "router id must not be 0.0.0.0".into(),
        ));
    }
    if !matches!(
        g.log_level.as_str(),
        "error" | "warn" | "info" | "debug" | "trace"
    ) {
        return Err(err(
            "global.log_level".into(),
            format!(
                "{:?} is not one of error, warn, info, debug, trace",
                g.log_level
            ),
        ));
    }
    unique(raw.classes.iter().map(|c| c.name.as_str()), "classes", &err)?;
    unique(
        raw.peer_groups.iter().map(|c| c.name.as_str()),
        "peer_groups",
        &err,
    )?;
    unique(
        raw.prefix_sets.iter().map(|c| c.name.as_str()),
        "prefix_sets",
        &err,
    )?;
    unique(
        raw.as_path_sets.iter().map(|c| c.name.as_str()),
        "as_path_sets",
        &err,
    )?;
    unique(
        raw.community_sets.iter().map(|c| c.name.as_str()),
        "community_sets",
        &err,
    )?;
    unique(
        raw.policies.iter().map(|c| c.name.as_str()),
        "policies",
        &err,
    )?;
    for (i, s) in raw.as_path_sets.iter().enumerate() {
        for (j, p) in s.patterns.iter().enumerate() {
            if let Err(e) = crate::policy::compile_as_path_pattern(p) {
                return Err(err(format!("as_path_sets[{i}].patterns[{j}]"), e));
            }
        }
    }
    let classes: BTreeSet<&str> = raw.classes.iter().map(|c| c.name.as_str()).collect();
    for (i, p) in raw.policies.iter().enumerate() {
        for (j, st) in p.statements.iter().enumerate() {
            let key = |k: &str| format!("policies[{i}].statements[{j}].match.{k}");
            let m = &st.conditions;
            let check = |name: &Option<String>, known: bool, k: &str, what: &str| match name {
                Some(n) if !known => Err(err(key(k), format!("no {what} named {n:?}"))),
                _ => Ok(()),
            };
            check(
                &m.prefix_set,
                m.prefix_set
                    .as_ref()
                    .is_none_or(|n| raw.prefix_sets.iter().any(|s| &s.name == n)),
                "prefix_set",
                "prefix set",
            )?;
            check(
                &m.as_path_set,
                m.as_path_set
                    .as_ref()
                    .is_none_or(|n| raw.as_path_sets.iter().any(|s| &s.name == n)),
                "as_path_set",
                "AS-path set",
            )?;
            check(
                &m.community_set,
                m.community_set
                    .as_ref()
                    .is_none_or(|n| raw.community_sets.iter().any(|s| &s.name == n)),
                "community_set",
                "community set",
            )?;
            check(
                &m.class,
                m.class
                    .as_ref()
                    .is_none_or(|n| classes.contains(n.as_str())),
                "class",
                "class",
            )?;
        }
    }

    let mut api = raw.api.clone();
    if let Some(path) = api.token_file.take() {
        if api.token.is_some() {
            return Err(err(
                "api.token".into(),
                "set only one of token, token_file".into(),
            ));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| {
            err(
                "api.token_file".into(),
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        api.token = Some(super::ApiToken(
            text.trim_end_matches(['\n', '\r']).to_string(),
        ));
    }
    if api.token.as_ref().is_some_and(|t| t.0.is_empty()) {
        return Err(err("api.token".into(), "the API token is empty".into()));
    }

    let mut neighbors = Vec::new();
    let mut warnings = Vec::new();
    let mut addresses = BTreeSet::new();
    for (i, n) in raw.neighbors.iter().enumerate() {
        let key = |k: &str| format!("neighbors[{i}].{k}");
        let Some(address) = n.address else {
            return Err(err(
                format!("neighbors[{i}]"),
                "missing required key `address`".into(),
            ));
        };
        if !addresses.insert(address) {
            return Err(err(
                key("address"),
                format!("neighbor {address} is configured twice"),
            ));
        }
        let group = match &n.peer_group {
            Some(name) => Some(
                raw.peer_groups
                    .iter()
                    .find(|g| &g.name == name)
                    .ok_or_else(|| {
                        err(key("peer_group"), format!("no peer group named {name:?}"))
                    })?,
            ),
            None => None,
        };
        let own = n.settings();
        let grp = group.map(|g| g.settings()).unwrap_or_default();
        macro_rules! pick {
            ($f:ident) => {
                own.$f.clone().or(grp.$f.clone())
            };
        }
        let Some(peer_as) = pick!(peer_as) else {
            return Err(err(
                key("peer_as"),
                "missing required key `peer_as` (here or in the peer group)".into(),
            ));
        };
        if peer_as == 0 {
            return Err(err(
                key("peer_as"),
                "AS 0 is not a valid peer AS (RFC 7607)".into(),
            ));
        }
        let hold_time = pick!(hold_time).unwrap_or(90);
        if hold_time == 1 || hold_time == 2 {
            return Err(err(
                key("hold_time"),
                format!("hold time {hold_time} is invalid (0 or >= 3, RFC 4271 §4.2)"),
            ));
        }
        if let Some(k) = pick!(keepalive) {
            if hold_time != 0 && k >= hold_time {
                return Err(err(
                    key("keepalive"),
                    format!("keepalive {k} must be less than the hold time {hold_time}"),
                ));
            }
        }
        let ibgp = peer_as == g.asn;
        let role = pick!(role).unwrap_or_default();
        if role == Role::RouteReflectorClient && !ibgp {
            return Err(err(key("role"), format!("route-reflector-client needs an iBGP peer (peer AS {peer_as} is not our AS {})", g.asn)));
        }
        if role == Role::RouteServerClient && ibgp {
            return Err(err(
                key("role"),
                "route-server-client needs an eBGP peer (RFC 7947)".into(),
            ));
        }
        let import_policy = pick!(import_policy).unwrap_or_default();
        let export_policy = pick!(export_policy).unwrap_or_default();
        for (list, k) in [
            (&import_policy, "import_policy"),
            (&export_policy, "export_policy"),
        ] {
            for name in list {
                if !raw.policies.iter().any(|p| &p.name == name) {
                    return Err(err(key(k), format!("no policy named {name:?}")));
                }
            }
        }
        if !ibgp && import_policy.is_empty() && pick!(default_import) != Some(DefaultAction::Accept)
        {
            warnings.push(format!(
                "neighbor {address} (eBGP): no import policy, so no route is accepted (RFC 8212)"
            ));
        }
        if !ibgp && export_policy.is_empty() && pick!(default_export) != Some(DefaultAction::Accept)
        {
            warnings.push(format!(
                "neighbor {address} (eBGP): no export policy, so no route is sent (RFC 8212)"
            ));
        }
        // TCP-MD5 password: from the file, the environment or the config, exactly one.
        let sources = [
            pick!(password).is_some(),
            pick!(password_file).is_some(),
            pick!(password_env).is_some(),
        ];
        if sources.iter().filter(|x| **x).count() > 1 {
            return Err(err(
                key("password"),
                "set only one of password, password_file, password_env".into(),
            ));
        }
        let password = if let Some(p) = pick!(password) {
            Some(p.into_bytes())
        } else if let Some(path) = pick!(password_file) {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                err(
                    key("password_file"),
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            Some(text.trim_end_matches(['\n', '\r']).as_bytes().to_vec())
        } else if let Some(var) = pick!(password_env) {
            Some(
                std::env::var(&var)
                    .map_err(|_| {
                        err(
                            key("password_env"),
                            format!("environment variable {var} is not set"),
                        )
                    })?
                    .into_bytes(),
            )
        } else {
            None
        };
        if let Some(p) = &password {
            if p.is_empty() || p.len() > 80 {
                return Err(err(
                    key("password"),
                    "a TCP-MD5 password has 1 to 80 octets (RFC 2385)".into(),
                ));
            }
        }
        let password = password.map(Password);
        let ttl_security = pick!(ttl_security);
        if ttl_security == Some(0) {
            return Err(err(
                key("ttl_security"),
                "ttl_security counts hops: 1 (directly connected) to 254".into(),
            ));
        }
        let families = pick!(families)
            .unwrap_or_else(|| vec![FamilyName::Ipv4Unicast, FamilyName::Ipv6Unicast]);
        if families.is_empty() {
            return Err(err(key("families"), "at least one family is needed".into()));
        }
        neighbors.push(Neighbor {
            address,
            description: n.description.clone().unwrap_or_default(),
            peer_group: n.peer_group.clone(),
            peer_as,
            role,
            passive: pick!(passive).unwrap_or(false),
            port: pick!(port).unwrap_or(179),
            local_address: pick!(local_address),
            hold_time,
            keepalive: pick!(keepalive),
            connect_retry: pick!(connect_retry).unwrap_or(30).max(1),
            families,
            add_path: pick!(add_path).unwrap_or_default(),
            next_hop_self: pick!(next_hop_self).unwrap_or(false),
            max_prefixes: pick!(max_prefixes),
            import_policy,
            export_policy,
            // RFC 8212: eBGP defaults to reject; iBGP defaults to accept.
            default_import: pick!(default_import).unwrap_or(if ibgp {
                DefaultAction::Accept
            } else {
                DefaultAction::Reject
            }),
            default_export: pick!(default_export).unwrap_or(if ibgp {
                DefaultAction::Accept
            } else {
                DefaultAction::Reject
            }),
            graceful_restart: pick!(graceful_restart).unwrap_or(true),
            restart_time: pick!(restart_time).unwrap_or(120).min(4095),
            password,
            ttl_security,
            max_prefixes_warning: pick!(max_prefixes_warning).unwrap_or(80).min(100),
            max_prefixes_restart: pick!(max_prefixes_restart).unwrap_or(60),
            send_hold_time: pick!(send_hold_time),
            long_lived_stale_time: match pick!(long_lived_stale_time) {
                Some(t) if t > 0xFF_FFFF => {
                    return Err(err(
                        key("long_lived_stale_time"),
                        format!("long-lived stale time {t} does not fit 24 bits (RFC 9494 §3: at most 16777215)"),
                    ))
                }
                Some(0) => None,
                t => t,
            },
            ibgp,
        });
    }
    let audit =
        crate::audit::in_daemon::resolve_config(raw.audit, file).map_err(|(k, m)| err(k, m))?;
    Ok(Config {
        path: file.to_string(),
        cluster_id: raw.global.cluster_id.unwrap_or(raw.global.router_id),
        global: raw.global,
        classes: raw.classes,
        neighbors,
        prefix_sets: raw
            .prefix_sets
            .into_iter()
            .map(|s| (s.name.clone(), s))
            .collect(),
        as_path_sets: raw
            .as_path_sets
            .into_iter()
            .map(|s| (s.name.clone(), s))
            .collect(),
        community_sets: raw
            .community_sets
            .into_iter()
            .map(|s| (s.name.clone(), s))
            .collect(),
        policies: raw
            .policies
            .into_iter()
            .map(|s| (s.name.clone(), s))
            .collect(),
        warnings,
        api,
        recording: raw.recording,
        audit,
        graceful_restart: raw.graceful_restart.resolved(file),
    })
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[global]
asn = 64512
router_id = "198.51.100.2"
listen = ["127.0.0.1:1179"]

[[peer_groups]]
name = "calico"
peer_as = 64513
role = "route-server-client"
import_policy = ["all"]
export_policy = ["all"]

[[neighbors]]
address = "198.51.100.11"
peer_group = "calico"
hold_time = 240

[[policies]]
name = "all"
[[policies.statements]]
action = "accept"
"#;

    #[test]
    fn groups_and_defaults() {
        let c = load_str(BASE, "t.toml").expect("loads");
        let n = &c.neighbors[0];
        assert_eq!(n.peer_as, 64513);
        assert_eq!(n.hold_time, 240);
        assert_eq!(n.role, Role::RouteServerClient);
        assert_eq!(n.import_policy, vec!["all".to_string()]);
        assert_eq!(n.default_import, DefaultAction::Reject);
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let text = BASE.replace("hold_time = 240", "hold_tme = 240");
        let e = load_str(&text, "lab.toml").expect_err("fails");
        assert_eq!(e.line, Some(17), "{e}");
        assert!(e.to_string().starts_with("lab.toml:17:"), "{e}");
        assert!(e.message.contains("unknown field `hold_tme`"), "{e}");
    }

    #[test]
    fn inherited_value_error_has_a_line() {
        // Found by the config_parse fuzz target: a bad policy name in a peer group gave an
        // error keyed by the neighbor, whose own table lacks the key, and no line.
        let text = "[global]\nasn = 64512\nrouter_id = \"198.51.100.2\"\n\n[[peer_groups]]\nname = \"g\"\nimport_policy = [\"nope\"]\n\n[[neighbors]]\naddress = \"198.51.100.1\"\npeer_as = 64513\npeer_group = \"g\"\n";
        let e = load_str(text, "t.toml").expect_err("fails");
        assert_eq!(e.key, "neighbors[0].import_policy", "{e}");
        assert_eq!(e.line, Some(9), "{e}");
    }

    #[test]
    fn missing_key_is_named() {
        // Found by the config_parse fuzz target: an empty file named no key.
        let e = load_str("", "empty.toml").expect_err("fails");
        assert_eq!(e.key, "global", "{e}");
        assert_eq!(e.line, Some(1), "{e}");
        let e = load_str("[global]\nasn = 64512\n", "t.toml").expect_err("fails");
        assert_eq!(e.key, "global.router_id", "{e}");
        assert!(e.line.is_some(), "{e}");
        // Also found by the fuzz target: an unknown key that is the empty string.
        let e = load_str("'' = 0\n", "t.toml").expect_err("fails");
        assert_eq!(e.key, "\"\"", "{e}");
        assert_eq!(e.line, Some(1), "{e}");
        // Found by the config_parse fuzz target: a quoted dot, which the path shows as the
        // root.
        let e = load_str("'.'=8", "t.toml").expect_err("fails");
        assert_eq!(e.key, "\".\"", "{e}");
        assert_eq!(e.line, Some(1), "{e}");
    }

    #[test]
    fn bad_value_names_key() {
        let text = BASE.replace("hold_time = 240", "hold_time = 2");
        let e = load_str(&text, "lab.toml").expect_err("fails");
        assert_eq!(e.key, "neighbors[0].hold_time", "{e}");
        assert_eq!(e.line, Some(17), "{e}");
        let text = BASE.replace("peer_group = \"calico\"", "peer_group = \"calicoo\"");
        let e = load_str(&text, "lab.toml").expect_err("fails");
        assert_eq!(e.key, "neighbors[0].peer_group", "{e}");
        assert_eq!(e.line, Some(16), "{e}");
        let text = BASE.replace(
            "address = \"198.51.100.11\"",
            "address = \"198.51.100.311\"",
        );
        let e = load_str(&text, "lab.toml").expect_err("fails");
        assert_eq!(e.key, "neighbors[0].address", "{e}");
        assert_eq!(e.line, Some(15), "{e}");
    }

    #[test]
    fn ebgp_without_policy_warns_rfc8212() {
        let text = BASE.replace("import_policy = [\"all\"]\n", "");
        let c = load_str(&text, "t.toml").expect("loads");
        assert!(
            c.warnings.iter().any(|w| w.contains("RFC 8212")),
            "{:?}",
            c.warnings
        );
    }

    #[test]
    fn api_token_inline_or_file_never_shown() {
        let c = load_str(&format!("{BASE}\n[api]\ntoken = \"t0ken\"\n"), "t.toml").expect("loads");
        assert_eq!(c.api.token, Some(ApiToken("t0ken".into())));
        assert!(!format!("{c:?}").contains("t0ken"));
        assert!(!serde_json::to_string(&c.api)
            .unwrap_or_default()
            .contains("t0ken"));
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("token");
        std::fs::write(&f, "from-file\n").expect("write");
        let text = format!("{BASE}\n[api]\ntoken_file = \"{}\"\n", f.display());
        let c = load_str(&text, "t.toml").expect("loads");
        assert_eq!(c.api.token, Some(ApiToken("from-file".into())));
        let both = format!(
            "{BASE}\n[api]\ntoken = \"a\"\ntoken_file = \"{}\"\n",
            f.display()
        );
        assert_eq!(
            load_str(&both, "t.toml").expect_err("fails").key,
            "api.token"
        );
        let empty = format!("{BASE}\n[api]\ntoken = \"\"\n");
        assert_eq!(
            load_str(&empty, "t.toml").expect_err("fails").key,
            "api.token"
        );
        let missing = format!("{BASE}\n[api]\ntoken_file = \"/nonexistent/token\"\n");
        assert_eq!(
            load_str(&missing, "t.toml").expect_err("fails").key,
            "api.token_file"
        );
    }
}
