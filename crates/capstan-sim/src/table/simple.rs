//! Printers whose cells are the name, a field or count or two, and the age: namespaces,
//! secrets, service accounts, config maps, leases, priority classes and webhook
//! configurations.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::fields::{bool_at, int_at, len_at, name_of, str_at};
use super::time::age;
use super::{AGE_COLUMN, Col, NAME_COLUMN, col};

pub(super) static NAMESPACES: &[Col] = &[
    NAME_COLUMN,
    col("Status", "string", "", 0, "The status of the namespace"),
    AGE_COLUMN,
];

pub(super) static SECRETS: &[Col] = &[
    NAME_COLUMN,
    col(
        "Type",
        "string",
        "",
        0,
        "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types",
    ),
    col(
        "Data",
        "string",
        "",
        0,
        "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
    ),
    AGE_COLUMN,
];

pub(super) static SERVICE_ACCOUNTS: &[Col] = &[
    NAME_COLUMN,
    col(
        "Secrets",
        "string",
        "",
        0,
        "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a \"kubernetes.io/enforce-mountable-secrets\" annotation set to \"true\". The \"kubernetes.io/enforce-mountable-secrets\" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret",
    ),
    AGE_COLUMN,
];

pub(super) static CONFIG_MAPS: &[Col] = &[
    NAME_COLUMN,
    col(
        "Data",
        "string",
        "",
        0,
        "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
    ),
    AGE_COLUMN,
];

pub(super) static LEASES: &[Col] = &[
    NAME_COLUMN,
    col(
        "Holder",
        "string",
        "",
        0,
        "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.",
    ),
    AGE_COLUMN,
];

pub(super) static PRIORITY_CLASSES: &[Col] = &[
    NAME_COLUMN,
    col(
        "Value",
        "integer",
        "",
        0,
        "value represents the integer value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec.",
    ),
    col(
        "Global-Default",
        "boolean",
        "",
        0,
        "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class. Only one PriorityClass can be marked as `globalDefault`. However, if more than one PriorityClasses exists with their `globalDefault` field set to true, the smallest value of such global default PriorityClasses will be used as the default priority.",
    ),
    AGE_COLUMN,
    col(
        "PreemptionPolicy",
        "string",
        "",
        0,
        "preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset.",
    ),
];

pub(super) static WEBHOOK_CONFIGURATIONS: &[Col] = &[
    NAME_COLUMN,
    col(
        "Webhooks",
        "integer",
        "",
        0,
        "Webhooks indicates the number of webhooks registered in this configuration",
    ),
    AGE_COLUMN,
];

pub(super) fn namespace_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        json!(name_of(obj)),
        json!(str_at(obj, &["status", "phase"])),
        json!(age(obj, now)),
    ]
}

pub(super) fn secret_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        json!(name_of(obj)),
        json!(str_at(obj, &["type"])),
        json!(len_at(obj, &["data"])),
        json!(age(obj, now)),
    ]
}

pub(super) fn service_account_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        json!(name_of(obj)),
        json!(len_at(obj, &["secrets"])),
        json!(age(obj, now)),
    ]
}

pub(super) fn config_map_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        json!(name_of(obj)),
        json!(len_at(obj, &["data"]) + len_at(obj, &["binaryData"])),
        json!(age(obj, now)),
    ]
}

pub(super) fn lease_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        json!(name_of(obj)),
        json!(str_at(obj, &["spec", "holderIdentity"])),
        json!(age(obj, now)),
    ]
}

pub(super) fn priority_class_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        json!(name_of(obj)),
        json!(int_at(obj, &["value"])),
        json!(bool_at(obj, &["globalDefault"])),
        json!(age(obj, now)),
        json!(str_at(obj, &["preemptionPolicy"])),
    ]
}

/// Mutating and validating webhook configurations alike.
pub(super) fn webhook_configuration_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        json!(name_of(obj)),
        json!(len_at(obj, &["webhooks"])),
        json!(age(obj, now)),
    ]
}
