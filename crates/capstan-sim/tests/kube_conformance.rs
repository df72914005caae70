//! Conformance of the twin against what kube-rs (kube 5) expects of a real kube-apiserver:
//! paginated and streaming initial lists, in-stream 410s and relists after compaction,
//! server-side watch timeouts, reflector stores, metadata-only watches, the eviction
//! subresource with PodDisruptionBudgets, selector validation and authentication.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use capstan_sim::TwinConfig;
use common::{FLEET, TestTwin, eventually};
use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{
    Api, DeleteParams, EvictParams, ListParams, PartialObjectMeta, PostParams, WatchEvent,
    WatchParams,
};
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::watcher::{self, Event, watcher};
use kube::{Client, ResourceExt};
use serde_json::json;
use tokio::sync::mpsc;

const SCALE: f64 = 60.0;
const DEADLINE: Duration = Duration::from_secs(30);

/// A twin, a client for "alpha", and a fresh namespace `conf-<test>` with its pods API.
async fn setup(test: &str, default_retry: bool) -> (TestTwin, Client, Api<Pod>, String) {
    let t = TestTwin::start(FLEET, SCALE, TwinConfig::default()).await;
    let client = t.client("alpha", default_retry).await;
    let ns = format!("conf-{test}");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let body: Namespace =
        serde_json::from_value(json!({"metadata": {"name": ns}})).expect("namespace body");
    namespaces
        .create(&PostParams::default(), &body)
        .await
        .expect("namespace is created");
    let pods = Api::namespaced(client.clone(), &ns);
    (t, client, pods, ns)
}

fn pod_body(name: &str, labels: serde_json::Value, extra_spec: serde_json::Value) -> Pod {
    let mut spec = json!({"containers": [{"name": "c", "image": "nginx"}]});
    if let (Some(s), Some(extra)) = (spec.as_object_mut(), extra_spec.as_object()) {
        for (k, v) in extra {
            s.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}, "spec": spec}))
        .expect("pod body")
}

async fn create_pod(pods: &Api<Pod>, name: &str, labels: serde_json::Value) -> Pod {
    pods.create(&PostParams::default(), &pod_body(name, labels, json!({})))
        .await
        .unwrap_or_else(|e| panic!("pod {name} is created: {e}"))
}

fn describe<K: kube::Resource>(event: &Result<Event<K>, watcher::Error>) -> String {
    match event {
        Ok(Event::Init) => "Init".into(),
        Ok(Event::InitApply(o)) => format!("InitApply({})", o.name_any()),
        Ok(Event::InitDone) => "InitDone".into(),
        Ok(Event::Apply(o)) => format!("Apply({})", o.name_any()),
        Ok(Event::Delete(o)) => format!("Delete({})", o.name_any()),
        Err(e) => format!("Err({e})"),
    }
}

/// Drive `stream` in the background, sending a description of every event.
fn spawn_collector<K, S>(stream: S) -> mpsc::UnboundedReceiver<String>
where
    K: kube::Resource + Send + 'static,
    S: Stream<Item = Result<Event<K>, watcher::Error>> + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            if tx.send(describe(&event)).is_err() {
                return;
            }
        }
    });
    rx
}

/// Receive events into `seen` until `done(seen)` holds, or panic after `deadline`.
async fn collect_until(
    rx: &mut mpsc::UnboundedReceiver<String>,
    seen: &mut Vec<String>,
    what: &str,
    deadline: Duration,
    done: impl Fn(&[String]) -> bool,
) {
    let attempt = async {
        while !done(seen) {
            match rx.recv().await {
                Some(e) => seen.push(e),
                None => panic!("watch stream ended while waiting for {what}; saw {seen:?}"),
            }
        }
    };
    if tokio::time::timeout(deadline, attempt).await.is_err() {
        panic!("timed out waiting for {what}; saw {seen:?}");
    }
}

fn count(seen: &[String], label: &str) -> usize {
    seen.iter().filter(|s| *s == label).count()
}

/// The first Init..InitDone run of events, which must be Init, InitApply* and InitDone.
fn initial_list(seen: &[String]) -> Vec<String> {
    let start = seen.iter().position(|s| s == "Init").expect("an Init");
    let end = seen
        .iter()
        .position(|s| s == "InitDone")
        .expect("an InitDone");
    assert!(start < end, "Init comes before InitDone: {seen:?}");
    seen[start..=end].to_vec()
}

/// A watcher over the namespace that must list 3 pods, then see a 4th one created.
async fn list_then_watch(test: &str, cfg: watcher::Config) {
    let (_t, _client, pods, _ns) = setup(test, true).await;
    for name in ["p1", "p2", "p3"] {
        create_pod(&pods, name, json!({"app": "conf"})).await;
    }
    let mut rx = spawn_collector(watcher(pods.clone(), cfg));
    let mut seen = Vec::new();
    collect_until(&mut rx, &mut seen, "the initial list", DEADLINE, |s| {
        s.iter().any(|e| e == "InitDone")
    })
    .await;
    assert!(
        !seen.iter().any(|e| e.starts_with("Err")),
        "no errors during the initial list: {seen:?}"
    );
    let init = initial_list(&seen);
    assert_eq!(init.first().map(String::as_str), Some("Init"));
    let applied: BTreeSet<&str> = init[1..init.len() - 1].iter().map(String::as_str).collect();
    assert_eq!(init.len(), 5, "Init, 3 InitApply, InitDone: {seen:?}");
    assert_eq!(
        applied,
        BTreeSet::from(["InitApply(p1)", "InitApply(p2)", "InitApply(p3)"]),
        "{seen:?}"
    );
    create_pod(&pods, "p4", json!({"app": "conf"})).await;
    collect_until(&mut rx, &mut seen, "Apply(p4)", DEADLINE, |s| {
        s.iter().any(|e| e == "Apply(p4)")
    })
    .await;
    assert_eq!(count(&seen, "Init"), 1, "no relist: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paginated_list_then_watch() {
    list_then_watch("paginated", watcher::Config::default().page_size(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paginated_list_hands_out_continue_tokens() {
    let (_t, _client, pods, _ns) = setup("continue", true).await;
    for name in ["p1", "p2", "p3"] {
        create_pod(&pods, name, json!({"app": "conf"})).await;
    }
    let first = pods.list(&ListParams::default().limit(1)).await.unwrap();
    assert_eq!(first.items.len(), 1);
    let token = first
        .metadata
        .continue_
        .clone()
        .filter(|c| !c.is_empty())
        .expect("a continue token");
    // A write between pages must not show up in the rest of a consistent list.
    create_pod(&pods, "p0", json!({"app": "conf"})).await;
    let rest = pods
        .list(&ListParams::default().continue_token(&token))
        .await
        .unwrap();
    let mut names: Vec<String> = first
        .items
        .iter()
        .chain(rest.items.iter())
        .map(|p| p.name_any())
        .collect();
    names.sort();
    assert_eq!(names, ["p1", "p2", "p3"]);
    assert_eq!(
        rest.metadata.resource_version, first.metadata.resource_version,
        "pages share the snapshot"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_list_reaches_init_done() {
    list_then_watch("streaming", watcher::Config::default().streaming_lists()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_history_gives_in_stream_410_and_relist() {
    let (t, _client, pods, _ns) = setup("expired", true).await;
    create_pod(&pods, "p1", json!({"app": "conf"})).await;
    let old_rv = pods
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .expect("list rv");
    create_pod(&pods, "p2", json!({"app": "conf"})).await;
    let (code, body) = t
        .control("alpha", "POST", "sim/v1/compact", json!({}))
        .await;
    assert_eq!(code, 200, "compaction: {body}");
    create_pod(&pods, "p3", json!({"app": "conf"})).await;

    // The watch itself starts (HTTP 200); the expiry is the first event in the stream.
    let stream = pods
        .watch(&WatchParams::default().timeout(10), &old_rv)
        .await
        .expect("a watch from an expired resourceVersion starts with 200, not an HTTP 410");
    let mut stream = std::pin::pin!(stream);
    let first = tokio::time::timeout(DEADLINE, stream.next())
        .await
        .expect("an event before the deadline")
        .expect("the stream has an event")
        .expect("the event decodes");
    match first {
        WatchEvent::Error(status) => {
            assert_eq!(status.code, 410, "{status:?}");
            assert_eq!(status.reason, "Expired", "{status:?}");
        }
        other => panic!("expected an in-stream 410, got {other:?}"),
    }

    // A watcher reconnecting every second relists once its resourceVersion has been compacted.
    let mut rx = spawn_collector(
        watcher(pods.clone(), watcher::Config::default().timeout(1)).default_backoff(),
    );
    let mut seen = Vec::new();
    collect_until(&mut rx, &mut seen, "the initial list", DEADLINE, |s| {
        s.iter().any(|e| e == "InitDone")
    })
    .await;
    assert_eq!(count(&seen, "Init"), 1);
    // The API server restarts: open watches end and the history they would resume from is
    // gone, so the watcher's reconnect gets the in-stream 410 and it relists.
    let (code, body) = t
        .control("alpha", "POST", "sim/v1/restart", json!({}))
        .await;
    assert_eq!(code, 200, "restart: {body}");
    create_pod(&pods, "q0", json!({"app": "conf"})).await;
    collect_until(
        &mut rx,
        &mut seen,
        "a relist after the restart",
        DEADLINE,
        |s| count(s, "Init") >= 2,
    )
    .await;
    // The relist completes and includes the pods written after the compaction.
    collect_until(&mut rx, &mut seen, "the second InitDone", DEADLINE, |s| {
        count(s, "InitDone") >= 2
    })
    .await;
    let second_init = seen.iter().rposition(|e| e == "Init").unwrap();
    assert!(
        seen[second_init..].iter().any(|e| e == "InitApply(p3)"),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_watch_survives_compaction() {
    let (t, _client, pods, _ns) = setup("compaction", true).await;
    let rv = pods
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .expect("list rv");
    let stream = pods
        .watch(&WatchParams::default().timeout(30), &rv)
        .await
        .unwrap();
    let mut stream = std::pin::pin!(stream);
    create_pod(&pods, "a", json!({"app": "conf"})).await;
    let (code, _) = t
        .control("alpha", "POST", "sim/v1/compact", json!({}))
        .await;
    assert_eq!(code, 200);
    create_pod(&pods, "b", json!({"app": "conf"})).await;
    let mut names = Vec::new();
    while names.len() < 2 {
        let event = tokio::time::timeout(DEADLINE, stream.next())
            .await
            .expect("an event before the deadline")
            .expect("the stream stays open")
            .expect("the event decodes");
        match event {
            WatchEvent::Added(p) => names.push(p.metadata.name.unwrap_or_default()),
            WatchEvent::Error(e) => panic!("compaction expired an open watch: {e:?}"),
            _ => {}
        }
    }
    assert_eq!(names, ["a", "b"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_timeout_resumes_without_relist() {
    let (_t, _client, pods, _ns) = setup("timeout", true).await;
    let mut rx = spawn_collector(
        watcher(pods.clone(), watcher::Config::default().timeout(1)).default_backoff(),
    );
    let mut seen = Vec::new();
    collect_until(&mut rx, &mut seen, "the initial list", DEADLINE, |s| {
        s.iter().any(|e| e == "InitDone")
    })
    .await;
    // Writes spread over about four seconds, so that the watch is closed and resumed several times.
    let names: Vec<String> = (0..8).map(|i| format!("s{i}")).collect();
    for name in &names {
        create_pod(&pods, name, json!({"app": "conf"})).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let wanted: Vec<String> = names.iter().map(|n| format!("Apply({n})")).collect();
    collect_until(
        &mut rx,
        &mut seen,
        "an Apply for every pod",
        DEADLINE,
        |s| wanted.iter().all(|w| s.contains(w)),
    )
    .await;
    assert_eq!(
        count(&seen, "Init"),
        1,
        "resumed from the last resourceVersion, never relisted: {seen:?}"
    );
    assert!(
        !seen.iter().any(|e| e.starts_with("Err")),
        "no watch errors: {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_pod_leaves_store() {
    let (t, _client, pods, ns) = setup("reflector", true).await;
    create_pod(&pods, "keep", json!({"app": "conf"})).await;
    create_pod(&pods, "victim", json!({"app": "conf"})).await;
    let (reader, writer) = reflector::store::<Pod>();
    let stream = watcher(pods.clone(), watcher::Config::default().timeout(1))
        .default_backoff()
        .reflect(writer);
    let _events = spawn_collector(stream);
    tokio::time::timeout(DEADLINE, reader.wait_until_ready())
        .await
        .unwrap()
        .unwrap();
    let victim = ObjectRef::<Pod>::new("victim").within(&ns);
    let keep = ObjectRef::<Pod>::new("keep").within(&ns);
    assert!(reader.get(&victim).is_some(), "listed into the store");
    // The watch is cut and its history lost; the pod goes away while the watcher reconnects.
    let (code, _) = t
        .control("alpha", "POST", "sim/v1/restart", json!({}))
        .await;
    assert_eq!(code, 200);
    pods.delete(
        "victim",
        &DeleteParams {
            grace_period_seconds: Some(0),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    create_pod(&pods, "after", json!({"app": "conf"})).await;
    let after = ObjectRef::<Pod>::new("after").within(&ns);
    eventually("the deleted pod to leave the store", DEADLINE, || {
        let gone = reader.get(&victim).is_none() && reader.get(&after).is_some();
        async move { gone.then_some(()) }
    })
    .await;
    assert!(reader.get(&keep).is_some(), "the other pod stays");
    assert!(
        pods.get_opt("victim").await.unwrap().is_none(),
        "the pod is gone from the API too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_only_watch() {
    let (_t, client, pods, ns) = setup("metadata", true).await;
    create_pod(&pods, "m1", json!({"app": "conf"})).await;
    let meta: Api<PartialObjectMeta<Pod>> = Api::namespaced(client.clone(), &ns);
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(watcher(meta, watcher::Config::default()));
        while let Some(event) = stream.next().await {
            if let Ok(Event::InitApply(o) | Event::Apply(o)) = event
                && tx.send(o).is_err()
            {
                return;
            }
        }
    });
    let listed = next_named(&mut rx, "m1").await;
    let types = listed.types.clone().expect("typed");
    assert_eq!(
        (types.api_version.as_str(), types.kind.as_str()),
        ("meta.k8s.io/v1", "PartialObjectMetadata")
    );
    assert_eq!(listed.metadata.namespace.as_deref(), Some(ns.as_str()));
    create_pod(&pods, "m2", json!({"app": "conf"})).await;
    let watched = next_named(&mut rx, "m2").await;
    let types = watched.types.clone().expect("typed");
    assert_eq!(types.kind, "PartialObjectMetadata");
    assert!(watched.metadata.resource_version.is_some());

    // On the wire: watch events carry metadata only, no spec or status.
    let req = axum::http::Request::builder()
        .uri(format!(
            "/api/v1/namespaces/{ns}/pods?watch=true&timeoutSeconds=1"
        ))
        .header(
            "accept",
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
        )
        .body(Vec::new())
        .unwrap();
    let stream = client
        .request_events::<serde_json::Value>(req)
        .await
        .unwrap();
    let events: Vec<_> = tokio::time::timeout(DEADLINE, stream.collect::<Vec<_>>())
        .await
        .unwrap();
    let objects: Vec<serde_json::Value> = events
        .into_iter()
        .filter_map(|e| match e.unwrap() {
            WatchEvent::Added(o) | WatchEvent::Modified(o) => Some(o),
            _ => None,
        })
        .collect();
    assert!(objects.len() >= 2, "{objects:?}");
    for o in &objects {
        assert_eq!(o["kind"], "PartialObjectMetadata", "{o}");
        assert!(o["metadata"]["name"].is_string(), "{o}");
        assert!(
            o.get("spec").is_none() && o.get("status").is_none(),
            "metadata only: {o}"
        );
    }
}

async fn next_named(
    rx: &mut mpsc::UnboundedReceiver<PartialObjectMeta<Pod>>,
    name: &str,
) -> PartialObjectMeta<Pod> {
    let recv = async {
        loop {
            let o = rx.recv().await.expect("watch stream continues");
            if o.metadata.name.as_deref() == Some(name) {
                return o;
            }
        }
    };
    tokio::time::timeout(DEADLINE, recv)
        .await
        .unwrap_or_else(|_| panic!("{name} is watched"))
}

fn is_running_ready(p: &Pod) -> bool {
    let status = p.status.as_ref();
    status.and_then(|s| s.phase.as_deref()) == Some("Running")
        && status
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

async fn wait_ready(pods: &Api<Pod>, names: &[&str]) {
    eventually("pods Running and Ready", DEADLINE, || async {
        for name in names {
            if !is_running_ready(&pods.get(name).await.ok()?) {
                return None;
            }
        }
        Some(())
    })
    .await;
}

async fn create_pdb(
    client: &Client,
    ns: &str,
    name: &str,
    spec: serde_json::Value,
) -> Api<PodDisruptionBudget> {
    let api: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), ns);
    let body: PodDisruptionBudget =
        serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec}))
            .expect("pdb body");
    api.create(&PostParams::default(), &body)
        .await
        .expect("pdb is created");
    api
}

/// Wait until the disruption controller has observed the PDB and counts `healthy` pods.
async fn wait_pdb(api: &Api<PodDisruptionBudget>, name: &str, healthy: i32) -> PodDisruptionBudget {
    eventually("the PDB status to be observed", DEADLINE, || async {
        let pdb = api.get(name).await.ok()?;
        let status = pdb.status.as_ref()?;
        (status.observed_generation.is_some()
            && status.observed_generation == pdb.metadata.generation
            && status.current_healthy == healthy)
            .then_some(pdb.clone())
    })
    .await
}

async fn wait_gone(pods: &Api<Pod>, name: &str) {
    eventually("the pod to be gone (GET 404)", DEADLINE, || async {
        match pods.get(name).await {
            Err(kube::Error::Api(s)) if s.code == 404 => Some(()),
            _ => None,
        }
    })
    .await;
}

fn api_error(r: Result<kube::core::Status, kube::Error>) -> kube::core::Status {
    match r {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evict_without_pdb_succeeds() {
    let (_t, _client, pods, _ns) = setup("evict-free", false).await;
    create_pod(&pods, "e1", json!({"app": "web"})).await;
    wait_ready(&pods, &["e1"]).await;
    let rv = pods
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let stream = pods
        .watch(&WatchParams::default().timeout(60), &rv)
        .await
        .unwrap();
    let status = pods
        .evict("e1", &EvictParams::default())
        .await
        .expect("eviction is allowed");
    assert_eq!(status.code, 201, "{status:?}");
    let mut stream = std::pin::pin!(stream);
    let mut saw_terminating = false;
    let deleted = tokio::time::timeout(DEADLINE, async {
        while let Some(event) = stream.next().await {
            match event.unwrap() {
                WatchEvent::Modified(p) if p.name_any() == "e1" => {
                    saw_terminating |= p.metadata.deletion_timestamp.is_some();
                }
                WatchEvent::Deleted(p) if p.name_any() == "e1" => return p,
                WatchEvent::Error(e) => panic!("watch error {e:?}"),
                _ => {}
            }
        }
        panic!("watch ended before the DELETED event");
    })
    .await
    .expect("a DELETED event for the evicted pod");
    assert!(
        saw_terminating || deleted.metadata.deletion_timestamp.is_some(),
        "the pod had a deletionTimestamp"
    );
    assert!(
        deleted.metadata.deletion_timestamp.is_some(),
        "the final object carries its deletionTimestamp"
    );
    wait_gone(&pods, "e1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evict_blocked_by_pdb_is_429() {
    let (_t, client, pods, ns) = setup("evict-pdb", false).await;
    for name in ["w1", "w2"] {
        create_pod(&pods, name, json!({"app": "web"})).await;
    }
    wait_ready(&pods, &["w1", "w2"]).await;
    let pdbs = create_pdb(
        &client,
        &ns,
        "web",
        json!({"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}),
    )
    .await;
    let pdb = wait_pdb(&pdbs, "web", 2).await;
    assert_eq!(pdb.status.as_ref().unwrap().disruptions_allowed, 0);
    let status = api_error(pods.evict("w1", &EvictParams::default()).await);
    assert_eq!(status.code, 429, "{status:?}");
    assert_eq!(status.reason, "TooManyRequests", "{status:?}");
    assert!(status.message.contains("disruption budget"), "{status:?}");
    let pod = pods.get("w1").await.expect("the pod is still there");
    assert!(
        pod.metadata.deletion_timestamp.is_none(),
        "and not terminating"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evict_with_two_pdbs_is_500() {
    let (_t, client, pods, ns) = setup("evict-two", false).await;
    create_pod(&pods, "d1", json!({"app": "web", "tier": "front"})).await;
    wait_ready(&pods, &["d1"]).await;
    let a = create_pdb(
        &client,
        &ns,
        "by-app",
        json!({"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}}),
    )
    .await;
    let b = create_pdb(
        &client,
        &ns,
        "by-tier",
        json!({"maxUnavailable": 1, "selector": {"matchLabels": {"tier": "front"}}}),
    )
    .await;
    wait_pdb(&a, "by-app", 1).await;
    wait_pdb(&b, "by-tier", 1).await;
    let status = api_error(pods.evict("d1", &EvictParams::default()).await);
    assert_eq!(status.code, 500, "{status:?}");
    assert!(
        status.message.contains("more than one PodDisruptionBudget"),
        "{status:?}"
    );
    let pod = pods.get("d1").await.expect("the pod is still there");
    assert!(pod.metadata.deletion_timestamp.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evict_pending_pod_bypasses_pdb() {
    let (_t, client, pods, ns) = setup("evict-pending", false).await;
    pods.create(
        &PostParams::default(),
        &pod_body(
            "stuck",
            json!({"app": "web"}),
            json!({"nodeSelector": {"nope": "nope"}}),
        ),
    )
    .await
    .unwrap();
    let pdbs = create_pdb(
        &client,
        &ns,
        "web",
        json!({"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}),
    )
    .await;
    let pdb = wait_pdb(&pdbs, "web", 0).await;
    assert_eq!(
        pdb.status.as_ref().unwrap().disruptions_allowed,
        0,
        "the budget is at zero"
    );
    let pod = pods.get("stuck").await.unwrap();
    let status = pod.status.as_ref();
    assert_eq!(status.and_then(|s| s.phase.as_deref()), Some("Pending"));
    assert!(
        pod.spec.as_ref().unwrap().node_name.is_none(),
        "no node matches the selector"
    );
    let ok = pods
        .evict("stuck", &EvictParams::default())
        .await
        .expect("Pending pods bypass the budget");
    assert_eq!(ok.code, 201, "{ok:?}");
    wait_gone(&pods, "stuck").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_bad_selector_is_400_and_state_unchanged() {
    let (_t, _client, pods, _ns) = setup("selectors", true).await;
    create_pod(&pods, "b1", json!({"a": "x"})).await;
    let snapshot = |list: kube::core::ObjectList<Pod>| -> Vec<(String, Option<String>)> {
        list.items
            .iter()
            .map(|p| (p.name_any(), p.resource_version()))
            .collect()
    };
    let before = snapshot(
        pods.list(&ListParams::default().labels("a=x"))
            .await
            .unwrap(),
    );
    assert_eq!(before.len(), 1);

    let bad_label = pods.list(&ListParams::default().labels("a in (")).await;
    let status = match bad_label {
        Err(kube::Error::Api(s)) => s,
        other => panic!("expected 400, got {other:?}"),
    };
    assert_eq!(status.code, 400, "{status:?}");
    assert_eq!(status.reason, "BadRequest", "{status:?}");

    let bad_field = pods.list(&ListParams::default().fields("spec.foo=x")).await;
    let status = match bad_field {
        Err(kube::Error::Api(s)) => s,
        other => panic!("expected 400, got {other:?}"),
    };
    assert_eq!(status.code, 400, "{status:?}");
    assert!(status.message.contains("spec.foo"), "{status:?}");

    // A supported field selector still works, and nothing changed.
    let by_field = pods
        .list(&ListParams::default().fields("metadata.name=b1"))
        .await
        .unwrap();
    assert_eq!(by_field.items.len(), 1);
    let after = snapshot(
        pods.list(&ListParams::default().labels("a=x"))
            .await
            .unwrap(),
    );
    assert_eq!(
        before.iter().map(|b| &b.0).collect::<Vec<_>>(),
        after.iter().map(|a| &a.0).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_token_is_401() {
    let t = TestTwin::start(FLEET, SCALE, TwinConfig::default()).await;
    let kc = kube::config::Kubeconfig::read_from(&t.kubeconfig).unwrap();
    let opts = kube::config::KubeConfigOptions {
        context: Some("alpha".into()),
        ..Default::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kc, &opts)
        .await
        .unwrap();
    assert!(
        config.auth_info.token.is_some(),
        "the kubeconfig authenticates with a bearer token"
    );
    let wrong: kube::config::AuthInfo =
        serde_json::from_value(json!({"token": "not-the-token"})).unwrap();
    config.auth_info.token = wrong.token;
    config.default_retry = false;
    let client = Client::try_from(config).unwrap();
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let status = match pods.list(&ListParams::default()).await {
        Err(kube::Error::Api(s)) => s,
        other => panic!("expected 401, got {other:?}"),
    };
    assert_eq!(status.code, 401, "{status:?}");
    assert_eq!(status.reason, "Unauthorized", "{status:?}");
    // The right token still works against the same server.
    let good: Api<Pod> = Api::namespaced(t.client("alpha", false).await, "default");
    good.list(&ListParams::default())
        .await
        .expect("the kubeconfig's token is accepted");
}
