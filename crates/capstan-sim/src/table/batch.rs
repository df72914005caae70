//! Printers of the batch group: jobs and cron jobs.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::fields::{
    EMPTY, at, deleting, first_condition_is_true, int_at, len_at, name_of, str_at,
};
use super::format::{container_cells, selector_at, template_containers};
use super::time::{age, human_duration_signed, since, time_at};
use super::{AGE_COLUMN, CONTAINERS_COLUMN, Col, IMAGES_COLUMN, NAME_COLUMN, col};

const DESC_JOB_SELECTOR: &str = "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";

pub(super) static JOBS: &[Col] = &[
    NAME_COLUMN,
    col("Status", "string", "", 0, "Status of the job."),
    col(
        "Completions",
        "string",
        "",
        0,
        "The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs.",
    ),
    col(
        "Duration",
        "string",
        "",
        0,
        "Time required to complete the job.",
    ),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    col("Selector", "string", "", 1, DESC_JOB_SELECTOR),
];

pub(super) static CRON_JOBS: &[Col] = &[
    NAME_COLUMN,
    col(
        "Schedule",
        "string",
        "",
        0,
        "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.",
    ),
    col(
        "Timezone",
        "string",
        "",
        0,
        "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will default to the time zone of the kube-controller-manager process. The set of valid time zone names and the time zone offset is loaded from the system-wide time zone database by the API server during CronJob validation and the controller manager during execution. If no system-wide time zone database can be found a bundled version of the database is used instead. If the time zone name becomes invalid during the lifetime of a CronJob or due to a change in host configuration, the controller will stop creating new new Jobs and will create a system event with the reason UnknownTimeZone. More information can be found in https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones",
    ),
    col(
        "Suspend",
        "boolean",
        "",
        0,
        "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false.",
    ),
    col(
        "Active",
        "integer",
        "",
        0,
        "A list of pointers to currently running jobs.",
    ),
    col(
        "Last Schedule",
        "string",
        "",
        0,
        "Information when was the last time the job was successfully scheduled.",
    ),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    col("Selector", "string", "", 1, DESC_JOB_SELECTOR),
];

pub(super) fn job_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let succeeded = int_at(obj, &["status", "succeeded"]);
    let completions = match at(obj, &["spec", "completions"]).and_then(Value::as_i64) {
        Some(c) => format!("{succeeded}/{c}"),
        None => {
            let parallelism = int_at(obj, &["spec", "parallelism"]);
            if parallelism > 1 {
                format!("{succeeded}/1 of {parallelism}")
            } else {
                format!("{succeeded}/1")
            }
        }
    };
    let duration = match (
        time_at(obj, &["status", "startTime"]),
        time_at(obj, &["status", "completionTime"]),
    ) {
        (None, _) => String::new(),
        (Some(start), None) => human_duration_signed(now.duration_since(start)),
        (Some(start), Some(done)) => human_duration_signed(done.duration_since(start)),
    };
    let status = at(obj, &["status"]).unwrap_or(&EMPTY);
    // hasJobCondition looks at the first condition of the type only.
    let job_condition = |ty: &str| first_condition_is_true(status, ty);
    let state = if job_condition("Complete") {
        "Complete"
    } else if job_condition("Failed") {
        "Failed"
    } else if deleting(obj) {
        "Terminating"
    } else if job_condition("Suspended") {
        "Suspended"
    } else if job_condition("FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let (names, images) = template_containers(obj);
    vec![
        json!(name_of(obj)),
        json!(state),
        json!(completions),
        json!(duration),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(selector_at(obj, &["spec", "selector"])),
    ]
}

pub(super) fn cron_job_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let last_schedule = match at(obj, &["status", "lastScheduleTime"]) {
        Some(_) => since(time_at(obj, &["status", "lastScheduleTime"]), now),
        None => "<none>".to_string(),
    };
    let time_zone = at(obj, &["spec", "timeZone"])
        .and_then(Value::as_str)
        .unwrap_or("<none>");
    // printBoolPtr.
    let suspend = match at(obj, &["spec", "suspend"]).and_then(Value::as_bool) {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    };
    let job_spec = at(obj, &["spec", "jobTemplate", "spec"]).unwrap_or(&EMPTY);
    let (names, images) = container_cells(at(job_spec, &["template", "spec"]));
    vec![
        json!(name_of(obj)),
        json!(str_at(obj, &["spec", "schedule"])),
        json!(time_zone),
        json!(suspend),
        json!(len_at(obj, &["status", "active"])),
        json!(last_schedule),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(selector_at(job_spec, &["selector"])),
    ]
}
