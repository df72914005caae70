#![allow(clippy::unwrap_used)]
//! PodInput deserialization from `kubectl get pod -o json` output.

use super::*;

fn pod(json: &str) -> PodInput {
    serde_json::from_str(json).unwrap()
}

/// A pod as the API server prints it (trimmed), with fields the checks never read.
const KUBECTL_POD: &str = r#"{
  "apiVersion": "v1",
  "kind": "Pod",
  "metadata": {
    "name": "web-5d8f-abcde", "namespace": "shop", "uid": "1234",
    "creationTimestamp": "2026-01-01T00:00:00Z",
    "labels": {"app": "web"},
    "annotations": {"vault.hashicorp.com/agent-inject": "true"},
    "managedFields": [{"manager": "kube-controller-manager", "fieldsV1": {"f:metadata": {}}}],
    "ownerReferences": [
      {"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": "x"},
      {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d8f", "uid": "y",
       "controller": true, "blockOwnerDeletion": true}
    ]
  },
  "spec": {
    "os": {"name": "linux"},
    "hostNetwork": true, "hostPID": true, "hostIPC": false, "hostUsers": false,
    "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "fsGroup": 2000,
      "seccompProfile": {"type": "RuntimeDefault"},
      "seLinuxOptions": {"type": "spc_t", "user": "u", "role": "r", "level": "s0"},
      "appArmorProfile": {"type": "Localhost", "localhostProfile": "p"},
      "windowsOptions": {"hostProcess": false},
      "sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "4096 87380 6291456"}]},
    "volumes": [
      {"name": "conf", "configMap": {"name": "web", "defaultMode": 420}},
      {"name": "data", "nfs": {"server": "nfs", "path": "/x"}},
      {"name": "host", "hostPath": {"path": "/var/run", "type": ""}},
      {"name": "creds", "secret": {"secretName": "db", "defaultMode": 420}},
      {"name": "vault", "csi": {"driver": "secrets-store.csi.k8s.io", "readOnly": true,
        "volumeAttributes": {"secretProviderClass": "db"}}},
      {"name": "token", "projected": {"sources": [
        {"serviceAccountToken": {"path": "token"}},
        {"secret": {"name": "proj", "items": [{"key": "a", "path": "a"}]}}]}},
      {"name": "future", "someNewSource": {}},
      {"name": "nothing", "emptyDir": null}
    ],
    "initContainers": [{"name": "init", "image": "busybox"}],
    "containers": [{
      "name": "app", "image": "nginx:1.25",
      "ports": [{"containerPort": 80, "hostPort": 8080, "protocol": "TCP"}, {"containerPort": 81}],
      "resources": {"requests": {"cpu": "100m"}},
      "securityContext": {"privileged": false, "allowPrivilegeEscalation": false,
        "runAsNonRoot": null, "runAsUser": 0,
        "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]},
        "seccompProfile": {"type": "Localhost", "localhostProfile": "x.json"},
        "windowsOptions": {"hostProcess": true}, "procMount": "Unmasked"},
      "env": [{"name": "PLAIN", "value": "1"},
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
      "envFrom": [{"configMapRef": {"name": "cm"}}, {"secretRef": {"name": "all"}}],
      "livenessProbe": {"httpGet": {"host": "10.0.0.1", "path": "/", "port": 80}},
      "readinessProbe": {"tcpSocket": {"port": 80}},
      "lifecycle": {"preStop": {"httpGet": {"host": "h", "port": 80}},
        "postStart": {"exec": {"command": ["true"]}}},
      "volumeMounts": [{"name": "creds", "mountPath": "/etc/creds"}]
    }],
    "ephemeralContainers": [{"name": "debug", "image": "busybox", "targetContainerName": "app"}]
  },
  "status": {
    "phase": "Running",
    "containerStatuses": [{"name": "app", "image": "docker.io/library/nginx:1.25",
      "imageID": "docker.io/library/nginx@sha256:abc", "ready": true, "restartCount": 0}],
    "initContainerStatuses": [{"name": "init", "image": "busybox", "imageID": ""}]
  }
}"#;

#[test]
fn kubectl_json_keeps_what_the_checks_read() {
    let p = pod(KUBECTL_POD);
    assert_eq!(p.metadata.name, "web-5d8f-abcde");
    assert_eq!(p.metadata.namespace, "shop");
    assert_eq!(p.metadata.labels["app"], "web");
    assert_eq!(p.controller(), Some(("ReplicaSet", "web-5d8f")));
    assert!(p.spec.host_network && p.spec.host_pid && !p.spec.host_ipc);
    assert_eq!(p.spec.host_users, Some(false));
    assert!(!p.is_windows());

    let sc = p.spec.security_context.as_ref().unwrap();
    assert_eq!(sc.run_as_non_root, Some(true));
    assert_eq!(sc.run_as_user, Some(1000));
    assert_eq!(
        sc.seccomp_profile.as_ref().unwrap().r#type,
        "RuntimeDefault"
    );
    let se = sc.se_linux_options.as_ref().unwrap();
    assert_eq!(
        (se.r#type.as_str(), se.user.as_str(), se.role.as_str()),
        ("spc_t", "u", "r")
    );
    assert_eq!(sc.app_armor_profile.as_ref().unwrap().r#type, "Localhost");
    assert_eq!(
        sc.windows_options.as_ref().unwrap().host_process,
        Some(false)
    );
    assert_eq!(sc.sysctls[0].name, "net.ipv4.tcp_rmem");

    let sources: Vec<(&str, &str)> = p
        .spec
        .volumes
        .iter()
        .map(|v| (v.name.as_str(), &*v.source))
        .collect();
    assert_eq!(
        sources,
        [
            ("conf", "configMap"),
            ("data", "nfs"),
            ("host", "hostPath"),
            ("creds", "secret"),
            ("vault", "csi"),
            ("token", "projected"),
            ("future", "someNewSource"),
            // A null source is no source, as a nil pointer is in Go.
            ("nothing", ""),
        ]
    );
    assert_eq!(
        p.spec.volumes[2].host_path.as_ref().unwrap().path,
        "/var/run"
    );
    assert_eq!(p.spec.volumes[3].secret.as_ref().unwrap().secret_name, "db");
    let csi = p.spec.volumes[4].csi.as_ref().unwrap();
    assert_eq!(csi.driver, "secrets-store.csi.k8s.io");
    assert_eq!(csi.volume_attributes["secretProviderClass"], "db");
    let projected = p.spec.volumes[5].projected.as_ref().unwrap();
    assert_eq!(projected.sources.len(), 2);
    assert!(projected.sources[0].secret.is_none());
    assert_eq!(projected.sources[1].secret.as_ref().unwrap().name, "proj");

    let app = &p.spec.containers[0];
    assert_eq!(app.image, "nginx:1.25");
    assert_eq!(
        app.ports.iter().map(|p| p.host_port).collect::<Vec<_>>(),
        [8080, 0]
    );
    let csc = app.security_context.as_ref().unwrap();
    assert_eq!(csc.privileged, Some(false));
    assert_eq!(csc.allow_privilege_escalation, Some(false));
    assert_eq!(csc.run_as_non_root, None);
    assert_eq!(csc.run_as_user, Some(0));
    let caps = csc.capabilities.as_ref().unwrap();
    assert_eq!(
        (caps.add.as_slice(), caps.drop.as_slice()),
        (&["NET_ADMIN".to_string()][..], &["ALL".to_string()][..])
    );
    assert_eq!(csc.proc_mount.as_deref(), Some("Unmasked"));
    assert_eq!(
        csc.windows_options.as_ref().unwrap().host_process,
        Some(true)
    );
    assert_eq!(app.env.len(), 3);
    assert!(app.env[0].value_from.is_none());
    let key = app.env[1]
        .value_from
        .as_ref()
        .unwrap()
        .secret_key_ref
        .as_ref()
        .unwrap();
    assert_eq!((key.name.as_str(), key.key.as_str()), ("db", "pw"));
    assert!(
        app.env[2]
            .value_from
            .as_ref()
            .unwrap()
            .secret_key_ref
            .is_none()
    );
    assert!(app.env_from[0].secret_ref.is_none());
    assert_eq!(app.env_from[1].secret_ref.as_ref().unwrap().name, "all");
    assert_eq!(
        app.liveness_probe
            .as_ref()
            .unwrap()
            .http_get
            .as_ref()
            .unwrap()
            .host,
        "10.0.0.1"
    );
    assert_eq!(
        app.readiness_probe
            .as_ref()
            .unwrap()
            .tcp_socket
            .as_ref()
            .unwrap()
            .host,
        ""
    );
    let lifecycle = app.lifecycle.as_ref().unwrap();
    assert_eq!(
        lifecycle
            .pre_stop
            .as_ref()
            .unwrap()
            .http_get
            .as_ref()
            .unwrap()
            .host,
        "h"
    );
    assert_eq!(lifecycle.post_start, Some(Probe::default()));
    assert_eq!(app.volume_mounts[0].name, "creds");

    assert_eq!(p.status.phase, "Running");
    let status = p
        .container_status(ContainerKind::Containers, "app")
        .unwrap();
    assert_eq!(status.image_id, "docker.io/library/nginx@sha256:abc");
    assert!(
        p.container_status(ContainerKind::InitContainers, "init")
            .is_some()
    );
    assert!(
        p.container_status(ContainerKind::Containers, "init")
            .is_none()
    );
}

#[test]
fn all_containers_in_psa_order_with_paths() {
    let p = pod(KUBECTL_POD);
    let seen: Vec<(String, &str)> = p
        .all_containers()
        .map(|(path, c)| (path.to_string(), c.name.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("spec.initContainers[0]".to_string(), "init"),
            ("spec.containers[0]".to_string(), "app"),
            ("spec.ephemeralContainers[0]".to_string(), "debug"),
        ]
    );
    let (path, _) = p.all_containers().nth(1).unwrap();
    assert_eq!(
        path.field("securityContext.privileged"),
        "spec.containers[0].securityContext.privileged"
    );
}

#[test]
fn missing_and_null_fields_default() {
    for json in [
        "{}",
        r#"{"metadata": null, "spec": null, "status": null}"#,
        r#"{"metadata": {"labels": null, "annotations": null, "ownerReferences": null},
            "spec": {"volumes": null, "containers": null, "hostNetwork": null,
                     "securityContext": null},
            "status": {"containerStatuses": null}}"#,
    ] {
        let p = pod(json);
        assert_eq!(p, PodInput::default(), "{json}");
        assert_eq!(p.controller(), None);
        assert_eq!(p.all_containers().count(), 0);
    }
    // A container with nothing but a name.
    let p = pod(r#"{"spec": {"containers": [{"name": "a", "securityContext": {}}]}}"#);
    let c = &p.spec.containers[0];
    assert_eq!(c.security_context, Some(SecurityContext::default()));
    assert!(c.ports.is_empty() && c.env.is_empty() && c.liveness_probe.is_none());
}

#[test]
fn controller_is_the_owner_with_controller_true() {
    let p = pod(r#"{"metadata": {"ownerReferences": [
            {"kind": "ReplicaSet", "name": "a", "controller": false},
            {"kind": "Job", "name": "b"}]}}"#);
    assert_eq!(p.controller(), None);
    let p = pod(r#"{"spec": {"os": {"name": "windows"}}}"#);
    assert!(p.is_windows());
}
