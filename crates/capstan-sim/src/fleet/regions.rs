//! Regions the planner picks from and the zones each provider names in them.

/// Regions of each provider the planner spreads clusters over.
pub(super) fn regions(provider: &str) -> &'static [&'static str] {
    match provider {
        "aws" => &[
            "us-east-1",
            "us-west-2",
            "eu-west-1",
            "eu-central-1",
            "ap-southeast-1",
        ],
        "gcp" => &[
            "us-central1",
            "us-east1",
            "europe-west1",
            "europe-west4",
            "asia-southeast1",
        ],
        "azure" => &[
            "eastus",
            "eastus2",
            "westeurope",
            "northeurope",
            "southeastasia",
        ],
        _ => &["dc-ams1", "dc-fra2", "dc-nyc3"],
    }
}

/// Zones of a region as each provider spells them in `topology.kubernetes.io/zone`.
pub fn zones_of(provider: &str, region: &str) -> Vec<String> {
    match provider {
        "aws" => ["a", "b", "c"]
            .iter()
            .map(|z| format!("{region}{z}"))
            .collect(),
        "gcp" => ["a", "b", "c"]
            .iter()
            .map(|z| format!("{region}-{z}"))
            .collect(),
        "azure" => (1..=3).map(|z| format!("{region}-{z}")).collect(),
        _ => (1..=3).map(|z| format!("{region}-rack{z}")).collect(),
    }
}
