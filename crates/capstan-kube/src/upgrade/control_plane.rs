//! One control-plane step: ask the provider, wait until it reports the new version.

use capstan_core::version::KubeVersion;
use jiff::SignedDuration;

use super::{ClusterUpgrader, UpgradeObserver, UpgradeProgress};
use crate::{Error, Result};

/// `a` is at or past `b`, a missing patch counting as `.0`.
fn reached(a: &KubeVersion, b: &KubeVersion) -> bool {
    (a.major, a.minor, a.patch.unwrap_or(0)) >= (b.major, b.minor, b.patch.unwrap_or(0))
}

impl ClusterUpgrader {
    /// Move the control plane to `step` (at most one minor ahead) and wait for it. A step in
    /// progress (a restarted agent) is waited for, not asked again.
    pub(super) async fn upgrade_control_plane(
        &self,
        step: &KubeVersion,
        observer: &dyn UpgradeObserver,
    ) -> Result<()> {
        let deadline = self.clock.now()
            + SignedDuration::try_from(self.options.control_plane_timeout)
                .unwrap_or(SignedDuration::MAX);
        let mut asked = false;
        loop {
            let status = self.provider.control_plane().await?;
            if reached(&status.version, step) {
                if asked {
                    observer.observe(&UpgradeProgress::ControlPlaneUpgraded { version: *step });
                }
                return Ok(());
            }
            match status.upgrading_to {
                Some(to) => {
                    if !asked {
                        observer.observe(&UpgradeProgress::ControlPlaneUpgrading {
                            from: status.version,
                            to,
                        });
                        // Waiting for an upgrade already under way counts as asking for it
                        // when it is this step; otherwise the next pass asks for this one.
                        asked = to == *step;
                    }
                }
                None if asked => {
                    return Err(Error::Provider {
                        provider: self.provider.name().to_string(),
                        message: status.last_error.unwrap_or_else(|| {
                            format!(
                                "the control plane stayed at {} instead of reaching {step}",
                                status.version
                            )
                        }),
                    });
                }
                None => {
                    observer.observe(&UpgradeProgress::ControlPlaneUpgrading {
                        from: status.version,
                        to: *step,
                    });
                    self.provider.upgrade_control_plane(step).await?;
                    asked = true;
                    continue;
                }
            }
            if self.clock.now() > deadline {
                return Err(Error::Upgrade(format!(
                    "the control plane did not reach {step} within {}",
                    capstan_core::duration::format_duration(self.options.control_plane_timeout)
                )));
            }
            tokio::time::sleep(self.options.poll_interval).await;
        }
    }
}
