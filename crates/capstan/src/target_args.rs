//! `--kubeconfig` and `--context`, as kubectl spells them.

use std::path::PathBuf;

use capstan_kube::connect::Target;

#[derive(clap::Args, Debug, Clone)]
pub struct TargetArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (cluster) to use (default: the current context).
    #[arg(long)]
    pub context: Option<String>,
}

impl TargetArgs {
    pub fn target(&self) -> Target {
        Target::new(self.kubeconfig.as_deref(), self.context.as_deref())
    }
}
