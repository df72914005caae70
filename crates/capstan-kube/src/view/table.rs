//! [`Table`]: the objects of one kind by namespace and name, with the watcher's generations.
//!
//! A watcher (re)lists on `Init`: every object listed is stamped with the new generation, and
//! on `InitDone` the objects not re-seen are dropped, since they were deleted while the watch
//! was down (kube-rs `watcher::Event::InitDone`).

use std::collections::HashMap;
use std::sync::Arc;

struct Entry<R> {
    record: R,
    generation: u32,
}

pub(crate) struct Table<R> {
    namespaces: HashMap<Arc<str>, HashMap<Arc<str>, Entry<R>>>,
    generation: u32,
    len: usize,
}

impl<R> Default for Table<R> {
    fn default() -> Self {
        Self {
            namespaces: HashMap::new(),
            generation: 0,
            len: 0,
        }
    }
}

impl<R> Table<R> {
    /// A (re)list starts.
    pub fn begin_generation(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// Insert or replace; returns the record replaced.
    pub fn upsert(&mut self, namespace: Arc<str>, name: Arc<str>, record: R) -> Option<R> {
        let entry = Entry {
            record,
            generation: self.generation,
        };
        let old = self
            .namespaces
            .entry(namespace)
            .or_default()
            .insert(name, entry);
        if old.is_none() {
            self.len += 1;
        }
        old.map(|e| e.record)
    }

    pub fn remove(&mut self, namespace: &str, name: &str) -> Option<R> {
        let names = self.namespaces.get_mut(namespace)?;
        let old = names.remove(name)?;
        if names.is_empty() {
            self.namespaces.remove(namespace);
        }
        self.len -= 1;
        Some(old.record)
    }

    /// Drop the records not seen since [`Table::begin_generation`]; returns them.
    pub fn sweep(&mut self) -> Vec<R> {
        let current = self.generation;
        let mut gone = Vec::new();
        for names in self.namespaces.values_mut() {
            let stale: Vec<Arc<str>> = names
                .iter()
                .filter(|(_, e)| e.generation != current)
                .map(|(k, _)| k.clone())
                .collect();
            for k in stale {
                if let Some(e) = names.remove(&k) {
                    gone.push(e.record);
                }
            }
        }
        self.namespaces.retain(|_, names| !names.is_empty());
        self.len -= gone.len();
        gone
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<&R> {
        self.namespaces.get(namespace)?.get(name).map(|e| &e.record)
    }

    pub fn iter(&self) -> impl Iterator<Item = &R> {
        self.namespaces
            .values()
            .flat_map(|names| names.values().map(|e| &e.record))
    }

    pub fn in_namespace(&self, namespace: &str) -> impl Iterator<Item = &R> {
        self.namespaces
            .get(namespace)
            .into_iter()
            .flat_map(|names| names.values().map(|e| &e.record))
    }

    pub fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relist_drops_what_it_did_not_see() {
        let mut t = Table::default();
        t.begin_generation();
        t.upsert("a".into(), "x".into(), 1);
        t.upsert("a".into(), "y".into(), 2);
        t.upsert("b".into(), "z".into(), 3);
        assert_eq!(t.len(), 3);
        t.begin_generation();
        assert_eq!(t.upsert("a".into(), "x".into(), 10), Some(1));
        let mut gone = t.sweep();
        gone.sort();
        assert_eq!(gone, [2, 3]);
        assert_eq!(t.len(), 1);
        assert_eq!(t.get("a", "x"), Some(&10));
        assert_eq!(t.in_namespace("b").count(), 0);
        assert_eq!(t.remove("a", "x"), Some(10));
        assert_eq!(t.len(), 0);
    }
}
