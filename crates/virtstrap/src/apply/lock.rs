//! The cluster lock: every run that changes a host (apply, destroy) holds
//! it for as long as it plans and executes, so two runs on one cluster
//! never interleave (spec -> plan -> **apply**, under the lock). It lives
//! on the libvirt host itself ([`Backend::create_lock`]), so it holds
//! between two terminals and between two machines driving the same URI
//! alike; `plan` and `status` never take it.
//!
//! The lock records who holds it: machine, process, command, since when,
//! and a heartbeat the holder renews every [`HEARTBEAT`]. A lock is
//! stale, and is taken over without a human, when its holder is on this
//! machine and its process is gone (`kill -9`, a crash), or, from another
//! machine, when its heartbeat is older than [`STALE_AFTER`]. Anything
//! else waits (`--lock-timeout`) or is refused with the holder's name;
//! `--force-unlock` breaks it explicitly.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::libvirt::{Backend, BackendError};
use crate::render::owner::OWNER_NS;
use crate::xmltree::Element;

/// How often the holder renews its heartbeat.
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// A lock from another machine whose heartbeat is older than this is
/// stale: six missed heartbeats, so a holder stalled by a loaded host or
/// a slow link is not mistaken for a dead one, while a run that died on
/// another machine blocks the cluster for a minute at most. (Clocks of
/// machines sharing a host are assumed to agree within a few seconds, as
/// NTP keeps them.)
pub const STALE_AFTER: Duration = Duration::from_secs(60);

/// How to take the lock.
#[derive(Clone, Copy, Debug, Default)]
pub struct LockOptions {
    /// Wait this long for a held lock to be released; `None`: refuse at
    /// once.
    pub timeout: Option<Duration>,
    /// Break whatever lock is held, then take it.
    pub force: bool,
}

/// Who holds a lock, as its record says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Holder {
    /// The command (`apply`, `destroy`).
    pub command: String,
    /// The machine's host name, for people.
    pub machine: String,
    /// The machine's identity (`/etc/machine-id`), to tell this machine.
    pub machine_id: String,
    /// The process.
    pub pid: u32,
    /// The process's start time (clock ticks since boot), so a reused
    /// PID is not taken for the holder.
    pub pid_start: u64,
    /// When the lock was taken (seconds since the epoch).
    pub since: u64,
    /// The last heartbeat (seconds since the epoch).
    pub heartbeat: u64,
}

/// Why the lock could not be taken or was lost.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone else holds it.
    #[error(
        "cluster {cluster} on {uri} is locked by {}\n  wait for that run to finish, or pass \
         --lock-timeout DURATION (e.g. 5m) to wait for it;\n  if that run is gone and the \
         lock is not recognised as stale, --force-unlock breaks it",
        describe(.holder)
    )]
    Held {
        /// The cluster.
        cluster: String,
        /// The host.
        uri: String,
        /// The holder.
        holder: Box<Holder>,
    },
    /// An object of the lock's name exists and is not a lock.
    #[error(
        "network {name} exists and is not a virtstrap cluster lock: virtstrap never touches \
         it; rename that network, or the cluster"
    )]
    Foreign {
        /// The lock's name.
        name: String,
    },
    /// The host could not be asked.
    #[error(transparent)]
    Host(#[from] BackendError),
}

/// The lock object's name for `cluster`.
pub fn lock_name(cluster: &str) -> String {
    format!("{cluster}.virtstrap-lock")
}

/// Take `cluster`'s lock for `command`, run `body`, release the lock.
/// While `body` runs, a thread renews the heartbeat; if the lock is
/// broken meanwhile, `lost` is set, so the executor stops new work.
/// `notify` hears what happened on the way (waiting, a stale lock taken
/// over, a lock broken).
pub fn with_lock<T>(
    backend: &dyn Backend,
    cluster: &str,
    command: &str,
    opts: LockOptions,
    lost: &AtomicBool,
    notify: &(dyn Fn(&str) + Sync),
    body: impl FnOnce() -> T,
) -> Result<T, LockError> {
    let name = lock_name(cluster);
    let me = Holder::me(command);
    let token = acquire(backend, cluster, &me, opts, notify)?;
    let (stop, ticks) = mpsc::channel::<()>();
    let out = std::thread::scope(|scope| {
        let (n, t, m) = (&name, &token, &me);
        scope.spawn(move || heartbeat(backend, n, t, m, &ticks, lost, notify));
        let out = body();
        drop(stop);
        out
    });
    // a lock that was broken meanwhile is someone else's now: never
    // remove it
    if backend.remove_lock(&name, &token).is_err() {
        notify(&format!(
            "could not release the cluster lock {name}; the next run on this machine takes it over"
        ));
    }
    Ok(out)
}

fn acquire(
    backend: &dyn Backend,
    cluster: &str,
    me: &Holder,
    opts: LockOptions,
    notify: &dyn Fn(&str),
) -> Result<String, LockError> {
    let name = lock_name(cluster);
    let start = Instant::now();
    let mut force = opts.force;
    let mut waiting = false;
    loop {
        if let Some(token) = backend.create_lock(&name, &me.record())? {
            return Ok(token);
        }
        let Some(state) = backend.lock_state(&name)? else {
            // released meanwhile: take it (not a busy loop on a host that
            // answers oddly)
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        // a network of that name that holds no lock record is someone
        // else's: never broken, whatever the options
        let Some(holder) = Holder::from_record(&state.record) else {
            return Err(LockError::Foreign { name });
        };
        let why = if force {
            force = false;
            Some("--force-unlock".to_string())
        } else {
            stale(&holder, now(), &machine_id())
        };
        if let Some(why) = why {
            if backend.remove_lock(&name, &state.token)? {
                notify(&format!(
                    "broke the cluster lock held by {} ({why})",
                    describe(&holder)
                ));
            }
            continue;
        }
        let waited = start.elapsed();
        let Some(left) = opts.timeout.and_then(|t| t.checked_sub(waited)) else {
            return Err(LockError::Held {
                cluster: cluster.to_string(),
                uri: backend.uri(),
                holder: Box::new(holder),
            });
        };
        if !waiting {
            notify(&format!(
                "waiting for the cluster lock held by {}",
                describe(&holder)
            ));
            waiting = true;
        }
        std::thread::sleep(left.min(Duration::from_millis(250)));
    }
}

/// Renew the heartbeat until `ticks` closes; set `lost` if the lock was
/// broken.
fn heartbeat(
    backend: &dyn Backend,
    name: &str,
    token: &str,
    me: &Holder,
    ticks: &mpsc::Receiver<()>,
    lost: &AtomicBool,
    notify: &(dyn Fn(&str) + Sync),
) {
    let mut me = me.clone();
    while let Err(mpsc::RecvTimeoutError::Timeout) = ticks.recv_timeout(HEARTBEAT) {
        me.heartbeat = now();
        match backend.renew_lock(name, token, &me.record()) {
            Ok(true) => {}
            Ok(false) => {
                lost.store(true, Ordering::SeqCst);
                notify("the cluster lock was broken by another run (--force-unlock?): stopping");
                return;
            }
            // a missed heartbeat is not fatal: STALE_AFTER allows several
            Err(_) => {}
        }
    }
}

/// Why `holder`'s lock is stale, if it is, at `now`, seen from the
/// machine `here`.
pub fn stale(holder: &Holder, now: u64, here: &str) -> Option<String> {
    if !holder.machine_id.is_empty() && holder.machine_id == here {
        return (!process_alive(holder.pid, holder.pid_start))
            .then(|| format!("process {} is gone", holder.pid));
    }
    let quiet = now.saturating_sub(holder.heartbeat);
    (quiet > STALE_AFTER.as_secs()).then(|| format!("no heartbeat for {quiet} s"))
}

impl Holder {
    /// This process, running `command`, now.
    pub fn me(command: &str) -> Holder {
        let pid = std::process::id();
        let now = now();
        Holder {
            command: command.to_string(),
            machine: hostname(),
            machine_id: machine_id(),
            pid,
            pid_start: process_start(pid).unwrap_or(0),
            since: now,
            heartbeat: now,
        }
    }

    /// The record written into the lock: one `<vs:lock/>` element.
    pub fn record(&self) -> String {
        let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
        format!(
            "<vs:lock xmlns:vs=\"{OWNER_NS}\" command=\"{}\" machine=\"{}\" machine-id=\"{}\" \
             pid=\"{}\" pid-start=\"{}\" since=\"{}\" heartbeat=\"{}\"/>",
            esc(&self.command),
            esc(&self.machine),
            esc(&self.machine_id),
            self.pid,
            self.pid_start,
            self.since,
            self.heartbeat
        )
    }

    /// Read a record back from the lock object's XML (or the record
    /// alone); `None` if there is none.
    pub fn from_record(xml: &str) -> Option<Holder> {
        let root = Element::parse(xml).ok()?;
        let e = root.find_ns(OWNER_NS, "lock")?;
        let text = |k: &str| e.attr(k).unwrap_or_default().to_string();
        let number = |k: &str| e.attr(k).and_then(|v| v.parse().ok()).unwrap_or(0);
        Some(Holder {
            command: text("command"),
            machine: text("machine"),
            machine_id: text("machine-id"),
            pid: e.attr("pid").and_then(|v| v.parse().ok()).unwrap_or(0),
            pid_start: number("pid-start"),
            since: number("since"),
            heartbeat: number("heartbeat"),
        })
    }
}

/// `apply (pid 42 on host box1, since 2026-12-01 14:03:12 UTC, 35 s ago)`.
pub fn describe(h: &Holder) -> String {
    if h.pid == 0 {
        return "a run virtstrap cannot identify (the lock holds no record it can read)".into();
    }
    let ago = now().saturating_sub(h.since);
    format!(
        "{} (pid {} on host {}, since {}, {ago} s ago)",
        h.command,
        h.pid,
        h.machine,
        utc(h.since)
    )
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `YYYY-MM-DD HH:MM:SS UTC` of `secs` since the epoch (the proleptic
/// Gregorian calendar, days to civil date by the usual era arithmetic).
pub fn utc(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// This machine's identity: systemd's machine-id, else the host name.
pub fn machine_id() -> String {
    ["/etc/machine-id", "/var/lib/dbus/machine-id"]
        .iter()
        .find_map(|p| {
            let id = std::fs::read_to_string(p).ok()?;
            let id = id.trim();
            (!id.is_empty()).then(|| id.to_string())
        })
        .unwrap_or_else(hostname)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// A process's start time in clock ticks since boot (`/proc/PID/stat`,
/// field 22), if it is running.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // the command name (field 2) may hold spaces and parentheses: the
    // fields after it start past the last ')', at field 3
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn process_alive(pid: u32, start: u64) -> bool {
    match process_start(pid) {
        None => false,
        Some(s) => start == 0 || s == start,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::libvirt::fake::FakeBackend;

    fn quiet(_: &str) {}

    #[test]
    fn a_record_reads_back() {
        let me = Holder::me("apply");
        assert_eq!(Holder::from_record(&me.record()), Some(me.clone()));
        let wrapped = format!(
            "<network><name>x</name><metadata>{}</metadata></network>",
            me.record()
        );
        assert_eq!(Holder::from_record(&wrapped), Some(me));
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_796_135_592), "2026-12-01 14:33:12 UTC");
    }

    #[test]
    fn a_live_holder_here_is_never_stale_and_a_dead_one_is() {
        let me = Holder::me("apply");
        let here = machine_id();
        assert_eq!(stale(&me, now() + 3600, &here), None, "alive, however old");
        let dead = Holder {
            pid: u32::MAX - 1,
            ..me.clone()
        };
        assert!(stale(&dead, now(), &here).is_some_and(|w| w.contains("gone")));
        let reused = Holder {
            pid_start: me.pid_start + 1,
            ..me
        };
        assert!(
            stale(&reused, now(), &here).is_some(),
            "a reused pid is not the holder"
        );
    }

    #[test]
    fn another_machines_lock_is_stale_only_without_heartbeat() {
        let other = Holder {
            machine_id: "elsewhere".into(),
            heartbeat: 1000,
            ..Holder::me("apply")
        };
        assert_eq!(stale(&other, 1000 + STALE_AFTER.as_secs(), "here"), None);
        assert!(stale(&other, 1001 + STALE_AFTER.as_secs(), "here").is_some());
    }

    #[test]
    fn a_held_lock_refuses_names_its_holder_and_is_released_after() {
        let b = FakeBackend::new();
        let lost = AtomicBool::new(false);
        let inner = with_lock(
            &b,
            "c",
            "apply",
            LockOptions::default(),
            &lost,
            &quiet,
            || {
                let second = with_lock(
                    &b,
                    "c",
                    "destroy",
                    LockOptions::default(),
                    &lost,
                    &quiet,
                    || (),
                );
                match second {
                    Err(e @ LockError::Held { .. }) => e.to_string(),
                    other => panic!("second run got {other:?}"),
                }
            },
        )
        .expect("first run takes the lock");
        assert!(inner.contains("locked by apply (pid "), "{inner}");
        assert!(inner.contains("--force-unlock"), "{inner}");
        assert!(b.state().locks.is_empty(), "released");
    }

    #[test]
    fn a_dead_holders_lock_is_taken_over_and_force_breaks_a_live_one() {
        let b = FakeBackend::new();
        let dead = Holder {
            pid: u32::MAX - 1,
            ..Holder::me("apply")
        };
        b.create_lock("c.virtstrap-lock", &dead.record())
            .expect("fake")
            .expect("free");
        let lost = AtomicBool::new(false);
        let said = std::sync::Mutex::new(Vec::new());
        let note = |m: &str| said.lock().expect("lock").push(m.to_string());
        with_lock(
            &b,
            "c",
            "apply",
            LockOptions::default(),
            &lost,
            &note,
            || (),
        )
        .expect("taken over");
        let live = Holder::me("destroy");
        b.create_lock("c.virtstrap-lock", &live.record())
            .expect("fake")
            .expect("free");
        let plain = with_lock(
            &b,
            "c",
            "apply",
            LockOptions::default(),
            &lost,
            &note,
            || (),
        );
        assert!(matches!(plain, Err(LockError::Held { .. })));
        let force = LockOptions {
            force: true,
            ..LockOptions::default()
        };
        with_lock(&b, "c", "apply", force, &lost, &note, || ()).expect("forced");
        let said = said.into_inner().expect("lock");
        assert!(said[0].contains("is gone"), "{said:?}");
        assert!(said[1].contains("--force-unlock"), "{said:?}");
        assert!(b.state().locks.is_empty());
    }

    #[test]
    fn a_network_of_the_locks_name_that_is_no_lock_is_never_broken() {
        let b = FakeBackend::new();
        b.create_lock(
            "c.virtstrap-lock",
            "<network><name>c.virtstrap-lock</name></network>",
        )
        .expect("fake")
        .expect("free");
        let lost = AtomicBool::new(false);
        let force = LockOptions {
            force: true,
            ..LockOptions::default()
        };
        let r = with_lock(&b, "c", "apply", force, &lost, &quiet, || ());
        assert!(matches!(r, Err(LockError::Foreign { .. })), "{r:?}");
        assert_eq!(b.state().locks.len(), 1, "left as it was");
    }

    #[test]
    fn a_timeout_waits_for_the_holder_to_finish() {
        let b = FakeBackend::new();
        let live = Holder::me("destroy");
        let token = b
            .create_lock("c.virtstrap-lock", &live.record())
            .expect("fake")
            .expect("free");
        let lost = AtomicBool::new(false);
        let wait = LockOptions {
            timeout: Some(Duration::from_secs(5)),
            force: false,
        };
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(300));
                assert!(b.remove_lock("c.virtstrap-lock", &token).expect("fake"));
            });
            let start = Instant::now();
            with_lock(&b, "c", "apply", wait, &lost, &quiet, || ()).expect("after the wait");
            assert!(start.elapsed() >= Duration::from_millis(250));
        });
    }
}
