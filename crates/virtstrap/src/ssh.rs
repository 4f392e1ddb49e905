//! Reaching a node over SSH as its OS's default user: the known-hosts
//! file virtstrap keeps per cluster (never the user's own, which rebuilt
//! nodes would fill with stale keys), and the `ssh` command line
//! `virtstrap ssh` runs. Beside spec -> plan -> apply: after apply,
//! nodes it built are forgotten, so their new host keys are accepted.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;

use crate::plan::{Action, Change, Desired, Plan};

/// The known-hosts file of `cluster`:
/// `$XDG_STATE_HOME/virtstrap/CLUSTER/known_hosts`, else under
/// `~/.local/state`.
pub fn known_hosts(cluster: &str) -> PathBuf {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    state.join("virtstrap").join(cluster).join("known_hosts")
}

/// The `ssh` command that logs in as `user` at `ip`, running `command`
/// (a login shell when empty), with the cluster's known-hosts file: a
/// node's first key is accepted, a changed one refused (apply forgets the
/// keys of the nodes it rebuilds).
pub fn command(cluster: &str, user: &str, ip: Ipv4Addr, remote: &[String]) -> Command {
    let known = known_hosts(cluster);
    if let Some(dir) = known.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let mut c = Command::new("ssh");
    c.arg("-o")
        .arg(format!("UserKnownHostsFile={}", known.display()))
        .args(["-o", "StrictHostKeyChecking=accept-new"])
        // plain entries (Debian's ssh_config hashes them), so that
        // `forget` can find a reset or rebuilt node's old key by address
        .args(["-o", "HashKnownHosts=no"])
        .args(["-o", "ConnectTimeout=10"])
        .arg("-l")
        .arg(user)
        .arg(ip.to_string());
    if !remote.is_empty() {
        c.arg("--").args(remote);
    }
    c
}

/// Forget the host keys of the nodes `plan` creates or replaces.
pub fn forget_rebuilt(cluster: &str, plan: &Plan, want: &Desired) {
    let rebuilt = |node: &str| {
        plan.steps.iter().any(|s| {
            &*s.node == node
                && matches!(s.change, Change::Create | Change::Replace)
                && matches!(s.action, Action::StartDomain { .. })
        })
    };
    let mut ips: Vec<Ipv4Addr> = Vec::new();
    for node in want.nodes.iter().filter(|n| rebuilt(&n.node)) {
        ips.extend(node.nics.iter().filter_map(|n| n.ip));
        let defines = plan.steps.iter().filter_map(|s| match &s.action {
            Action::DefineDomain { name, xml } if *name == node.domain => Some(xml),
            _ => None,
        });
        ips.extend(defines.flat_map(|x| x.reservations().iter().map(|r| r.ip)));
    }
    if !ips.is_empty() {
        forget(&known_hosts(cluster), &ips);
    }
}

/// Remove every line of a known-hosts file naming one of `ips`.
pub fn forget(path: &std::path::Path, ips: &[Ipv4Addr]) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let names = |line: &str| -> bool {
        let hosts = line.split_whitespace().next().unwrap_or_default();
        hosts.split(',').any(|h| {
            let bare = h.trim_start_matches('[').split(']').next().unwrap_or(h);
            ips.iter().any(|ip| bare == ip.to_string())
        })
    };
    let kept: String = text
        .lines()
        .filter(|l| !names(l))
        .map(|l| format!("{l}\n"))
        .collect();
    let _ = std::fs::write(path, kept);
    // hashed entries (`|1|salt|hash`, what ssh writes where HashKnownHosts
    // is on, as Debian's ssh_config has it, and as files from before
    // virtstrap turned it off hold) name no address: ssh-keygen finds them
    if text.lines().any(|l| l.starts_with("|1|")) {
        for ip in ips {
            let _ = std::process::Command::new("ssh-keygen")
                .arg("-q")
                .arg("-f")
                .arg(path)
                .arg("-R")
                .arg(ip.to_string())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
        // ssh-keygen keeps the file as it was beside it
        let mut old = path.as_os_str().to_owned();
        old.push(".old");
        let _ = std::fs::remove_file(old);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgetting_removes_only_the_named_addresses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("known_hosts");
        let text = "10.0.0.2 ssh-ed25519 AAAA\n10.0.0.20 ssh-ed25519 BBBB\n[10.0.0.2]:2222 ssh-rsa CCCC\n10.0.0.3,host ssh-ed25519 DDDD\n";
        std::fs::write(&path, text).expect("write");
        forget(
            &path,
            &[
                "10.0.0.2".parse().expect("ip"),
                "10.0.0.3".parse().expect("ip"),
            ],
        );
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "10.0.0.20 ssh-ed25519 BBBB\n"
        );
    }

    #[test]
    fn forgetting_removes_hashed_entries_too() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("known_hosts");
        let key =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA43XKXGrDT2G2369SPPk766NpxN3gDMDIO70Uaw3oW8";
        std::fs::write(&path, format!("10.0.0.2 {key}\n10.0.0.9 {key}\n")).expect("write");
        // hash them as ssh does with HashKnownHosts (openssh-client)
        let hashed = std::process::Command::new("ssh-keygen")
            .arg("-q")
            .arg("-H")
            .arg("-f")
            .arg(&path)
            .status()
            .expect("ssh-keygen (openssh-client) runs");
        assert!(hashed.success());
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.lines().all(|l| l.starts_with("|1|")), "{text}");
        forget(&path, &["10.0.0.2".parse().expect("ip")]);
        let left = std::fs::read_to_string(&path).expect("read");
        assert_eq!(left.lines().count(), 1, "{left}");
        let found = |ip: &str| {
            std::process::Command::new("ssh-keygen")
                .arg("-F")
                .arg(ip)
                .arg("-f")
                .arg(&path)
                .output()
                .expect("ssh-keygen runs")
                .status
                .success()
        };
        assert!(!found("10.0.0.2"), "the forgotten entry is gone");
        assert!(found("10.0.0.9"), "the other stays");
        assert!(!dir.path().join("known_hosts.old").exists());
    }

    #[test]
    fn the_command_uses_the_clusters_known_hosts_and_passes_the_remote_command() {
        let c = command(
            "demo",
            "core",
            "10.0.0.2".parse().expect("ip"),
            &["cat".into(), "/etc/hostname".into()],
        );
        let args: Vec<String> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(args
            .iter()
            .any(|a| a.starts_with("UserKnownHostsFile=")
                && a.ends_with("virtstrap/demo/known_hosts")));
        // a hashed entry could not be forgotten by address
        assert!(args.iter().any(|a| a == "HashKnownHosts=no"), "{args:?}");
        assert_eq!(
            args[args.len() - 5..],
            ["core", "10.0.0.2", "--", "cat", "/etc/hostname"]
        );
    }
}
