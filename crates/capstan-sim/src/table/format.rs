//! Formatting shared by several printers: labels, label selectors, container lists.

use serde_json::Value;

use super::fields::{EMPTY, arr_at, at, str_at};

/// `labels.FormatLabels`: sorted `k=v` pairs joined by ",", or "<none>".
pub(super) fn format_labels(v: Option<&Value>) -> String {
    let mut pairs: Vec<String> = v
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    if pairs.is_empty() {
        "<none>".to_string()
    } else {
        pairs.join(",")
    }
}

/// `metav1.LabelSelectorAsSelector(sel).String()`; `Err` where upstream fails to convert.
/// A nil selector is `labels.Nothing()` and an empty one `labels.Everything()`; both print "".
pub(super) fn label_selector_string(sel: &Value) -> Result<String, ()> {
    let Some(sel) = sel.as_object() else {
        return Ok(String::new());
    };
    // (key, rendered requirement); sorted by key like internalSelector.Add.
    let mut reqs: Vec<(String, String)> = Vec::new();
    if let Some(labels) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in labels {
            reqs.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or(""))));
        }
    }
    for expr in sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let key = str_at(expr, &["key"]);
        let mut values: Vec<&str> = arr_at(expr, &["values"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        values.sort_unstable();
        let rendered = match str_at(expr, &["operator"]) {
            "In" | "NotIn" if values.is_empty() => return Err(()),
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" | "DoesNotExist" if !values.is_empty() => return Err(()),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            _ => return Err(()),
        };
        reqs.push((key.to_string(), rendered));
    }
    reqs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(reqs
        .into_iter()
        .map(|(_, r)| r)
        .collect::<Vec<_>>()
        .join(","))
}

/// `metav1.FormatLabelSelector`: "<none>" when empty, "<error>" when unconvertible.
fn format_label_selector(sel: &Value) -> String {
    match label_selector_string(sel) {
        Err(()) => "<error>".to_string(),
        Ok(s) if s.is_empty() => "<none>".to_string(),
        Ok(s) => s,
    }
}

/// `format_label_selector` of the (possibly absent) selector at `path`.
pub(super) fn selector_at(obj: &Value, path: &[&str]) -> String {
    format_label_selector(at(obj, path).unwrap_or(&EMPTY))
}

/// `layoutContainerCells`: container names and images, comma separated.
pub(super) fn container_cells(pod_spec: Option<&Value>) -> (String, String) {
    let containers = pod_spec.map(|s| arr_at(s, &["containers"])).unwrap_or(&[]);
    let names: Vec<&str> = containers.iter().map(|c| str_at(c, &["name"])).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_at(c, &["image"])).collect();
    (names.join(","), images.join(","))
}

/// `container_cells` of a workload's `spec.template.spec`.
pub(super) fn template_containers(obj: &Value) -> (String, String) {
    container_cells(at(obj, &["spec", "template", "spec"]))
}

/// The items joined by ",", or "<none>" when there are none.
pub(super) fn join_or_none<S: std::borrow::Borrow<str>>(items: &[S]) -> String {
    if items.is_empty() {
        "<none>".to_string()
    } else {
        items.join(",")
    }
}

/// The string, or "<none>" when it is empty.
pub(super) fn or_none(s: &str) -> String {
    if s.is_empty() {
        "<none>".to_string()
    } else {
        s.to_string()
    }
}
