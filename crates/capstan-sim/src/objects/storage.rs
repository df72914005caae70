//! Storage: per-provider CSI drivers and default StorageClasses, claim templates, the PVCs a
//! StatefulSet creates and the dynamically provisioned PVs bound to them.

use capstan_core::rng::SimRng;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::time::rfc3339;
use super::{cloud_account, meta, rng_hex, str_at, with};

/// CSI driver and default StorageClass name per provider.
pub fn storage_driver(provider: &str) -> (&'static str, &'static str) {
    match provider {
        "aws" => ("ebs.csi.aws.com", "gp3"),
        "gcp" => ("pd.csi.storage.gke.io", "standard-rwo"),
        "azure" => ("disk.csi.azure.com", "managed-csi"),
        _ => ("csi.vsphere.vmware.com", "vsphere-csi"),
    }
}

/// A `volumeClaimTemplates` entry.
pub fn volume_claim_template(name: &str, storage_class: &str, size: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "creationTimestamp": null},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": size}},
            "storageClassName": storage_class,
            "volumeMode": "Filesystem",
        },
        "status": {"phase": "Pending"},
    })
}

/// The provider's default StorageClass (WaitForFirstConsumer, Delete, expandable).
pub fn storage_class(provider: &str, rng: &mut SimRng, now: Timestamp) -> Value {
    let (driver, name) = storage_driver(provider);
    let params = match provider {
        "aws" => json!({"type": "gp3", "fsType": "ext4"}),
        "gcp" => json!({"type": "pd-balanced"}),
        "azure" => json!({"skuname": "StandardSSD_LRS"}),
        _ => json!({"storagepolicyname": "vSAN Default Storage Policy"}),
    };
    let mut metadata = meta(name, None, now, rng);
    metadata.insert(
        "annotations".into(),
        json!({"storageclass.kubernetes.io/is-default-class": "true"}),
    );
    with(
        json!({
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "provisioner": driver,
        "parameters": params,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": true,
        }),
        vec![(&["metadata"], Value::Object(metadata))],
    )
}

/// The PVC a StatefulSet controller creates from claim template `claim` for `ordinal`
/// (`<claim>-<set>-<ordinal>`, the set's selector labels, pvc-protection finalizer), still
/// Pending; `selected_node` is the scheduler's WaitForFirstConsumer choice.
pub fn pvc_for_statefulset(
    sts: &Value,
    claim: &str,
    ordinal: u32,
    selected_node: Option<&str>,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    let sname = str_at(sts, "/metadata/name");
    let template = sts["spec"]["volumeClaimTemplates"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| str_at(c, "/metadata/name") == claim))
        .cloned()
        .unwrap_or_else(|| volume_claim_template(claim, "", "1Gi"));
    let name = format!("{claim}-{sname}-{ordinal}");
    let mut metadata = meta(&name, Some(str_at(sts, "/metadata/namespace")), now, rng);
    metadata.insert(
        "labels".into(),
        sts["spec"]["selector"]["matchLabels"].clone(),
    );
    metadata.insert("finalizers".into(), json!(["kubernetes.io/pvc-protection"]));
    if let Some(node) = selected_node {
        metadata.insert(
            "annotations".into(),
            json!({"volume.kubernetes.io/selected-node": node}),
        );
    }
    let mut spec = template["spec"].clone();
    spec["volumeMode"] = spec
        .get("volumeMode")
        .cloned()
        .unwrap_or(json!("Filesystem"));
    with(
        json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "spec": spec,
        "status": {"phase": "Pending"},
        }),
        vec![(&["metadata"], Value::Object(metadata))],
    )
}

/// The dynamically provisioned PV for `pvc`, bound both ways: the PV's claimRef points at
/// the claim and the claim gets `spec.volumeName`, the bind annotations and status Bound.
pub fn persistent_volume(
    pvc: &mut Value,
    provider: &str,
    zone: &str,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    let (driver, _) = storage_driver(provider);
    let pvc_uid = str_at(pvc, "/metadata/uid").to_string();
    let name = format!("pvc-{pvc_uid}");
    let size = pvc
        .pointer("/spec/resources/requests/storage")
        .and_then(Value::as_str)
        .unwrap_or("1Gi")
        .to_string();
    let class = str_at(pvc, "/spec/storageClassName").to_string();
    let access = pvc["spec"]["accessModes"].clone();
    let handle = match provider {
        "aws" => format!("vol-0{}", rng_hex(rng, 16)),
        "gcp" => format!(
            "projects/{}/zones/{zone}/disks/{name}",
            cloud_account("gcp", zone)
        ),
        "azure" => format!(
            "/subscriptions/{}/resourceGroups/mc_capstan/providers/Microsoft.Compute/disks/{name}",
            cloud_account("azure", zone)
        ),
        _ => format!("file://{}", rng.uuid()),
    };
    let mut metadata = meta(&name, None, now, rng);
    metadata.insert(
        "annotations".into(),
        json!({"pv.kubernetes.io/provisioned-by": driver, "volume.kubernetes.io/provisioner-deletion-secret-name": "", "volume.kubernetes.io/provisioner-deletion-secret-namespace": ""}),
    );
    metadata.insert(
        "finalizers".into(),
        json!([
            "external-provisioner.volume.kubernetes.io/finalizer",
            "kubernetes.io/pv-protection"
        ]),
    );
    let now_s = rfc3339(now);
    let pv = json!({
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": metadata,
        "spec": {
            "accessModes": access,
            "capacity": {"storage": size},
            "claimRef": {
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "name": str_at(pvc, "/metadata/name"), "namespace": str_at(pvc, "/metadata/namespace"),
                "uid": pvc_uid,
            },
            "csi": {
                "driver": driver, "fsType": "ext4", "volumeHandle": handle,
                "volumeAttributes": {"storage.kubernetes.io/csiProvisionerIdentity": format!("{}-8081-{driver}", now.as_second() * 1000)},
            },
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "topology.kubernetes.io/zone", "operator": "In", "values": [zone]},
            ]}]}},
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": class,
            "volumeMode": "Filesystem",
        },
        "status": {"phase": "Bound", "lastPhaseTransitionTime": now_s},
    });
    pvc["spec"]["volumeName"] = json!(name);
    if !pvc["metadata"]["annotations"].is_object() {
        pvc["metadata"]["annotations"] = json!({});
    }
    let ann = &mut pvc["metadata"]["annotations"];
    ann["pv.kubernetes.io/bind-completed"] = json!("yes");
    ann["pv.kubernetes.io/bound-by-controller"] = json!("yes");
    ann["volume.beta.kubernetes.io/storage-provisioner"] = json!(driver);
    ann["volume.kubernetes.io/storage-provisioner"] = json!(driver);
    pvc["status"] = json!({"phase": "Bound", "accessModes": access, "capacity": {"storage": size}});
    pv
}
