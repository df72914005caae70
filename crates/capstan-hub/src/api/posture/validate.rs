//! Why a posture upload is refused: the first broken rule, as a 400 naming the field path.
//!
//! The wire types already confine controls and severities to their names (a body naming
//! another is a 422 from decoding); these are the rules types cannot say: the cluster, the
//! counts adding up, the bounds that keep a report small whatever the cluster's size.

use std::collections::{BTreeMap, BTreeSet};

use capstan_core::posture::report::{Control, PostureReport};
use jiff::{SignedDuration, Timestamp};

use crate::api::ApiError;

/// Findings one report may carry per control (the agent keeps the top 200 by default).
pub const MAX_FINDINGS_PER_CONTROL: usize = 1_000;
/// Findings one report may carry in all.
pub const MAX_FINDINGS: usize = 5_000;
/// Rule counts one report may carry.
pub const MAX_RULES: usize = 1_000;
/// Applied exceptions one report may carry.
pub const MAX_EXCEPTIONS: usize = 1_000;
/// Detail figures per control.
pub const MAX_DETAILS: usize = 64;
/// Names: kinds, namespaces, objects, rules, exceptions, detail keys (a DNS-1123 subdomain's
/// 253 characters).
pub const MAX_NAME_CHARS: usize = 253;
/// Free text: messages, reasons, field paths.
pub const MAX_TEXT_CHARS: usize = 1_024;

fn bad(field: impl Into<String>, message: impl Into<String>) -> ApiError {
    ApiError::bad_request(message).with_field(field)
}

fn bounded(field: String, text: &str, max: usize) -> Result<(), ApiError> {
    let n = text.chars().count();
    if n > max {
        return Err(bad(field, format!("{n} characters; at most {max}")));
    }
    Ok(())
}

fn name(field: String, text: &str) -> Result<(), ApiError> {
    if text.is_empty() {
        return Err(bad(field, "must not be empty"));
    }
    bounded(field, text, MAX_NAME_CHARS)
}

/// Checks an upload for `cluster` (the path's) at the hub's `now`.
pub fn check_report(report: &PostureReport, cluster: &str, now: Timestamp) -> Result<(), ApiError> {
    if report.cluster != cluster {
        return Err(bad(
            "cluster",
            format!(
                "the report is for cluster {:?}, the path for {cluster:?}",
                report.cluster
            ),
        ));
    }
    let latest = now
        .checked_add(SignedDuration::from_hours(1))
        .unwrap_or(Timestamp::MAX);
    if report.evaluated_at > latest {
        return Err(bad(
            "evaluatedAt",
            format!(
                "{} is in the future (the hub's time is {now})",
                report.evaluated_at
            ),
        ));
    }
    let coverage = check_controls(report)?;
    check_rules(report, &coverage)?;
    check_findings(report, &coverage)?;
    if report.exceptions.len() > MAX_EXCEPTIONS {
        return Err(bad(
            "exceptions",
            format!(
                "{} exceptions; at most {MAX_EXCEPTIONS}",
                report.exceptions.len()
            ),
        ));
    }
    for (i, e) in report.exceptions.iter().enumerate() {
        name(format!("exceptions[{i}].name"), &e.name)?;
        bounded(format!("exceptions[{i}].reason"), &e.reason, MAX_TEXT_CHARS)?;
    }
    Ok(())
}

/// The controls, once each, with counts that add up; returns each control's finding count.
fn check_controls(report: &PostureReport) -> Result<BTreeMap<Control, u64>, ApiError> {
    let mut seen = BTreeMap::new();
    for (i, c) in report.controls.iter().enumerate() {
        let field = |f: &str| format!("controls[{i}].{f}");
        if seen.insert(c.control, c.findings).is_some() {
            return Err(bad(
                field("control"),
                format!("{} is reported twice", c.control),
            ));
        }
        if c.unit != c.control.unit() {
            return Err(bad(
                field("unit"),
                format!(
                    "{} counts {}, not {}",
                    c.control,
                    c.control.unit().as_str(),
                    c.unit.as_str()
                ),
            ));
        }
        if c.covered
            .checked_add(c.excepted)
            .is_none_or(|n| n > c.eligible)
        {
            return Err(bad(
                field("covered"),
                format!(
                    "covered ({}) + excepted ({}) is more than eligible ({})",
                    c.covered, c.excepted, c.eligible
                ),
            ));
        }
        if c.excepted_findings > c.findings {
            return Err(bad(
                field("exceptedFindings"),
                format!(
                    "{} excepted findings of {} findings",
                    c.excepted_findings, c.findings
                ),
            ));
        }
        if c.details.len() > MAX_DETAILS {
            return Err(bad(
                field("details"),
                format!("{} figures; at most {MAX_DETAILS}", c.details.len()),
            ));
        }
        for key in c.details.keys() {
            name(field("details"), key)?;
        }
    }
    Ok(seen)
}

fn check_rules(report: &PostureReport, coverage: &BTreeMap<Control, u64>) -> Result<(), ApiError> {
    if report.rules.len() > MAX_RULES {
        return Err(bad(
            "rules",
            format!("{} rules; at most {MAX_RULES}", report.rules.len()),
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, r) in report.rules.iter().enumerate() {
        let field = |f: &str| format!("rules[{i}].{f}");
        if !coverage.contains_key(&r.control) {
            return Err(bad(
                field("control"),
                format!("{} has no coverage in the report's controls", r.control),
            ));
        }
        name(field("rule"), &r.rule)?;
        if !seen.insert((r.control, r.rule.as_str())) {
            return Err(bad(field("rule"), format!("{} is counted twice", r.rule)));
        }
        if r.excepted > r.findings {
            return Err(bad(
                field("excepted"),
                format!("{} excepted of {} findings", r.excepted, r.findings),
            ));
        }
    }
    Ok(())
}

fn check_findings(
    report: &PostureReport,
    coverage: &BTreeMap<Control, u64>,
) -> Result<(), ApiError> {
    if report.findings.len() > MAX_FINDINGS {
        return Err(bad(
            "findings",
            format!("{} findings; at most {MAX_FINDINGS}", report.findings.len()),
        ));
    }
    let mut listed: BTreeMap<Control, u64> = BTreeMap::new();
    for (i, f) in report.findings.iter().enumerate() {
        let field = |name: &str| format!("findings[{i}].{name}");
        if !coverage.contains_key(&f.control) {
            return Err(bad(
                field("control"),
                format!("{} has no coverage in the report's controls", f.control),
            ));
        }
        *listed.entry(f.control).or_default() += 1;
        name(field("rule"), &f.rule)?;
        name(field("object.kind"), &f.object.kind)?;
        bounded(
            field("object.namespace"),
            &f.object.namespace,
            MAX_NAME_CHARS,
        )?;
        name(field("object.name"), &f.object.name)?;
        bounded(field("fieldPath"), &f.field_path, MAX_TEXT_CHARS)?;
        bounded(field("message"), &f.message, MAX_TEXT_CHARS)?;
        if let Some(reason) = &f.excepted {
            bounded(field("excepted"), reason, MAX_TEXT_CHARS)?;
        }
    }
    for (control, n) in listed {
        if n as usize > MAX_FINDINGS_PER_CONTROL {
            return Err(bad(
                "findings",
                format!(
                    "{n} findings of {control}; at most {MAX_FINDINGS_PER_CONTROL} per control"
                ),
            ));
        }
        let counted = coverage.get(&control).copied().unwrap_or(0);
        if n > counted {
            return Err(bad(
                "findings",
                format!(
                    "{n} findings of {control} listed, but its coverage counts {counted} in all"
                ),
            ));
        }
    }
    Ok(())
}
