//! The tasks that keep the view current: one kube-rs watcher per kind, and the control
//! plane's version.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tracing::{debug, info, warn};

use super::stores::{VERSION_BIT, ViewState, Watched};

/// How often the control plane's version is asked for again (it changes during upgrades).
pub(crate) const VERSION_REFRESH: Duration = Duration::from_secs(60);
const VERSION_RETRY: Duration = Duration::from_secs(10);

/// Watch one kind until the view is dropped. Events are applied as they arrive, page by page
/// of the initial list, so the whole list is never held in memory at once; errors are logged
/// and retried with kube-rs' default backoff (the watcher relists when its resourceVersion
/// is too old).
pub(crate) async fn watch<K: Watched>(client: kube::Client, state: Arc<ViewState>) {
    let api: kube::Api<K> = kube::Api::all(client);
    let mut events = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    let kind = K::KIND.as_str();
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Init) => {
                debug!(kind, "listing");
                K::init(&state);
            }
            Ok(Event::InitApply(obj) | Event::Apply(obj)) => K::apply(&state, obj),
            Ok(Event::Delete(obj)) => K::delete(&state, obj),
            Ok(Event::InitDone) => {
                K::init_done(&state);
                state.errors.lock().remove(&K::KIND);
                state.mark_synced(K::KIND.bit());
                debug!(kind, "listed");
            }
            // The watch's resourceVersion left the server's history (410 Gone): routine
            // after a long disconnection or an API server restart; the watcher relists.
            Err(watcher::Error::WatchError(status)) if status.code == 410 => {
                info!(kind, "watch history expired; relisting");
            }
            Err(e) => {
                warn!(kind, error = %e, "watch failed; retrying with backoff");
                state.errors.lock().insert(K::KIND, e.to_string());
            }
        }
    }
}

/// Keep the control plane's `gitVersion` current.
pub(crate) async fn control_plane_version(client: kube::Client, state: Arc<ViewState>) {
    loop {
        let wait = match client.apiserver_version().await {
            Ok(info) => {
                *state.control_plane_version.write() = Some(info.git_version);
                VERSION_REFRESH
            }
            Err(e) => {
                warn!(error = %e, "reading the control plane's version failed");
                VERSION_RETRY
            }
        };
        state.mark_synced(VERSION_BIT);
        tokio::time::sleep(wait).await;
    }
}
