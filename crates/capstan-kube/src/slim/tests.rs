use serde_json::json;

use super::*;

fn pod_json() -> serde_json::Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": "web-1", "namespace": "shop", "uid": "u-1", "resourceVersion": "42",
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"app": "web", "pod-template-hash": "abc"},
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{\"huge\": true}",
                "kubernetes.io/config.mirror": "hash"
            },
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": "x"},
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc", "uid": "rs", "controller": true}
            ],
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]
        },
        "spec": {
            "nodeName": "n1",
            "priority": 1000,
            "terminationGracePeriodSeconds": 45,
            "initContainers": [{"name": "init", "resources": {"requests": {"cpu": "2", "memory": "64Mi"}}}],
            "containers": [
                {"name": "a", "image": "x", "resources": {"requests": {"cpu": "250m", "memory": "128Mi"}}},
                {"name": "b", "image": "y", "resources": {"requests": {"cpu": "1", "memory": "not-a-quantity"}}},
                {"name": "c", "image": "z"}
            ],
            "volumes": [{"name": "cfg", "configMap": {"name": "c"}}, {"name": "tmp", "emptyDir": {}}]
        },
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {"name": "a", "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                 "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}},
                {"name": "b", "restartCount": 2, "state": {"running": {}}, "lastState": {}}
            ]
        }
    })
}

#[test]
fn a_pod_keeps_only_what_capstan_reads() {
    let pod: SlimPod = serde_json::from_value(pod_json()).unwrap();
    assert_eq!(pod.name(), "web-1");
    assert_eq!(pod.namespace(), "shop");
    assert_eq!(pod.metadata.resource_version.as_deref(), Some("42"));
    assert!(pod.metadata.managed_fields.is_none());
    let annotations = pod.metadata.annotations.as_ref().unwrap();
    assert_eq!(annotations.len(), 1, "{annotations:?}");
    assert!(pod.mirror);
    let owner = pod.controller().unwrap();
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("ReplicaSet", "web-abc")
    );
    assert_eq!(pod.node_name.as_deref(), Some("n1"));
    assert_eq!(pod.phase, PodPhase::Running);
    assert!(pod.ready);
    assert_eq!(pod.restarts, 5);
    assert!(pod.oom_killed && pod.crash_looping && pod.has_empty_dir);
    // Containers sum to 1250m and 128Mi (the malformed memory counts as none); the init
    // container's 2 CPUs are larger, its 64Mi smaller.
    assert_eq!(pod.cpu_request_millis, 2000);
    assert_eq!(pod.memory_request_bytes, 128 << 20);
    assert_eq!(pod.termination_grace_period_seconds, Some(45));
    assert_eq!(pod.priority, Some(1000));
}

#[test]
fn a_bare_pod_decodes_with_defaults() {
    let pod: SlimPod =
        serde_json::from_value(json!({"metadata": {"name": "p", "namespace": "d"}})).unwrap();
    assert_eq!(pod.phase, PodPhase::Pending);
    assert!(!pod.ready && !pod.mirror && pod.controller().is_none());
    assert_eq!((pod.restarts, pod.cpu_request_millis), (0, 0));
}

#[test]
fn a_node_keeps_capstan_marks_conditions_and_allocatable() {
    let node: SlimNode = serde_json::from_value(json!({
        "metadata": {
            "name": "n1", "uid": "u", "labels": {"capstan.io/node-pool": "general"},
            "annotations": {
                "upgrade.toolkit.io/drain-started": "2026-01-01T00:10:00Z",
                "node.alpha.kubernetes.io/ttl": "0"
            }
        },
        "spec": {"unschedulable": true, "taints": [{"key": "a", "effect": "NoSchedule"}]},
        "status": {
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "lastTransitionTime": "2026-01-01T00:00:00Z"},
                {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:02:00Z"}
            ],
            "allocatable": {"cpu": "7910m", "memory": "31Gi", "pods": "110"},
            "nodeInfo": {"kubeletVersion": "v1.32.4", "osImage": "x"}
        }
    }))
    .unwrap();
    assert!(node.unschedulable);
    assert_eq!(node.taints, 1);
    assert_eq!(node.label("capstan.io/node-pool"), Some("general"));
    assert_eq!(
        node.annotation("upgrade.toolkit.io/drain-started"),
        Some("2026-01-01T00:10:00Z")
    );
    assert_eq!(node.metadata.annotations.as_ref().unwrap().len(), 1);
    let ready = node.condition("Ready").unwrap();
    assert_eq!(ready.status, "True");
    assert_eq!(
        ready.last_transition_time,
        Some("2026-01-01T00:02:00Z".parse().unwrap())
    );
    assert_eq!(
        (
            node.allocatable_cpu_millis,
            node.allocatable_memory_bytes,
            node.allocatable_pods
        ),
        (7910, 31 << 30, 110)
    );
    assert_eq!(node.kubelet_version, "v1.32.4");
}

#[test]
fn a_pdb_selector_null_selects_nothing_and_empty_everything() {
    let pdb = |selector: serde_json::Value| -> SlimPdb {
        serde_json::from_value(json!({
            "metadata": {"name": "b", "namespace": "shop", "generation": 2},
            "spec": {"minAvailable": 2, "selector": selector},
            "status": {"observedGeneration": 2, "currentHealthy": 2, "desiredHealthy": 2,
                       "disruptionsAllowed": 0, "expectedPods": 2}
        }))
        .unwrap()
    };
    let labelled = pdb(json!({"matchLabels": {"app": "web"}}));
    let sel = labelled.selector.as_ref().unwrap();
    assert!(sel.matches(&[("app", "web")][..]));
    assert!(!sel.matches(&[("app", "db")][..]));
    assert_eq!(labelled.min_available, Some(json!(2)));
    assert_eq!(
        (
            labelled.current_healthy,
            labelled.desired_healthy,
            labelled.disruptions_allowed
        ),
        (2, 2, 0)
    );
    assert!(labelled.status_is_current());
    assert!(pdb(json!(null)).selector.is_none());
    assert!(pdb(json!({})).selector.unwrap().is_everything());
}

#[test]
fn workloads_read_replicas_and_their_owner() {
    let rs: SlimReplicaSet = serde_json::from_value(json!({
        "metadata": {"name": "web-abc", "namespace": "shop",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d", "controller": true}]},
        "spec": {"replicas": 3}, "status": {"replicas": 3, "readyReplicas": 2}
    }))
    .unwrap();
    assert_eq!((rs.replicas, rs.ready_replicas), (3, 2));
    assert_eq!(rs.controller().unwrap().name, "web");
    let ds: SlimDaemonSet = serde_json::from_value(json!({
        "metadata": {"name": "proxy", "namespace": "kube-system"},
        "status": {"desiredNumberScheduled": 6, "numberReady": 5}
    }))
    .unwrap();
    assert_eq!((ds.replicas, ds.ready_replicas), (6, 5));
    let ns: SlimNamespace = serde_json::from_value(
        json!({"metadata": {"name": "shop"}, "status": {"phase": "Terminating"}}),
    )
    .unwrap();
    assert_eq!(ns.phase, "Terminating");
}

#[test]
fn slim_types_name_their_api_resources() {
    use kube::Resource;
    assert_eq!(
        SlimPod::url_path(&(), Some("shop")),
        "/api/v1/namespaces/shop/pods"
    );
    assert_eq!(SlimNode::url_path(&(), None), "/api/v1/nodes");
    assert_eq!(
        SlimPdb::url_path(&(), Some("a")),
        "/apis/policy/v1/namespaces/a/poddisruptionbudgets"
    );
    assert_eq!(
        SlimReplicaSet::url_path(&(), None),
        "/apis/apps/v1/replicasets"
    );
    assert_eq!(SlimDaemonSet::kind(&()), "DaemonSet");
}

/// `Api<Slim*>` and the watcher accept the slim types (a compile-time check).
#[allow(dead_code)]
fn watchers_accept_slim_types(client: kube::Client) {
    let _ = kube::runtime::watcher(
        kube::Api::<SlimPod>::all(client.clone()),
        kube::runtime::watcher::Config::default(),
    );
    let _ = kube::runtime::watcher(
        kube::Api::<SlimNode>::all(client),
        kube::runtime::watcher::Config::default(),
    );
}

#[test]
fn a_pod_keeps_each_containers_requests_claims_and_oom_kills() {
    let mut json = pod_json();
    json["spec"]["volumes"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "data", "persistentVolumeClaim": {"claimName": "data-web-1"}}));
    json["spec"]["containers"][2]["resources"] = json!({"requests": {"nvidia.com/gpu": "1"}});
    let pod: SlimPod = serde_json::from_value(json).unwrap();
    let got: Vec<_> = pod
        .containers
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                c.cpu_request_millis,
                c.memory_request_bytes,
                c.gpu_request,
                c.restarts,
                c.oom_killed,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("a", 250, 128 << 20, 0, 3, true),
            // The bad quantity reads as absent rather than failing the pod.
            ("b", 1000, 0, 0, 2, false),
            ("c", 0, 0, 1, 0, false),
        ]
    );
    assert_eq!(pod.claims, ["data-web-1"]);
}

#[test]
fn claims_and_quotas_keep_sizes_classes_and_compute_limits() {
    let pvc: SlimPvc = serde_json::from_value(json!({
        "metadata": {"name": "data-db-0", "namespace": "shop"},
        "spec": {"storageClassName": "gp3", "resources": {"requests": {"storage": "20Gi"}}},
        "status": {"phase": "Bound", "capacity": {"storage": "21Gi"}}
    }))
    .unwrap();
    assert_eq!(
        (pvc.requested_bytes, pvc.capacity_bytes),
        (20 << 30, 21 << 30)
    );
    assert_eq!(
        (pvc.storage_class.as_deref(), pvc.phase.as_str()),
        (Some("gp3"), "Bound")
    );
    let quota: SlimResourceQuota = serde_json::from_value(json!({
        "metadata": {"name": "compute", "namespace": "shop"},
        "spec": {"hard": {"requests.cpu": "10", "requests.memory": "20Gi", "count/configmaps": "5"}},
        "status": {"used": {"requests.cpu": "2500m", "requests.memory": "1Gi"}}
    }))
    .unwrap();
    assert_eq!(quota.hard.get("requests.cpu"), Some(&10_000));
    assert_eq!(
        quota.hard.get("requests.memory"),
        Some(&((20u64 << 30) * 1000))
    );
    assert_eq!(quota.hard.get("count/configmaps"), None);
    assert_eq!(quota.used.get("requests.cpu"), Some(&2_500));
}
