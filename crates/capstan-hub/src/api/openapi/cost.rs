//! The cost routes (issue 6) and their bodies in the OpenAPI document.

use serde_json::{Value, json};

use super::{
    agent_auth_errors, array_of, json_content, json_response, path_param, query_param, schema_ref,
    status_response, timestamp, with_responses,
};

/// Adds `extra`'s entries to the object `base`.
pub(super) fn extend(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

pub(super) fn paths() -> Value {
    let selector = query_param(
        "labelSelector",
        "A Kubernetes label selector over the clusters' labels.",
        json!({"type": "string"}),
    );
    let cluster = query_param("cluster", "One cluster only.", json!({"type": "string"}));
    json!({
        "/api/v1/agents/{cluster}/cost": {"post": {
            "tags": ["agents"], "operationId": "uploadCost",
            "summary": "A cluster's finished cost hours and its latest recommendation bundle.",
            "description": "Idempotent: an hour already stored for the cluster is replaced, so a \
                retried upload never double counts. Each hour's namespace rows and workload rows \
                must each sum to its total, to the nanodollar. The day rollups of the touched \
                days are recomputed in the same transaction.",
            "security": [{"clusterToken": []}],
            "parameters": [path_param("cluster", "The cluster's name (a DNS-1123 label).")],
            "requestBody": {"required": true, "content": json_content(schema_ref("CostUpload"))},
            "responses": with_responses(agent_auth_errors(), json!({
                "204": {"description": "Stored."},
                "400": status_response("Not JSON; more than 200 hours (`field`: hours); an hour \
                    not starting on a UTC hour, more than an hour in the future, not one hour \
                    long, or whose rows do not sum to its total (`field`: hours[i].start, .end, \
                    .namespaces, .workloads)."),
                "413": status_response("The body exceeds 64 MiB."),
                "422": status_response("A field is unknown or of the wrong type; `field` names its path.")
            }))
        }},
        "/api/v1/cost": {"get": {
            "tags": ["cost"], "operationId": "costReport",
            "summary": "The fleet's cost by cluster, namespace or workload, with its split beside the typical ranges.",
            "description": "A window starting within the last 49 hours is answered from the hours; \
                an older one from the daily rollups, widened to whole UTC days \
                (`window.requested` then holds the window asked for). Amounts are exact \
                nanodollars and whole cents; in each column the rows' cents sum to the total's.",
            "parameters": [
                query_param("window", "OpenCost's window: today, yesterday, week, lastweek, month, \
                    lastmonth, 30m, 12h, 7d, 2w, or start,end (RFC 3339 or unix seconds). Default 7d.",
                    json!({"type": "string", "example": "7d"})),
                query_param("by", "How to group; default cluster.",
                    json!({"type": "string", "enum": ["cluster", "namespace", "workload"]})),
                selector.clone(),
                cluster.clone(),
                query_param("top", "Rows to show (default 50); the rest fold into one __other__ row.",
                    json!({"type": "integer", "minimum": 1}))
            ],
            "responses": {
                "200": json_response("The report.", schema_ref("CostReport")),
                "400": status_response("A parameter does not parse; `field` names it (window, by, labelSelector, top)."),
                "500": status_response("The hub's store failed.")
            }
        }},
        "/api/v1/cost/recommendations": {"get": {
            "tags": ["cost"], "operationId": "costRecommendations",
            "summary": "Each cluster's latest recommendations, fleet-wide, biggest monthly saving first.",
            "parameters": [
                query_param("kind", "One kind only; default all.",
                    json!({"type": "string", "enum": ["rightsizing", "spot", "quota", "keda"]})),
                selector,
                cluster,
                query_param("limit", "Items to show (default 100).",
                    json!({"type": "integer", "minimum": 1}))
            ],
            "responses": {
                "200": json_response("The recommendations.", schema_ref("RecommendationList")),
                "400": status_response("A parameter does not parse; `field` names it (kind, labelSelector, limit)."),
                "500": status_response("The hub's store failed.")
            }
        }}
    })
}

fn nanodollars() -> Value {
    json!({"type": "integer", "description": "US dollars × 10⁹."})
}

fn cost_parts() -> Value {
    json!({
        "type": "object", "additionalProperties": false,
        "required": ["cpu", "ram", "gpu", "storage", "network", "management"],
        "properties": {
            "cpu": nanodollars(), "ram": nanodollars(), "gpu": nanodollars(),
            "storage": nanodollars(), "network": nanodollars(), "management": nanodollars()
        }
    })
}

fn number() -> Value {
    json!({"type": "number"})
}

fn cost_row() -> Value {
    json!({
        "type": "object", "additionalProperties": false,
        "required": ["namespace", "kind", "name", "parts"],
        "properties": {
            "namespace": {"type": "string"},
            "kind": {"type": "string"},
            "name": {"type": "string", "description": "The workload, __idle__, __unmounted__, __other__, or empty for a namespace row."},
            "parts": schema_ref("CostParts"),
            "cpuRequestCoreHours": number(), "cpuUsageCoreHours": number(),
            "ramRequestGibHours": number(), "ramUsageGibHours": number(), "podHours": number()
        }
    })
}

fn window() -> Value {
    json!({
        "type": "object", "required": ["start", "end"],
        "properties": {"start": timestamp(), "end": timestamp()}
    })
}

fn category_cents() -> Value {
    json!({
        "type": "object", "additionalProperties": false,
        "required": ["compute", "storage", "network", "management"],
        "properties": {
            "compute": {"type": "integer"}, "storage": {"type": "integer"},
            "network": {"type": "integer"}, "management": {"type": "integer"}
        }
    })
}

pub(super) fn schemas() -> Value {
    let nullable_string = json!({"type": "string", "nullable": true});
    json!({
        "CostParts": cost_parts(),
        "CostRow": cost_row(),
        "CostHour": {
            "type": "object", "additionalProperties": false,
            "description": "One cluster-hour as the agent allocated it (capstan_core::cost::CostHour).",
            "required": ["start", "end", "hoursSampled", "ticks", "networkMeasured", "total", "idle",
                "nodes", "namespaces", "workloads", "truncatedWorkloads", "truncatedNamespaces",
                "containersWithoutUsage"],
            "properties": {
                "start": timestamp(), "end": timestamp(),
                "hoursSampled": number(),
                "ticks": {"type": "integer", "minimum": 0},
                "networkMeasured": {"type": "boolean"},
                "total": schema_ref("CostParts"),
                "idle": schema_ref("CostParts"),
                "nodes": {"type": "object", "properties": {
                    "spotNodeHours": number(), "onDemandNodeHours": number(),
                    "spotCost": nanodollars(), "onDemandCost": nanodollars(),
                    "maxNodes": {"type": "integer", "minimum": 0}
                }},
                "namespaces": array_of(schema_ref("CostRow")),
                "workloads": array_of(schema_ref("CostRow")),
                "truncatedWorkloads": {"type": "integer", "minimum": 0},
                "truncatedNamespaces": {"type": "integer", "minimum": 0},
                "containersWithoutUsage": {"type": "integer", "minimum": 0}
            }
        },
        "CostUpload": {
            "type": "object", "additionalProperties": false, "required": ["hours"],
            "properties": {
                "hours": {"type": "array", "maxItems": 200, "items": schema_ref("CostHour")},
                "recommendations": {"type": "object", "description": "The agent's latest bundle: \
                    optional generatedAt, and arrays rightsizing, spot, quota, keda."}
            }
        },
        "CostReport": {
            "type": "object", "additionalProperties": false,
            "required": ["window", "by", "currency", "total", "shares", "rows", "truncated",
                "clusters", "missing", "missingCount"],
            "properties": {
                "window": {
                    "type": "object", "additionalProperties": false,
                    "required": ["start", "end", "resolution"],
                    "properties": {
                        "start": timestamp(), "end": timestamp(),
                        "resolution": {"type": "string", "enum": ["hourly", "daily"]},
                        "requested": window()
                    }
                },
                "by": {"type": "string", "enum": ["cluster", "namespace", "workload"]},
                "currency": {"type": "string", "enum": ["USD"]},
                "total": {
                    "type": "object", "additionalProperties": false,
                    "required": ["parts", "total", "partsCents", "totalCents"],
                    "properties": {
                        "parts": schema_ref("CostParts"), "total": nanodollars(),
                        "partsCents": category_cents(), "totalCents": {"type": "integer"},
                        "cpuEfficiency": number(), "ramEfficiency": number()
                    }
                },
                "shares": array_of(json!({
                    "type": "object", "additionalProperties": false,
                    "required": ["category", "amount", "share", "typicalLow", "typicalHigh", "within"],
                    "properties": {
                        "category": {"type": "string", "enum": ["compute", "storage", "network", "management"]},
                        "amount": nanodollars(), "share": number(),
                        "typicalLow": number(), "typicalHigh": number(),
                        "within": {"type": "boolean"}
                    }
                })),
                "rows": array_of(json!({
                    "type": "object", "additionalProperties": false,
                    "required": ["kind", "name", "parts", "total", "partsCents", "totalCents"],
                    "properties": {
                        "cluster": nullable_string.clone(), "namespace": nullable_string,
                        "kind": {"type": "string"}, "name": {"type": "string"},
                        "parts": schema_ref("CostParts"), "total": nanodollars(),
                        "cpuEfficiency": number(), "ramEfficiency": number(),
                        "cpuRequestCoreHours": number(), "cpuUsageCoreHours": number(),
                        "ramRequestGibHours": number(), "ramUsageGibHours": number(),
                        "partsCents": category_cents(), "totalCents": {"type": "integer"}
                    }
                })),
                "truncated": {"type": "integer", "minimum": 0},
                "clusters": {"type": "integer", "minimum": 0},
                "missing": array_of(json!({"type": "string"})),
                "missingCount": {"type": "integer", "minimum": 0},
                "networkUnmeasured": {"type": "integer", "minimum": 0,
                    "description": "Clusters with data whose egress was not measured (no egress source, e.g. the Metrics API): their network cost reads 0."}
            }
        },
        "RecommendationList": {
            "type": "object", "additionalProperties": false,
            "required": ["items", "total", "monthlySavingDollars", "clusters"],
            "properties": {
                "items": array_of(json!({
                    "type": "object", "additionalProperties": false,
                    "required": ["cluster", "kind", "generatedAt", "item"],
                    "properties": {
                        "cluster": {"type": "string"},
                        "kind": {"type": "string", "enum": ["rightsizing", "spot", "quota", "keda"]},
                        "generatedAt": timestamp(),
                        "monthlySavingDollars": number(),
                        "item": {"type": "object", "description": "The recommendation as the agent sent it."}
                    }
                })),
                "total": {"type": "integer", "minimum": 0},
                "monthlySavingDollars": number(),
                "clusters": {"type": "integer", "minimum": 0}
            }
        }
    })
}
