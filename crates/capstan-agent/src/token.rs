//! [`TokenFile`]: the cluster token kept on disk (mode 0600), so that a restarted agent
//! carries on with the token it was given instead of registering again.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, HubClient, Result};

/// What the file holds: the token and what it is for.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Stored {
    hub: String,
    cluster: String,
    token: String,
}

/// A JSON file holding one cluster's token for one hub.
#[derive(Clone)]
pub struct TokenFile {
    path: PathBuf,
}

impl fmt::Debug for TokenFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenFile")
            .field("path", &self.path)
            .finish()
    }
}

impl TokenFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io_error(&self, source: std::io::Error) -> Error {
        Error::TokenFile {
            path: self.path.clone(),
            source,
        }
    }

    /// A client from the stored token if the file is for this hub and cluster; `None` if
    /// there is no file or it is for another hub or cluster.
    pub fn load(&self, base_url: &str, cluster: &str) -> Result<Option<HubClient>> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io_error(e)),
        };
        let stored: Stored =
            serde_json::from_slice(&bytes).map_err(|e| Error::TokenFileContent {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
        let client = HubClient::new(base_url, cluster, &stored.token)?;
        if stored.hub != client.base_url() || stored.cluster != cluster {
            return Ok(None);
        }
        Ok(Some(client))
    }

    /// Writes `client`'s token, readable by its owner only: a new file beside this one, then
    /// renamed over it, so that a crash leaves the old token or the new one, never half.
    pub fn save(&self, client: &HubClient) -> Result<()> {
        let stored = Stored {
            hub: client.base_url().to_string(),
            cluster: client.cluster().to_string(),
            token: client.token().to_string(),
        };
        let json = serde_json::to_vec_pretty(&stored).map_err(|e| Error::TokenFileContent {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        // A leftover from a crash may have other permissions: start afresh.
        match std::fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(self.io_error(e)),
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(|e| self.io_error(e))?;
        file.write_all(&json)
            .and_then(|()| file.sync_all())
            .map_err(|e| self.io_error(e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| self.io_error(e))
    }

    /// The stored token if it is for this hub and cluster, else a fresh registration with
    /// `bootstrap_token`, saved before it is returned. Either way the client registers again
    /// (and saves the new token here) if the hub later refuses its token
    /// ([`HubClient::with_reregistration`]).
    pub async fn load_or_register(
        &self,
        base_url: &str,
        bootstrap_token: &str,
        cluster: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<HubClient> {
        if let Some(client) = self.load(base_url, cluster)? {
            tracing::info!(cluster, path = %self.path.display(), "using the stored agent token");
            return Ok(client.with_reregistration(bootstrap_token, labels, Some(self.clone())));
        }
        let client = HubClient::register(base_url, bootstrap_token, cluster, labels).await?;
        self.save(&client)?;
        Ok(client.with_reregistration(bootstrap_token, labels, Some(self.clone())))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn saved_tokens_load_back_for_the_same_hub_and_cluster_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = TokenFile::new(dir.path().join("token.json"));
        assert!(file.load("http://hub:1", "alpha").unwrap().is_none());
        let client = HubClient::new("http://hub:1", "alpha", "capstan.alpha.t0k3n").unwrap();
        file.save(&client).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(file.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let loaded = file.load("http://hub:1", "alpha").unwrap().unwrap();
        assert_eq!(loaded.token(), "capstan.alpha.t0k3n");
        assert!(file.load("http://hub:1", "beta").unwrap().is_none());
        assert!(file.load("http://other:1", "alpha").unwrap().is_none());
        // Saving again replaces the token.
        let rotated = HubClient::new("http://hub:1", "alpha", "capstan.alpha.n3w").unwrap();
        file.save(&rotated).unwrap();
        let loaded = file.load("http://hub:1", "alpha").unwrap().unwrap();
        assert_eq!(loaded.token(), "capstan.alpha.n3w");
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_a_silent_reregistration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token.json");
        std::fs::write(&path, "{not json").unwrap();
        let err = TokenFile::new(&path)
            .load("http://hub:1", "alpha")
            .unwrap_err();
        assert!(err.to_string().contains("token.json"), "{err}");
    }
}
