//! Custom resource rows and columns from `additionalPrinterColumns`.

use super::*;

#[test]
fn custom_resources() {
    let widget = json!({"metadata": {"name": "w", "creationTimestamp": CREATED},
        "spec": {"replicas": 3, "ratio": 1.5, "big": 2_500_000.0, "enabled": true, "tags": ["a", "b"], "labels": {"z": "<1>", "a": 2},
                 "dotted": {"a.b": "dot"}},
        "status": {"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}],
                   "lastSync": "2024-06-01T11:00:00Z", "bad": "yesterday"}});
    let cases = [
        (json!([]), vec!["Name", "Age"], json!(["w", "10d"])),
        (
            json!([{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
                {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                {"name": "Ratio", "type": "number", "jsonPath": ".spec.ratio"},
                {"name": "On", "type": "boolean", "jsonPath": ".spec.enabled"},
                {"name": "Synced", "type": "date", "jsonPath": ".status.lastSync"},
                {"name": "Missing", "type": "string", "jsonPath": ".status.nothing"}]),
            vec![
                "Name", "Ready", "Replicas", "Ratio", "On", "Synced", "Missing",
            ],
            json!(["w", "True", 3, 1.5, true, "60m", null]),
        ),
        (
            json!([{"name": "Tags", "type": "string", "jsonPath": ".spec.tags"},
                {"name": "Labels", "type": "string", "jsonPath": ".spec.labels"},
                {"name": "First", "type": "string", "jsonPath": ".spec.tags[0]"},
                {"name": "Last", "type": "string", "jsonPath": ".spec.tags[-1]"},
                {"name": "OutOfRange", "type": "string", "jsonPath": ".spec.tags[5]"},
                {"name": "Dotted", "type": "string", "jsonPath": ".spec.dotted['a.b']"},
                {"name": "Big", "type": "string", "jsonPath": ".spec.big"},
                {"name": "Ratio", "type": "integer", "jsonPath": ".spec.ratio"},
                {"name": "Bad", "type": "date", "jsonPath": ".status.bad"},
                {"name": "Mistyped", "type": "integer", "jsonPath": ".status.lastSync"}]),
            vec![
                "Name",
                "Tags",
                "Labels",
                "First",
                "Last",
                "OutOfRange",
                "Dotted",
                "Big",
                "Ratio",
                "Bad",
                "Mistyped",
            ],
            json!([
                "w",
                "[\"a\",\"b\"]",
                "{\"a\":2,\"z\":\"\\u003c1\\u003e\"}",
                "a",
                "b",
                null,
                "dot",
                "2.5e+06",
                1,
                "<invalid>",
                null
            ]),
        ),
    ];
    for (columns, names, cells) in cases {
        let columns = columns.as_array().unwrap().clone();
        let got: Vec<String> = custom_column_definitions(&columns)
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, names);
        check(Printer::Custom(&columns), &widget, &cells);
    }
    let defs = custom_column_definitions(&[
        json!({"name": "Ready", "type": "string", "jsonPath": ".status.ready", "priority": 1}),
        json!({"name": "Phase", "type": "string", "jsonPath": ".status.phase", "description": "The phase"}),
    ]);
    assert_eq!(
        defs[1],
        json!({"name": "Ready", "type": "string", "format": "", "priority": 1,
        "description": "Custom resource definition column (in JSONPath format): .status.ready"})
    );
    assert_eq!(defs[2]["description"], "The phase");
    assert_eq!(
        custom_column_definitions(&[])[1]["description"],
        "Custom resource definition column (in JSONPath format): .metadata.creationTimestamp"
    );
}
