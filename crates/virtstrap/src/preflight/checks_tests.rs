//! The checks over hand-built facts: a spec rendered from text, a host
//! written out here, a local view of a tempdir tree.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::*;
use crate::libvirt::fake::{fake_host_info, FakeBackend, FakeState};
use crate::libvirt::PoolState;
use crate::plan::desired::desired;
use crate::plan::PlanError;
use crate::preflight::access::{Accounts, QemuConf};
use crate::preflight::local::LocalView;
use crate::preflight::room::{ignition, route_checks};
use crate::preflight::space;
use crate::preflight::{all_checks, checked_plan, Outcome};
use crate::render::domain::DomainOptions;
use crate::render::host::HostFacts;
use crate::render::ignition::ButaneSet;
use crate::spec::{load_str, LoadOptions};

fn want(text: &str) -> Desired {
    let c = load_str(text, Path::new("/t/cluster.yaml"), &LoadOptions::default()).expect("spec");
    let butane = ButaneSet::load(&c).expect("no Butane files");
    desired(
        &c,
        &butane,
        &HostFacts::default(),
        &DomainOptions::default(),
    )
    .expect("desired")
}

fn spec(pool_path: &Path) -> String {
    format!(
        "name: t\nimage: {{ pool: p, volume: base.qcow2 }}\n\
         defaults: {{ vcpus: 1, memory: 512MiB, disk: {{ pool: p, size: 4GiB }}, networks: [] }}\n\
         nodes: [ {{ name: a }}, {{ name: b }} ]\n\
         pools: [ {{ name: p, path: {} }} ]\n",
        pool_path.display()
    )
}

/// A local view where QEMU runs as uid 64055 (the DAC label of
/// [`fake_host_info`]).
fn local() -> View {
    View::Local(LocalView {
        daemon_pid: None,
        qemu_conf: QemuConf::default(),
        qemu_conf_path: String::new(),
        accounts: Accounts::parse("libvirt-qemu:x:64055:64055::/:/bin/false\n", ""),
        running_qemu: None,
        selinux: Selinux::Off,
        apparmor: false,
        routes: Vec::new(),
        routes_path: "/proc/net/route".into(),
    })
}

fn find<'a>(checks: &'a [Check], name: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name} in {checks:#?}"))
}

fn no_kvm() -> HostInfo {
    let mut info = fake_host_info();
    info.capabilities = info.capabilities.replace("<domain type='kvm'/>", "");
    info
}

#[test]
fn kvm_fails_only_when_the_spec_asks_for_it() {
    let caps = Caps::parse(&no_kvm().capabilities);
    assert_eq!(kvm(&caps, None).outcome, Outcome::Warn);
    assert_eq!(kvm(&caps, Some(&[])).outcome, Outcome::Pass);
    let asked: Vec<String> = (1..=7).map(|i| format!("w{i}")).collect();
    let c = kvm(&caps, Some(&asked));
    assert_eq!((c.outcome, c.guards), (Outcome::Fail, true));
    assert!(
        c.detail.contains("nodes w1, w2, w3, w4, w5 and 2 more ask"),
        "{}",
        c.detail
    );
    assert!(c.fix.contains("domain_type: qemu"));
    let usable = Caps::parse(&fake_host_info().capabilities);
    assert_eq!(kvm(&usable, Some(&asked)).outcome, Outcome::Pass);
}

#[test]
fn fw_cfg_needs_libvirt_6_5_or_the_commandline_fallback() {
    let mut info = fake_host_info();
    assert_eq!(fw_cfg(&info, false).outcome, Outcome::Pass);
    info.libvirt_version = 6_004_000;
    let c = fw_cfg(&info, false);
    assert_eq!(c.outcome, Outcome::Fail);
    assert!(c.fix.contains("--qemu-commandline-fw-cfg"));
    assert_eq!(fw_cfg(&info, true).outcome, Outcome::Pass);
    info.hypervisor = "TEST".into();
    assert_eq!(fw_cfg(&info, false).outcome, Outcome::Skip);
}

#[test]
fn the_daemons_failures_say_how_to_get_in() {
    let perm = daemon(
        "qemu:///system",
        Some("Failed to connect socket to '/run/libvirt/libvirt-sock': Permission denied"),
    );
    assert!(
        perm.fix.contains("libvirt group") && perm.fix.contains("polkit"),
        "{}",
        perm.fix
    );
    let none = daemon(
        "qemu:///system",
        Some("Failed to connect socket to '/x': No such file or directory"),
    );
    assert!(none.fix.contains("start it"), "{}", none.fix);
    // polkit out of reach reads as a missing file, but the daemon is there
    let bus = daemon("qemu:///system", Some("internal error: Unable to get system bus connection: Could not connect: No such file or directory"));
    assert!(
        bus.fix.contains("libvirt group") && bus.fix.contains("auth_unix_rw"),
        "{}",
        bus.fix
    );
    assert_eq!(daemon("qemu:///system", None).outcome, Outcome::Pass);
}

#[test]
fn a_pool_under_a_closed_directory_refuses_the_plan() {
    let top = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(top.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let w = want(&spec(&top.path().join("pool")));
    // the declared pool is not there yet: the spec's path is checked
    let b = FakeBackend::with_state(FakeState {
        host_info: no_kvm(),
        ..FakeState::default()
    });
    let view = local();
    let err = checked_plan(&b, &w, false, |actual| {
        let facts = SpecFacts {
            want: &w,
            actual,
            kvm_nodes: &[],
            commandline_fw_cfg: false,
        };
        let checks = all_checks(&no_kvm(), &view, Some(&facts));
        let t = find(&checks, "traverse p");
        assert_eq!(t.outcome, Outcome::Fail, "{t:?}");
        assert!(t
            .fix
            .contains(&format!("chmod o+x {}", top.path().display())));
        // the base image's pool is one apply makes: empty at first
        let base = find(&checks, "base image");
        assert_eq!(base.outcome, Outcome::Warn, "{base:?}");
        assert!(base.fix.contains("upload the image into p"), "{base:?}");
        checks
    });
    let Err(PlanError::Conflicts(c)) = err else {
        panic!("not refused: {err:?}");
    };
    assert!(
        c.iter()
            .any(|l| l.contains("is not searchable by libvirt-qemu")),
        "{c:?}"
    );
    // opened, it plans
    std::fs::set_permissions(top.path(), std::fs::Permissions::from_mode(0o711)).expect("chmod");
    let ok = checked_plan(&b, &w, false, |actual| {
        let facts = SpecFacts {
            want: &w,
            actual,
            kvm_nodes: &[],
            commandline_fw_cfg: false,
        };
        all_checks(&no_kvm(), &view, Some(&facts))
    });
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn on_a_remote_host_the_local_checks_are_skipped_and_never_refuse() {
    let w = want(&spec(Path::new("/nowhere/pool")));
    let view = View::Remote("remote host box: cannot see its filesystem from here".into());
    let actual = Actual::default();
    let facts = SpecFacts {
        want: &w,
        actual: &actual,
        kvm_nodes: &[],
        commandline_fw_cfg: false,
    };
    let checks = all_checks(&fake_host_info(), &view, Some(&facts));
    for name in ["traverse p", "qemu user"] {
        let c = find(&checks, name);
        assert_eq!(c.outcome, Outcome::Skip, "{c:?}");
        assert!(c.detail.contains("remote host box"));
    }
}

#[test]
fn a_pool_too_full_for_the_new_disks_refuses_and_one_thinly_full_warns() {
    let vols = vec![
        space::new_volume("<volume><name>r</name><capacity unit='bytes'>4294967296</capacity><target><format type='qcow2'/></target></volume>", 0),
        space::new_volume("<volume><name>i</name><capacity unit='bytes'>0</capacity><target><format type='raw'/></target></volume>", 3000),
    ];
    let room = |avail| crate::preflight::room::pool_space("p", &vols, avail);
    let full = room(Ok(100_000));
    assert_eq!(
        (full.outcome, full.guards),
        (Outcome::Fail, true),
        "{full:?}"
    );
    assert!(
        full.detail.contains("take 258.9 KiB just to be created"),
        "{}",
        full.detail
    );
    let thin = room(Ok(1 << 30));
    assert_eq!(
        (thin.outcome, thin.guards),
        (Outcome::Warn, false),
        "{thin:?}"
    );
    assert!(
        thin.detail.contains("may grow to 4.0 GiB"),
        "{}",
        thin.detail
    );
    assert_eq!(room(Ok(8 << 30)).outcome, Outcome::Pass);
    assert_eq!(room(Err("remote".into())).outcome, Outcome::Skip);
}

#[test]
fn the_planners_refusals_are_the_pools_check() {
    let w = want(&spec(Path::new("/var/lib/libvirt/images/p")).replace(
        "pools: [ { name: p, path: /var/lib/libvirt/images/p } ]\n",
        "",
    ));
    let mut actual = Actual::default();
    actual.pools.insert(
        "p".into(),
        Some(PoolState {
            xml: String::new(),
            active: false,
            persistent: true,
            path: "/var/lib/libvirt/images/p".into(),
        }),
    );
    let c = &pools(&w, &actual)[0];
    assert_eq!(c.outcome, Outcome::Fail);
    assert_eq!(c.detail, "pool p exists but is not started");
    assert_eq!(c.fix, "start it (virsh pool-start p)");
}

#[test]
fn ignition_readability_follows_the_confinement_and_the_delivery() {
    let dirs = [std::path::PathBuf::from("/srv/pool")];
    let caps = |model: &str| {
        Caps::parse(
            &fake_host_info()
                .capabilities
                .replace("<model>none</model>", model),
        )
    };
    let with = |f: &dyn Fn(&mut LocalView)| {
        let View::Local(mut l) = local() else {
            unreachable!("local() is local")
        };
        f(&mut l);
        View::Local(l)
    };
    let plain = ignition(&caps("<model>none</model>"), &local(), false, &dirs);
    assert_eq!(plain.outcome, Outcome::Pass, "{plain:?}");
    let sel = ignition(&caps("<model>selinux</model>"), &local(), false, &dirs);
    assert!(sel.outcome == Outcome::Pass && sel.detail.contains("SELinux relabels"));
    let aa = ignition(
        &caps("<model>none</model>"),
        &with(&|l| l.apparmor = true),
        false,
        &dirs,
    );
    assert_eq!(aa.outcome, Outcome::Warn);
    assert!(aa.fix.contains("`/srv/pool/*.ign rk,`") && aa.fix.contains("TEMPLATE.qemu"));
    let nodyn = with(&|l| l.qemu_conf.dynamic_ownership = Some(false));
    let d = ignition(&caps("<model>none</model>"), &nodyn, false, &dirs);
    assert!(d.outcome == Outcome::Warn && d.fix.contains("dynamic_ownership = 1"));
    // <qemu:commandline>: nobody hands the file over
    let enforcing = with(&|l| l.selinux = Selinux::Enforcing);
    let cl = ignition(&caps("<model>none</model>"), &enforcing, true, &dirs);
    assert!(
        cl.outcome == Outcome::Warn && cl.fix.contains("chcon -t virt_content_t /srv/pool/*.ign")
    );
    let cl_dac = ignition(&caps("<model>none</model>"), &local(), true, &dirs);
    assert!(cl_dac.fix.contains("user = \"root\""), "{cl_dac:?}");
    // remote: the daemon's model still counts
    let remote = View::Remote("remote host box".into());
    assert_eq!(
        ignition(&caps("<model>apparmor</model>"), &remote, false, &dirs).outcome,
        Outcome::Warn
    );
}

#[test]
fn a_declared_range_over_a_route_fails_unless_it_is_the_networks_own_bridge() {
    let w = want(
        "name: t\nimage: { pool: p, volume: b.qcow2 }\ndefaults: { disk: { pool: p, size: 1GiB }, networks: [ n ] }\n\
         nodes: [ { name: a } ]\nnetworks: [ { name: n, mode: isolated, cidr: 10.7.0.0/24 } ]\n",
    );
    let table = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n\
                 br7\t0000070A\t00000000\t0001\t0\t0\t0\t0000FFFF\n";
    let view = {
        let View::Local(mut l) = local() else {
            unreachable!("local() is local")
        };
        l.routes = crate::preflight::routes::parse_routes(table);
        View::Local(l)
    };
    let mut actual = Actual::default();
    let c = &route_checks(&w, &actual, &view)[0];
    assert_eq!(c.outcome, Outcome::Fail, "{c:?}");
    assert!(
        c.detail
            .contains("overlaps the host's route 10.7.0.0/16 on br7"),
        "{}",
        c.detail
    );
    // the host's network n already runs on br7: its own route
    let net = crate::plan::actual::ActualNetwork {
        active: true,
        shape: Some(crate::plan::actual::NetworkShape {
            mode: "isolated".into(),
            subnet: None,
            bridge: Some("br7".into()),
        }),
        ..Default::default()
    };
    actual.networks.insert("n".into(), Some(net));
    assert_eq!(route_checks(&w, &actual, &view)[0].outcome, Outcome::Pass);
    let remote = View::Remote("remote host box".into());
    assert_eq!(route_checks(&w, &actual, &remote)[0].outcome, Outcome::Skip);
}
