//! Request parsing shared by the HTTP handlers: query parameters, media types, selectors and
//! continue tokens.

use std::collections::HashMap;

use base64::Engine;
use capstan_core::selector::{FieldSelector, LabelSelector};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::resources::ResourceType;
use crate::store::{Obj, ObjKey, PodPhase};
use crate::table::IncludeObject;

/// Query parameters as a map; empty pairs (kube-rs sends `?&...`) are ignored.
pub fn parse_query(query: Option<&str>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for pair in query.unwrap_or("").split('&') {
        if pair.is_empty() {
            continue;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.insert(decode(k), decode(v));
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `true`/`1` are true, as upstream's query decoding accepts.
pub fn flag(q: &HashMap<String, String>, key: &str) -> bool {
    matches!(q.get(key).map(String::as_str), Some("true" | "1" | "True"))
}

/// What the client asked to get back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Json,
    Table(IncludeObject),
    Metadata,
}

/// Choose the response form from the Accept header, in the client's order of preference.
pub fn negotiate(accept: Option<&str>, include: IncludeObject) -> ApiResult<Output> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(Output::Json);
    };
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let params: HashMap<&str, &str> = parts.filter_map(|p| p.split_once('=')).collect();
        let json_like = matches!(media.as_str(), "application/json" | "*/*" | "application/*");
        if !json_like {
            continue; // protobuf, yaml, cbor: offer JSON through a later range, or 406
        }
        match params.get("as").copied() {
            None => return Ok(Output::Json),
            Some("Table") => {
                if params.get("g").copied() == Some("meta.k8s.io")
                    && matches!(params.get("v").copied(), Some("v1" | "v1beta1"))
                {
                    return Ok(Output::Table(include));
                }
            }
            Some("PartialObjectMetadata" | "PartialObjectMetadataList") => {
                if params.get("g").copied() == Some("meta.k8s.io") {
                    return Ok(Output::Metadata);
                }
            }
            Some(_) => {}
        }
    }
    Err(ApiError::not_acceptable(accept))
}

/// The continue token: base64 of {"v":"meta.k8s.io/v1","rv":N,"start":"<key>\0"} as upstream's
/// etcd3 store encodes it.
pub fn encode_continue(rv: u64, after: &ObjKey) -> String {
    let start = format!("{}/{}\u{0}", after.namespace, after.name);
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": start});
    base64::engine::general_purpose::URL_SAFE.encode(token.to_string())
}

pub fn decode_continue(token: &str) -> ApiResult<(u64, ObjKey)> {
    let bad = || ApiError::bad_request(format!("continue key is not valid: {token}"));
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(token)
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    if v.get("v").and_then(Value::as_str) != Some("meta.k8s.io/v1") {
        return Err(bad());
    }
    let rv = v.get("rv").and_then(Value::as_u64).ok_or_else(bad)?;
    let start = v.get("start").and_then(Value::as_str).ok_or_else(bad)?;
    let start = start.strip_suffix('\u{0}').ok_or_else(bad)?;
    let (ns, name) = start.split_once('/').ok_or_else(bad)?;
    Ok((rv, ObjKey::new(ns, name)))
}

/// Selectors of a list or watch, validated against the resource's selectable fields.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Filter {
    pub fn parse(
        rt: &ResourceType,
        namespace: Option<&str>,
        q: &HashMap<String, String>,
    ) -> ApiResult<Self> {
        let labels = match q.get("labelSelector") {
            Some(s) => LabelSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?,
            None => LabelSelector::everything(),
        };
        let fields = match q.get("fieldSelector") {
            Some(s) => FieldSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?,
            None => FieldSelector::default(),
        };
        for req in &fields.requirements {
            let known = matches!(req.field.as_str(), "metadata.name" | "metadata.namespace")
                || rt.selectable_fields.contains(&req.field.as_str());
            if !known {
                return Err(ApiError::bad_request(format!(
                    "\"{}\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"{}",
                    req.field,
                    rt.selectable_fields
                        .iter()
                        .map(|f| format!(", \"{f}\""))
                        .collect::<String>()
                )));
            }
        }
        Ok(Self {
            namespace: namespace.filter(|n| !n.is_empty()).map(str::to_string),
            labels,
            fields,
        })
    }

    pub fn matches(&self, obj: &Obj) -> bool {
        if let Some(ns) = &self.namespace
            && *obj.key.namespace != **ns
        {
            return false;
        }
        if !self.labels.is_everything() && !self.labels.matches(&obj.labels) {
            return false;
        }
        if self.fields.is_everything() {
            return true;
        }
        let parsed: std::cell::OnceCell<Value> = std::cell::OnceCell::new();
        self.fields.matches(|field| match field {
            "metadata.name" => Some(obj.key.name.to_string()),
            "metadata.namespace" => Some(obj.key.namespace.to_string()),
            "spec.nodeName" if obj.pod().is_some() => Some(
                obj.pod()
                    .and_then(|p| p.node_name.as_deref())
                    .unwrap_or("")
                    .to_string(),
            ),
            "status.phase" if obj.pod().is_some() => Some(
                obj.pod()
                    .map(|p| p.phase)
                    .unwrap_or(PodPhase::Pending)
                    .as_str()
                    .to_string(),
            ),
            other => {
                let v = parsed.get_or_init(|| obj.value());
                let path = if other == "source" {
                    "source.component"
                } else {
                    other
                };
                let pointer = format!("/{}", path.replace('.', "/"));
                v.pointer(&pointer).map(|x| match x {
                    Value::String(s) => s.clone(),
                    Value::Bool(b) => b.to_string(),
                    Value::Number(n) => n.to_string(),
                    _ => String::new(),
                })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_ignores_empty_pairs_and_decodes() {
        let q = parse_query(Some("&watch=true&labelSelector=app%3Dweb%2Ctier+in+(a)&"));
        assert_eq!(q["watch"], "true");
        assert_eq!(q["labelSelector"], "app=web,tier in (a)");
    }

    #[test]
    fn continue_tokens_round_trip_and_reject_garbage() {
        let key = ObjKey::new("ns", "pod-1");
        let t = encode_continue(42, &key);
        assert_eq!(decode_continue(&t).unwrap(), (42, key));
        assert_eq!(decode_continue("nope!").unwrap_err().code, 400);
    }

    #[test]
    fn negotiation_follows_kubectl_and_kube_rs() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(
            negotiate(Some(kubectl), IncludeObject::Metadata).unwrap(),
            Output::Table(IncludeObject::Metadata)
        );
        assert_eq!(
            negotiate(
                Some("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"),
                IncludeObject::Metadata
            )
            .unwrap(),
            Output::Metadata
        );
        assert_eq!(
            negotiate(None, IncludeObject::Metadata).unwrap(),
            Output::Json
        );
        assert_eq!(
            negotiate(
                Some("application/vnd.kubernetes.protobuf, application/json"),
                IncludeObject::Metadata
            )
            .unwrap(),
            Output::Json
        );
        assert_eq!(
            negotiate(
                Some("application/vnd.kubernetes.protobuf"),
                IncludeObject::Metadata
            )
            .unwrap_err()
            .code,
            406
        );
    }
}
