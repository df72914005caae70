#![allow(clippy::unwrap_used)]
//! The posture API in process over an in-memory store: uploads (auth, validation naming the
//! field, latest wins), the fleet aggregate over three crafted clusters against hand-computed
//! figures, label selectors, the findings' filters and totals, deletion and `/metrics`.

mod common;
mod posture_fixture;

use axum::http::StatusCode;
use capstan_core::posture::report::{Control, PostureReport, finding_order};
use capstan_hub::api::{self, FindingList, PostureUploadAnswer, PostureView};
use common::{Answer, Hub};
use posture_fixture::{DAY, T0, cluster_a, cluster_b, cluster_c, report, ts};
use serde_json::{Value, json};

/// The hub's time: a day after the fixture's evaluations.
const NOW: i64 = T0 + DAY;

impl Hub {
    async fn upload_json(&self, cluster: &str, token: &str, body: &Value) -> Answer {
        self.send(
            "POST",
            &format!("/api/v1/agents/{cluster}/posture"),
            Some(token),
            Some(body.to_string()),
        )
        .await
    }

    async fn upload(&self, token: &str, report: &PostureReport) -> Answer {
        let body = serde_json::to_value(report).unwrap();
        self.upload_json(&report.cluster, token, &body).await
    }

    async fn view(&self, query: &str) -> PostureView {
        let answer = self
            .send("GET", &format!("/api/v1/posture?{query}"), None, None)
            .await;
        assert_eq!(answer.code, StatusCode::OK, "{query}: {}", answer.body);
        serde_json::from_value(answer.body).unwrap()
    }

    async fn findings(&self, query: &str) -> FindingList {
        let answer = self
            .send(
                "GET",
                &format!("/api/v1/posture/findings?{query}"),
                None,
                None,
            )
            .await;
        assert_eq!(answer.code, StatusCode::OK, "{query}: {}", answer.body);
        serde_json::from_value(answer.body).unwrap()
    }

    /// The three fixture clusters (a, b in production, c in dev) and a silent one.
    async fn fleet() -> Hub {
        let hub = Hub::memory_at(ts(NOW)).await;
        for (report, env) in [
            (cluster_a(T0), "production"),
            (cluster_b(T0), "production"),
            (cluster_c(T0), "dev"),
        ] {
            let token = hub.register_agent(&report.cluster, env).await;
            let answer = hub.upload(&token, &report).await;
            assert_eq!(answer.code, StatusCode::OK, "{}", answer.body);
            assert_eq!(answer.body["stored"], true);
        }
        hub.register_agent("silent", "production").await;
        hub
    }
}

/// (eligible, covered, excepted, clusters meeting the target, meets) of a fleet control.
fn figures(view: &PostureView, control: Control) -> (u64, u64, u64, u64, bool) {
    let c = view
        .fleet
        .controls
        .iter()
        .find(|c| c.control == control)
        .unwrap();
    (
        c.eligible,
        c.covered,
        c.excepted,
        c.clusters_meeting_target,
        c.meets_target,
    )
}

#[tokio::test]
async fn the_fleet_adds_up_as_computed_by_hand() {
    let hub = Hub::fleet().await;
    let view = hub.view("").await;
    assert_eq!(view.fleet.clusters_reporting, 3);
    assert_eq!(view.clusters_without_report, ["silent"]);
    // RBAC counts clusters: a covered, b complete through exceptions, c not (3 of 5).
    assert_eq!(figures(&view, Control::Rbac), (3, 1, 1, 2, false));
    // 19+30+5 of 20+30+10 namespaces = 90%; only b is above 95% on its own.
    assert_eq!(
        figures(&view, Control::NetworkPolicy),
        (60, 54, 0, 1, false)
    );
    // 18+27+10 covered and a's 2 excepted of 60 = 95%, not 100%; a and c are complete.
    assert_eq!(figures(&view, Control::PodSecurity), (60, 55, 2, 2, false));
    // 40+9 covered, 1 excepted of 50: 100%; c has nothing eligible, which meets it.
    assert_eq!(figures(&view, Control::Secrets), (50, 49, 1, 3, true));
    // 99+190+50 of 350 = 96.86%, not above 98%.
    assert_eq!(
        figures(&view, Control::ImageScanning),
        (350, 339, 0, 2, false)
    );
    let np = &view.fleet.controls[1];
    assert_eq!(np.percent, Some(90.0));
    assert_eq!(np.findings, 1 + 5);
    assert_eq!(np.excepted_findings, 1);

    // The top rules over the fleet: not-scanned (1 in a + 10 in b) first.
    let top: Vec<_> = view
        .fleet
        .rules
        .iter()
        .map(|r| (r.rule.as_str(), r.findings, r.clusters))
        .collect();
    assert_eq!(top[0], ("images.not-scanned", 11, 2));
    assert!(top.contains(&("netpol.namespace-uncovered", 6, 2)));
    assert!(top.contains(&("rbac.cluster-admin-binding", 2, 1)));

    // Per cluster, in Control::ALL order, with percentages and target marks.
    assert_eq!(
        view.clusters
            .iter()
            .map(|c| c.cluster.as_str())
            .collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    let a = &view.clusters[0];
    assert_eq!(a.labels["environment"], "production");
    assert_eq!(a.evaluated_at, ts(T0));
    assert_eq!(a.received_at, ts(NOW));
    assert_eq!(a.kubernetes_minor, 32);
    let controls: Vec<_> = a.controls.iter().map(|c| c.control).collect();
    assert_eq!(controls, Control::ALL);
    assert_eq!(a.controls[1].percent, Some(95.0));
    assert!(!a.controls[1].meets_target, "95% is not above 95%");
    assert!(a.controls[2].meets_target, "exceptions complete it");
    let c = &view.clusters[2];
    assert_eq!(c.controls[3].percent, None);
    assert!(c.controls[3].meets_target);
}

#[tokio::test]
async fn a_label_selector_narrows_the_fleet() {
    let hub = Hub::fleet().await;
    let prod = hub.view("labelSelector=environment%3Dproduction").await;
    assert_eq!(prod.fleet.clusters_reporting, 2);
    assert_eq!(prod.clusters_without_report, ["silent"]);
    // Without c: 49 of 50 namespaces, 98%, above 95%.
    assert_eq!(figures(&prod, Control::NetworkPolicy), (50, 49, 0, 1, true));
    assert_eq!(figures(&prod, Control::Rbac), (2, 1, 1, 2, true));

    let one = hub.view("cluster=c").await;
    assert_eq!(one.clusters.len(), 1);
    assert_eq!(one.clusters[0].cluster, "c");
    assert!(one.clusters_without_report.is_empty());

    let bad = hub
        .send(
            "GET",
            "/api/v1/posture?labelSelector=environment%20in%20(",
            None,
            None,
        )
        .await;
    assert_eq!(bad.code, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["field"], "labelSelector");
}

#[tokio::test]
async fn findings_filter_and_total_every_matching_finding() {
    let hub = Hub::fleet().await;
    // (query, shown, total): totals from the complete counts, whatever is listed.
    let cases: &[(&str, usize, u64)] = &[
        // a: 1 + 2 + 1; b: 2 + 6 + 1 + 10; c: 2 + 5.
        ("", 13, 4 + 19 + 7),
        ("control=network-policy", 4, 6),
        ("control=network-policy&excepted=false", 3, 5),
        ("control=network-policy&excepted=only", 1, 1),
        ("control=network-policy&cluster=a", 1, 1),
        (
            "control=network-policy&labelSelector=environment%3Ddev",
            3,
            5,
        ),
        ("control=pod-security&rule=pss.run-as-non-root", 1, 5),
        ("severity=critical", 1, 2),
        // b's wildcards are excepted: b's privileged and c's two admin bindings.
        ("severity=high,critical&excepted=false", 2, 3),
        ("control=rbac&excepted=only", 2, 2),
        ("control=image-scanning", 1, 11),
        ("limit=2", 2, 30),
        ("control=secrets&cluster=c", 0, 0),
    ];
    for &(query, shown, total) in cases {
        let list = hub.findings(query).await;
        assert_eq!((list.shown, list.total), (shown, total), "{query}");
        assert_eq!(list.findings.len(), shown, "{query}");
    }
    // Core's finding order, then the cluster.
    let all = hub.findings("").await.findings;
    let mut sorted = all.clone();
    sorted.sort_by(|x, y| {
        finding_order(&x.finding, &y.finding).then_with(|| x.cluster.cmp(&y.cluster))
    });
    assert_eq!(all, sorted);
    assert_eq!(all[0].cluster, "c");
    assert_eq!(all[0].finding.rule, "rbac.cluster-admin-binding");
    // The JSON is flat: the cluster beside the finding's fields.
    let raw = hub
        .send(
            "GET",
            "/api/v1/posture/findings?excepted=only&control=network-policy",
            None,
            None,
        )
        .await;
    assert_eq!(raw.body["findings"][0]["cluster"], "c");
    assert_eq!(raw.body["findings"][0]["excepted"], "sandbox");
    assert_eq!(raw.body["findings"][0]["object"]["name"], "ns-2");
}

#[tokio::test]
async fn findings_parameters_are_checked_by_name() {
    let hub = Hub::fleet().await;
    for (query, field, words) in [
        (
            "control=netpol",
            "control",
            "rbac, network-policy, pod-security, secrets, image-scanning",
        ),
        (
            "severity=urgent",
            "severity",
            "info, low, medium, high, critical",
        ),
        ("excepted=maybe", "excepted", "true, false, only"),
        ("limit=0", "limit", "1 to 100000"),
        ("labelSelector=a%20in", "labelSelector", ""),
    ] {
        let answer = hub
            .send(
                "GET",
                &format!("/api/v1/posture/findings?{query}"),
                None,
                None,
            )
            .await;
        assert_eq!(answer.code, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(answer.body["field"], field, "{query}");
        assert!(
            answer.body["message"].as_str().unwrap().contains(words),
            "{query}: {}",
            answer.body
        );
    }
}

#[tokio::test]
async fn uploads_need_the_clusters_own_token() {
    let hub = Hub::memory_at(ts(NOW)).await;
    let a = hub.register_agent("a", "production").await;
    let b = hub.register_agent("b", "production").await;
    let body = serde_json::to_value(cluster_a(T0)).unwrap();
    let none = hub
        .send(
            "POST",
            "/api/v1/agents/a/posture",
            None,
            Some(body.to_string()),
        )
        .await;
    assert_eq!(none.code, StatusCode::UNAUTHORIZED);
    assert_eq!(
        hub.upload_json("a", "capstan.a.0000", &body).await.code,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        hub.upload_json("a", &b, &body).await.code,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        hub.view("").await.fleet.clusters_reporting,
        0,
        "nothing stored"
    );
    assert_eq!(hub.upload_json("a", &a, &body).await.code, StatusCode::OK);
}

/// Uploads `report` changed by `change` as cluster a and expects `code` naming `field`.
async fn check(
    hub: &Hub,
    token: &str,
    change: impl FnOnce(&mut PostureReport),
    code: StatusCode,
    field: &str,
) {
    let mut r = cluster_a(T0);
    change(&mut r);
    let answer = hub
        .upload_json("a", token, &serde_json::to_value(&r).unwrap())
        .await;
    assert_eq!(answer.code, code, "{field}: {}", answer.body);
    if code == StatusCode::OK {
        assert_eq!(answer.body["stored"], true);
    } else {
        assert_eq!(answer.body["field"], field, "{}", answer.body);
    }
}

#[tokio::test]
async fn uploads_are_validated_with_the_field_named() {
    let hub = Hub::memory_at(ts(NOW)).await;
    let token = hub.register_agent("a", "production").await;
    let bad = StatusCode::BAD_REQUEST;
    check(&hub, &token, |r| r.cluster = "b".into(), bad, "cluster").await;
    check(
        &hub,
        &token,
        |r| r.evaluated_at = ts(NOW + 7200),
        bad,
        "evaluatedAt",
    )
    .await;
    check(
        &hub,
        &token,
        |r| r.controls[1].control = Control::Rbac,
        bad,
        "controls[1].control",
    )
    .await;
    check(
        &hub,
        &token,
        |r| r.controls[0].unit = r.controls[3].unit,
        bad,
        "controls[0].unit",
    )
    .await;
    check(
        &hub,
        &token,
        |r| r.controls[1].excepted = 2,
        bad,
        "controls[1].covered",
    )
    .await;
    check(
        &hub,
        &token,
        |r| r.controls[0].excepted_findings = 1,
        bad,
        "controls[0].exceptedFindings",
    )
    .await;
    check(
        &hub,
        &token,
        |r| {
            r.controls.remove(4);
        },
        bad,
        "rules[2].control",
    )
    .await;
    check(
        &hub,
        &token,
        |r| {
            let d = r.rules[0].clone();
            r.rules.push(d)
        },
        bad,
        "rules[3].rule",
    )
    .await;
    check(
        &hub,
        &token,
        |r| r.rules[0].excepted = 5,
        bad,
        "rules[0].excepted",
    )
    .await;
    check(&hub, &token, |r| r.rules.clear(), StatusCode::OK, "").await;
    check(
        &hub,
        &token,
        |r| r.findings[0].object.name.clear(),
        bad,
        "findings[0].object.name",
    )
    .await;
    check(
        &hub,
        &token,
        |r| r.findings[1].message = "x".repeat(1025),
        bad,
        "findings[1].message",
    )
    .await;
    check(
        &hub,
        &token,
        |r| r.findings[3].rule = "r".repeat(254),
        bad,
        "findings[3].rule",
    )
    .await;
    // More findings listed than the coverage counts.
    check(
        &hub,
        &token,
        |r| {
            let f = r.findings[0].clone();
            r.findings.push(f)
        },
        bad,
        "findings",
    )
    .await;
    // Past the per-control and total bounds (counts raised so that only the bound is broken).
    check(
        &hub,
        &token,
        |r| {
            let f = r.findings[0].clone();
            r.findings = vec![f; 1001];
            r.controls[1].findings = 2000;
        },
        bad,
        "findings",
    )
    .await;
    check(
        &hub,
        &token,
        |r| {
            let f = r.findings[0].clone();
            r.findings = vec![f; 5001];
            r.controls[1].findings = 10_000;
        },
        bad,
        "findings",
    )
    .await;
    // Types the wire confines: a sixth control is refused while decoding (422, path named).
    let mut body = serde_json::to_value(cluster_a(T0)).unwrap();
    body["controls"][2]["control"] = json!("firewall");
    let answer = hub.upload_json("a", &token, &body).await;
    assert_eq!(answer.code, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.body["field"], "controls[2].control");
}

#[tokio::test]
async fn the_latest_evaluation_wins() {
    let hub = Hub::memory_at(ts(NOW)).await;
    let token = hub.register_agent("a", "production").await;
    let newer = report("a", T0 + 600).all_covered(4).build();
    let answer = hub.upload(&token, &newer).await;
    assert_eq!(answer.code, StatusCode::OK);
    let older = hub.upload(&token, &cluster_a(T0)).await;
    assert_eq!(older.code, StatusCode::OK);
    let older: PostureUploadAnswer = serde_json::from_value(older.body).unwrap();
    assert_eq!(
        older,
        PostureUploadAnswer {
            stored: false,
            latest_evaluated_at: ts(T0 + 600)
        }
    );
    let view = hub.view("").await;
    assert_eq!(view.clusters[0].evaluated_at, ts(T0 + 600));
    assert_eq!(figures(&view, Control::NetworkPolicy), (4, 4, 0, 1, true));
    assert_eq!(hub.findings("").await.total, 0);
    // A retry of the latest is stored again, changing nothing.
    let again: PostureUploadAnswer =
        serde_json::from_value(hub.upload(&token, &newer).await.body).unwrap();
    assert!(again.stored);
    assert_eq!(hub.view("").await, view);
}

#[tokio::test]
async fn deleting_a_cluster_removes_its_posture() {
    let hub = Hub::fleet().await;
    let answer = hub.send("DELETE", "/api/v1/clusters/c", None, None).await;
    assert_eq!(answer.code, StatusCode::NO_CONTENT);
    let view = hub.view("").await;
    assert_eq!(view.fleet.clusters_reporting, 2);
    assert!(view.clusters.iter().all(|c| c.cluster != "c"));
    assert_eq!(hub.findings("cluster=c").await.shown, 0);
    assert_eq!(hub.findings("control=network-policy").await.shown, 1);
}

#[tokio::test]
async fn metrics_expose_the_fleet_coverage_and_the_reports_stored() {
    let hub = Hub::fleet().await;
    // One more report for a, with one more policy: 55 of 60 namespaces.
    let token = hub.register_agent("a", "production").await;
    let mut a = cluster_a(T0 + 60);
    a.controls[1].covered = 20;
    a.controls[1].findings = 0;
    a.findings.retain(|f| f.control != Control::NetworkPolicy);
    a.rules.retain(|r| r.control != Control::NetworkPolicy);
    assert_eq!(hub.upload(&token, &a).await.code, StatusCode::OK);
    let text = hub.send("GET", "/metrics", None, None).await.text;
    for line in [
        "# TYPE capstan_posture_coverage_ratio gauge",
        "capstan_posture_coverage_ratio{control=\"rbac\"} 0.6666666666666666",
        &format!(
            "capstan_posture_coverage_ratio{{control=\"network-policy\"}} {}",
            55.0 / 60.0
        ),
        "capstan_posture_coverage_ratio{control=\"secrets\"} 1",
        "capstan_posture_clusters_reporting 3",
        "# TYPE capstan_posture_reports_total counter",
        "capstan_posture_reports_total 4",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
}

#[tokio::test]
async fn a_report_at_the_bounds_is_taken_whole() {
    use capstan_core::posture::report::{Finding, ObjectRef, Severity};
    let hub = Hub::memory_at(ts(NOW)).await;
    let token = hub.register_agent("a", "production").await;
    // 1,000 findings in each of the five controls: 5,000, past the 1 MiB of other bodies.
    let mut r = report("a", T0).all_covered(2000).build();
    for c in &mut r.controls {
        c.covered = 1000;
        c.findings = 1000;
        for i in 0..1000 {
            r.findings.push(Finding {
                control: c.control,
                rule: format!("{}.rule", c.control),
                severity: Severity::Low,
                object: ObjectRef::new("Deployment", "team", &format!("app-{i:04}")),
                field_path: "spec.containers[0].securityContext.runAsNonRoot".into(),
                message: "m".repeat(200),
                count: 1,
                excepted: None,
            });
        }
    }
    let body = serde_json::to_string(&r).unwrap();
    assert!(body.len() > api::MAX_BODY_BYTES, "{} bytes", body.len());
    let answer = hub
        .send("POST", "/api/v1/agents/a/posture", Some(&token), Some(body))
        .await;
    assert_eq!(answer.code, StatusCode::OK, "{}", answer.body);
    let list = hub.findings("control=secrets&limit=100000").await;
    assert_eq!((list.shown, list.total), (1000, 1000));
    assert_eq!(list.findings[0].finding.object.name, "app-0000");
    assert_eq!(list.findings[999].finding.object.name, "app-0999");
}
