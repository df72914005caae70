//! Image references and the image and container ids containerd reports for them.

use capstan_core::rng::fnv1a;
use serde_json::Value;

use super::{hex_from, str_at};

/// The tag of an image reference, if it has one (digests count as pinned).
pub(super) fn image_tag(image: &str) -> Option<&str> {
    if image.contains('@') {
        return Some("digest");
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    last.split_once(':').map(|(_, t)| t)
}

/// The fully qualified reference containerd reports (`nginx:1.27` →
/// `docker.io/library/nginx:1.27`).
pub(crate) fn normalize_image(image: &str) -> String {
    let with_tag = if image_tag(image).is_none() {
        format!("{image}:latest")
    } else {
        image.to_string()
    };
    let first = with_tag.split('/').next().unwrap_or("");
    if !with_tag.contains('/') {
        format!("docker.io/library/{with_tag}")
    } else if first.contains('.') || first.contains(':') || first == "localhost" {
        with_tag
    } else {
        format!("docker.io/{with_tag}")
    }
}

pub(crate) fn container_id(pod: &Value, container: &str, salt: &str) -> String {
    let uid = str_at(pod, "/metadata/uid");
    let mut key = String::with_capacity(uid.len() + container.len() + salt.len() + 2);
    for part in [uid, "/", container, "/", salt] {
        key.push_str(part);
    }
    let mut id = String::with_capacity(77);
    id.push_str("containerd://");
    id.push_str(&hex_from(fnv1a(key.as_bytes()), 64));
    id
}

pub(crate) fn image_id(image: &str) -> String {
    image_id_of_full(&normalize_image(image))
}

pub(super) fn image_id_of_full(full: &str) -> String {
    let repo = match full.rfind(':') {
        Some(i) if !full[i..].contains('/') => &full[..i],
        _ => full,
    };
    format!("{repo}@sha256:{}", hex_from(fnv1a(full.as_bytes()), 64))
}
