//! `capstan hub`, `capstan apply -f` and `capstan get` as processes: invalid input is refused
//! with the field named, a valid upgrade is created and listed, the hub stops cleanly on
//! Ctrl-C (SIGINT), and what it stored is there after a restart on the same data directory;
//! `capstan describe upgrade` and `capstan upgrade pause|resume|abort|approve|skip` operate a
//! rollout, say when the rollout did not take a command, and exit 1 on an unknown name;
//! `capstan upgrade watch` prints each change on a pipe and exits 0 on success, 1 on abort.

#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use capstan_lab::eventually;

const CAPSTAN: &str = env!("CARGO_BIN_EXE_capstan");

/// The canonical example of DESIGN.md, verbatim.
const CANONICAL: &str = include_str!("../../../examples/canary-upgrade.yaml");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `capstan hub` on `port` over `data_dir`, its log appended to `data_dir/../hub.log`,
/// and waits until it answers.
async fn start_hub(data_dir: &Path, port: u16) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data_dir.with_file_name("hub.log"))
        .unwrap();
    let child = Command::new(CAPSTAN)
        .args([
            "hub",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data_dir)
        .args(["--reconcile-every", "200ms"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let hub = hub_url(port);
    eventually("the hub to answer", Duration::from_secs(60), || {
        let hub = hub.clone();
        async move {
            capstan(&hub, &["get", "upgrades"])
                .status
                .success()
                .then_some(())
        }
    })
    .await;
    child
}

fn hub_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

fn capstan(hub: &str, args: &[&str]) -> Output {
    Command::new(CAPSTAN)
        .args(args)
        .env("CAPSTAN_HUB", hub)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn listed_upgrades(hub: &str) -> Vec<String> {
    let out = capstan(hub, &["get", "upgrades", "-o", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_string())
        .collect()
}

/// Sends SIGINT (what Ctrl-C sends) and waits for the process to exit.
fn interrupt(mut child: Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap()
}

#[tokio::test]
async fn apply_and_get_against_a_hub_process_and_survive_its_restart() {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");
    let port = free_port();
    let hub = hub_url(port);
    let first = start_hub(&data_dir, port).await;

    // The generated bootstrap token is the owner's only and never logged.
    let token_path = data_dir.join("bootstrap-token");
    let token = std::fs::read_to_string(&token_path).unwrap();
    let token = token.trim();
    assert_eq!(token.len(), 64, "{token:?}");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // A misspelt field: exit 1, the field's path on stderr, nothing created.
    let bad = temp.path().join("bad.yaml");
    std::fs::write(
        &bad,
        CANONICAL.replace("pause: 1h, percentage: 10", "pauze: 1h, percentage: 10"),
    )
    .unwrap();
    let out = capstan(&hub, &["apply", "-f", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("spec.strategy.canary.steps[0]"), "{stderr}");
    assert!(listed_upgrades(&hub).is_empty());

    // The canonical example is created (it selects no clusters: the inventory is empty).
    let good = temp.path().join("canary.yaml");
    std::fs::write(&good, CANONICAL).unwrap();
    let out = capstan(&hub, &["apply", "-f", good.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "clusterupgrade/prod-canary created\n");
    assert_eq!(listed_upgrades(&hub), ["prod-canary"]);

    // A second apply of the same name is refused.
    let out = capstan(&hub, &["apply", "-f", good.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );

    // The table names its columns and the upgrade.
    let out = capstan(&hub, &["get", "upgrades"]);
    let table = text(&out.stdout);
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "PHASE", "STEP", "UPGRADED", "AGE"]);
    assert!(lines.next().unwrap().starts_with("prod-canary "), "{table}");
    let out = capstan(&hub, &["get", "clusters"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "No clusters found.\n");

    // Ctrl-C stops the hub cleanly; a new hub on the same data directory still has it.
    assert!(interrupt(first).success());
    let second = start_hub(&data_dir, port).await;
    assert_eq!(listed_upgrades(&hub), ["prod-canary"]);
    // The same bootstrap token is reused, not regenerated.
    assert_eq!(std::fs::read_to_string(&token_path).unwrap().trim(), token);
    assert!(interrupt(second).success());

    let log = std::fs::read_to_string(temp.path().join("hub.log")).unwrap();
    assert!(log.contains("bootstrap-token"), "{log}");
    assert!(!log.contains(token), "the log holds the bootstrap token");
}

/// Registers `cluster` with `labels` as an agent would, so that the hub lists it.
async fn register(hub: &str, bootstrap_token: &str, cluster: &str, labels: serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{hub}/api/v1/agents/register"))
        .bearer_auth(bootstrap_token)
        .json(&serde_json::json!({"cluster": cluster, "labels": labels}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    // One healthy report, as an agent's first: preflight refuses a cluster never heard from.
    let registered: serde_json::Value = response.json().await.unwrap();
    let token = registered["token"].as_str().unwrap();
    let response = reqwest::Client::new()
        .post(format!("{hub}/api/v1/agents/{cluster}/report"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "labels": labels,
            "versions": {"controlPlane": "v1.32.4", "kubelet": {"v1.32.4": 3}},
            "nodeCount": 3,
            "podCount": 40,
            "health": "Healthy",
        }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

fn describe_json(hub: &str, name: &str) -> serde_json::Value {
    let out = capstan(hub, &["describe", "upgrade", name, "-o", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn describe_and_operate_an_upgrade_against_a_hub_process() {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");
    let port = free_port();
    let hub = hub_url(port);
    let child = start_hub(&data_dir, port).await;
    let token = std::fs::read_to_string(data_dir.join("bootstrap-token")).unwrap();
    // One production cluster whose agent never reports: it stays Upgrading, so the rollout
    // stays Progressing and takes pause and resume.
    register(
        &hub,
        token.trim(),
        "prod-1",
        serde_json::json!({"environment": "production"}),
    )
    .await;
    let file = temp.path().join("canary.yaml");
    std::fs::write(&file, CANONICAL).unwrap();
    let out = capstan(&hub, &["apply", "-f", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        describe_json(&hub, "prod-canary")["status"]["phase"],
        "Progressing"
    );

    let out = capstan(&hub, &["upgrade", "pause", "prod-canary"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("clusterupgrade/prod-canary paused\nphase: Paused"),
        "{stdout}"
    );

    let out = capstan(&hub, &["describe", "upgrade", "prod-canary"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let described = text(&out.stdout);
    let field = |key: &str| {
        described
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}:")))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {key} in {described}"))
            .to_string()
    };
    assert_eq!(field("Name"), "prod-canary");
    assert_eq!(field("Phase"), "Paused");
    assert_eq!(field("Step"), "1/3 (10%, pause 1h)");
    assert!(
        field("Upgraded").starts_with("0/1 (1 upgrading"),
        "{described}"
    );
    let cluster_row: Vec<&str> = described
        .lines()
        .find(|l| l.trim_start().starts_with("prod-1 "))
        .unwrap_or_else(|| panic!("no prod-1 row in {described}"))
        .split_whitespace()
        .collect();
    assert_eq!(
        cluster_row[..3],
        ["prod-1", "Upgrading", "1"],
        "{described}"
    );
    let events = described.split("Events:\n").nth(1).unwrap();
    assert!(
        events
            .lines()
            .any(|l| l.trim_start().starts_with("RolloutPaused ")),
        "{described}"
    );

    let out = capstan(&hub, &["upgrade", "resume", "prod-canary"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("clusterupgrade/prod-canary resumed\nphase: Progressing"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        describe_json(&hub, "prod-canary")["status"]["phase"],
        "Progressing"
    );

    // A cluster that is upgrading cannot be skipped: exit 1 with the rollout's reason.
    let out = capstan(
        &hub,
        &["upgrade", "skip", "prod-canary", "--cluster", "prod-1"],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("was not skipped: prod-1 is upgrading"),
        "{stderr}"
    );
    let out = capstan(&hub, &["upgrade", "approve", "prod-canary", "--step", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        describe_json(&hub, "prod-canary")["status"]["approvedSteps"],
        serde_json::json!([1])
    );

    // An aborted rollout takes no pause: exit 1, and the phase it is in is named.
    let out = capstan(&hub, &["upgrade", "abort", "prod-canary"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = capstan(&hub, &["upgrade", "pause", "prod-canary"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("was not paused: its phase is Aborted"),
        "{stderr}"
    );

    // Unknown names: exit 1 with the hub's message.
    for args in [
        &["upgrade", "pause", "no-such"][..],
        &["upgrade", "skip", "no-such", "--cluster", "prod-1"][..],
        &["describe", "upgrade", "no-such"][..],
    ] {
        let out = capstan(&hub, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("upgrade \"no-such\" not found"),
            "{args:?}: {stderr}"
        );
    }

    assert!(interrupt(child).success());
}

/// Two production clusters in two canary steps with soaks of seconds on the hub's real clock
/// (the first long enough for the watch to see it under load). `quick-abort` selects the
/// staging cluster.
const QUICK: &str = "\
apiVersion: upgrade.toolkit.io/v1alpha1
kind: ClusterUpgrade
metadata: {name: NAME}
spec:
  clusterSelector: {matchLabels: {environment: ENVIRONMENT}}
  strategy:
    type: Canary
    canary:
      steps:
      - {pause: 2s, percentage: 50}
      - {pause: 1s, percentage: 100}
";

/// `capstan upgrade watch NAME` with its standard output piped (so: lines, no bars), read
/// line by line into the returned list as it prints.
fn start_watch(
    hub: &str,
    name: &str,
) -> (
    Child,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    std::thread::JoinHandle<()>,
) {
    use std::io::BufRead;
    let mut child = Command::new(CAPSTAN)
        .args(["upgrade", "watch", name, "--interval", "100ms"])
        .env("CAPSTAN_HUB", hub)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let printed = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let stdout = child.stdout.take().unwrap();
    let reader = {
        let printed = printed.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                printed.lock().unwrap().push(line.unwrap());
            }
        })
    };
    (child, printed, reader)
}

/// Waits for `line` (a substring) among what the watch printed.
async fn printed_line(printed: &std::sync::Mutex<Vec<String>>, line: &str) {
    eventually(
        &format!("the watch to print {line:?}"),
        Duration::from_secs(60),
        || async {
            printed
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains(line))
                .then_some(())
        },
    )
    .await;
}

/// Waits for `child` to exit; its standard error.
async fn exited(mut child: Child) -> (std::process::ExitStatus, String) {
    let status = eventually("the watch to exit", Duration::from_secs(60), || {
        let status = child.try_wait().unwrap();
        async move { status }
    })
    .await;
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status, stderr)
}

/// Reports `agent`'s cluster healthy on 1.32 with 1.33 offered, as its agent would (a report
/// carries the cluster's labels, which replace those it registered with).
async fn report_healthy(hub: &str, agent: &capstan_agent::HubClient, environment: &str) {
    let response = reqwest::Client::new()
        .post(format!("{hub}/api/v1/agents/{}/report", agent.cluster()))
        .bearer_auth(agent.token())
        .json(&serde_json::json!({
            "labels": {"environment": environment},
            "versions": {"controlPlane": "v1.32.4", "kubelet": {"v1.32.4": 3}},
            "nodeCount": 3,
            "podCount": 10,
            "health": "Healthy",
            "offeredVersions": ["1.32.4", "1.33.1"],
        }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

/// Posts Succeeded for work item `id` as `agent`'s cluster would.
async fn work_succeeded(hub: &str, agent: &capstan_agent::HubClient, id: &str, generation: i64) {
    let mut url = reqwest::Url::parse(hub).unwrap();
    // Work ids hold '/': each is one escaped path segment.
    url.path_segments_mut().unwrap().pop_if_empty().extend([
        "api",
        "v1",
        "agents",
        agent.cluster(),
        "work",
        id,
        "status",
    ]);
    let response = reqwest::Client::new()
        .post(url)
        .bearer_auth(agent.token())
        .json(&serde_json::json!({"generation": generation, "status": "Succeeded"}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

#[tokio::test]
async fn watch_follows_an_upgrade_to_success_and_exits_1_on_abort() {
    use capstan_agent::HubClient;
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");
    let port = free_port();
    let hub = hub_url(port);
    let child = start_hub(&data_dir, port).await;
    let token = std::fs::read_to_string(data_dir.join("bootstrap-token")).unwrap();
    let mut agents = std::collections::BTreeMap::new();
    for (cluster, environment) in [
        ("prod-1", "production"),
        ("prod-2", "production"),
        ("stage-1", "staging"),
    ] {
        let labels = [("environment".to_string(), environment.to_string())].into();
        let agent = HubClient::register(&hub, token.trim(), cluster, &labels)
            .await
            .unwrap();
        // Preflight admits only clusters that reported health and versions.
        report_healthy(&hub, &agent, environment).await;
        agents.insert(cluster, agent);
    }
    let apply = |name: &str, environment: &str| {
        let file = temp.path().join(format!("{name}.yaml"));
        let yaml = QUICK
            .replace("NAME", name)
            .replace("ENVIRONMENT", environment);
        std::fs::write(&file, yaml).unwrap();
        let out = capstan(&hub, &["apply", "-f", file.to_str().unwrap()]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    };

    apply("quick", "production");
    let (watch, printed, reader) = start_watch(&hub, "quick");
    let plan: Vec<String> = describe_json(&hub, "quick")["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cluster"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(plan.len(), 2);
    // Each cluster's agent reports success only once the watch has shown it upgrading, so
    // that the watch sees every transition.
    for cluster in &plan {
        printed_line(&printed, &format!("cluster {cluster}: ")).await;
        let agent = &agents[cluster.as_str()];
        let item = eventually("the cluster's work", Duration::from_secs(60), || async {
            let open = agent.poll_work(Duration::ZERO).await.unwrap();
            open.into_iter().find(|w| !w.status.is_final())
        })
        .await;
        work_succeeded(&hub, agent, &item.id, item.generation).await;
    }
    let (status, stderr) = exited(watch).await;
    reader.join().unwrap();
    let printed = printed.lock().unwrap().clone();
    let all = printed.join("\n");
    assert_eq!(status.code(), Some(0), "{stderr}\n{all}");
    // Lines, not bars: no escape sequences or carriage returns on a pipe.
    assert!(!all.contains('\u{1b}') && !all.contains('\r'), "{all}");
    // The first cluster was upgrading when the watch started (applying starts it); the
    // second goes through each state in the watch's sight.
    assert!(
        printed
            .iter()
            .any(|l| l.contains(&format!("cluster {}: Upgrading", plan[0]))),
        "{all}"
    );
    for line in [
        format!("cluster {}: Upgrading -> Succeeded (", plan[0]),
        format!("cluster {}: Pending -> Upgrading (attempt 1)", plan[1]),
        format!("cluster {}: Upgrading -> Succeeded (", plan[1]),
        "  Soaking  step 1/2  upgraded 1/2  soak ".to_string(),
        "  Succeeded  step 2/2  upgraded 2/2".to_string(),
        "event RolloutSucceeded: ".to_string(),
    ] {
        assert!(
            printed.iter().any(|l| l.contains(&line)),
            "{line:?} in\n{all}"
        );
    }
    // Each event once, although every answer carries all of them.
    let completed = printed
        .iter()
        .filter(|l| l.contains("event StepCompleted: "))
        .count();
    assert_eq!(completed, 2, "{all}");
    // The final phase and the rollout's last event end the output, in either order (the hub
    // reads an upgrade's state and its events one after the other, so an answer can carry
    // the event before the phase): nothing prints after the end.
    let tail = &printed[printed.len() - 2..];
    assert!(
        tail.iter().any(|l| l.contains("  Succeeded  step 2/2"))
            && tail.iter().any(|l| l.contains("event RolloutSucceeded: ")),
        "{all}"
    );

    // Aborted: exit 1 with the phase on standard error.
    apply("quick-abort", "staging");
    let (watch, printed, reader) = start_watch(&hub, "quick-abort");
    printed_line(&printed, "  Progressing  step 1/2").await;
    let out = capstan(&hub, &["upgrade", "abort", "quick-abort"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (status, stderr) = exited(watch).await;
    reader.join().unwrap();
    let all = printed.lock().unwrap().join("\n");
    assert_eq!(status.code(), Some(1), "{stderr}\n{all}");
    assert!(
        stderr.contains("clusterupgrade/quick-abort Aborted"),
        "{stderr}"
    );
    assert!(all.contains("  Aborted  step 1/2  upgraded 0/1"), "{all}");

    // An unknown name: exit 1 at once with the hub's message.
    let out = capstan(&hub, &["upgrade", "watch", "no-such"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("upgrade \"no-such\" not found"),
        "{}",
        text(&out.stderr)
    );

    assert!(interrupt(child).success());
}

#[tokio::test]
async fn watch_retries_an_unreachable_hub_until_its_timeout() {
    // Nothing listens on a port just freed: every try is refused.
    let hub = hub_url(free_port());
    let out = Command::new(CAPSTAN)
        .args(["upgrade", "watch", "prod-canary", "--interval", "100ms"])
        .args(["--timeout", "1s"])
        .env("CAPSTAN_HUB", &hub)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("the hub does not answer; retrying"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "the hub at {hub} has not answered for 1s (--timeout 1s)"
        )),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
}

/// Registers `cluster` and sends one report carrying a health report with `alerts` (JSON, as
/// `capstan_core::health::Alert` serializes), as an agent evaluating its rules would.
async fn report_with_alerts(
    hub: &str,
    bootstrap_token: &str,
    cluster: &str,
    environment: &str,
    alerts: serde_json::Value,
) {
    let labels = serde_json::json!({"environment": environment});
    let response = reqwest::Client::new()
        .post(format!("{hub}/api/v1/agents/register"))
        .bearer_auth(bootstrap_token)
        .json(&serde_json::json!({"cluster": cluster, "labels": labels}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let registered: serde_json::Value = response.json().await.unwrap();
    let token = registered["token"].as_str().unwrap();
    let count = |state: &str, severity: &str| {
        alerts
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["state"] == state && a["severity"] == severity)
            .count()
    };
    let firing = serde_json::json!({
        "critical": count("firing", "critical"),
        "warning": count("firing", "warning"),
    });
    let pending = count("pending", "critical") + count("pending", "warning");
    let response = reqwest::Client::new()
        .post(format!("{hub}/api/v1/agents/{cluster}/report"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "labels": labels,
            "versions": {"controlPlane": "v1.32.4", "kubelet": {"v1.32.4": 3}},
            "nodeCount": 3,
            "podCount": 40,
            "health": "Healthy",
            "healthReport": {
                "source": "scrape",
                "evaluation": 1,
                "evaluatedAt": capstan_clock::Clock::now(&capstan_clock::SystemClock),
                "alerts": alerts,
                "firing": firing,
                "pending": pending,
            },
        }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

#[tokio::test]
async fn get_alerts_and_clusters_show_the_fleet_health_from_a_hub_process() {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");
    let port = free_port();
    let hub = hub_url(port);
    let child = start_hub(&data_dir, port).await;
    let bootstrap = std::fs::read_to_string(data_dir.join("bootstrap-token")).unwrap();
    let bootstrap = bootstrap.trim();
    let since = capstan_clock::Clock::now(&capstan_clock::SystemClock)
        - jiff::SignedDuration::from_secs(600);
    let alert = |rule: &str, severity: &str, state: &str, node: &str, value: f64| {
        serde_json::json!({
            "rule": rule, "severity": severity, "value": value, "threshold": 0.8,
            "comparison": ">", "labels": {"node": node}, "since": since, "state": state,
        })
    };
    report_with_alerts(
        &hub,
        bootstrap,
        "eu-1",
        "production",
        serde_json::json!([
            alert("NodeCPUHigh", "critical", "firing", "n1", 0.93),
            alert("NodeMemoryHigh", "warning", "firing", "n2", 0.85),
        ]),
    )
    .await;
    report_with_alerts(
        &hub,
        bootstrap,
        "us-1",
        "production",
        serde_json::json!([alert("NodeDiskFull", "warning", "firing", "n7", 0.91)]),
    )
    .await;
    report_with_alerts(&hub, bootstrap, "dev-1", "staging", serde_json::json!([])).await;

    let out = capstan(&hub, &["get", "alerts"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[0],
        [
            "CLUSTER",
            "RULE",
            "SEVERITY",
            "STATE",
            "VALUE",
            "THRESHOLD",
            "SINCE",
            "LABELS"
        ]
    );
    // Critical first, then by cluster and rule; the threshold with its comparison.
    assert_eq!(
        rows[1],
        [
            "eu-1",
            "NodeCPUHigh",
            "critical",
            "firing",
            "0.93",
            ">",
            "0.8",
            "10m",
            "node=n1"
        ]
    );
    assert_eq!(
        rows[2][..4],
        ["eu-1", "NodeMemoryHigh", "warning", "firing"]
    );
    assert_eq!(rows[3][..4], ["us-1", "NodeDiskFull", "warning", "firing"]);
    assert_eq!(rows.len(), 4, "{table}");

    let out = capstan(
        &hub,
        &[
            "get",
            "alerts",
            "--severity",
            "warning",
            "-l",
            "environment=production",
            "-o",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["clusters"], 2);
    let rules: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["NodeMemoryHigh", "NodeDiskFull"]);

    let out = capstan(&hub, &["get", "clusters"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].contains("HEALTH") && lines[0].contains("ALERTS"),
        "{table}"
    );
    let row = |name: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap()
            .to_string()
    };
    assert!(
        row("eu-1").contains(" Critical   1 critical, 1 warning "),
        "{table}"
    );
    assert!(row("us-1").contains(" Degraded   1 warning "), "{table}");
    assert!(row("dev-1").contains(" Healthy    - "), "{table}");

    assert!(interrupt(child).success());
}
