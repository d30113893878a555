//! Prefix matches as network engineers write them: `10.244.0.0/16 le 26`,
//! `203.0.113.0/24 ge 32 le 32`, `0.0.0.0/0` (exact).

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A prefix with an optional length range: matches prefixes inside `net` whose length is in
/// `ge..=le` (both default to the length of `net`, i.e. an exact match).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrefixMatch {
    /// The covering prefix.
    pub net: IpNet,
    /// Smallest matching length.
    pub ge: u8,
    /// Largest matching length.
    pub le: u8,
}

impl PrefixMatch {
    /// Whether `prefix` lies inside `net` with a length in range.
    pub fn matches(&self, prefix: &IpNet) -> bool {
        let len = prefix.prefix_len();
        len >= self.ge && len <= self.le && self.net.contains(prefix)
    }
}

impl FromStr for PrefixMatch {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut words = s.split_whitespace();
        let net_text = words.next().ok_or("empty prefix")?;
        let net: IpNet = net_text
            .parse()
            .map_err(|_| format!("{net_text:?} is not a prefix (expected e.g. 10.244.0.0/16)"))?;
        if net.trunc() != net {
            return Err(format!(
                "{net} has host bits set (did you mean {}?)",
                net.trunc()
            ));
        }
        let max = net.max_prefix_len();
        let (mut ge, mut le) = (net.prefix_len(), net.prefix_len());
        let mut saw_ge = false;
        while let Some(word) = words.next() {
            let value: u8 = words
                .next()
                .ok_or_else(|| format!("{word:?} needs a length"))?
                .parse()
                .map_err(|_| format!("{word:?} needs a number"))?;
            match word {
                "ge" => {
                    ge = value;
                    saw_ge = true;
                    if le < ge {
                        le = max;
                    }
                }
                "le" => le = value,
                other => return Err(format!("unknown word {other:?} (expected ge or le)")),
            }
        }
        if !saw_ge && le > net.prefix_len() {
            ge = net.prefix_len();
        }
        if ge < net.prefix_len() || le > max || ge > le {
            return Err(format!(
                "length range {ge}..{le} does not fit {net} (need {} <= ge <= le <= {max})",
                net.prefix_len()
            ));
        }
        Ok(PrefixMatch { net, ge, le })
    }
}

impl fmt::Display for PrefixMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.net)?;
        if self.ge != self.net.prefix_len() {
            write!(f, " ge {}", self.ge)?;
        }
        if self.le != self.net.prefix_len() {
            write!(f, " le {}", self.le)?;
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for PrefixMatch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for PrefixMatch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> IpNet {
        s.parse().expect("prefix")
    }

    #[test]
    fn ranges() {
        let pods: PrefixMatch = "10.244.0.0/16 le 26".parse().expect("parses");
        assert!(pods.matches(&p("10.244.1.0/26")));
        assert!(pods.matches(&p("10.244.0.0/16")));
        assert!(!pods.matches(&p("10.244.1.0/27")));
        assert!(!pods.matches(&p("10.245.0.0/26")));
        let lb: PrefixMatch = "203.0.113.0/24 ge 32".parse().expect("parses");
        assert!(lb.matches(&p("203.0.113.7/32")));
        assert!(!lb.matches(&p("203.0.113.0/24")));
        let exact: PrefixMatch = "0.0.0.0/0".parse().expect("parses");
        assert!(exact.matches(&p("0.0.0.0/0")));
        assert!(!exact.matches(&p("10.0.0.0/8")));
        assert!("10.244.0.1/16".parse::<PrefixMatch>().is_err());
        assert!("10.244.0.0/16 le 33".parse::<PrefixMatch>().is_err());
        assert!("10.244.0.0/16 ge 8".parse::<PrefixMatch>().is_err());
        assert_eq!(pods.to_string(), "10.244.0.0/16 le 26");
    }
}
