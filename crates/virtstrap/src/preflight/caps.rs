//! What a host's capabilities XML says (libvirt's formatcaps,
//! <https://libvirt.org/formatcaps.html>): the guest architectures and
//! domain types it runs (is KVM usable?), and its security models (is
//! QEMU confined by SELinux or AppArmor, as which user?). Pure.

use crate::xmltree::Element;

/// The facts the preflight needs from `virConnectGetCapabilities`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caps {
    /// The host CPU's architecture (`x86_64`), if given.
    pub host_arch: Option<String>,
    /// Per guest architecture, the domain types it runs (`qemu`, `kvm`).
    pub guests: Vec<(String, Vec<String>)>,
    /// The security models the daemon confines QEMU with (`none`, `dac`,
    /// `selinux`, `apparmor`).
    pub secmodels: Vec<String>,
    /// The DAC model's base label for kvm or qemu domains (`+64055:+64055`):
    /// the user and group QEMU runs as.
    pub dac_label: Option<String>,
}

impl Caps {
    /// Read a capabilities XML; what does not parse is left empty.
    pub fn parse(xml: &str) -> Caps {
        let Ok(root) = Element::parse(xml) else {
            return Caps::default();
        };
        let host = root.child("host");
        let guests = root
            .children("guest")
            .flat_map(|g| g.children("arch"))
            .map(|a| {
                let types = a
                    .children("domain")
                    .filter_map(|d| d.attr("type"))
                    .map(str::to_string)
                    .collect();
                (a.attr("name").unwrap_or_default().to_string(), types)
            })
            .collect();
        let models = host.into_iter().flat_map(|h| h.children("secmodel"));
        let mut caps = Caps {
            host_arch: host
                .and_then(|h| h.text_at(&["cpu", "arch"]))
                .map(str::to_string),
            guests,
            ..Caps::default()
        };
        for m in models {
            let model = m.text_at(&["model"]).unwrap_or_default().to_string();
            if model == "dac" {
                caps.dac_label = m
                    .children("baselabel")
                    .find(|b| matches!(b.attr("type"), Some("kvm" | "qemu")))
                    .map(|b| b.text.trim().to_string());
            }
            caps.secmodels.push(model);
        }
        caps
    }

    /// Whether the host runs `kvm` domains for its own architecture (or,
    /// when it names none, for any).
    pub fn kvm_usable(&self) -> bool {
        self.guests
            .iter()
            .filter(|(arch, _)| self.host_arch.as_ref().is_none_or(|h| h == arch))
            .any(|(_, types)| types.iter().any(|t| t == "kvm"))
    }

    /// The mandatory access control model confining QEMU, if any.
    pub fn mac_model(&self) -> Option<&str> {
        self.secmodels
            .iter()
            .map(String::as_str)
            .find(|m| matches!(*m, "selinux" | "apparmor"))
    }

    /// The uid and gid of the DAC base label (`+64055:+64055`), if numeric.
    pub fn dac_ids(&self) -> Option<(u32, u32)> {
        let label = self.dac_label.as_deref()?;
        let (u, g) = label.split_once(':')?;
        let id = |s: &str| s.trim_start_matches('+').parse::<u32>().ok();
        Some((id(u)?, id(g)?))
    }
}

/// A libvirt-encoded version (`major * 1_000_000 + minor * 1_000 +
/// release`) as `9.0.0`.
pub fn version_text(v: u64) -> String {
    format!("{}.{}.{}", v / 1_000_000, v / 1_000 % 1_000, v % 1_000)
}

/// The first libvirt with `<sysinfo type='fwcfg'>` (6.5.0).
pub const FWCFG_SYSINFO: u64 = 6_005_000;

#[cfg(test)]
mod tests {
    use super::*;

    const DAEMON: &str = "<capabilities><host><cpu><arch>x86_64</arch></cpu>\
        <secmodel><model>none</model><doi>0</doi></secmodel>\
        <secmodel><model>dac</model><doi>0</doi>\
        <baselabel type='kvm'>+64055:+64055</baselabel>\
        <baselabel type='qemu'>+64055:+64055</baselabel></secmodel></host>\
        <guest><os_type>hvm</os_type><arch name='i686'><domain type='qemu'/></arch></guest>\
        <guest><os_type>hvm</os_type><arch name='x86_64'><domain type='qemu'/></arch></guest>\
        </capabilities>";

    #[test]
    fn a_host_without_kvm_domains_has_no_usable_kvm() {
        let c = Caps::parse(DAEMON);
        assert!(!c.kvm_usable());
        assert_eq!(c.dac_ids(), Some((64055, 64055)));
        assert_eq!(c.mac_model(), None);
        let kvm = DAEMON.replace(
            "<arch name='x86_64'><domain type='qemu'/>",
            "<arch name='x86_64'><domain type='qemu'/><domain type='kvm'/>",
        );
        assert!(Caps::parse(&kvm).kvm_usable());
        // kvm for another architecture than the host's does not count
        let other = DAEMON.replace(
            "<arch name='i686'><domain type='qemu'/>",
            "<arch name='i686'><domain type='kvm'/>",
        );
        assert!(!Caps::parse(&other).kvm_usable());
    }

    #[test]
    fn a_confining_model_is_found() {
        let xml = DAEMON.replace("<model>none</model>", "<model>apparmor</model>");
        assert_eq!(Caps::parse(&xml).mac_model(), Some("apparmor"));
        assert_eq!(Caps::parse("not xml"), Caps::default());
    }

    #[test]
    fn versions_read_as_libvirt_writes_them() {
        assert_eq!(version_text(9_000_000), "9.0.0");
        assert_eq!(version_text(7_002_022), "7.2.22");
        assert_eq!(version_text(FWCFG_SYSINFO), "6.5.0");
    }
}
