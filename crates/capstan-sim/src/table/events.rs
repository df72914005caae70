//! The event printer (`printEvent`), for core/v1 and events.k8s.io/v1 events.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::fields::{at, int_at, name_of, str_at};
use super::time::{since, time_at};
use super::{Col, DESC_NAME, col};

pub(super) static EVENTS: &[Col] = &[
    col(
        "Last Seen",
        "string",
        "",
        0,
        "The time at which the most recent occurrence of this event was recorded.",
    ),
    col(
        "Type",
        "string",
        "",
        0,
        "Type of this event (Normal, Warning), new types could be added in the future",
    ),
    col(
        "Reason",
        "string",
        "",
        0,
        "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
    ),
    col(
        "Object",
        "string",
        "",
        0,
        "The object that this event is about.",
    ),
    col(
        "Subobject",
        "string",
        "",
        1,
        "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.",
    ),
    col(
        "Source",
        "string",
        "",
        1,
        "The component reporting this event. Should be a short machine understandable string.",
    ),
    col(
        "Message",
        "string",
        "",
        0,
        "A human-readable description of the status of this operation.",
    ),
    col(
        "First Seen",
        "string",
        "",
        1,
        "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
    ),
    col(
        "Count",
        "string",
        "",
        1,
        "The number of times this event has occurred.",
    ),
    col("Name", "string", "name", 1, DESC_NAME),
];

/// An events.k8s.io/v1 Event in core/v1 shape (the internal type both versions convert to).
fn core_event_view(obj: &Value) -> Value {
    let pick = |k: &str| obj.get(k).cloned().unwrap_or(Value::Null);
    json!({
        "metadata": pick("metadata"),
        "type": pick("type"),
        "reason": pick("reason"),
        "message": pick("note"),
        "involvedObject": pick("regarding"),
        "source": pick("deprecatedSource"),
        "firstTimestamp": pick("deprecatedFirstTimestamp"),
        "lastTimestamp": pick("deprecatedLastTimestamp"),
        "count": pick("deprecatedCount"),
        "series": pick("series"),
        "eventTime": pick("eventTime"),
        "reportingComponent": pick("reportingController"),
        "reportingInstance": pick("reportingInstance"),
    })
}

/// `printEvent` (wide): LAST SEEN, TYPE, REASON, OBJECT, SUBOBJECT, SOURCE, MESSAGE,
/// FIRST SEEN, COUNT, NAME.
pub(super) fn event_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let first = match time_at(obj, &["firstTimestamp"]) {
        Some(t) => since(Some(t), now),
        None => since(time_at(obj, &["eventTime"]), now),
    };
    let mut last = match time_at(obj, &["lastTimestamp"]) {
        Some(t) => since(Some(t), now),
        None => first.clone(),
    };
    let mut count = int_at(obj, &["count"]);
    if let Some(series) = at(obj, &["series"]) {
        last = since(time_at(series, &["lastObservedTime"]), now);
        count = int_at(series, &["count"]);
    } else if count == 0 {
        // Singleton events don't have a count set in the new API.
        count = 1;
    }
    let kind = str_at(obj, &["involvedObject", "kind"]).to_lowercase();
    let involved_name = str_at(obj, &["involvedObject", "name"]);
    let target = if involved_name.is_empty() {
        kind
    } else {
        format!("{kind}/{involved_name}")
    };
    // formatEventSource: component (or reportingController), then ", host" (or instance).
    let first_non_empty = |a: &str, b: &str| if a.is_empty() { b } else { a }.to_string();
    let component = first_non_empty(
        str_at(obj, &["source", "component"]),
        str_at(obj, &["reportingComponent"]),
    );
    let instance = first_non_empty(
        str_at(obj, &["source", "host"]),
        str_at(obj, &["reportingInstance"]),
    );
    let source = if instance.is_empty() {
        component
    } else {
        format!("{component}, {instance}")
    };
    vec![
        json!(last),
        json!(str_at(obj, &["type"])),
        json!(str_at(obj, &["reason"])),
        json!(target),
        json!(str_at(obj, &["involvedObject", "fieldPath"])),
        json!(source),
        json!(str_at(obj, &["message"]).trim()),
        json!(first),
        json!(count),
        json!(name_of(obj)),
    ]
}

/// An events.k8s.io/v1 Event, printed through its core/v1 view.
pub(super) fn events_v1_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    event_cells(&core_event_view(obj), now)
}
