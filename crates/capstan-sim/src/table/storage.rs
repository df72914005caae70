//! Printers of storage: persistent volumes, persistent volume claims and storage classes.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::fields::{arr_at, at, bool_at, deleting, name_of, quantity, str_at};
use super::time::age;
use super::{AGE_COLUMN, Col, NAME_COLUMN, col};

pub(super) static PERSISTENT_VOLUMES: &[Col] = &[
    NAME_COLUMN,
    col(
        "Capacity",
        "string",
        "",
        0,
        "capacity is the description of the persistent volume's resources and capacity. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#capacity",
    ),
    col(
        "Access Modes",
        "string",
        "",
        0,
        "accessModes contains all ways the volume can be mounted. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes",
    ),
    col(
        "Reclaim Policy",
        "string",
        "",
        0,
        "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim. Valid options are Retain (default for manually created PersistentVolumes), Delete (default for dynamically provisioned PersistentVolumes), and Recycle (deprecated). Recycle must be supported by the volume plugin underlying this PersistentVolume. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#reclaiming",
    ),
    col(
        "Status",
        "string",
        "",
        0,
        "phase indicates if a volume is available, bound to a claim, or released by a claim. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#phase",
    ),
    col(
        "Claim",
        "string",
        "",
        0,
        "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim. Expected to be non-nil when bound. claim.VolumeName is the authoritative bind between PV and PVC. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#binding",
    ),
    col("StorageClass", "string", "", 0, "StorageClass of the pv"),
    col(
        "VolumeAttributesClass",
        "string",
        "",
        0,
        "VolumeAttributesClass of the pv",
    ),
    col(
        "Reason",
        "string",
        "",
        0,
        "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.",
    ),
    AGE_COLUMN,
    col(
        "VolumeMode",
        "string",
        "",
        1,
        "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state. Value of Filesystem is implied when not included in spec.",
    ),
];

pub(super) static PERSISTENT_VOLUME_CLAIMS: &[Col] = &[
    NAME_COLUMN,
    col(
        "Status",
        "string",
        "",
        0,
        "phase represents the current phase of PersistentVolumeClaim.",
    ),
    col(
        "Volume",
        "string",
        "",
        0,
        "volumeName is the binding reference to the PersistentVolume backing this claim.",
    ),
    col(
        "Capacity",
        "string",
        "",
        0,
        "capacity represents the actual resources of the underlying volume.",
    ),
    col(
        "Access Modes",
        "string",
        "",
        0,
        "accessModes contains the actual access modes the volume backing the PVC has. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes-1",
    ),
    col("StorageClass", "string", "", 0, "StorageClass of the pvc"),
    col(
        "VolumeAttributesClass",
        "string",
        "",
        0,
        "VolumeAttributesClass of the pvc",
    ),
    AGE_COLUMN,
    col(
        "VolumeMode",
        "string",
        "",
        1,
        "volumeMode defines what type of volume is required by the claim. Value of Filesystem is implied when not included in claim spec.",
    ),
];

pub(super) static STORAGE_CLASSES: &[Col] = &[
    NAME_COLUMN,
    col(
        "Provisioner",
        "string",
        "",
        0,
        "provisioner indicates the type of the provisioner.",
    ),
    col(
        "ReclaimPolicy",
        "string",
        "",
        0,
        "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete.",
    ),
    col(
        "VolumeBindingMode",
        "string",
        "",
        0,
        "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.  When unset, VolumeBindingImmediate is used. This field is only honored by servers that enable the VolumeScheduling feature.",
    ),
    col(
        "AllowVolumeExpansion",
        "string",
        "",
        0,
        "allowVolumeExpansion shows whether the storage class allow volume expand.",
    ),
    AGE_COLUMN,
];

/// `helper.GetAccessModesAsString`.
fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(mode, _)| has(mode))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

/// `GetPersistentVolume(Claim)Class`: the beta annotation wins over spec.storageClassName.
fn storage_class_of(obj: &Value) -> &str {
    at(
        obj,
        &[
            "metadata",
            "annotations",
            "volume.beta.kubernetes.io/storage-class",
        ],
    )
    .and_then(Value::as_str)
    .unwrap_or_else(|| str_at(obj, &["spec", "storageClassName"]))
}

fn terminating_phase(obj: &Value) -> &str {
    if deleting(obj) {
        "Terminating"
    } else {
        str_at(obj, &["status", "phase"])
    }
}

fn unset_or<'a>(obj: &'a Value, path: &[&str]) -> &'a str {
    at(obj, path).and_then(Value::as_str).unwrap_or("<unset>")
}

pub(super) fn persistent_volume_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let claim = match at(obj, &["spec", "claimRef"]) {
        Some(r) => format!("{}/{}", str_at(r, &["namespace"]), str_at(r, &["name"])),
        None => String::new(),
    };
    vec![
        json!(name_of(obj)),
        json!(quantity(at(obj, &["spec", "capacity", "storage"]))),
        json!(access_modes(arr_at(obj, &["spec", "accessModes"]))),
        json!(str_at(obj, &["spec", "persistentVolumeReclaimPolicy"])),
        json!(terminating_phase(obj)),
        json!(claim),
        json!(storage_class_of(obj)),
        json!(unset_or(obj, &["spec", "volumeAttributesClassName"])),
        json!(str_at(obj, &["status", "reason"])),
        json!(age(obj, now)),
        json!(unset_or(obj, &["spec", "volumeMode"])),
    ]
}

pub(super) fn persistent_volume_claim_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let volume_name = str_at(obj, &["spec", "volumeName"]);
    let (capacity, modes) = if volume_name.is_empty() {
        (String::new(), String::new())
    } else {
        (
            quantity(at(obj, &["status", "capacity", "storage"])),
            access_modes(arr_at(obj, &["status", "accessModes"])),
        )
    };
    vec![
        json!(name_of(obj)),
        json!(terminating_phase(obj)),
        json!(volume_name),
        json!(capacity),
        json!(modes),
        json!(storage_class_of(obj)),
        json!(unset_or(obj, &["spec", "volumeAttributesClassName"])),
        json!(age(obj, now)),
        json!(unset_or(obj, &["spec", "volumeMode"])),
    ]
}

pub(super) fn storage_class_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let annotation = |k: &str| str_at(obj, &["metadata", "annotations", k]) == "true";
    let mut name = name_of(obj).to_string();
    if annotation("storageclass.kubernetes.io/is-default-class")
        || annotation("storageclass.beta.kubernetes.io/is-default-class")
    {
        name.push_str(" (default)");
    }
    vec![
        json!(name),
        json!(str_at(obj, &["provisioner"])),
        json!(
            at(obj, &["reclaimPolicy"])
                .and_then(Value::as_str)
                .unwrap_or("Delete")
        ),
        json!(
            at(obj, &["volumeBindingMode"])
                .and_then(Value::as_str)
                .unwrap_or("Immediate")
        ),
        json!(bool_at(obj, &["allowVolumeExpansion"])),
        json!(age(obj, now)),
    ]
}
