//! Networking, configuration, RBAC and default-convertor rows.

use super::*;

#[test]
fn networking_and_config() {
    let cases = [
        (
            "",
            "services",
            json!({"metadata": meta("s"), "spec": {"type": "ClusterIP", "clusterIPs": ["10.96.0.10"],
                "ports": [{"port": 53, "protocol": "UDP"}, {"port": 443, "nodePort": 30443, "protocol": "TCP"}],
                "selector": {"k8s-app": "dns"}}}),
            json!([
                "s",
                "ClusterIP",
                "10.96.0.10",
                "<none>",
                "53/UDP,443:30443/TCP",
                "10d",
                "k8s-app=dns"
            ]),
        ),
        (
            "",
            "services",
            json!({"metadata": meta("lb"), "spec": {"type": "LoadBalancer", "clusterIPs": ["10.96.0.11"], "ports": []}}),
            json!([
                "lb",
                "LoadBalancer",
                "10.96.0.11",
                "<pending>",
                "<none>",
                "10d",
                "<none>"
            ]),
        ),
        (
            "",
            "services",
            json!({"metadata": meta("lb"), "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.11", "externalIPs": ["5.6.7.8"]},
                "status": {"loadBalancer": {"ingress": [{"ip": "9.9.9.9"}, {"hostname": "lb.example.com"}]}}}),
            json!([
                "lb",
                "LoadBalancer",
                "10.96.0.11",
                "9.9.9.9,lb.example.com,5.6.7.8",
                "<none>",
                "10d",
                "<none>"
            ]),
        ),
        (
            "",
            "services",
            json!({"metadata": meta("ext"), "spec": {"type": "ExternalName", "externalName": "db.example.com"}}),
            json!([
                "ext",
                "ExternalName",
                "<none>",
                "db.example.com",
                "<none>",
                "10d",
                "<none>"
            ]),
        ),
        (
            "",
            "endpoints",
            json!({"metadata": meta("e"), "subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
                                                     "ports": [{"port": 80}, {"port": 443}]}]}),
            json!([
                "e",
                "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...",
                "10d"
            ]),
        ),
        (
            "",
            "endpoints",
            json!({"metadata": meta("e"), "subsets": [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}]}),
            json!(["e", "[fd00::1]:80", "10d"]),
        ),
        (
            "",
            "endpoints",
            json!({"metadata": meta("e")}),
            json!(["e", "<none>", "10d"]),
        ),
        (
            "",
            "namespaces",
            json!({"metadata": meta("ns"), "status": {"phase": "Active"}}),
            json!(["ns", "Active", "10d"]),
        ),
        (
            "",
            "configmaps",
            json!({"metadata": meta("cm"), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}),
            json!(["cm", 3, "10d"]),
        ),
        (
            "",
            "secrets",
            json!({"metadata": meta("s"), "type": "Opaque", "data": {"a": "MQ=="}}),
            json!(["s", "Opaque", 1, "10d"]),
        ),
        (
            "",
            "serviceaccounts",
            json!({"metadata": meta("sa")}),
            json!(["sa", 0, "10d"]),
        ),
        (
            "networking.k8s.io",
            "networkpolicies",
            json!({"metadata": meta("np"), "spec": {"podSelector": {}}}),
            json!(["np", "<none>", "10d"]),
        ),
        (
            "networking.k8s.io",
            "networkpolicies",
            json!({"metadata": meta("np"), "spec": {"podSelector": {"matchExpressions": [{"key": "a", "operator": "Exists"},
                                                                                   {"key": "b", "operator": "NotIn", "values": ["x"]}]}}}),
            json!(["np", "a,b notin (x)", "10d"]),
        ),
        (
            "networking.k8s.io",
            "networkpolicies",
            json!({"metadata": meta("np"), "spec": {"podSelector": {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}}}),
            json!(["np", "<error>", "10d"]),
        ),
        (
            "networking.k8s.io",
            "ingresses",
            json!({"metadata": meta("ing"), "spec": {"ingressClassName": "nginx", "tls": [{}],
                "rules": [{"host": "a.com"}, {"host": "b.com"}, {}, {"host": "c.com"}, {"host": "d.com"}]}}),
            json!([
                "ing",
                "nginx",
                "a.com,b.com,c.com + 2 more...",
                "",
                "80, 443",
                "10d"
            ]),
        ),
        (
            "coordination.k8s.io",
            "leases",
            json!({"metadata": meta("l"), "spec": {"holderIdentity": "n1"}}),
            json!(["l", "n1", "10d"]),
        ),
        (
            "rbac.authorization.k8s.io",
            "rolebindings",
            json!({"metadata": meta("rb"), "roleRef": {"kind": "ClusterRole", "name": "view"},
                "subjects": [{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "devs"},
                             {"kind": "ServiceAccount", "namespace": "ci", "name": "bot"}, {"kind": "User", "name": "bob"}]}),
            json!([
                "rb",
                "ClusterRole/view",
                "10d",
                "alice, bob",
                "devs",
                "ci/bot"
            ]),
        ),
        (
            "rbac.authorization.k8s.io",
            "clusterroles",
            json!({"metadata": {"name": "admin", "creationTimestamp": "2024-01-01T00:00:00Z"}}),
            json!(["admin", "2024-01-01T00:00:00Z"]),
        ),
        (
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            json!({"metadata": {"name": "widgets.example.com", "creationTimestamp": "2024-01-01T10:20:30.5Z"}}),
            json!(["widgets.example.com", "2024-01-01T10:20:30Z"]),
        ),
        (
            "",
            "limitranges",
            json!({"metadata": {"name": "lr"}}),
            json!(["lr", "0001-01-01T00:00:00Z"]),
        ),
        (
            "storage.k8s.io",
            "storageclasses",
            json!({"metadata": {"name": "std", "creationTimestamp": CREATED, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                "provisioner": "rancher.io/local-path"}),
            json!([
                "std (default)",
                "rancher.io/local-path",
                "Delete",
                "Immediate",
                false,
                "10d"
            ]),
        ),
        (
            "",
            "resourcequotas",
            json!({"metadata": meta("q"), "status": {"hard": {"requests.cpu": "2", "limits.memory": "2Gi", "pods": "10"},
                                                  "used": {"requests.cpu": "500m", "pods": "3"}}}),
            json!([
                "q",
                "pods: 3/10, requests.cpu: 500m/2",
                "limits.memory: 0/2Gi",
                "10d"
            ]),
        ),
    ];
    for (group, plural, obj, expected) in cases {
        check(Printer::Builtin(group, plural), &obj, &expected);
    }
}
