//! A twin on a loopback TLS port for conformance tests, with kubeconfigs that real clients use.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use capstan_clock::ScaledClock;
use capstan_sim::fleet::parse_fleet_yaml;
use capstan_sim::server::{Pki, serve_tls, write_kubeconfigs};
use capstan_sim::{Twin, TwinConfig};

/// Nodes in [`FLEET`].
pub const FLEET_NODES: usize = 6;

/// One cluster of six nodes with a few generated workloads: small enough to reason about, and
/// with room for a drained node's pods elsewhere (the generator fills nodes to 55-70%).
pub const FLEET: &str = r#"
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

pub struct TestTwin {
    pub twin: Arc<Twin>,
    pub clock: Arc<ScaledClock>,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    pub base_url: String,
}

impl TestTwin {
    /// Start the twin for `fleet_yaml` with simulated time `scale` times faster than real.
    pub async fn start(fleet_yaml: &str, scale: f64, config: TwinConfig) -> Self {
        let fleet = parse_fleet_yaml(fleet_yaml).expect("test fleet parses");
        let clock = Arc::new(ScaledClock::starting_now(scale));
        let twin = Twin::new(fleet, clock.clone(), config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("bound address");
        let pki = Pki::generate().expect("certificates");
        let dir = tempfile::tempdir().expect("temp dir");
        let configs = write_kubeconfigs(&twin, dir.path(), addr, &pki.ca_pem).expect("kubeconfigs");
        let served = twin.clone();
        tokio::spawn(async move { serve_tls(served, listener, &pki).await });
        Self {
            twin,
            clock,
            dir,
            kubeconfig: configs.merged,
            base_url: format!("https://{addr}"),
        }
    }

    /// A kube client for `context`, built from the written kubeconfig like any user's.
    pub async fn client(&self, context: &str, default_retry: bool) -> kube::Client {
        let kc = kube::config::Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig reads");
        let opts = kube::config::KubeConfigOptions {
            context: Some(context.to_string()),
            ..Default::default()
        };
        let mut config = kube::Config::from_custom_kubeconfig(kc, &opts)
            .await
            .expect("kubeconfig is valid");
        config.default_retry = default_retry;
        kube::Client::try_from(config).expect("client builds")
    }

    /// `kubectl --kubeconfig ... --context ... args...`: (success, stdout, stderr).
    pub fn kubectl(&self, context: &str, args: &[&str]) -> (bool, String, String) {
        let out = std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--context")
            .arg(context)
            .args(args)
            .output()
            .expect("kubectl runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Async variant for long-running kubectl commands (drain, wait).
    pub async fn kubectl_async(&self, context: &str, args: &[&str]) -> (bool, String, String) {
        let out = tokio::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--context")
            .arg(context)
            .args(args)
            .output()
            .await
            .expect("kubectl runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Call a twin control endpoint (faults, cloud, compaction) with the cluster's token:
    /// `path` is relative to `/clusters/<cluster>/`. Returns the status code and JSON body.
    pub async fn control(
        &self,
        cluster: &str,
        method: &str,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let client = self.client(cluster, false).await;
        let req = http::Request::builder()
            .method(method)
            .uri(format!("/{path}"))
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&body).expect("json"))
            .expect("request");
        match client.request_text(req).await {
            Ok(text) => (
                200,
                serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
            ),
            Err(kube::Error::Api(status)) => (
                status.code,
                serde_json::Value::String(status.message.clone()),
            ),
            Err(e) => panic!("control request failed: {e}"),
        }
    }
}

/// Poll `check` until it returns `Some`, or panic with `what` after `deadline`.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let attempt = async {
        loop {
            if let Some(v) = check().await {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    match tokio::time::timeout(deadline, attempt).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}
