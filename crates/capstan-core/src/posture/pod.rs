//! [`PodInput`]: the parts of a Kubernetes Pod the posture checks read, deserialized straight
//! from the Pod's JSON (`kubectl get pod -o json`, a watch event's object). Unknown fields
//! are skipped, missing and `null` fields take their defaults, and nothing the checks do not
//! need is kept, because the agent streams every pod of a cluster through this type.
//!
//! Optional Kubernetes pointers stay `Option`s where a check tells "unset" from "set to the
//! zero value" (`runAsNonRoot`, `allowPrivilegeEscalation`, `seccompProfile`, …), exactly as
//! pod-security-admission does with the Go pointers.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// `null` reads as the type's default (Kubernetes omits empty fields, but a `null` is legal
/// JSON for any of them and must not fail a whole pod).
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A Pod, keeping what the posture checks need.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct PodInput {
    #[serde(deserialize_with = "nullable")]
    pub metadata: ObjectMeta,
    #[serde(deserialize_with = "nullable")]
    pub spec: PodSpec,
    #[serde(deserialize_with = "nullable")]
    pub status: PodStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ObjectMeta {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub namespace: String,
    #[serde(deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    pub annotations: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    pub owner_references: Vec<OwnerReference>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OwnerReference {
    #[serde(deserialize_with = "nullable")]
    pub api_version: String,
    #[serde(deserialize_with = "nullable")]
    pub kind: String,
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    pub controller: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PodSpec {
    pub os: Option<PodOs>,
    #[serde(deserialize_with = "nullable")]
    pub host_network: bool,
    #[serde(rename = "hostPID", deserialize_with = "nullable")]
    pub host_pid: bool,
    #[serde(rename = "hostIPC", deserialize_with = "nullable")]
    pub host_ipc: bool,
    /// `Some(false)` runs the pod in a user namespace, which relaxes some checks from v1.35.
    pub host_users: Option<bool>,
    pub security_context: Option<PodSecurityContext>,
    #[serde(deserialize_with = "nullable")]
    pub volumes: Vec<Volume>,
    #[serde(deserialize_with = "nullable")]
    pub containers: Vec<Container>,
    #[serde(deserialize_with = "nullable")]
    pub init_containers: Vec<Container>,
    /// Ephemeral containers share the fields the checks read with regular containers (PSA
    /// casts them to `Container` in policy/visitor.go).
    #[serde(deserialize_with = "nullable")]
    pub ephemeral_containers: Vec<Container>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PodOs {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
}

/// `spec.securityContext`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PodSecurityContext {
    pub run_as_non_root: Option<bool>,
    pub run_as_user: Option<i64>,
    pub seccomp_profile: Option<SeccompProfile>,
    #[serde(rename = "seLinuxOptions")]
    pub se_linux_options: Option<SeLinuxOptions>,
    pub app_armor_profile: Option<AppArmorProfile>,
    pub windows_options: Option<WindowsOptions>,
    #[serde(deserialize_with = "nullable")]
    pub sysctls: Vec<Sysctl>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SeccompProfile {
    #[serde(deserialize_with = "nullable")]
    pub r#type: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SeLinuxOptions {
    #[serde(deserialize_with = "nullable")]
    pub r#type: String,
    #[serde(deserialize_with = "nullable")]
    pub user: String,
    #[serde(deserialize_with = "nullable")]
    pub role: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct AppArmorProfile {
    #[serde(deserialize_with = "nullable")]
    pub r#type: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WindowsOptions {
    pub host_process: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Sysctl {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
}

/// A pod volume: its name, the key of its source (`configMap`, `nfs`, …) and the detail of
/// the sources the checks look into.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Volume {
    pub name: String,
    /// The volume source's key as it appears in the JSON (`"hostPath"`, `"configMap"`,
    /// `"nfs"`, …); empty when the volume names no source.
    pub source: Cow<'static, str>,
    pub host_path: Option<HostPathVolumeSource>,
    pub secret: Option<SecretVolumeSource>,
    pub csi: Option<CsiVolumeSource>,
    pub projected: Option<ProjectedVolumeSource>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct HostPathVolumeSource {
    #[serde(deserialize_with = "nullable")]
    pub path: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SecretVolumeSource {
    #[serde(deserialize_with = "nullable")]
    pub secret_name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CsiVolumeSource {
    #[serde(deserialize_with = "nullable")]
    pub driver: String,
    #[serde(deserialize_with = "nullable")]
    pub volume_attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ProjectedVolumeSource {
    #[serde(deserialize_with = "nullable")]
    pub sources: Vec<VolumeProjection>,
}

/// One `projected.sources[]` entry; only secret projections are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct VolumeProjection {
    pub secret: Option<SecretProjection>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SecretProjection {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
}

/// Every inline volume source key of core/v1 `VolumeSource`, so that the common ones are
/// recorded without allocating.
const VOLUME_SOURCE_KEYS: &[&str] = &[
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

enum VolumeKey {
    Name,
    HostPath,
    Secret,
    Csi,
    Projected,
    Source(Cow<'static, str>),
}

impl<'de> Deserialize<'de> for VolumeKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = VolumeKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a volume field name")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<VolumeKey, E> {
                Ok(match key {
                    "name" => VolumeKey::Name,
                    "hostPath" => VolumeKey::HostPath,
                    "secret" => VolumeKey::Secret,
                    "csi" => VolumeKey::Csi,
                    "projected" => VolumeKey::Projected,
                    other => VolumeKey::Source(
                        match VOLUME_SOURCE_KEYS.iter().find(|known| **known == other) {
                            Some(known) => Cow::Borrowed(*known),
                            None => Cow::Owned(other.to_string()),
                        },
                    ),
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Volume {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct VolumeVisitor;
        impl<'de> Visitor<'de> for VolumeVisitor {
            type Value = Volume;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a pod volume")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Volume, A::Error> {
                let mut volume = Volume::default();
                // A valid volume has exactly one source; with several (rejected by the API
                // server) the first non-null key wins.
                fn note(volume: &mut Volume, key: Cow<'static, str>) {
                    if volume.source.is_empty() {
                        volume.source = key;
                    }
                }
                while let Some(key) = map.next_key::<VolumeKey>()? {
                    match key {
                        VolumeKey::Name => {
                            volume.name = map.next_value::<Option<String>>()?.unwrap_or_default();
                        }
                        VolumeKey::HostPath => {
                            volume.host_path = map.next_value()?;
                            if volume.host_path.is_some() {
                                note(&mut volume, Cow::Borrowed("hostPath"));
                            }
                        }
                        VolumeKey::Secret => {
                            volume.secret = map.next_value()?;
                            if volume.secret.is_some() {
                                note(&mut volume, Cow::Borrowed("secret"));
                            }
                        }
                        VolumeKey::Csi => {
                            volume.csi = map.next_value()?;
                            if volume.csi.is_some() {
                                note(&mut volume, Cow::Borrowed("csi"));
                            }
                        }
                        VolumeKey::Projected => {
                            volume.projected = map.next_value()?;
                            if volume.projected.is_some() {
                                note(&mut volume, Cow::Borrowed("projected"));
                            }
                        }
                        VolumeKey::Source(source) => {
                            // `null` is "not set", as a nil pointer is in Go.
                            let value = map.next_value::<Option<IgnoredAny>>()?;
                            if value.is_some() {
                                note(&mut volume, source);
                            }
                        }
                    }
                }
                Ok(volume)
            }
        }
        deserializer.deserialize_map(VolumeVisitor)
    }
}

/// A container, init container or ephemeral container.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Container {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub image: String,
    #[serde(deserialize_with = "nullable")]
    pub ports: Vec<ContainerPort>,
    pub security_context: Option<SecurityContext>,
    #[serde(deserialize_with = "nullable")]
    pub env: Vec<EnvVar>,
    #[serde(deserialize_with = "nullable")]
    pub env_from: Vec<EnvFromSource>,
    pub liveness_probe: Option<Probe>,
    pub readiness_probe: Option<Probe>,
    pub startup_probe: Option<Probe>,
    pub lifecycle: Option<Lifecycle>,
    #[serde(deserialize_with = "nullable")]
    pub volume_mounts: Vec<VolumeMount>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContainerPort {
    #[serde(deserialize_with = "nullable")]
    pub host_port: i32,
}

/// A container's `securityContext`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SecurityContext {
    pub privileged: Option<bool>,
    pub allow_privilege_escalation: Option<bool>,
    pub run_as_non_root: Option<bool>,
    pub run_as_user: Option<i64>,
    pub capabilities: Option<Capabilities>,
    pub seccomp_profile: Option<SeccompProfile>,
    #[serde(rename = "seLinuxOptions")]
    pub se_linux_options: Option<SeLinuxOptions>,
    pub app_armor_profile: Option<AppArmorProfile>,
    pub windows_options: Option<WindowsOptions>,
    pub proc_mount: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Capabilities {
    #[serde(deserialize_with = "nullable")]
    pub add: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub drop: Vec<String>,
}

/// An `env[]` entry; literal values are not kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EnvVar {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    pub value_from: Option<EnvVarSource>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EnvVarSource {
    pub secret_key_ref: Option<SecretKeySelector>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SecretKeySelector {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub key: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EnvFromSource {
    pub secret_ref: Option<SecretEnvSource>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SecretEnvSource {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
}

/// A probe or a lifecycle handler: only the handlers that can name a host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Probe {
    pub http_get: Option<HostHandler>,
    pub tcp_socket: Option<HostHandler>,
}

/// `httpGet` or `tcpSocket`: only `host` matters to the checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct HostHandler {
    #[serde(deserialize_with = "nullable")]
    pub host: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Lifecycle {
    pub post_start: Option<Probe>,
    pub pre_stop: Option<Probe>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct VolumeMount {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PodStatus {
    #[serde(deserialize_with = "nullable")]
    pub phase: String,
    #[serde(deserialize_with = "nullable")]
    pub container_statuses: Vec<ContainerStatus>,
    #[serde(deserialize_with = "nullable")]
    pub init_container_statuses: Vec<ContainerStatus>,
    #[serde(deserialize_with = "nullable")]
    pub ephemeral_container_statuses: Vec<ContainerStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ContainerStatus {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub image: String,
    /// The running image, usually `<repository>@sha256:<digest>`
    /// (or `docker-pullable://…` from dockershim-era runtimes).
    #[serde(rename = "imageID", deserialize_with = "nullable")]
    pub image_id: String,
}

/// Which list of the pod spec a container is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ContainerKind {
    InitContainers,
    Containers,
    EphemeralContainers,
}

impl ContainerKind {
    /// The spec field holding this list (`"initContainers"`, …).
    pub fn field(self) -> &'static str {
        match self {
            ContainerKind::InitContainers => "initContainers",
            ContainerKind::Containers => "containers",
            ContainerKind::EphemeralContainers => "ephemeralContainers",
        }
    }
}

/// The field path of one container (`spec.containers[0]`). Copy and cheap: the string is only
/// built by [`Display`](fmt::Display) or [`ContainerPath::field`] when a finding is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContainerPath {
    pub kind: ContainerKind,
    pub index: usize,
}

impl ContainerPath {
    /// The path of a field of this container: `field("securityContext.privileged")` is
    /// `spec.containers[0].securityContext.privileged`.
    pub fn field(self, field: &str) -> String {
        format!("{self}.{field}")
    }
}

impl fmt::Display for ContainerPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "spec.{}[{}]", self.kind.field(), self.index)
    }
}

impl PodInput {
    /// The owner with `controller: true` as (kind, name), e.g. `("ReplicaSet", "web-5d8f")`.
    pub fn controller(&self) -> Option<(&str, &str)> {
        self.metadata
            .owner_references
            .iter()
            .find(|owner| owner.controller == Some(true))
            .map(|owner| (owner.kind.as_str(), owner.name.as_str()))
    }

    /// Every container with its path, in the order pod-security-admission visits them
    /// (policy/visitor.go): init containers, containers, then ephemeral containers.
    pub fn all_containers(&self) -> impl Iterator<Item = (ContainerPath, &Container)> + '_ {
        indexed(ContainerKind::InitContainers, &self.spec.init_containers)
            .chain(indexed(ContainerKind::Containers, &self.spec.containers))
            .chain(indexed(
                ContainerKind::EphemeralContainers,
                &self.spec.ephemeral_containers,
            ))
    }

    /// The status of the named container of the given list.
    pub fn container_status(&self, kind: ContainerKind, name: &str) -> Option<&ContainerStatus> {
        let statuses = match kind {
            ContainerKind::InitContainers => &self.status.init_container_statuses,
            ContainerKind::Containers => &self.status.container_statuses,
            ContainerKind::EphemeralContainers => &self.status.ephemeral_container_statuses,
        };
        statuses.iter().find(|status| status.name == name)
    }

    /// `spec.os.name == "windows"` (which exempts the pod from some restricted checks).
    pub fn is_windows(&self) -> bool {
        self.spec.os.as_ref().is_some_and(|os| os.name == "windows")
    }
}

fn indexed(
    kind: ContainerKind,
    containers: &[Container],
) -> impl Iterator<Item = (ContainerPath, &Container)> {
    containers
        .iter()
        .enumerate()
        .map(move |(index, container)| (ContainerPath { kind, index }, container))
}

#[cfg(test)]
#[path = "pod_tests.rs"]
mod tests;
