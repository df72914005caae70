//! The `exec` provider against the twin's fake cloud: the provider command is a shell script
//! that calls the cloud API with `kubectl --raw`, as a user's wrapper around a cloud CLI would.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use capstan_clock::SharedClock;
use capstan_core::version::KubeVersion;
use capstan_kube::events::EventRecorder;
use capstan_kube::provider::Provider;
use capstan_kube::provider::exec::{ExecConfig, ExecProvider};
use capstan_lab::{LabTwin, eventually};
use k8s_openapi::api::core::v1::{Event, Node};
use kube::Api;
use kube::api::ListParams;

/// One cluster of six nodes at 1.32.4.
const FLEET: &str = r#"
clusters:
- name: alpha
  labels: {environment: production, region: eu-west-1, provider: aws}
  version: "1.32.4"
  provider: aws
  region: eu-west-1
  pods: 30
  seed: 7
  nodePools:
  - name: general
    instanceType: m6i.2xlarge
    capacityType: on-demand
    nodes: 6
    cpu: "8"
    memory: 32Gi
    zones: [eu-west-1a, eu-west-1b]
"#;

/// Simulated minutes pass in a tenth of a real second: a machine provisions and joins within
/// about two real seconds.
const SCALE: f64 = 600.0;
const DEADLINE: Duration = Duration::from_secs(60);

/// The provider command: every action through the twin's cloud API. It also writes its
/// `CAPSTAN_*` environment to `$ENV_DIR/<action>.env` for the test to read.
///
/// `kubectl --raw` takes a path relative to the server's host, not to the kubeconfig's
/// server URL (client-go's `Request.RequestURI` replaces the whole path), so the script
/// prefixes the server URL's own path (`/clusters/alpha` on the twin). Answers are captured
/// before being reshaped, so that a failing kubectl fails the script (`sh` has no pipefail).
const PROVIDER_SCRIPT: &str = r#"#!/bin/sh
set -eu
k() { kubectl --kubeconfig "$KUBECONFIG" --context "$CAPSTAN_CLUSTER" "$@"; }
env | grep '^CAPSTAN_' | sort > "$ENV_DIR/$CAPSTAN_ACTION.env"
server=$(k config view --minify -o jsonpath='{.clusters[0].cluster.server}')
cloud="$(printf '%s' "$server" | sed -E 's#^https?://[^/]*##')/cloud/v1"
# ["a","b"] in a JSON answer -> one item a line
items() { printf '%s\n' "$1" | sed -e 's/.*\[//' -e 's/\].*//' | tr -d '" ' | tr ',' '\n'; }
case "$CAPSTAN_ACTION" in
versions)
    answer=$(k get --raw "$cloud/versions")
    items "$answer"
    ;;
create-nodes)
    body="$ENV_DIR/create-nodes.json"
    printf '{"count": %s, "version": "%s"}' "$CAPSTAN_COUNT" "$CAPSTAN_TO_VERSION" > "$body"
    answer=$(k create --raw "$cloud/node-pools/$CAPSTAN_POOL/nodes" -f "$body")
    items "$answer"
    ;;
delete-node)
    k delete --raw "$cloud/nodes/$CAPSTAN_NODE" >/dev/null
    ;;
control-plane-upgrade)
    body="$ENV_DIR/upgrade.json"
    printf '{"version": "%s"}' "$CAPSTAN_TO_VERSION" > "$body"
    k create --raw "$cloud/control-plane/upgrade" -f "$body" >/dev/null
    ;;
machines)
    exit 3
    ;;
*)
    echo "unknown action $CAPSTAN_ACTION" >&2
    exit 2
    ;;
esac
"#;

struct Fixture {
    lab: LabTwin,
    client: kube::Client,
    /// Holds the scripts and the environment files they write.
    dir: tempfile::TempDir,
}

impl Fixture {
    async fn start() -> Self {
        let lab = LabTwin::start(FLEET, SCALE, capstan_sim::TwinConfig::default())
            .await
            .unwrap();
        let client = lab.client("alpha").await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        Self { lab, client, dir }
    }

    /// An executable script in the fixture's directory.
    fn script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        path
    }

    fn provider(&self, script: &Path, timeout: Duration) -> ExecProvider {
        let mut config = ExecConfig::new(vec![script.display().to_string()], "alpha");
        config.timeout = timeout;
        config.extra_env = vec![
            (
                "KUBECONFIG".to_string(),
                self.lab.kubeconfig.display().to_string(),
            ),
            ("ENV_DIR".to_string(), self.dir.path().display().to_string()),
            // Stale values from the environment must not reach actions they do not apply to.
            ("CAPSTAN_POOL".to_string(), "stale-pool".to_string()),
        ];
        let clock: SharedClock = self.lab.clock.clone();
        let recorder = EventRecorder::new(self.client.clone(), clock, "capstan-test");
        ExecProvider::new(config, self.client.clone(), Some(recorder))
    }

    /// The `CAPSTAN_*` variables the script saw for `action`.
    fn env_seen(&self, action: &str) -> Vec<String> {
        let text = std::fs::read_to_string(self.dir.path().join(format!("{action}.env"))).unwrap();
        text.lines().map(str::to_string).collect()
    }

    async fn kubelet_version(&self, node: &str) -> Option<String> {
        let nodes: Api<Node> = Api::all(self.client.clone());
        let node = nodes.get_opt(node).await.unwrap()?;
        node.status?.node_info.map(|i| i.kubelet_version)
    }

    /// Events with `reason` in `default`, where events about cluster-scoped objects live.
    async fn events(&self, reason: &str) -> Vec<Event> {
        let events: Api<Event> = Api::namespaced(self.client.clone(), "default");
        let list = events
            .list(&ListParams::default().fields(&format!("reason={reason}")))
            .await
            .unwrap();
        list.items
    }
}

#[tokio::test]
async fn versions_create_and_delete_through_the_command() {
    let fx = Fixture::start().await;
    let provider = fx.provider(
        &fx.script("provider.sh", PROVIDER_SCRIPT),
        Duration::from_secs(120),
    );
    assert_eq!(provider.name(), "exec");

    let control_plane = provider.control_plane().await.unwrap();
    assert_eq!(control_plane.version, KubeVersion::new(1, 32, 4));
    assert_eq!(control_plane.upgrading_to, None);

    let versions = provider.versions().await.unwrap();
    assert!(
        versions.contains(&KubeVersion::new(1, 32, 4)),
        "{versions:?}"
    );
    assert!(versions.is_sorted(), "{versions:?}");
    let newest_1_32 = *versions.iter().rfind(|v| v.minor == 32).unwrap();
    assert_eq!(
        fx.env_seen("versions"),
        vec!["CAPSTAN_ACTION=versions", "CAPSTAN_CLUSTER=alpha"]
    );

    // Exit code 3: not supported, so no machines.
    assert_eq!(provider.machines().await.unwrap(), vec![]);

    let created = provider
        .create_nodes("general", 1, &newest_1_32)
        .await
        .unwrap();
    assert_eq!(created.len(), 1, "{created:?}");
    let node = created[0].clone();
    assert_eq!(
        fx.env_seen("create-nodes"),
        vec![
            "CAPSTAN_ACTION=create-nodes".to_string(),
            "CAPSTAN_CLUSTER=alpha".to_string(),
            "CAPSTAN_COUNT=1".to_string(),
            "CAPSTAN_POOL=general".to_string(),
            format!("CAPSTAN_TO_VERSION={newest_1_32}"),
        ]
    );
    let kubelet = eventually("the new node to join", DEADLINE, || async {
        fx.kubelet_version(&node).await
    })
    .await;
    // The kubelet reports the cloud's build too (`v1.32.5-eks-...`).
    assert_eq!(KubeVersion::parse(&kubelet).unwrap(), newest_1_32);

    provider.delete_node(&node).await.unwrap();
    assert_eq!(
        fx.env_seen("delete-node"),
        vec![
            "CAPSTAN_ACTION=delete-node".to_string(),
            "CAPSTAN_CLUSTER=alpha".to_string(),
            format!("CAPSTAN_NODE={node}"),
        ]
    );
    eventually("the deleted node to go", DEADLINE, || async {
        fx.kubelet_version(&node).await.is_none().then_some(())
    })
    .await;

    // Successful actions are on record: the deletion on its Node.
    let recorded = fx.events("ProviderExec").await;
    let deletion = recorded
        .iter()
        .find(|e| e.involved_object.name.as_deref() == Some(node.as_str()))
        .unwrap_or_else(|| panic!("no ProviderExec event for {node}: {recorded:?}"));
    assert_eq!(deletion.involved_object.kind.as_deref(), Some("Node"));
    assert!(
        deletion
            .message
            .as_deref()
            .unwrap()
            .starts_with(&format!("delete-node node={node}: succeeded")),
        "{deletion:?}"
    );
    assert!(
        recorded.iter().any(|e| e
            .message
            .as_deref()
            .unwrap()
            .starts_with("create-nodes pool=general")),
        "{recorded:?}"
    );
    // Successful queries are not.
    assert!(
        !recorded
            .iter()
            .any(|e| e.message.as_deref().unwrap().starts_with("versions")),
        "{recorded:?}"
    );
}

#[tokio::test]
async fn the_control_plane_upgrade_reaches_the_cloud() {
    let fx = Fixture::start().await;
    let provider = fx.provider(
        &fx.script("provider.sh", PROVIDER_SCRIPT),
        Duration::from_secs(120),
    );
    let target = KubeVersion::parse("1.33").unwrap();
    provider.upgrade_control_plane(&target).await.unwrap();
    assert_eq!(
        fx.env_seen("control-plane-upgrade"),
        vec![
            "CAPSTAN_ACTION=control-plane-upgrade",
            "CAPSTAN_CLUSTER=alpha",
            "CAPSTAN_FROM_VERSION=1.32.4",
            "CAPSTAN_TO_VERSION=1.33",
        ]
    );
    // The fake cloud upgrades asynchronously; a real command would wait for it.
    let upgraded = eventually("the control plane at 1.33", DEADLINE, || async {
        let version = provider.control_plane().await.unwrap().version;
        (version.minor_version() == (1, 33)).then_some(version)
    })
    .await;
    assert!(upgraded.patch.is_some());
}

#[tokio::test]
async fn a_failing_command_is_an_error_and_a_warning_event() {
    let fx = Fixture::start().await;
    let script = fx.script(
        "failing.sh",
        "#!/bin/sh
echo 'ordering machines'
echo 'InsufficientInstanceCapacity: no m6i.2xlarge in eu-west-1a' >&2
exit 1
",
    );
    let provider = fx.provider(&script, Duration::from_secs(120));
    let err = provider
        .create_nodes("general", 2, &KubeVersion::new(1, 32, 4))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("create-nodes"), "{err}");
    assert!(err.contains("exited with code 1"), "{err}");
    assert!(err.contains("InsufficientInstanceCapacity"), "{err}");

    let failed = eventually("the ProviderExecFailed event", DEADLINE, || async {
        let events = fx.events("ProviderExecFailed").await;
        (!events.is_empty()).then_some(events)
    })
    .await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    let event = &failed[0];
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    assert_eq!(event.involved_object.kind.as_deref(), Some("Namespace"));
    assert_eq!(event.involved_object.name.as_deref(), Some("kube-system"));
    let message = event.message.as_deref().unwrap();
    assert!(
        message
            .starts_with("create-nodes pool=general to_version=1.32.4 count=2: exited with code 1"),
        "{message}"
    );
    assert!(message.contains("ordering machines"), "{message}");
    assert!(
        message.contains("InsufficientInstanceCapacity"),
        "{message}"
    );

    // A failed query is recorded too.
    let err = provider.versions().await.unwrap_err().to_string();
    assert!(err.contains("versions: exited with code 1"), "{err}");
    eventually("the failed query's event", DEADLINE, || async {
        let events = fx.events("ProviderExecFailed").await;
        events
            .iter()
            .any(|e| e.message.as_deref().unwrap().starts_with("versions"))
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_command_past_its_timeout_is_killed_and_reported() {
    let fx = Fixture::start().await;
    let pid_file = fx.dir.path().join("sleeper.pid");
    let script = fx.script(
        "sleeping.sh",
        &format!(
            "#!/bin/sh\necho $$ > '{}'\necho 'waiting for the node group'\nexec sleep 600\n",
            pid_file.display()
        ),
    );
    let provider = fx.provider(&script, Duration::from_secs(2));
    let err = provider
        .delete_node("node-x")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("delete-node"), "{err}");
    assert!(err.contains("killed after the 2s timeout"), "{err}");

    // The command is gone (or a zombie until reaped), not left sleeping.
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let stat = format!("/proc/{}/stat", pid.trim());
    eventually("the command to die", DEADLINE, || async {
        let alive = std::fs::read_to_string(&stat).is_ok_and(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
        });
        (!alive).then_some(())
    })
    .await;

    let events = fx.events("ProviderExecFailed").await;
    let event = events
        .iter()
        .find(|e| e.involved_object.name.as_deref() == Some("node-x"))
        .unwrap_or_else(|| panic!("no event about node-x: {events:?}"));
    let message = event.message.as_deref().unwrap();
    assert!(
        message.starts_with("delete-node node=node-x: killed after the 2s timeout"),
        "{message}"
    );
    assert!(message.contains("waiting for the node group"), "{message}");
}

#[tokio::test]
async fn unsupported_queries_fall_back() {
    let fx = Fixture::start().await;
    let script = fx.script("minimal.sh", "#!/bin/sh\nexit 3\n");
    let provider = fx.provider(&script, Duration::from_secs(120));
    // The control plane's version and the next minor's first patch.
    assert_eq!(
        provider.versions().await.unwrap(),
        vec![KubeVersion::new(1, 32, 4), KubeVersion::new(1, 33, 0)]
    );
    assert_eq!(provider.machines().await.unwrap(), vec![]);
    // Only queries may be unsupported: a mutating action that exits 3 failed.
    let err = provider
        .delete_node("node-x")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("delete-node: exited with code 3"), "{err}");
}
