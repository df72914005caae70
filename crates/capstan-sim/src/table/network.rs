//! Printers of services and networking: services, endpoints, endpoint slices, ingresses,
//! ingress classes and network policies.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::fields::{EMPTY, arr_at, at, int_at, name_of, str_at};
use super::format::{format_labels, join_or_none, selector_at};
use super::time::age;
use super::{AGE_COLUMN, Col, NAME_COLUMN, col};

pub(super) static SERVICES: &[Col] = &[
    NAME_COLUMN,
    col(
        "Type",
        "string",
        "",
        0,
        "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is \"None\", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types",
    ),
    col(
        "Cluster-IP",
        "string",
        "",
        0,
        "clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are \"None\", empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a \"headless service\" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
    ),
    col(
        "External-IP",
        "string",
        "",
        0,
        "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.",
    ),
    col(
        "Port(s)",
        "string",
        "",
        0,
        "The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
    ),
    AGE_COLUMN,
    col(
        "Selector",
        "string",
        "",
        1,
        "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/",
    ),
];

pub(super) static ENDPOINTS: &[Col] = &[
    NAME_COLUMN,
    col(
        "Endpoints",
        "string",
        "",
        0,
        "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.",
    ),
    AGE_COLUMN,
];

pub(super) static ENDPOINT_SLICES: &[Col] = &[
    NAME_COLUMN,
    col(
        "AddressType",
        "string",
        "",
        0,
        "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name.",
    ),
    col(
        "Ports",
        "string",
        "",
        0,
        "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. When ports is empty, it indicates that there are no defined ports. When a port is defined with a nil port value, it indicates \"all ports\". Each slice may include a maximum of 100 ports.",
    ),
    col(
        "Endpoints",
        "string",
        "",
        0,
        "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.",
    ),
    AGE_COLUMN,
];

pub(super) static INGRESSES: &[Col] = &[
    NAME_COLUMN,
    col(
        "Class",
        "string",
        "",
        0,
        "The name of the IngressClass resource that should be used for additional configuration",
    ),
    col(
        "Hosts",
        "string",
        "",
        0,
        "Hosts that incoming requests are matched against before the ingress rule",
    ),
    col(
        "Address",
        "string",
        "",
        0,
        "Address is a list containing ingress points for the load-balancer",
    ),
    col(
        "Ports",
        "string",
        "",
        0,
        "Ports of TLS configurations that open",
    ),
    AGE_COLUMN,
];

pub(super) static INGRESS_CLASSES: &[Col] = &[
    NAME_COLUMN,
    col(
        "Controller",
        "string",
        "",
        0,
        "Controller that is responsible for handling this class",
    ),
    col(
        "Parameters",
        "string",
        "",
        0,
        "A reference to a resource with additional parameters",
    ),
    AGE_COLUMN,
];

pub(super) static NETWORK_POLICIES: &[Col] = &[
    NAME_COLUMN,
    col(
        "Pod-Selector",
        "string",
        "",
        0,
        "Selects the pods to which this NetworkPolicy object applies.  The array of ingress rules is applied to any pods selected by this field. Multiple network policies can select the same set of pods.  In this case, the ingress rules for each are combined additively. This field is NOT optional and follows standard label selector semantics. An empty podSelector matches all pods in this namespace.",
    ),
    AGE_COLUMN,
];

/// `loadBalancerStatusStringer` with wide output (the server always prints wide, so no
/// 16-character clipping): sorted, de-duplicated IPs or hostnames.
fn load_balancer_ingress(status: Option<&Value>) -> String {
    let set: BTreeSet<&str> = status
        .map(|s| arr_at(s, &["ingress"]))
        .unwrap_or(&[])
        .iter()
        .filter_map(|i| {
            let ip = str_at(i, &["ip"]);
            let host = str_at(i, &["hostname"]);
            if !ip.is_empty() {
                Some(ip)
            } else if !host.is_empty() {
                Some(host)
            } else {
                None
            }
        })
        .collect();
    set.into_iter().collect::<Vec<_>>().join(",")
}

pub(super) fn service_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let spec = at(obj, &["spec"]).unwrap_or(&EMPTY);
    let svc_type = at(spec, &["type"])
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP");
    // As for pod IPs, the v1 → internal conversion prefers a set spec.clusterIP.
    let cluster_ip = at(spec, &["clusterIP"])
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .or_else(|| {
            arr_at(spec, &["clusterIPs"])
                .first()
                .and_then(Value::as_str)
        })
        .filter(|s| !s.is_empty())
        .unwrap_or("<none>");
    let external_ips: Vec<&str> = arr_at(spec, &["externalIPs"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // getServiceExternalIP.
    let external_ip = match svc_type {
        "ClusterIP" | "NodePort" => join_or_none(&external_ips),
        "LoadBalancer" => {
            let lb = load_balancer_ingress(at(obj, &["status", "loadBalancer"]));
            if !external_ips.is_empty() {
                let mut all: Vec<&str> = if lb.is_empty() {
                    Vec::new()
                } else {
                    lb.split(',').collect()
                };
                all.extend(external_ips.iter().copied());
                all.join(",")
            } else if !lb.is_empty() {
                lb
            } else {
                "<pending>".to_string()
            }
        }
        "ExternalName" => str_at(spec, &["externalName"]).to_string(),
        _ => "<unknown>".to_string(),
    };
    // makePortString.
    let ports: Vec<String> = arr_at(spec, &["ports"])
        .iter()
        .map(|p| {
            let port = int_at(p, &["port"]);
            let protocol = at(p, &["protocol"])
                .and_then(Value::as_str)
                .unwrap_or("TCP");
            let node_port = int_at(p, &["nodePort"]);
            if node_port > 0 {
                format!("{port}:{node_port}/{protocol}")
            } else {
                format!("{port}/{protocol}")
            }
        })
        .collect();
    vec![
        json!(name_of(obj)),
        json!(svc_type),
        json!(cluster_ip),
        json!(external_ip),
        json!(join_or_none(&ports)),
        json!(age(obj, now)),
        json!(format_labels(at(spec, &["selector"]))),
    ]
}

/// `net.JoinHostPort`.
fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `formatEndpoints(endpoints, nil)`: up to three addresses, then "+ N more...".
pub(super) fn endpoints_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let subsets = arr_at(obj, &["subsets"]);
    let formatted = if subsets.is_empty() {
        "<none>".to_string()
    } else {
        const MAX: usize = 3;
        let mut list: Vec<String> = Vec::new();
        let mut more = false;
        let mut count = 0usize;
        for ss in subsets {
            let addresses = arr_at(ss, &["addresses"]);
            let ports = arr_at(ss, &["ports"]);
            if ports.is_empty() {
                // Headless services with no ports.
                count += addresses.len();
                for a in addresses {
                    if list.len() == MAX {
                        more = true;
                        break;
                    }
                    list.push(str_at(a, &["ip"]).to_string());
                }
                continue;
            }
            for p in ports {
                count += addresses.len();
                for a in addresses {
                    if list.len() == MAX {
                        more = true;
                        break;
                    }
                    list.push(join_host_port(str_at(a, &["ip"]), int_at(p, &["port"])));
                }
            }
        }
        let ret = list.join(",");
        if more {
            format!("{ret} + {} more...", count - MAX)
        } else {
            ret
        }
    };
    vec![json!(name_of(obj)), json!(formatted), json!(age(obj, now))]
}

/// `listWithMoreString` over the list `printEndpointSlice` builds: the first three items,
/// then "+ N more...".
fn list_with_more(items: impl IntoIterator<Item = String>) -> String {
    const MAX: usize = 3;
    let mut list: Vec<String> = Vec::new();
    let mut count = 0usize;
    for item in items {
        if list.len() < MAX {
            list.push(item);
        }
        count += 1;
    }
    let ret = list.join(",");
    if count > MAX {
        return format!("{ret} + {} more...", count - MAX);
    }
    if ret.is_empty() {
        "<unset>".to_string()
    } else {
        ret
    }
}

pub(super) fn endpoint_slice_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let ports = list_with_more(arr_at(obj, &["ports"]).iter().map(|p| {
        match (at(p, &["port"]).and_then(Value::as_i64), at(p, &["name"])) {
            (Some(n), _) => n.to_string(),
            (None, Some(Value::String(name))) => name.clone(),
            _ => "*".to_string(),
        }
    }));
    let endpoints = list_with_more(
        arr_at(obj, &["endpoints"])
            .iter()
            .flat_map(|e| arr_at(e, &["addresses"]))
            .map(|a| a.as_str().unwrap_or("").to_string()),
    );
    vec![
        json!(name_of(obj)),
        json!(str_at(obj, &["addressType"])),
        json!(ports),
        json!(endpoints),
        json!(age(obj, now)),
    ]
}

pub(super) fn ingress_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    // formatHosts.
    let rules = arr_at(obj, &["spec", "rules"]);
    const MAX: usize = 3;
    let mut hosts: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        if hosts.len() == MAX {
            more = true;
        }
        let host = str_at(rule, &["host"]);
        if !more && !host.is_empty() {
            hosts.push(host);
        }
    }
    let hosts = if hosts.is_empty() {
        "*".to_string()
    } else if more {
        format!("{} + {} more...", hosts.join(","), rules.len() - MAX)
    } else {
        hosts.join(",")
    };
    let ports = if arr_at(obj, &["spec", "tls"]).is_empty() {
        "80"
    } else {
        "80, 443"
    };
    vec![
        json!(name_of(obj)),
        json!(
            at(obj, &["spec", "ingressClassName"])
                .and_then(Value::as_str)
                .unwrap_or("<none>")
        ),
        json!(hosts),
        json!(load_balancer_ingress(at(obj, &["status", "loadBalancer"]))),
        json!(ports),
        json!(age(obj, now)),
    ]
}

pub(super) fn ingress_class_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let parameters = match at(obj, &["spec", "parameters"]) {
        Some(p) => {
            let mut s = str_at(p, &["kind"]).to_string();
            if let Some(group) = at(p, &["apiGroup"]).and_then(Value::as_str) {
                s = format!("{s}.{group}");
            }
            format!("{s}/{}", str_at(p, &["name"]))
        }
        None => "<none>".to_string(),
    };
    vec![
        json!(name_of(obj)),
        json!(str_at(obj, &["spec", "controller"])),
        json!(parameters),
        json!(age(obj, now)),
    ]
}

pub(super) fn network_policy_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        json!(name_of(obj)),
        json!(selector_at(obj, &["spec", "podSelector"])),
        json!(age(obj, now)),
    ]
}
