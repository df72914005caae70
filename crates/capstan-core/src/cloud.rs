//! What a node's well-known labels and `spec.providerID` say about the machine: its cloud,
//! region, instance type and whether it is spot capacity. Cost allocation prices a node by
//! these, as OpenCost does.

/// `topology.kubernetes.io/region` and its deprecated beta spelling.
pub const REGION_LABELS: [&str; 2] = [
    "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/region",
];
/// `node.kubernetes.io/instance-type` and its deprecated beta spelling.
pub const INSTANCE_TYPE_LABELS: [&str; 2] = [
    "node.kubernetes.io/instance-type",
    "beta.kubernetes.io/instance-type",
];

/// The cloud a node runs in: `aws`, `gcp`, `azure`, or `""` when nothing says.
///
/// `spec.providerID` decides when set (`aws:///…`, `gce://…`, `azure://…`); otherwise the
/// managed node-pool labels (OpenCost reads `eks.amazonaws.com/nodegroup` and
/// `cloud.google.com/gke-nodepool` for the management fee; AKS sets `kubernetes.azure.com/*`).
pub fn provider<'a>(
    provider_id: Option<&str>,
    label: impl Fn(&str) -> Option<&'a str>,
) -> &'static str {
    if let Some(id) = provider_id {
        let scheme = id.split("://").next().unwrap_or("");
        match scheme {
            "aws" => return "aws",
            "gce" => return "gcp",
            "azure" => return "azure",
            _ => {}
        }
    }
    if label("eks.amazonaws.com/nodegroup").is_some()
        || label("eks.amazonaws.com/capacityType").is_some()
    {
        "aws"
    } else if label("cloud.google.com/gke-nodepool").is_some() {
        "gcp"
    } else if label("kubernetes.azure.com/agentpool").is_some()
        || label("kubernetes.azure.com/scalesetpriority").is_some()
    {
        "azure"
    } else {
        ""
    }
}

/// Whether the node is spot (preemptible) capacity, from any cloud's label: Karpenter's
/// `karpenter.sh/capacity-type=spot`, EKS `eks.amazonaws.com/capacityType=SPOT`, GKE
/// `cloud.google.com/gke-spot=true` or `cloud.google.com/gke-preemptible=true`, AKS
/// `kubernetes.azure.com/scalesetpriority=spot`.
pub fn is_spot<'a>(label: impl Fn(&str) -> Option<&'a str>) -> bool {
    label("karpenter.sh/capacity-type") == Some("spot")
        || label("eks.amazonaws.com/capacityType") == Some("SPOT")
        || label("cloud.google.com/gke-spot") == Some("true")
        || label("cloud.google.com/gke-preemptible") == Some("true")
        || label("kubernetes.azure.com/scalesetpriority") == Some("spot")
}

/// The first of `keys` the node carries.
pub fn first_label<'a>(label: impl Fn(&str) -> Option<&'a str>, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| label(k))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn check(provider_id: Option<&str>, pairs: &[(&str, &str)], want: (&str, bool)) {
        let l = labels(pairs);
        let get = |k: &str| l.get(k).map(String::as_str);
        assert_eq!(
            (provider(provider_id, get), is_spot(get)),
            want,
            "{provider_id:?} {pairs:?}"
        );
    }

    #[test]
    fn providers_and_spot_capacity_from_ids_and_labels() {
        check(Some("aws:///us-east-1a/i-0abc"), &[], ("aws", false));
        check(Some("gce://proj/us-central1-a/vm"), &[], ("gcp", false));
        check(Some("azure:///subscriptions/x"), &[], ("azure", false));
        check(Some("kind://docker/kind/node"), &[], ("", false));
        check(
            None,
            &[("eks.amazonaws.com/capacityType", "SPOT")],
            ("aws", true),
        );
        check(
            None,
            &[("eks.amazonaws.com/capacityType", "ON_DEMAND")],
            ("aws", false),
        );
        check(
            None,
            &[
                ("cloud.google.com/gke-nodepool", "p"),
                ("cloud.google.com/gke-spot", "true"),
            ],
            ("gcp", true),
        );
        check(
            None,
            &[("cloud.google.com/gke-preemptible", "true")],
            ("", true),
        );
        check(
            None,
            &[("kubernetes.azure.com/scalesetpriority", "spot")],
            ("azure", true),
        );
        check(
            None,
            &[("karpenter.sh/capacity-type", "on-demand")],
            ("", false),
        );
        check(None, &[("karpenter.sh/capacity-type", "spot")], ("", true));
    }

    #[test]
    fn the_ga_label_wins_over_the_beta_one() {
        let l = labels(&[
            ("beta.kubernetes.io/instance-type", "old"),
            ("node.kubernetes.io/instance-type", "m5.xlarge"),
        ]);
        let get = |k: &str| l.get(k).map(String::as_str);
        assert_eq!(first_label(get, &INSTANCE_TYPE_LABELS), Some("m5.xlarge"));
        assert_eq!(first_label(get, &REGION_LABELS), None);
    }
}
