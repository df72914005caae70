//! Unit tests of the Table printers, through the public entry points. The per-family cases
//! live in the submodules; this file holds the shared fixtures and the envelope tests.

mod cluster;
mod custom;
mod networking;
mod pods;
mod workloads;

use super::*;

fn now() -> Timestamp {
    "2024-06-01T12:00:00Z".parse().unwrap()
}

/// Ten days before `now()`.
const CREATED: &str = "2024-05-22T12:00:00Z";

/// Which printer a case goes through.
enum Printer<'a> {
    Builtin(&'a str, &'a str),
    Custom(&'a [Value]),
}

/// The row's cells for `obj`, and one column definition per cell (kubectl requires it).
fn check(printer: Printer<'_>, obj: &Value, expected: &Value) {
    let (defs, r) = match printer {
        Printer::Builtin(group, plural) => (
            column_definitions(group, plural),
            row(group, plural, obj, IncludeObject::None, now()),
        ),
        Printer::Custom(columns) => (
            custom_column_definitions(columns),
            custom_row(columns, obj, IncludeObject::None, now()),
        ),
    };
    assert_eq!(&r["cells"], expected, "{obj}");
    assert_eq!(
        defs.len(),
        expected.as_array().unwrap().len(),
        "one cell per column: {obj}"
    );
}

fn meta(name: &str) -> Value {
    json!({"name": name, "namespace": "default", "creationTimestamp": CREATED})
}

#[test]
fn column_definitions_follow_upstream() {
    type Expected<'a> = &'a [(&'a str, i64)];
    let cases: &[(&str, &str, Expected<'_>)] = &[
        (
            "",
            "nodes",
            &[
                ("Name", 0),
                ("Status", 0),
                ("Roles", 0),
                ("Age", 0),
                ("Version", 0),
                ("Internal-IP", 1),
                ("External-IP", 1),
                ("OS-Image", 1),
                ("Kernel-Version", 1),
                ("Container-Runtime", 1),
            ],
        ),
        (
            "",
            "pods",
            &[
                ("Name", 0),
                ("Ready", 0),
                ("Status", 0),
                ("Restarts", 0),
                ("Age", 0),
                ("IP", 1),
                ("Node", 1),
                ("Nominated Node", 1),
                ("Readiness Gates", 1),
            ],
        ),
        (
            "",
            "events",
            &[
                ("Last Seen", 0),
                ("Type", 0),
                ("Reason", 0),
                ("Object", 0),
                ("Subobject", 1),
                ("Source", 1),
                ("Message", 0),
                ("First Seen", 1),
                ("Count", 1),
                ("Name", 1),
            ],
        ),
        (
            "rbac.authorization.k8s.io",
            "roles",
            &[("Name", 0), ("Created At", 0)],
        ),
        ("example.com", "widgets", &[("Name", 0), ("Created At", 0)]),
    ];
    for (group, plural, expected) in cases {
        let got: Vec<(String, i64)> = column_definitions(group, plural)
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_string(),
                    c["priority"].as_i64().unwrap(),
                )
            })
            .collect();
        let want: Vec<(String, i64)> = expected
            .iter()
            .map(|(n, p)| ((*n).to_string(), *p))
            .collect();
        assert_eq!(got, want, "{group}/{plural}");
    }
    let pod_name = &column_definitions("", "pods")[0];
    assert_eq!(pod_name["format"], "name");
    assert!(
        pod_name["description"]
            .as_str()
            .unwrap()
            .starts_with("Name must be unique within a namespace.")
    );
    assert_eq!(column_definitions("", "roles").len(), 2);
    assert_eq!(
        column_definitions("rbac.authorization.k8s.io", "roles")[1]["type"],
        "date"
    );
}

#[test]
fn human_durations() {
    let cases: &[(i64, &str)] = &[
        (-3, "<invalid>"),
        (-2, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (119, "119s"),
        (120, "2m"),
        (150, "2m30s"),
        (599, "9m59s"),
        (600, "10m"),
        (10_799, "179m"),
        (10_800, "3h"),
        (12_600, "3h30m"),
        (28_800, "8h"),
        (47 * 3600, "47h"),
        (48 * 3600, "2d"),
        (49 * 3600, "2d1h"),
        (8 * 86_400, "8d"),
        (729 * 86_400, "729d"),
        (730 * 86_400, "2y"),
        (731 * 86_400, "2y1d"),
        (8 * 365 * 86_400, "8y"),
    ];
    for (secs, want) in cases {
        let created = now()
            .checked_sub(jiff::SignedDuration::from_secs(*secs))
            .unwrap();
        let obj = json!({"metadata": {"name": "x", "creationTimestamp": created.to_string()}});
        check(
            Printer::Builtin("", "namespaces"),
            &obj,
            &json!(["x", "", want]),
        );
    }
}

#[test]
fn include_object() {
    let parse_cases = [
        (None, Ok(IncludeObject::Metadata)),
        (Some(""), Ok(IncludeObject::Metadata)),
        (Some("Metadata"), Ok(IncludeObject::Metadata)),
        (Some("None"), Ok(IncludeObject::None)),
        (Some("Object"), Ok(IncludeObject::Object)),
        (
            Some("object"),
            Err("unrecognized includeObject value: \"object\"".to_string()),
        ),
    ];
    for (input, want) in parse_cases {
        assert_eq!(IncludeObject::parse(input), want, "{input:?}");
    }
    let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "labels": {"a": "b"}}, "data": {"k": "v"}});
    let metadata = row("", "configmaps", &obj, IncludeObject::Metadata, now());
    assert_eq!(
        metadata["object"],
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
               "metadata": {"name": "cm", "labels": {"a": "b"}, "creationTimestamp": null}})
    );
    assert_eq!(
        row("", "configmaps", &obj, IncludeObject::Object, now())["object"],
        obj
    );
    assert!(
        row("", "configmaps", &obj, IncludeObject::None, now())
            .get("object")
            .is_none()
    );
    assert_eq!(
        partial_object_metadata(&json!({}))["metadata"],
        json!({"creationTimestamp": null})
    );
}
