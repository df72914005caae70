//! Slim watched types: only the fields Capstan uses, decoded straight from the API's JSON.
//!
//! Each type deserializes through a private wire struct that names just the fields it needs
//! (serde skips the rest: no `managedFields`, no full specs), and implements [`kube::Resource`]
//! by hand so that `kube::Api<SlimPod>` and `kube::runtime::watcher` work with it. Their
//! [`ObjectMeta`] carries only name, namespace, uid, resourceVersion, generation, the creation
//! and deletion timestamps, labels, the annotations Capstan reads
//! ([`capstan_core::annotations`]) and the controller ownerReference.
//!
//! Values that would make a whole object undecodable (a malformed quantity) decode as absent
//! instead: one odd object must not stop a watch.

mod node;
mod pdb;
mod pod;
mod pvc;
mod quota;
mod workload;

use std::collections::BTreeMap;
use std::fmt;

use capstan_core::annotations::{MIRROR_POD, PREFIX};
use capstan_core::quantity::Quantity;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

pub use node::{NodeCondition, SlimNode};
pub use pdb::SlimPdb;
pub use pod::{PodPhase, SlimContainer, SlimPod};
pub use pvc::SlimPvc;
pub use quota::{QUOTA_RESOURCES, SlimResourceQuota};
pub use workload::{SlimDaemonSet, SlimDeployment, SlimNamespace, SlimReplicaSet, SlimStatefulSet};

/// Implements [`kube::Resource`] for a slim type with a `metadata: ObjectMeta` field.
macro_rules! slim_resource {
    ($ty:ty, $kind:literal, $group:literal, $version:literal, $plural:literal, $scope:ty) => {
        impl kube::Resource for $ty {
            type DynamicType = ();
            type Scope = $scope;

            fn kind(_: &()) -> std::borrow::Cow<'_, str> {
                $kind.into()
            }
            fn group(_: &()) -> std::borrow::Cow<'_, str> {
                $group.into()
            }
            fn version(_: &()) -> std::borrow::Cow<'_, str> {
                $version.into()
            }
            fn plural(_: &()) -> std::borrow::Cow<'_, str> {
                $plural.into()
            }
            fn meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &self.metadata
            }
            fn meta_mut(
                &mut self,
            ) -> &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &mut self.metadata
            }
        }

        impl $crate::slim::SlimMeta for $ty {
            fn object_meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &self.metadata
            }
        }
    };
}
pub(crate) use slim_resource;

/// The metadata fields Capstan reads, as they come on the wire.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct MetaWire {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    generation: Option<i64>,
    creation_timestamp: Option<Time>,
    deletion_timestamp: Option<Time>,
    labels: Option<BTreeMap<String, String>>,
    #[serde(deserialize_with = "read_annotations")]
    annotations: Option<BTreeMap<String, String>>,
    owner_references: Option<Vec<OwnerReferenceWire>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OwnerReferenceWire {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    uid: String,
    #[serde(default)]
    controller: Option<bool>,
}

impl From<MetaWire> for ObjectMeta {
    fn from(m: MetaWire) -> Self {
        // Only the controller reference: it is the one drain filters and workload owners use.
        let owner_references = m.owner_references.and_then(|refs| {
            let controller: Vec<OwnerReference> = refs
                .into_iter()
                .filter(|r| r.controller == Some(true))
                .take(1)
                .map(|r| OwnerReference {
                    api_version: r.api_version,
                    kind: r.kind,
                    name: r.name,
                    uid: r.uid,
                    controller: Some(true),
                    block_owner_deletion: None,
                })
                .collect();
            (!controller.is_empty()).then_some(controller)
        });
        ObjectMeta {
            name: m.name,
            namespace: m.namespace,
            uid: m.uid,
            resource_version: m.resource_version,
            generation: m.generation,
            creation_timestamp: m.creation_timestamp,
            deletion_timestamp: m.deletion_timestamp,
            labels: m.labels,
            annotations: m.annotations.filter(|a| !a.is_empty()),
            owner_references,
            ..ObjectMeta::default()
        }
    }
}

/// Whether Capstan reads this annotation: its own marks, the mirror-pod marker and
/// Kubecost's spot-ready override.
fn annotation_is_read(key: &str) -> bool {
    key.starts_with(PREFIX) || key == MIRROR_POD || key == crate::view::SPOT_READY
}

/// Annotations, keeping only those [`annotation_is_read`] (others can be large: the
/// last-applied-configuration of `kubectl apply` holds a whole object).
fn read_annotations<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<BTreeMap<String, String>>, D::Error> {
    struct Kept;
    impl<'de> Visitor<'de> for Kept {
        type Value = Option<BTreeMap<String, String>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map of annotations")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut kept = BTreeMap::new();
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if annotation_is_read(&key) {
                    kept.insert(key.into_owned(), map.next_value::<String>()?);
                } else {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
            Ok(Some(kept))
        }
    }
    d.deserialize_option(Kept)
}

/// A quantity, or `None` when absent or malformed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LenientQuantity(pub Option<Quantity>);

impl<'de> Deserialize<'de> for LenientQuantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = LenientQuantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quantity")
            }
            fn visit_str<E>(self, v: &str) -> Result<LenientQuantity, E> {
                Ok(LenientQuantity(Quantity::parse(v).ok()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<LenientQuantity, E> {
                Ok(LenientQuantity(Some(Quantity::from_units(v))))
            }
            fn visit_u64<E>(self, v: u64) -> Result<LenientQuantity, E> {
                Ok(LenientQuantity(
                    i64::try_from(v).ok().map(Quantity::from_units),
                ))
            }
            fn visit_f64<E>(self, v: f64) -> Result<LenientQuantity, E> {
                Ok(LenientQuantity(Quantity::parse(&v.to_string()).ok()))
            }
            fn visit_unit<E>(self) -> Result<LenientQuantity, E> {
                Ok(LenientQuantity(None))
            }
        }
        d.deserialize_any(V)
    }
}

impl LenientQuantity {
    /// Thousandths (millicores for CPU), 0 when absent, never negative.
    pub fn millis(self) -> u64 {
        self.0.map_or(0, |q| u64::try_from(q.millis()).unwrap_or(0))
    }

    /// Whole units (bytes for memory, a count for pods), 0 when absent, never negative.
    pub fn units(self) -> u64 {
        self.0.map_or(0, |q| u64::try_from(q.value()).unwrap_or(0))
    }
}

/// Read accessors shared by every slim type's metadata (named like `ResourceExt`'s but
/// borrowing, so import one or the other).
pub trait SlimMeta {
    fn object_meta(&self) -> &ObjectMeta;

    fn name(&self) -> &str {
        self.object_meta().name.as_deref().unwrap_or("")
    }
    fn namespace(&self) -> &str {
        self.object_meta().namespace.as_deref().unwrap_or("")
    }
    fn uid(&self) -> &str {
        self.object_meta().uid.as_deref().unwrap_or("")
    }
    fn created(&self) -> Option<Timestamp> {
        self.object_meta().creation_timestamp.as_ref().map(|t| t.0)
    }
    fn deleted(&self) -> Option<Timestamp> {
        self.object_meta().deletion_timestamp.as_ref().map(|t| t.0)
    }
    fn label(&self, key: &str) -> Option<&str> {
        self.object_meta()
            .labels
            .as_ref()?
            .get(key)
            .map(String::as_str)
    }
    fn annotation(&self, key: &str) -> Option<&str> {
        self.object_meta()
            .annotations
            .as_ref()?
            .get(key)
            .map(String::as_str)
    }
    /// The controller ownerReference: (kind, name).
    fn controller(&self) -> Option<&OwnerReference> {
        self.object_meta().owner_references.as_ref()?.first()
    }
}

#[cfg(test)]
mod tests;
