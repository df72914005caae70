//! Realistic PodTemplateSpecs for the generator's applications.

use capstan_core::rng::SimRng;
use serde_json::{Value, json};

use super::quantity::{format_cpu, format_mebibytes};

/// What to build an application's PodTemplateSpec from.
#[derive(Debug, Clone)]
pub struct AppTemplateParams<'a> {
    pub app: &'a str,
    pub team: &'a str,
    /// Target total CPU request across containers; actual requests are rounded down to
    /// common values (never above the target). 0 or less gives a BestEffort pod.
    pub cpu_millis: i64,
    /// Target total memory request in bytes, rounded down the same way.
    pub memory_bytes: i64,
    /// Add a toleration for the AKS spot taint (batch-style workloads).
    pub tolerate_spot: bool,
    /// Whether every container meets the `restricted` Pod Security Standard; `None` decides
    /// at random (60% yes). Namespaces enforcing `restricted` need `Some(true)`, or their
    /// pods would be rejected at admission.
    pub hardened: Option<bool>,
}

const CPU_STEPS: [i64; 19] = [
    5, 10, 20, 25, 50, 75, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 4000,
];
const MEM_STEPS_MI: [i64; 18] = [
    16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192,
];

/// The largest step not above `target` (the smallest step if all are above).
fn snap_down(steps: &[i64], target: i64) -> i64 {
    steps
        .iter()
        .copied()
        .filter(|s| *s <= target)
        .max()
        .unwrap_or(steps[0])
}

fn resources(cpu: i64, mem_mi: i64, shape: u8) -> Value {
    let mem = |mi: i64| format_mebibytes(mi << 20);
    let req = json!({"cpu": format_cpu(cpu), "memory": mem(mem_mi)});
    match shape {
        // Guaranteed: limits equal requests.
        0 => json!({"requests": req, "limits": req.clone()}),
        // Burstable with a CPU limit.
        1 => {
            json!({"requests": req, "limits": {"cpu": format_cpu(cpu * 2), "memory": mem(mem_mi * 2)}})
        }
        // Burstable, memory limit only (the common "no CPU limits" practice).
        _ => json!({"requests": req, "limits": {"memory": mem(mem_mi * 3 / 2)}}),
    }
}

/// A realistic PodTemplateSpec for an application: one or two containers from a plausible
/// image list, requests and limits (Guaranteed, Burstable or BestEffort), a named port,
/// readiness (and often liveness) probes, sometimes emptyDir volumes and a hardened
/// securityContext; labels `app`, `app.kubernetes.io/name`, `team`.
pub fn app_pod_template(p: &AppTemplateParams<'_>, rng: &mut SimRng) -> Value {
    let minor = rng.range_inclusive(0, 14);
    let patch = rng.range_inclusive(0, 9);
    let own = format!(
        "registry.example.com/{}/{}:v1.{minor}.{patch}",
        p.team, p.app
    );
    let common = [
        "nginx:1.27.3",
        "redis:7.4.1",
        "envoyproxy/envoy:v1.32.3",
        "ghcr.io/example/api-gateway:2.8.0",
        "python:3.12-slim",
        "node:22-alpine",
        "registry.example.com/shared/worker:latest",
    ];
    let image = if rng.chance(0.65) {
        own
    } else {
        (*rng.pick(&common).expect("image list is not empty")).to_string()
    };
    let best_effort = p.cpu_millis <= 0 || p.memory_bytes <= 0;
    let sidecar = rng.chance(0.3);
    let shape = match rng.range_inclusive(0, 99) {
        0..=14 => 0,
        15..=49 => 1,
        _ => 2,
    };
    let main_share = if sidecar { 80 } else { 100 };
    let cpu = snap_down(&CPU_STEPS, p.cpu_millis * main_share / 100);
    let mem_mi = snap_down(&MEM_STEPS_MI, (p.memory_bytes >> 20) * main_share / 100);
    let hardened = match p.hardened {
        Some(h) => h,
        None => rng.chance(0.6),
    };
    let restricted_ctx = json!({
        "allowPrivilegeEscalation": false,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": true,
        "runAsNonRoot": true,
        "runAsUser": 10001,
    });
    let port = *rng
        .pick(&[8080u16, 8080, 8000, 9090, 3000])
        .expect("port list is not empty");

    let mut main = json!({
        "name": p.app,
        "image": image,
        "ports": [{"name": "http", "containerPort": port}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "initialDelaySeconds": 5},
        "env": [
            {"name": "APP_NAME", "value": p.app},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
        ],
    });
    if !best_effort {
        main["resources"] = resources(cpu, mem_mi, shape);
    }
    if rng.chance(0.6) {
        main["livenessProbe"] = json!({"httpGet": {"path": "/livez", "port": "http"}, "initialDelaySeconds": 15, "periodSeconds": 20});
    }
    if hardened {
        main["securityContext"] = restricted_ctx.clone();
    }
    let mut volumes = Vec::new();
    if rng.chance(0.3) {
        volumes.push(json!({"name": "tmp", "emptyDir": {}}));
        main["volumeMounts"] = json!([{"name": "tmp", "mountPath": "/tmp"}]);
    }
    if rng.chance(0.1) {
        volumes.push(json!({"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}}));
        if !main["volumeMounts"].is_array() {
            main["volumeMounts"] = json!([]);
        }
        if let Some(m) = main["volumeMounts"].as_array_mut() {
            m.push(json!({"name": "cache", "mountPath": "/var/cache/app"}));
        }
    }
    let mut containers = vec![main];
    if sidecar {
        let (name, image) = *rng
            .pick(&[
                ("envoy", "envoyproxy/envoy:v1.32.3"),
                ("fluent-bit", "fluent/fluent-bit:3.2.4"),
            ])
            .expect("sidecar list is not empty");
        let mut c = json!({"name": name, "image": image});
        if !best_effort {
            let scpu = snap_down(&CPU_STEPS, p.cpu_millis / 5);
            let smem = snap_down(&MEM_STEPS_MI, (p.memory_bytes >> 20) / 5);
            c["resources"] = resources(scpu, smem, shape);
        }
        if name == "envoy" {
            c["ports"] = json!([{"name": "envoy-admin", "containerPort": 9901}]);
        }
        if hardened {
            c["securityContext"] = restricted_ctx;
        }
        containers.push(c);
    }
    let mut spec = json!({"containers": containers});
    if !volumes.is_empty() {
        spec["volumes"] = Value::Array(volumes);
    }
    if hardened {
        spec["securityContext"] =
            json!({"seccompProfile": {"type": "RuntimeDefault"}, "fsGroup": 10001});
    }
    if p.tolerate_spot {
        spec["tolerations"] = json!([{
            "key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot", "effect": "NoSchedule",
        }]);
    }
    if rng.chance(0.4) {
        spec["serviceAccountName"] = json!(p.app);
    }
    json!({
        "metadata": {"labels": {"app": p.app, "app.kubernetes.io/name": p.app, "team": p.team}},
        "spec": spec,
    })
}
