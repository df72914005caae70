use super::*;
use crate::fleet::CapacityType;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn timestamps_match_jiff() {
    for s in [
        "1970-01-01T00:00:00Z",
        "2000-02-29T23:59:59Z",
        "2026-11-29T12:00:00Z",
        "2100-03-01T00:00:01Z",
    ] {
        assert_eq!(rfc3339(ts(s)), s);
    }
    assert_eq!(
        rfc3339(ts("2026-11-29T12:00:00.999Z")),
        "2026-11-29T12:00:00Z"
    );
    assert_eq!(
        rfc3339_micros(ts("2026-11-29T12:00:00.0012345Z")),
        "2026-11-29T12:00:00.001234Z"
    );
    let t = ts("2031-07-04T05:06:07Z");
    assert_eq!(rfc3339(t), t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
}

#[test]
fn quantities() {
    assert_eq!(cpu_millis("250m"), Some(250));
    assert_eq!(cpu_millis("2"), Some(2000));
    assert_eq!(cpu_millis("1.5"), Some(1500));
    assert_eq!(cpu_millis("0.0001"), Some(1));
    assert_eq!(memory_bytes("64Mi"), Some(64 << 20));
    assert_eq!(memory_bytes("1G"), Some(1_000_000_000));
    assert_eq!(memory_bytes("1e3"), Some(1000));
    assert_eq!(memory_bytes("12Gi"), Some(12 << 30));
    assert_eq!(cpu_millis("lots"), None);
    assert_eq!(cpu_millis("1Zi"), None);
    assert_eq!(format_cpu(7910), "7910m");
    assert_eq!(format_cpu(4000), "4");
    assert_eq!(format_memory(64 << 20), "64Mi");
    assert_eq!(format_memory(3 << 30), "3Gi");
    assert_eq!(format_memory(1000), "1000");
}

fn params(provider: &str, spot: bool) -> NodeParams {
    NodeParams {
        name: "aks-general-12345678-vmss00000a".into(),
        pool: "general".into(),
        instance_type: "Standard_D8s_v5".into(),
        capacity_type: if spot {
            CapacityType::Spot
        } else {
            CapacityType::OnDemand
        },
        provider: provider.into(),
        region: "eastus".into(),
        zone: "eastus-1".into(),
        kubelet_version: "1.31.4".into(),
        cpu_millis: 7910,
        memory_bytes: 29_021 << 20,
        max_pods: 110,
        internal_ip: "10.16.0.4".into(),
        created: ts("2026-11-01T00:00:00Z"),
        ready: true,
    }
}

#[test]
fn node_labels_and_status_per_provider() {
    let mut rng = SimRng::new(1);
    let n = node(&params("azure", true), &mut rng);
    let l = &n["metadata"]["labels"];
    assert_eq!(l["kubernetes.azure.com/scalesetpriority"], "spot");
    assert_eq!(l["kubernetes.azure.com/agentpool"], "general");
    assert_eq!(l["capstan.io/node-pool"], "general");
    assert_eq!(
        n["spec"]["taints"][0]["key"],
        "kubernetes.azure.com/scalesetpriority"
    );
    assert!(
        n["spec"]["providerID"]
            .as_str()
            .unwrap()
            .ends_with("virtualMachineScaleSets/aks-general-12345678-vmss/virtualMachines/10")
    );
    assert_eq!(n["status"]["allocatable"]["cpu"], "7910m");
    assert_eq!(n["status"]["capacity"]["cpu"], "8");
    assert_eq!(n["status"]["nodeInfo"]["kubeletVersion"], "v1.31.4");
    assert!(n["metadata"].get("resourceVersion").is_none());

    let n = node(&params("aws", true), &mut rng);
    let l = &n["metadata"]["labels"];
    assert_eq!(l["eks.amazonaws.com/capacityType"], "SPOT");
    assert_eq!(l["karpenter.sh/capacity-type"], "spot");
    assert_eq!(l["eks.amazonaws.com/nodegroup"], "general");
    assert!(n["spec"].get("taints").is_none());
    assert!(
        n["spec"]["providerID"]
            .as_str()
            .unwrap()
            .starts_with("aws:///eastus-1/i-0")
    );
    assert!(
        n["status"]["nodeInfo"]["kubeletVersion"]
            .as_str()
            .unwrap()
            .starts_with("v1.31.4-eks-")
    );

    let n = node(&params("gcp", false), &mut rng);
    assert!(
        n["metadata"]["labels"]
            .get("cloud.google.com/gke-spot")
            .is_none()
    );
    assert_eq!(
        n["metadata"]["labels"]["cloud.google.com/gke-nodepool"],
        "general"
    );
    let n = node(&params("gcp", true), &mut rng);
    assert_eq!(n["metadata"]["labels"]["cloud.google.com/gke-spot"], "true");
}

fn condition<'a>(obj: &'a Value, t: &str) -> &'a Value {
    obj["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == t)
        .unwrap()
}

#[test]
fn node_ready_flips_transition_only_on_change() {
    let mut rng = SimRng::new(2);
    let mut n = node(&params("onprem", false), &mut rng);
    let t1 = ts("2026-11-02T00:00:00Z");
    set_node_ready(&mut n, true, t1);
    let r = condition(&n, "Ready");
    assert_eq!(r["lastTransitionTime"], "2026-11-01T00:00:00Z");
    assert_eq!(r["lastHeartbeatTime"], "2026-11-02T00:00:00Z");
    let t2 = ts("2026-11-02T00:05:00Z");
    set_node_ready(&mut n, false, t2);
    let r = condition(&n, "Ready");
    assert_eq!(r["status"], "False");
    assert_eq!(r["reason"], "KubeletNotReady");
    assert_eq!(r["lastTransitionTime"], "2026-11-02T00:05:00Z");
    let taints = n["spec"]["taints"].as_array().unwrap();
    assert_eq!(taints.len(), 2);
    assert!(
        taints
            .iter()
            .any(|t| t["effect"] == "NoExecute" && t["timeAdded"] == "2026-11-02T00:05:00Z")
    );
    // The NetworkUnavailable condition belongs to the CNI: no kubelet heartbeat on it.
    assert_eq!(
        condition(&n, "NetworkUnavailable")["lastHeartbeatTime"],
        "2026-11-01T00:00:00Z"
    );
    set_node_ready(&mut n, true, ts("2026-11-02T00:06:00Z"));
    assert!(n["spec"].get("taints").is_none());
    assert_eq!(condition(&n, "Ready")["reason"], "KubeletReady");
    set_node_unreachable(&mut n, ts("2026-11-02T00:07:00Z"));
    assert_eq!(condition(&n, "Ready")["status"], "Unknown");
    assert_eq!(
        n["spec"]["taints"][0]["key"],
        "node.kubernetes.io/unreachable"
    );
}

#[test]
fn lease_shape() {
    let mut rng = SimRng::new(3);
    let l = node_lease("n1", "uid-1", ts("2026-11-29T12:00:00Z"), &mut rng);
    assert_eq!(l["spec"]["renewTime"], "2026-11-29T12:00:00.000000Z");
    assert_eq!(l["spec"]["leaseDurationSeconds"], 40);
    assert_eq!(l["metadata"]["namespace"], "kube-node-lease");
    assert_eq!(l["metadata"]["ownerReferences"][0]["uid"], "uid-1");
}

fn template(resources: Value) -> Value {
    json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
        {"name": "web", "image": "nginx:latest", "resources": resources, "readinessProbe": {"httpGet": {"path": "/", "port": 80}}},
    ]}})
}

#[test]
fn pod_defaults_and_qos() {
    let mut rng = SimRng::new(4);
    let now = ts("2026-11-29T12:00:00Z");
    let t = template(json!({"limits": {"cpu": "500m", "memory": "128Mi"}}));
    let owner = OwnerRef {
        api_version: "apps/v1".into(),
        kind: "ReplicaSet".into(),
        name: "web-abc".into(),
        uid: "u".into(),
        controller: true,
    };
    let p = pod_from_template(
        &t,
        "ns",
        "web-abc-xyz12",
        Some(owner),
        &[("x", "y")],
        now,
        &mut rng,
    );
    assert_eq!(p["status"]["qosClass"], "Guaranteed");
    assert_eq!(p["status"]["phase"], "Pending");
    assert_eq!(p["metadata"]["generateName"], "web-abc-");
    assert_eq!(p["metadata"]["labels"]["x"], "y");
    assert_eq!(
        p["metadata"]["ownerReferences"][0]["blockOwnerDeletion"],
        true
    );
    let s = &p["spec"];
    assert_eq!(s["restartPolicy"], "Always");
    assert_eq!(s["schedulerName"], "default-scheduler");
    assert_eq!(s["serviceAccountName"], "default");
    assert_eq!(s["enableServiceLinks"], true);
    assert_eq!(s["priority"], 0);
    assert_eq!(s["tolerations"].as_array().unwrap().len(), 2);
    let c = &s["containers"][0];
    assert_eq!(c["imagePullPolicy"], "Always");
    assert_eq!(c["resources"]["requests"]["cpu"], "500m");
    assert_eq!(c["readinessProbe"]["periodSeconds"], 10);
    assert_eq!(
        c["volumeMounts"][0]["mountPath"],
        "/var/run/secrets/kubernetes.io/serviceaccount"
    );
    assert!(
        s["volumes"][0]["name"]
            .as_str()
            .unwrap()
            .starts_with("kube-api-access-")
    );
    assert!(p["spec"].get("nodeName").is_none());

    let burst = pod_from_template(
        &template(json!({"requests": {"cpu": "100m"}})),
        "ns",
        "a",
        None,
        &[],
        now,
        &mut rng,
    );
    assert_eq!(burst["status"]["qosClass"], "Burstable");
    let be = pod_from_template(&template(json!({})), "ns", "b", None, &[], now, &mut rng);
    assert_eq!(be["status"]["qosClass"], "BestEffort");
    let mut t2 = template(
        json!({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1000m", "memory": "1Gi"}}),
    );
    t2["spec"]["containers"][0]["image"] = json!("nginx:1.27");
    let g = pod_from_template(&t2, "ns", "c", None, &[], now, &mut rng);
    assert_eq!(g["status"]["qosClass"], "Guaranteed");
    assert_eq!(
        g["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
    assert_eq!(pod_requests(&g["spec"]), (1000, 1 << 30));
}

#[test]
fn pod_lifecycle() {
    let mut rng = SimRng::new(5);
    let now = ts("2026-11-29T12:00:00Z");
    let mut p = pod_from_template(
        &template(json!({})),
        "ns",
        "web-1",
        None,
        &[],
        now,
        &mut rng,
    );
    bind_pod(&mut p, "node-a", now);
    assert_eq!(p["spec"]["nodeName"], "node-a");
    assert_eq!(condition(&p, "PodScheduled")["status"], "True");
    let later = ts("2026-11-29T12:00:05Z");
    set_pod_running(&mut p, "10.0.0.1", "10.1.0.5", later);
    assert_eq!(p["status"]["phase"], "Running");
    let types: Vec<&str> = p["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "PodReadyToStartContainers",
            "Initialized",
            "Ready",
            "ContainersReady",
            "PodScheduled"
        ]
    );
    assert_eq!(
        condition(&p, "PodScheduled")["lastTransitionTime"],
        "2026-11-29T12:00:00Z"
    );
    let cs = &p["status"]["containerStatuses"][0];
    assert_eq!(cs["image"], "docker.io/library/nginx:latest");
    assert!(
        cs["imageID"]
            .as_str()
            .unwrap()
            .starts_with("docker.io/library/nginx@sha256:")
    );
    assert_eq!(
        cs["containerID"].as_str().unwrap().len(),
        "containerd://".len() + 64
    );
    assert_eq!(cs["state"]["running"]["startedAt"], "2026-11-29T12:00:05Z");

    set_pod_crashlooping(&mut p, 4, ts("2026-11-29T12:10:00Z"));
    let cs = &p["status"]["containerStatuses"][0];
    assert_eq!(cs["state"]["waiting"]["reason"], "CrashLoopBackOff");
    assert!(
        cs["state"]["waiting"]["message"]
            .as_str()
            .unwrap()
            .starts_with("back-off 1m20s restarting failed container=web pod=web-1_ns(")
    );
    assert_eq!(cs["lastState"]["terminated"]["reason"], "Error");
    assert_eq!(cs["restartCount"], 4);
    assert_eq!(condition(&p, "Ready")["status"], "False");
    assert_eq!(
        condition(&p, "Ready")["message"],
        "containers with unready status: [web]"
    );
    assert_eq!(p["status"]["phase"], "Running");

    let mut q = pod_from_template(
        &template(json!({})),
        "ns",
        "web-2",
        None,
        &[],
        now,
        &mut rng,
    );
    set_pod_running(&mut q, "10.0.0.1", "10.1.0.6", now);
    set_pod_not_ready(&mut q, later);
    assert_eq!(
        condition(&q, "ContainersReady")["reason"],
        "ContainersNotReady"
    );
    assert_eq!(q["status"]["containerStatuses"][0]["started"], true);
}

#[test]
fn deployment_replicaset_and_hash() {
    let mut rng = SimRng::new(6);
    let now = ts("2026-11-29T12:00:00Z");
    let t = app_pod_template(
        &AppTemplateParams {
            app: "cart",
            team: "checkout",
            cpu_millis: 300,
            memory_bytes: 512 << 20,
            tolerate_spot: false,
            hardened: None,
        },
        &mut rng,
    );
    let d = deployment("shop", "cart", 3, &t, &mut rng, now);
    assert_eq!(d["spec"]["selector"]["matchLabels"]["app"], "cart");
    assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
    assert!(d["spec"]["template"]["metadata"]["creationTimestamp"].is_null());
    let h = pod_template_hash(&d["spec"]["template"]);
    assert!(
        (9..=10).contains(&h.len())
            && h.bytes()
                .all(|b| b"bcdfghjklmnpqrstvwxz2456789".contains(&b)),
        "{h}"
    );
    assert_eq!(h, pod_template_hash(&d["spec"]["template"].clone()));
    let rs = replica_set_for(&d, &h, 3, &mut rng, now);
    assert_eq!(rs["metadata"]["name"], format!("cart-{h}"));
    assert_eq!(
        rs["metadata"]["ownerReferences"][0]["uid"],
        d["metadata"]["uid"]
    );
    assert_eq!(
        rs["spec"]["selector"]["matchLabels"]["pod-template-hash"],
        h.as_str()
    );
    assert_eq!(
        rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    let p = replica_set_pod(&rs, now, &mut rng);
    assert_eq!(p["metadata"]["labels"]["pod-template-hash"], h.as_str());
    assert_eq!(p["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
    let (cpu, mem) = pod_requests(&p["spec"]);
    assert!(cpu <= 300 && cpu > 0 && mem <= 512 << 20, "{cpu} {mem}");
    let mut d2 = d.clone();
    set_workload_status(
        &mut d2,
        WorkloadCounts {
            desired: 3,
            current: 3,
            ready: 3,
        },
        now,
    );
    assert_eq!(d2["status"]["availableReplicas"], 3);
    assert_eq!(condition(&d2, "Available")["status"], "True");
}

#[test]
fn daemonset_and_statefulset_pods() {
    let mut rng = SimRng::new(7);
    let now = ts("2026-11-29T12:00:00Z");
    let t = json!({"metadata": {"labels": {"k8s-app": "kube-proxy"}}, "spec": {"hostNetwork": true, "tolerations": [{"operator": "Exists"}], "priorityClassName": "system-node-critical", "containers": [{"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.31.4"}]}});
    let ds = daemon_set("kube-system", "kube-proxy", &t, &mut rng, now);
    assert_eq!(
        ds["spec"]["selector"]["matchLabels"]["k8s-app"],
        "kube-proxy"
    );
    let p = daemon_set_pod(&ds, "node-1", now, &mut rng);
    assert_eq!(p["spec"]["priority"], 2_000_001_000);
    assert_eq!(
        p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
            [0]["matchFields"][0]["values"][0],
        "node-1"
    );
    let tol = p["spec"]["tolerations"].as_array().unwrap();
    assert!(
        tol.iter()
            .any(|t| t["key"] == "node.kubernetes.io/network-unavailable")
    );
    assert!(tol.iter().all(|t| t.get("tolerationSeconds").is_none()));

    let claims = [volume_claim_template("data", "gp3", "20Gi")];
    let tpl = json!({"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "postgres:16.4"}]}});
    let sts = stateful_set("data", "db", 3, &tpl, &claims, &mut rng, now);
    let p = stateful_set_pod(&sts, 1, now, &mut rng);
    assert_eq!(p["metadata"]["name"], "db-1");
    assert_eq!(p["spec"]["hostname"], "db-1");
    assert_eq!(
        p["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
        "data-db-1"
    );
    let mut pvc = pvc_for_statefulset(&sts, "data", 1, Some("node-1"), &mut rng, now);
    assert_eq!(pvc["metadata"]["name"], "data-db-1");
    let pv = persistent_volume(&mut pvc, "aws", "us-east-1a", &mut rng, now);
    assert_eq!(pvc["spec"]["volumeName"], pv["metadata"]["name"]);
    assert_eq!(pv["spec"]["claimRef"]["uid"], pvc["metadata"]["uid"]);
    assert_eq!(pvc["status"]["phase"], "Bound");
    assert_eq!(pv["spec"]["capacity"]["storage"], "20Gi");
}

#[test]
fn namespace_event_and_misc() {
    let mut rng = SimRng::new(9);
    let now = ts("2026-11-29T12:00:00Z");
    let ns = namespace(
        "shop",
        Some("restricted"),
        &[("team", "checkout")],
        &mut rng,
        now,
    );
    assert_eq!(
        ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "shop"
    );
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
    assert_eq!(ns["spec"]["finalizers"][0], "kubernetes");
    let plain = namespace("x", None, &[], &mut rng, now);
    assert!(
        plain["metadata"]["labels"]
            .get("pod-security.kubernetes.io/enforce")
            .is_none()
    );
    let e = event(&ns, "Created", "made", "Normal", "capstan", now, &mut rng);
    let name = e["metadata"]["name"].as_str().unwrap();
    let (obj, hex) = name.split_once('.').unwrap();
    assert_eq!(obj, "shop");
    assert!(hex.len() >= 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(e["metadata"]["namespace"], "default");
    assert_eq!(e["involvedObject"]["uid"], ns["metadata"]["uid"]);
    let svc = service(
        "shop",
        "web",
        &[("app", "web")],
        8080,
        "10.96.0.20",
        &mut rng,
        now,
    );
    assert_eq!(svc["spec"]["clusterIPs"][0], "10.96.0.20");
    assert_eq!(svc["spec"]["selector"]["app"], "web");
}

#[test]
fn same_seed_same_objects() {
    let now = ts("2026-11-29T12:00:00Z");
    let build = || {
        let mut rng = SimRng::new(11);
        let t = app_pod_template(
            &AppTemplateParams {
                app: "a",
                team: "t",
                cpu_millis: 100,
                memory_bytes: 128 << 20,
                tolerate_spot: true,
                hardened: Some(true),
            },
            &mut rng,
        );
        let d = deployment("n", "a", 2, &t, &mut rng, now);
        let rs = replica_set_for(
            &d,
            &pod_template_hash(&d["spec"]["template"]),
            2,
            &mut rng,
            now,
        );
        replica_set_pod(&rs, now, &mut rng)
    };
    assert_eq!(build(), build());
}
