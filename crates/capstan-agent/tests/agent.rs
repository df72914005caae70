#![allow(clippy::unwrap_used)]
//! The agent against a real hub (its axum router on loopback over an in-memory store) and a
//! twin cluster: registration with a token file, reports reaching the inventory, and a
//! `cluster-upgrade` work item run to Succeeded with the cluster at the target.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use capstan_agent::work::{UpgradeSettings, resolve_target};
use capstan_agent::{Agent, AgentConfig, HubClient, TokenFile, WorkStatus};
use capstan_clock::{SharedClock, SystemClock};
use capstan_hub::api::{self, ApiState};
use capstan_hub::store::{self, NewWorkItem, SharedStore, SqliteStore};
use capstan_lab::{LabTwin, eventually};
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::ListParams;
use serde_json::{Value, json};

const BOOTSTRAP: &str = "bootstrap-secret-0123";

const FLEET: &str = r#"
clusters:
- name: alpha
  version: "1.32.4"
  provider: aws
  region: eu-west-1
  pods: 12
  seed: 11
  nodePools:
  - name: general
    instanceType: m6i.2xlarge
    capacityType: on-demand
    nodes: 3
    cpu: "8"
    memory: 32Gi
    zones: [eu-west-1a]
"#;

/// Fifty simulated minutes per real second: a machine provisions in a fraction of a second.
const SCALE: f64 = 3000.0;
const DEADLINE: Duration = Duration::from_secs(90);

struct Hub {
    state: ApiState,
    base_url: String,
}

/// The hub's API on a loopback port. Its clock is the real one: the lease (how long a
/// silent agent stays listed as healthy) is meant in real time here.
async fn start_hub() -> Hub {
    let sqlite = SqliteStore::memory().await.unwrap();
    let store: SharedStore = Arc::new(sqlite);
    let clock: SharedClock = Arc::new(SystemClock);
    let state = ApiState::new(
        store,
        clock,
        api::hash_token(BOOTSTRAP),
        Duration::from_secs(60),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = api::router(state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    Hub {
        state,
        base_url: format!("http://{addr}"),
    }
}

async fn get_json(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn kubelet(n: &Node) -> String {
    n.status
        .as_ref()
        .and_then(|s| s.node_info.as_ref())
        .map(|i| i.kubelet_version.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_needs_the_bootstrap_token_and_names_the_hubs_answer() {
    let hub = start_hub().await;
    let labels = BTreeMap::new();
    let err = HubClient::register(&hub.base_url, "wrong", "alpha", &labels)
        .await
        .unwrap_err();
    assert_eq!(err.hub_status(), Some(401), "{err}");
    assert!(err.to_string().contains("bootstrap token"), "{err}");
    // The token never shows in errors or Debug output.
    let client = HubClient::register(&hub.base_url, BOOTSTRAP, "alpha", &labels)
        .await
        .unwrap();
    assert!(client.token().starts_with("capstan.alpha."));
    assert!(!format!("{client:?}").contains(&client.token()));
    // Another cluster's token: the hub's 403 and its message come through.
    let other = HubClient::new(&hub.base_url, "beta", &client.token()).unwrap();
    let err = other.poll_work(Duration::ZERO).await.unwrap_err();
    assert_eq!(err.hub_status(), Some(403), "{err}");
    assert!(err.to_string().contains("not for cluster"), "{err}");
    assert!(!err.to_string().contains(&client.token()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_registers_reports_and_runs_a_cluster_upgrade() {
    let lab = LabTwin::start(FLEET, SCALE, capstan_sim::TwinConfig::default())
        .await
        .unwrap();
    let hub = start_hub().await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = TokenFile::new(dir.path().join("alpha.token"));
    let labels = BTreeMap::from([("environment".to_string(), "production".to_string())]);

    // Registration: the token is saved readable by its owner only, and used again.
    let client = token_file
        .load_or_register(&hub.base_url, BOOTSTRAP, "alpha", &labels)
        .await
        .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(token_file.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = token_file
        .load_or_register(&hub.base_url, "not-needed-any-more", "alpha", &labels)
        .await
        .unwrap();
    assert_eq!(again.token(), client.token());

    let config = AgentConfig {
        labels: labels.clone(),
        report_interval: Duration::from_millis(200),
        poll_wait: Duration::from_secs(5),
        upgrade: UpgradeSettings {
            poll_interval: Duration::from_millis(50),
            ..UpgradeSettings::default()
        },
        ..AgentConfig::new(lab.target("alpha"))
    };
    let agent = Agent::new(again, config, lab.clock.clone());
    let running = tokio::spawn(async move { agent.run().await });

    // Reports reach the inventory.
    let cluster_url = format!("{}/api/v1/clusters/alpha", hub.base_url);
    let view = eventually("the agent's first report", DEADLINE, || async {
        let (code, body) = get_json(&cluster_url).await;
        (code == 200 && body["nodeCount"] == 3).then_some(body)
    })
    .await;
    assert_eq!(view["podCount"], 12, "{view}");
    assert_eq!(view["versions"]["controlPlane"], "v1.32.4", "{view}");
    // Kubelets carry the provider's suffix (`v1.32.4-eks-...`).
    let kubelets = view["versions"]["kubelet"].as_object().unwrap();
    assert_eq!(kubelets.len(), 1, "{view}");
    let (version, count) = kubelets.iter().next().unwrap();
    assert!(version.starts_with("v1.32.4"), "{view}");
    assert_eq!(count, 3, "{view}");
    assert_eq!(view["health"], "Healthy", "{view}");
    assert_eq!(view["labels"]["environment"], "production", "{view}");
    assert_eq!(view["summary"]["nodes"]["total"], 3, "{view}");
    // What the twin's cloud offers, for the hub to resolve versions against.
    let offered = view["versions"]["offered"].as_array().unwrap();
    assert!(
        offered
            .iter()
            .any(|v| v.as_str().unwrap().starts_with("1.33.")),
        "{view}"
    );

    // Work: an unknown kind fails, a cluster upgrade runs to the end.
    let enqueue = |id: &str, kind: &str, payload: Value| NewWorkItem {
        id: id.to_string(),
        cluster: "alpha".to_string(),
        generation: 1,
        kind: kind.to_string(),
        payload,
    };
    let now = jiff::Timestamp::UNIX_EPOCH;
    let store = hub.state.store.clone();
    store
        .enqueue_work(
            &enqueue("bogus/alpha", "reticulate-splines", Value::Null),
            now,
        )
        .await
        .unwrap();
    // A '/' in the id travels as one path segment.
    let upgrade_id = "prod-canary/alpha/1.33";
    store
        .enqueue_work(
            &enqueue(
                upgrade_id,
                "cluster-upgrade",
                json!({
                    "version": "1.33",
                    "nodeRolling": {"maxSurge": 2, "maxUnavailable": "0", "drainTimeout": "30m"}
                }),
            ),
            now,
        )
        .await
        .unwrap();
    hub.state.notify_work("alpha");

    let bogus = eventually("the unknown kind to fail", DEADLINE, || async {
        let item = store.get_work("bogus/alpha").await.unwrap().unwrap();
        item.status.is_final().then_some(item)
    })
    .await;
    assert_eq!(bogus.status, store::WorkStatus::Failed);
    assert!(
        bogus
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("unknown work kind"),
        "{bogus:?}"
    );

    let done = eventually("the upgrade to finish", DEADLINE, || async {
        let item = store.get_work(upgrade_id).await.unwrap().unwrap();
        item.status.is_final().then_some(item)
    })
    .await;
    assert_eq!(done.status, store::WorkStatus::Succeeded, "{done:?}");
    assert!(
        done.message.as_deref().unwrap_or_default().contains("1.33"),
        "{done:?}"
    );

    // The cluster is at the target, and the inventory follows.
    let kube = lab.client("alpha").await.unwrap();
    let info = kube.apiserver_version().await.unwrap();
    assert!(
        info.git_version.starts_with("v1.33."),
        "{}",
        info.git_version
    );
    let nodes = Api::<Node>::all(kube.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    assert!(!nodes.is_empty());
    for node in &nodes {
        assert!(kubelet(node).starts_with("v1.33."), "{}", kubelet(node));
    }
    eventually("the inventory at 1.33", DEADLINE, || async {
        let (_, body) = get_json(&cluster_url).await;
        let at_target = body["versions"]["controlPlane"]
            .as_str()
            .is_some_and(|v| v.starts_with("v1.33."))
            && body["versions"]["kubelet"]
                .as_object()
                .is_some_and(|k| !k.is_empty() && k.keys().all(|v| v.starts_with("v1.33.")));
        at_target.then_some(())
    })
    .await;
    // With no version named, the next target is the next minor.
    assert_eq!(resolve_target(&kube).await.unwrap(), "1.34");

    // Final items are not handed out again.
    let open = HubClient::new(&hub.base_url, "alpha", &client.token())
        .unwrap()
        .poll_work(Duration::ZERO)
        .await
        .unwrap();
    assert!(
        open.iter().all(|i| i.status != WorkStatus::Pending),
        "{open:?}"
    );
    assert!(open.is_empty(), "{open:?}");
    running.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_whose_token_the_hub_forgot_registers_again() {
    let hub = start_hub().await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = TokenFile::new(dir.path().join("alpha.token"));
    let labels = BTreeMap::from([("environment".to_string(), "production".to_string())]);
    let client = token_file
        .load_or_register(&hub.base_url, BOOTSTRAP, "alpha", &labels)
        .await
        .unwrap();
    let first = client.token();
    let body = capstan_agent::ReportBody {
        labels: labels.clone(),
        versions: capstan_agent::VersionsBody::default(),
        node_count: 3,
        pod_count: 12,
        health: capstan_agent::Health::Healthy,
        summary: Value::Null,
        offered_versions: vec!["1.33.3".to_string()],
        health_report: None,
    };
    client.report(&body).await.unwrap();

    // The cluster is deleted at the hub (`capstan delete cluster`): its token is gone.
    assert!(hub.state.store.deregister_cluster("alpha").await.unwrap());
    let plain = HubClient::new(&hub.base_url, "alpha", &first).unwrap();
    let err = plain.report(&body).await.unwrap_err();
    assert_eq!(err.hub_status(), Some(401), "{err}");

    // The agent's next request registers again, is repeated, and the new token is saved.
    client.report(&body).await.unwrap();
    let second = client.token();
    assert_ne!(second, first);
    let stored = hub.state.store.get_cluster("alpha").await.unwrap().unwrap();
    assert_eq!(stored.versions.offered, ["1.33.3"]);
    let reloaded = token_file.load(&hub.base_url, "alpha").unwrap().unwrap();
    assert_eq!(reloaded.token(), second);
    // Clones share the renewed token; polling works without registering a third time.
    let clone = client.clone();
    clone.poll_work(Duration::ZERO).await.unwrap();
    assert_eq!(clone.token(), second);

    // Without a usable bootstrap token the 401 stands.
    assert!(hub.state.store.deregister_cluster("alpha").await.unwrap());
    let stale = HubClient::new(&hub.base_url, "alpha", &second)
        .unwrap()
        .with_reregistration("wrong-bootstrap", &labels, None);
    let err = stale.report(&body).await.unwrap_err();
    assert_eq!(err.hub_status(), Some(401), "{err}");
    assert!(err.to_string().contains("bootstrap token"), "{err}");
}
