//! Secrets and how workloads consume them: plain Secrets mounted or read into environment
//! variables, Secrets Store CSI volumes with their SecretProviderClass, Secrets synced by
//! External Secrets Operator (owned by their ExternalSecret, `creationPolicy: Owner`), and
//! Vault Agent injector annotations. Every secret value is an obviously fake placeholder.

use capstan_core::rng::SimRng;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::Emitter;
use super::posture::SecretManagers;
use crate::objects::{self as o, CrdDef};

/// How one workload gets its secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecretUse {
    None,
    PlainVolume,
    EnvKeyRef,
    EnvFrom,
    Csi,
    EsoVolume,
    EsoEnv,
    Vault,
}

/// An object a workload's secret use needs in its namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SecretNeed {
    Opaque(String),
    Tls(String),
    ProviderClass(String),
    /// ExternalSecret `name` and the Secret it owns.
    External {
        name: String,
        target: String,
    },
}

/// Pick a use for a workload in a cluster with `managers`.
fn pick_use(m: &SecretManagers, datastore: bool, rng: &mut SimRng) -> SecretUse {
    let managed: Vec<SecretUse> = [
        (m.csi, SecretUse::Csi),
        (m.eso, SecretUse::EsoVolume),
        (m.vault, SecretUse::Vault),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, u)| *u)
    .collect();
    let x = rng.next_f64();
    if x < if datastore { 0.1 } else { 0.35 } {
        return SecretUse::None;
    }
    if m.all_managed || rng.chance(0.45) {
        return *rng.pick(&managed).unwrap_or(&SecretUse::Csi);
    }
    // Unmanaged: datastores read their password from the environment, as their images
    // document (POSTGRES_PASSWORD and the like).
    match (datastore, rng.range_inclusive(0, 9)) {
        (true, _) | (false, 0..=1) => SecretUse::EnvKeyRef,
        (false, 2) => SecretUse::EnvFrom,
        (false, 3) if m.eso => SecretUse::EsoEnv,
        _ => SecretUse::PlainVolume,
    }
}

fn push(v: &mut Value, item: Value) {
    match v.as_array_mut() {
        Some(a) => a.push(item),
        None => *v = json!([item]),
    }
}

fn mount(t: &mut Value, volume: Value, name: &str, path: &str) {
    push(&mut t["spec"]["volumes"], volume);
    if let Some(c) = t.pointer_mut("/spec/containers/0") {
        push(
            &mut c["volumeMounts"],
            json!({"name": name, "mountPath": path, "readOnly": true}),
        );
    }
}

/// Add the secret use to `t` (the template of `app` of `team`) and say what it needs.
pub(crate) fn decorate(
    t: &mut Value,
    app: &str,
    team: &str,
    managers: &SecretManagers,
    datastore: bool,
    rng: &mut SimRng,
) -> (SecretUse, Vec<SecretNeed>) {
    let use_ = pick_use(managers, datastore, rng);
    let mut needs = Vec::new();
    let creds = format!("{app}-credentials");
    match use_ {
        SecretUse::None => {}
        SecretUse::PlainVolume => {
            let v =
                json!({"name": "credentials", "secret": {"secretName": creds, "defaultMode": 420}});
            mount(t, v, "credentials", &format!("/etc/{app}/credentials"));
            needs.push(SecretNeed::Opaque(creds));
        }
        SecretUse::EnvKeyRef => {
            if let Some(c) = t.pointer_mut("/spec/containers/0") {
                let var = if datastore {
                    "POSTGRES_PASSWORD"
                } else {
                    "DATABASE_PASSWORD"
                };
                push(
                    &mut c["env"],
                    json!({"name": var, "valueFrom": {"secretKeyRef": {"name": creds, "key": "password"}}}),
                );
            }
            needs.push(SecretNeed::Opaque(creds));
        }
        SecretUse::EnvFrom => {
            let name = format!("{app}-env");
            if let Some(c) = t.pointer_mut("/spec/containers/0") {
                push(&mut c["envFrom"], json!({"secretRef": {"name": name}}));
            }
            needs.push(SecretNeed::Opaque(name));
        }
        SecretUse::Csi => {
            let spc = format!("{app}-secrets");
            let v = json!({"name": "secrets-store", "csi": {
                "driver": "secrets-store.csi.k8s.io", "readOnly": true,
                "volumeAttributes": {"secretProviderClass": spc},
            }});
            mount(t, v, "secrets-store", "/mnt/secrets-store");
            needs.push(SecretNeed::ProviderClass(spc));
        }
        SecretUse::EsoVolume | SecretUse::EsoEnv => {
            let target = format!("{app}-secrets");
            if use_ == SecretUse::EsoVolume {
                let v = json!({"name": "app-secrets", "secret": {"secretName": target, "defaultMode": 420}});
                mount(t, v, "app-secrets", &format!("/etc/{app}/secrets"));
            } else if let Some(c) = t.pointer_mut("/spec/containers/0") {
                push(&mut c["envFrom"], json!({"secretRef": {"name": target}}));
            }
            needs.push(SecretNeed::External {
                name: app.to_string(),
                target,
            });
        }
        SecretUse::Vault => {
            t["metadata"]["annotations"] = json!({
                "vault.hashicorp.com/agent-inject": "true",
                "vault.hashicorp.com/role": app,
                "vault.hashicorp.com/agent-inject-secret-config": format!("secret/data/{team}/{app}/config"),
            });
        }
    }
    // Some services also terminate TLS with a certificate from a plain Secret (where secrets
    // are not all managed).
    if !datastore && !managers.all_managed && rng.chance(0.08) {
        let tls = format!("{app}-tls");
        let v = json!({"name": "tls", "secret": {"secretName": tls, "defaultMode": 420}});
        mount(t, v, "tls", "/etc/tls");
        needs.push(SecretNeed::Tls(tls));
    }
    (use_, needs)
}

/// The CRDs of the secret managers the cluster runs.
pub(crate) fn crds(m: &SecretManagers) -> Vec<CrdDef> {
    let mut out = Vec::new();
    if m.csi {
        out.push(CrdDef {
            group: "secrets-store.csi.x-k8s.io",
            version: "v1",
            kind: "SecretProviderClass".into(),
            plural: "secretproviderclasses".into(),
            namespaced: true,
            short_names: &[],
            categories: &[],
            status_subresource: false,
            columns: &[],
        });
    }
    if m.eso {
        out.push(CrdDef {
            group: "external-secrets.io",
            version: "v1beta1",
            kind: "ExternalSecret".into(),
            plural: "externalsecrets".into(),
            namespaced: true,
            short_names: &["es"],
            categories: &["external-secrets"],
            status_subresource: true,
            columns: &[
                ("Store", "string", ".spec.secretStoreRef.name", 0),
                ("Refresh Interval", "string", ".spec.refreshInterval", 0),
                (
                    "Status",
                    "string",
                    ".status.conditions[?(@.type==\"Ready\")].reason",
                    0,
                ),
                (
                    "Ready",
                    "string",
                    ".status.conditions[?(@.type==\"Ready\")].status",
                    0,
                ),
            ],
        });
        for (kind, plural, short, namespaced) in [
            ("SecretStore", "secretstores", &["ss"][..], true),
            (
                "ClusterSecretStore",
                "clustersecretstores",
                &["css"][..],
                false,
            ),
        ] {
            out.push(CrdDef {
                group: "external-secrets.io",
                version: "v1beta1",
                kind: kind.into(),
                plural: plural.into(),
                namespaced,
                short_names: if short == ["ss"] { &["ss"] } else { &["css"] },
                categories: &["external-secrets"],
                status_subresource: true,
                columns: &[
                    ("Age", "date", ".metadata.creationTimestamp", 0),
                    (
                        "Status",
                        "string",
                        ".status.conditions[?(@.type==\"Ready\")].reason",
                        0,
                    ),
                    ("Capabilities", "string", ".status.capabilities", 0),
                    (
                        "Ready",
                        "string",
                        ".status.conditions[?(@.type==\"Ready\")].status",
                        0,
                    ),
                ],
            });
        }
    }
    out
}

/// The provider a SecretProviderClass uses on this cloud, and its parameters for `app`.
fn provider_parameters(provider: &str, ns: &str, app: &str) -> (&'static str, Value) {
    let objects = |s: String| Value::String(s);
    match provider {
        "aws" => (
            "aws",
            json!({"objects": objects(format!(
                "- objectName: \"{ns}/{app}/config\"\n  objectType: \"secretsmanager\"\n"
            ))}),
        ),
        "azure" => (
            "azure",
            json!({
                "keyvaultName": format!("kv-{ns}"),
                "tenantId": "00000000-0000-0000-0000-000000000000",
                "usePodIdentity": "false",
                "objects": objects(format!("array:\n  - |\n    objectName: {app}-config\n    objectType: secret\n")),
            }),
        ),
        "gcp" => (
            "gcp",
            json!({"secrets": objects(format!(
                "- resourceName: \"projects/example-project/secrets/{app}-config/versions/latest\"\n  path: \"config\"\n"
            ))}),
        ),
        _ => (
            "vault",
            json!({
                "roleName": app,
                "vaultAddress": "https://vault.example.internal:8200",
                "objects": objects(format!(
                    "- objectName: \"config\"\n  secretPath: \"secret/data/{ns}/{app}\"\n  secretKey: \"config\"\n"
                )),
            }),
        ),
    }
}

/// The cluster-wide store ExternalSecrets read from, named after the backend.
pub(crate) fn cluster_store_name(provider: &str) -> &'static str {
    match provider {
        "aws" => "aws-secrets-manager",
        "azure" => "azure-key-vault",
        "gcp" => "gcp-secret-manager",
        _ => "vault-backend",
    }
}

/// Emit the ClusterSecretStore (External Secrets Operator clusters).
pub(crate) fn emit_cluster_store(
    provider: &str,
    e: &mut Emitter<'_>,
    rng: &mut SimRng,
    t: Timestamp,
) {
    let name = cluster_store_name(provider);
    let mut store = o::custom_object(
        "external-secrets.io/v1beta1",
        "ClusterSecretStore",
        None,
        name,
        &[],
        rng,
        t,
    );
    store["spec"] = store_spec(provider);
    store["status"] = ready_status("Valid", "store validated", t, "ReadWrite");
    e.emit("external-secrets.io", "clustersecretstores", store);
}

fn store_spec(provider: &str) -> Value {
    match provider {
        "aws" => json!({"provider": {"aws": {"service": "SecretsManager", "region": "us-east-1",
            "auth": {"jwt": {"serviceAccountRef": {"name": "external-secrets", "namespace": "external-secrets"}}}}}}),
        "azure" => {
            json!({"provider": {"azurekv": {"vaultUrl": "https://kv-example.vault.azure.net", "authType": "WorkloadIdentity",
            "serviceAccountRef": {"name": "external-secrets", "namespace": "external-secrets"}}}})
        }
        "gcp" => json!({"provider": {"gcpsm": {"projectID": "example-project"}}}),
        _ => {
            json!({"provider": {"vault": {"server": "https://vault.example.internal:8200", "path": "secret", "version": "v2",
            "auth": {"kubernetes": {"mountPath": "kubernetes", "role": "external-secrets"}}}}})
        }
    }
}

fn ready_status(reason: &str, message: &str, t: Timestamp, capabilities: &str) -> Value {
    json!({
        "capabilities": capabilities,
        "conditions": [{"type": "Ready", "status": "True", "reason": reason, "message": message,
            "lastTransitionTime": o::rfc3339(t)}],
    })
}

/// Emit what one namespace's workloads need: Secrets, SecretProviderClasses,
/// ExternalSecrets with the Secrets they own, and a legacy service-account token where
/// `ci_token_uid` names the CI account's uid.
pub(crate) fn emit_namespace_secrets(
    ns: &str,
    needs: &[SecretNeed],
    provider: &str,
    ci_token_uid: Option<&str>,
    e: &mut Emitter<'_>,
    rng: &mut SimRng,
    t: Timestamp,
) {
    let fake = "fake-value-generated-by-capstan-twin";
    for need in needs {
        match need {
            SecretNeed::Opaque(name) => {
                let s = o::secret(
                    ns,
                    name,
                    "Opaque",
                    &[("username", "app"), ("password", fake)],
                    rng,
                    t,
                );
                e.emit("", "secrets", s);
            }
            SecretNeed::Tls(name) => {
                let s = o::secret(
                    ns,
                    name,
                    "kubernetes.io/tls",
                    &[
                        ("tls.crt", "fake certificate (capstan twin)"),
                        ("tls.key", "fake key (capstan twin)"),
                    ],
                    rng,
                    t,
                );
                e.emit("", "secrets", s);
            }
            SecretNeed::ProviderClass(name) => {
                let app = name.trim_end_matches("-secrets");
                let (p, params) = provider_parameters(provider, ns, app);
                let mut spc = o::custom_object(
                    "secrets-store.csi.x-k8s.io/v1",
                    "SecretProviderClass",
                    Some(ns),
                    name,
                    &[],
                    rng,
                    t,
                );
                spc["spec"] = json!({"provider": p, "parameters": params});
                e.emit("secrets-store.csi.x-k8s.io", "secretproviderclasses", spc);
            }
            SecretNeed::External { name, target } => {
                let mut es = o::custom_object(
                    "external-secrets.io/v1beta1",
                    "ExternalSecret",
                    Some(ns),
                    name,
                    &[],
                    rng,
                    t,
                );
                es["spec"] = json!({
                    "refreshInterval": "1h",
                    "secretStoreRef": {"kind": "ClusterSecretStore", "name": cluster_store_name(provider)},
                    "target": {"name": target, "creationPolicy": "Owner", "deletionPolicy": "Retain"},
                    "data": [{"secretKey": "password", "remoteRef": {"key": format!("{ns}/{name}"), "property": "password"}}],
                });
                let sync = o::seconds_before(t, 0);
                es["status"] = json!({
                    "binding": {"name": target},
                    "conditions": [{"type": "Ready", "status": "True", "reason": "SecretSynced",
                        "message": "secret synced", "lastTransitionTime": o::rfc3339(sync)}],
                    "refreshTime": o::rfc3339(sync),
                    "syncedResourceVersion": "1-0123456789abcdef0123456789abcdef",
                });
                let owner = o::OwnerRef::controller_of(&es).map(|r| r.to_value());
                e.emit("external-secrets.io", "externalsecrets", es);
                let mut s = o::secret(ns, target, "Opaque", &[("password", fake)], rng, t);
                s["metadata"]["labels"] = json!({"reconcile.external-secrets.io/created-by": format!("{:032x}", capstan_core::rng::fnv1a(name.as_bytes()))});
                s["metadata"]["annotations"] = json!({"reconcile.external-secrets.io/data-hash": format!("{:032x}", capstan_core::rng::fnv1a(target.as_bytes()))});
                if let Some(owner) = owner {
                    s["metadata"]["ownerReferences"] = json!([owner]);
                }
                e.emit("", "secrets", s);
            }
        }
    }
    if let Some(uid) = ci_token_uid {
        let mut s = o::secret(
            ns,
            "ci-deployer-token",
            "kubernetes.io/service-account-token",
            &[
                ("token", "fake-service-account-token"),
                ("namespace", ns),
                ("ca.crt", "fake ca (capstan twin)"),
            ],
            rng,
            t,
        );
        s["metadata"]["annotations"] = json!({
            "kubernetes.io/service-account.name": "ci-deployer",
            "kubernetes.io/service-account.uid": uid,
        });
        e.emit("", "secrets", s);
    }
}
