//! Domain XML (libvirt's formatdomain, <https://libvirt.org/formatdomain.html>)
//! for one node: the write-up's Jinja domain template, rebuilt element by
//! element with an XML writer. Part of render: spec and [`HostFacts`] in,
//! XML text out; `render NODE --explain` prints it with a comment saying why
//! before each element, and the planner compares the owner element's
//! `spec-hash` to decide whether a domain is current.
//!
//! `spec-hash` is the first 16 hex digits of SHA-256 over everything
//! rendered for the node except the hash itself: the domain XML written
//! without explain comments and with `spec-hash=""`, then each of the
//! node's volumes (pool, name, XML), each part length-prefixed. It covers
//! vCPUs, memory, disks, NICs and MACs, boot, the base image and the
//! Ignition path, but not the Ignition *content*, which is its own volume
//! (compare its bytes). `--explain` does not change it.

use sha2::{Digest, Sha256};

use crate::spec::{Cluster, DomainType, NetMode, Node};

use super::addr::nic_mac;
use super::host::{console_log_path, ignition_path, path_text, HostFacts};
use super::owner::{self, Owner, Reservation};
use super::storage::{data_volume_name, node_volumes, root_volume_name};
use super::xml::Xml;

/// libvirt's namespace for QEMU pass-through (`<qemu:commandline>`).
pub const QEMU_NS: &str = "http://libvirt.org/schemas/domain/qemu/1.0";

/// How to render a domain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DomainOptions {
    /// Put a comment saying why before every element (`render --explain`).
    pub explain: bool,
    /// Pass Ignition with `<qemu:commandline>` `-fw_cfg` instead of
    /// `<sysinfo type='fwcfg'>`, for libvirt older than 6.5.
    pub qemu_commandline_fw_cfg: bool,
}

/// The `<domain>` XML of `node`, with its `spec-hash` (see the module doc).
pub fn domain_xml(
    cluster: &Cluster,
    node: &Node,
    host: &HostFacts,
    opts: &DomainOptions,
) -> String {
    domain_xml_with_ignition(cluster, node, host, opts, "")
}

/// [`domain_xml`] whose owner element also records the hash of the
/// node's Ignition config (`ignition-hash`): Ignition runs only on first
/// boot, so the planner must tell a changed config from an unchanged one.
/// An empty hash is left out.
pub fn domain_xml_with_ignition(
    cluster: &Cluster,
    node: &Node,
    host: &HostFacts,
    opts: &DomainOptions,
    ignition_hash: &str,
) -> String {
    domain_xml_recorded(cluster, node, host, opts, ignition_hash, &[])
}

/// [`domain_xml_with_ignition`] whose owner element also records the
/// DHCP host entries virtstrap made for the node on networks it does not
/// own, so that destroy removes exactly those. They come from the host,
/// not the spec: not part of `spec-hash`.
pub fn domain_xml_recorded(
    cluster: &Cluster,
    node: &Node,
    host: &HostFacts,
    opts: &DomainOptions,
    ignition_hash: &str,
    reservations: &[Reservation],
) -> String {
    let hash = spec_hash(cluster, node, host, opts);
    Domain {
        cluster,
        node,
        host,
        opts,
        hash: &hash,
        ignition_hash,
        reservations,
    }
    .render()
}

/// The `spec-hash` of `node` (see the module doc): 16 lowercase hex digits.
pub fn spec_hash(cluster: &Cluster, node: &Node, host: &HostFacts, opts: &DomainOptions) -> String {
    let plain = DomainOptions {
        explain: false,
        ..*opts
    };
    let unhashed = Domain {
        cluster,
        node,
        host,
        opts: &plain,
        hash: "",
        ignition_hash: "",
        reservations: &[],
    }
    .render();
    let mut h = Sha256::new();
    let mut part = |s: &str| {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    };
    part(&unhashed);
    for v in node_volumes(cluster, node, host) {
        part(&v.pool);
        part(&v.name);
        part(&v.xml);
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// libvirt's name for the `i`th virtio disk (from 0): `vda`.. `vdz`, `vdaa`..
pub fn disk_target(i: usize) -> String {
    let mut suffix = Vec::new();
    let mut n = i + 1;
    while n > 0 {
        n -= 1;
        suffix.push(b'a' + u8::try_from(n % 26).expect("n % 26 < 26"));
        n /= 26;
    }
    suffix.reverse();
    format!("vd{}", String::from_utf8(suffix).expect("ASCII letters"))
}

/// Everything one domain's rendering needs.
struct Domain<'a> {
    cluster: &'a Cluster,
    node: &'a Node,
    host: &'a HostFacts,
    opts: &'a DomainOptions,
    hash: &'a str,
    ignition_hash: &'a str,
    reservations: &'a [Reservation],
}

impl Domain<'_> {
    fn render(&self) -> String {
        let mut x = Xml::new(self.opts.explain);
        let kind = self.node.domain_type.as_str();
        let mut attrs = vec![("type", kind)];
        if self.opts.qemu_commandline_fw_cfg {
            attrs.push(("xmlns:qemu", QEMU_NS));
        }
        let why = match self.node.domain_type {
            DomainType::Kvm => "one VM per node; kvm: hardware virtualization",
            DomainType::Qemu => {
                "one VM per node; qemu: software emulation (TCG), for hosts without usable KVM"
            }
            DomainType::Test => "one VM per node; test: libvirt's in-process test driver",
        };
        x.elem("domain", &attrs, why, |x| {
            let name = self.cluster.domain_name(self.node);
            x.text(
                "name",
                &[],
                &name,
                "the name virsh knows it by; the cluster prefix lets clusters share a host",
            );
            self.metadata(x);
            let mib = self.node.memory_mib.to_string();
            x.text(
                "memory",
                &[("unit", "MiB")],
                &mib,
                "guest RAM, in MiB as the write-up writes it",
            );
            let vcpus = self.node.vcpus.to_string();
            x.text(
                "vcpu",
                &[("placement", "static")],
                &vcpus,
                "virtual CPUs; static placement, no NUMA tuning",
            );
            if !self.opts.qemu_commandline_fw_cfg {
                self.sysinfo(x);
            }
            self.os(x);
            self.platform(x);
            self.devices(x);
            if self.opts.qemu_commandline_fw_cfg {
                self.qemu_commandline(x);
            }
        });
        x.finish()
    }

    fn metadata(&self, x: &mut Xml) {
        let volumes = node_volumes(self.cluster, self.node, self.host);
        let owner = Owner {
            cluster: self.cluster.name.clone(),
            node: self.node.name.clone(),
            spec_hash: self.hash.to_string(),
            ignition_hash: self.ignition_hash.to_string(),
            volumes: volumes.into_iter().map(|v| (v.pool, v.name)).collect(),
            reservations: self.reservations.to_vec(),
        };
        x.elem(
            "metadata",
            &[],
            "application data libvirt keeps but ignores: here, who owns this domain",
            |x| {
                owner::write(
                    x,
                    &owner,
                    "virtstrap owns it and the volumes listed: destroy removes only what is recorded here; spec-hash shows drift",
                );
            },
        );
    }

    /// Ignition through fw_cfg, the libvirt-native way (libvirt >= 6.5):
    /// no custom-argv taint. No `<smbios mode='sysinfo'/>` beside it: with
    /// only a fwcfg sysinfo, start then fails.
    fn sysinfo(&self, x: &mut Xml) {
        let key = self.cluster.os.fw_cfg_key();
        let file = path_text(&ignition_path(self.cluster, self.node, self.host));
        x.elem(
            "sysinfo",
            &[("type", "fwcfg")],
            "Ignition config through QEMU fw_cfg (libvirt >= 6.5), no qemu:commandline needed",
            |x| {
                x.empty(
                    "entry",
                    &[("name", key), ("file", &file)],
                    "Ignition reads its config from this fw_cfg key on first boot",
                );
            },
        );
    }

    fn os(&self, x: &mut Xml) {
        x.elem("os", &[], "how the guest boots", |x| {
            let attrs = [("arch", "x86_64"), ("machine", self.host.machine.as_str())];
            x.text("type", &attrs, "hvm", "q35: the modern PCIe chipset virt-install and Cockpit pick; hvm: full virtualization");
            match &self.node.boot {
                None => x.empty("boot", &[("dev", "hd")], "boot the root disk, as the base image's bootloader expects"),
                Some(boot) => {
                    x.text("kernel", &[], &path_text(&boot.kernel), "direct kernel boot: QEMU loads this kernel, no bootloader");
                    if let Some(initrd) = &boot.initrd {
                        x.text("initrd", &[], &path_text(initrd), "initramfs loaded beside the kernel");
                    }
                    if let Some(cmdline) = &boot.cmdline {
                        x.text("cmdline", &[], cmdline, "kernel command line for direct boot");
                    }
                }
            }
        });
    }

    /// Features, CPU, clock and lifecycle: the write-up's choices.
    fn platform(&self, x: &mut Xml) {
        x.elem("features", &[], "platform features the guest sees", |x| {
            x.empty(
                "acpi",
                &[],
                "ACPI: virsh shutdown works; fw_cfg Ignition is tested with it on",
            );
            x.empty("apic", &[], "APIC: interrupt delivery for SMP guests");
        });
        if self.node.domain_type == DomainType::Kvm {
            x.empty(
                "cpu",
                &[("mode", "host-passthrough")],
                "the host CPU's features as they are (kvm only: QEMU aborts under TCG)",
            );
        }
        x.elem(
            "clock",
            &[("offset", "utc")],
            "hardware clock in UTC, as Linux guests expect",
            |x| {
                x.empty(
                    "timer",
                    &[("name", "rtc"), ("tickpolicy", "catchup")],
                    "catch up RTC ticks missed while the host was busy",
                );
                x.empty(
                    "timer",
                    &[("name", "pit"), ("tickpolicy", "delay")],
                    "delay, not burst, missed PIT ticks",
                );
                x.empty(
                    "timer",
                    &[("name", "hpet"), ("present", "no")],
                    "no HPET: unused by Linux guests, costs host CPU",
                );
            },
        );
        x.text("on_poweroff", &[], "destroy", "guest poweroff stops the VM");
        x.text("on_reboot", &[], "restart", "guest reboot restarts the VM");
        x.text(
            "on_crash",
            &[],
            "destroy",
            "a crashed guest stays stopped for inspection, not in a crash loop",
        );
    }

    fn devices(&self, x: &mut Xml) {
        x.elem("devices", &[], "virtual hardware", |x| {
            let root = root_volume_name(self.cluster, self.node);
            disk(x, &self.node.disk.pool, &root, 0, "root disk: qcow2 overlay on the base image, in a libvirt pool (works over remote URIs)");
            for (i, d) in self.node.extra_disks.iter().enumerate() {
                let name = data_volume_name(self.cluster, self.node, i + 1);
                disk(x, &d.pool, &name, i + 1, "extra empty disk from the spec");
            }
            self.interfaces(x);
            self.consoles(x);
            x.elem("channel", &[("type", "unix")], "guest agent channel: IP discovery after DHCP lease and ARP", |x| {
                x.empty("target", &[("type", "virtio"), ("name", "org.qemu.guest_agent.0")], "the name qemu-guest-agent listens on");
            });
            x.elem("rng", &[("model", "virtio")], "virtio-rng: entropy at boot, so key generation does not stall", |x| {
                x.text("backend", &[("model", "random")], "/dev/urandom", "fed from the host's /dev/urandom");
            });
        });
    }

    fn interfaces(&self, x: &mut Xml) {
        for nic in &self.node.networks {
            let mac = nic_mac(self.cluster, &self.node.name, nic);
            let bridge = self
                .cluster
                .network(&nic.network)
                .and_then(|n| match n.mode {
                    NetMode::Bridge => n.bridge.as_deref(),
                    NetMode::Nat | NetMode::Isolated => None,
                });
            let (kind, why, source) = match bridge {
                Some(br) => (
                    "bridge",
                    "NIC on the host bridge: the guest is on the LAN",
                    ("bridge", br),
                ),
                None => (
                    "network",
                    "NIC on a libvirt network, whose DHCP knows this node",
                    ("network", nic.network.as_str()),
                ),
            };
            x.elem("interface", &[("type", kind)], why, |x| {
                x.empty("mac", &[("address", &mac)], "deterministic MAC from cluster, node and network: the IP is reserved before boot");
                x.empty("source", &[source], "where the NIC is plugged in");
                x.empty("model", &[("type", "virtio")], "virtio-net: paravirtual, fastest, driver in every Linux kernel");
            });
        }
    }

    fn consoles(&self, x: &mut Xml) {
        let domain = self.cluster.domain_name(self.node);
        let log = path_text(&console_log_path(self.host, &domain));
        x.elem("serial", &[("type", "file")], "serial console to a log file: boot and Ignition output to read when a node does not come up", |x| {
            x.empty("source", &[("path", &log)], "the log status and errors point to");
            x.empty("target", &[("port", "0")], "ttyS0, where the kernel console goes");
        });
        // The serial port already goes to the file, so the interactive
        // console is a separate virtio console (hvc0) on a pty.
        x.elem(
            "console",
            &[("type", "pty")],
            "interactive console for virsh console (the serial port logs to the file)",
            |x| {
                x.empty(
                    "target",
                    &[("type", "virtio"), ("port", "0")],
                    "virtio console: hvc0 in the guest",
                );
            },
        );
    }

    /// The write-up's fw_cfg pass-through, for libvirt older than 6.5.
    fn qemu_commandline(&self, x: &mut Xml) {
        let file = path_text(&ignition_path(self.cluster, self.node, self.host));
        let arg = format!(
            "name={},file={}",
            self.cluster.os.fw_cfg_key(),
            qemu_opt_value(&file)
        );
        x.elem(
            "qemu:commandline",
            &[],
            "libvirt older than 6.5 has no fwcfg sysinfo: pass Ignition to QEMU directly",
            |x| {
                x.empty("qemu:arg", &[("value", "-fw_cfg")], "QEMU's fw_cfg option");
                x.empty(
                    "qemu:arg",
                    &[("value", &arg)],
                    "Ignition reads its config from this fw_cfg key on first boot",
                );
            },
        );
    }
}

/// A virtio disk backed by a pool volume.
fn disk(x: &mut Xml, pool: &str, volume: &str, index: usize, why: &str) {
    let dev = disk_target(index);
    x.elem(
        "disk",
        &[("type", "volume"), ("device", "disk")],
        why,
        |x| {
            x.empty(
                "driver",
                &[("name", "qemu"), ("type", "qcow2")],
                "format named: libvirt never probes image formats",
            );
            x.empty(
                "source",
                &[("pool", pool), ("volume", volume)],
                "the volume by pool and name, not by host path",
            );
            x.empty(
                "target",
                &[("dev", &dev), ("bus", "virtio")],
                "virtio-blk: paravirtual, fastest disk",
            );
        },
    );
}

/// `value` as one value in a QEMU option list (`key=value,key=value`):
/// QEMU reads `,,` as a literal comma (qemu-options, "-fw_cfg"; the same
/// rule as QemuOpts everywhere), so a comma in a pool path cannot start
/// an option of its own.
fn qemu_opt_value(value: &str) -> String {
    value.replace(',', ",,")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testutil::demo;
    use crate::spec::{Boot, NetMode, Network, Nic};

    fn render(c: &Cluster, i: usize, opts: DomainOptions) -> String {
        domain_xml(c, &c.nodes[i], &HostFacts::default(), &opts)
    }

    #[test]
    fn fwcfg_sysinfo_without_smbios() {
        let c = demo();
        let xml = render(&c, 0, DomainOptions::default());
        let entry =
            "<entry name=\"opt/com.coreos/config\" file=\"/var/lib/libvirt/images/demo-a.ign\"/>";
        assert!(xml.contains("<sysinfo type=\"fwcfg\">"), "{xml}");
        assert!(xml.contains(entry), "{xml}");
        assert!(!xml.contains("smbios"), "{xml}");
        assert!(!xml.contains("qemu:commandline"), "{xml}");
    }

    #[test]
    fn qemu_commandline_variant() {
        let c = demo();
        let xml = render(
            &c,
            0,
            DomainOptions {
                qemu_commandline_fw_cfg: true,
                ..Default::default()
            },
        );
        assert!(
            xml.starts_with(&format!("<domain type=\"qemu\" xmlns:qemu=\"{QEMU_NS}\">")),
            "{xml}"
        );
        let arg = "<qemu:arg value=\"name=opt/com.coreos/config,file=/var/lib/libvirt/images/demo-a.ign\"/>";
        assert!(xml.contains("<qemu:arg value=\"-fw_cfg\"/>"), "{xml}");
        assert!(xml.contains(arg), "{xml}");
        assert!(!xml.contains("<sysinfo"), "{xml}");
    }

    #[test]
    fn a_comma_in_a_pool_path_cannot_inject_a_qemu_option() {
        let mut c = demo();
        c.pools.push(crate::spec::Pool {
            name: c.nodes[0].disk.pool.clone(),
            path: "/tmp/a,string=injected,x=/".into(),
        });
        let opts = DomainOptions {
            qemu_commandline_fw_cfg: true,
            ..Default::default()
        };
        let xml = render(&c, 0, opts);
        let arg =
            "value=\"name=opt/com.coreos/config,file=/tmp/a,,string=injected,,x=/demo-a.ign\"";
        assert!(xml.contains(arg), "{xml}");
        assert_eq!(qemu_opt_value("a,,b"), "a,,,,b");
        assert_eq!(qemu_opt_value("/plain/path"), "/plain/path");
    }

    #[test]
    fn explain_comments_every_element_and_keeps_the_hash() {
        let c = demo();
        let plain = render(&c, 0, DomainOptions::default());
        let explained = render(
            &c,
            0,
            DomainOptions {
                explain: true,
                ..Default::default()
            },
        );
        let elements = plain.matches('<').count() - plain.matches("</").count();
        assert_eq!(explained.matches("<!--").count(), elements, "{explained}");
        for why in [
            "q35",
            "fw_cfg",
            "virtio-net",
            "virtio-rng",
            "log file",
            "owns",
        ] {
            assert!(explained.contains(why), "no {why:?} in {explained}");
        }
        let strip: String = explained
            .lines()
            .filter(|l| !l.trim_start().starts_with("<!--"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(strip, plain);
    }

    #[test]
    fn spec_hash_follows_the_spec() {
        let c = demo();
        let h = HostFacts::default();
        let a = spec_hash(&c, &c.nodes[0], &h, &DomainOptions::default());
        assert_eq!(a.len(), 16);
        assert!(render(&c, 0, DomainOptions::default()).contains(&format!("spec-hash=\"{a}\"")));
        let mut more = c.clone();
        more.nodes[0].memory_mib += 1;
        assert_ne!(
            a,
            spec_hash(&more, &more.nodes[0], &h, &DomainOptions::default())
        );
        let mut bigger = c.clone();
        bigger.nodes[0].disk.size_bytes += 1 << 30;
        assert_ne!(
            a,
            spec_hash(&bigger, &bigger.nodes[0], &h, &DomainOptions::default())
        );
    }

    #[test]
    fn kvm_gets_host_passthrough_and_qemu_does_not() {
        let mut c = demo();
        assert!(!render(&c, 0, DomainOptions::default()).contains("host-passthrough"));
        c.nodes[0].domain_type = DomainType::Kvm;
        let xml = render(&c, 0, DomainOptions::default());
        assert!(xml.starts_with("<domain type=\"kvm\">"), "{xml}");
        assert!(xml.contains("<cpu mode=\"host-passthrough\"/>"), "{xml}");
    }

    #[test]
    fn bridge_network_nic_is_a_bridge_interface() {
        let mut c = demo();
        c.networks.push(Network {
            name: "lan".into(),
            mode: NetMode::Bridge,
            cidr: None,
            bridge: Some("br0".into()),
        });
        c.nodes[0].networks.push(Nic {
            network: "lan".into(),
            ip: None,
            mac: None,
        });
        let xml = render(&c, 0, DomainOptions::default());
        assert!(xml.contains("<interface type=\"bridge\">"), "{xml}");
        assert!(xml.contains("<source bridge=\"br0\"/>"), "{xml}");
        assert!(xml.contains("<source network=\"k8s\"/>"), "{xml}");
    }

    #[test]
    fn direct_kernel_boot_replaces_boot_dev() {
        let mut c = demo();
        c.nodes[0].boot = Some(Boot {
            kernel: "/boot/vmlinuz".into(),
            initrd: Some("/boot/initrd.img".into()),
            cmdline: Some("console=ttyS0".into()),
        });
        let xml = render(&c, 0, DomainOptions::default());
        assert!(xml.contains("<kernel>/boot/vmlinuz</kernel>"), "{xml}");
        assert!(xml.contains("<initrd>/boot/initrd.img</initrd>"), "{xml}");
        assert!(xml.contains("<cmdline>console=ttyS0</cmdline>"), "{xml}");
        assert!(!xml.contains("<boot dev"), "{xml}");
    }

    #[test]
    fn disks_and_console_paths() {
        let c = demo();
        let xml = render(&c, 0, DomainOptions::default());
        assert!(
            xml.contains("<source pool=\"default\" volume=\"demo-a-root.qcow2\"/>"),
            "{xml}"
        );
        assert!(
            xml.contains("<source pool=\"bulk\" volume=\"demo-a-data1.qcow2\"/>"),
            "{xml}"
        );
        assert!(
            xml.contains("<target dev=\"vdb\" bus=\"virtio\"/>"),
            "{xml}"
        );
        assert!(
            xml.contains("<source path=\"/var/log/libvirt/qemu/demo-a-console.log\"/>"),
            "{xml}"
        );
    }

    #[test]
    fn disk_targets_follow_libvirt_naming() {
        let got: Vec<_> = [0, 1, 25, 26, 27, 701, 702].map(disk_target).into();
        assert_eq!(got, ["vda", "vdb", "vdz", "vdaa", "vdab", "vdzz", "vdaaa"]);
    }
}
