//! `capstan delete cluster NAME`: deregisters a cluster at the hub (its inventory entry and
//! its agent's token), as `DELETE /api/v1/clusters/{name}`. Rollouts that froze the cluster
//! skip it and report it removed.

use anyhow::{Context, Result, bail};
use capstan_hub::api::Status;

use crate::apply_cmd::{HubArg, client, url};

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum DeleteResource {
    #[value(alias = "clusters")]
    Cluster,
}

#[derive(clap::Args, Debug)]
pub struct DeleteArgs {
    pub resource: DeleteResource,
    /// The cluster's name at the hub. Stop its agent first: an agent that still holds the
    /// bootstrap token registers the cluster again at its next request.
    pub name: String,
    #[command(flatten)]
    pub hub: HubArg,
}

pub async fn run(args: DeleteArgs) -> Result<()> {
    let DeleteResource::Cluster = args.resource;
    let path = format!("/api/v1/clusters/{}", urlencoding(&args.name));
    let response = client()?
        .delete(url(&args.hub, &path))
        .send()
        .await
        .context("deleting the cluster: the hub did not answer")?;
    let status = response.status();
    if status.is_success() {
        println!("cluster {:?} deleted", args.name);
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let message = serde_json::from_str::<Status>(&body)
        .map(|s| s.message)
        .unwrap_or_else(|_| body.trim().to_string());
    bail!("deleting cluster {:?}: {status}: {message}", args.name)
}

/// A name as one path segment (cluster names are DNS labels, but the user may mistype).
fn urlencoding(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_one_path_segment() {
        assert_eq!(urlencoding("prod-eu-1"), "prod-eu-1");
        assert_eq!(urlencoding("a/b c"), "a%2Fb%20c");
    }
}
