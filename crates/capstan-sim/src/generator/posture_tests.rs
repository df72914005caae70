//! The security posture a fleet is generated with: plausible mixtures per control (some
//! clusters meet each target, some miss it), consistent objects (no pod breaks its
//! namespace's enforce level but the grandfathered ones, reports match running digests,
//! owners exist), and the same output for the same seed.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use super::*;

type Objs = Vec<(&'static str, &'static str, Value)>;

fn fleet_clusters() -> Vec<ClusterSpec> {
    fleet::plan_fleet(&fleet::FleetOptions {
        tier: fleet::Tier::Small,
        clusters: Some(24),
        nodes: Some(12),
        pods: Some(400),
        seed: 2026,
    })
    .clusters
}

fn collect(spec: &ClusterSpec) -> Objs {
    let now: Timestamp = "2026-11-29T12:00:00Z".parse().unwrap();
    let mut objs = Vec::new();
    materialize(spec, now, &mut |g, p, v| objs.push((g, p, v)));
    objs
}

fn of<'a>(objs: &'a Objs, group: &str, plural: &str) -> impl Iterator<Item = &'a Value> {
    let (group, plural) = (group.to_string(), plural.to_string());
    objs.iter()
        .filter(move |o| o.0 == group && o.1 == plural)
        .map(|o| &o.2)
}

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or("")
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Kubescape's triple logic over one rule (D.3): any verb in `verbs`, any group in
/// `groups`, any resource in `resources` ("*" in the rule matches everything).
fn rule_grants(rule: &Value, verbs: &[&str], groups: &[&str], resources: &[&str]) -> bool {
    let any = |have: Vec<&str>, want: &[&str]| have.iter().any(|h| *h == "*" || want.contains(h));
    any(strs(&rule["verbs"]), verbs)
        && any(strs(&rule["apiGroups"]), groups)
        && any(strs(&rule["resources"]), resources)
}

fn risky_rule(rule: &Value) -> bool {
    let wildcard = strs(&rule["verbs"]).contains(&"*")
        && strs(&rule["resources"]).contains(&"*")
        && strs(&rule["apiGroups"]).contains(&"*");
    wildcard
        || rule_grants(rule, &["get", "list", "watch"], &[""], &["secrets"])
        || rule_grants(
            rule,
            &["bind", "escalate"],
            &["rbac.authorization.k8s.io"],
            &["roles", "clusterroles"],
        )
        || rule_grants(
            rule,
            &["impersonate"],
            &[""],
            &["users", "groups", "serviceaccounts"],
        )
        || rule_grants(rule, &["create"], &[""], &["pods/exec", "pods/portforward"])
}

fn system_subject(subject: &Value) -> bool {
    s(subject, "/name").starts_with("system:") || s(subject, "/namespace") == "kube-system"
}

/// Findings of D.7 for non-system subjects.
fn rbac_findings(objs: &Objs) -> usize {
    let rbac = "rbac.authorization.k8s.io";
    let mut rules: HashMap<(String, String), Vec<Value>> = HashMap::new();
    for r in of(objs, rbac, "clusterroles") {
        rules.insert(
            ("".into(), s(r, "/metadata/name").into()),
            strs_vec(&r["rules"]),
        );
    }
    for r in of(objs, rbac, "roles") {
        rules.insert(
            (
                s(r, "/metadata/namespace").into(),
                s(r, "/metadata/name").into(),
            ),
            strs_vec(&r["rules"]),
        );
    }
    let mut findings = 0;
    for b in of(objs, rbac, "clusterrolebindings").chain(of(objs, rbac, "rolebindings")) {
        let ns = if s(b, "/roleRef/kind") == "ClusterRole" {
            ""
        } else {
            s(b, "/metadata/namespace")
        };
        let Some(rs) = rules.get(&(ns.to_string(), s(b, "/roleRef/name").to_string())) else {
            continue;
        };
        let people = b["subjects"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|x| !system_subject(x));
        if people && rs.iter().any(risky_rule) {
            findings += 1;
        }
    }
    findings
}

fn strs_vec(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

/// Share of application namespaces covered by network policies (D.3's proposed definition).
fn netpol_coverage(objs: &Objs) -> (usize, usize) {
    let mut deny: HashSet<&str> = HashSet::new();
    let mut selectors: HashMap<&str, Vec<(String, String)>> = HashMap::new();
    for p in of(objs, "networking.k8s.io", "networkpolicies") {
        let ns = s(p, "/metadata/namespace");
        let sel = &p["spec"]["podSelector"];
        if sel.as_object().is_some_and(|m| m.is_empty())
            && strs(&p["spec"]["policyTypes"]).contains(&"Ingress")
            && p["spec"].get("ingress").is_none()
        {
            deny.insert(ns);
        }
        if let Some(m) = sel["matchLabels"].as_object() {
            for (k, v) in m {
                selectors
                    .entry(ns)
                    .or_default()
                    .push((k.clone(), v.as_str().unwrap_or("").into()));
            }
        }
    }
    for p in of(objs, "cilium.io", "ciliumnetworkpolicies") {
        let ns = s(p, "/metadata/namespace");
        let sel = &p["spec"]["endpointSelector"];
        if sel.as_object().is_some_and(|m| m.is_empty())
            && p["spec"]["ingress"] == serde_json::json!([{}])
        {
            deny.insert(ns);
        }
        if let Some(m) = sel["matchLabels"].as_object() {
            for (k, v) in m {
                selectors
                    .entry(ns)
                    .or_default()
                    .push((k.clone(), v.as_str().unwrap_or("").into()));
            }
        }
    }
    for p in of(objs, "crd.projectcalico.org", "networkpolicies") {
        let ns = s(p, "/metadata/namespace");
        let sel = s(p, "/spec/selector");
        if sel == "all()" && p["spec"].get("ingress").is_none() {
            deny.insert(ns);
        }
        if let Some((k, v)) = sel.split_once(" == ") {
            selectors
                .entry(ns)
                .or_default()
                .push((k.into(), v.trim_matches('\'').into()));
        }
    }
    let mut workloads: HashMap<&str, Vec<&Value>> = HashMap::new();
    for w in of(objs, "apps", "replicasets").chain(of(objs, "apps", "statefulsets")) {
        workloads
            .entry(s(w, "/metadata/namespace"))
            .or_default()
            .push(&w["spec"]["template"]["metadata"]["labels"]);
    }
    let app_ns: Vec<&str> = of(objs, "", "namespaces")
        .filter(|n| n["metadata"]["labels"]["team"].is_string())
        .map(|n| s(n, "/metadata/name"))
        .collect();
    let covered = app_ns
        .iter()
        .filter(|ns| {
            deny.contains(*ns)
                || workloads.get(*ns).into_iter().flatten().all(|labels| {
                    selectors
                        .get(*ns)
                        .into_iter()
                        .flatten()
                        .any(|(k, v)| labels[k.as_str()] == *v)
                })
        })
        .count();
    (covered, app_ns.len())
}

/// Baseline and restricted verdicts of a pod template (the checks this generator varies).
fn pss_level(t: &Value) -> &'static str {
    let spec = &t["spec"];
    let cs: Vec<&Value> = spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let baseline_ok = spec["hostPID"] != true
        && spec["hostNetwork"] != true
        && spec["securityContext"]["sysctls"].is_null()
        && spec["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|v| v.get("hostPath").is_none())
        && cs.iter().all(|c| {
            c["securityContext"]["privileged"] != true
                && c["securityContext"]["capabilities"]["add"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .all(|a| a == "NET_BIND_SERVICE" || a == "CHOWN")
                && c["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .all(|p| p.get("hostPort").is_none())
        });
    if !baseline_ok {
        return "privileged";
    }
    let pod_seccomp = spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault";
    let restricted_ok = pod_seccomp
        && cs.iter().all(|c| {
            let sc = &c["securityContext"];
            sc["allowPrivilegeEscalation"] == false
                && sc["runAsNonRoot"] == true
                && strs(&sc["capabilities"]["drop"]).contains(&"ALL")
        });
    if restricted_ok {
        "restricted"
    } else {
        "baseline"
    }
}

fn admits(enforce: &str, level: &str) -> bool {
    match enforce {
        "restricted" => level == "restricted",
        "baseline" => level != "privileged",
        _ => true,
    }
}

#[derive(Debug, Default)]
struct Figures {
    rbac_clean: bool,
    netpol: (usize, usize),
    pss_enforced: (usize, usize),
    levels: BTreeMap<&'static str, usize>,
    grandfathered: usize,
    secrets_managed: (usize, usize),
    scanned: (usize, usize),
    cni: &'static str,
    gatekeeper: bool,
}

fn figures(objs: &Objs) -> Figures {
    let mut f = Figures {
        rbac_clean: rbac_findings(objs) == 0,
        netpol: netpol_coverage(objs),
        ..Default::default()
    };
    let crd_names: HashSet<&str> = of(objs, "apiextensions.k8s.io", "customresourcedefinitions")
        .map(|c| s(c, "/metadata/name"))
        .collect();
    f.cni = match (
        crd_names.contains("ciliumnetworkpolicies.cilium.io"),
        crd_names.contains("networkpolicies.crd.projectcalico.org"),
    ) {
        (true, false) => "cilium",
        (false, true) => "calico",
        (false, false) => "native",
        _ => panic!("two CNIs"),
    };
    f.gatekeeper = crd_names.contains("constrainttemplates.templates.gatekeeper.sh");
    assert!(crd_names.contains("vulnerabilityreports.aquasecurity.github.io"));

    // Pod Security: namespace labels, and every workload against its namespace.
    let mut enforce: HashMap<&str, &str> = HashMap::new();
    for n in of(objs, "", "namespaces") {
        let name = s(n, "/metadata/name");
        let level = s(n, "/metadata/labels/pod-security.kubernetes.io~1enforce");
        if name != "kube-system" {
            f.pss_enforced.1 += 1;
            if matches!(level, "baseline" | "restricted") {
                f.pss_enforced.0 += 1;
            }
        }
        enforce.insert(name, level);
    }
    let templates: Vec<&Value> = of(objs, "apps", "replicasets")
        .chain(of(objs, "apps", "statefulsets"))
        .collect();
    for w in &templates {
        let ns = s(w, "/metadata/namespace");
        if ns == "kube-system" {
            continue;
        }
        let level = pss_level(&w["spec"]["template"]);
        *f.levels.entry(level).or_default() += 1;
        if !admits(enforce[ns], level) {
            f.grandfathered += 1;
        }
    }

    // Secrets: workloads referencing any, and those whose every reference is managed and
    // file-mounted.
    let owned_by_es: HashSet<(&str, &str)> = of(objs, "", "secrets")
        .filter(|x| x["metadata"]["ownerReferences"][0]["kind"] == "ExternalSecret")
        .map(|x| (s(x, "/metadata/namespace"), s(x, "/metadata/name")))
        .collect();
    let es_uids: HashSet<&str> = of(objs, "external-secrets.io", "externalsecrets")
        .map(|x| s(x, "/metadata/uid"))
        .collect();
    for x in of(objs, "", "secrets")
        .filter(|x| x["metadata"]["ownerReferences"][0]["kind"] == "ExternalSecret")
    {
        assert!(
            es_uids.contains(s(x, "/metadata/ownerReferences/0/uid")),
            "secret owned by a missing ExternalSecret"
        );
    }
    for w in &templates {
        let ns = s(w, "/metadata/namespace");
        let t = &w["spec"]["template"];
        let vault = s(t, "/metadata/annotations/vault.hashicorp.com~1agent-inject") == "true";
        let mut refs = 0;
        let mut managed = 0;
        for v in t["spec"]["volumes"].as_array().into_iter().flatten() {
            if let Some(name) = v["secret"]["secretName"].as_str() {
                refs += 1;
                managed += usize::from(owned_by_es.contains(&(ns, name)));
            }
            if v["csi"]["driver"] == "secrets-store.csi.k8s.io" {
                refs += 1;
                managed += 1;
            }
        }
        for c in t["spec"]["containers"].as_array().into_iter().flatten() {
            refs += c["envFrom"].as_array().map_or(0, |a| {
                a.iter().filter(|e| e.get("secretRef").is_some()).count()
            });
            refs += c["env"].as_array().map_or(0, |a| {
                a.iter()
                    .filter(|e| e.pointer("/valueFrom/secretKeyRef").is_some())
                    .count()
            });
        }
        if refs > 0 || vault {
            f.secrets_managed.1 += 1;
            if managed == refs {
                f.secrets_managed.0 += 1;
            }
        }
    }

    // Image scanning: running (workload, container) pairs with a fresh report of the running
    // digest.
    let now: Timestamp = "2026-11-29T12:00:00Z".parse().unwrap();
    let mut digests: HashMap<(&str, &str, &str), &str> = HashMap::new();
    for p in of(objs, "", "pods") {
        for cs in p["status"]["containerStatuses"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let owner = s(p, "/metadata/ownerReferences/0/name");
            let id = s(cs, "/imageID");
            digests.insert(
                (s(p, "/metadata/namespace"), owner, s(cs, "/name")),
                id.rsplit_once('@').map_or("", |x| x.1),
            );
        }
    }
    let mut reports: HashMap<(&str, &str, &str), &Value> = HashMap::new();
    for r in of(objs, "aquasecurity.github.io", "vulnerabilityreports") {
        let l = &r["metadata"]["labels"];
        let key = (
            l["trivy-operator.resource.namespace"].as_str().unwrap(),
            l["trivy-operator.resource.name"].as_str().unwrap(),
            l["trivy-operator.container.name"].as_str().unwrap(),
        );
        assert_eq!(s(r, "/metadata/namespace"), key.0);
        assert!(reports.insert(key, r).is_none(), "two reports for {key:?}");
    }
    for (key, digest) in &digests {
        f.scanned.1 += 1;
        let fresh = reports.get(key).is_some_and(|r| {
            let updated: Timestamp = s(r, "/report/updateTimestamp").parse().unwrap();
            s(r, "/report/artifact/digest") == *digest
                && now.as_second() - updated.as_second() <= 86_400
        });
        f.scanned.0 += usize::from(fresh);
    }

    // Gatekeeper's violations name objects that exist.
    let names: HashSet<(&str, &str, &str)> = objs
        .iter()
        .map(|o| {
            (
                o.2["kind"].as_str().unwrap_or(""),
                s(&o.2, "/metadata/namespace"),
                s(&o.2, "/metadata/name"),
            )
        })
        .collect();
    for c in objs
        .iter()
        .filter(|o| o.0 == "constraints.gatekeeper.sh")
        .map(|o| &o.2)
    {
        let listed = c["status"]["violations"].as_array().unwrap();
        assert!(listed.len() <= 20);
        assert!(c["status"]["totalViolations"].as_u64().unwrap() >= listed.len() as u64);
        for v in listed {
            let key = (s(v, "/kind"), s(v, "/namespace"), s(v, "/name"));
            assert!(
                names.contains(&key),
                "violation names a missing object: {v}"
            );
        }
    }
    f
}

fn share((n, d): (usize, usize)) -> f64 {
    n as f64 / d.max(1) as f64
}

#[test]
fn a_fleet_shows_plausible_mixtures_of_every_control() {
    let clusters = fleet_clusters();
    let all: Vec<(ClusterSpec, Figures)> = clusters
        .iter()
        .map(|c| (c.clone(), figures(&collect(c))))
        .collect();
    let count = |p: &dyn Fn(&Figures) -> bool| all.iter().filter(|(_, f)| p(f)).count();
    let total = |g: &dyn Fn(&Figures) -> (usize, usize)| {
        all.iter()
            .fold((0, 0), |acc, (_, f)| (acc.0 + g(f).0, acc.1 + g(f).1))
    };
    let summary: Vec<String> = all
        .iter()
        .map(|(c, f)| format!("{} {f:?}", c.name))
        .collect();
    let summary = summary.join("\n");

    eprintln!(
        "fleet: rbac clean {}/24, netpol {:.3}, pss enforced {:.3}, secrets managed {:.3}, scanned {:.4}",
        count(&|f| f.rbac_clean),
        share(total(&|f| f.netpol)),
        share(total(&|f| f.pss_enforced)),
        share(total(&|f| f.secrets_managed)),
        share(total(&|f| f.scanned)),
    );
    // RBAC: a share of clusters clean, the rest not.
    let clean = count(&|f| f.rbac_clean);
    assert!(
        (3..=18).contains(&clean),
        "{clean} clean clusters\n{summary}"
    );

    // Network policies: most namespaces covered, some clusters at 100%, some under 95%.
    let np = share(total(&|f| f.netpol));
    assert!((0.80..1.0).contains(&np), "netpol coverage {np}\n{summary}");
    assert!(count(&|f| f.netpol.0 == f.netpol.1) >= 3, "{summary}");
    assert!(count(&|f| share(f.netpol) < 0.95) >= 3, "{summary}");

    // Pod Security: some clusters enforce everywhere, others do not; most templates pass
    // restricted, a sizeable minority only baseline, a few percent violate baseline.
    assert!(
        count(&|f| f.pss_enforced.0 == f.pss_enforced.1) >= 3,
        "{summary}"
    );
    assert!(
        count(&|f| f.pss_enforced.0 < f.pss_enforced.1) >= 3,
        "{summary}"
    );
    let levels = all
        .iter()
        .fold(BTreeMap::<&str, usize>::new(), |mut m, (_, f)| {
            for (k, v) in &f.levels {
                *m.entry(k).or_default() += v;
            }
            m
        });
    let n: usize = levels.values().sum();
    let level_share = |l: &str| levels.get(l).copied().unwrap_or(0) as f64 / n as f64;
    assert!(level_share("restricted") > 0.4, "{levels:?}");
    assert!((0.15..0.5).contains(&level_share("baseline")), "{levels:?}");
    assert!(
        (0.003..0.08).contains(&level_share("privileged")),
        "{levels:?}"
    );
    // Only grandfathered workloads break their namespace's enforce level: at most one per
    // cluster, and some clusters have one.
    assert!(all.iter().all(|(_, f)| f.grandfathered <= 1), "{summary}");
    assert!(count(&|f| f.grandfathered == 1) >= 2, "{summary}");

    // Secrets: some clusters keep every secret in a manager, others do not.
    assert!(
        count(&|f| f.secrets_managed.1 > 0 && f.secrets_managed.0 == f.secrets_managed.1) >= 3,
        "{summary}"
    );
    assert!(
        count(&|f| f.secrets_managed.0 < f.secrets_managed.1) >= 3,
        "{summary}"
    );

    // Image scanning: 95-100% fleet-wide, some clusters under the 98% target.
    let scanned = share(total(&|f| f.scanned));
    assert!(
        (0.95..1.0).contains(&scanned),
        "scanned {scanned}\n{summary}"
    );
    assert!(count(&|f| share(f.scanned) < 0.98) >= 1, "{summary}");
    assert!(count(&|f| share(f.scanned) >= 0.98) >= 3, "{summary}");

    // CNI follows the provider's DaemonSet; Gatekeeper on a share of clusters.
    for (c, f) in &all {
        let want = match c.provider.as_str() {
            "gcp" => "calico",
            "aws" | "azure" => "native",
            _ => "cilium",
        };
        assert_eq!(f.cni, want, "{}", c.name);
    }
    let gk = count(&|f| f.gatekeeper);
    assert!((4..=20).contains(&gk), "{gk} clusters with Gatekeeper");
}

#[test]
fn posture_is_the_same_for_the_same_seed() {
    let c = &fleet_clusters()[3];
    let a = collect(c);
    let b = collect(c);
    assert!(a == b);
    let crds = |o: &Objs| of(o, "apiextensions.k8s.io", "customresourcedefinitions").count();
    assert!(crds(&a) >= 1);
}
