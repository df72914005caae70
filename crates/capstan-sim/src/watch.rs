//! Watch streams with the wire contract kube-rs and client-go rely on: newline-delimited JSON
//! events, bookmarks (periodic, before the deadline, and the `initial-events-end` one for
//! streaming lists), a clean close at `timeoutSeconds`, and an in-stream ERROR 410 (never an
//! HTTP 410) for a resourceVersion older than the kept history.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::api::Req;
use crate::cluster::Cluster;
use crate::error::{ApiError, ApiResult};
use crate::handlers::{columns, row};
use crate::query::{Filter, Output, flag};
use crate::resources::ResourceType;
use crate::store::{Change, EventType, Obj};
use crate::table::partial_object_metadata;
use crate::twin::Twin;

/// Events are written in chunks of about this size.
const CHUNK: usize = 64 * 1024;

struct Watcher {
    rt: Arc<ResourceType>,
    filter: Filter,
    output: Output,
    bookmarks: bool,
    sent_columns: bool,
    tx: mpsc::Sender<Result<Bytes, Infallible>>,
    buf: BytesMut,
}

impl Watcher {
    fn object_json(&mut self, obj: &Obj, now: jiff::Timestamp) -> Vec<u8> {
        match self.output {
            Output::Json => obj.json().to_vec(), // (push_event writes JSON directly)
            Output::Metadata => partial_object_metadata(&obj.value())
                .to_string()
                .into_bytes(),
            Output::Table(include) => {
                let mut t = json!({
                    "kind": "Table",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": {"resourceVersion": obj.rv.to_string()},
                    "rows": [row(&self.rt, obj, include, now)],
                });
                if !self.sent_columns {
                    t["columnDefinitions"] = json!(columns(&self.rt));
                    self.sent_columns = true;
                }
                t.to_string().into_bytes()
            }
        }
    }

    fn push_event(&mut self, kind: &str, obj: &Obj, now: jiff::Timestamp) {
        self.buf.put_slice(b"{\"type\":\"");
        self.buf.put_slice(kind.as_bytes());
        self.buf.put_slice(b"\",\"object\":");
        if self.output == Output::Json {
            obj.write_json(&mut self.buf);
        } else {
            let object = self.object_json(obj, now);
            self.buf.put_slice(&object);
        }
        self.buf.put_slice(b"}\n");
    }

    fn push_raw(&mut self, event: &Value) {
        self.buf.put_slice(event.to_string().as_bytes());
        self.buf.put_u8(b'\n');
    }

    fn bookmark(&mut self, rv: u64, initial_end: bool) {
        let (kind, api_version) = match self.output {
            Output::Json => (self.rt.kind.clone(), self.rt.api_version()),
            Output::Metadata => ("PartialObjectMetadata".into(), "meta.k8s.io/v1".into()),
            Output::Table(_) => ("Table".into(), "meta.k8s.io/v1".into()),
        };
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        self.push_raw(&json!({"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": api_version, "metadata": meta}}));
    }

    fn expired(&mut self, requested: u64, oldest: u64) {
        self.push_raw(&json!({"type": "ERROR", "object": {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("too old resource version: {requested} ({oldest})"),
            "reason": "Expired", "code": 410
        }}));
    }

    /// Turn one change into what this watcher sees, as upstream's cacher does for filtered
    /// watches: leaving the selection is a DELETED, entering it an ADDED.
    fn push_change(&mut self, change: &Change, now: jiff::Timestamp) {
        let cur = self.filter.matches(&change.obj);
        let prev = change.prev.as_ref().is_some_and(|p| self.filter.matches(p));
        let kind = match (change.kind, cur, prev) {
            (EventType::Added, true, _) => EventType::Added,
            (EventType::Modified, true, true) => EventType::Modified,
            (EventType::Modified, true, false) => EventType::Added,
            (EventType::Modified, false, true) => EventType::Deleted,
            (EventType::Deleted, true, _) => EventType::Deleted,
            _ => return,
        };
        self.push_event(kind.as_str(), &change.obj, now);
    }

    /// Send what is buffered when it is big enough, or always when `force`. False when the
    /// client has gone.
    async fn flush(&mut self, force: bool) -> bool {
        if self.buf.is_empty() || (!force && self.buf.len() < CHUNK) {
            return true;
        }
        let chunk = self.buf.split().freeze();
        self.tx.send(Ok(chunk)).await.is_ok()
    }
}

/// Validate the watch request and start streaming.
pub(crate) fn serve(
    twin: Arc<Twin>,
    cluster: Arc<Cluster>,
    rt: Arc<ResourceType>,
    namespace: Option<&str>,
    req: &Req,
    output: Output,
) -> ApiResult<Response> {
    let filter = Filter::parse(&rt, namespace, &req.query)?;
    let bookmarks = flag(&req.query, "allowWatchBookmarks");
    let send_initial = req
        .query
        .get("sendInitialEvents")
        .map(|v| v == "true" || v == "1");
    let rv_match = req.query.get("resourceVersionMatch").map(String::as_str);
    if let Some(true) = send_initial {
        if rv_match != Some("NotOlderThan") {
            return Err(ApiError::invalid("ListOptions", "meta.k8s.io", "", &[(
                "resourceVersionMatch".into(),
                "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan".into(),
            )]));
        }
        if !bookmarks {
            return Err(ApiError::invalid("ListOptions", "meta.k8s.io", "", &[(
                "allowWatchBookmarks".into(),
                "Required value: sendInitialEvents requires setting allowWatchBookmarks to true".into(),
            )]));
        }
    } else if rv_match.is_some_and(|m| !m.is_empty()) {
        return Err(ApiError::invalid("ListOptions", "meta.k8s.io", "", &[(
            "resourceVersionMatch".into(),
            "Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided".into(),
        )]));
    }
    let start_rv: Option<u64> = match req.query.get("resourceVersion").map(String::as_str) {
        None | Some("") | Some("0") => None,
        Some(r) => Some(
            r.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {r}")))?,
        ),
    };
    let timeout = match req.query.get("timeoutSeconds") {
        Some(t) => Duration::from_secs(
            t.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds: {t:?}")))?,
        ),
        // Upstream picks a random duration in [minRequestTimeout, 2*minRequestTimeout].
        None => Duration::from_secs(1800 + twin.lock(&cluster).rng.range_inclusive(0, 1800)),
    };
    let (tx, rx) = mpsc::channel(16);
    let watcher = Watcher {
        rt,
        filter,
        output,
        bookmarks,
        sent_columns: false,
        tx,
        buf: BytesMut::with_capacity(CHUNK),
    };
    let initial = match (send_initial, start_rv) {
        (Some(true), _) | (_, None) => Start::Snapshot {
            end_bookmark: send_initial == Some(true),
        },
        (_, Some(rv)) => Start::From(rv),
    };
    tokio::spawn(run(twin, cluster, watcher, initial, timeout));
    let stream =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
    let mut response = (StatusCode::OK, Body::from_stream(stream)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

static NEXT_WATCH: AtomicU64 = AtomicU64::new(1);

/// An open watch's place in its table's history, released when the watch ends.
struct Registration {
    cluster: Arc<Cluster>,
    res: crate::resources::ResKey,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(data) = self.cluster.data() {
            data.lock().store.table_mut(&self.res).close_watch(self.id);
        }
    }
}

enum Start {
    /// Synthetic ADDED events for the current state (resourceVersion unset or "0", or a
    /// streaming list), then changes.
    Snapshot { end_bookmark: bool },
    /// Changes after this resourceVersion.
    From(u64),
}

async fn run(
    twin: Arc<Twin>,
    cluster: Arc<Cluster>,
    mut w: Watcher,
    start: Start,
    timeout: Duration,
) {
    let mut changed = cluster.changed.subscribe();
    let mut restarts = cluster.restarts.subscribe();
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut bookmark_tick = tokio::time::interval(twin.config.bookmark_interval);
    bookmark_tick.tick().await; // the first tick is immediate
    let res = w.rt.key();
    let registration = Registration {
        cluster: cluster.clone(),
        res: res.clone(),
        id: NEXT_WATCH.fetch_add(1, Ordering::Relaxed),
    };

    let mut cursor = match start {
        Start::Snapshot { end_bookmark } => {
            let (rv, snapshot) = {
                let mut data = twin.lock(&cluster);
                let rv = data.store.current_rv();
                let table = data.store.table_mut(&res);
                table.watch_read_up_to(registration.id, rv);
                (rv, table.objects.clone())
            };
            let now = twin.now();
            for obj in snapshot.values() {
                if w.filter.matches(obj) {
                    w.push_event("ADDED", obj, now);
                    if !w.flush(false).await {
                        return;
                    }
                }
            }
            if end_bookmark {
                w.bookmark(rv, true);
            }
            rv
        }
        Start::From(rv) => {
            let current = {
                let mut data = twin.lock(&cluster);
                let current = data.store.current_rv();
                let table = data.store.table_mut(&res);
                if rv >= table.compacted_rv() {
                    table.watch_read_up_to(registration.id, rv);
                }
                current
            };
            if rv > current {
                // A resourceVersion from the future: this twin restarted and its history is
                // gone. Expire it so the client relists rather than waiting forever.
                w.expired(rv, current);
                let _ = w.flush(true).await;
                return;
            }
            rv
        }
    };
    if !w.flush(true).await {
        return;
    }
    let mut want_bookmark = false;
    let mut last = false;
    loop {
        let read = {
            let mut data = twin.lock(&cluster);
            let current = data.store.current_rv();
            let table = data.store.table_mut(&res);
            let read = table.changes_since(cursor).map(|c| (c, current));
            if read.is_ok() {
                // Everything of this table up to `current` is in `read` and will be sent.
                table.watch_read_up_to(registration.id, current);
            }
            read
        };
        let (changes, current) = match read {
            Ok(r) => r,
            Err(oldest) => {
                w.expired(cursor, oldest);
                let _ = w.flush(true).await;
                return;
            }
        };
        let now = twin.now();
        for change in &changes {
            w.push_change(change, now);
            if !w.flush(false).await {
                return;
            }
        }
        // Everything up to `current` was read under the same lock, so nothing at or below it
        // can arrive later on this stream.
        cursor = cursor.max(current);
        if (want_bookmark || last) && w.bookmarks {
            w.bookmark(current, false);
        }
        want_bookmark = false;
        if !w.flush(true).await || last {
            return;
        }
        tokio::select! {
            r = changed.changed() => {
                if r.is_err() {
                    return;
                }
            }
            _ = bookmark_tick.tick() => want_bookmark = true,
            _ = &mut deadline => last = true,
            _ = w.tx.closed() => return,
            // The API server went away: the stream ends without a final bookmark.
            _ = restarts.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn include_object_default_is_metadata() {
        use crate::table::IncludeObject;
        assert_eq!(IncludeObject::parse(None).unwrap(), IncludeObject::Metadata);
    }
}
