//! Running one provider command: its own process group, output kept within bounds, and
//! everything it started killed at the timeout.

use std::process::ExitStatus;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

/// How a command ended, when it ended by itself.
#[derive(Debug)]
pub(super) struct Finished {
    pub status: ExitStatus,
    pub stdout: Captured,
    pub stderr: Captured,
}

/// Why a command has no [`Finished`].
#[derive(Debug)]
pub(super) enum RunError {
    /// It could not be started (no such program, not executable...).
    Spawn(std::io::Error),
    /// Reading its output or waiting for it failed.
    Io(std::io::Error),
    /// It was still running at the timeout and was killed, with what it had written.
    TimedOut { stdout: Captured, stderr: Captured },
}

/// The end of a stream: at most `limit` bytes, the latest ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Captured {
    bytes: Vec<u8>,
    /// Bytes dropped from the front to stay within the limit.
    pub dropped: u64,
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    fn push(&mut self, chunk: &[u8], limit: usize) {
        self.bytes.extend_from_slice(chunk);
        // Trim only once the buffer is twice the limit, so each byte is moved a bounded
        // number of times however small the chunks.
        if self.bytes.len() > limit.saturating_mul(2) {
            self.trim(limit);
        }
    }

    fn trim(&mut self, limit: usize) {
        let excess = self.bytes.len().saturating_sub(limit);
        if excess > 0 {
            self.bytes.drain(..excess);
            self.dropped += excess as u64;
        }
    }
}

/// ETXTBSY: the program file is still open for writing somewhere.
const TEXT_FILE_BUSY: i32 = 26;
/// Attempts at spawning a program that is busy, 10 ms apart.
const BUSY_ATTEMPTS: u32 = 20;

/// Spawns `command`, retrying while the program is "text file busy". A script written just
/// before (a provider's wrapper, a test's fixture) can be busy for a moment although it was
/// closed: a process forked concurrently by another thread holds the write descriptor until
/// it execs. Go's os/exec users hit the same race (golang/go#22315); waiting it out is the
/// usual cure.
async fn spawn(command: &mut Command) -> Result<tokio::process::Child, RunError> {
    let mut attempt = 1;
    loop {
        match command.spawn() {
            Err(e) if e.raw_os_error() == Some(TEXT_FILE_BUSY) && attempt < BUSY_ATTEMPTS => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            other => return other.map_err(RunError::Spawn),
        }
    }
}

/// Spawns `command` in a process group of its own, reads stdout and stderr concurrently
/// (keeping the last `stdout_limit` and `stderr_limit` bytes) and waits for it to exit. At
/// `timeout` the whole group is killed: provider CLIs (Terraform, cloud SDKs) start children
/// of their own, which would otherwise outlive the timeout. Cancelling the returned future
/// kills the group too.
pub(super) async fn run(
    mut command: Command,
    timeout: Duration,
    stdout_limit: usize,
    stderr_limit: usize,
) -> Result<Finished, RunError> {
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    let mut child = spawn(&mut command).await?;
    let group = GroupKiller::of(child.id());
    let stdout_pipe = child.stdout.take();
    let stderr_pipe = child.stderr.take();

    let mut stdout = Captured::default();
    let mut stderr = Captured::default();
    let finished = tokio::time::timeout(timeout, async {
        let (out, err) = tokio::join!(
            read_into(stdout_pipe, &mut stdout, stdout_limit),
            read_into(stderr_pipe, &mut stderr, stderr_limit),
        );
        out.and(err)?;
        child.wait().await
    })
    .await;
    match finished {
        Ok(Ok(status)) => {
            // Whatever the command left running in the background (having closed its
            // output) is its own business.
            group.disarm();
            Ok(Finished {
                status,
                stdout,
                stderr,
            })
        }
        Ok(Err(e)) => Err(RunError::Io(e)),
        Err(_elapsed) => {
            drop(group);
            // Reap the leader (already sent SIGKILL with its group) so no zombie is left.
            let _ = child.kill().await;
            stdout.trim(stdout_limit);
            stderr.trim(stderr_limit);
            Err(RunError::TimedOut { stdout, stderr })
        }
    }
}

async fn read_into(
    pipe: Option<impl AsyncRead + Unpin>,
    into: &mut Captured,
    limit: usize,
) -> std::io::Result<()> {
    let Some(mut pipe) = pipe else {
        return Ok(());
    };
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let n = pipe.read(&mut chunk).await?;
        if n == 0 {
            into.trim(limit);
            return Ok(());
        }
        into.push(&chunk[..n], limit);
    }
}

/// Sends SIGKILL to a process group when dropped, unless disarmed.
struct GroupKiller {
    #[cfg(unix)]
    leader: Option<rustix::process::Pid>,
}

impl GroupKiller {
    fn of(pid: Option<u32>) -> Self {
        #[cfg(unix)]
        {
            let leader = pid
                .and_then(|p| i32::try_from(p).ok())
                .and_then(rustix::process::Pid::from_raw);
            Self { leader }
        }
        #[cfg(not(unix))]
        {
            let _ = pid;
            Self {}
        }
    }

    fn disarm(mut self) {
        #[cfg(unix)]
        {
            self.leader = None;
        }
    }
}

impl Drop for GroupKiller {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(leader) = self.leader.take() {
            // The group outlives its leader while members remain, and its ID cannot be reused
            // meanwhile. ESRCH (nobody left) is the expected outcome of a race with exit.
            let _ = rustix::process::kill_process_group(leader, rustix::process::Signal::KILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_keeps_the_latest_bytes() {
        let mut c = Captured::default();
        for chunk in [b"abc".as_slice(), b"defgh", b"ij"] {
            c.push(chunk, 4);
        }
        c.trim(4);
        assert_eq!(c.text(), "ghij");
        assert_eq!(c.dropped, 6);

        let mut small = Captured::default();
        small.push(b"xy", 4);
        small.trim(4);
        assert_eq!((small.text(), small.dropped), ("xy".to_string(), 0));
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn output_is_bounded_and_exit_status_kept() {
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "i=0; while [ $i -lt 1000 ]; do echo line$i; i=$((i+1)); done; echo oops >&2; exit 4",
        ]);
        let finished = run(cmd, Duration::from_secs(600), 20, 100).await.unwrap();
        assert_eq!(finished.status.code(), Some(4));
        assert_eq!(finished.stdout.text(), "997\nline998\nline999\n");
        assert!(finished.stdout.dropped > 0);
        assert_eq!(finished.stderr.text(), "oops\n");
    }

    /// At the timeout the command's children die with it: here a background `sleep` that
    /// holds the output pipe open.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_timeout_kills_the_whole_group() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 600 & echo $!; wait"]);
        let err = run(cmd, Duration::from_millis(500), 1000, 1000)
            .await
            .unwrap_err();
        let RunError::TimedOut { stdout, .. } = err else {
            panic!("expected a timeout, got {err:?}");
        };
        let pid: u32 = stdout.text().trim().parse().unwrap();
        // Killed means gone, or a zombie waiting for its new parent to reap it.
        let dead = || match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        };
        let deadline = tokio::time::timeout(Duration::from_secs(30), async {
            while !dead() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        assert!(deadline.await.is_ok(), "sleep {pid} survived the timeout");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_missing_program_is_a_spawn_error() {
        let cmd = Command::new("/nonexistent/capstan-provider");
        let err = run(cmd, Duration::from_secs(600), 10, 10)
            .await
            .unwrap_err();
        assert!(matches!(err, RunError::Spawn(_)), "{err:?}");
    }
}
