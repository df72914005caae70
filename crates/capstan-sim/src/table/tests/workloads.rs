//! Workload rows: deployments, replica sets, daemon sets, stateful sets, jobs, cron jobs,
//! disruption budgets and controller revisions.

use super::*;

#[test]
fn workloads() {
    let template = json!({"spec": {"containers": [{"name": "web", "image": "nginx:1"}, {"name": "log", "image": "busybox"}]}});
    let cases = [
        (
            "apps",
            "deployments",
            json!({"metadata": meta("d"), "spec": {"replicas": 3, "template": template,
                "selector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}]}},
                "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}),
            json!([
                "d",
                "2/3",
                3,
                2,
                "10d",
                "web,log",
                "nginx:1,busybox",
                "app=web,tier in (a,b)"
            ]),
        ),
        (
            "apps",
            "deployments",
            json!({"metadata": meta("d"), "spec": {}}),
            json!(["d", "0/1", 0, 0, "10d", "", "", ""]),
        ),
        (
            "apps",
            "replicasets",
            json!({"metadata": meta("rs"), "spec": {"replicas": 2, "template": template, "selector": {"matchLabels": {"app": "web"}}},
                "status": {"replicas": 2, "readyReplicas": 1}}),
            json!([
                "rs",
                2,
                2,
                1,
                "10d",
                "web,log",
                "nginx:1,busybox",
                "app=web"
            ]),
        ),
        (
            "apps",
            "daemonsets",
            json!({"metadata": meta("ds"), "spec": {"template": {"spec": {"nodeSelector": {"os": "linux", "a": "b"}, "containers": []}},
                "selector": {"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}},
                "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2, "updatedNumberScheduled": 1, "numberAvailable": 2}}),
            json!(["ds", 3, 3, 2, 1, 2, "a=b,os=linux", "10d", "", "", "!x"]),
        ),
        (
            "apps",
            "statefulsets",
            json!({"metadata": meta("ss"), "spec": {"replicas": 3, "template": template}, "status": {"readyReplicas": 3}}),
            json!(["ss", "3/3", "10d", "web,log", "nginx:1,busybox"]),
        ),
        (
            "batch",
            "jobs",
            json!({"metadata": meta("j"), "spec": {"completions": 3, "template": template, "selector": {}},
                "status": {"succeeded": 3, "startTime": "2024-06-01T11:00:00Z", "completionTime": "2024-06-01T11:02:30Z",
                           "conditions": [{"type": "Complete", "status": "True"}]}}),
            json!([
                "j",
                "Complete",
                "3/3",
                "2m30s",
                "10d",
                "web,log",
                "nginx:1,busybox",
                "<none>"
            ]),
        ),
        (
            "batch",
            "jobs",
            json!({"metadata": meta("j"), "spec": {"parallelism": 2}, "status": {"startTime": "2024-06-01T11:00:00Z"}}),
            json!(["j", "Running", "0/1 of 2", "60m", "10d", "", "", "<none>"]),
        ),
        (
            "batch",
            "cronjobs",
            json!({"metadata": meta("cj"), "spec": {"schedule": "*/5 * * * *", "suspend": false,
                "jobTemplate": {"spec": {"template": template}}},
                "status": {"active": [{"name": "x"}], "lastScheduleTime": "2024-06-01T11:58:00Z"}}),
            json!([
                "cj",
                "*/5 * * * *",
                "<none>",
                "False",
                1,
                "2m",
                "10d",
                "web,log",
                "nginx:1,busybox",
                "<none>"
            ]),
        ),
        (
            "policy",
            "poddisruptionbudgets",
            json!({"metadata": meta("pdb"), "spec": {"minAvailable": 2}, "status": {"disruptionsAllowed": 1}}),
            json!(["pdb", "2", "N/A", 1, "10d"]),
        ),
        (
            "policy",
            "poddisruptionbudgets",
            json!({"metadata": meta("pdb"), "spec": {"maxUnavailable": "25%"}}),
            json!(["pdb", "N/A", "25%", 0, "10d"]),
        ),
        (
            "apps",
            "controllerrevisions",
            json!({"metadata": {"name": "cr", "creationTimestamp": CREATED, "ownerReferences": [
             {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "ds", "controller": true}]}, "revision": 4}),
            json!(["cr", "daemonset.apps/ds", 4, "10d"]),
        ),
    ];
    for (group, plural, obj, expected) in cases {
        check(Printer::Builtin(group, plural), &obj, &expected);
    }
}
