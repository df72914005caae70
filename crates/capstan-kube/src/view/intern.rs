//! Interning: one shared allocation per distinct string, label set and owner, so that a
//! million pods of a few thousand ReplicaSets cost a few thousand label sets, not a million
//! maps.

use std::collections::HashSet;
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use capstan_core::selector::Labels as LabelsTrait;

/// A set of labels sorted by key, shared between the objects that carry the same set.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Labels(Arc<[(Arc<str>, Arc<str>)]>);

impl Labels {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| (**k).cmp(key))
            .ok()
            .map(|i| &*self.0[i].1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether two values are the same shared set (cheaper than comparing contents).
    pub fn same_set(&self, other: &Labels) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// An address identifying the shared set, for grouping objects by label set.
    pub(crate) fn id(&self) -> usize {
        Arc::as_ptr(&self.0) as *const () as usize
    }

    pub fn to_btree(&self) -> std::collections::BTreeMap<String, String> {
        self.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

impl LabelsTrait for Labels {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.get(key)
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The controller ownerReference of an object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Owner {
    pub api_version: Arc<str>,
    pub kind: Arc<str>,
    pub name: Arc<str>,
}

/// One container's name and requests.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContainerRequest {
    pub name: Arc<str>,
    pub cpu_millis: u64,
    pub memory_bytes: u64,
    pub gpus: u64,
}

/// A pod's containers and their requests, shared between the pods of one template (a
/// million pods of a few thousand templates hold a few thousand of these).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ContainerRequests(Arc<[ContainerRequest]>);

impl std::ops::Deref for ContainerRequests {
    type Target = [ContainerRequest];
    fn deref(&self) -> &[ContainerRequest] {
        &self.0
    }
}

/// Interned strings, label sets and owners of one store.
#[derive(Default)]
pub(crate) struct Interner {
    strings: HashSet<Arc<str>>,
    label_sets: HashSet<Labels>,
    owners: HashSet<Arc<Owner>>,
    containers: HashSet<ContainerRequests>,
    /// Removals since the last [`Interner::collect`], to collect only when it may pay off.
    removals: usize,
}

impl Interner {
    pub fn str(&mut self, s: &str) -> Arc<str> {
        if let Some(v) = self.strings.get(s) {
            return v.clone();
        }
        let v: Arc<str> = Arc::from(s);
        self.strings.insert(v.clone());
        v
    }

    pub fn labels<'a>(
        &mut self,
        labels: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Labels {
        // BTreeMap iteration is already sorted by key, which `Labels::get` relies on.
        let pairs: Vec<(Arc<str>, Arc<str>)> = labels
            .into_iter()
            .map(|(k, v)| (self.str(k), self.str(v)))
            .collect();
        debug_assert!(pairs.windows(2).all(|w| w[0].0 < w[1].0));
        let candidate = Labels(Arc::from(pairs));
        if let Some(v) = self.label_sets.get(&candidate) {
            return v.clone();
        }
        self.label_sets.insert(candidate.clone());
        candidate
    }

    pub fn owner(&mut self, api_version: &str, kind: &str, name: &str) -> Arc<Owner> {
        let owner = Owner {
            api_version: self.str(api_version),
            kind: self.str(kind),
            name: self.str(name),
        };
        if let Some(v) = self.owners.get(&owner) {
            return v.clone();
        }
        let v = Arc::new(owner);
        self.owners.insert(v.clone());
        v
    }

    pub fn containers(&mut self, containers: &[crate::slim::SlimContainer]) -> ContainerRequests {
        let list: Vec<ContainerRequest> = containers
            .iter()
            .map(|c| ContainerRequest {
                name: self.str(&c.name),
                cpu_millis: c.cpu_request_millis,
                memory_bytes: c.memory_request_bytes,
                gpus: c.gpu_request,
            })
            .collect();
        let candidate = ContainerRequests(Arc::from(list));
        if let Some(v) = self.containers.get(&candidate) {
            return v.clone();
        }
        self.containers.insert(candidate.clone());
        candidate
    }

    /// Note that an object went away; collect when removals reach a quarter of what is held.
    pub fn removed(&mut self, n: usize) {
        self.removals += n;
        if self.removals > 1024 && self.removals * 4 > self.strings.len() + self.label_sets.len() {
            self.collect();
        }
    }

    /// Drop what only the interner still holds. Owners and label sets go first, since they
    /// hold strings.
    pub fn collect(&mut self) {
        self.owners.retain(|o| Arc::strong_count(o) > 1);
        self.containers.retain(|c| Arc::strong_count(&c.0) > 1);
        self.label_sets.retain(|l| Arc::strong_count(&l.0) > 1);
        self.strings.retain(|s| Arc::strong_count(s) > 1);
        self.removals = 0;
    }

    #[cfg(test)]
    pub fn held(&self) -> (usize, usize, usize) {
        (self.strings.len(), self.label_sets.len(), self.owners.len())
    }
}

/// A UID: 16 bytes for the canonical lowercase UUID form the API server assigns, the string
/// otherwise.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Uid {
    Uuid(u128),
    Other(Arc<str>),
}

impl Uid {
    pub fn parse(s: &str) -> Self {
        Self::uuid(s).map_or_else(|| Self::Other(Arc::from(s)), Self::Uuid)
    }

    fn uuid(s: &str) -> Option<u128> {
        let b = s.as_bytes();
        if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
            return None;
        }
        let mut v: u128 = 0;
        for (i, &c) in b.iter().enumerate() {
            if [8, 13, 18, 23].contains(&i) {
                continue;
            }
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                _ => return None,
            };
            v = (v << 4) | u128::from(d);
        }
        Some(v)
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Uuid(v) => {
                let h = format!("{v:032x}");
                write!(
                    f,
                    "{}-{}-{}-{}-{}",
                    &h[..8],
                    &h[8..12],
                    &h[12..16],
                    &h[16..20],
                    &h[20..]
                )
            }
            Self::Other(s) => f.write_str(s),
        }
    }
}

impl fmt::Debug for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn equal_label_sets_share_one_allocation_until_collected() {
        let mut i = Interner::default();
        let m: BTreeMap<String, String> = [("app", "web"), ("tier", "front")]
            .map(|(k, v)| (k.into(), v.into()))
            .into();
        let a = i.labels(&m);
        let b = i.labels(&m);
        assert!(a.same_set(&b));
        assert_eq!(a.get("tier"), Some("front"));
        assert_eq!(a.get("zone"), None);
        assert_eq!(i.held(), (4, 1, 0));
        drop((a, b));
        i.collect();
        assert_eq!(i.held(), (0, 0, 0));
    }

    #[test]
    fn uuids_round_trip_and_other_uids_are_kept() {
        for s in [
            "0d9f4c2e-1b7a-4c3d-9e8f-0123456789ab",
            "not-a-uuid",
            "0D9F4C2E-1B7A-4C3D-9E8F-0123456789AB",
        ] {
            assert_eq!(Uid::parse(s).to_string(), s);
        }
        assert!(matches!(
            Uid::parse("0d9f4c2e-1b7a-4c3d-9e8f-0123456789ab"),
            Uid::Uuid(_)
        ));
    }
}
