//! Lists everything the posture checks read besides pods. Kinds whose CRD is not installed
//! (Cilium, Calico, Trivy, Gatekeeper) come back empty, and the served API groups say which
//! engines are there ([`PostureSources`]).

use capstan_core::posture::evaluate::ClusterObjects;
use capstan_core::posture::report::PostureSources;

use super::list::list_all;
use super::{PostureError, sources_from_groups};

/// Gatekeeper serves one resource per constraint template in this group.
const CONSTRAINTS: &str = "constraints.gatekeeper.sh";

pub(super) async fn list(client: &kube::Client) -> Result<ClusterObjects, PostureError> {
    let groups = client
        .list_api_groups()
        .await
        .map_err(PostureError::Discovery)?;
    let sources: PostureSources =
        sources_from_groups(groups.groups.iter().map(|g| g.name.as_str()));
    let mut o = ClusterObjects {
        sources: sources.clone(),
        ..ClusterObjects::default()
    };
    o.namespaces = list_all(client, "/api/v1/namespaces").await?.0;
    let rbac = "/apis/rbac.authorization.k8s.io/v1";
    o.roles = list_all(client, &format!("{rbac}/roles")).await?.0;
    o.cluster_roles = list_all(client, &format!("{rbac}/clusterroles")).await?.0;
    o.role_bindings = list_all(client, &format!("{rbac}/rolebindings")).await?.0;
    o.cluster_role_bindings = list_all(client, &format!("{rbac}/clusterrolebindings"))
        .await?
        .0;
    o.network_policies = list_all(client, "/apis/networking.k8s.io/v1/networkpolicies")
        .await?
        .0;
    if sources.cilium {
        o.cilium_policies = list_all(client, "/apis/cilium.io/v2/ciliumnetworkpolicies")
            .await?
            .0;
        o.cilium_clusterwide_policies = list_all(
            client,
            "/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies",
        )
        .await?
        .0;
    }
    if sources.calico {
        let calico = "/apis/crd.projectcalico.org/v1";
        o.calico_policies = list_all(client, &format!("{calico}/networkpolicies"))
            .await?
            .0;
        o.calico_global_policies = list_all(client, &format!("{calico}/globalnetworkpolicies"))
            .await?
            .0;
    }
    // Metadata only: the input type has no field for `data`, so no secret value is kept.
    o.secrets = list_all(client, "/api/v1/secrets").await?.0;
    if sources.trivy {
        o.vulnerability_reports = list_all(
            client,
            "/apis/aquasecurity.github.io/v1alpha1/vulnerabilityreports",
        )
        .await?
        .0;
    }
    if sources.gatekeeper {
        o.constraints = list_constraints(client, &groups).await?;
    }
    o.replica_set_owners = list_all(client, "/apis/apps/v1/replicasets").await?.0;
    o.job_owners = list_all(client, "/apis/batch/v1/jobs").await?.0;
    Ok(o)
}

/// Every constraint of every kind: the group's preferred version lists the kinds.
async fn list_constraints(
    client: &kube::Client,
    groups: &k8s_openapi::apimachinery::pkg::apis::meta::v1::APIGroupList,
) -> Result<Vec<capstan_core::posture::gatekeeper::ConstraintInput>, PostureError> {
    let Some(group) = groups.groups.iter().find(|g| g.name == CONSTRAINTS) else {
        return Ok(Vec::new());
    };
    let version = group
        .preferred_version
        .as_ref()
        .or(group.versions.first())
        .map(|v| v.group_version.clone())
        .unwrap_or_else(|| format!("{CONSTRAINTS}/v1beta1"));
    let resources = client
        .list_api_group_resources(&version)
        .await
        .map_err(PostureError::Discovery)?;
    let mut out = Vec::new();
    for r in resources.resources.iter().filter(|r| !r.name.contains('/')) {
        let (items, _) = list_all(client, &format!("/apis/{version}/{}", r.name)).await?;
        out.extend(items);
    }
    Ok(out)
}
