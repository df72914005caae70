//! The hub's OpenAPI 3.0 document, served at `GET /openapi/v3` (where kube-apiserver serves
//! its own) and `GET /api/v1/openapi.json`.
//!
//! Written by hand as `serde_json` rather than derived (`utoipa` and the like): the bodies mix
//! the hub's wire types with `capstan_core`'s rollout types, which know nothing of OpenAPI, and
//! the document is small. It is kept true to the handlers by the crate's tests, which call
//! every documented path and method on the router and check the router has no undocumented
//! route.

use std::sync::OnceLock;

use axum::Json;
use serde_json::{Value, json};

mod cost;
mod posture;
mod upgrades;

/// The document, built once.
pub fn openapi_document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(build)
}

/// `GET /openapi/v3` and `GET /api/v1/openapi.json`.
pub(crate) async fn serve() -> Json<Value> {
    Json(openapi_document().clone())
}

/// A `$ref` to a schema in `components.schemas`.
fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn json_content(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

/// A JSON response with `schema`.
fn json_response(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": json_content(schema)})
}

/// An error answer: the [`super::Status`] shape.
fn status_response(description: &str) -> Value {
    json_response(description, schema_ref("Status"))
}

fn path_param(name: &str, description: &str) -> Value {
    json!({
        "name": name, "in": "path", "required": true, "description": description,
        "schema": {"type": "string"}
    })
}

fn query_param(name: &str, description: &str, schema: Value) -> Value {
    json!({
        "name": name, "in": "query", "required": false, "description": description,
        "schema": schema
    })
}

/// The error answers every agent route with a cluster token shares.
fn agent_auth_errors() -> Value {
    json!({
        "401": status_response("No token, or not a valid one (reason Unauthorized)."),
        "403": status_response("A valid token of another cluster (reason Forbidden)."),
        "500": status_response("The hub's store failed (reason InternalError)."),
    })
}

/// Adds `extra` responses to `base`.
fn with_responses(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

fn build() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Capstan hub API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The agents' protocol (register, report, long-polled work, work \
                status), the fleet inventory and `ClusterUpgrade` canary rollouts. Every error \
                answer is a `Status`. Inventory, upgrade and metrics routes are \
                unauthenticated for now: the hub listens on loopback or behind the operator's \
                proxy."
        },
        "tags": [
            {"name": "agents", "description": "The agent protocol (DESIGN.md, Protocols)."},
            {"name": "clusters", "description": "The fleet inventory, health computed at read."},
            {"name": "upgrades", "description": "`ClusterUpgrade` canary rollouts."},
            {"name": "cost", "description": "The fleet's cost and savings recommendations."},
            {"name": "posture", "description": "The fleet's security posture: coverage per control and findings."},
            {"name": "meta", "description": "Metrics and this document."}
        ],
        "paths": cost::extend(cost::extend(paths(), cost::paths()), posture::paths()),
        "components": {
            "securitySchemes": {
                "bootstrapToken": {
                    "type": "http", "scheme": "bearer",
                    "description": "The hub's bootstrap token, exchanged once per cluster for \
                        a cluster token."
                },
                "clusterToken": {
                    "type": "http", "scheme": "bearer", "bearerFormat": "capstan.{cluster}.{64 hex}",
                    "description": "The cluster token `register` returned; valid only for the \
                        cluster in the path."
                }
            },
            "schemas": schemas()
        }
    })
}

fn paths() -> Value {
    let cluster = path_param("cluster", "The cluster's name (a DNS-1123 label).");
    let upgrade = path_param("name", "The upgrade's name.");
    json!({
        "/api/v1/agents/register": {"post": {
            "tags": ["agents"], "operationId": "registerAgent",
            "summary": "Register a cluster's agent; registering again rotates its token.",
            "security": [{"bootstrapToken": []}],
            "requestBody": {"required": true, "content": json_content(schema_ref("RegisterRequest"))},
            "responses": {
                "200": json_response("The cluster token, shown this once.", schema_ref("RegisterResponse")),
                "400": status_response("The body is not JSON."),
                "401": status_response("No bootstrap token, or not the hub's."),
                "413": status_response("The body exceeds 1 MiB (reason RequestEntityTooLarge)."),
                "422": status_response("A field is invalid (unknown, wrong type, not a DNS-1123 label); `field` names it."),
                "500": status_response("The hub's store failed.")
            }
        }},
        "/api/v1/agents/{cluster}/report": {"post": {
            "tags": ["agents"], "operationId": "reportCluster",
            "summary": "The cluster's bounded report: replaces what the inventory holds for it.",
            "security": [{"clusterToken": []}],
            "parameters": [cluster],
            "requestBody": {"required": true, "content": json_content(schema_ref("ReportRequest"))},
            "responses": with_responses(agent_auth_errors(), json!({
                "204": {"description": "Stored."},
                "400": status_response("The body is not JSON."),
                "413": status_response("The body exceeds 1 MiB."),
                "422": status_response("A field is unknown or of the wrong type; `field` names its path.")
            }))
        }},
        "/api/v1/agents/{cluster}/work": {"get": {
            "tags": ["agents"], "operationId": "pollWork",
            "summary": "Long-poll for the cluster's open work (Pending or Running, oldest first).",
            "description": "Answers at once when there is open work, else as soon as some is \
                queued within `wait`, else with `[]`.",
            "security": [{"clusterToken": []}],
            "parameters": [
                cluster,
                query_param("wait", "How long to wait for work, as a duration (`30s`, `1m`); \
                    at most 60s (larger is clamped); none means do not wait.",
                    json!({"type": "string", "example": "30s"}))
            ],
            "responses": with_responses(agent_auth_errors(), json!({
                "200": json_response("The open work items.", array_of(schema_ref("WorkItemView"))),
                "400": status_response("`wait` is not a duration (`field`: wait).")
            }))
        }},
        "/api/v1/agents/{cluster}/work/{id}/status": {"post": {
            "tags": ["agents"], "operationId": "setWorkStatus",
            "summary": "An agent's status for a work item. Final states stay final; a retried message returns the stored item.",
            "security": [{"clusterToken": []}],
            "parameters": [cluster, path_param("id", "The work item's id (`{upgrade}/{cluster}/{attempt}`, URL-encoded).")],
            "requestBody": {"required": true, "content": json_content(schema_ref("WorkStatusRequest"))},
            "responses": with_responses(agent_auth_errors(), json!({
                "200": json_response("The stored item.", schema_ref("WorkItemView")),
                "400": status_response("The body is not JSON."),
                "404": status_response("No such work item for this cluster."),
                "409": status_response("`generation` is not the item's current one (reason Conflict)."),
                "413": status_response("The body exceeds 1 MiB."),
                "422": status_response("A field is invalid, or `status` is Pending.")
            }))
        }},
        "/api/v1/alerts": {"get": {
            "tags": ["clusters"], "operationId": "listAlerts",
            "summary": "The fleet's pending and firing alerts, from each live cluster's latest health report.",
            "description": "Sorted by severity (critical first), cluster, rule. Clusters whose agent \
                is silent past the lease are left out (their report is no longer current). A report \
                lists at most 50 alerts; the clusters' exact counts are in ClusterView.alerts.",
            "parameters": [
                query_param("labelSelector",
                    "A Kubernetes label selector over the clusters' labels.",
                    json!({"type": "string"})),
                query_param("severity", "Only alerts of this severity.",
                    json!({"type": "string", "enum": ["critical", "warning"]})),
                query_param("state", "Only alerts in this state.",
                    json!({"type": "string", "enum": ["firing", "pending"]}))
            ],
            "responses": {
                "200": json_response("The alerts.", schema_ref("AlertList")),
                "400": status_response("A parameter does not parse; `field` names it."),
                "500": status_response("The hub's store failed.")
            }
        }},
        "/api/v1/clusters": {"get": {
            "tags": ["clusters"], "operationId": "listClusters",
            "summary": "The clusters in the inventory, by name.",
            "parameters": [query_param("labelSelector",
                "A Kubernetes label selector (`environment=production,region in (eu,us)`).",
                json!({"type": "string"}))],
            "responses": {
                "200": json_response("The clusters.", array_of(schema_ref("ClusterView"))),
                "400": status_response("`labelSelector` does not parse (`field`: labelSelector)."),
                "500": status_response("The hub's store failed.")
            }
        }},
        "/api/v1/clusters/{name}": {
            "parameters": [path_param("name", "The cluster's name.")],
            "get": {
                "tags": ["clusters"], "operationId": "getCluster",
                "summary": "One cluster.",
                "responses": {
                    "200": json_response("The cluster.", schema_ref("ClusterView")),
                    "404": status_response("No such cluster."),
                    "500": status_response("The hub's store failed.")
                }
            },
            "delete": {
                "tags": ["clusters"], "operationId": "deleteCluster",
                "summary": "Deregister a cluster: its inventory row and its agent's token.",
                "description": "Rollouts that froze it skip it from their next round on \
                    (ClusterRemoved). An agent still running with the bootstrap token registers \
                    again at its next request: stop it first to retire the cluster.",
                "responses": {
                    "204": {"description": "Deregistered."},
                    "404": status_response("The hub knows neither the cluster nor its agent."),
                    "500": status_response("The hub's store failed.")
                }
            }
        },
        "/api/v1/upgrades": {
            "post": {
                "tags": ["upgrades"], "operationId": "applyUpgrade",
                "summary": "Validate a ClusterUpgrade, freeze its cluster set and start its rollout.",
                "description": "YAML or JSON (one parser takes both). Nothing is stored for an \
                    invalid document. Without `metadata.name` the hub names the upgrade.",
                "requestBody": {"required": true, "content": {
                    "application/yaml": {"schema": schema_ref("ClusterUpgrade")},
                    "application/json": {"schema": schema_ref("ClusterUpgrade")}
                }},
                "responses": {
                    "201": json_response("Created; the first clusters' work is queued.", schema_ref("UpgradeDetail")),
                    "400": status_response("Not UTF-8, or not YAML."),
                    "409": status_response("An upgrade of this name exists (reason AlreadyExists)."),
                    "413": status_response("The body exceeds 1 MiB."),
                    "422": json_response("Every broken rule, each with its field path.", schema_ref("InvalidUpgrade")),
                    "500": status_response("The hub's store failed.")
                }
            },
            "get": {
                "tags": ["upgrades"], "operationId": "listUpgrades",
                "summary": "The upgrades, by name.",
                "responses": {
                    "200": json_response("The upgrades.", array_of(schema_ref("UpgradeView"))),
                    "500": status_response("The hub's store failed.")
                }
            }
        },
        "/api/v1/upgrades/{name}": {"get": {
            "tags": ["upgrades"], "operationId": "getUpgrade",
            "summary": "One upgrade: spec, status, its clusters in plan order, recent events.",
            "parameters": [upgrade.clone()],
            "responses": {
                "200": json_response("The upgrade.", schema_ref("UpgradeDetail")),
                "404": status_response("No such upgrade."),
                "500": status_response("The hub's store failed.")
            }
        }},
        "/api/v1/upgrades/{name}/results": {"get": {
            "tags": ["upgrades"], "operationId": "getUpgradeResults",
            "summary": "Each cluster's result for its current attempt, in plan order (clusters without one are left out).",
            "parameters": [upgrade.clone()],
            "responses": {
                "200": json_response("The results.", array_of(schema_ref("ClusterResult"))),
                "404": status_response("No such upgrade."),
                "500": status_response("The hub's store failed.")
            }
        }},
        "/api/v1/upgrades/{name}/{command}": {"post": {
            "tags": ["upgrades"], "operationId": "commandUpgrade",
            "summary": "An operator command; idempotent (a command that changes nothing returns the upgrade as is).",
            "parameters": [
                upgrade,
                {
                    "name": "command", "in": "path", "required": true,
                    "description": "pause, resume, abort (final), approve (a step waiting for \
                        approval), retry (the failed clusters only, same frozen plan), skip (one \
                        cluster).",
                    "schema": {"type": "string", "enum": ["pause", "resume", "abort", "approve", "retry", "skip"]}
                },
                query_param("step", "approve: the step to approve (0-based); default the step the rollout is at.",
                    json!({"type": "integer", "minimum": 0})),
                query_param("cluster", "skip: the cluster to skip (required for skip).",
                    json!({"type": "string"}))
            ],
            "responses": {
                "200": json_response("The upgrade after the command.", schema_ref("UpgradeDetail")),
                "400": status_response("A query parameter is malformed or unknown."),
                "404": status_response("No such upgrade, or no such command."),
                "409": status_response("Another writer kept moving the upgrade (reason Conflict); retry."),
                "422": status_response("skip without `cluster` (`field`: cluster)."),
                "500": status_response("The hub's store failed.")
            }
        }},
        "/metrics": {"get": {
            "tags": ["meta"], "operationId": "metrics",
            "summary": "The hub's metrics in the Prometheus text exposition format 0.0.4.",
            "description": "capstan_hub_clusters{health}, capstan_hub_upgrades{phase}, \
                capstan_hub_upgrade_step{upgrade}, capstan_hub_upgrade_steps{upgrade}, \
                capstan_hub_upgrade_clusters{upgrade,state}, capstan_hub_report_ingest_seconds \
                (histogram); fleet health for a global Prometheus: capstan_cluster_health{cluster,health} \
                (1 for the current health), capstan_cluster_alerts{cluster,severity,state}, \
                capstan_fleet_alerts_firing{rule,severity}.",
            "responses": {
                "200": {"description": "The exposition.", "content": {
                    "text/plain; version=0.0.4; charset=utf-8": {"schema": {"type": "string"}}
                }},
                "500": status_response("The hub's store failed.")
            }
        }},
        "/openapi/v3": {"get": {
            "tags": ["meta"], "operationId": "openapiV3",
            "summary": "This document.",
            "responses": {"200": json_response("The OpenAPI 3.0 document.", json!({"type": "object"}))}
        }},
        "/api/v1/openapi.json": {"get": {
            "tags": ["meta"], "operationId": "openapiJson",
            "summary": "This document (same as /openapi/v3).",
            "responses": {"200": json_response("The OpenAPI 3.0 document.", json!({"type": "object"}))}
        }}
    })
}

fn array_of(items: Value) -> Value {
    json!({"type": "array", "items": items})
}

fn string_map() -> Value {
    json!({"type": "object", "additionalProperties": {"type": "string"}})
}

fn timestamp() -> Value {
    json!({"type": "string", "format": "date-time"})
}

/// `maxSurge: 2` or `"25%"`.
fn int_or_percent() -> Value {
    json!({"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "^[0-9]+%$"}]})
}

fn schemas() -> Value {
    let mut all = wire_schemas();
    if let (Some(all), Value::Object(upgrades)) = (all.as_object_mut(), upgrades::schemas()) {
        all.extend(upgrades);
    }
    cost::extend(cost::extend(all, cost::schemas()), posture::schemas())
}

/// The agent protocol's and inventory's bodies (`super::wire`, `super::status`).
fn wire_schemas() -> Value {
    json!({
        "Status": {
            "type": "object",
            "description": "Every error answer, shaped like a Kubernetes Status.",
            "required": ["kind", "code", "reason", "message"],
            "properties": {
                "kind": {"type": "string", "enum": ["Status"]},
                "code": {"type": "integer", "description": "The HTTP status code."},
                "reason": {"type": "string", "description": "Unauthorized, Forbidden, Invalid, \
                    NotFound, Conflict, AlreadyExists, BadRequest, RequestEntityTooLarge, InternalError."},
                "message": {"type": "string"},
                "field": {"type": "string", "description": "The offending field's path, when one is to blame."}
            }
        },
        "ClusterHealth": {"type": "string", "enum": ["Healthy", "Degraded", "Critical", "Unknown"],
            "description": "Reports may still say `Unhealthy`, read as Critical."},
        "Alert": {
            "type": "object",
            "required": ["rule", "severity", "value", "threshold", "comparison", "labels", "since", "state"],
            "properties": {
                "rule": {"type": "string", "example": "NodeCPUHigh"},
                "severity": {"type": "string", "enum": ["warning", "critical"]},
                "value": {"type": "number", "nullable": true, "description": "The value that broke the threshold."},
                "threshold": {"type": "number"},
                "comparison": {"type": "string", "enum": [">", "<"]},
                "labels": string_map(),
                "since": {"allOf": [timestamp()], "description": "When the condition started holding."},
                "state": {"type": "string", "enum": ["pending", "firing"]}
            }
        },
        "HealthReport": {
            "type": "object",
            "description": "One evaluation of the health rules by the agent.",
            "required": ["source", "evaluation", "evaluatedAt", "alerts"],
            "properties": {
                "source": {"type": "string", "enum": ["prometheus", "scrape"]},
                "evaluation": {"type": "integer", "minimum": 0},
                "evaluatedAt": timestamp(),
                "alerts": {"type": "array", "maxItems": 50, "items": schema_ref("Alert")},
                "firing": {"type": "object", "description": "Firing alerts by severity, exact.",
                    "additionalProperties": {"type": "integer", "minimum": 0}},
                "pending": {"type": "integer", "minimum": 0},
                "healthyStreak": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
                "errors": string_map()
            }
        },
        "AlertCounts": {
            "type": "object",
            "required": ["critical", "warning"],
            "properties": {
                "critical": {"type": "integer", "minimum": 0, "description": "Firing critical alerts."},
                "warning": {"type": "integer", "minimum": 0, "description": "Firing warnings."},
                "pending": {"type": "integer", "minimum": 0}
            }
        },
        "ClusterAlert": {
            "allOf": [
                {"type": "object", "required": ["cluster"], "properties": {"cluster": {"type": "string"}}},
                schema_ref("Alert")
            ]
        },
        "AlertList": {
            "type": "object",
            "required": ["items", "clusters"],
            "properties": {
                "items": array_of(schema_ref("ClusterAlert")),
                "clusters": {"type": "integer", "minimum": 0, "description": "How many clusters the items come from."}
            }
        },
        "WorkStatus": {"type": "string", "enum": ["Pending", "Running", "Succeeded", "Failed"]},
        "ClusterVersions": {
            "type": "object",
            "properties": {
                "controlPlane": {"type": "string", "nullable": true, "example": "v1.32.4"},
                "kubelet": {"type": "object", "description": "Nodes per kubelet version.",
                    "additionalProperties": {"type": "integer", "minimum": 0}},
                "offered": {"type": "array", "items": {"type": "string"},
                    "description": "Versions the cluster's provider offers, when reported."}
            }
        },
        "RegisterRequest": {
            "type": "object", "additionalProperties": false,
            "required": ["cluster"],
            "properties": {
                "cluster": {"type": "string", "maxLength": 63, "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
                "labels": string_map()
            }
        },
        "RegisterResponse": {
            "type": "object",
            "required": ["cluster", "token"],
            "properties": {"cluster": {"type": "string"}, "token": {"type": "string"}}
        },
        "ReportRequest": {
            "type": "object", "additionalProperties": false,
            "required": ["nodeCount", "podCount", "health"],
            "properties": {
                "labels": string_map(),
                "versions": {
                    "type": "object", "additionalProperties": false,
                    "properties": {
                        "controlPlane": {"type": "string", "nullable": true},
                        "kubelet": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
                    }
                },
                "nodeCount": {"type": "integer", "minimum": 0},
                "podCount": {"type": "integer", "minimum": 0},
                "health": schema_ref("ClusterHealth"),
                "offeredVersions": {"type": "array", "items": {"type": "string", "example": "1.33.3"},
                    "description": "Versions the cluster's provider offers; `spec.version` is resolved against them."},
                "summary": {"description": "The agent's bounded summary, opaque to the hub."},
                "healthReport": {"allOf": [schema_ref("HealthReport")],
                    "description": "The latest rule evaluation; a report without one keeps the previous one."}
            }
        },
        "WorkStatusRequest": {
            "type": "object", "additionalProperties": false,
            "required": ["generation", "status"],
            "properties": {
                "generation": {"type": "integer", "format": "int64"},
                "status": {"allOf": [schema_ref("WorkStatus")], "description": "Running, Succeeded or Failed."},
                "message": {"type": "string", "nullable": true},
                "result": {"description": "The structured outcome, only with a \
                    final status; served by GET /api/v1/upgrades/{name}/results."}
            }
        },
        "WorkItemView": {
            "type": "object",
            "required": ["id", "cluster", "generation", "kind", "payload", "status", "createdAt", "updatedAt"],
            "properties": {
                "id": {"type": "string"},
                "cluster": {"type": "string"},
                "generation": {"type": "integer", "format": "int64"},
                "kind": {"type": "string", "example": "cluster-upgrade"},
                "payload": {"description": "The work's parameters, by kind."},
                "status": schema_ref("WorkStatus"),
                "message": {"type": "string"},
                "createdAt": timestamp(),
                "updatedAt": timestamp()
            }
        },
        "ClusterView": {
            "type": "object",
            "required": ["name", "labels", "versions", "nodeCount", "podCount", "health",
                "reportedHealth", "summary", "lastSeen", "registeredAt", "alerts"],
            "properties": {
                "name": {"type": "string"},
                "labels": string_map(),
                "versions": schema_ref("ClusterVersions"),
                "nodeCount": {"type": "integer", "minimum": 0},
                "podCount": {"type": "integer", "minimum": 0},
                "health": {"allOf": [schema_ref("ClusterHealth")],
                    "description": "At read time: Unknown once the agent is silent past the lease, \
                        else the worst of reportedHealth, Critical for a firing critical alert and \
                        Degraded for a firing warning."},
                "reportedHealth": {"allOf": [schema_ref("ClusterHealth")],
                    "description": "What the agent judged from its nodes and API server."},
                "summary": {"description": "What the agent last reported, opaque to the hub."},
                "lastSeen": timestamp(),
                "registeredAt": timestamp(),
                "alerts": schema_ref("AlertCounts"),
                "healthEvaluatedAt": {"allOf": [timestamp()],
                    "description": "When the latest health report was evaluated; absent without one."},
                "healthSource": {"type": "string", "enum": ["prometheus", "scrape"]}
            }
        }
    })
}

#[cfg(test)]
mod tests;
