//! What the usage model needs of a pod (its containers' names, requests and limits, and which
//! of them run), read from the pod's JSON once per pod version and kept per pod uid.
//!
//! A Metrics API list of a million pods would otherwise decompress and parse four gigabytes
//! of JSON. Container specs are interned: the pods of one template share one copy, so an
//! entry costs about a hundred bytes. Entries of pods that are gone are swept after each pass
//! over the whole cluster.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::Deserialize;

use super::usage::Resources;
use crate::store::Obj;

/// One container of a pod spec, as the model takes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContainerSpec {
    pub name: Box<str>,
    cpu_request_millis: i64,
    memory_request_bytes: i64,
    cpu_limit_millis: i64,
    memory_limit_bytes: i64,
}

impl ContainerSpec {
    pub fn resources(&self) -> Resources {
        Resources {
            cpu_request_cores: self.cpu_request_millis as f64 / 1000.0,
            memory_request_bytes: self.memory_request_bytes as f64,
            cpu_limit_cores: self.cpu_limit_millis as f64 / 1000.0,
            memory_limit_bytes: self.memory_limit_bytes as f64,
        }
    }
}

/// A pod's containers and which of them run (bit `i` for container `i`; containers past
/// the 64th are taken as running).
#[derive(Debug, Clone)]
pub struct PodShape {
    pub containers: Arc<[ContainerSpec]>,
    running: u64,
}

impl PodShape {
    /// The running containers.
    pub fn running(&self) -> impl Iterator<Item = &ContainerSpec> {
        self.containers
            .iter()
            .enumerate()
            .filter(|(i, _)| *i >= 64 || self.running & (1 << i) != 0)
            .map(|(_, c)| c)
    }
}

#[derive(Debug)]
struct Entry {
    rv: u64,
    shape: PodShape,
    pass: u32,
}

/// Pod shapes by pod uid, and the interned container specs.
#[derive(Debug, Default)]
pub struct PodShapes {
    pods: HashMap<Box<str>, Entry>,
    specs: HashSet<Arc<[ContainerSpec]>>,
    pass: u32,
}

impl PodShapes {
    /// Start a pass over the whole cluster: entries not looked up before [`Self::sweep`]
    /// are dropped.
    pub fn begin_pass(&mut self) {
        self.pass = self.pass.wrapping_add(1);
    }

    /// Drop the entries of pods not seen since [`Self::begin_pass`], and specs no pod uses.
    pub fn sweep(&mut self) {
        let pass = self.pass;
        self.pods.retain(|_, e| e.pass == pass);
        self.specs.retain(|s| Arc::strong_count(s) > 1);
    }

    /// The shape of `pod` (parsed at most once per version), or `None` when its JSON does
    /// not parse as a pod.
    pub fn get(&mut self, pod: &Obj) -> Option<&PodShape> {
        let pass = self.pass;
        let fresh = self.pods.get(&*pod.uid).is_some_and(|e| e.rv == pod.rv);
        if !fresh {
            let shape = self.parse(pod)?;
            self.pods.insert(
                pod.uid.clone(),
                Entry {
                    rv: pod.rv,
                    shape,
                    pass,
                },
            );
        }
        let entry = self.pods.get_mut(&*pod.uid)?;
        entry.pass = pass;
        Some(&entry.shape)
    }

    fn parse(&mut self, pod: &Obj) -> Option<PodShape> {
        let json = pod.json();
        let wire: PodWire<'_> = serde_json::from_slice(&json).ok()?;
        let specs: Vec<ContainerSpec> = wire
            .spec
            .containers
            .iter()
            .map(|c| {
                let r = &c.resources;
                ContainerSpec {
                    name: c.name.as_ref().into(),
                    cpu_request_millis: millis(&r.requests.cpu),
                    memory_request_bytes: bytes(&r.requests.memory),
                    cpu_limit_millis: millis(&r.limits.cpu),
                    memory_limit_bytes: bytes(&r.limits.memory),
                }
            })
            .collect();
        let mut running = 0u64;
        for (i, c) in specs.iter().enumerate().take(64) {
            let runs = wire
                .status
                .container_statuses
                .iter()
                .any(|s| *s.name == *c.name && s.state.running.is_some());
            if runs {
                running |= 1 << i;
            }
        }
        let specs: Arc<[ContainerSpec]> = specs.into();
        let containers = match self.specs.get(&specs) {
            Some(shared) => shared.clone(),
            None => {
                self.specs.insert(specs.clone());
                specs
            }
        };
        Some(PodShape {
            containers,
            running,
        })
    }
}

fn millis(q: &Option<Cow<'_, str>>) -> i64 {
    q.as_deref()
        .and_then(crate::objects::cpu_millis)
        .unwrap_or(0)
}

fn bytes(q: &Option<Cow<'_, str>>) -> i64 {
    q.as_deref()
        .and_then(crate::objects::memory_bytes)
        .unwrap_or(0)
}

/// The fields of a pod read here.
#[derive(Deserialize)]
struct PodWire<'a> {
    #[serde(borrow)]
    spec: SpecWire<'a>,
    #[serde(default, borrow)]
    status: StatusWire<'a>,
}

#[derive(Deserialize)]
struct SpecWire<'a> {
    #[serde(default, borrow)]
    containers: Vec<ContainerWire<'a>>,
}

#[derive(Deserialize)]
struct ContainerWire<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default, borrow)]
    resources: ResourcesWire<'a>,
}

#[derive(Deserialize, Default)]
struct ResourcesWire<'a> {
    #[serde(default, borrow)]
    requests: QuantitiesWire<'a>,
    #[serde(default, borrow)]
    limits: QuantitiesWire<'a>,
}

#[derive(Deserialize, Default)]
struct QuantitiesWire<'a> {
    #[serde(default, borrow)]
    cpu: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    memory: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct StatusWire<'a> {
    #[serde(default, borrow, rename = "containerStatuses")]
    container_statuses: Vec<StatusEntryWire<'a>>,
}

#[derive(Deserialize)]
struct StatusEntryWire<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default)]
    state: StateWire,
}

#[derive(Deserialize, Default)]
struct StateWire {
    #[serde(default)]
    running: Option<serde::de::IgnoredAny>,
}
