//! `apply --wait`: after apply, each node goes through running -> address
//! leased -> SSH answering -> up, and a node that does not get there in
//! time is reported with the stage it is stuck in and the tail of its
//! serial console (spec -> plan -> apply -> **wait**). Reads the host
//! through the [`Backend`] and the nodes over TCP; changes nothing.
//!
//! SSH is checked only where this machine can reach the node's network:
//! when there is no route to it (a daemon in another network namespace,
//! a remote host's private network), the node is up once it has its
//! address, and the report says SSH was not checked.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::libvirt::{AddressSource, Backend};

pub mod discover;

use discover::discover;

/// How far a node got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Defined, not yet seen running.
    Starting,
    /// Running, no address yet.
    Running,
    /// Its first interface has an address; SSH does not answer yet.
    Leased,
    /// Up: SSH answers (or cannot be reached from here, or the node has
    /// no network).
    Up,
    /// Its console says it failed.
    Failed,
}

impl Stage {
    /// `starting`, `running`, `leased`, `up`, `failed`.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Starting => "starting",
            Stage::Running => "running",
            Stage::Leased => "leased",
            Stage::Up => "up",
            Stage::Failed => "failed",
        }
    }
}

/// A node to wait for.
#[derive(Clone, Debug)]
pub struct Target {
    /// Node name.
    pub node: String,
    /// Domain name.
    pub domain: String,
    /// Its interfaces' MACs; the first is the one the node is reached by.
    pub macs: Vec<String>,
    /// The serial console log, read for failures and shown when stuck
    /// (where it is a local file).
    pub console_log: PathBuf,
}

/// One change of a node's stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Node name.
    pub node: String,
    /// Where it is now.
    pub stage: Stage,
    /// Its address, once found.
    pub address: Option<Ipv4Addr>,
    /// Where the address was found.
    pub source: Option<AddressSource>,
    /// Since the wait started.
    pub elapsed: Duration,
    /// Why, where a stage needs a word (SSH not checked, a failure).
    pub note: Option<String>,
}

/// How to wait.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// For every node at once.
    pub timeout: Duration,
    /// Between two looks at a node.
    pub poll: Duration,
    /// The port SSH answers on.
    pub ssh_port: u16,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(600),
            poll: Duration::from_millis(250),
            ssh_port: 22,
        }
    }
}

/// Where each node ended: its last progress, and the console's last lines
/// for a node that is not up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The last change.
    pub last: Progress,
    /// The last 20 lines of its serial console, when not up.
    pub console_tail: Vec<String>,
}

/// Wait for every target, in parallel, until each is up or failed, the
/// timeout passes, or `stop` is set; `report` hears every change.
pub fn wait(
    backend: &dyn Backend,
    targets: &[Target],
    opts: Options,
    stop: &AtomicBool,
    report: &(dyn Fn(&Progress) + Sync),
) -> Vec<Outcome> {
    let start = Instant::now();
    std::thread::scope(|s| {
        let handles: Vec<_> = targets
            .iter()
            .map(|t| s.spawn(move || watch(backend, t, opts, start, stop, report)))
            .collect();
        handles
            .into_iter()
            .zip(targets)
            .map(|(h, t)| {
                h.join().unwrap_or_else(|_| Outcome {
                    last: progress(t, Stage::Failed, start, Some("the watch panicked".into())),
                    console_tail: Vec::new(),
                })
            })
            .collect()
    })
}

fn progress(t: &Target, stage: Stage, start: Instant, note: Option<String>) -> Progress {
    Progress {
        node: t.node.clone(),
        stage,
        address: None,
        source: None,
        elapsed: start.elapsed(),
        note,
    }
}

/// One node's watch: the stages in order, each reported once.
fn watch(
    backend: &dyn Backend,
    t: &Target,
    opts: Options,
    start: Instant,
    stop: &AtomicBool,
    report: &(dyn Fn(&Progress) + Sync),
) -> Outcome {
    let mut now = progress(t, Stage::Starting, start, None);
    report(&now);
    loop {
        // the log is only this boot's once the domain runs (QEMU starts
        // it afresh): before, it may hold an earlier node's last words
        let fresh = now.stage >= Stage::Running;
        if let Some(why) = console_failure(&t.console_log).filter(|_| fresh) {
            now.stage = Stage::Failed;
            now.note = Some(why);
            break;
        }
        let next = step(backend, t, &now, opts, start.elapsed());
        if let Some(mut next) = next.filter(|n| n.stage != now.stage || n.address != now.address) {
            next.elapsed = start.elapsed();
            report(&next);
            now = next;
        }
        if now.stage == Stage::Up || stop.load(Ordering::SeqCst) || start.elapsed() >= opts.timeout
        {
            break;
        }
        std::thread::sleep(opts.poll);
    }
    if now.stage == Stage::Failed {
        now.elapsed = start.elapsed();
        report(&now);
    } else if now.stage != Stage::Up {
        // stuck: how long it was waited for, not when it last moved on
        now.elapsed = start.elapsed();
    }
    let console_tail = if now.stage == Stage::Up {
        Vec::new()
    } else {
        tail(&t.console_log, 20)
    };
    Outcome {
        last: now,
        console_tail,
    }
}

/// The next stage of a node at `now`, if it moved on. Errors reading the
/// host count as "not yet": the wait goes on until its timeout.
fn step(
    backend: &dyn Backend,
    t: &Target,
    now: &Progress,
    opts: Options,
    elapsed: Duration,
) -> Option<Progress> {
    let mut next = now.clone();
    match now.stage {
        Stage::Starting => {
            let running = backend.domain(&t.domain).ok()??.running;
            next.stage = if running { Stage::Running } else { return None };
        }
        Stage::Running if t.macs.is_empty() => {
            next.stage = Stage::Up;
            next.note = Some("no network: nothing to reach".into());
        }
        Stage::Running => {
            let found = discover(backend, &t.domain, &t.macs[..1]).ok()?;
            let first = found.first().copied().flatten()?;
            next.stage = Stage::Leased;
            next.address = Some(first.ip);
            next.source = Some(first.source);
        }
        Stage::Leased => {
            let ip = now.address?;
            match ssh_answers(SocketAddr::from((ip, opts.ssh_port))) {
                Probe::Answers => next.stage = Stage::Up,
                Probe::Unreachable(why) => {
                    next.stage = Stage::Up;
                    next.note = Some(format!("SSH not checked: {why} from this machine"));
                }
                // `now.elapsed`: when the node was leased
                Probe::NoNeighbour if elapsed < now.elapsed + NO_NEIGHBOUR_GRACE => return None,
                Probe::NoNeighbour => {
                    next.stage = Stage::Up;
                    next.note = Some("SSH not checked: host unreachable from this machine".into());
                }
                Probe::NotYet => return None,
            }
        }
        Stage::Up | Stage::Failed => return None,
    }
    Some(next)
}

/// What an SSH probe found.
#[derive(Debug, PartialEq, Eq)]
enum Probe {
    /// An SSH server said its version.
    Answers,
    /// Nothing there yet (refused, timed out, no banner).
    NotYet,
    /// This machine has no way to the address.
    Unreachable(&'static str),
    /// The address is on a link of this machine's and nobody there
    /// answers for it (EHOSTUNREACH: ARP failed): a guest not up yet,
    /// which is what a `reset` node is while its old lease still holds,
    /// or an address this machine cannot reach after all.
    NoNeighbour,
}

/// How long after its lease a node whose address nobody answers for
/// ([`Probe::NoNeighbour`]) is waited for before SSH is taken as not
/// checkable from here: a booting guest answers well within it.
const NO_NEIGHBOUR_GRACE: Duration = Duration::from_secs(60);

fn ssh_answers(addr: SocketAddr) -> Probe {
    use std::io::ErrorKind;
    let mut conn = match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
        Ok(c) => c,
        Err(e) if e.kind() == ErrorKind::NetworkUnreachable => {
            return Probe::Unreachable("no route")
        }
        Err(e) if e.kind() == ErrorKind::HostUnreachable => return Probe::NoNeighbour,
        Err(_) => return Probe::NotYet,
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    let mut banner = [0u8; 4];
    match conn.read_exact(&mut banner) {
        Ok(()) if &banner == b"SSH-" => Probe::Answers,
        _ => Probe::NotYet,
    }
}

/// Lines of a console log that say a boot failed: Ignition's own, the
/// demo guest's, systemd's emergency shell.
const FAILURE_MARKS: [&str; 4] = [
    "virtstrap-guest: FAILED",
    "Ignition failed",
    "ignition-files.service: Failed",
    "Entering emergency mode",
];

fn console_failure(log: &std::path::Path) -> Option<String> {
    let text = read_tail(log, 64 * 1024)?;
    let line = text
        .lines()
        .find(|l| FAILURE_MARKS.iter().any(|m| l.contains(m)))?;
    Some(format!("its console says: {}", line.trim()))
}

/// The last `n` lines of a local file (none if it cannot be read).
pub fn tail(path: &std::path::Path, n: usize) -> Vec<String> {
    let Some(text) = read_tail(path, 64 * 1024) else {
        return Vec::new();
    };
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(n);
    lines[from..]
        .iter()
        .map(|l| l.trim_end().to_string())
        .collect()
}

fn read_tail(path: &std::path::Path, max: u64) -> Option<String> {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(max))).ok()?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::libvirt::fake::{FakeBackend, FakeState};
    use crate::libvirt::{DomainState, InterfaceAddress};

    fn target(dir: &std::path::Path) -> Target {
        Target {
            node: "a".into(),
            domain: "c-a".into(),
            macs: vec!["52:54:00:00:00:01".into()],
            console_log: dir.join("console.log"),
        }
    }

    fn quick() -> Options {
        Options {
            timeout: Duration::from_secs(5),
            poll: Duration::from_millis(10),
            ssh_port: 1, // nothing listens there
        }
    }

    fn host(running: bool, leased: Option<&str>) -> FakeBackend {
        let mut s = FakeState::default();
        let xml = "<domain><name>c-a</name></domain>".to_string();
        s.domains.insert("c-a".into(), DomainState { xml, running });
        if let Some(ip) = leased {
            let a = InterfaceAddress {
                mac: "52:54:00:00:00:01".into(),
                ip: ip.parse().expect("ip"),
            };
            s.addresses
                .insert(("c-a".into(), AddressSource::Lease), vec![a]);
        }
        FakeBackend::with_state(s)
    }

    fn stages(seen: &std::sync::Mutex<Vec<Progress>>) -> Vec<Stage> {
        seen.lock().expect("lock").iter().map(|p| p.stage).collect()
    }

    #[test]
    fn a_node_goes_running_leased_and_is_up_where_ssh_answers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            use std::io::Write;
            if let Ok((mut c, _)) = listener.accept() {
                let _ = c.write_all(b"SSH-2.0-test\r\n");
            }
        });
        let b = host(true, Some("127.0.0.1"));
        let seen = std::sync::Mutex::new(Vec::new());
        let opts = Options {
            ssh_port: port,
            ..quick()
        };
        let out = wait(
            &b,
            &[target(dir.path())],
            opts,
            &AtomicBool::new(false),
            &|p| {
                seen.lock().expect("lock").push(p.clone());
            },
        );
        assert_eq!(
            stages(&seen),
            [Stage::Starting, Stage::Running, Stage::Leased, Stage::Up]
        );
        assert_eq!(out[0].last.address, Some(Ipv4Addr::LOCALHOST));
        assert_eq!(out[0].last.source, Some(AddressSource::Lease));
        assert_eq!(out[0].last.note, None, "SSH was checked");
        assert!(out[0].console_tail.is_empty());
    }

    #[test]
    fn a_closed_port_is_not_yet_an_answer() {
        assert_eq!(
            ssh_answers("127.0.0.1:1".parse().expect("addr")),
            Probe::NotYet
        );
    }

    #[test]
    fn a_node_without_a_lease_times_out_leaving_its_stage_and_console_tail() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lines: Vec<String> = (1..=30).map(|i| format!("boot line {i}")).collect();
        std::fs::write(dir.path().join("console.log"), lines.join("\n")).expect("log");
        let b = host(true, None);
        let opts = Options {
            timeout: Duration::from_millis(200),
            ..quick()
        };
        let out = wait(
            &b,
            &[target(dir.path())],
            opts,
            &AtomicBool::new(false),
            &|_| {},
        );
        assert_eq!(out[0].last.stage, Stage::Running);
        // the report says how long it was waited for (it said 0 s)
        assert!(out[0].last.elapsed >= opts.timeout, "{:?}", out[0].last);
        assert_eq!(out[0].console_tail.len(), 20);
        assert_eq!(out[0].console_tail[19], "boot line 30");
    }

    #[test]
    fn a_failure_on_the_console_ends_the_wait_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log =
            "virtstrap-guest: stage fetch-offline\nvirtstrap-guest: FAILED at files: bad config\n";
        std::fs::write(dir.path().join("console.log"), log).expect("log");
        let b = host(true, None);
        let start = Instant::now();
        let out = wait(
            &b,
            &[target(dir.path())],
            quick(),
            &AtomicBool::new(false),
            &|_| {},
        );
        assert!(start.elapsed() < Duration::from_secs(2), "not the timeout");
        assert_eq!(out[0].last.stage, Stage::Failed);
        let note = out[0].last.note.as_deref().unwrap_or_default();
        assert!(note.contains("FAILED at files"), "{note}");
    }

    #[test]
    fn a_node_without_a_network_is_up_once_running() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut t = target(dir.path());
        t.macs.clear();
        let b = host(true, None);
        let out = wait(&b, &[t], quick(), &AtomicBool::new(false), &|_| {});
        assert_eq!(out[0].last.stage, Stage::Up);
        assert!(out[0]
            .last
            .note
            .as_deref()
            .is_some_and(|n| n.contains("no network")));
    }
}
