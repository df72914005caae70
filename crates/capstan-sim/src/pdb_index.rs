//! Which pods each PodDisruptionBudget selects, kept current by every write, so that the
//! disruption controller recomputes only the budgets a change touches and reads only their
//! pods. A namespace can hold tens of thousands of pods and hundreds of budgets, so budgets
//! are found through their equality requirements (`app=web`) rather than by testing every
//! selector, and a new budget's members are found in one pass over its namespace when the
//! controller next runs, not one pass per budget.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use capstan_core::selector::{LabelSelector, Operator};
use serde_json::Value;

use crate::cluster::keys;
use crate::store::{Obj, ObjKey, Tables};

/// The budgets of one namespace.
#[derive(Debug, Default)]
struct Namespace {
    /// Budget name -> selector (`None`: no selector, which selects nothing in policy/v1).
    selectors: HashMap<Arc<str>, Option<LabelSelector>>,
    /// An equality requirement `key` -> `value` -> the budgets whose selector has it (nested so
    /// that a pod's labels are looked up without allocating).
    by_label: HashMap<String, HashMap<String, Vec<Arc<str>>>>,
    /// Budgets whose selector has no equality requirement (tested against every pod).
    unkeyed: Vec<Arc<str>>,
}

/// The requirement a budget is filed under: its first `key=value` or `key in (value)`.
fn anchor(sel: &LabelSelector) -> Option<(String, String)> {
    sel.requirements
        .iter()
        .find_map(|r| match (&r.operator, r.values.as_slice()) {
            (Operator::Equals | Operator::In, [v]) => Some((r.key.clone(), v.clone())),
            _ => None,
        })
}

impl Namespace {
    fn insert(&mut self, name: Arc<str>, sel: Option<LabelSelector>) {
        if let Some(s) = &sel {
            match anchor(s) {
                Some((k, v)) => self
                    .by_label
                    .entry(k)
                    .or_default()
                    .entry(v)
                    .or_default()
                    .push(name.clone()),
                None => self.unkeyed.push(name.clone()),
            }
        }
        self.selectors.insert(name, sel);
    }

    fn remove(&mut self, name: &str) {
        let Some(Some(sel)) = self.selectors.remove(name) else {
            return;
        };
        match anchor(&sel) {
            Some((k, v)) => {
                if let Some(values) = self.by_label.get_mut(&k) {
                    if let Some(list) = values.get_mut(&v) {
                        list.retain(|n| &**n != name);
                        if list.is_empty() {
                            values.remove(&v);
                        }
                    }
                    if values.is_empty() {
                        self.by_label.remove(&k);
                    }
                }
            }
            None => self.unkeyed.retain(|n| &**n != name),
        }
    }

    fn matching<'a>(&'a self, pod: &'a Obj) -> impl Iterator<Item = &'a Arc<str>> + 'a {
        let keyed = pod.labels.iter().flat_map(move |(k, v)| {
            self.by_label
                .get(k)
                .and_then(|values| values.get(v))
                .into_iter()
                .flatten()
        });
        keyed.chain(self.unkeyed.iter()).filter(move |name| {
            self.selectors
                .get(*name)
                .and_then(Option::as_ref)
                .is_some_and(|s| s.matches(&pod.labels))
        })
    }
}

#[derive(Debug, Default)]
pub struct PdbIndex {
    namespaces: HashMap<Arc<str>, Namespace>,
    /// budget -> the pods it selects (complete unless the budget is stale).
    members: HashMap<ObjKey, BTreeSet<ObjKey>>,
    /// New or re-selected budgets whose members are found by [`PdbIndex::refresh`].
    stale: BTreeSet<ObjKey>,
    /// Budgets whose status must be recomputed.
    pub dirty: BTreeSet<ObjKey>,
}

fn selector_of(pdb: &Value) -> Option<LabelSelector> {
    let sel = pdb.pointer("/spec/selector").filter(|s| !s.is_null())?;
    LabelSelector::from_label_selector_json(sel).ok()
}

/// The pod fields a budget's status depends on.
fn budget_view(pod: &Obj) -> Option<(bool, bool, crate::store::PodPhase)> {
    pod.pod().map(|f| (f.ready, pod.deleting, f.phase))
}

impl PdbIndex {
    /// The pods `pdb` selects; call [`PdbIndex::refresh`] first.
    pub fn members(&self, pdb: &ObjKey) -> impl Iterator<Item = &ObjKey> {
        self.members.get(pdb).into_iter().flatten()
    }

    /// The budgets in `pod`'s namespace whose selector matches it.
    pub fn matching(&self, pod: &Obj) -> Vec<ObjKey> {
        let Some(ns) = self.namespaces.get(&pod.key.namespace) else {
            return Vec::new();
        };
        let mut out: Vec<ObjKey> = ns
            .matching(pod)
            .map(|name| ObjKey {
                namespace: pod.key.namespace.clone(),
                name: name.clone(),
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// A budget was written or removed.
    pub fn observe_pdb(&mut self, key: &ObjKey, new: Option<&Obj>) {
        let ns = self.namespaces.entry(key.namespace.clone()).or_default();
        let Some(new) = new else {
            ns.remove(&key.name);
            self.members.remove(key);
            self.stale.remove(key);
            self.dirty.remove(key);
            return;
        };
        let selector = selector_of(&new.value());
        self.dirty.insert(key.clone());
        if ns.selectors.get(&key.name) == Some(&selector) {
            return; // a status write: the members stay
        }
        ns.remove(&key.name);
        ns.insert(key.name.clone(), selector);
        self.members.insert(key.clone(), BTreeSet::new());
        self.stale.insert(key.clone());
    }

    /// A pod was written or removed: update memberships and mark the budgets whose status may
    /// change (a write that leaves labels, readiness, phase and deletion alone changes none).
    pub fn observe_pod(&mut self, prev: Option<&Obj>, new: Option<&Obj>) {
        if let (Some(p), Some(n)) = (prev, new)
            && p.labels == n.labels
            && budget_view(p) == budget_view(n)
        {
            return;
        }
        if let Some(p) = prev {
            for pdb in self.matching(p) {
                if let Some(m) = self.members.get_mut(&pdb) {
                    m.remove(&p.key);
                }
                self.dirty.insert(pdb);
            }
        }
        if let Some(n) = new {
            for pdb in self.matching(n) {
                if !self.stale.contains(&pdb) {
                    self.members
                        .entry(pdb.clone())
                        .or_default()
                        .insert(n.key.clone());
                }
                self.dirty.insert(pdb);
            }
        }
    }

    /// Find the members of stale budgets: one pass over each namespace that has any.
    pub fn refresh(&mut self, store: &Tables) {
        if self.stale.is_empty() {
            return;
        }
        let stale = std::mem::take(&mut self.stale);
        let namespaces: BTreeSet<Arc<str>> = stale.iter().map(|k| k.namespace.clone()).collect();
        for ns in namespaces {
            for pod in store.range(&keys::PODS, &ns) {
                for pdb in self.matching(pod) {
                    if stale.contains(&pdb) {
                        self.members.entry(pdb).or_default().insert(pod.key.clone());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RvCounter;
    use serde_json::json;

    fn pod(name: &str, app: &str, ready: bool) -> Value {
        json!({"metadata": {"name": name, "namespace": "ns", "labels": {"app": app}},
               "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}})
    }

    fn names(idx: &PdbIndex, pdb: &ObjKey) -> Vec<String> {
        idx.members(pdb).map(|k| k.name.to_string()).collect()
    }

    #[test]
    fn memberships_follow_labels_and_only_relevant_writes_dirty_budgets() {
        let mut store = Tables::new(Arc::new(RvCounter::starting_above(0, 0)), 100);
        let mut idx = PdbIndex::default();
        store.put(&keys::PODS, ObjKey::new("ns", "a"), pod("a", "web", true));
        let web = ObjKey::new("ns", "web");
        let (pdb, _) = store.put(
            &keys::PDBS,
            web.clone(),
            json!({"metadata": {"name": "web", "namespace": "ns"}, "spec": {"selector": {"matchLabels": {"app": "web"}}}}),
        );
        idx.observe_pdb(&web, Some(&pdb));
        idx.refresh(&store);
        assert_eq!(names(&idx, &web), ["a"]);
        idx.dirty.clear();

        // A new matching pod joins; a pod of another app does not.
        let (b, _) = store.put(&keys::PODS, ObjKey::new("ns", "b"), pod("b", "web", false));
        idx.observe_pod(None, Some(&b));
        let (c, _) = store.put(&keys::PODS, ObjKey::new("ns", "c"), pod("c", "db", true));
        idx.observe_pod(None, Some(&c));
        assert_eq!(names(&idx, &web), ["a", "b"]);
        assert!(idx.dirty.contains(&web));
        idx.dirty.clear();

        // A write that changes nothing the budget reads leaves it clean.
        let (a2, prev) = store.put(&keys::PODS, ObjKey::new("ns", "a"), pod("a", "web", true));
        idx.observe_pod(prev.as_deref(), Some(&a2));
        assert!(idx.dirty.is_empty());

        // Relabelling moves a pod out; removal of the budget forgets it.
        let (a3, prev) = store.put(&keys::PODS, ObjKey::new("ns", "a"), pod("a", "db", true));
        idx.observe_pod(prev.as_deref(), Some(&a3));
        assert_eq!(names(&idx, &web), ["b"]);
        assert!(idx.dirty.contains(&web));
        idx.observe_pdb(&web, None);
        assert_eq!(names(&idx, &web), Vec::<String>::new());
        assert!(idx.matching(&b).is_empty());
    }

    #[test]
    fn a_budget_without_selector_selects_nothing() {
        let mut store = Tables::new(Arc::new(RvCounter::starting_above(0, 0)), 100);
        let mut idx = PdbIndex::default();
        let (p, _) = store.put(&keys::PODS, ObjKey::new("ns", "a"), pod("a", "web", true));
        let key = ObjKey::new("ns", "none");
        let (pdb, _) = store.put(
            &keys::PDBS,
            key.clone(),
            json!({"metadata": {"name": "none", "namespace": "ns"}, "spec": {}}),
        );
        idx.observe_pdb(&key, Some(&pdb));
        idx.refresh(&store);
        assert!(idx.matching(&p).is_empty());
        assert_eq!(idx.members(&key).count(), 0);
    }
}
