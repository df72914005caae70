use super::*;

#[test]
fn versions_are_whitespace_separated_sorted_and_unique() {
    let versions = parse_versions("1.32.4\n1.31.2 v1.32.0\t1.32.4\n\n").unwrap();
    assert_eq!(
        versions,
        vec![
            KubeVersion::new(1, 31, 2),
            KubeVersion::new(1, 32, 0),
            KubeVersion::new(1, 32, 4)
        ]
    );
    assert_eq!(parse_versions("").unwrap(), vec![]);
    let err = parse_versions("1.31.2 latest").unwrap_err();
    assert!(err.contains("latest"), "{err}");
}

#[test]
fn machines_are_json_lines_with_optional_phases() {
    let stdout = r#"
{"name":"n1","pool":"general","version":"1.32.4","phase":"Joining","phases":[["Provisioning","2025-06-01T10:00:00Z"],["Joining","2025-06-01T10:06:12Z"]]}

{"name":"n2","pool":"general","version":"1.32.4","phase":"Terminating"}
"#;
    let machines = parse_machines(stdout).unwrap();
    assert_eq!(machines.len(), 2);
    assert_eq!(machines[0].phase, MachinePhase::Joining);
    assert_eq!(
        machines[0].phases[1],
        (
            MachinePhase::Joining,
            "2025-06-01T10:06:12Z".parse().unwrap()
        )
    );
    assert_eq!(machines[1].name, "n2");
    assert!(machines[1].phases.is_empty());

    let err = parse_machines("{\"name\":\"n1\"}\n{").unwrap_err();
    assert!(err.contains("line 1"), "{err}");
    let err = parse_machines(r#"{"name":"n1","pool":"p","version":"1.32","phase":"Booting"}"#)
        .unwrap_err();
    assert!(err.contains("Booting"), "{err}");
}

#[test]
fn invocations_describe_only_what_applies() {
    let mut create = Invocation::new(Action::CreateNodes);
    create.pool = Some("general".into());
    create.count = Some(2);
    create.to_version = Some(KubeVersion::parse("1.33").unwrap());
    assert_eq!(
        create.describe(),
        "create-nodes pool=general to_version=1.33 count=2"
    );
    assert_eq!(create.event_target().kind, "Namespace");

    let mut delete = Invocation::new(Action::DeleteNode);
    delete.node = Some("node-7".into());
    assert_eq!(delete.describe(), "delete-node node=node-7");
    assert_eq!(delete.event_target(), EventTarget::node("node-7"));
}

#[test]
fn debug_hides_extra_env_values() {
    let mut config = ExecConfig::new(vec!["provider.sh".into()], "alpha");
    config.extra_env = vec![("AWS_SECRET_ACCESS_KEY".into(), "s3cr3t".into())];
    let debug = format!("{config:?}");
    assert!(debug.contains("AWS_SECRET_ACCESS_KEY"), "{debug}");
    assert!(!debug.contains("s3cr3t"), "{debug}");
    assert_eq!(config.timeout, DEFAULT_TIMEOUT);
}

#[test]
fn output_tails_cut_at_character_boundaries() {
    assert_eq!(tail("abcdef", 3), "def");
    assert_eq!(tail("ab", 3), "ab");
    // 'é' is two bytes; a cut inside it moves forward.
    assert_eq!(tail("aéb", 2), "b");
}
