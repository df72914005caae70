//! Node, storage and event rows.

use super::*;

#[test]
fn nodes() {
    let cases = [
        (
            json!({
                "metadata": {"name": "n1", "creationTimestamp": CREATED, "labels": {
                    "node-role.kubernetes.io/control-plane": "",
                    "node-role.kubernetes.io/": "ignored-empty-role",
                    "kubernetes.io/role": "worker"}},
                "spec": {"unschedulable": true},
                "status": {
                    "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                    "addresses": [{"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "10.0.0.1"}],
                    "nodeInfo": {"kubeletVersion": "v1.30.1", "osImage": "Ubuntu 22.04", "containerRuntimeVersion": "containerd://1.7.0"}}
            }),
            json!([
                "n1",
                "Ready,SchedulingDisabled",
                "control-plane,worker",
                "10d",
                "v1.30.1",
                "10.0.0.1",
                "<none>",
                "Ubuntu 22.04",
                "<unknown>",
                "containerd://1.7.0"
            ]),
        ),
        (
            json!({"metadata": {"name": "n2", "creationTimestamp": CREATED},
                   "status": {"conditions": [{"type": "Ready", "status": "Unknown"}],
                              "addresses": [{"type": "ExternalIP", "address": "1.2.3.4"}]}}),
            json!([
                "n2",
                "NotReady",
                "<none>",
                "10d",
                "",
                "<none>",
                "1.2.3.4",
                "<unknown>",
                "<unknown>",
                "<unknown>"
            ]),
        ),
        (
            json!({"metadata": {"name": "n3"}}),
            json!([
                "n3",
                "Unknown",
                "<none>",
                "<unknown>",
                "",
                "<none>",
                "<none>",
                "<unknown>",
                "<unknown>",
                "<unknown>"
            ]),
        ),
    ];
    for (obj, expected) in cases {
        check(Printer::Builtin("", "nodes"), &obj, &expected);
    }
}

#[test]
fn storage_and_events() {
    let cases = [
        (
            "",
            "persistentvolumes",
            json!({"metadata": meta("pv"), "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain", "claimRef": {"namespace": "default", "name": "data"}, "storageClassName": "std"},
                "status": {"phase": "Bound"}}),
            json!([
                "pv",
                "10Gi",
                "RWO,RWX",
                "Retain",
                "Bound",
                "default/data",
                "std",
                "<unset>",
                "",
                "10d",
                "<unset>"
            ]),
        ),
        (
            "",
            "persistentvolumeclaims",
            json!({"metadata": meta("data"), "spec": {"volumeName": "pv", "storageClassName": "std", "volumeMode": "Filesystem"},
                "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"]}}),
            json!([
                "data",
                "Bound",
                "pv",
                "10Gi",
                "RWO",
                "std",
                "<unset>",
                "10d",
                "Filesystem"
            ]),
        ),
        (
            "",
            "persistentvolumeclaims",
            json!({"metadata": {"name": "data", "creationTimestamp": CREATED, "deletionTimestamp": CREATED,
                             "annotations": {"volume.beta.kubernetes.io/storage-class": "old"}},
                "spec": {"storageClassName": "std"}, "status": {"phase": "Pending"}}),
            json!([
                "data",
                "Terminating",
                "",
                "",
                "",
                "old",
                "<unset>",
                "10d",
                "<unset>"
            ]),
        ),
        (
            "",
            "events",
            json!({"metadata": meta("p.17a"), "type": "Warning", "reason": "BackOff", "message": " Back-off restarting \n",
                "involvedObject": {"kind": "Pod", "name": "p", "fieldPath": "spec.containers{a}"},
                "source": {"component": "kubelet", "host": "n1"}, "count": 5,
                "firstTimestamp": "2024-06-01T11:00:00Z", "lastTimestamp": "2024-06-01T11:59:30Z"}),
            json!([
                "30s",
                "Warning",
                "BackOff",
                "pod/p",
                "spec.containers{a}",
                "kubelet, n1",
                "Back-off restarting",
                "60m",
                5,
                "p.17a"
            ]),
        ),
        (
            "",
            "events",
            json!({"metadata": meta("e2"), "type": "Normal", "reason": "Scheduled", "involvedObject": {"kind": "Node"},
                "reportingComponent": "default-scheduler", "eventTime": "2024-06-01T11:58:00.000000Z"}),
            json!([
                "2m",
                "Normal",
                "Scheduled",
                "node",
                "",
                "default-scheduler",
                "",
                "2m",
                1,
                "e2"
            ]),
        ),
        (
            "events.k8s.io",
            "events",
            json!({"metadata": meta("e3"), "type": "Normal", "reason": "Pulled", "note": "pulled",
                "regarding": {"kind": "Pod", "name": "p"}, "reportingController": "kubelet", "reportingInstance": "n1",
                "eventTime": "2024-06-01T11:00:00.000000Z", "series": {"count": 7, "lastObservedTime": "2024-06-01T11:59:00.000000Z"}}),
            json!([
                "60s",
                "Normal",
                "Pulled",
                "pod/p",
                "",
                "kubelet, n1",
                "pulled",
                "60m",
                7,
                "e3"
            ]),
        ),
    ];
    for (group, plural, obj, expected) in cases {
        check(Printer::Builtin(group, plural), &obj, &expected);
    }
}
