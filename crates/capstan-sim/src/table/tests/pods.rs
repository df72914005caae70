//! Pod rows: READY, STATUS, RESTARTS and the row conditions of finished pods.

use super::*;

fn pod(spec: Value, status: Value) -> Value {
    json!({"metadata": meta("p"), "spec": spec, "status": status})
}

#[test]
fn pods() {
    let two = json!({"containers": [{"name": "a"}, {"name": "b"}]});
    let running = |name: &str, ready: bool, restarts: i64| json!({"name": name, "ready": ready, "restartCount": restarts, "state": {"running": {}}});
    let cases = [
        // Running, with the last restart five minutes ago.
        (
            pod(
                two.clone(),
                json!({"phase": "Running", "podIPs": [{"ip": "10.1.0.5"}], "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [
                    {"name": "a", "ready": true, "restartCount": 2, "state": {"running": {}},
                     "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-06-01T11:55:00Z"}}},
                    running("b", true, 1)]}),
            ),
            json!([
                "p",
                "2/2",
                "Running",
                "3 (5m ago)",
                "10d",
                "10.1.0.5",
                "<none>",
                "<none>",
                "<none>"
            ]),
        ),
        (
            pod(
                two.clone(),
                json!({"phase": "Running", "containerStatuses": [
                running("a", true, 0),
                {"name": "b", "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}),
            ),
            json!([
                "p",
                "1/2",
                "CrashLoopBackOff",
                "4",
                "10d",
                "<none>",
                "<none>",
                "<none>",
                "<none>"
            ]),
        ),
        (
            pod(
                json!({"containers": [{"name": "a"}]}),
                json!({"phase": "Running", "podIP": "10.1.0.9", "podIPs": [{"ip": "fd00::9"}]}),
            ),
            json!([
                "p", "0/1", "Running", "0", "10d", "10.1.0.9", "<none>", "<none>", "<none>"
            ]),
        ),
        (
            pod(
                json!({"containers": [{"name": "a"}], "nodeName": "n1"}),
                json!({"phase": "Pending", "nominatedNodeName": "n2",
                "containerStatuses": [{"name": "a", "state": {"waiting": {"reason": "ContainerCreating"}}}]}),
            ),
            json!([
                "p",
                "0/1",
                "ContainerCreating",
                "0",
                "10d",
                "<none>",
                "n1",
                "n2",
                "<none>"
            ]),
        ),
        (
            pod(
                json!({"containers": [{"name": "a"}]}),
                json!({"phase": "Succeeded",
                "containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
            ),
            json!([
                "p",
                "0/1",
                "Completed",
                "0",
                "10d",
                "<none>",
                "<none>",
                "<none>",
                "<none>"
            ]),
        ),
        (
            pod(
                json!({"containers": [{"name": "a"}]}),
                json!({"phase": "Failed",
                "containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 137, "signal": 9}}}]}),
            ),
            json!([
                "p", "0/1", "Signal:9", "0", "10d", "<none>", "<none>", "<none>", "<none>"
            ]),
        ),
        (
            pod(
                json!({"containers": [{"name": "a"}]}),
                json!({"phase": "Failed",
                "containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 3}}}]}),
            ),
            json!([
                "p",
                "0/1",
                "ExitCode:3",
                "0",
                "10d",
                "<none>",
                "<none>",
                "<none>",
                "<none>"
            ]),
        ),
        // A container completed while another still runs: back to Running / NotReady.
        (
            pod(
                two.clone(),
                json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [running("a", true, 0),
                    {"name": "b", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
            ),
            json!([
                "p", "1/2", "NotReady", "0", "10d", "<none>", "<none>", "<none>", "<none>"
            ]),
        ),
        // Init containers: the first done, the second not started yet.
        (
            pod(
                json!({"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "a"}]}),
                json!({"phase": "Pending", "initContainerStatuses": [
                    {"name": "i1", "state": {"terminated": {"exitCode": 0}}},
                    {"name": "i2", "state": {"waiting": {"reason": "PodInitializing"}}}],
                    "containerStatuses": [{"name": "a", "state": {"waiting": {"reason": "PodInitializing"}}}]}),
            ),
            json!([
                "p", "0/1", "Init:1/2", "0", "10d", "<none>", "<none>", "<none>", "<none>"
            ]),
        ),
        (
            pod(
                json!({"initContainers": [{"name": "i1"}], "containers": [{"name": "a"}]}),
                json!({"phase": "Pending", "initContainerStatuses": [
                    {"name": "i1", "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}),
            ),
            json!([
                "p",
                "0/1",
                "Init:CrashLoopBackOff",
                "3",
                "10d",
                "<none>",
                "<none>",
                "<none>",
                "<none>"
            ]),
        ),
        (
            pod(
                json!({"initContainers": [{"name": "i1"}], "containers": [{"name": "a"}]}),
                json!({"phase": "Pending", "initContainerStatuses": [
                    {"name": "i1", "state": {"terminated": {"exitCode": 2, "reason": "Error"}}}]}),
            ),
            json!([
                "p",
                "0/1",
                "Init:Error",
                "0",
                "10d",
                "<none>",
                "<none>",
                "<none>",
                "<none>"
            ]),
        ),
        (
            pod(
                json!({"initContainers": [{"name": "i1"}], "containers": [{"name": "a"}]}),
                json!({"phase": "Pending", "initContainerStatuses": [
                    {"name": "i1", "state": {"terminated": {"exitCode": 2}}}]}),
            ),
            json!([
                "p",
                "0/1",
                "Init:ExitCode:2",
                "0",
                "10d",
                "<none>",
                "<none>",
                "<none>",
                "<none>"
            ]),
        ),
        // A native sidecar (restartable init container) counts as a container.
        (
            pod(
                json!({"initContainers": [{"name": "side", "restartPolicy": "Always"}], "containers": [{"name": "a"}]}),
                json!({"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}],
                    "initContainerStatuses": [{"name": "side", "started": true, "ready": true, "restartCount": 1, "state": {"running": {}}}],
                    "containerStatuses": [running("a", true, 0)]}),
            ),
            json!([
                "p", "2/2", "Running", "1", "10d", "<none>", "<none>", "<none>", "<none>"
            ]),
        ),
        (
            json!({"metadata": {"name": "p", "creationTimestamp": CREATED, "deletionTimestamp": "2024-06-01T11:59:00Z"},
                   "spec": {"containers": [{"name": "a"}]},
                   "status": {"phase": "Running", "containerStatuses": [running("a", true, 0)]}}),
            json!([
                "p",
                "1/1",
                "Terminating",
                "0",
                "10d",
                "<none>",
                "<none>",
                "<none>",
                "<none>"
            ]),
        ),
        (
            json!({"metadata": {"name": "p", "creationTimestamp": CREATED, "deletionTimestamp": "2024-06-01T11:59:00Z"},
                   "spec": {"containers": [{"name": "a"}]},
                   "status": {"phase": "Running", "reason": "NodeLost", "containerStatuses": [running("a", true, 0)]}}),
            json!([
                "p", "1/1", "Unknown", "0", "10d", "<none>", "<none>", "<none>", "<none>"
            ]),
        ),
        (
            pod(
                json!({"containers": [{"name": "a"}], "readinessGates": [{"conditionType": "x/one"}, {"conditionType": "x/two"}]}),
                json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"},
                                                         {"type": "x/one", "status": "True"}]}),
            ),
            json!([
                "p",
                "0/1",
                "SchedulingGated",
                "0",
                "10d",
                "<none>",
                "<none>",
                "<none>",
                "1/2"
            ]),
        ),
    ];
    for (obj, expected) in cases {
        check(Printer::Builtin("", "pods"), &obj, &expected);
    }
}

#[test]
fn finished_pods_carry_the_completed_row_condition() {
    let cases = [
        ("Succeeded", Some("The pod has completed successfully.")),
        ("Failed", Some("The pod failed.")),
        ("Running", None),
    ];
    for (phase, message) in cases {
        let r = row(
            "",
            "pods",
            &pod(json!({}), json!({"phase": phase})),
            IncludeObject::None,
            now(),
        );
        match message {
            Some(m) => assert_eq!(
                r["conditions"],
                json!([{"type": "Completed", "status": "True", "reason": phase, "message": m}])
            ),
            None => assert!(r.get("conditions").is_none(), "{phase}"),
        }
    }
}
