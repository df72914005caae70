//! Which pods of a node are gone, from one watch instead of a GET per pod per second.
//!
//! kubectl polls every evicted pod each second; a hundred drains of a hundred pods each would
//! be ten thousand GETs a second. One watch per drain (field selector `spec.nodeName`) says the
//! same thing as it happens; a slow fallback GET covers a watch that is down.

use std::collections::HashSet;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::runtime::{WatchStreamExt, watcher};
use parking_lot::Mutex;
use tokio::sync::watch;

#[derive(Default)]
struct Seen {
    /// UIDs on the node as of the last event; meaningful once `synced`.
    present: HashSet<String>,
    /// UIDs listed since the current relist began.
    relisting: HashSet<String>,
    synced: bool,
}

/// The pods of one node, kept current by a watch for as long as this lives.
pub(super) struct NodePods {
    seen: Arc<Mutex<Seen>>,
    changes: watch::Receiver<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl NodePods {
    pub(super) fn watch(client: &kube::Client, node: &str) -> Self {
        let api: Api<Pod> = Api::all(client.clone());
        let config = watcher::Config::default().fields(&format!("spec.nodeName={node}"));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (tx, changes) = watch::channel(0u64);
        let state = seen.clone();
        let task = tokio::spawn(async move {
            let mut events = watcher(api, config).default_backoff().boxed();
            while let Some(event) = events.next().await {
                let Ok(event) = event else { continue };
                let uid = |p: &Pod| p.metadata.uid.clone().unwrap_or_default();
                {
                    let mut s = state.lock();
                    match event {
                        watcher::Event::Init => s.relisting.clear(),
                        watcher::Event::InitApply(p) => {
                            s.relisting.insert(uid(&p));
                        }
                        watcher::Event::InitDone => {
                            s.present = std::mem::take(&mut s.relisting);
                            s.synced = true;
                        }
                        watcher::Event::Apply(p) => {
                            s.present.insert(uid(&p));
                        }
                        watcher::Event::Delete(p) => {
                            s.present.remove(&uid(&p));
                        }
                    }
                }
                tx.send_modify(|n| *n += 1);
            }
        });
        Self {
            seen,
            changes,
            task,
        }
    }

    /// The pod with `uid` is known to have left the node (deleted, or replaced by a pod of
    /// another UID under the same name).
    pub(super) fn is_gone(&self, uid: &str) -> bool {
        let s = self.seen.lock();
        s.synced && !s.present.contains(uid)
    }

    /// A receiver of the watch's progress, already up to date: its `changed()` resolves at the
    /// next event after this call, so a check made after subscribing misses nothing.
    pub(super) fn subscribe(&self) -> watch::Receiver<u64> {
        let mut rx = self.changes.clone();
        rx.borrow_and_update();
        rx
    }
}

impl Drop for NodePods {
    fn drop(&mut self) {
        self.task.abort();
    }
}
