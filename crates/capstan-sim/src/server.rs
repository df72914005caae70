//! Serving the twin over TLS the way a kube-apiserver is reached: a CA the twin generates, a
//! serving certificate for the loopback names, bearer tokens per cluster, and kubeconfigs that
//! kubectl and kube-rs accept as they are.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

use crate::twin::Twin;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("generating certificates: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("configuring TLS: {0}")]
    Tls(#[from] rustls::Error),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServeError {
    let context = context.into();
    move |source| ServeError::Io { context, source }
}

/// The twin's CA and the serving certificate it signed.
pub struct Pki {
    pub ca_pem: String,
    cert_der: rustls::pki_types::CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl Pki {
    /// A fresh CA and a certificate for `localhost`, `127.0.0.1` and `::1`.
    pub fn generate() -> Result<Self, ServeError> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "capstan-sim-ca");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate()?;
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);
        let mut params = CertificateParams::new(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ])?;
        params
            .distinguished_name
            .push(DnType::CommonName, "kube-apiserver");
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &issuer)?;
        Ok(Self {
            ca_pem: ca_cert.pem(),
            cert_der: cert.der().clone(),
            key_der: key.serialize_der(),
        })
    }

    fn acceptor(&self) -> Result<TlsAcceptor, ServeError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(self.key_der.clone().into());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![self.cert_der.clone()], key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

/// Bind `addr` and serve the twin over TLS until the task is dropped.
pub async fn serve_tls(
    twin: Arc<Twin>,
    listener: TcpListener,
    pki: &Pki,
) -> Result<(), ServeError> {
    let acceptor = pki.acceptor()?;
    let router = crate::api::router(twin);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            if let Err(e) = builder.serve_connection(TokioIo::new(tls), service).await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
}

/// Serve the twin over plain HTTP (tests and in-process tools on loopback).
pub async fn serve_plain(twin: Arc<Twin>, listener: TcpListener) -> Result<(), ServeError> {
    axum::serve(listener, crate::api::router(twin))
        .await
        .map_err(io("serving HTTP"))
}

/// Where the kubeconfigs were written.
#[derive(Debug, Clone)]
pub struct Kubeconfigs {
    pub merged: PathBuf,
    pub per_cluster: Vec<(String, PathBuf)>,
}

fn cluster_entry(name: &str, server: &str, ca_b64: &str) -> String {
    format!(
        "- name: {name}\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca_b64}\n"
    )
}

fn user_entry(name: &str, token: &str) -> String {
    format!("- name: {name}\n  user:\n    token: {token}\n")
}

fn context_entry(name: &str) -> String {
    format!("- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n")
}

fn kubeconfig(current: &str, clusters: &str, users: &str, contexts: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\npreferences: {{}}\ncurrent-context: {current}\nclusters:\n{clusters}users:\n{users}contexts:\n{contexts}"
    )
}

/// Write `<dir>/<cluster>.kubeconfig` for every cluster, a merged `<dir>/kubeconfig` with one
/// context per cluster, and `<dir>/ca.crt`. Files holding tokens are private to the user.
pub fn write_kubeconfigs(
    twin: &Twin,
    dir: &Path,
    addr: SocketAddr,
    ca_pem: &str,
) -> Result<Kubeconfigs, ServeError> {
    std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    let ca_b64 = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let host = match addr {
        SocketAddr::V4(a) if a.ip().is_unspecified() => format!("127.0.0.1:{}", a.port()),
        SocketAddr::V6(a) if a.ip().is_unspecified() => format!("[::1]:{}", a.port()),
        other => other.to_string(),
    };
    let (mut clusters, mut users, mut contexts) = (String::new(), String::new(), String::new());
    let mut per_cluster = Vec::new();
    let mut first = None;
    for c in twin.clusters() {
        let server = format!("https://{host}/clusters/{}", c.name);
        let ce = cluster_entry(&c.name, &server, &ca_b64);
        let ue = user_entry(&c.name, c.token());
        let xe = context_entry(&c.name);
        let path = dir.join(format!("{}.kubeconfig", c.name));
        write_private(&path, &kubeconfig(&c.name, &ce, &ue, &xe))?;
        per_cluster.push((c.name.clone(), path));
        clusters.push_str(&ce);
        users.push_str(&ue);
        contexts.push_str(&xe);
        first.get_or_insert_with(|| c.name.clone());
    }
    let merged = dir.join("kubeconfig");
    write_private(
        &merged,
        &kubeconfig(first.as_deref().unwrap_or(""), &clusters, &users, &contexts),
    )?;
    std::fs::write(dir.join("ca.crt"), ca_pem).map_err(io("writing ca.crt"))?;
    Ok(Kubeconfigs {
        merged,
        per_cluster,
    })
}

fn write_private(path: &Path, contents: &str) -> Result<(), ServeError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io(format!("writing {}", path.display())))?;
    f.write_all(contents.as_bytes())
        .map_err(io(format!("writing {}", path.display())))
}

/// The RV high-water mark file, so a restarted twin starts above the last run's RVs even if
/// the wall clock stepped back.
pub fn rv_state_path(dir: &Path) -> PathBuf {
    dir.join(".capstan-sim-rv")
}

pub fn read_rv_floor(dir: &Path) -> u64 {
    std::fs::read_to_string(rv_state_path(dir))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

pub fn write_rv_floor(dir: &Path, rv: u64) {
    // Leave headroom for writes between saves.
    let _ = std::fs::write(rv_state_path(dir), (rv + 1_000_000).to_string());
}
