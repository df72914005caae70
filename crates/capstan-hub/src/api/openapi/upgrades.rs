//! `ClusterUpgrade`, its rollout status and health gate in the OpenAPI document.

use serde_json::{Value, json};

use super::{int_or_percent, schema_ref, string_map, timestamp};

/// `ClusterUpgrade` and the rollout's status (`capstan_core::rollout`, `super::upgrades`).
pub(super) fn schemas() -> Value {
    json!({
        "ClusterUpgrade": cluster_upgrade_schema(),
        "CanaryStrategy": canary_strategy_schema(),
        "HealthStatus": health_status_schema(),
        "ClusterSelector": {
            "type": "object", "additionalProperties": false,
            "properties": {
                "matchLabels": string_map(),
                "matchExpressions": {"type": "array", "items": {
                    "type": "object", "additionalProperties": false,
                    "required": ["key", "operator"],
                    "properties": {
                        "key": {"type": "string"},
                        "operator": {"type": "string", "enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                        "values": {"type": "array", "items": {"type": "string"}}
                    }
                }}
            }
        },
        "RolloutPhase": {"type": "string", "enum": ["Pending", "Progressing", "Soaking",
            "AwaitingApproval", "Paused", "Halted", "Succeeded", "Failed", "Aborted"]},
        "ClusterState": {"type": "string", "enum": ["Pending", "Upgrading", "Succeeded", "Failed", "Skipped", "Removed"]},
        "ClusterRollout": {
            "type": "object",
            "required": ["state", "attempts"],
            "properties": {
                "state": schema_ref("ClusterState"),
                "started": timestamp(),
                "finished": timestamp(),
                "attempts": {"type": "integer", "minimum": 0},
                "message": {"type": "string"},
                "from": {"type": "string", "description": "The control-plane version before the upgrade."},
                "to": {"type": "string", "description": "The resolved target version, fixed from the first attempt."}
            }
        },
        "RolloutState": rollout_state_schema(),
        "UpgradeView": {
            "type": "object",
            "required": ["name", "generation", "createdAt", "updatedAt", "spec", "status"],
            "properties": {
                "name": {"type": "string"},
                "generation": {"type": "integer", "format": "int64"},
                "createdAt": timestamp(),
                "updatedAt": timestamp(),
                "spec": schema_ref("ClusterUpgrade"),
                "status": schema_ref("RolloutState")
            }
        },
        "UpgradeDetail": {
            "allOf": [
                schema_ref("UpgradeView"),
                {
                    "type": "object",
                    "required": ["clusters", "events"],
                    "properties": {
                        "now": {"allOf": [timestamp()], "description": "The hub's clock when it \
                            answered (simulated time on a scaled clock): measure soak and elapsed \
                            time against it."},
                        "clusters": {"type": "array", "description": "The frozen clusters in upgrade order.",
                            "items": {"allOf": [
                                schema_ref("ClusterRollout"),
                                {"type": "object", "required": ["cluster", "position"], "properties": {
                                    "cluster": {"type": "string"},
                                    "position": {"type": "integer", "minimum": 0}
                                }}
                            ]}},
                        "events": {"type": "array", "description": "The most recent events, oldest first.",
                            "items": {
                                "type": "object",
                                "required": ["reason", "message", "at"],
                                "properties": {
                                    "reason": {"type": "string"},
                                    "message": {"type": "string"},
                                    "at": timestamp()
                                }
                            }}
                    }
                }
            ]
        },
        "ClusterResult": {
            "type": "object",
            "required": ["cluster", "attempt", "result"],
            "properties": {
                "cluster": {"type": "string"},
                "attempt": {"type": "integer", "minimum": 1},
                "result": {"description": "What the agent posted with the attempt's final status \
                    (for cluster-upgrade: versions, timings, the replaced nodes' lifecycle)."}
            }
        },
        "FieldError": {
            "type": "object",
            "required": ["path", "reason"],
            "properties": {"path": {"type": "string", "example": "spec.strategy.canary.steps[1].percentage"},
                "reason": {"type": "string"}}
        },
        "InvalidUpgrade": {
            "allOf": [
                schema_ref("Status"),
                {
                    "type": "object",
                    "required": ["errors"],
                    "properties": {
                        "errors": {"type": "array", "items": schema_ref("FieldError"),
                            "description": "Every broken rule; `field` is the first one's path."}
                    }
                }
            ]
        }
    })
}

/// The `ClusterUpgrade` document as `capstan_core::rollout::ClusterUpgrade` reads it (unknown
/// fields rejected).
fn cluster_upgrade_schema() -> Value {
    json!({
        "type": "object", "additionalProperties": false,
        "required": ["apiVersion", "kind", "spec"],
        "properties": {
            "apiVersion": {"type": "string", "enum": ["upgrade.toolkit.io/v1alpha1"]},
            "kind": {"type": "string", "enum": ["ClusterUpgrade"]},
            "metadata": {
                "type": "object", "additionalProperties": false,
                "properties": {"name": {"type": "string"}, "labels": string_map(), "annotations": string_map()}
            },
            "spec": {
                "type": "object", "additionalProperties": false,
                "required": ["clusterSelector", "strategy"],
                "properties": {
                    "clusterSelector": schema_ref("ClusterSelector"),
                    "version": {"type": "string", "example": "1.31",
                        "description": "`1.31` (newest patch offered) or `1.31.4`; omitted: each cluster's next minor."},
                    "paused": {"type": "boolean"},
                    "strategy": {
                        "type": "object", "additionalProperties": false,
                        "required": ["type", "canary"],
                        "properties": {
                            "type": {"type": "string", "enum": ["Canary"]},
                            "canary": schema_ref("CanaryStrategy")
                        }
                    },
                    "nodeRolling": {
                        "type": "object", "additionalProperties": false,
                        "properties": {
                            "maxSurge": int_or_percent(),
                            "maxUnavailable": int_or_percent(),
                            "drainTimeout": {"type": "string", "example": "30m"}
                        }
                    }
                }
            }
        }
    })
}

/// `capstan_core::rollout::RolloutState`, the upgrade's `status`.
fn rollout_state_schema() -> Value {
    json!({
        "type": "object",
        "description": "The rollout's persisted state.",
        "required": ["phase", "plan", "step", "clusters", "updated"],
        "properties": {
            "phase": schema_ref("RolloutPhase"),
            "plan": {
                "type": "object",
                "description": "Resolved when the rollout started; never changes.",
                "required": ["clusters", "stepTargets", "steps", "maxConcurrency", "failureBudget"],
                "properties": {
                    "clusters": {"type": "array", "items": {"type": "string"}, "description": "Upgrade order."},
                    "stepTargets": {"type": "array", "items": {"type": "integer"}},
                    "steps": {"type": "array", "items": {
                        "type": "object",
                        "required": ["percentage", "pause", "approval"],
                        "properties": {
                            "percentage": {"type": "integer"},
                            "pause": {"type": "string"},
                            "approval": {"type": "boolean"}
                        }
                    }},
                    "maxConcurrency": {"type": "integer"},
                    "failureBudget": {"type": "integer"}
                }
            },
            "step": {"type": "integer", "description": "The current step, 0-based."},
            "clusters": {"type": "object", "additionalProperties": schema_ref("ClusterRollout")},
            "soakUntil": timestamp(),
            "approvedSteps": {"type": "array", "items": {"type": "integer"}},
            "pausedFrom": schema_ref("RolloutPhase"),
            "message": {"type": "string"},
            "updated": timestamp(),
            "health": schema_ref("HealthStatus")
        }
    })
}

/// `capstan_core::rollout::HealthStatus`, the rollout's `status.health`.
fn health_status_schema() -> Value {
    let severity = json!({"type": "string", "enum": ["warning", "critical"]});
    json!({
        "type": "object",
        "description": "The health gate frozen from `spec.strategy.canary.healthGate` when the rollout \
            started, and what it saw. Absent from states stored before health gates (read as the defaults).",
        "properties": {
            "consecutiveHealthyEvaluations": {"type": "integer", "minimum": 0, "maximum": 1000},
            "haltOn": {"type": "array", "items": severity, "default": ["critical"]},
            "clusters": {
                "type": "object",
                "description": "With a gate: the current step's upgraded clusters' healthy evaluations so far.",
                "additionalProperties": {
                    "type": "object",
                    "required": ["firstEvaluation", "evaluation", "evaluatedAt", "healthyEvaluations"],
                    "properties": {
                        "firstEvaluation": {"type": "integer", "minimum": 0,
                            "description": "The first evaluation seen at or after the cluster's upgrade finished."},
                        "evaluation": {"type": "integer", "minimum": 0, "description": "The latest evaluation seen."},
                        "evaluatedAt": timestamp(),
                        "healthyEvaluations": {"type": "integer", "minimum": 0,
                            "description": "Consecutive healthy evaluations since the upgrade."}
                    }
                }
            },
            "heldStep": {"type": "integer", "minimum": 0,
                "description": "The step whose soak the gate holds past its time (0-based)."},
            "halt": {
                "type": "object",
                "description": "What halted the rollout, when a health signal did; cleared when it goes on.",
                "required": ["cluster", "step", "reason", "at"],
                "properties": {
                    "cluster": {"type": "string"},
                    "step": {"type": "integer", "minimum": 0, "description": "The step whose soak was halted."},
                    "reason": {"type": "string", "example": "APIServerErrorsHigh: 0.05 > 0.01"},
                    "at": timestamp(),
                    "alert": {
                        "type": "object",
                        "description": "The firing alert that halted it, when an alert did.",
                        "required": ["rule", "severity", "value", "threshold", "comparison", "since"],
                        "properties": {
                            "rule": {"type": "string"},
                            "severity": severity,
                            "value": {"type": "number", "nullable": true},
                            "threshold": {"type": "number"},
                            "comparison": {"type": "string", "enum": [">", "<"]},
                            "labels": string_map(),
                            "since": timestamp()
                        }
                    }
                }
            }
        }
    })
}

/// `spec.strategy.canary`.
fn canary_strategy_schema() -> Value {
    json!({
        "type": "object", "additionalProperties": false,
        "required": ["steps"],
        "properties": {
            "steps": {"type": "array", "minItems": 1, "items": {
                "type": "object", "additionalProperties": false,
                "required": ["percentage"],
                "properties": {
                    "percentage": {"type": "integer", "minimum": 1, "maximum": 100,
                        "description": "Cumulative; strictly increasing, the last is 100."},
                    "pause": {"type": "string", "example": "1h30m"},
                    "approval": {"type": "boolean"}
                }
            }},
            "sortBy": {"type": "string", "description": "A label key ordering clusters after the canaries."},
            "maxConcurrency": int_or_percent(),
            "maxFailures": int_or_percent(),
            "healthGate": {
                "type": "object", "additionalProperties": false,
                "description": "How cluster health gates the rollout; omitted: halt on critical alerts, soaks end on time.",
                "properties": {
                    "consecutiveHealthyEvaluations": {"type": "integer", "minimum": 0, "maximum": 1000,
                        "description": "Healthy evaluations in a row each upgraded cluster of a step needs \
                            before the step's soak ends; 0 (the default) ends soaks on time alone."},
                    "haltOn": {"type": "array", "items": {"type": "string", "enum": ["critical", "warning"]},
                        "default": ["critical"],
                        "description": "Severities whose firing alerts on an upgraded cluster halt a soak and \
                            refuse a cluster in preflight; `[]` never halts."}
                }
            }
        }
    })
}
