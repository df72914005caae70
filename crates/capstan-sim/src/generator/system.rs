//! The kube-system add-ons every cluster runs: kube-proxy, the provider's CNI agent,
//! CoreDNS and metrics-server, with their accounts, config and services.

use capstan_core::rng::SimRng;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::workloads::Ctx;
use super::{Emitter, at};
use crate::fleet::ClusterSpec;
use crate::objects::{self as o, PdbLimit};

/// Pod templates of the kube-system add-ons: kube-proxy and the provider's CNI agent
/// (DaemonSets), CoreDNS and metrics-server (Deployments).
pub(super) struct SystemTemplates {
    kube_proxy: Value,
    /// The CNI agent's name (`aws-node`, `calico-node`, `azure-cns`, `cilium`).
    cni_name: &'static str,
    cni: Value,
    coredns: Value,
    metrics: Value,
}

impl SystemTemplates {
    pub(super) fn for_cluster(spec: &ClusterSpec) -> Self {
        let cp = spec.version.trim_start_matches('v');
        let kube_proxy = json!({
            "metadata": {"labels": {"k8s-app": "kube-proxy"}},
            "spec": {
                "hostNetwork": true,
                "priorityClassName": "system-node-critical",
                "serviceAccountName": "kube-proxy",
                "tolerations": [{"operator": "Exists"}],
                "containers": [{
                    "name": "kube-proxy",
                    "image": format!("registry.k8s.io/kube-proxy:v{cp}"),
                    "command": ["kube-proxy", "--config=/var/lib/kube-proxy-config/config", "--hostname-override=$(NODE_NAME)"],
                    "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}}],
                    "resources": {"requests": {"cpu": "100m"}},
                    "securityContext": {"privileged": true},
                    "volumeMounts": [{"name": "config", "mountPath": "/var/lib/kube-proxy-config/"}],
                }],
                "volumes": [{"name": "config", "configMap": {"name": "kube-proxy-config"}}],
            },
        });
        let (cni_name, image, requests) = match spec.provider.as_str() {
            "aws" => (
                "aws-node",
                format!(
                    "602401143452.dkr.ecr.{}.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1",
                    spec.region
                ),
                json!({"cpu": "25m"}),
            ),
            "gcp" => (
                "calico-node",
                "gke.gcr.io/calico/node:v3.28.2-gke.1".to_string(),
                json!({"cpu": "100m"}),
            ),
            "azure" => (
                "azure-cns",
                "mcr.microsoft.com/containernetworking/azure-cns:v1.6.18".to_string(),
                json!({"cpu": "40m", "memory": "250Mi"}),
            ),
            _ => (
                "cilium",
                "quay.io/cilium/cilium:v1.16.5".to_string(),
                json!({"cpu": "100m", "memory": "128Mi"}),
            ),
        };
        let cni = json!({
            "metadata": {"labels": {"k8s-app": cni_name}},
            "spec": {
                "hostNetwork": true,
                "priorityClassName": "system-node-critical",
                "serviceAccountName": cni_name,
                "tolerations": [{"operator": "Exists"}],
                "containers": [{
                    "name": cni_name,
                    "image": image,
                    "resources": {"requests": requests},
                    "securityContext": {"privileged": true},
                    "livenessProbe": {"exec": {"command": ["/app/grpc-health-probe", "-addr=:50051"]}, "initialDelaySeconds": 60},
                }],
            },
        });
        let coredns = json!({
            "metadata": {"labels": {"k8s-app": "kube-dns"}},
            "spec": {
                "priorityClassName": "system-cluster-critical",
                "serviceAccountName": "coredns",
                "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
                "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
                    "weight": 100,
                    "podAffinityTerm": {"labelSelector": {"matchLabels": {"k8s-app": "kube-dns"}}, "topologyKey": "kubernetes.io/hostname"},
                }]}},
                "containers": [{
                    "name": "coredns",
                    "image": "registry.k8s.io/coredns/coredns:v1.11.3",
                    "args": ["-conf", "/etc/coredns/Corefile"],
                    "ports": [
                        {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                        {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                        {"name": "metrics", "containerPort": 9153, "protocol": "TCP"},
                    ],
                    "resources": {"requests": {"cpu": "100m", "memory": "70Mi"}, "limits": {"memory": "170Mi"}},
                    "livenessProbe": {"httpGet": {"path": "/health", "port": 8080}, "initialDelaySeconds": 60, "timeoutSeconds": 5, "failureThreshold": 5},
                    "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181}},
                    "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}, "readOnlyRootFilesystem": true},
                    "volumeMounts": [{"name": "config-volume", "mountPath": "/etc/coredns", "readOnly": true}],
                }],
                "dnsPolicy": "Default",
                "volumes": [{"name": "config-volume", "configMap": {"name": "coredns", "items": [{"key": "Corefile", "path": "Corefile"}]}}],
            },
        });
        let metrics = json!({
            "metadata": {"labels": {"k8s-app": "metrics-server"}},
            "spec": {
                "priorityClassName": "system-cluster-critical",
                "serviceAccountName": "metrics-server",
                "containers": [{
                    "name": "metrics-server",
                    "image": "registry.k8s.io/metrics-server/metrics-server:v0.7.2",
                    "args": ["--cert-dir=/tmp", "--secure-port=10250", "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname", "--metric-resolution=15s"],
                    "ports": [{"name": "https", "containerPort": 10250, "protocol": "TCP"}],
                    "resources": {"requests": {"cpu": "100m", "memory": "200Mi"}},
                    "readinessProbe": {"httpGet": {"path": "/readyz", "port": "https", "scheme": "HTTPS"}, "initialDelaySeconds": 20},
                    "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true, "runAsUser": 1000},
                    "volumeMounts": [{"name": "tmp-dir", "mountPath": "/tmp"}],
                }],
                "volumes": [{"name": "tmp-dir", "emptyDir": {}}],
            },
        });
        SystemTemplates {
            kube_proxy,
            cni_name,
            cni,
            coredns,
            metrics,
        }
    }

    /// The add-ons' service accounts and the CoreDNS and kube-proxy config maps, created with
    /// the cluster at `t0`.
    pub(super) fn emit_accounts_and_config(
        &self,
        e: &mut Emitter<'_>,
        rng: &mut SimRng,
        t0: Timestamp,
    ) {
        for sa in ["coredns", "kube-proxy", self.cni_name, "metrics-server"] {
            e.emit(
                "",
                "serviceaccounts",
                o::service_account("kube-system", sa, rng, t0),
            );
        }
        let corefile = ".:53 {\n    errors\n    health {\n       lameduck 5s\n    }\n    ready\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n       pods insecure\n       fallthrough in-addr.arpa ip6.arpa\n       ttl 30\n    }\n    prometheus :9153\n    forward . /etc/resolv.conf\n    cache 30\n    loop\n    reload\n    loadbalance\n}\n";
        e.emit(
            "",
            "configmaps",
            o::config_map("kube-system", "coredns", &[("Corefile", corefile)], rng, t0),
        );
        let proxy_config = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nclusterCIDR: 10.128.0.0/9\nmode: iptables\nmetricsBindAddress: 0.0.0.0:10249\n";
        e.emit(
            "",
            "configmaps",
            o::config_map(
                "kube-system",
                "kube-proxy-config",
                &[("config", proxy_config)],
                rng,
                t0,
            ),
        );
    }
}

impl Ctx<'_, '_> {
    /// The add-ons' workloads and the kube-dns, metrics-server and kubernetes services, all
    /// created with the cluster at `born`.
    pub(super) fn system_add_ons(&mut self, t: &SystemTemplates, born: i64) {
        let t0 = at(born, self.now);
        self.daemon_set("kube-proxy", &t.kube_proxy, born);
        self.daemon_set(t.cni_name, &t.cni, born);
        self.deployment("kube-system", "coredns", 2, &t.coredns, born);
        let mut dns_svc = o::service(
            "kube-system",
            "kube-dns",
            &[("k8s-app", "kube-dns")],
            53,
            "10.96.0.10",
            &mut self.rng,
            t0,
        );
        dns_svc["spec"]["ports"] = json!([
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
            {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153},
        ]);
        self.e.emit("", "services", dns_svc);
        self.emit_pdb(
            "kube-system",
            "coredns",
            ("k8s-app", "kube-dns"),
            PdbLimit::MaxUnavailable(json!(1)),
            t0,
        );
        self.deployment("kube-system", "metrics-server", 1, &t.metrics, born);
        let mut ms_svc = o::service(
            "kube-system",
            "metrics-server",
            &[("k8s-app", "metrics-server")],
            443,
            &self.service_ip(),
            &mut self.rng,
            t0,
        );
        ms_svc["spec"]["ports"] =
            json!([{"name": "https", "port": 443, "protocol": "TCP", "targetPort": "https"}]);
        self.e.emit("", "services", ms_svc);
        let mut api_svc = o::service(
            "default",
            "kubernetes",
            &[],
            443,
            "10.96.0.1",
            &mut self.rng,
            t0,
        );
        api_svc["metadata"]["labels"] = json!({"component": "apiserver", "provider": "kubernetes"});
        api_svc["spec"]["ports"] =
            json!([{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443}]);
        self.e.emit("", "services", api_svc);
    }
}
