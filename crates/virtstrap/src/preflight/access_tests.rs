use super::*;

const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
    libvirt-qemu:x:64055:107:Libvirt Qemu,,,:/var/lib/libvirt:/usr/sbin/nologin\n\
    qemu:x:107:107::/:/sbin/nologin\n";
const GROUP: &str = "root:x:0:\nkvm:x:107:\nlibvirt:x:110:\n\
    libvirt-qemu:x:64055:libvirt-qemu\nstorage:x:500:alice,libvirt-qemu\n";

fn qemu(groups: &[u32]) -> Identity {
    Identity {
        name: "libvirt-qemu".into(),
        uid: 64055,
        gid: 64055,
        groups: groups.to_vec(),
        source: "test".into(),
    }
}

fn dir(mode: u32, uid: u32, gid: u32, acl: &[(u16, u16, u32)]) -> DirMeta {
    DirMeta {
        path: "/d".into(),
        mode,
        uid,
        gid,
        acl: acl
            .iter()
            .map(|&(tag, perm, id)| AclEntry { tag, perm, id })
            .collect(),
    }
}

#[test]
fn qemu_conf_keys_are_read_and_comments_ignored() {
    let c = QemuConf::parse(
        "# user = \"nobody\"\nuser = \"+0\"  # root\ngroup=\"kvm\"\n\
         dynamic_ownership = 0\nsecurity_driver = \"none\"\nnamespaces = [ ]\n",
    );
    assert_eq!(c.user.as_deref(), Some("+0"));
    assert_eq!(c.group.as_deref(), Some("kvm"));
    assert_eq!(c.dynamic_ownership, Some(false));
    assert_eq!(c.security_driver.as_deref(), Some("none"));
    assert_eq!(QemuConf::parse("#user = \"x\"\n"), QemuConf::default());
}

#[test]
fn the_qemu_user_comes_from_the_dac_label_then_qemu_conf_then_the_default() {
    let a = Accounts::parse(PASSWD, GROUP);
    let none = QemuConf::default();
    // Debian's default: libvirt-qemu, primary group kvm (107) from passwd
    let d = a.qemu_identity(None, &none).expect("default user");
    assert_eq!(
        (d.name.as_str(), d.uid, d.gid),
        ("libvirt-qemu", 64055, 107)
    );
    assert_eq!(d.groups, vec![64055, 500]);
    // the daemon's label wins, and names the user by uid
    let l = a.qemu_identity(Some((64055, 64055)), &none).expect("label");
    assert_eq!((l.name.as_str(), l.gid), ("libvirt-qemu", 64055));
    assert_eq!(l.groups, vec![500]);
    // qemu.conf's user and group, by name or +id
    let conf = QemuConf {
        user: Some("+107".into()),
        group: Some("libvirt".into()),
        ..QemuConf::default()
    };
    let q = a.qemu_identity(None, &conf).expect("conf");
    assert_eq!((q.name.as_str(), q.uid, q.gid), ("qemu", 107, 110));
    assert_eq!(q.source, "qemu.conf");
    let root = QemuConf {
        user: Some("+0".into()),
        ..QemuConf::default()
    };
    assert_eq!(a.qemu_identity(None, &root).map(|i| i.uid), Some(0));
}

#[test]
fn search_permission_follows_owner_group_then_other() {
    let q = qemu(&[107]);
    let cases = [
        // (mode, uid, gid, searchable)
        (0o700, 0, 0, false), // mktemp -d
        (0o711, 0, 0, true),  // libvirt's own pool mode
        (0o755, 0, 0, true),
        (0o750, 0, 107, true),        // a supplementary group
        (0o750, 0, 64055, true),      // the primary group
        (0o750, 0, 110, false),       // another group
        (0o070, 64055, 64055, false), // the owner class decides alone
        (0o100, 64055, 0, true),
        (0o705, 0, 107, false), // in the group, the group class decides
    ];
    for (mode, uid, gid, want) in cases {
        assert_eq!(
            searchable(&q, &dir(mode, uid, gid, &[])),
            want,
            "{mode:o} {uid}:{gid}"
        );
    }
    let root = Identity {
        uid: 0,
        ..qemu(&[])
    };
    assert!(searchable(&root, &dir(0o700, 1000, 1000, &[])));
}

#[test]
fn search_permission_follows_acls_and_their_mask() {
    let q = qemu(&[]);
    // setfacl -m u:libvirt-qemu:x on a 0700 dir: named user, mask x
    let named = [
        (1, 7, 0),
        (2, 1, 64055),
        (4, 0, 0),
        (0x10, 1, 0),
        (0x20, 0, 0),
    ];
    assert!(searchable(&q, &dir(0o710, 0, 0, &named)));
    // the same entry under a mask without x
    let masked = [
        (1, 7, 0),
        (2, 1, 64055),
        (4, 0, 0),
        (0x10, 6, 0),
        (0x20, 0, 0),
    ];
    assert!(!searchable(&q, &dir(0o760, 0, 0, &masked)));
    // a named group QEMU is in
    let group = [
        (1, 7, 0),
        (4, 0, 0),
        (8, 1, 64055),
        (0x10, 1, 0),
        (0x20, 0, 0),
    ];
    assert!(searchable(&q, &dir(0o710, 0, 0, &group)));
    // no entry matches: others
    let other = [(1, 7, 0), (4, 0, 0), (8, 1, 9), (0x10, 1, 0), (0x20, 1, 0)];
    assert!(searchable(&q, &dir(0o711, 0, 0, &other)));
}

#[test]
fn acl_xattrs_parse() {
    let mut raw = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [(1u16, 7u16, u32::MAX), (2, 1, 64055)] {
        raw.extend(tag.to_le_bytes());
        raw.extend(perm.to_le_bytes());
        raw.extend(id.to_le_bytes());
    }
    let acl = parse_acl(&raw);
    assert_eq!(acl.len(), 2);
    assert_eq!(
        acl[1],
        AclEntry {
            tag: 2,
            perm: 1,
            id: 64055
        }
    );
    assert!(parse_acl(&[1, 0, 0, 0]).is_empty());
}

#[test]
fn a_pool_under_a_0700_directory_is_blocked_there() {
    use std::os::unix::fs::PermissionsExt;
    let top = tempfile::tempdir().expect("tempdir");
    let closed = top.path().join("closed");
    let pool = closed.join("pool");
    std::fs::create_dir_all(&pool).expect("mkdir");
    let mode = |p: &Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).expect("chmod");
    };
    mode(top.path(), 0o755);
    mode(&closed, 0o700);
    mode(&pool, 0o755);
    // not yet made: the directories that exist are checked
    let dirs = dirs_above(&pool.join("not-yet"));
    assert_eq!(dirs.last().map(|d| d.path.clone()), Some(pool.clone()));
    assert_eq!(
        dirs.first().map(|d| d.path.clone()),
        Some(PathBuf::from("/"))
    );
    let q = qemu(&[]);
    // whoever owns the tempdir, uid 64055 is not its owner here
    let blocked = first_blocked(&q, &dirs).map(|d| d.path.clone());
    assert_eq!(blocked, Some(closed.clone()));
    mode(&closed, 0o711);
    assert_eq!(first_blocked(&q, &dirs_above(&pool)), None);
}
