//! `GET /api/v1/posture/findings`: the fleet's findings, filtered, in core's `finding_order`
//! then by cluster, with the total the shown ones are taken from.
//!
//! Reports carry only each control's top findings, so `total` is not a count of stored rows:
//! it is summed from the clusters' complete counts, the coverage's `findings` (and
//! `exceptedFindings`) or, when a rule or severity is asked for, the rule counts.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use capstan_core::posture::report::{Control, ControlCoverage, RuleCount, Severity};
use serde::{Deserialize, Serialize};

use crate::api::cost::{parse_count, selected_clusters};
use crate::api::{ApiError, ApiState};
use crate::store::{ClusterFinding, ExceptedFilter, FindingsQuery, PostureRead};

/// Findings shown when no `limit` is given.
pub const DEFAULT_FINDINGS_LIMIT: usize = 200;
pub const MAX_FINDINGS_LIMIT: usize = 100_000;

const SEVERITIES: [Severity; 5] = [
    Severity::Info,
    Severity::Low,
    Severity::Medium,
    Severity::High,
    Severity::Critical,
];

/// The answer of `GET /api/v1/posture/findings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingList {
    pub findings: Vec<ClusterFinding>,
    /// `findings.len()`.
    pub shown: usize,
    /// Findings matching the filters in the selected clusters, listed or not.
    pub total: u64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FindingsParams {
    control: Option<String>,
    cluster: Option<String>,
    label_selector: Option<String>,
    rule: Option<String>,
    severity: Option<String>,
    excepted: Option<String>,
    limit: Option<String>,
}

/// The `control` parameter; 400 listing the valid names.
pub(crate) fn parse_control(text: Option<&str>) -> Result<Option<Control>, ApiError> {
    match text {
        None | Some("") => Ok(None),
        Some(s) => Control::parse(s).map(Some).ok_or_else(|| {
            let names: Vec<&str> = Control::ALL.iter().map(|c| c.as_str()).collect();
            ApiError::bad_request(format!("control {s:?} is not one of {}", names.join(", ")))
                .with_field("control")
        }),
    }
}

/// `severity=high` or `severity=high,critical`.
fn parse_severities(text: Option<&str>) -> Result<Vec<Severity>, ApiError> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(|s| {
            SEVERITIES
                .into_iter()
                .find(|v| v.as_str() == s.trim())
                .ok_or_else(|| {
                    let names: Vec<&str> = SEVERITIES.iter().map(|v| v.as_str()).collect();
                    ApiError::bad_request(format!(
                        "severity {s:?} is not one of {}",
                        names.join(", ")
                    ))
                    .with_field("severity")
                })
        })
        .collect()
}

fn parse_excepted(text: Option<&str>) -> Result<ExceptedFilter, ApiError> {
    match text {
        None | Some("") | Some("true") => Ok(ExceptedFilter::Include),
        Some("false") => Ok(ExceptedFilter::Exclude),
        Some("only") => Ok(ExceptedFilter::Only),
        Some(other) => Err(ApiError::bad_request(format!(
            "excepted {other:?} is not one of true, false, only"
        ))
        .with_field("excepted")),
    }
}

/// How many of `findings` findings, `excepted` of them excepted, the filter keeps.
fn kept(filter: ExceptedFilter, findings: u64, excepted: u64) -> u64 {
    match filter {
        ExceptedFilter::Include => findings,
        ExceptedFilter::Exclude => findings.saturating_sub(excepted),
        ExceptedFilter::Only => excepted,
    }
}

/// The total matching `query` in one cluster, from its complete counts.
fn cluster_total(query: &FindingsQuery, controls: &[ControlCoverage], rules: &[RuleCount]) -> u64 {
    let control_ok = |c: Control| query.control.is_none_or(|q| q == c);
    if query.rule.is_none() && query.severities.is_empty() {
        return controls
            .iter()
            .filter(|c| control_ok(c.control))
            .map(|c| kept(query.excepted, c.findings, c.excepted_findings))
            .sum();
    }
    rules
        .iter()
        .filter(|r| control_ok(r.control))
        .filter(|r| query.rule.as_ref().is_none_or(|q| *q == r.rule))
        .filter(|r| query.severities.is_empty() || query.severities.contains(&r.severity))
        .map(|r| kept(query.excepted, r.findings, r.excepted))
        .sum()
}

/// `GET /api/v1/posture/findings`.
pub(crate) async fn list_findings(
    State(state): State<ApiState>,
    params: Result<Query<FindingsParams>, QueryRejection>,
) -> Result<Json<FindingList>, ApiError> {
    let Query(params) = params?;
    let control = parse_control(params.control.as_deref())?;
    let severities = parse_severities(params.severity.as_deref())?;
    let excepted = parse_excepted(params.excepted.as_deref())?;
    let limit = parse_count(
        "limit",
        params.limit.as_deref(),
        DEFAULT_FINDINGS_LIMIT,
        MAX_FINDINGS_LIMIT,
    )?;
    let (clusters, _) = selected_clusters(
        &state,
        params.label_selector.as_deref(),
        params.cluster.as_deref(),
    )
    .await?;
    let query = FindingsQuery {
        clusters,
        control,
        rule: params.rule.filter(|r| !r.is_empty()),
        severities,
        excepted,
        limit,
    };
    let summaries = state
        .store
        .posture_summaries(PostureRead {
            clusters: query.clusters.as_deref(),
            with_rules: query.rule.is_some() || !query.severities.is_empty(),
        })
        .await?;
    let total = summaries
        .iter()
        .map(|s| cluster_total(&query, &s.controls, &s.rules))
        .sum();
    let findings = state.store.posture_findings(&query).await?;
    Ok(Json(FindingList {
        shown: findings.len(),
        findings,
        total,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_parse_or_name_themselves() {
        assert_eq!(
            parse_control(Some("network-policy")).ok().flatten(),
            Some(Control::NetworkPolicy)
        );
        let err = parse_control(Some("netpol"))
            .err()
            .map(|e| (e.field, e.message));
        assert_eq!(
            err,
            Some((
                Some("control".to_string()),
                "control \"netpol\" is not one of rbac, network-policy, pod-security, secrets, \
                 image-scanning"
                    .to_string()
            ))
        );
        assert_eq!(
            parse_severities(Some("high,critical")).ok(),
            Some(vec![Severity::High, Severity::Critical])
        );
        assert!(parse_severities(Some("high,urgent")).is_err());
        assert_eq!(
            parse_excepted(Some("only")).ok(),
            Some(ExceptedFilter::Only)
        );
        assert_eq!(
            parse_excepted(Some("yes")).err().and_then(|e| e.field),
            Some("excepted".to_string())
        );
    }
}
