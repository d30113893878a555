//! Routes from a running bgpd, through its HTTP API: the Loc-RIB (`/api/v1/rib?view=loc`,
//! every path, not only the best) and the neighbor table (`/api/v1/neighbors`, for each
//! peer's AS). With `adj_rib_in`, each neighbor's Adj-RIB-In instead: what the peers
//! announced before bgpd's import policy, rejected routes included.

use super::routes::RouteSet;
use crate::daemon::query::{NeighborRow, RibEntry};
use anyhow::Context as _;

/// More routes than any lab table has (the API's default limit is 10,000).
pub const NO_LIMIT: usize = 100_000_000;

/// GETs `path` from the API and decodes the JSON answer.
pub fn get_json<T: serde::de::DeserializeOwned>(api: &str, path: &str) -> anyhow::Result<T> {
    let url = format!("{}{path}", api.trim_end_matches('/'));
    let body = match ureq::get(&url)
        .timeout(std::time::Duration::from_secs(120))
        .call()
    {
        Ok(r) => r
            .into_string()
            .with_context(|| format!("reading the answer of {url}"))?,
        Err(ureq::Error::Status(code, r)) => {
            let body = r.into_string().unwrap_or_default();
            anyhow::bail!("{url}: HTTP {code}: {body}")
        }
        Err(e) => {
            return Err(anyhow::anyhow!(e)).with_context(|| {
                format!("cannot reach bgpd's API at {url} (is bgpd running? see --api)")
            })
        }
    };
    serde_json::from_str(&body).with_context(|| format!("{url} did not answer the expected JSON"))
}

/// Reads the routes of a running bgpd.
pub fn fetch(api: &str, adj_rib_in: bool) -> anyhow::Result<RouteSet> {
    let neighbors: Vec<NeighborRow> = get_json(api, "/api/v1/neighbors")?;
    let (entries, view) = if adj_rib_in {
        let mut all: Vec<RibEntry> = Vec::new();
        for n in &neighbors {
            let v: Vec<RibEntry> = get_json(
                api,
                &format!("/api/v1/rib?view=in&peer={}&limit={NO_LIMIT}", n.address),
            )?;
            all.extend(v);
        }
        (all, "Adj-RIB-In of every neighbor")
    } else {
        (
            get_json(api, &format!("/api/v1/rib?view=loc&limit={NO_LIMIT}"))?,
            "Loc-RIB",
        )
    };
    RouteSet::from_rib_entries(&entries, &neighbors, format!("bgpd API {api} ({view})"))
        .map_err(|e| anyhow::anyhow!("{api}: {e}"))
}
