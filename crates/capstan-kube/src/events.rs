//! Kubernetes Events that record what Capstan did, above all every forced action, so that
//! `kubectl describe` and `kubectl get events` show it next to the object it touched.

use std::collections::BTreeMap;

use capstan_clock::SharedClock;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use kube::Api;
use kube::api::PostParams;

use crate::Result;

/// Whether an event is routine or needs a human's attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "Normal",
            Self::Warning => "Warning",
        }
    }
}

/// The object an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTarget {
    pub api_version: String,
    pub kind: String,
    /// `None` for cluster-scoped objects; their events go to `default`, as the kubelet's do.
    pub namespace: Option<String>,
    pub name: String,
    pub uid: Option<String>,
}

impl EventTarget {
    pub fn node(name: &str) -> Self {
        Self {
            api_version: "v1".into(),
            kind: "Node".into(),
            namespace: None,
            name: name.into(),
            // The kubelet and kubectl reference nodes by name; the node's UID is not needed for
            // `kubectl describe node` to find the event.
            uid: Some(name.into()),
        }
    }

    pub fn pod(namespace: &str, name: &str, uid: &str) -> Self {
        Self {
            api_version: "v1".into(),
            kind: "Pod".into(),
            namespace: Some(namespace.into()),
            name: name.into(),
            uid: Some(uid.into()),
        }
    }
}

/// Writes core/v1 Events as `component`.
#[derive(Clone)]
pub struct EventRecorder {
    client: kube::Client,
    clock: SharedClock,
    component: String,
}

/// Upstream caps an event message at 1 KiB (`validation.go`, `ReportingInstanceLengthLimit`
/// and friends); longer command output is cut from the front so the end stays.
const MESSAGE_LIMIT: usize = 1024;

impl EventRecorder {
    pub fn new(client: kube::Client, clock: SharedClock, component: &str) -> Self {
        Self {
            client,
            clock,
            component: component.to_string(),
        }
    }

    /// Record one event about `target`.
    pub async fn record(
        &self,
        target: &EventTarget,
        kind: EventType,
        reason: &str,
        message: &str,
    ) -> Result<()> {
        let now = self.clock.now();
        let namespace = target.namespace.as_deref().unwrap_or("default");
        let message = tail(message, MESSAGE_LIMIT);
        let event = Event {
            metadata: ObjectMeta {
                // Like client-go's recorder: the object's name and a unique hex suffix.
                name: Some(format!(
                    "{}.{:x}",
                    target.name,
                    now.as_nanosecond() as u128 & 0xffff_ffff_ffff_ffff
                )),
                namespace: Some(namespace.to_string()),
                labels: Some(BTreeMap::from([(
                    "app.kubernetes.io/managed-by".to_string(),
                    "capstan".to_string(),
                )])),
                ..Default::default()
            },
            involved_object: ObjectReference {
                api_version: Some(target.api_version.clone()),
                kind: Some(target.kind.clone()),
                namespace: target.namespace.clone(),
                name: Some(target.name.clone()),
                uid: target.uid.clone(),
                ..Default::default()
            },
            reason: Some(reason.to_string()),
            message: Some(message.to_string()),
            type_: Some(kind.as_str().to_string()),
            count: Some(1),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            event_time: Some(MicroTime(now)),
            action: Some(reason.to_string()),
            reporting_component: Some(self.component.clone()),
            reporting_instance: Some(self.component.clone()),
            source: Some(EventSource {
                component: Some(self.component.clone()),
                host: None,
            }),
            ..Default::default()
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), namespace);
        api.create(&PostParams::default(), &event).await?;
        Ok(())
    }
}

fn tail(s: &str, limit: usize) -> &str {
    if s.len() <= limit {
        return s;
    }
    let mut start = s.len() - limit;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}
