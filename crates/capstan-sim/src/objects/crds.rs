//! CustomResourceDefinitions of the security add-ons the generator installs (Trivy Operator,
//! Gatekeeper, Cilium, Calico, the Secrets Store CSI driver, External Secrets Operator), with
//! the names, scopes, short names, categories and printer columns of the upstream manifests,
//! and the small builders their custom resources and Secrets share.

use capstan_core::rng::SimRng;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::meta;
use super::time::rfc3339;

/// What a CRD is made of; everything else is derived as the API server would.
#[derive(Debug, Clone)]
pub struct CrdDef {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub status_subresource: bool,
    /// `additionalPrinterColumns`: (name, type, jsonPath, priority).
    pub columns: &'static [(&'static str, &'static str, &'static str, i64)],
}

impl CrdDef {
    pub fn api_version(&self) -> String {
        format!("{}/{}", self.group, self.version)
    }
}

/// apiextensions.k8s.io/v1 CustomResourceDefinition for `def`, Established, with a
/// schema that keeps unknown fields (the twin does no schema validation).
pub fn crd(def: &CrdDef, rng: &mut SimRng, now: Timestamp) -> Value {
    let name = format!("{}.{}", def.plural, def.group);
    let mut names = json!({
        "kind": def.kind,
        "listKind": format!("{}List", def.kind),
        "plural": def.plural,
        "singular": def.kind.to_ascii_lowercase(),
    });
    if !def.short_names.is_empty() {
        names["shortNames"] = json!(def.short_names);
    }
    if !def.categories.is_empty() {
        names["categories"] = json!(def.categories);
    }
    let columns: Vec<Value> = def
        .columns
        .iter()
        .map(|(n, ty, path, priority)| {
            let mut c = json!({"name": n, "type": ty, "jsonPath": path});
            if *priority > 0 {
                c["priority"] = json!(priority);
            }
            c
        })
        .collect();
    let mut version = json!({
        "name": def.version,
        "served": true,
        "storage": true,
        "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
    });
    if !columns.is_empty() {
        version["additionalPrinterColumns"] = Value::Array(columns);
    }
    if def.status_subresource {
        version["subresources"] = json!({"status": {}});
    }
    let t = rfc3339(now);
    let mut metadata = meta(&name, None, now, rng);
    metadata.insert("generation".into(), json!(1));
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": metadata,
        "spec": {
            "group": def.group,
            "names": names.clone(),
            "scope": if def.namespaced { "Namespaced" } else { "Cluster" },
            "versions": [version],
            "conversion": {"strategy": "None"},
        },
        "status": {
            "acceptedNames": names,
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": t},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": t},
            ],
            "storedVersions": [def.version],
        },
    })
}

/// A custom (or any) object's skeleton: apiVersion, kind and metadata with uid,
/// creationTimestamp and generation 1; labels when given.
pub fn custom_object(
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
    labels: &[(&str, &str)],
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    let mut metadata = meta(name, namespace, now, rng);
    metadata.insert("generation".into(), json!(1));
    if !labels.is_empty() {
        let l: Map<String, Value> = labels
            .iter()
            .map(|(k, v)| ((*k).to_string(), json!(v)))
            .collect();
        metadata.insert("labels".into(), Value::Object(l));
    }
    json!({"apiVersion": api_version, "kind": kind, "metadata": metadata})
}

/// core/v1 Secret of `type_` whose values are the given strings, base64-encoded as the API
/// serves `data`. Callers pass obviously fake values.
pub fn secret(
    namespace: &str,
    name: &str,
    type_: &str,
    data: &[(&str, &str)],
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    use base64::Engine as _;
    let encoded: Map<String, Value> = data
        .iter()
        .map(|(k, v)| {
            (
                (*k).to_string(),
                json!(base64::engine::general_purpose::STANDARD.encode(v)),
            )
        })
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta(name, Some(namespace), now, rng),
        "type": type_,
        "data": encoded,
    })
}
