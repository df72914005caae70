//! [`Store`] for [`SqliteStore`]: each method boxes the inherent one of the same name (in the
//! sibling module of its concept).

use std::collections::BTreeMap;

use capstan_core::cost::{CostHour, CostPeriod, CostWindow, Resolution};
use capstan_core::health::HealthReport;
use capstan_core::posture::report::PostureReport;
use capstan_core::selector::LabelSelector;
use futures::FutureExt;
use futures::future::BoxFuture;
use jiff::Timestamp;
use serde_json::Value;

use super::SqliteStore;
use crate::Result;
use crate::store::{
    ClusterCostTotals, ClusterExceptions, ClusterFinding, ClusterRecord, ClusterReport, CostDetail,
    CostRecommendationsRecord, CostWriteOutcome, EventRecord, FindingsQuery, HistoryQuery,
    NewEvent, NewWorkItem, PostureHistoryBucket, PostureRead, PostureSummary, PostureWriteOutcome,
    RolloutClusterRecord, RolloutWrite, Store, Subject, UpgradeRecord, WorkItem, WorkStatus,
    WorkStatusRow,
};

impl Store for SqliteStore {
    fn upsert_cluster<'a>(
        &'a self,
        report: &'a ClusterReport,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<()>> {
        self.upsert_cluster(report, now).boxed()
    }

    fn get_cluster<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<ClusterRecord>>> {
        self.get_cluster(name).boxed()
    }

    fn list_clusters<'a>(
        &'a self,
        selector: &'a LabelSelector,
    ) -> BoxFuture<'a, Result<Vec<ClusterRecord>>> {
        self.list_clusters(selector).boxed()
    }

    fn delete_cluster<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool>> {
        self.delete_cluster(name).boxed()
    }

    fn deregister_cluster<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool>> {
        self.deregister_cluster(name).boxed()
    }

    fn cluster_names(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        self.cluster_names().boxed()
    }

    fn health_reports<'a>(
        &'a self,
        clusters: &'a [String],
    ) -> BoxFuture<'a, Result<BTreeMap<String, HealthReport>>> {
        self.health_reports(clusters).boxed()
    }

    fn register_agent<'a>(
        &'a self,
        cluster: &'a str,
        token: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<()>> {
        self.register_agent(cluster, token, now).boxed()
    }

    fn verify_agent<'a>(&'a self, cluster: &'a str, token: &'a str) -> BoxFuture<'a, Result<bool>> {
        self.verify_agent(cluster, token).boxed()
    }

    fn create_upgrade<'a>(
        &'a self,
        name: &'a str,
        spec: &'a Value,
        status: &'a Value,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<UpgradeRecord>> {
        self.create_upgrade(name, spec, status, now).boxed()
    }

    fn get_upgrade<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<UpgradeRecord>>> {
        self.get_upgrade(name).boxed()
    }

    fn list_upgrades(&self) -> BoxFuture<'_, Result<Vec<UpgradeRecord>>> {
        self.list_upgrades().boxed()
    }

    fn list_upgrade_generations(&self) -> BoxFuture<'_, Result<Vec<(String, i64)>>> {
        self.list_upgrade_generations().boxed()
    }

    fn update_upgrade_status<'a>(
        &'a self,
        name: &'a str,
        expected_generation: i64,
        status: &'a Value,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<UpgradeRecord>> {
        self.update_upgrade_document("status", name, expected_generation, status, now)
            .boxed()
    }

    fn update_upgrade_spec<'a>(
        &'a self,
        name: &'a str,
        expected_generation: i64,
        spec: &'a Value,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<UpgradeRecord>> {
        self.update_upgrade_document("spec", name, expected_generation, spec, now)
            .boxed()
    }

    fn delete_upgrade<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool>> {
        self.delete_upgrade(name).boxed()
    }

    fn upsert_rollout_cluster<'a>(
        &'a self,
        upgrade: &'a str,
        cluster: &'a str,
        state: &'a Value,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<()>> {
        self.upsert_rollout_cluster(upgrade, cluster, state, now)
            .boxed()
    }

    fn list_rollout_clusters<'a>(
        &'a self,
        upgrade: &'a str,
    ) -> BoxFuture<'a, Result<Vec<RolloutClusterRecord>>> {
        self.list_rollout_clusters(upgrade).boxed()
    }

    fn write_rollout<'a>(
        &'a self,
        write: &'a RolloutWrite,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<UpgradeRecord>> {
        self.write_rollout(write, now).boxed()
    }

    fn append_event<'a>(&'a self, event: &'a NewEvent) -> BoxFuture<'a, Result<i64>> {
        self.append_event(event).boxed()
    }

    fn list_events<'a>(
        &'a self,
        subject: &'a Subject,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<EventRecord>>> {
        self.list_events(subject, limit).boxed()
    }

    fn enqueue_work<'a>(
        &'a self,
        item: &'a NewWorkItem,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<bool>> {
        self.enqueue_work(item, now).boxed()
    }

    fn get_work<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<WorkItem>>> {
        self.get_work(id).boxed()
    }

    fn list_open_work<'a>(&'a self, cluster: &'a str) -> BoxFuture<'a, Result<Vec<WorkItem>>> {
        self.list_open_work(cluster).boxed()
    }

    fn set_work_status<'a>(
        &'a self,
        id: &'a str,
        generation: i64,
        status: WorkStatus,
        message: Option<&'a str>,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<WorkItem>> {
        self.set_work_status(id, generation, status, message, now)
            .boxed()
    }

    fn set_work_result<'a>(
        &'a self,
        id: &'a str,
        generation: i64,
        result: &'a Value,
    ) -> BoxFuture<'a, Result<bool>> {
        self.set_work_result(id, generation, result).boxed()
    }

    fn list_work_statuses<'a>(
        &'a self,
        id_prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<WorkStatusRow>>> {
        self.list_work_statuses(id_prefix).boxed()
    }

    fn list_work_results<'a>(
        &'a self,
        id_prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(String, Value)>>> {
        self.list_work_results(id_prefix).boxed()
    }

    fn put_cost<'a>(
        &'a self,
        cluster: &'a str,
        hours: &'a [CostHour],
        recommendations: Option<&'a Value>,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<CostWriteOutcome>> {
        self.put_cost(cluster, hours, recommendations, now).boxed()
    }

    fn cost_totals<'a>(
        &'a self,
        resolution: Resolution,
        window: CostWindow,
        clusters: Option<&'a [String]>,
    ) -> BoxFuture<'a, Result<Vec<ClusterCostTotals>>> {
        self.cost_totals(resolution, window, clusters).boxed()
    }

    fn cost_periods<'a>(
        &'a self,
        resolution: Resolution,
        window: CostWindow,
        clusters: Option<&'a [String]>,
        detail: CostDetail,
    ) -> BoxFuture<'a, Result<Vec<(String, CostPeriod)>>> {
        self.cost_periods(resolution, window, clusters, detail)
            .boxed()
    }

    fn cost_recommendations<'a>(
        &'a self,
        clusters: Option<&'a [String]>,
    ) -> BoxFuture<'a, Result<Vec<CostRecommendationsRecord>>> {
        self.cost_recommendations(clusters).boxed()
    }

    fn put_posture<'a>(
        &'a self,
        report: &'a PostureReport,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<PostureWriteOutcome>> {
        self.put_posture(report, now).boxed()
    }

    fn posture_summaries<'a>(
        &'a self,
        read: PostureRead<'a>,
    ) -> BoxFuture<'a, Result<Vec<PostureSummary>>> {
        self.posture_summaries(read).boxed()
    }

    fn posture_exceptions<'a>(
        &'a self,
        clusters: Option<&'a [String]>,
    ) -> BoxFuture<'a, Result<Vec<ClusterExceptions>>> {
        self.posture_exceptions(clusters).boxed()
    }

    fn posture_findings<'a>(
        &'a self,
        query: &'a FindingsQuery,
    ) -> BoxFuture<'a, Result<Vec<ClusterFinding>>> {
        self.posture_findings(query).boxed()
    }

    fn posture_history_buckets<'a>(
        &'a self,
        query: &'a HistoryQuery,
    ) -> BoxFuture<'a, Result<Vec<PostureHistoryBucket>>> {
        self.posture_history_buckets(query).boxed()
    }
}
