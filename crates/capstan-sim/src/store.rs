//! Versioned object storage for one simulated cluster: persistent maps for O(1) list snapshots,
//! a bounded event history per resource for watches, and the resourceVersion discipline.
//!
//! Objects are kept as their JSON bytes, serialised once per write and shared by every list and
//! watch that sends them (upstream's "caching objects" idea). The few fields the twin itself
//! needs (labels, owners, pod and node facts) are extracted at write time.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
use capstan_core::selector::Labels;
use serde_json::Value;

use crate::resources::ResKey;

mod packed;
pub use packed::{DICTIONARY_SAMPLES, Dictionary, StoredJson, dictionary_from};

/// Namespace ("" when cluster-scoped) and name; ordered as etcd orders keys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjKey {
    pub namespace: Arc<str>,
    pub name: Arc<str>,
}

impl ObjKey {
    pub fn new(namespace: &str, name: &str) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    pub fn cluster(name: &str) -> Self {
        Self::new("", name)
    }
}

impl std::fmt::Display for ObjKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}", self.name)
        } else {
            write!(f, "{}/{}", self.namespace, self.name)
        }
    }
}

pub type ObjMap = imbl::OrdMap<ObjKey, Arc<Obj>>;

/// Labels as stored: a small sorted slice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSet(Box<[(Box<str>, Box<str>)]>);

impl LabelSet {
    pub fn from_value(labels: Option<&Value>) -> Self {
        let Some(map) = labels.and_then(Value::as_object) else {
            return Self::default();
        };
        let mut pairs: Vec<(Box<str>, Box<str>)> = map
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k.as_str().into(), v.into())))
            .collect();
        pairs.sort();
        Self(pairs.into_boxed_slice())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }
}

impl Labels for LabelSet {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| (**k).cmp(key))
            .ok()
            .map(|i| &*self.0[i].1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
}

impl PodPhase {
    pub fn parse(s: &str) -> Self {
        match s {
            "Running" => Self::Running,
            "Succeeded" => Self::Succeeded,
            "Failed" => Self::Failed,
            "Unknown" => Self::Unknown,
            _ => Self::Pending,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Unknown => "Unknown",
        }
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

/// What the twin's controllers need to know about a pod without parsing it.
#[derive(Debug, Clone, PartialEq)]
pub struct PodFacts {
    pub node_name: Option<Box<str>>,
    pub phase: PodPhase,
    pub ready: bool,
    pub cpu_millis: i64,
    pub memory_bytes: i64,
    /// The controlling owner: (kind, uid).
    pub controller: Option<(Box<str>, Box<str>)>,
    /// The controlling owner's name (kept so that writes need not re-parse the pod).
    pub controller_name: Option<Box<str>>,
}

/// What the twin's controllers need to know about a node without parsing it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeFacts {
    pub ready: bool,
    pub unschedulable: bool,
    pub cpu_millis: i64,
    pub memory_bytes: i64,
    pub max_pods: i64,
    /// Has a NoSchedule/NoExecute taint other than the unschedulable one (the scheduler
    /// keeps pods without a matching toleration off such nodes).
    pub hard_taints: Box<[Box<str>]>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Facts {
    None,
    Pod(PodFacts),
    Node(NodeFacts),
}

/// One stored object version.
#[derive(Debug)]
pub struct Obj {
    pub key: ObjKey,
    pub rv: u64,
    pub uid: Box<str>,
    /// The object's JSON with `metadata.resourceVersion` = `rv`.
    body: StoredJson,
    pub labels: LabelSet,
    /// UIDs of the owners in `metadata.ownerReferences`.
    pub owners: Box<[Box<str>]>,
    pub deleting: bool,
    pub facts: Facts,
}

impl Obj {
    /// Build a stored object from its value; stamps `rv` into `metadata.resourceVersion`.
    pub fn build(
        res: &ResKey,
        key: ObjKey,
        rv: u64,
        value: &mut Value,
        dict: Option<&Dictionary>,
    ) -> Arc<Obj> {
        if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
        }
        let meta = value.get("metadata");
        let uid: Box<str> = meta
            .and_then(|m| m.get("uid"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .into();
        let labels = LabelSet::from_value(meta.and_then(|m| m.get("labels")));
        let owners: Box<[Box<str>]> = meta
            .and_then(|m| m.get("ownerReferences"))
            .and_then(Value::as_array)
            .map(|refs| {
                refs.iter()
                    .filter_map(|r| r.get("uid").and_then(Value::as_str).map(Into::into))
                    .collect()
            })
            .unwrap_or_default();
        let deleting = meta
            .and_then(|m| m.get("deletionTimestamp"))
            .is_some_and(|d| !d.is_null());
        let facts = if res.group.is_empty() && &*res.plural == "pods" {
            Facts::Pod(pod_facts(value))
        } else if res.group.is_empty() && &*res.plural == "nodes" {
            Facts::Node(node_facts(value))
        } else {
            Facts::None
        };
        // Serialising a Value cannot fail: its keys are strings and it holds no foreign types.
        let body = StoredJson::new(serde_json::to_vec(value).unwrap_or_default(), dict);
        Arc::new(Obj {
            key,
            rv,
            uid,
            body,
            labels,
            owners,
            deleting,
            facts,
        })
    }

    /// The object as a JSON value (parsed from the stored bytes).
    pub fn value(&self) -> Value {
        serde_json::from_slice(&self.json()).unwrap_or(Value::Null)
    }

    /// The object's JSON.
    pub fn json(&self) -> Bytes {
        self.body.bytes()
    }

    /// (JSON length, bytes stored for it).
    pub fn json_sizes(&self) -> (usize, usize) {
        (self.body.len(), self.body.stored_len())
    }

    /// Append the object's JSON to `out` (no intermediate copy).
    pub fn write_json(&self, out: &mut BytesMut) {
        self.body.write_to(out);
    }

    pub fn pod(&self) -> Option<&PodFacts> {
        match &self.facts {
            Facts::Pod(p) => Some(p),
            _ => None,
        }
    }

    pub fn node(&self) -> Option<&NodeFacts> {
        match &self.facts {
            Facts::Node(n) => Some(n),
            _ => None,
        }
    }
}

fn quantity_millis(v: Option<&Value>) -> i64 {
    v.and_then(Value::as_str)
        .and_then(|s| capstan_core::quantity::Quantity::parse(s).ok())
        .map(|q| q.millis())
        .unwrap_or(0)
}

fn quantity_value(v: Option<&Value>) -> i64 {
    v.and_then(Value::as_str)
        .and_then(|s| capstan_core::quantity::Quantity::parse(s).ok())
        .map(|q| q.value())
        .unwrap_or(0)
}

fn condition_true(status: Option<&Value>, ty: &str) -> bool {
    status
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .is_some_and(|conds| {
            conds.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some(ty)
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

fn pod_facts(pod: &Value) -> PodFacts {
    let spec = pod.get("spec");
    let status = pod.get("status");
    let mut cpu = 0;
    let mut mem = 0;
    if let Some(containers) = spec
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array)
    {
        for c in containers {
            let req = c.pointer("/resources/requests");
            cpu += quantity_millis(req.and_then(|r| r.get("cpu")));
            mem += quantity_value(req.and_then(|r| r.get("memory")));
        }
    }
    let controller_ref = pod
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .and_then(|refs| {
            refs.iter()
                .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        });
    let controller_name = controller_ref
        .and_then(|r| r.get("name"))
        .and_then(Value::as_str)
        .map(Into::into);
    let controller = controller_ref.and_then(|r| {
        Some((
            r.get("kind")?.as_str()?.into(),
            r.get("uid")?.as_str()?.into(),
        ))
    });
    PodFacts {
        node_name: spec
            .and_then(|s| s.get("nodeName"))
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map(Into::into),
        phase: PodPhase::parse(
            status
                .and_then(|s| s.get("phase"))
                .and_then(Value::as_str)
                .unwrap_or("Pending"),
        ),
        ready: condition_true(status, "Ready"),
        cpu_millis: cpu,
        memory_bytes: mem,
        controller,
        controller_name,
    }
}

fn node_facts(node: &Value) -> NodeFacts {
    let status = node.get("status");
    let alloc = status.and_then(|s| s.get("allocatable"));
    let hard_taints = node
        .pointer("/spec/taints")
        .and_then(Value::as_array)
        .map(|taints| {
            taints
                .iter()
                .filter(|t| {
                    matches!(
                        t.get("effect").and_then(Value::as_str),
                        Some("NoSchedule" | "NoExecute")
                    ) && t.get("key").and_then(Value::as_str)
                        != Some("node.kubernetes.io/unschedulable")
                })
                .filter_map(|t| t.get("key").and_then(Value::as_str).map(Into::into))
                .collect()
        })
        .unwrap_or_default();
    NodeFacts {
        ready: condition_true(status, "Ready"),
        unschedulable: node
            .pointer("/spec/unschedulable")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        cpu_millis: quantity_millis(alloc.and_then(|a| a.get("cpu"))),
        memory_bytes: quantity_value(alloc.and_then(|a| a.get("memory"))),
        max_pods: quantity_value(alloc.and_then(|a| a.get("pods"))),
        hard_taints,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One change to one object, as watchers receive it.
#[derive(Debug)]
pub struct Change {
    pub rv: u64,
    pub kind: EventType,
    /// The new state (for DELETED: the last state, stamped with the deletion's RV).
    pub obj: Arc<Obj>,
    /// The state before the change, so that selector-filtered watches can turn a MODIFIED
    /// that leaves (or enters) the selection into a DELETED (or ADDED), as upstream's cacher does.
    pub prev: Option<Arc<Obj>>,
}

/// One resource's objects and recent history within a cluster.
#[derive(Debug, Default)]
pub struct Table {
    pub objects: ObjMap,
    history: VecDeque<Arc<Change>>,
    /// Watches from a resourceVersion below this cannot be served from history (410 Expired).
    compacted_rv: u64,
    /// Recent list snapshots for consistent pagination, newest last.
    snapshots: VecDeque<(u64, ObjMap)>,
    /// Open watches -> the resourceVersion up to which each has read this table. Compaction
    /// keeps what they have not read: an open watch outlives compaction, as upstream's do; only
    /// a watch that falls a whole history behind is expired.
    open_watches: std::collections::HashMap<u64, u64>,
    /// The dictionary this resource's objects are compressed with, once it has enough of them.
    dict: Option<Dictionary>,
}

/// How many list snapshots a table keeps for `continue` tokens.
const SNAPSHOTS_KEPT: usize = 16;

impl Table {
    pub fn new(created_at_rv: u64) -> Self {
        Self {
            compacted_rv: created_at_rv,
            ..Default::default()
        }
    }

    pub fn compacted_rv(&self) -> u64 {
        self.compacted_rv
    }

    /// Changes after `rv`, or `Err(oldest servable rv)` when `rv` is older than the history.
    pub fn changes_since(&self, rv: u64) -> Result<Vec<Arc<Change>>, u64> {
        if rv < self.compacted_rv {
            return Err(self.compacted_rv);
        }
        let start = self.history.partition_point(|c| c.rv <= rv);
        Ok(self.history.range(start..).cloned().collect())
    }

    /// The dictionary for this resource; what is compressed with it is decompressed with the
    /// same one (each object keeps a reference), so it is made once and never changes.
    pub fn dictionary(&self) -> Option<&Dictionary> {
        self.dict.as_ref()
    }

    fn make_dictionary_when_ready(&mut self) {
        if self.dict.is_none() && self.objects.len() >= DICTIONARY_SAMPLES {
            self.dict = Some(dictionary_from(
                self.objects
                    .values()
                    .take(DICTIONARY_SAMPLES)
                    .map(|o| o.json()),
            ));
        }
    }

    /// Register an open watch that has read up to `rv`, or move it forward.
    pub fn watch_read_up_to(&mut self, id: u64, rv: u64) {
        self.open_watches.insert(id, rv);
    }

    pub fn close_watch(&mut self, id: u64) {
        self.open_watches.remove(&id);
    }

    fn record(&mut self, change: Change, history_limit: usize) {
        self.history.push_back(Arc::new(change));
        while self.history.len() > history_limit {
            if let Some(old) = self.history.pop_front() {
                self.compacted_rv = old.rv;
            }
        }
    }

    /// Drop history up to `at_rv`, as etcd compaction does, except what open watches have not
    /// read yet (for tests and the compaction endpoint).
    pub fn compact(&mut self, at_rv: u64) {
        let keep_after = self
            .open_watches
            .values()
            .copied()
            .min()
            .map_or(at_rv, |oldest_reader| oldest_reader.min(at_rv));
        while self.history.front().is_some_and(|c| c.rv <= keep_after) {
            self.history.pop_front();
        }
        self.snapshots.clear();
        self.compacted_rv = self.compacted_rv.max(keep_after);
    }

    /// Pin the current objects as the snapshot for `rv`.
    pub fn pin_snapshot(&mut self, rv: u64) -> ObjMap {
        if let Some((_, map)) = self.snapshots.iter().find(|(r, _)| *r == rv) {
            return map.clone();
        }
        let map = self.objects.clone();
        self.snapshots.push_back((rv, map.clone()));
        while self.snapshots.len() > SNAPSHOTS_KEPT {
            self.snapshots.pop_front();
        }
        map
    }

    pub fn snapshot_at(&self, rv: u64) -> Option<ObjMap> {
        self.snapshots
            .iter()
            .find(|(r, _)| *r == rv)
            .map(|(_, m)| m.clone())
    }
}

/// The process-wide resourceVersion counter. One counter for all clusters keeps every
/// cluster's sequence strictly increasing (clients treat RVs as opaque, so gaps are invisible).
#[derive(Debug)]
pub struct RvCounter(AtomicU64);

impl RvCounter {
    /// Start above both `floor` (e.g. the high-water mark persisted by a previous run) and the
    /// wall clock in microseconds, so RVs never go backwards across restarts (invariant 6).
    pub fn starting_above(floor: u64, wall_micros: u64) -> Self {
        Self(AtomicU64::new(floor.max(wall_micros)))
    }

    pub fn next(&self) -> u64 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }

    pub fn current(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// All resources of one cluster. Writes go through [`Tables::put`] and [`Tables::remove`], which
/// assign resourceVersions and record history.
#[derive(Debug)]
pub struct Tables {
    tables: HashMap<ResKey, Table>,
    rv: Arc<RvCounter>,
    /// The newest RV written in this cluster.
    last_rv: u64,
    created_rv: u64,
    history_limit: usize,
    /// One shared copy of each namespace name for every key in it.
    namespaces: std::collections::HashSet<Arc<str>>,
}

impl Tables {
    pub fn new(rv: Arc<RvCounter>, history_limit: usize) -> Self {
        let created_rv = rv.next();
        Self {
            tables: HashMap::new(),
            rv,
            last_rv: created_rv,
            created_rv,
            history_limit: history_limit.max(1),
            namespaces: Default::default(),
        }
    }

    /// The cluster's current resourceVersion (what a list at "most recent" reports).
    pub fn current_rv(&self) -> u64 {
        self.last_rv
    }

    pub fn table(&self, res: &ResKey) -> Option<&Table> {
        self.tables.get(res)
    }

    pub fn table_mut(&mut self, res: &ResKey) -> &mut Table {
        let created = self.created_rv;
        self.tables
            .entry(res.clone())
            .or_insert_with(|| Table::new(created))
    }

    pub fn get(&self, res: &ResKey, key: &ObjKey) -> Option<Arc<Obj>> {
        self.tables.get(res)?.objects.get(key).cloned()
    }

    fn intern(&mut self, key: ObjKey) -> ObjKey {
        if key.namespace.is_empty() {
            return key;
        }
        match self.namespaces.get(&*key.namespace) {
            Some(ns) => ObjKey {
                namespace: ns.clone(),
                name: key.name,
            },
            None => {
                self.namespaces.insert(key.namespace.clone());
                key
            }
        }
    }

    /// Write `value` as the new state of `key`; returns (new, previous).
    pub fn put(
        &mut self,
        res: &ResKey,
        key: ObjKey,
        mut value: Value,
    ) -> (Arc<Obj>, Option<Arc<Obj>>) {
        let key = self.intern(key);
        let rv = self.rv.next();
        self.last_rv = rv;
        let limit = self.history_limit;
        let table = self.table_mut(res);
        let obj = Obj::build(res, key.clone(), rv, &mut value, table.dict.as_ref());
        let prev = table.objects.insert(key, obj.clone());
        table.make_dictionary_when_ready();
        let kind = if prev.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        table.record(
            Change {
                rv,
                kind,
                obj: obj.clone(),
                prev: prev.clone(),
            },
            limit,
        );
        (obj, prev)
    }

    /// Remove `key`; the DELETED event carries the last state stamped with a new RV.
    pub fn remove(&mut self, res: &ResKey, key: &ObjKey) -> Option<Arc<Obj>> {
        let table = self.tables.get_mut(res)?;
        let prev = table.objects.remove(key)?;
        let rv = self.rv.next();
        self.last_rv = rv;
        let mut last = prev.value();
        let gone = Obj::build(res, key.clone(), rv, &mut last, table.dict.as_ref());
        let limit = self.history_limit;
        let table = self.table_mut(res);
        table.record(
            Change {
                rv,
                kind: EventType::Deleted,
                obj: gone.clone(),
                prev: Some(prev),
            },
            limit,
        );
        Some(gone)
    }

    /// Drop history in every table (etcd compaction): watches that reconnect from older RVs
    /// get 410; open watches keep what they have not read yet.
    pub fn compact_all(&mut self) {
        let at = self.last_rv;
        for table in self.tables.values_mut() {
            table.compact(at);
        }
    }

    /// What an API server restart does to watches: every history is dropped and the watch
    /// cache starts at a new resourceVersion, so any watch resuming from before it gets 410.
    /// (The caller closes the open watches.)
    pub fn restart_watch_cache(&mut self) {
        let at = self.rv.next();
        self.last_rv = at;
        for table in self.tables.values_mut() {
            table.open_watches.clear();
            table.compact(at);
        }
    }

    pub fn resources(&self) -> impl Iterator<Item = (&ResKey, &Table)> {
        self.tables.iter()
    }

    /// Objects of `res` in `namespace` ("" = all namespaces), in key order.
    pub fn range<'a>(
        &'a self,
        res: &ResKey,
        namespace: &str,
    ) -> Box<dyn Iterator<Item = &'a Arc<Obj>> + 'a> {
        let Some(table) = self.tables.get(res) else {
            return Box::new(std::iter::empty());
        };
        if namespace.is_empty() {
            Box::new(table.objects.values())
        } else {
            let ns: Arc<str> = namespace.into();
            let start = ObjKey {
                namespace: ns.clone(),
                name: "".into(),
            };
            Box::new(
                table
                    .objects
                    .range(start..)
                    .take_while(move |(k, _)| k.namespace == ns)
                    .map(|(_, v)| v),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tables() -> Tables {
        Tables::new(Arc::new(RvCounter::starting_above(100, 0)), 3)
    }

    #[test]
    fn writes_advance_rv_and_history_is_bounded() {
        let mut t = tables();
        let pods = ResKey::new("", "pods");
        let mut last = 0;
        for i in 0..5 {
            let (obj, _) = t.put(
                &pods,
                ObjKey::new("ns", &format!("p{i}")),
                json!({"metadata": {"name": format!("p{i}"), "namespace": "ns"}}),
            );
            assert!(obj.rv > last);
            last = obj.rv;
            let v = obj.value();
            assert_eq!(v["metadata"]["resourceVersion"], json!(obj.rv.to_string()));
        }
        let table = t.table(&pods).unwrap();
        // Only the last three changes are kept; older ones are compacted.
        assert!(table.changes_since(last - 5).is_err());
        assert_eq!(table.changes_since(last - 3).unwrap().len(), 3);
        assert_eq!(table.changes_since(last).unwrap().len(), 0);
    }

    #[test]
    fn delete_event_carries_a_new_rv() {
        let mut t = tables();
        let pods = ResKey::new("", "pods");
        let key = ObjKey::new("ns", "a");
        let (obj, _) = t.put(&pods, key.clone(), json!({"metadata": {"name": "a"}}));
        let gone = t.remove(&pods, &key).unwrap();
        assert!(gone.rv > obj.rv);
        assert!(t.get(&pods, &key).is_none());
        let changes = t.table(&pods).unwrap().changes_since(obj.rv).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].kind, EventType::Deleted);
    }

    #[test]
    fn namespace_range_and_snapshots_are_stable() {
        let mut t = tables();
        let pods = ResKey::new("", "pods");
        for (ns, name) in [("a", "1"), ("b", "1"), ("b", "2"), ("c", "1")] {
            t.put(
                &pods,
                ObjKey::new(ns, name),
                json!({"metadata": {"name": name}}),
            );
        }
        let names: Vec<String> = t.range(&pods, "b").map(|o| o.key.to_string()).collect();
        assert_eq!(names, ["b/1", "b/2"]);
        let rv = t.current_rv();
        let snap = t.table_mut(&pods).pin_snapshot(rv);
        t.remove(&pods, &ObjKey::new("b", "1"));
        assert_eq!(snap.len(), 4);
        assert_eq!(t.table(&pods).unwrap().snapshot_at(rv).unwrap().len(), 4);
    }

    #[test]
    fn compaction_keeps_what_open_watches_have_not_read() {
        let mut t = tables();
        let pods = ResKey::new("", "pods");
        let (a, _) = t.put(
            &pods,
            ObjKey::new("ns", "a"),
            json!({"metadata": {"name": "a"}}),
        );
        t.table_mut(&pods).watch_read_up_to(1, a.rv);
        let (b, _) = t.put(
            &pods,
            ObjKey::new("ns", "b"),
            json!({"metadata": {"name": "b"}}),
        );
        t.compact_all();
        // The open watch still gets b; a new watch from before a is expired.
        let table = t.table(&pods).unwrap();
        assert_eq!(table.changes_since(a.rv).unwrap().len(), 1);
        assert!(table.changes_since(a.rv - 1).is_err());
        // Once the watch closes, compaction takes everything.
        t.table_mut(&pods).close_watch(1);
        t.compact_all();
        assert!(t.table(&pods).unwrap().changes_since(a.rv).is_err());
        assert!(t.table(&pods).unwrap().changes_since(b.rv).is_ok());
        // A restart expires every earlier resourceVersion.
        t.table_mut(&pods).watch_read_up_to(2, b.rv);
        t.restart_watch_cache();
        assert!(t.table(&pods).unwrap().changes_since(b.rv).is_err());
    }
}
