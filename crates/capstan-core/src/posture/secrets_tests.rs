#![allow(clippy::unwrap_used)]
//! Secret references and the secrets verdict.

use super::*;

fn pod(json: &str) -> PodInput {
    serde_json::from_str(json).unwrap()
}

/// Secrets named `eso-*` are owned by an ExternalSecret (in namespace `shop` only).
fn eso(namespace: &str, name: &str) -> bool {
    namespace == "shop" && name.starts_with("eso-")
}

/// (pod JSON) -> expected references as `source@path=secret`, and the expected problems as
/// `rule@path`.
fn check(json: &str, references: &[&str], problems: &[&str]) {
    let p = pod(json);
    let use_ = secret_use(&p);
    let got: Vec<String> = use_
        .references
        .iter()
        .map(|r| {
            let source = serde_json::to_value(r.source).unwrap();
            format!("{}@{}={}", source.as_str().unwrap(), r.field_path, r.secret)
        })
        .collect();
    assert_eq!(got, references, "{json}");
    let verdict = secrets_verdict(&use_, &eso);
    let got: Vec<String> = verdict
        .problems
        .iter()
        .map(|p| format!("{}@{}", p.rule, p.field_path))
        .collect();
    assert_eq!(got, problems, "{json}");
    assert_eq!(verdict.references_secrets, !references.is_empty(), "{json}");
    assert_eq!(verdict.compliant, problems.is_empty(), "{json}");
    for problem in &verdict.problems {
        assert!(
            problem.detail.contains(&format!("{:?}", problem.secret)),
            "{problem:?}"
        );
    }
    // Env and file references partition the list.
    assert_eq!(
        use_.env_references().count() + use_.file_references().count(),
        use_.references.len()
    );
}

#[test]
fn no_secrets_is_vacuously_compliant_and_not_counted() {
    check(
        r#"{"metadata": {"namespace": "shop"}, "spec": {
            "imagePullSecrets": [{"name": "registry"}],
            "volumes": [{"name": "c", "configMap": {"name": "c"}},
                {"name": "token", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}},
                {"name": "other-csi", "csi": {"driver": "ebs.csi.aws.com",
                    "volumeAttributes": {"secretProviderClass": "x"}}}],
            "containers": [{"name": "app", "env": [{"name": "A", "value": "1"},
                {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}],
                "envFrom": [{"configMapRef": {"name": "c"}}]}]}}"#,
        &[],
        &[],
    );
}

#[test]
fn secrets_in_env_are_problems_even_when_managed() {
    check(
        r#"{"metadata": {"namespace": "shop"}, "spec": {
            "initContainers": [{"name": "migrate", "env": [
                {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "eso-db", "key": "pw"}}}]}],
            "containers": [{"name": "app", "envFrom": [{"configMapRef": {"name": "c"}},
                {"secretRef": {"name": "plain"}}]}]}}"#,
        &[
            "envKey@spec.initContainers[0].env[0].valueFrom.secretKeyRef=eso-db",
            "envFrom@spec.containers[0].envFrom[1].secretRef=plain",
        ],
        &[
            "secret-in-env@spec.initContainers[0].env[0].valueFrom.secretKeyRef",
            "secret-in-env@spec.containers[0].envFrom[1].secretRef",
            "unmanaged-secret@spec.containers[0].envFrom[1].secretRef",
        ],
    );
}

#[test]
fn mounted_externally_managed_secrets_are_compliant() {
    check(
        r#"{"metadata": {"namespace": "shop"}, "spec": {"volumes": [
            {"name": "a", "secret": {"secretName": "eso-tls"}},
            {"name": "b", "projected": {"sources": [{"configMap": {"name": "c"}},
                {"secret": {"name": "eso-api"}}]}}]}}"#,
        &[
            "volume@spec.volumes[0].secret=eso-tls",
            "projected@spec.volumes[1].projected.sources[1].secret=eso-api",
        ],
        &[],
    );
}

#[test]
fn mounted_plain_secrets_are_unmanaged() {
    // The same names in another namespace are not the ExternalSecret-owned ones.
    check(
        r#"{"metadata": {"namespace": "other"}, "spec": {"volumes": [
            {"name": "a", "secret": {"secretName": "eso-tls"}},
            {"name": "b", "projected": {"sources": [{"secret": {"name": "plain"}}]}}]}}"#,
        &[
            "volume@spec.volumes[0].secret=eso-tls",
            "projected@spec.volumes[1].projected.sources[0].secret=plain",
        ],
        &[
            "unmanaged-secret@spec.volumes[0].secret",
            "unmanaged-secret@spec.volumes[1].projected.sources[0].secret",
        ],
    );
}

#[test]
fn csi_secret_provider_class_is_a_manager() {
    check(
        r#"{"metadata": {"namespace": "other"}, "spec": {"volumes": [
            {"name": "v", "csi": {"driver": "secrets-store.csi.k8s.io", "readOnly": true,
                "volumeAttributes": {"secretProviderClass": "vault-db"}}}]}}"#,
        &["csiProvider@spec.volumes[0].csi.volumeAttributes.secretProviderClass=vault-db"],
        &[],
    );
    // The driver without a SecretProviderClass mounts nothing.
    check(
        r#"{"spec": {"volumes": [{"name": "v", "csi": {"driver": "secrets-store.csi.k8s.io"}}]}}"#,
        &[],
        &[],
    );
}

#[test]
fn vault_injected_pods_are_managed() {
    check(
        r#"{"metadata": {"namespace": "other", "annotations": {
            "vault.hashicorp.com/agent-inject": "true",
            "vault.hashicorp.com/agent-inject-secret-db": "secret/data/db"}}}"#,
        &["vaultInjector@metadata.annotations[vault.hashicorp.com/agent-inject]="],
        &[],
    );
    // ParseBool spellings count; anything else is not injection.
    check(
        r#"{"metadata": {"annotations": {"vault.hashicorp.com/agent-inject": "1"}}}"#,
        &["vaultInjector@metadata.annotations[vault.hashicorp.com/agent-inject]="],
        &[],
    );
    check(
        r#"{"metadata": {"annotations": {"vault.hashicorp.com/agent-inject": "false"}}}"#,
        &[],
        &[],
    );
    check(
        r#"{"metadata": {"annotations": {"vault.hashicorp.com/agent-inject": "yes"}}}"#,
        &[],
        &[],
    );
    // Injection does not launder a plain Secret the pod also uses.
    check(
        r#"{"metadata": {"namespace": "other", "annotations": {"vault.hashicorp.com/agent-inject": "true"}},
            "spec": {"volumes": [{"name": "a", "secret": {"secretName": "plain"}}]}}"#,
        &[
            "volume@spec.volumes[0].secret=plain",
            "vaultInjector@metadata.annotations[vault.hashicorp.com/agent-inject]=",
        ],
        &["unmanaged-secret@spec.volumes[0].secret"],
    );
}

#[test]
fn ephemeral_containers_count_and_the_callback_gets_the_namespace() {
    let p = pod(
        r#"{"metadata": {"namespace": "shop"}, "spec": {"ephemeralContainers": [{"name": "dbg",
            "env": [{"name": "T", "valueFrom": {"secretKeyRef": {"name": "tok", "key": "t"}}}]}]}}"#,
    );
    let use_ = secret_use(&p);
    let seen = std::cell::RefCell::new(Vec::new());
    let verdict = secrets_verdict(&use_, &|ns, name| {
        seen.borrow_mut().push(format!("{ns}/{name}"));
        true
    });
    assert_eq!(seen.into_inner(), ["shop/tok"]);
    assert_eq!(
        verdict.problems,
        [SecretProblem {
            rule: SECRET_IN_ENV,
            field_path: "spec.ephemeralContainers[0].env[0].valueFrom.secretKeyRef".to_string(),
            secret: "tok".to_string(),
            detail: r#"secret "tok" is exposed as environment variables; mount it as a file"#
                .to_string(),
        }]
    );
    assert!(verdict.references_secrets && !verdict.compliant);
}
