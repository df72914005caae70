//! The `exec` provider: one user command (an EKS/GKE/AKS CLI wrapper, a Terraform run) per
//! action, told what to do through environment variables.
//!
//! The command is run directly (no shell), inheriting Capstan's environment plus
//! [`ExecConfig::extra_env`], with stdin closed and these variables set when they apply (and
//! removed from the inherited environment when they do not, so that a script can test them):
//!
//! | variable               | set for                                             |
//! |------------------------|-----------------------------------------------------|
//! | `CAPSTAN_ACTION`       | always: `control-plane-upgrade`, `create-nodes`, `delete-node`, `versions`, `machines` |
//! | `CAPSTAN_CLUSTER`      | always                                              |
//! | `CAPSTAN_POOL`         | `create-nodes`                                      |
//! | `CAPSTAN_COUNT`        | `create-nodes`                                      |
//! | `CAPSTAN_NODE`         | `delete-node`                                       |
//! | `CAPSTAN_FROM_VERSION` | `control-plane-upgrade` (the current version)       |
//! | `CAPSTAN_TO_VERSION`   | `control-plane-upgrade`, `create-nodes` (`1.32` or `1.32.4`) |
//!
//! Exit code 0 is success; [`EXIT_NOT_SUPPORTED`] (3) from `versions` or `machines` means
//! "this command does not implement that" and selects the fallback below; any other code is
//! an error carrying the end of stderr. A command still running after
//! [`ExecConfig::timeout`] is killed together with every process it started.
//!
//! What each action prints on stdout:
//! - `control-plane-upgrade`: nothing required. The action is synchronous: exit when the
//!   upgrade is done; Capstan then reads the version from the API server.
//! - `create-nodes`: the new machines' names, one a line, if known (may be empty).
//! - `delete-node`: nothing required.
//! - `versions`: the installable versions, separated by whitespace (`1.31.2 1.32.0 1.32.4`).
//!   Not supported: the control plane's version and the next minor's `.0` are offered, which
//!   is enough for a one-minor upgrade when the cloud accepts it.
//! - `machines`: the machines not yet (or no longer) plain running nodes, one JSON object a
//!   line, with [`Machine`]'s fields; `phases` may be left out:
//!   ```text
//!   {"name":"ip-10-0-1-7","pool":"general","version":"1.32.4","phase":"Joining","phases":[["Provisioning","2025-06-01T10:00:00Z"],["Joining","2025-06-01T10:06:12Z"]]}
//!   ```
//!   Not supported: no machines (the upgrade then watches Nodes only).
//!
//! Every mutating action's outcome (and any failed query) is recorded as an Event, reason
//! `ProviderExec` or `ProviderExecFailed`, with the end of the command's output: on the Node
//! for `delete-node`, otherwise on the `kube-system` Namespace (Events about a cluster-scoped
//! object live in `default`: `kubectl get events -n default --field-selector
//! reason=ProviderExecFailed`). Successful `versions`/`machines` queries are not recorded:
//! an upgrade polls them, and an event per poll would bury the ones that matter.
//!
//! The command's output may hold credentials or account details, so it goes to those events
//! and to debug logs only; the environment is never logged.

mod run;

use std::fmt::Write as _;
use std::time::Duration;

use capstan_clock::Stopwatch;
use capstan_core::duration::format_duration;
use capstan_core::version::KubeVersion;
use futures::future::BoxFuture;
use jiff::Timestamp;
use serde::Deserialize;
use tokio::process::Command;

use self::run::{Captured, RunError};
use crate::events::{EventRecorder, EventTarget, EventType};
use crate::provider::{ControlPlaneStatus, Machine, MachinePhase, Provider};
use crate::{Error, Result};

/// The exit code by which a command says it does not implement an action (`versions`,
/// `machines`); Capstan then falls back as the module documentation describes.
pub const EXIT_NOT_SUPPORTED: i32 = 3;

/// Default [`ExecConfig::timeout`]: a managed control-plane upgrade takes 10–20 minutes.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Stdout kept for actions that only report (the end is what matters).
const OUTPUT_TAIL: usize = 64 * 1024;
/// Stdout kept for actions whose answer is parsed; a longer answer is an error rather than
/// silently cut.
const ANSWER_LIMIT: usize = 8 * 1024 * 1024;
/// Stderr quoted in an error message.
const ERROR_TAIL: usize = 1024;
/// Upstream's event message limit (the recorder cuts longer messages from the front; this
/// module cuts the output instead so the summary line stays).
const EVENT_MESSAGE_LIMIT: usize = 1024;

/// Which command to run and how.
#[derive(Clone)]
pub struct ExecConfig {
    /// Program and arguments, run directly (no shell).
    pub command: Vec<String>,
    /// The cluster's name, passed as `CAPSTAN_CLUSTER`.
    pub cluster: String,
    /// How long one action may run before it is killed.
    pub timeout: Duration,
    /// More environment for the command (credentials, a profile name).
    pub extra_env: Vec<(String, String)>,
}

impl ExecConfig {
    pub fn new(command: Vec<String>, cluster: &str) -> Self {
        Self {
            command,
            cluster: cluster.to_string(),
            timeout: DEFAULT_TIMEOUT,
            extra_env: Vec::new(),
        }
    }
}

impl std::fmt::Debug for ExecConfig {
    /// Names only for the extra environment: its values may be credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecConfig")
            .field("command", &self.command)
            .field("cluster", &self.cluster)
            .field("timeout", &self.timeout)
            .field(
                "extra_env",
                &self.extra_env.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// What a command is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    ControlPlaneUpgrade,
    CreateNodes,
    DeleteNode,
    Versions,
    Machines,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Self::ControlPlaneUpgrade => "control-plane-upgrade",
            Self::CreateNodes => "create-nodes",
            Self::DeleteNode => "delete-node",
            Self::Versions => "versions",
            Self::Machines => "machines",
        }
    }

    /// Whether the action only reads; its successes are not recorded as events.
    fn is_query(self) -> bool {
        matches!(self, Self::Versions | Self::Machines)
    }

    /// Whether stdout is the action's answer.
    fn parses_stdout(self) -> bool {
        matches!(self, Self::Versions | Self::Machines | Self::CreateNodes)
    }

    fn may_be_unsupported(self) -> bool {
        self.is_query()
    }
}

const ENV_ACTION: &str = "CAPSTAN_ACTION";
const ENV_CLUSTER: &str = "CAPSTAN_CLUSTER";
const ENV_POOL: &str = "CAPSTAN_POOL";
const ENV_NODE: &str = "CAPSTAN_NODE";
const ENV_FROM_VERSION: &str = "CAPSTAN_FROM_VERSION";
const ENV_TO_VERSION: &str = "CAPSTAN_TO_VERSION";
const ENV_COUNT: &str = "CAPSTAN_COUNT";

/// One action with its parameters.
#[derive(Debug)]
struct Invocation {
    action: Action,
    pool: Option<String>,
    node: Option<String>,
    from_version: Option<KubeVersion>,
    to_version: Option<KubeVersion>,
    count: Option<u32>,
}

impl Invocation {
    fn new(action: Action) -> Self {
        Self {
            action,
            pool: None,
            node: None,
            from_version: None,
            to_version: None,
            count: None,
        }
    }

    /// The variables that apply, in the table's order.
    fn env(&self) -> [(&'static str, Option<String>); 5] {
        [
            (ENV_POOL, self.pool.clone()),
            (ENV_NODE, self.node.clone()),
            (ENV_FROM_VERSION, self.from_version.map(|v| v.to_string())),
            (ENV_TO_VERSION, self.to_version.map(|v| v.to_string())),
            (ENV_COUNT, self.count.map(|c| c.to_string())),
        ]
    }

    /// `create-nodes pool=general to_version=1.32.4 count=2`, for messages.
    fn describe(&self) -> String {
        let mut out = self.action.as_str().to_string();
        for (name, value) in self.env() {
            if let Some(value) = value {
                let key = name.trim_start_matches("CAPSTAN_").to_ascii_lowercase();
                let _ = write!(out, " {key}={value}");
            }
        }
        out
    }

    fn event_target(&self) -> EventTarget {
        match &self.node {
            Some(node) => EventTarget::node(node),
            None => EventTarget {
                api_version: "v1".into(),
                kind: "Namespace".into(),
                namespace: None,
                name: "kube-system".into(),
                uid: None,
            },
        }
    }
}

/// A command's answer: stdout, or "not supported".
enum Answer {
    Stdout(String),
    NotSupported,
}

/// Runs a user command per [`Provider`] action.
pub struct ExecProvider {
    config: ExecConfig,
    client: kube::Client,
    recorder: Option<EventRecorder>,
}

impl ExecProvider {
    pub fn new(config: ExecConfig, client: kube::Client, recorder: Option<EventRecorder>) -> Self {
        Self {
            config,
            client,
            recorder,
        }
    }

    fn error(&self, message: String) -> Error {
        Error::Provider {
            provider: "exec".to_string(),
            message,
        }
    }

    /// Runs `invocation`, records its outcome, and returns its stdout.
    async fn invoke(&self, invocation: &Invocation) -> Result<Answer> {
        let action = invocation.action;
        let described = invocation.describe();
        let stopwatch = Stopwatch::start();
        let outcome = self.execute(invocation).await;
        let took = format_duration(round_to_millis(stopwatch.elapsed()));
        let (event_type, reason, summary, output, result) = match outcome {
            Ok((status, stdout, stderr)) => {
                let output = join_output(&stdout, &stderr);
                match status {
                    Some(0) => (
                        EventType::Normal,
                        "ProviderExec",
                        format!("{described}: succeeded in {took}"),
                        output,
                        Ok(Answer::Stdout(stdout.text())),
                    ),
                    Some(EXIT_NOT_SUPPORTED) if action.may_be_unsupported() => (
                        EventType::Normal,
                        "ProviderExec",
                        format!("{described}: not supported by the command (exit code 3)"),
                        output,
                        Ok(Answer::NotSupported),
                    ),
                    code => {
                        let exit = match code {
                            Some(code) => format!("exited with code {code}"),
                            None => "was killed by a signal".to_string(),
                        };
                        let stderr_tail = tail(stderr.text().trim_end(), ERROR_TAIL).to_string();
                        let message = if stderr_tail.is_empty() {
                            format!("{action}: {exit}", action = action.as_str())
                        } else {
                            format!("{action}: {exit}: {stderr_tail}", action = action.as_str())
                        };
                        (
                            EventType::Warning,
                            "ProviderExecFailed",
                            format!("{described}: {exit} after {took}"),
                            output,
                            Err(self.error(message)),
                        )
                    }
                }
            }
            Err(RunError::TimedOut { stdout, stderr }) => {
                let timeout = format_duration(self.config.timeout);
                (
                    EventType::Warning,
                    "ProviderExecFailed",
                    format!("{described}: killed after the {timeout} timeout"),
                    join_output(&stdout, &stderr),
                    Err(self.error(format!(
                        "{}: killed after the {timeout} timeout",
                        action.as_str()
                    ))),
                )
            }
            Err(RunError::Spawn(e)) => {
                let program = self.config.command.first().cloned().unwrap_or_default();
                let message = format!("{}: cannot run {program:?}: {e}", action.as_str());
                (
                    EventType::Warning,
                    "ProviderExecFailed",
                    format!("{described}: cannot run {program:?}: {e}"),
                    String::new(),
                    Err(self.error(message)),
                )
            }
            Err(RunError::Io(e)) => {
                let message = format!("{}: reading the command's output: {e}", action.as_str());
                (
                    EventType::Warning,
                    "ProviderExecFailed",
                    format!("{described}: {message}"),
                    String::new(),
                    Err(self.error(message)),
                )
            }
        };
        let cluster = &self.config.cluster;
        match &result {
            // An upgrade polls the queries; their successes are detail.
            Ok(_) if action.is_query() => tracing::debug!(cluster, "exec provider: {summary}"),
            Ok(_) => tracing::info!(cluster, "exec provider: {summary}"),
            Err(_) => tracing::warn!(cluster, "exec provider: {summary}"),
        }
        // The output may hold account details: debug only.
        tracing::debug!(
            cluster,
            action = action.as_str(),
            "exec provider output:\n{output}"
        );
        if event_type == EventType::Warning || !action.is_query() {
            self.record(invocation, event_type, reason, &summary, &output)
                .await;
        }
        result
    }

    /// Spawns the command for `invocation`: (exit code, stdout, stderr).
    async fn execute(
        &self,
        invocation: &Invocation,
    ) -> Result<(Option<i32>, Captured, Captured), RunError> {
        let Some((program, args)) = self.config.command.split_first() else {
            return Err(RunError::Spawn(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the exec provider's command is empty",
            )));
        };
        let mut command = Command::new(program);
        command.args(args);
        command.envs(self.config.extra_env.iter().map(|(k, v)| (k, v)));
        command.env(ENV_ACTION, invocation.action.as_str());
        command.env(ENV_CLUSTER, &self.config.cluster);
        for (name, value) in invocation.env() {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        let stdout_limit = if invocation.action.parses_stdout() {
            // One byte over the limit tells a full answer from a cut one.
            ANSWER_LIMIT + 1
        } else {
            OUTPUT_TAIL
        };
        let finished = run::run(command, self.config.timeout, stdout_limit, OUTPUT_TAIL).await?;
        if invocation.action.parses_stdout() && finished.stdout.dropped > 0 {
            return Err(RunError::Io(std::io::Error::other(format!(
                "the answer on stdout is longer than {} MiB",
                ANSWER_LIMIT / (1024 * 1024)
            ))));
        }
        Ok((finished.status.code(), finished.stdout, finished.stderr))
    }

    async fn record(
        &self,
        invocation: &Invocation,
        event_type: EventType,
        reason: &str,
        summary: &str,
        output: &str,
    ) {
        let Some(recorder) = &self.recorder else {
            return;
        };
        let room = EVENT_MESSAGE_LIMIT.saturating_sub(summary.len() + 1);
        let output = tail(output.trim_end(), room);
        let message = if output.is_empty() {
            summary.to_string()
        } else {
            format!("{summary}\n{output}")
        };
        let target = invocation.event_target();
        if let Err(e) = recorder.record(&target, event_type, reason, &message).await {
            // The action's own outcome matters more than its record.
            tracing::warn!(
                cluster = %self.config.cluster,
                "recording the {reason} event on {} {}: {e}",
                target.kind,
                target.name
            );
        }
    }
}

impl Provider for ExecProvider {
    fn name(&self) -> &str {
        "exec"
    }

    fn control_plane(&self) -> BoxFuture<'_, Result<ControlPlaneStatus>> {
        Box::pin(async move {
            let info = self.client.apiserver_version().await?;
            // `v1.32.4-eks-1234abc`: the build detail after the numbers is dropped.
            let version = KubeVersion::parse(&info.git_version)
                .map_err(|e| self.error(format!("the API server's version: {e}")))?;
            Ok(ControlPlaneStatus {
                version,
                upgrading_to: None,
                last_error: None,
            })
        })
    }

    fn versions(&self) -> BoxFuture<'_, Result<Vec<KubeVersion>>> {
        Box::pin(async move {
            match self.invoke(&Invocation::new(Action::Versions)).await? {
                Answer::Stdout(stdout) => parse_versions(&stdout).map_err(|m| self.error(m)),
                Answer::NotSupported => {
                    let current = self.control_plane().await?.version;
                    let next = current.next_minor();
                    Ok(vec![current, KubeVersion::new(next.major, next.minor, 0)])
                }
            }
        })
    }

    fn upgrade_control_plane<'a>(&'a self, to: &'a KubeVersion) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let current = self.control_plane().await?.version;
            let mut invocation = Invocation::new(Action::ControlPlaneUpgrade);
            invocation.from_version = Some(current);
            invocation.to_version = Some(*to);
            self.invoke(&invocation).await.map(|_| ())
        })
    }

    fn machines(&self) -> BoxFuture<'_, Result<Vec<Machine>>> {
        Box::pin(async move {
            match self.invoke(&Invocation::new(Action::Machines)).await? {
                Answer::Stdout(stdout) => parse_machines(&stdout).map_err(|m| self.error(m)),
                Answer::NotSupported => Ok(Vec::new()),
            }
        })
    }

    fn create_nodes<'a>(
        &'a self,
        pool: &'a str,
        count: u32,
        version: &'a KubeVersion,
    ) -> BoxFuture<'a, Result<Vec<String>>> {
        Box::pin(async move {
            let mut invocation = Invocation::new(Action::CreateNodes);
            invocation.pool = Some(pool.to_string());
            invocation.count = Some(count);
            invocation.to_version = Some(*version);
            match self.invoke(&invocation).await? {
                Answer::Stdout(stdout) => Ok(stdout
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect()),
                Answer::NotSupported => Ok(Vec::new()),
            }
        })
    }

    fn delete_node<'a>(&'a self, node: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut invocation = Invocation::new(Action::DeleteNode);
            invocation.node = Some(node.to_string());
            self.invoke(&invocation).await.map(|_| ())
        })
    }
}

/// Whitespace-separated versions, returned oldest first without duplicates.
fn parse_versions(stdout: &str) -> std::result::Result<Vec<KubeVersion>, String> {
    let mut versions = stdout
        .split_whitespace()
        .map(|word| {
            KubeVersion::parse(word).map_err(|e| format!("versions: the command printed {e}"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    versions.sort_unstable();
    versions.dedup();
    Ok(versions)
}

/// A machine line; `phases` may be left out.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MachineLine {
    name: String,
    pool: String,
    version: String,
    phase: MachinePhase,
    #[serde(default)]
    phases: Vec<(MachinePhase, Timestamp)>,
}

/// One JSON [`Machine`] a line; blank lines are skipped.
fn parse_machines(stdout: &str) -> std::result::Result<Vec<Machine>, String> {
    stdout
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            let m: MachineLine = serde_json::from_str(line)
                .map_err(|e| format!("machines: line {} of the output: {e}", i + 1))?;
            Ok(Machine {
                name: m.name,
                pool: m.pool,
                version: m.version,
                phase: m.phase,
                phases: m.phases,
            })
        })
        .collect()
}

/// Stdout then stderr, for events and debug logs.
fn join_output(stdout: &Captured, stderr: &Captured) -> String {
    let mut out = String::new();
    for (name, stream) in [("stdout", stdout), ("stderr", stderr)] {
        let text = stream.text();
        let text = text.trim_end();
        if text.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = write!(out, "[{name}]");
        if stream.dropped > 0 {
            let _ = write!(out, " ({} earlier bytes dropped)", stream.dropped);
        }
        let _ = write!(out, "\n{text}");
    }
    out
}

/// The last `limit` bytes of `s`, cut at a character boundary.
fn tail(s: &str, limit: usize) -> &str {
    if s.len() <= limit {
        return s;
    }
    let mut start = s.len() - limit;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

fn round_to_millis(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests;
