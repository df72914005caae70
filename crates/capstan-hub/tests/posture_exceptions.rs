#![allow(clippy::unwrap_used)]
//! `GET /api/v1/posture/exceptions` over reports uploaded through the API: each cluster's
//! latest report counts (an earlier one's exceptions are gone), filters by cluster and label,
//! states judged across the selected clusters only.

mod common;
mod posture_fixture;

use axum::http::StatusCode;
use capstan_core::posture::report::{Control, PostureReport};
use capstan_hub::api::{ExceptionList, ExceptionState};
use posture_fixture::{HOUR, T0, hub_with, report, ts};

const PS: Control = Control::PodSecurity;

/// `name` expired at `expires` in the report.
fn lapsed(mut r: PostureReport, name: &str, expires: &str) -> PostureReport {
    for e in r.exceptions.iter_mut().filter(|e| e.name == name) {
        e.expires = Some(expires.parse().unwrap());
        e.expired = true;
    }
    r
}

fn uploads() -> Vec<PostureReport> {
    vec![
        // a's first report has "old-debug"; its latest does not: gone.
        report("a", T0 + 600)
            .control(PS, 10, 8, 2)
            .exception("old-debug", "debugging, remove after the incident", 1)
            .build(),
        report("a", T0 + HOUR)
            .control(PS, 10, 8, 2)
            .exception(
                "ingress-hostnetwork",
                "ingress controllers need the host network",
                2,
            )
            .exception("batch-root", "batch images run as root until Q3", 0)
            .build(),
        lapsed(
            report("b", T0 + 2 * HOUR)
                .control(PS, 10, 10, 0)
                .exception(
                    "ingress-hostnetwork",
                    "ingress controllers need the host network",
                    0,
                )
                .exception("vendor-privileged", "the vendor's agent", 0)
                .build(),
            "vendor-privileged",
            "2026-03-01T00:00:00Z",
        ),
        report("c", T0 + 3 * HOUR)
            .control(PS, 10, 7, 3)
            .exception("vendor-privileged", "the vendor's agent", 3)
            .build(),
    ]
}

/// (name, state, matched, clusters, matched in, unmatched in, expired in)
type Row = (String, ExceptionState, u64, u64, String, String, String);

fn rows(list: &ExceptionList) -> Vec<Row> {
    list.exceptions
        .iter()
        .map(|e| {
            (
                e.name.clone(),
                e.state,
                e.matched,
                e.clusters,
                e.clusters_matched.join(","),
                e.clusters_unmatched.join(","),
                e.clusters_expired.join(","),
            )
        })
        .collect()
}

fn row(name: &str, state: ExceptionState, matched: u64, clusters: u64, lists: [&str; 3]) -> Row {
    (
        name.to_string(),
        state,
        matched,
        clusters,
        lists[0].to_string(),
        lists[1].to_string(),
        lists[2].to_string(),
    )
}

#[tokio::test]
async fn exceptions_are_listed_by_name_with_where_they_matched_and_their_state() {
    let hub = hub_with(uploads(), T0 + 12 * HOUR).await;
    use ExceptionState::{Active, Expired, Unused};

    let all: ExceptionList = hub.get("/api/v1/posture/exceptions").await;
    assert_eq!((all.clusters_reporting, all.expired, all.unused), (3, 1, 1));
    assert_eq!(
        rows(&all),
        [
            row("batch-root", Unused, 0, 1, ["", "a", ""]),
            row("ingress-hostnetwork", Active, 2, 2, ["a", "b", ""]),
            // Matching in c, expired in b: expired, to renew or remove.
            row("vendor-privileged", Expired, 3, 2, ["c", "b", "b"]),
        ]
    );
    let vendor = &all.exceptions[2];
    assert_eq!(vendor.reason, "the vendor's agent");
    assert_eq!(vendor.expires, Some(ts(1_772_323_200)));
    assert!(vendor.expired);
    assert_eq!(all.exceptions[0].expires, None);

    // Production only: b's expiry still counts; c's matches do not.
    let prod: ExceptionList = hub
        .get("/api/v1/posture/exceptions?labelSelector=environment%3Dproduction")
        .await;
    assert_eq!(prod.clusters_reporting, 2);
    assert_eq!(
        rows(&prod)[2],
        row("vendor-privileged", Expired, 0, 1, ["", "b", "b"])
    );
    // Dev only: the same exception is active there.
    let dev: ExceptionList = hub.get("/api/v1/posture/exceptions?cluster=c").await;
    assert_eq!(
        rows(&dev),
        [row("vendor-privileged", Active, 3, 1, ["c", "", ""])]
    );
    assert_eq!((dev.expired, dev.unused), (0, 0));
    // A cluster without a report, an unknown one: nothing.
    let none: ExceptionList = hub.get("/api/v1/posture/exceptions?cluster=nope").await;
    assert_eq!((none.clusters_reporting, none.exceptions.len()), (0, 0));
}

#[tokio::test]
async fn a_bad_selector_is_400_naming_it() {
    let hub = hub_with(Vec::new(), T0 + 12 * HOUR).await;
    let answer = hub
        .send(
            "GET",
            "/api/v1/posture/exceptions?labelSelector=a%20in",
            None,
            None,
        )
        .await;
    assert_eq!(answer.code, StatusCode::BAD_REQUEST, "{}", answer.text);
    assert_eq!(answer.body["field"], "labelSelector");
}
