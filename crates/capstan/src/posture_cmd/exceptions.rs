//! The posture exceptions as tables: pure functions of the hub's answer.

use capstan_hub::api::{ExceptionList, FleetException};

use super::report::grouped;
use crate::cost_cmd::report::aligned;

fn when(e: &FleetException) -> String {
    e.expires.map_or_else(
        || "-".to_string(),
        |t| {
            t.round(jiff::Unit::Second)
                .map_or_else(|_| t.to_string(), |t| t.to_string())
        },
    )
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", grouped(n), if n == 1 { one } else { many })
}

/// One row per exception (by name): findings excepted, clusters where it matched of those
/// applying it, expiry, state and reason; then what to do about the expired and unused ones.
pub fn table(list: &ExceptionList) -> String {
    let mut out = String::new();
    if list.exceptions.is_empty() {
        out.push_str(&format!(
            "No exceptions applied ({} reporting).\n",
            plural(list.clusters_reporting, "cluster", "clusters")
        ));
        return out;
    }
    let mut rows = vec![
        ["NAME", "MATCHED", "CLUSTERS", "EXPIRES", "STATE", "REASON"]
            .map(str::to_string)
            .to_vec(),
    ];
    for e in &list.exceptions {
        rows.push(vec![
            e.name.clone(),
            grouped(e.matched),
            format!("{}/{}", e.clusters_matched.len(), e.clusters),
            when(e),
            e.state.as_str().to_string(),
            e.reason.clone(),
        ]);
    }
    out.push_str(&aligned(&rows, 1..3));
    out.push_str("CLUSTERS: where it matched a finding / whose latest report applies it\n");
    if list.expired > 0 {
        let names: Vec<&str> = list
            .exceptions
            .iter()
            .filter(|e| e.expired)
            .map(|e| e.name.as_str())
            .collect();
        out.push_str(&format!(
            "{} ({}): they except nothing, so their findings count against coverage again; \
             renew them (a later expires) or remove them from the exceptions file\n",
            plural(list.expired, "exception expired", "exceptions expired"),
            names.join(", ")
        ));
    }
    if list.unused > 0 {
        out.push_str(&format!(
            "{} nothing in any cluster: remove {} if the risk accepted is gone\n",
            plural(list.unused, "exception matched", "exceptions matched"),
            if list.unused == 1 { "it" } else { "them" }
        ));
    }
    out
}

/// The block under `capstan posture report --cluster C`: the cluster's exceptions, name,
/// findings excepted and state; nothing when it has none.
pub fn cluster_block(list: &ExceptionList) -> String {
    if list.exceptions.is_empty() {
        return String::new();
    }
    let mut rows = vec![
        ["EXCEPTION", "MATCHED", "STATE"]
            .map(str::to_string)
            .to_vec(),
    ];
    for e in &list.exceptions {
        rows.push(vec![
            e.name.clone(),
            grouped(e.matched),
            e.state.as_str().to_string(),
        ]);
    }
    let mut out = String::from("\nExceptions:\n");
    out.push_str(&aligned(&rows, 1..2));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use capstan_core::posture::report::AppliedException;
    use capstan_hub::api::exceptions_of;
    use capstan_hub::store::ClusterExceptions;

    use super::*;

    fn applied(name: &str, matched: u64, expires: Option<&str>, expired: bool) -> AppliedException {
        AppliedException {
            name: name.to_string(),
            reason: format!("why {name}"),
            matched,
            expires: expires.map(|t| t.parse().unwrap()),
            expired,
        }
    }

    fn cluster(name: &str, exceptions: Vec<AppliedException>) -> ClusterExceptions {
        ClusterExceptions {
            cluster: name.to_string(),
            evaluated_at: "2026-03-10T00:00:00Z".parse().unwrap(),
            exceptions,
        }
    }

    fn fleet() -> ExceptionList {
        exceptions_of(&[
            cluster(
                "a",
                vec![
                    applied(
                        "ingress-hostnetwork",
                        1200,
                        Some("2026-06-01T00:00:00.5Z"),
                        false,
                    ),
                    applied("batch-root", 0, None, false),
                ],
            ),
            cluster(
                "b",
                vec![
                    applied(
                        "ingress-hostnetwork",
                        0,
                        Some("2026-06-01T00:00:00.5Z"),
                        false,
                    ),
                    applied("vendor-privileged", 0, Some("2026-03-01T00:00:00Z"), true),
                ],
            ),
        ])
    }

    #[test]
    fn the_table_lists_each_exception_and_what_to_do_about_expired_and_unused_ones() {
        assert_eq!(
            table(&fleet()),
            "\
NAME                  MATCHED   CLUSTERS   EXPIRES                STATE     REASON
batch-root                  0        0/1   -                      unused    why batch-root
ingress-hostnetwork     1,200        1/2   2026-06-01T00:00:01Z   active    why ingress-hostnetwork
vendor-privileged           0        0/1   2026-03-01T00:00:00Z   expired   why vendor-privileged
CLUSTERS: where it matched a finding / whose latest report applies it
1 exception expired (vendor-privileged): they except nothing, so their findings count against coverage again; renew them (a later expires) or remove them from the exceptions file
1 exception matched nothing in any cluster: remove it if the risk accepted is gone
"
        );
    }

    #[test]
    fn without_expired_or_unused_ones_there_is_no_hint() {
        let list = exceptions_of(&[cluster("a", vec![applied("x", 2, None, false)])]);
        let text = table(&list);
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(
            !text.contains("expired") && !text.contains("remove"),
            "{text}"
        );
        assert_eq!(
            table(&exceptions_of(&[])),
            "No exceptions applied (0 clusters reporting).\n"
        );
    }

    #[test]
    fn a_clusters_block_names_its_exceptions_or_is_empty() {
        let one = exceptions_of(&[cluster(
            "b",
            vec![
                applied("ingress-hostnetwork", 3, None, false),
                applied("vendor-privileged", 0, Some("2026-03-01T00:00:00Z"), true),
            ],
        )]);
        assert_eq!(
            cluster_block(&one),
            "
Exceptions:
EXCEPTION             MATCHED   STATE
ingress-hostnetwork         3   active
vendor-privileged           0   expired
"
        );
        assert_eq!(
            cluster_block(&exceptions_of(&[cluster("c", Vec::new())])),
            ""
        );
    }
}
