//! Routes from a bgpd RIB JSON snapshot: the output of `bgpd show rib --json` (or of
//! `GET /api/v1/rib`), a JSON array of RIB entries. A snapshot does not say each peer's AS:
//! the upstream is recognised by `upstream.addresses` or by the first AS of the path.

use super::routes::RouteSet;
use crate::daemon::query::RibEntry;
use anyhow::Context as _;

/// The API's default limit: a snapshot of exactly this many entries was probably cut.
const API_DEFAULT_LIMIT: usize = 10_000;

/// Reads a snapshot file.
pub fn read(path: &std::path::Path) -> anyhow::Result<RouteSet> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read snapshot {}", path.display()))?;
    let entries: Vec<RibEntry> = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} is not a bgpd RIB JSON snapshot (a JSON array as `bgpd show rib --json` prints)",
            path.display()
        )
    })?;
    let mut set = RouteSet::from_rib_entries(&entries, &[], format!("snapshot {}", path.display()))
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if entries.len() == API_DEFAULT_LIMIT {
        set.notes.push(format!(
            "the snapshot has exactly {API_DEFAULT_LIMIT} routes, the API's default limit: it may be cut \
             (take it with `curl 'http://127.0.0.1:8179/api/v1/rib?limit=100000000'`)"
        ));
    }
    Ok(set)
}
