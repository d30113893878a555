//! Prefix classes (`pod`, `loadbalancer`, ...): which label a route carries in logs, metrics
//! and the API. A route is in the first configured class whose prefixes match and whose
//! origin ASes (if any are listed) include the route's origin AS.

use crate::config::ClassConfig;
use ipnet::IpNet;

/// Index of a class in [`ClassTable`].
pub type ClassId = u16;

/// The configured classes, in order.
#[derive(Debug, Clone, Default)]
pub struct ClassTable {
    classes: Vec<ClassConfig>,
}

impl ClassTable {
    /// The classes of a config.
    pub fn new(classes: &[ClassConfig]) -> Self {
        ClassTable {
            classes: classes.to_vec(),
        }
    }

    /// The class of a route, if any.
    #[inline]
    pub fn classify(&self, prefix: &IpNet, origin_as: Option<u32>) -> Option<ClassId> {
        if self.classes.is_empty() {
            return None;
        }
        self.classes
            .iter()
            .position(|c| {
                c.prefixes.iter().any(|p| p.matches(prefix))
                    && (c.origin_as.is_empty()
                        || origin_as.is_some_and(|o| c.origin_as.contains(&o)))
            })
            .and_then(|i| ClassId::try_from(i).ok())
    }

    /// The name of a class.
    pub fn name(&self, id: Option<ClassId>) -> Option<&str> {
        id.and_then(|i| self.classes.get(usize::from(i)))
            .map(|c| c.name.as_str())
    }

    /// Every class name, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.classes.iter().map(|c| c.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_matching_class_with_origin() {
        let t = ClassTable::new(&[
            ClassConfig {
                name: "pod".into(),
                prefixes: vec!["10.244.0.0/16 le 26".parse().expect("m")],
                origin_as: vec![64513],
            },
            ClassConfig {
                name: "loadbalancer".into(),
                prefixes: vec!["203.0.113.0/24 le 32".parse().expect("m")],
                origin_as: vec![64514],
            },
        ]);
        let pod: IpNet = "10.244.3.64/26".parse().expect("p");
        assert_eq!(t.name(t.classify(&pod, Some(64513))), Some("pod"));
        assert_eq!(t.classify(&pod, Some(64514)), None, "wrong origin");
        let lb: IpNet = "203.0.113.10/32".parse().expect("p");
        assert_eq!(t.name(t.classify(&lb, Some(64514))), Some("loadbalancer"));
        assert_eq!(
            t.classify(&"8.8.8.0/24".parse().expect("p"), Some(15169)),
            None
        );
    }
}
