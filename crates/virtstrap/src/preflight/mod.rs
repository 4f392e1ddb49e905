//! The preflight: what this host can and cannot run, found before
//! anything is made. `virtstrap doctor` prints every check; `plan` and
//! `apply` refuse a spec whose checks fail (spec -> desired -> **preflight
//! + plan** -> apply).
//!
//! Each check is a small function of facts gathered once: what libvirt
//! says about the host ([`HostInfo`]: versions, capabilities), what the
//! plan read of it ([`Actual`]), and, for a local daemon only, what this
//! machine's filesystem shows ([`local::LocalView`]: the qemu user, the
//! directories above each pool, SELinux and AppArmor, the daemon's
//! routes). A check that needs the local view on a remote URI says so
//! (`skip`) rather than guess.
//!
//! The pool, network and base-image checks are the planner's own
//! refusals ([`crate::plan`]), printed here: one place for each check.

use std::fmt;

use crate::libvirt::{Backend, HostInfo};
use crate::plan::{diff, Actual, Desired, Plan, PlanError};

pub mod access;
pub mod caps;
mod checks;
pub mod local;
mod room;
pub mod routes;
pub mod space;

pub use checks::{daemon, host_checks, spec_checks};

/// How a check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Fine.
    Pass,
    /// Works, but worth knowing (and fixing).
    Warn,
    /// This host cannot run the spec as it is.
    Fail,
    /// Not checked, with the reason (a remote host, a test driver).
    Skip,
}

impl Outcome {
    /// `pass`, `warn`, `fail`, `skip`.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Warn => "warn",
            Outcome::Fail => "fail",
            Outcome::Skip => "skip",
        }
    }
}

/// One check's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// What was checked (`kvm`, `traverse bulk`).
    pub name: String,
    /// How it came out.
    pub outcome: Outcome,
    /// What was found.
    pub detail: String,
    /// What to do about a warn or fail (empty otherwise).
    pub fix: String,
    /// Whether a failure refuses `plan` and `apply` (a host that cannot
    /// run the spec), or only `doctor` reports it.
    pub guards: bool,
}

impl Check {
    /// A passing check.
    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check::new(name, Outcome::Pass, detail, "")
    }

    /// A skipped check, with why.
    pub fn skip(name: impl Into<String>, why: impl Into<String>) -> Check {
        Check::new(name, Outcome::Skip, why, "")
    }

    /// A warning, with its fix.
    pub fn warn(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check::new(name, Outcome::Warn, detail, fix)
    }

    /// A failure, with its fix; it does not refuse a plan (see
    /// [`Check::guarding`]).
    pub fn fail(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check::new(name, Outcome::Fail, detail, fix)
    }

    /// The same check, refusing `plan` and `apply` when it fails.
    pub fn guarding(mut self) -> Check {
        self.guards = true;
        self
    }

    fn new(
        name: impl Into<String>,
        outcome: Outcome,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            name: name.into(),
            outcome,
            detail: detail.into(),
            fix: fix.into(),
            guards: false,
        }
    }

    /// The refusal line of a failed guarding check: what, then the fix.
    pub fn refusal(&self) -> String {
        if self.fix.is_empty() {
            self.detail.clone()
        } else {
            format!("{}: {}", self.detail, self.fix)
        }
    }
}

impl fmt::Display for Check {
    /// `pass  name  detail`, and an indented `fix:` line for a warn or
    /// fail.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}  {}  {}", self.outcome.name(), self.name, self.detail)?;
        if matches!(self.outcome, Outcome::Warn | Outcome::Fail) && !self.fix.is_empty() {
            write!(f, "\n      fix: {}", self.fix)?;
        }
        Ok(())
    }
}

/// Where the daemon runs, as far as this process can see it.
#[derive(Debug)]
pub enum View {
    /// On this machine: its filesystem, processes and routes are the
    /// daemon's.
    Local(local::LocalView),
    /// Elsewhere (or not a real host): why the local checks are skipped.
    Remote(String),
}

impl View {
    /// The view for `uri`: local facts read when the URI names no host
    /// (or `localhost`), else the reason they are not.
    pub fn for_uri(uri: &str) -> View {
        match remote_reason(uri) {
            Some(why) => View::Remote(why),
            None => View::Local(local::LocalView::read(&local::Root::system())),
        }
    }
}

/// Why the local checks cannot see `uri`'s host, or `None` for a local
/// daemon. `test:` drivers live in this process and have no host at all.
pub fn remote_reason(uri: &str) -> Option<String> {
    if uri.starts_with("test:") {
        return Some("test driver: its objects are not on this machine's filesystem".into());
    }
    let rest = uri.split_once("://").map_or("", |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or("");
    // user@host:port
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = host.split(':').next().unwrap_or("");
    if host.is_empty() || host == "localhost" {
        None
    } else {
        Some(format!(
            "remote host {host}: cannot see its filesystem from here"
        ))
    }
}

/// What a spec's checks look at, beyond the host.
#[derive(Debug)]
pub struct SpecFacts<'a> {
    /// What the spec wants (rendered).
    pub want: &'a Desired,
    /// What the host has of it.
    pub actual: &'a Actual,
    /// The nodes whose spec asks for `domain_type: kvm` (the test driver
    /// runs every node as its own type; this is what the spec said).
    pub kvm_nodes: &'a [String],
    /// Ignition goes through `<qemu:commandline>` (`--qemu-commandline-fw-cfg`).
    pub commandline_fw_cfg: bool,
}

/// Read the host once and plan, refusing what the host cannot run: the
/// planner's own refusals and every failed guarding check, all at once
/// (exit 2, nothing changed).
pub fn checked_plan(
    backend: &dyn Backend,
    want: &Desired,
    adopt: bool,
    facts: impl FnOnce(&Actual) -> Vec<Check>,
) -> Result<Plan, PlanError> {
    let actual = Actual::read(backend, want)?;
    let mut refused: Vec<String> = facts(&actual)
        .iter()
        .filter(|c| c.guards && c.outcome == Outcome::Fail)
        .map(Check::refusal)
        .collect();
    match diff::diff(want, &actual, adopt) {
        Ok(plan) if refused.is_empty() => Ok(plan),
        Ok(_) => Err(PlanError::Conflicts(refused)),
        Err(PlanError::Conflicts(mut c)) => {
            c.append(&mut refused);
            Err(PlanError::Conflicts(c))
        }
        Err(e) => Err(e),
    }
}

/// Every check of `spec` on a host: the host's own, then the spec's.
pub fn all_checks(info: &HostInfo, view: &View, spec: Option<&SpecFacts<'_>>) -> Vec<Check> {
    let mut out = host_checks(info, view, spec);
    if let Some(spec) = spec {
        out.extend(spec_checks(info, view, spec));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_uris_name_no_host_or_localhost() {
        for uri in [
            "qemu:///system",
            "qemu:///session",
            "qemu+unix:///system",
            "qemu+ssh://localhost/system",
            "qemu+ssh://root@localhost:22/system",
        ] {
            assert_eq!(remote_reason(uri), None, "{uri}");
        }
        let why = remote_reason("qemu+ssh://root@box:2222/system").expect("remote");
        assert!(why.contains("remote host box"), "{why}");
        assert!(remote_reason("test:///default").is_some());
    }

    #[test]
    fn a_failed_check_prints_its_fix_indented() {
        let c = Check::fail("kvm", "not usable", "use qemu");
        assert_eq!(c.to_string(), "fail  kvm  not usable\n      fix: use qemu");
        assert_eq!(Check::pass("x", "ok").to_string(), "pass  x  ok");
        assert_eq!(c.refusal(), "not usable: use qemu");
    }
}
