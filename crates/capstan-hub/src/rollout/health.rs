//! The health reports a controller round reads: once per round for every live upgrade's
//! watched clusters, then in batches for clusters preflight meets unread.

use std::collections::{BTreeMap, HashSet};

use capstan_core::health::HealthReport;

use crate::Result;
use crate::store::SharedStore;

/// Latest health reports by cluster, with which clusters were read (a cluster read without a
/// report is not read again).
#[derive(Debug, Default)]
pub(crate) struct HealthCache {
    pub reports: BTreeMap<String, HealthReport>,
    read: HashSet<String>,
}

impl HealthCache {
    pub fn has_read(&self, cluster: &str) -> bool {
        self.read.contains(cluster)
    }

    /// Reads the latest reports of `clusters` in one query (none when empty).
    pub async fn fetch(&mut self, store: &SharedStore, clusters: Vec<String>) -> Result<()> {
        if clusters.is_empty() {
            return Ok(());
        }
        let reports = store.health_reports(&clusters).await?;
        self.reports.extend(reports);
        self.read.extend(clusters);
        Ok(())
    }
}
