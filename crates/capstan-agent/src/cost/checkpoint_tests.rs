//! Shard layout and decoding, without a cluster.

#![allow(clippy::unwrap_used)]

use super::*;

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A container that has seen `minutes` one-a-minute samples around `cores` and `bytes`.
fn entry(namespace: &str, workload: &str, container: &str, cores: f64) -> ContainerCheckpoint {
    let mut state = ContainerUsageState::new();
    let start = at("2026-11-01T00:00:00Z");
    for m in 0..600i64 {
        let t = start + SignedDuration::from_mins(m);
        state.add_cpu_sample(t, cores * (1.0 + (m % 13) as f64 * 0.05));
        state.add_memory_sample(t, 2e8 + (m % 17) as f64 * 1e7);
    }
    ContainerCheckpoint {
        namespace: namespace.into(),
        kind: "Deployment".into(),
        workload: workload.into(),
        container: container.into(),
        usage: state.to_checkpoint(),
        containers_in_pod: 2,
        cpu_request_cores: 0.5,
        memory_request_bytes: 512.0 * 1024.0 * 1024.0,
        ticks: 600,
        replica_ticks: 1800.0,
        cpu_rate_sum_pico: 57_000_000_000_000_123,
        ram_rate_sum_pico: 7_600_000_000_000_456,
        oom_restarts_seen: Vec::new(),
    }
}

fn many(n: usize) -> Vec<ContainerCheckpoint> {
    (0..n)
        .map(|i| {
            entry(
                &format!("team-{}", i % 40),
                &format!("app-{i}"),
                "main",
                0.05 + (i % 9) as f64 * 0.1,
            )
        })
        .collect()
}

fn decode(documents: &[(String, String)]) -> Loaded {
    decode_shards(
        documents
            .iter()
            .map(|(n, d)| (n.as_str(), Some(d.as_str()))),
    )
}

#[test]
fn entries_come_back_as_written() {
    let entries = many(50);
    let (shards, documents) = encode_shards(&entries, None, at("2026-11-02T00:00:00Z")).unwrap();
    assert_eq!(shards, 1, "50 entries fit one shard");
    assert_eq!(documents[0].0, "capstan-rightsizing-1-0");
    let loaded = decode(&documents);
    assert_eq!(
        (loaded.shards, loaded.skipped_shards, loaded.skipped_entries),
        (1, 0, 0)
    );
    let mut want = entries.clone();
    want.sort_by(|a, b| a.key().cmp(&b.key()));
    let got: Vec<ContainerCheckpoint> = loaded
        .containers
        .iter()
        .map(|r| r.checkpoint.clone())
        .collect();
    assert_eq!(got, want, "same entries, fixed-point sums exact");
    for r in &loaded.containers {
        assert_eq!(r.state.to_checkpoint(), r.checkpoint.usage);
    }
}

#[test]
fn shards_stay_under_the_limit_and_each_entry_has_its_hashed_shard() {
    let entries = many(3000);
    let now = at("2026-11-02T00:00:00Z");
    let (shards, documents) = encode_shards(&entries, None, now).unwrap();
    let total: usize = documents.iter().map(|(_, d)| d.len()).sum();
    let per_entry = total / entries.len();
    // A compact entry of this shape: ~1 KB.
    assert!(
        (500..2000).contains(&per_entry),
        "{per_entry} bytes per entry"
    );
    let want = total.div_ceil(TARGET_SHARD_BYTES).next_power_of_two() as u32;
    assert_eq!(shards, want, "{total} bytes");
    assert_eq!(documents.len(), shards as usize);
    for (index, (name, document)) in documents.iter().enumerate() {
        assert_eq!(*name, shard_name(shards, index as u32));
        assert!(
            document.len() <= MAX_SHARD_BYTES,
            "{name}: {}",
            document.len()
        );
        let value: serde_json::Value = serde_json::from_str(document).unwrap();
        assert_eq!(value["shards"], shards);
        assert_eq!(value["index"], index);
        for e in value["entries"].as_array().unwrap() {
            let key = [
                e["namespace"].as_str().unwrap(),
                e["kind"].as_str().unwrap(),
                e["workload"].as_str().unwrap(),
                e["container"].as_str().unwrap(),
            ];
            assert_eq!(key_hash(key) % u64::from(shards), index as u64);
        }
    }
    assert_eq!(decode(&documents).containers.len(), 3000);

    // The layout is kept while it fits and is not far too big; a too-small one grows.
    let cases: &[(Option<u32>, u32)] = &[
        (None, want),
        (Some(want), want),
        (Some(want * 4), want * 4),
        (Some(want * 8), want),
        (Some(1), want),
        (Some(3), want),
    ];
    for &(current, expected) in cases {
        let (got, _) = encode_shards(&entries, current, now).unwrap();
        assert_eq!(got, expected, "current {current:?}");
    }
}

#[test]
fn no_entries_is_one_empty_shard() {
    let (shards, documents) = encode_shards(&[], None, at("2026-11-02T00:00:00Z")).unwrap();
    assert_eq!(shards, 1);
    let loaded = decode(&documents);
    assert!(loaded.containers.is_empty());
    assert_eq!(loaded.skipped_shards, 0);
}

#[test]
fn a_container_in_two_layouts_comes_from_the_newer_write() {
    // A crash between writing a new layout and deleting the old one leaves both.
    let old = vec![
        entry("shop", "cart", "main", 0.1),
        entry("shop", "gone", "main", 0.1),
    ];
    let new = vec![entry("shop", "cart", "main", 0.9)];
    let (_, mut documents) = encode_shards(&old, None, at("2026-11-02T00:00:00Z")).unwrap();
    let (_, newer) = encode_shards(&new, Some(4), at("2026-11-02T00:10:00Z")).unwrap();
    // Newer first, so that order is not what decides.
    documents.splice(0..0, newer);
    let loaded = decode(&documents);
    let cart: Vec<&RestoredContainer> = loaded
        .containers
        .iter()
        .filter(|r| r.checkpoint.workload == "cart")
        .collect();
    assert_eq!(cart.len(), 1);
    assert_eq!(cart[0].checkpoint, new[0]);
    // An entry only the old layout has is still there (dropped again at the next write).
    assert!(
        loaded
            .containers
            .iter()
            .any(|r| r.checkpoint.workload == "gone")
    );
}

#[test]
fn bad_shards_and_entries_are_skipped_and_the_rest_loaded() {
    let entries = many(40);
    let now = at("2026-11-02T00:00:00Z");
    let (_, mut documents) = encode_shards(&entries, Some(2), now).unwrap();
    let second: serde_json::Value = serde_json::from_str(&documents[1].1).unwrap();
    let in_second = second["entries"].as_array().unwrap().len();
    assert!(in_second > 0 && in_second < 40);
    // One entry of the first shard of another core version, one that is not an entry.
    let mut first: serde_json::Value = serde_json::from_str(&documents[0].1).unwrap();
    first["entries"][0]["usage"]["version"] = "v3".into();
    first["entries"][1] = serde_json::json!({"namespace": "x"});
    documents[0].1 = first.to_string();
    // What the second shard becomes; each time it is skipped whole and the two bad entries
    // of the first alone.
    let other_version = documents[1]
        .1
        .replace(r#""version":"v1""#, r#""version":"v9""#);
    let cases: [(&str, Option<&str>); 4] = [
        ("truncated", Some(&documents[1].1[..100])),
        ("not JSON", Some("]]")),
        ("another shard version", Some(&other_version)),
        ("no data key", None),
    ];
    for (name, text) in cases {
        let shards = [
            (documents[0].0.as_str(), Some(documents[0].1.as_str())),
            (documents[1].0.as_str(), text),
        ];
        let loaded = decode_shards(shards);
        assert_eq!(loaded.shards, 2, "{name}");
        assert_eq!(loaded.skipped_shards, 1, "{name}");
        assert_eq!(loaded.skipped_entries, 2, "{name}");
        assert_eq!(
            loaded.containers.len(),
            40 - in_second - 2,
            "{name}: the first shard's good entries"
        );
    }
}

#[test]
fn shard_names_parse_back_to_their_count() {
    let cases: &[(&str, Option<u32>)] = &[
        ("capstan-rightsizing-8-3", Some(8)),
        ("capstan-rightsizing-1-0", Some(1)),
        ("capstan-rightsizing-8", None),
        ("capstan-rightsizing-x-1", None),
        ("other-8-1", None),
    ];
    for &(name, want) in cases {
        assert_eq!(parse_shard_count(name), want, "{name}");
    }
}
