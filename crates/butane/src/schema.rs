//! The Butane schema of every supported version, as data.
//!
//! Butane's Go source has one struct set per base version (`base/v0_1` ...
//! `base/v0_8_exp`) plus variant additions (`config/fcos/v1_x`). Here one
//! table holds them all: each field says in which versions it exists, its
//! YAML and Ignition JSON names, and its type. Fields are listed in the order
//! Ignition's Go types marshal them, so the JSON we write has the same key
//! order as the real Butane's.
//! See <https://coreos.github.io/butane/specs/>.

/// Which spec a config is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    /// Butane base version minor: `v0_1` is 1 ... `v0_8_exp` is 8.
    pub base: u8,
    /// For the fcos variant, the minor of `1.x.0`; `None` for others.
    pub fcos: Option<u8>,
}

impl Spec {
    /// Ignition spec minor (`3.x.0`) this base version translates to.
    pub fn ign_minor(self) -> u8 {
        self.base - 1
    }
}

/// When a field exists.
#[derive(Clone, Copy, Debug)]
pub enum Avail {
    /// In every version.
    Always,
    /// From base version `from` (inclusive) to `until` (exclusive).
    Base(u8, u8),
    /// In fcos from `1.x.0` on.
    Fcos(u8),
}

impl Avail {
    fn has(self, spec: Spec) -> bool {
        match self {
            Avail::Always => true,
            Avail::Base(from, until) => spec.base >= from && spec.base < until,
            Avail::Fcos(min) => spec.fcos.is_some_and(|m| m >= min),
        }
    }
}

/// A field's value type.
#[derive(Clone, Copy, Debug)]
pub enum Ty {
    /// A string (any scalar's text, as yaml.v3 reads into `string`).
    Str,
    /// An integer.
    Int,
    /// A boolean.
    Bool,
    /// A list of strings.
    StrList,
    /// A nested struct.
    Struct(&'static StructDef),
    /// A list of structs.
    List(&'static StructDef),
}

/// What the translator does with a field beyond copying it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Copied to the JSON key `json`.
    Copy,
    /// Read by the translator, never copied (Butane sugar, variant, version).
    Sugar,
}

/// One field of a struct.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    /// Name in Butane YAML.
    pub yaml: &'static str,
    /// Name in Ignition JSON.
    pub json: &'static str,
    /// Type.
    pub ty: Ty,
    /// Versions that have it.
    pub avail: Avail,
    /// How it is translated.
    pub role: Role,
    /// Ignition writes the field even when unset (a Go field without
    /// `omitempty`) for Ignition minors up to and including this one.
    pub always_until: Option<u8>,
}

/// A struct: its name (for messages) and fields.
#[derive(Debug)]
pub struct StructDef {
    /// Go type name, for messages.
    pub name: &'static str,
    /// Fields in output order.
    pub fields: &'static [Field],
}

impl StructDef {
    /// The field named `yaml` in `spec`, if that version has it.
    pub fn field(&self, yaml: &str, spec: Spec) -> Option<&'static Field> {
        let fields: &'static [Field] = self.fields;
        fields.iter().find(|f| f.yaml == yaml && f.avail.has(spec))
    }

    /// Whether any version has a field named `yaml` (for hints).
    pub fn versions_with(&self, yaml: &str) -> Vec<Avail> {
        self.fields
            .iter()
            .filter(|f| f.yaml == yaml)
            .map(|f| f.avail)
            .collect()
    }

    /// The field names `spec` accepts, for "did you mean" hints.
    pub fn names(&self, spec: Spec) -> impl Iterator<Item = &'static str> + '_ {
        self.fields
            .iter()
            .filter(move |f| f.avail.has(spec))
            .map(|f| f.yaml)
    }
}

const ALL: u8 = u8::MAX;

const fn f(yaml: &'static str, json: &'static str, ty: Ty) -> Field {
    Field {
        yaml,
        json,
        ty,
        avail: Avail::Always,
        role: Role::Copy,
        always_until: None,
    }
}

const fn since(mut field: Field, base: u8) -> Field {
    field.avail = Avail::Base(base, 99);
    field
}

const fn until(mut field: Field, base: u8) -> Field {
    field.avail = Avail::Base(1, base);
    field
}

const fn fcos(mut field: Field, minor: u8) -> Field {
    field.avail = Avail::Fcos(minor);
    field
}

const fn sugar(mut field: Field) -> Field {
    field.role = Role::Sugar;
    field
}

const fn req(mut field: Field, until_ign: u8) -> Field {
    field.always_until = Some(until_ign);
    field
}

use Ty::{Bool, Int, Str, StrList};

/// The root of a Butane config.
pub static CONFIG: StructDef = StructDef {
    name: "Config",
    fields: &[
        sugar(f("version", "", Str)),
        sugar(f("variant", "", Str)),
        f("ignition", "ignition", Ty::Struct(&IGNITION)),
        since(
            f(
                "kernel_arguments",
                "kernelArguments",
                Ty::Struct(&KERNEL_ARGUMENTS),
            ),
            4,
        ),
        f("passwd", "passwd", Ty::Struct(&PASSWD)),
        f("storage", "storage", Ty::Struct(&STORAGE)),
        f("systemd", "systemd", Ty::Struct(&SYSTEMD)),
        sugar(fcos(f("boot_device", "", Ty::Struct(&BOOT_DEVICE)), 3)),
        sugar(fcos(f("grub", "", Ty::Struct(&GRUB)), 5)),
    ],
};

static IGNITION: StructDef = StructDef {
    name: "Ignition",
    fields: &[
        f("config", "config", Ty::Struct(&IGNITION_CONFIG)),
        since(f("proxy", "proxy", Ty::Struct(&PROXY)), 2),
        f("security", "security", Ty::Struct(&SECURITY)),
        f("timeouts", "timeouts", Ty::Struct(&TIMEOUTS)),
    ],
};

static IGNITION_CONFIG: StructDef = StructDef {
    name: "IgnitionConfig",
    fields: &[
        until(f("merge", "merge", Ty::List(&CONFIG_REFERENCE)), 2),
        until(f("replace", "replace", Ty::Struct(&CONFIG_REFERENCE)), 2),
        since(f("merge", "merge", Ty::List(&RESOURCE)), 2),
        since(f("replace", "replace", Ty::Struct(&RESOURCE)), 2),
    ],
};

static CONFIG_REFERENCE: StructDef = StructDef {
    name: "ConfigReference",
    fields: &[
        req(f("source", "source", Str), 0),
        f("verification", "verification", Ty::Struct(&VERIFICATION)),
    ],
};

static CA_REFERENCE: StructDef = StructDef {
    name: "CaReference",
    fields: &[
        req(f("source", "source", Str), 0),
        f("verification", "verification", Ty::Struct(&VERIFICATION)),
    ],
};

static FILE_CONTENTS: StructDef = StructDef {
    name: "FileContents",
    fields: &[
        f("compression", "compression", Str),
        f("source", "source", Str),
        sugar(f("inline", "", Str)),
        f("verification", "verification", Ty::Struct(&VERIFICATION)),
    ],
};

/// A remote or embedded resource (file contents, config, CA).
pub static RESOURCE: StructDef = StructDef {
    name: "Resource",
    fields: &[
        f("compression", "compression", Str),
        f("http_headers", "httpHeaders", Ty::List(&HTTP_HEADER)),
        f("source", "source", Str),
        sugar(f("inline", "", Str)),
        sugar(f("local", "", Str)),
        f("verification", "verification", Ty::Struct(&VERIFICATION)),
    ],
};

static HTTP_HEADER: StructDef = StructDef {
    name: "HTTPHeader",
    fields: &[req(f("name", "name", Str), ALL), f("value", "value", Str)],
};

static VERIFICATION: StructDef = StructDef {
    name: "Verification",
    fields: &[f("hash", "hash", Str)],
};

static PROXY: StructDef = StructDef {
    name: "Proxy",
    fields: &[
        f("http_proxy", "httpProxy", Str),
        f("https_proxy", "httpsProxy", Str),
        f("no_proxy", "noProxy", StrList),
    ],
};

static SECURITY: StructDef = StructDef {
    name: "Security",
    fields: &[f("tls", "tls", Ty::Struct(&TLS))],
};

static TLS: StructDef = StructDef {
    name: "TLS",
    fields: &[
        until(
            f(
                "certificate_authorities",
                "certificateAuthorities",
                Ty::List(&CA_REFERENCE),
            ),
            2,
        ),
        since(
            f(
                "certificate_authorities",
                "certificateAuthorities",
                Ty::List(&RESOURCE),
            ),
            2,
        ),
    ],
};

static TIMEOUTS: StructDef = StructDef {
    name: "Timeouts",
    fields: &[
        f("http_response_headers", "httpResponseHeaders", Int),
        f("http_total", "httpTotal", Int),
    ],
};

static KERNEL_ARGUMENTS: StructDef = StructDef {
    name: "KernelArguments",
    fields: &[
        f("should_exist", "shouldExist", StrList),
        f("should_not_exist", "shouldNotExist", StrList),
    ],
};

static PASSWD: StructDef = StructDef {
    name: "Passwd",
    fields: &[
        f("groups", "groups", Ty::List(&PASSWD_GROUP)),
        f("users", "users", Ty::List(&PASSWD_USER)),
    ],
};

static PASSWD_GROUP: StructDef = StructDef {
    name: "PasswdGroup",
    fields: &[
        f("gid", "gid", Int),
        req(f("name", "name", Str), ALL),
        f("password_hash", "passwordHash", Str),
        since(f("should_exist", "shouldExist", Bool), 3),
        f("system", "system", Bool),
    ],
};

/// A user in `passwd.users`.
pub static PASSWD_USER: StructDef = StructDef {
    name: "PasswdUser",
    fields: &[
        f("gecos", "gecos", Str),
        f("groups", "groups", StrList),
        f("home_dir", "homeDir", Str),
        req(f("name", "name", Str), ALL),
        f("no_create_home", "noCreateHome", Bool),
        f("no_log_init", "noLogInit", Bool),
        f("no_user_group", "noUserGroup", Bool),
        f("password_hash", "passwordHash", Str),
        f("primary_group", "primaryGroup", Str),
        f("ssh_authorized_keys", "sshAuthorizedKeys", StrList),
        sugar(since(f("ssh_authorized_keys_local", "", StrList), 5)),
        f("shell", "shell", Str),
        since(f("should_exist", "shouldExist", Bool), 3),
        f("system", "system", Bool),
        f("uid", "uid", Int),
    ],
};

static STORAGE: StructDef = StructDef {
    name: "Storage",
    fields: &[
        f("directories", "directories", Ty::List(&DIRECTORY)),
        f("disks", "disks", Ty::List(&DISK)),
        f("files", "files", Ty::List(&FILE)),
        f("filesystems", "filesystems", Ty::List(&FILESYSTEM)),
        f("links", "links", Ty::List(&LINK)),
        since(f("luks", "luks", Ty::List(&LUKS)), 3),
        f("raid", "raid", Ty::List(&RAID)),
        sugar(since(f("trees", "", Ty::List(&TREE)), 2)),
    ],
};

static NODE_USER: StructDef = StructDef {
    name: "NodeUser",
    fields: &[f("id", "id", Int), f("name", "name", Str)],
};

static NODE_GROUP: StructDef = StructDef {
    name: "NodeGroup",
    fields: &[f("id", "id", Int), f("name", "name", Str)],
};

static DIRECTORY: StructDef = StructDef {
    name: "Directory",
    fields: &[
        f("group", "group", Ty::Struct(&NODE_GROUP)),
        f("overwrite", "overwrite", Bool),
        req(f("path", "path", Str), ALL),
        f("user", "user", Ty::Struct(&NODE_USER)),
        f("mode", "mode", Int),
    ],
};

static FILE: StructDef = StructDef {
    name: "File",
    fields: &[
        f("group", "group", Ty::Struct(&NODE_GROUP)),
        f("overwrite", "overwrite", Bool),
        req(f("path", "path", Str), ALL),
        f("user", "user", Ty::Struct(&NODE_USER)),
        until(f("append", "append", Ty::List(&FILE_CONTENTS)), 2),
        until(f("contents", "contents", Ty::Struct(&FILE_CONTENTS)), 2),
        since(f("append", "append", Ty::List(&RESOURCE)), 2),
        since(f("contents", "contents", Ty::Struct(&RESOURCE)), 2),
        f("mode", "mode", Int),
    ],
};

static LINK: StructDef = StructDef {
    name: "Link",
    fields: &[
        f("group", "group", Ty::Struct(&NODE_GROUP)),
        f("overwrite", "overwrite", Bool),
        req(f("path", "path", Str), ALL),
        f("user", "user", Ty::Struct(&NODE_USER)),
        f("hard", "hard", Bool),
        req(f("target", "target", Str), 2),
    ],
};

static DISK: StructDef = StructDef {
    name: "Disk",
    fields: &[
        req(f("device", "device", Str), ALL),
        f("partitions", "partitions", Ty::List(&PARTITION)),
        f("wipe_table", "wipeTable", Bool),
    ],
};

static PARTITION: StructDef = StructDef {
    name: "Partition",
    fields: &[
        f("guid", "guid", Str),
        f("label", "label", Str),
        f("number", "number", Int),
        since(f("resize", "resize", Bool), 3),
        f("should_exist", "shouldExist", Bool),
        f("size_mib", "sizeMiB", Int),
        f("start_mib", "startMiB", Int),
        f("type_guid", "typeGuid", Str),
        f("wipe_partition_entry", "wipePartitionEntry", Bool),
    ],
};

static FILESYSTEM: StructDef = StructDef {
    name: "Filesystem",
    fields: &[
        req(f("device", "device", Str), ALL),
        f("format", "format", Str),
        f("label", "label", Str),
        since(f("mount_options", "mountOptions", StrList), 2),
        f("options", "options", StrList),
        f("path", "path", Str),
        f("uuid", "uuid", Str),
        f("wipe_filesystem", "wipeFilesystem", Bool),
        sugar(since(f("with_mount_unit", "", Bool), 2)),
    ],
};

static LUKS: StructDef = StructDef {
    name: "Luks",
    fields: &[
        since(f("cex", "cex", Ty::Struct(&CEX)), 6),
        f("clevis", "clevis", Ty::Struct(&CLEVIS)),
        f("device", "device", Str),
        since(f("discard", "discard", Bool), 5),
        f("key_file", "keyFile", Ty::Struct(&RESOURCE)),
        f("label", "label", Str),
        req(f("name", "name", Str), ALL),
        since(f("open_options", "openOptions", StrList), 5),
        f("options", "options", StrList),
        f("uuid", "uuid", Str),
        f("wipe_volume", "wipeVolume", Bool),
    ],
};

static CEX: StructDef = StructDef {
    name: "Cex",
    fields: &[f("enabled", "enabled", Bool)],
};

static CLEVIS: StructDef = StructDef {
    name: "Clevis",
    fields: &[
        f("custom", "custom", Ty::Struct(&CLEVIS_CUSTOM)),
        f("tang", "tang", Ty::List(&TANG)),
        f("threshold", "threshold", Int),
        f("tpm2", "tpm2", Bool),
    ],
};

static CLEVIS_CUSTOM: StructDef = StructDef {
    name: "ClevisCustom",
    fields: &[
        req(f("config", "config", Str), 2),
        f("needs_network", "needsNetwork", Bool),
        req(f("pin", "pin", Str), 2),
    ],
};

static TANG: StructDef = StructDef {
    name: "Tang",
    fields: &[
        since(f("advertisement", "advertisement", Str), 5),
        f("thumbprint", "thumbprint", Str),
        f("url", "url", Str),
    ],
};

static RAID: StructDef = StructDef {
    name: "Raid",
    fields: &[
        req(f("devices", "devices", StrList), 2),
        req(f("level", "level", Str), 2),
        req(f("name", "name", Str), ALL),
        f("options", "options", StrList),
        f("spares", "spares", Int),
    ],
};

static TREE: StructDef = StructDef {
    name: "Tree",
    fields: &[
        since(f("group", "", Ty::Struct(&NODE_GROUP)), 7),
        f("local", "", Str),
        f("path", "", Str),
        since(f("user", "", Ty::Struct(&NODE_USER)), 7),
        since(f("file_mode", "", Int), 7),
        since(f("dir_mode", "", Int), 7),
    ],
};

static SYSTEMD: StructDef = StructDef {
    name: "Systemd",
    fields: &[
        f("units", "units", Ty::List(&UNIT)),
        sugar(since(f("quadlets", "", Ty::List(&QUADLET)), 8)),
    ],
};

static UNIT: StructDef = StructDef {
    name: "Unit",
    fields: &[
        f("contents", "contents", Str),
        sugar(since(f("contents_local", "", Str), 5)),
        f("dropins", "dropins", Ty::List(&DROPIN)),
        f("enabled", "enabled", Bool),
        f("mask", "mask", Bool),
        req(f("name", "name", Str), ALL),
    ],
};

static DROPIN: StructDef = StructDef {
    name: "Dropin",
    fields: &[
        f("contents", "contents", Str),
        sugar(since(f("contents_local", "", Str), 5)),
        req(f("name", "name", Str), ALL),
    ],
};

static QUADLET: StructDef = StructDef {
    name: "Quadlet",
    fields: &[
        f("contents", "", Str),
        f("contents_local", "", Str),
        f("name", "", Str),
        f("rootful", "", Bool),
        f("dropins", "", Ty::List(&DROPIN)),
    ],
};

static BOOT_DEVICE: StructDef = StructDef {
    name: "BootDevice",
    fields: &[
        f("layout", "", Str),
        f("luks", "", Ty::Struct(&BOOT_DEVICE_LUKS)),
        f("mirror", "", Ty::Struct(&BOOT_DEVICE_MIRROR)),
    ],
};

static BOOT_DEVICE_LUKS: StructDef = StructDef {
    name: "BootDeviceLuks",
    fields: &[
        fcos(f("cex", "", Ty::Struct(&CEX)), 6),
        fcos(f("discard", "", Bool), 5),
        fcos(f("device", "", Str), 6),
        f("tang", "", Ty::List(&TANG)),
        f("threshold", "", Int),
        f("tpm2", "", Bool),
    ],
};

static BOOT_DEVICE_MIRROR: StructDef = StructDef {
    name: "BootDeviceMirror",
    fields: &[f("devices", "", StrList)],
};

static GRUB: StructDef = StructDef {
    name: "Grub",
    fields: &[f("users", "", Ty::List(&GRUB_USER))],
};

static GRUB_USER: StructDef = StructDef {
    name: "GrubUser",
    fields: &[f("name", "", Str), f("password_hash", "", Str)],
};
