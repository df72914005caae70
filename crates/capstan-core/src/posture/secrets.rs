//! Secrets handling per pod: every secret a pod references, how it gets it (environment or
//! file) and whether a secrets manager provides it.
//!
//! Follows Kubescape C-0207 ("prefer secrets as files over environment variables":
//! `env[].valueFrom.secretKeyRef` and `envFrom[].secretRef`) and C-0234 ("external secret
//! storage": a Secrets Store CSI volume with a `secretProviderClass`), plus External Secrets
//! Operator (a Secret owned by an `ExternalSecret`) and the Vault agent injector.
//!
//! `imagePullSecrets` are deliberately not read: they are registry pull credentials the
//! kubelet uses, never exposed to the application, so they are not application secrets.

use serde::Serialize;

use super::pod::PodInput;

/// The Secrets Store CSI driver (secrets-store.csi.k8s.io), which mounts secrets from an
/// external store described by a `SecretProviderClass`.
pub const SECRETS_STORE_CSI_DRIVER: &str = "secrets-store.csi.k8s.io";
/// The Vault agent injector's opt-in annotation.
pub const VAULT_INJECT_ANNOTATION: &str = "vault.hashicorp.com/agent-inject";

/// How a pod gets a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SecretSource {
    /// `env[].valueFrom.secretKeyRef`: one key of a Secret as an environment variable.
    EnvKey,
    /// `envFrom[].secretRef`: every key of a Secret as environment variables.
    EnvFrom,
    /// `volumes[].secret`: a Secret mounted as files.
    Volume,
    /// `volumes[].projected.sources[].secret`: a Secret projected into a mounted volume.
    Projected,
    /// A Secrets Store CSI volume: files from an external store via a SecretProviderClass.
    CsiProvider,
    /// The Vault agent injector: files rendered from Vault by a sidecar.
    VaultInjector,
}

impl SecretSource {
    /// Environment variables leak into logs, crash dumps and child processes; files do not.
    pub fn is_env(self) -> bool {
        matches!(self, SecretSource::EnvKey | SecretSource::EnvFrom)
    }

    /// The secret comes from an external manager whatever the Secret objects look like.
    pub fn is_manager(self) -> bool {
        matches!(
            self,
            SecretSource::CsiProvider | SecretSource::VaultInjector
        )
    }
}

/// One secret reference of a pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef<'a> {
    pub source: SecretSource,
    /// Where the reference is, e.g. `spec.containers[0].env[2].valueFrom.secretKeyRef`.
    pub field_path: String,
    /// The Secret's name; the SecretProviderClass's name for a CSI volume; empty for Vault.
    pub secret: &'a str,
}

/// Every secret reference of one pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretUse<'a> {
    pub namespace: &'a str,
    pub references: Vec<SecretRef<'a>>,
}

impl SecretUse<'_> {
    /// References through environment variables.
    pub fn env_references(&self) -> impl Iterator<Item = &SecretRef<'_>> {
        self.references.iter().filter(|r| r.source.is_env())
    }

    /// References through files (secret and projected volumes, CSI, Vault).
    pub fn file_references(&self) -> impl Iterator<Item = &SecretRef<'_>> {
        self.references.iter().filter(|r| !r.source.is_env())
    }
}

/// The Vault injector reads its annotations with Go's `strconv.ParseBool`.
fn parse_bool_true(value: &str) -> bool {
    matches!(value, "1" | "t" | "T" | "true" | "TRUE" | "True")
}

/// Lists every secret reference of `pod`, in spec order: volumes, then each container's
/// `env` and `envFrom` (init containers, containers, ephemeral containers), then the Vault
/// injector annotation.
pub fn secret_use(pod: &PodInput) -> SecretUse<'_> {
    let mut references = Vec::new();
    for (i, volume) in pod.spec.volumes.iter().enumerate() {
        if let Some(secret) = &volume.secret {
            references.push(SecretRef {
                source: SecretSource::Volume,
                field_path: format!("spec.volumes[{i}].secret"),
                secret: &secret.secret_name,
            });
        }
        if let Some(projected) = &volume.projected {
            for (j, projection) in projected.sources.iter().enumerate() {
                if let Some(secret) = &projection.secret {
                    references.push(SecretRef {
                        source: SecretSource::Projected,
                        field_path: format!("spec.volumes[{i}].projected.sources[{j}].secret"),
                        secret: &secret.name,
                    });
                }
            }
        }
        if let Some(csi) = &volume.csi
            && csi.driver == SECRETS_STORE_CSI_DRIVER
            && let Some(class) = csi.volume_attributes.get("secretProviderClass")
        {
            references.push(SecretRef {
                source: SecretSource::CsiProvider,
                field_path: format!("spec.volumes[{i}].csi.volumeAttributes.secretProviderClass"),
                secret: class,
            });
        }
    }
    for (path, c) in pod.all_containers() {
        for (i, env) in c.env.iter().enumerate() {
            if let Some(key) = env
                .value_from
                .as_ref()
                .and_then(|v| v.secret_key_ref.as_ref())
            {
                references.push(SecretRef {
                    source: SecretSource::EnvKey,
                    field_path: path.field(&format!("env[{i}].valueFrom.secretKeyRef")),
                    secret: &key.name,
                });
            }
        }
        for (i, env_from) in c.env_from.iter().enumerate() {
            if let Some(secret) = &env_from.secret_ref {
                references.push(SecretRef {
                    source: SecretSource::EnvFrom,
                    field_path: path.field(&format!("envFrom[{i}].secretRef")),
                    secret: &secret.name,
                });
            }
        }
    }
    if pod
        .metadata
        .annotations
        .get(VAULT_INJECT_ANNOTATION)
        .is_some_and(|v| parse_bool_true(v))
    {
        references.push(SecretRef {
            source: SecretSource::VaultInjector,
            field_path: format!("metadata.annotations[{VAULT_INJECT_ANNOTATION}]"),
            secret: "",
        });
    }
    SecretUse {
        namespace: &pod.metadata.namespace,
        references,
    }
}

/// Rule: a secret reaches the application through an environment variable.
pub const SECRET_IN_ENV: &str = "secret-in-env";
/// Rule: a Secret no manager provides (not owned by an ExternalSecret).
pub const UNMANAGED_SECRET: &str = "unmanaged-secret";

/// One reason a pod's secrets handling is not compliant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretProblem {
    /// [`SECRET_IN_ENV`] or [`UNMANAGED_SECRET`].
    pub rule: &'static str,
    pub field_path: String,
    pub secret: String,
    pub detail: String,
}

/// A pod's secrets verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretsVerdict {
    /// The pod references at least one secret; only such pods count towards coverage.
    pub references_secrets: bool,
    /// Every reference is file-mounted and comes from a manager (vacuously true without
    /// references).
    pub compliant: bool,
    pub problems: Vec<SecretProblem>,
}

/// Judges a pod's secret references. `is_externally_managed(namespace, name)` says whether
/// the Secret is managed by External Secrets Operator (owned by an `ExternalSecret`, which
/// ESO does with the default `creationPolicy: Owner`).
///
/// Compliant iff every reference is file-mounted and sourced from a manager. Each reference is
/// judged on its own: a plain Secret mounted into a Vault-injected pod is still a plain Secret.
pub fn secrets_verdict(
    use_: &SecretUse<'_>,
    is_externally_managed: &dyn Fn(&str, &str) -> bool,
) -> SecretsVerdict {
    let mut problems = Vec::new();
    for reference in &use_.references {
        if reference.source.is_env() {
            problems.push(SecretProblem {
                rule: SECRET_IN_ENV,
                field_path: reference.field_path.clone(),
                secret: reference.secret.to_string(),
                detail: format!(
                    "secret {:?} is exposed as environment variables; mount it as a file",
                    reference.secret
                ),
            });
        }
        if !reference.source.is_manager()
            && !is_externally_managed(use_.namespace, reference.secret)
        {
            problems.push(SecretProblem {
                rule: UNMANAGED_SECRET,
                field_path: reference.field_path.clone(),
                secret: reference.secret.to_string(),
                detail: format!(
                    "secret {:?} is a plain Secret, not provided by a secrets manager \
                     (ExternalSecret, Secrets Store CSI or Vault injector)",
                    reference.secret
                ),
            });
        }
    }
    SecretsVerdict {
        references_secrets: !use_.references.is_empty(),
        compliant: problems.is_empty(),
        problems,
    }
}

#[cfg(test)]
#[path = "secrets_tests.rs"]
mod tests;
