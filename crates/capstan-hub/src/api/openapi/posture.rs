//! The posture routes (issue 7) and their bodies in the OpenAPI document.

use serde_json::{Value, json};

use super::{
    agent_auth_errors, array_of, json_content, json_response, path_param, query_param, schema_ref,
    status_response, string_map, timestamp, with_responses,
};

const CONTROLS: [&str; 5] = [
    "rbac",
    "network-policy",
    "pod-security",
    "secrets",
    "image-scanning",
];
const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];
const UNITS: [&str; 4] = ["clusters", "namespaces", "workloads", "containers"];

fn count() -> Value {
    json!({"type": "integer", "minimum": 0})
}

fn control() -> Value {
    json!({"type": "string", "enum": CONTROLS})
}

fn severity() -> Value {
    json!({"type": "string", "enum": SEVERITIES})
}

fn unit() -> Value {
    json!({"type": "string", "enum": UNITS})
}

fn percent() -> Value {
    json!({"type": "number", "nullable": true, "minimum": 0, "maximum": 100,
        "description": "(covered + excepted) / eligible in percent; null when nothing is eligible."})
}

fn target() -> Value {
    json!({
        "type": "object", "additionalProperties": false,
        "required": ["percent", "strictlyAbove"],
        "properties": {"percent": {"type": "number"}, "strictlyAbove": {"type": "boolean"}}
    })
}

fn counts() -> Value {
    json!({"type": "object", "additionalProperties": count()})
}

pub(super) fn paths() -> Value {
    let selector = query_param(
        "labelSelector",
        "A Kubernetes label selector over the clusters' labels.",
        json!({"type": "string"}),
    );
    let cluster = query_param("cluster", "One cluster only.", json!({"type": "string"}));
    json!({
        "/api/v1/agents/{cluster}/posture": {"post": {
            "tags": ["agents"], "operationId": "uploadPosture",
            "summary": "A cluster's security posture: coverage per control, complete rule counts and the top findings.",
            "description": "The latest report per cluster replaces the previous one; a report \
                evaluated before the stored one changes nothing and answers `stored: false`. \
                Each evaluation also adds a point to the cluster's per-control history: one \
                per hour (kept 30 days) and one per UTC day (the day's latest evaluation, \
                kept 400 days).",
            "security": [{"clusterToken": []}],
            "parameters": [path_param("cluster", "The cluster's name (a DNS-1123 label).")],
            "requestBody": {"required": true, "content": json_content(schema_ref("PostureReport"))},
            "responses": with_responses(agent_auth_errors(), json!({
                "200": json_response("Stored, or older than the stored report.", schema_ref("PostureUploadAnswer")),
                "400": status_response("Not JSON, or a rule the types cannot say is broken; \
                    `field` names it: cluster (not the path's), evaluatedAt (more than an hour \
                    ahead), controls[i].control (twice), controls[i].unit, controls[i].covered \
                    (covered + excepted > eligible), controls[i].exceptedFindings, \
                    rules[i].control, rules[i].rule, rules[i].excepted, findings (more than \
                    1,000 of a control, 5,000 in all, or more than its coverage counts), \
                    findings[i].control, findings[i].object.name, ... (strings too long)."),
                "413": status_response("The body exceeds 16 MiB."),
                "422": status_response("A field is unknown or of the wrong type (e.g. a control that is not one of the five); `field` names its path.")
            }))
        }},
        "/api/v1/posture": {"get": {
            "tags": ["posture"], "operationId": "postureReport",
            "summary": "The fleet's coverage per control against its targets, each cluster's, and the clusters without a report.",
            "description": "RBAC counts clusters (one is covered when every namespace is); the \
                other controls sum their units over the clusters. Excepted units count towards \
                coverage and are shown apart. Findings are not included: see /api/v1/posture/findings.",
            "parameters": [selector.clone(), cluster.clone()],
            "responses": {
                "200": json_response("The posture.", schema_ref("PostureView")),
                "400": status_response("A parameter does not parse; `field` names it (labelSelector)."),
                "500": status_response("The hub's store failed.")
            }
        }},
        "/api/v1/posture/findings": {"get": {
            "tags": ["posture"], "operationId": "postureFindings",
            "summary": "The fleet's findings, most severe and most objects first, then by cluster.",
            "description": "Reports carry each control's top findings only; `total` counts every \
                matching finding from the clusters' complete counts, so that a client can say \
                \"showing 200 of 1,234\".",
            "parameters": [
                query_param("control", "One control only.", control()),
                cluster.clone(),
                selector.clone(),
                query_param("rule", "One rule only (e.g. pss.privileged).", json!({"type": "string"})),
                query_param("severity", "Severities, comma-separated (e.g. high,critical).",
                    json!({"type": "string"})),
                query_param("excepted", "true (default): excepted findings too; false: none; only: only them.",
                    json!({"type": "string", "enum": ["true", "false", "only"]})),
                query_param("limit", "Findings to show (default 200, at most 100,000).",
                    json!({"type": "integer", "minimum": 1, "maximum": 100_000}))
            ],
            "responses": {
                "200": json_response("The findings.", schema_ref("FindingList")),
                "400": status_response("A parameter does not parse; `field` names it (control, \
                    with the valid names in the message; severity, excepted, limit, labelSelector)."),
                "500": status_response("The hub's store failed.")
            }
        }},
        "/api/v1/posture/history": {"get": {
            "tags": ["posture"], "operationId": "postureHistory",
            "summary": "The fleet's coverage per control over time, per hour or per day.",
            "description": "By day from the daily history (each cluster's latest evaluation of \
                each UTC day, written at upload time, kept 400 days); by hour from the hourly \
                history (kept 30 days), over at most the 7 days before now. A bucket \
                counts the clusters that reported in it, each at its latest evaluation in the \
                bucket: a cluster that stopped reporting is absent from the later buckets \
                (unlike GET /api/v1/posture, which keeps every cluster's latest report). The \
                figures are the fleet report's: RBAC counts clusters, the other controls sum \
                their units; excepted units count towards coverage. labelSelector selects over \
                the inventory's labels now. Every bucket from `since` to now is listed, those \
                without a report with clustersReporting 0.",
            "parameters": [
                query_param("control", "One control only.", control()),
                cluster,
                selector,
                query_param("since", "The first bucket: an RFC 3339 time or a duration before \
                    now such as 30d or 36h (default 7d by day, 24h by hour); rounded down to the \
                    step, and no earlier than the 400 days of days kept. By hour, at most 7 days \
                    (168h) before now: earlier is a 400.", json!({"type": "string"})),
                query_param("step", "The bucket: 1h or 1d (default).",
                    json!({"type": "string", "enum": ["1h", "1d"]}))
            ],
            "responses": {
                "200": json_response("The buckets, oldest first.", schema_ref("PostureHistory")),
                "400": status_response("A parameter does not parse; `field` names it (control, \
                    since: not a time or a duration, after the hub's time, or more than 7 days \
                    before it with step=1h; step, labelSelector)."),
                "500": status_response("The hub's store failed.")
            }
        }},
        "/api/v1/posture/exceptions": {"get": {
            "tags": ["posture"], "operationId": "postureExceptions",
            "summary": "The posture exceptions the clusters' latest reports applied: in force, unused or expired.",
            "description": "Per exception name over the selected clusters' latest reports: the \
                findings it excepted (summed), the clusters where it matched something and \
                where it matched nothing, and the clusters where it was expired at the latest \
                evaluation (an expired exception excepts nothing). state: expired when expired \
                in any selected cluster, else unused when it matched nothing anywhere, else \
                active. Clusters may run different exceptions files: reason is the most \
                recently evaluated cluster's, expires the earliest.",
            "parameters": [cluster, selector],
            "responses": {
                "200": json_response("The exceptions, by name.", schema_ref("ExceptionList")),
                "400": status_response("A parameter does not parse; `field` names it (labelSelector)."),
                "500": status_response("The hub's store failed.")
            }
        }}
    })
}

fn finding_properties() -> Value {
    json!({
        "control": control(),
        "rule": {"type": "string"},
        "severity": severity(),
        "object": {
            "type": "object", "additionalProperties": false, "required": ["kind", "name"],
            "properties": {
                "kind": {"type": "string"},
                "namespace": {"type": "string", "description": "Absent for cluster-scoped objects."},
                "name": {"type": "string"}
            }
        },
        "fieldPath": {"type": "string", "description": "Where in the object (its pods' spec for pod checks); empty when the finding is the object's absence."},
        "message": {"type": "string"},
        "count": {"type": "integer", "minimum": 0, "description": "Objects the finding stands for (a workload's pods)."},
        "excepted": {"type": "string", "description": "The reason of the exception covering it; absent when none does."}
    })
}

const FINDING_REQUIRED: [&str; 7] = [
    "control",
    "rule",
    "severity",
    "object",
    "fieldPath",
    "message",
    "count",
];

pub(super) fn schemas() -> Value {
    let mut cluster_finding = finding_properties();
    if let Some(p) = cluster_finding.as_object_mut() {
        p.insert("cluster".to_string(), json!({"type": "string"}));
    }
    let mut cluster_finding_required: Vec<&str> = vec!["cluster"];
    cluster_finding_required.extend(FINDING_REQUIRED);
    json!({
        "ControlCoverage": {
            "type": "object", "additionalProperties": false,
            "required": ["control", "unit", "eligible", "covered", "excepted", "findings", "exceptedFindings"],
            "properties": {
                "control": control(), "unit": unit(),
                "eligible": count(), "covered": count(), "excepted": count(),
                "findings": count(), "exceptedFindings": count(),
                "details": counts()
            }
        },
        "RuleCount": {
            "type": "object", "additionalProperties": false,
            "required": ["control", "rule", "severity", "findings", "excepted"],
            "properties": {
                "control": control(), "rule": {"type": "string"}, "severity": severity(),
                "findings": count(), "excepted": count()
            }
        },
        "Finding": {
            "type": "object", "additionalProperties": false,
            "required": FINDING_REQUIRED, "properties": finding_properties()
        },
        "PostureReport": {
            "type": "object",
            "description": "One cluster's posture (capstan_core::posture::report::PostureReport).",
            "required": ["cluster", "evaluatedAt", "durationMs", "kubernetesMinor", "controls",
                "rules", "findings", "exceptions", "sources"],
            "properties": {
                "cluster": {"type": "string"},
                "evaluatedAt": timestamp(),
                "durationMs": count(),
                "kubernetesMinor": count(),
                "controls": {"type": "array", "maxItems": 5, "items": schema_ref("ControlCoverage")},
                "rules": {"type": "array", "maxItems": 1000, "items": schema_ref("RuleCount")},
                "findings": {"type": "array", "maxItems": 5000, "items": schema_ref("Finding")},
                "exceptions": array_of(json!({
                    "type": "object", "additionalProperties": false,
                    "required": ["name", "reason", "matched"],
                    "properties": {
                        "name": {"type": "string"}, "reason": {"type": "string"}, "matched": count(),
                        "expires": {"type": "string", "format": "date-time"},
                        "expired": {"type": "boolean"}
                    }
                })),
                "sources": {
                    "type": "object",
                    "properties": {
                        "gatekeeper": {"type": "boolean"}, "cilium": {"type": "boolean"},
                        "calico": {"type": "boolean"}, "trivy": {"type": "boolean"},
                        "secretsStoreCsi": {"type": "boolean"}, "externalSecrets": {"type": "boolean"}
                    }
                }
            }
        },
        "PostureUploadAnswer": {
            "type": "object", "additionalProperties": false,
            "required": ["stored", "latestEvaluatedAt"],
            "properties": {"stored": {"type": "boolean"}, "latestEvaluatedAt": timestamp()}
        },
        "PostureView": {
            "type": "object", "additionalProperties": false,
            "required": ["fleet", "clusters", "clustersWithoutReport"],
            "properties": {
                "fleet": {
                    "type": "object", "additionalProperties": false,
                    "required": ["clustersReporting", "controls", "rules"],
                    "properties": {
                        "clustersReporting": count(),
                        "controls": array_of(json!({
                            "type": "object", "additionalProperties": false,
                            "required": ["control", "unit", "eligible", "covered", "excepted",
                                "percent", "target", "meetsTarget", "clustersMeetingTarget",
                                "clustersReporting", "findings", "exceptedFindings", "details"],
                            "properties": {
                                "control": control(), "unit": unit(),
                                "eligible": count(), "covered": count(), "excepted": count(),
                                "percent": percent(),
                                "target": target(),
                                "meetsTarget": {"type": "boolean"},
                                "clustersMeetingTarget": count(), "clustersReporting": count(),
                                "findings": count(), "exceptedFindings": count(),
                                "details": counts()
                            }
                        })),
                        "rules": array_of(json!({
                            "type": "object", "additionalProperties": false,
                            "required": ["control", "rule", "severity", "findings", "excepted", "clusters"],
                            "properties": {
                                "control": control(), "rule": {"type": "string"}, "severity": severity(),
                                "findings": count(), "excepted": count(), "clusters": count()
                            }
                        }))
                    }
                },
                "clusters": array_of(json!({
                    "type": "object", "additionalProperties": false,
                    "required": ["cluster", "labels", "evaluatedAt", "receivedAt", "kubernetesMinor", "controls"],
                    "properties": {
                        "cluster": {"type": "string"}, "labels": string_map(),
                        "evaluatedAt": timestamp(), "receivedAt": timestamp(),
                        "kubernetesMinor": count(),
                        "controls": array_of(json!({
                            "type": "object", "additionalProperties": false,
                            "required": ["control", "unit", "eligible", "covered", "excepted",
                                "percent", "meetsTarget", "findings", "exceptedFindings"],
                            "properties": {
                                "control": control(), "unit": unit(),
                                "eligible": count(), "covered": count(), "excepted": count(),
                                "percent": percent(), "meetsTarget": {"type": "boolean"},
                                "findings": count(), "exceptedFindings": count()
                            }
                        }))
                    }
                })),
                "clustersWithoutReport": array_of(json!({"type": "string"}))
            }
        },
        "PostureHistory": {
            "type": "object", "additionalProperties": false,
            "required": ["step", "since", "until", "controls", "buckets"],
            "properties": {
                "step": {"type": "string", "enum": ["1h", "1d"]},
                "since": timestamp(),
                "until": timestamp(),
                "controls": array_of(json!({
                    "type": "object", "additionalProperties": false,
                    "required": ["control", "unit", "target"],
                    "properties": {"control": control(), "unit": unit(), "target": target()}
                })),
                "buckets": array_of(json!({
                    "type": "object", "additionalProperties": false,
                    "required": ["start", "clustersReporting", "controls"],
                    "properties": {
                        "start": timestamp(),
                        "clustersReporting": count(),
                        "controls": array_of(json!({
                            "type": "object", "additionalProperties": false,
                            "required": ["control", "clustersReporting", "eligible", "covered",
                                "excepted", "percent", "meetsTarget", "findings"],
                            "properties": {
                                "control": control(), "clustersReporting": count(),
                                "eligible": count(), "covered": count(), "excepted": count(),
                                "percent": percent(), "meetsTarget": {"type": "boolean"},
                                "findings": count()
                            }
                        }))
                    }
                }))
            }
        },
        "ExceptionList": {
            "type": "object", "additionalProperties": false,
            "required": ["clustersReporting", "exceptions", "expired", "unused"],
            "properties": {
                "clustersReporting": count(),
                "exceptions": array_of(json!({
                    "type": "object", "additionalProperties": false,
                    "required": ["name", "reason", "expires", "expired", "state", "matched",
                        "clusters", "clustersMatched", "clustersUnmatched", "clustersExpired"],
                    "properties": {
                        "name": {"type": "string"},
                        "reason": {"type": "string"},
                        "expires": {"type": "string", "format": "date-time", "nullable": true,
                            "description": "The earliest expiry among the clusters; null when none says."},
                        "expired": {"type": "boolean"},
                        "state": {"type": "string", "enum": ["expired", "unused", "active"]},
                        "matched": count(),
                        "clusters": count(),
                        "clustersMatched": array_of(json!({"type": "string"})),
                        "clustersUnmatched": array_of(json!({"type": "string"})),
                        "clustersExpired": array_of(json!({"type": "string"}))
                    }
                })),
                "expired": count(),
                "unused": count()
            }
        },
        "FindingList": {
            "type": "object", "additionalProperties": false,
            "required": ["findings", "shown", "total"],
            "properties": {
                "findings": array_of(json!({
                    "type": "object", "additionalProperties": false,
                    "required": cluster_finding_required,
                    "properties": cluster_finding
                })),
                "shown": count(),
                "total": count()
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;

    use capstan_core::posture::fleet::FleetAccumulator;
    use capstan_core::posture::report::{
        AppliedException, Control, ControlCoverage, Finding, ObjectRef, PostureReport,
        PostureSources, RuleCount, Severity,
    };
    use serde_json::{Value, json};

    use super::super::tests::check;
    use crate::api::{
        ClusterControl, ClusterPosture, FindingList, PostureView, exceptions_of, history_of,
    };
    use crate::store::{
        ClusterExceptions, ClusterFinding, ControlSums, HistoryStep, PostureHistoryBucket,
    };

    fn coverage(control: Control, eligible: u64, covered: u64) -> ControlCoverage {
        let mut c = ControlCoverage::new(control);
        c.eligible = eligible;
        c.covered = covered;
        c.findings = eligible - covered;
        c.details.insert("namespacesWithAnyPolicy".into(), eligible);
        c
    }

    fn finding(excepted: Option<&str>, namespace: &str) -> Finding {
        Finding {
            control: Control::PodSecurity,
            rule: "pss.privileged".into(),
            severity: Severity::High,
            object: ObjectRef::new("Deployment", namespace, "web"),
            field_path: "spec.containers[0].securityContext.privileged".into(),
            message: "privileged".into(),
            count: 3,
            excepted: excepted.map(str::to_string),
        }
    }

    #[test]
    fn posture_documents_validate_against_their_schemas() {
        let controls: Vec<ControlCoverage> =
            Control::ALL.iter().map(|&c| coverage(c, 10, 9)).collect();
        let rules = vec![RuleCount {
            control: Control::PodSecurity,
            rule: "pss.privileged".into(),
            severity: Severity::High,
            findings: 1,
            excepted: 0,
        }];
        let report = PostureReport {
            cluster: "a".into(),
            evaluated_at: "2026-03-10T00:00:00Z".parse().unwrap(),
            duration_ms: 12,
            kubernetes_minor: 32,
            controls: controls.clone(),
            rules: rules.clone(),
            findings: vec![finding(None, "shop"), finding(Some("legacy"), "")],
            exceptions: vec![AppliedException {
                name: "legacy".into(),
                reason: "until Q3".into(),
                matched: 1,
                expires: Some("2026-09-30T00:00:00Z".parse().unwrap()),
                expired: false,
            }],
            sources: PostureSources::default(),
        };
        let as_json = serde_json::to_value(&report).unwrap();
        assert_eq!(check("PostureReport", &as_json), Vec::<String>::new());

        let mut acc = FleetAccumulator::new();
        acc.add(&controls, &rules);
        let empty = ControlCoverage::new(Control::Secrets);
        let view = PostureView {
            fleet: acc.finish(),
            clusters: vec![ClusterPosture {
                cluster: "a".into(),
                labels: BTreeMap::from([("environment".into(), "production".into())]),
                evaluated_at: report.evaluated_at,
                received_at: report.evaluated_at,
                kubernetes_minor: 32,
                controls: [&controls[0], &empty]
                    .into_iter()
                    .map(ClusterControl::from)
                    .collect(),
            }],
            clusters_without_report: vec!["b".into()],
        };
        let as_json = serde_json::to_value(&view).unwrap();
        assert_eq!(check("PostureView", &as_json), Vec::<String>::new());

        let list = FindingList {
            findings: report
                .findings
                .iter()
                .map(|f| ClusterFinding {
                    cluster: "a".into(),
                    finding: f.clone(),
                })
                .collect(),
            shown: 2,
            total: 7,
        };
        let as_json = serde_json::to_value(&list).unwrap();
        assert_eq!(check("FindingList", &as_json), Vec::<String>::new());
        // The schema refuses what the hub never writes.
        let broken = json!({"findings": [{"cluster": "a"}], "shown": 1, "total": -1});
        assert_eq!(
            check("FindingList", &broken),
            [
                ".findings[0]: \"control\" missing",
                ".findings[0]: \"rule\" missing",
                ".findings[0]: \"severity\" missing",
                ".findings[0]: \"object\" missing",
                ".findings[0]: \"fieldPath\" missing",
                ".findings[0]: \"message\" missing",
                ".findings[0]: \"count\" missing",
                ".total: -1 below the minimum"
            ]
        );

        // The history: a bucket with figures, one without a report (percent null).
        let stored = vec![PostureHistoryBucket {
            start: "2026-03-09T00:00:00Z".parse().unwrap(),
            clusters: 1,
            controls: vec![ControlSums {
                control: Control::PodSecurity,
                clusters: 1,
                eligible: 10,
                covered: 9,
                excepted: 1,
                findings: 2,
            }],
        }];
        let history = history_of(
            stored,
            &Control::ALL,
            "2026-03-08T00:00:00Z".parse().unwrap(),
            "2026-03-09T12:00:00Z".parse().unwrap(),
            HistoryStep::Day,
        );
        assert_eq!(history.buckets.len(), 2);
        let as_json = serde_json::to_value(&history).unwrap();
        assert_eq!(check("PostureHistory", &as_json), Vec::<String>::new());
        let broken = json!({"step": "1w", "since": "2026-03-08T00:00:00Z",
            "until": "2026-03-09T12:00:00Z", "controls": [],
            "buckets": [{"start": "2026-03-08T00:00:00Z", "clustersReporting": 0,
                "controls": [{"control": "rbac"}]}]});
        assert_eq!(
            check("PostureHistory", &broken),
            [
                ".buckets[0].controls[0]: \"clustersReporting\" missing",
                ".buckets[0].controls[0]: \"eligible\" missing",
                ".buckets[0].controls[0]: \"covered\" missing",
                ".buckets[0].controls[0]: \"excepted\" missing",
                ".buckets[0].controls[0]: \"percent\" missing",
                ".buckets[0].controls[0]: \"meetsTarget\" missing",
                ".buckets[0].controls[0]: \"findings\" missing",
                ".step: \"1w\" not in [String(\"1h\"), String(\"1d\")]",
            ]
        );

        // The exceptions: one with an expiry, one without (expires null).
        let lapsed = AppliedException {
            name: "legacy".into(),
            reason: "vendor agent".into(),
            matched: 0,
            expires: Some("2026-03-01T00:00:00Z".parse().unwrap()),
            expired: true,
        };
        let list = exceptions_of(&[ClusterExceptions {
            cluster: "a".into(),
            evaluated_at: "2026-03-10T00:00:00Z".parse().unwrap(),
            exceptions: vec![
                lapsed,
                AppliedException {
                    name: "batch".into(),
                    reason: "retired".into(),
                    matched: 2,
                    expires: None,
                    expired: false,
                },
            ],
        }]);
        let as_json = serde_json::to_value(&list).unwrap();
        assert_eq!(as_json["exceptions"][0]["expires"], Value::Null);
        assert_eq!(check("ExceptionList", &as_json), Vec::<String>::new());
        let broken = json!({"clustersReporting": 1, "expired": 0, "unused": 0,
            "exceptions": [{"name": "x", "state": "stale"}]});
        assert_eq!(
            check("ExceptionList", &broken),
            [
                ".exceptions[0]: \"reason\" missing",
                ".exceptions[0]: \"expires\" missing",
                ".exceptions[0]: \"expired\" missing",
                ".exceptions[0]: \"matched\" missing",
                ".exceptions[0]: \"clusters\" missing",
                ".exceptions[0]: \"clustersMatched\" missing",
                ".exceptions[0]: \"clustersUnmatched\" missing",
                ".exceptions[0]: \"clustersExpired\" missing",
                ".exceptions[0].state: \"stale\" not in [String(\"expired\"), String(\"unused\"), String(\"active\")]",
            ]
        );
    }
}
