//! Typed Butane document -> Ignition output tree, the third step.
//!
//! Most fields copy across under their camelCase name. The sugar Butane
//! adds is expanded here as the real Butane's `base/v0_x/translate.go`
//! does: `inline`/`local` contents become `data:` URLs, `*_local` fields
//! read files under the files-dir, `storage.trees` walks a directory,
//! `with_mount_unit` generates systemd units, and (1.8.0-experimental)
//! `systemd.quadlets` become files and links. Variant sugar (fcos
//! `boot_device`, `grub`) lives in [`crate::fcos`].

use std::path::{Component, Path, PathBuf};

use crate::dataurl;
use crate::decode::{Obj, Value};
use crate::merge::merge;
use crate::out::{Out, Src, Val};
use crate::report::{KeyPath, Report};
use crate::schema::{self, Field, Role, Spec, Ty};
use crate::yaml::Mark;

/// What translation may read and how it encodes.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Directory `local` paths are relative to; `None` refuses them all.
    pub files_dir: Option<PathBuf>,
    /// Never gzip embedded contents.
    pub no_auto_compression: bool,
}

/// Translation state: spec, options and the report being filled.
pub struct Ctx<'a> {
    /// Spec being translated.
    pub spec: Spec,
    /// Options.
    pub opts: &'a Options,
    /// Findings.
    pub report: &'a mut Report,
}

/// The `storage.trees`/`local` error when no files-dir was given.
pub const NO_FILES_DIR: &str =
    "local file paths are relative to a files directory that must be specified with -d/--files-dir";

impl Ctx<'_> {
    /// Translate the root document into the Ignition config tree.
    pub fn root(&mut self, doc: &Obj) -> Out {
        let mut out = self.object(doc);
        let src = Src::new(doc.path.key("version"), Some(doc.mark_of("version")));
        let version = ignition_version(self.spec);
        let ign = out.obj_mut("ignition", &src);
        ign.set("version", Out::str(version, src.clone()));
        // Ignition's Config struct starts with `ignition`; keep it first.
        if let Val::Obj(members) = &mut out.val {
            if let Some(i) = members.iter().position(|(k, _)| k == "ignition") {
                let ign = members.remove(i);
                members.insert(0, ign);
            }
        }
        self.mount_units(doc, &mut out);
        if let Some(storage) = doc.obj("storage") {
            self.trees(storage, &mut out);
        }
        if let Some(systemd) = doc.obj("systemd") {
            self.quadlets(systemd, &mut out);
        }
        out
    }

    /// Copy an object field by field, expanding sugar.
    pub fn object(&mut self, obj: &Obj) -> Out {
        let def = obj.def;
        if std::ptr::eq(def, &schema::RESOURCE) {
            return self.resource(obj);
        }
        let src = Src::new(obj.path.clone(), Some(obj.mark));
        let mut out = Out::obj(src);
        for field in def.fields {
            if field.role != Role::Copy
                || def.field(field.yaml, self.spec).map(|f| f as *const Field) != Some(field)
            {
                continue;
            }
            let value = match obj.slot(field.yaml) {
                Some(slot) => self.value(obj, field, &slot.value, slot.mark),
                None => self.required_default(obj, field),
            };
            if let Some(v) = value {
                out.set(field.json, v);
            }
        }
        self.sugar(obj, &mut out);
        out
    }

    fn value(&mut self, obj: &Obj, field: &Field, value: &Value, mark: Mark) -> Option<Out> {
        // Partition.Number is a plain Go int with omitempty: 0 is omitted
        if field.json == "number" && matches!(value, Value::Int(0)) {
            return None;
        }
        let src = Src::new(obj.path_of(field.yaml), Some(mark));
        let v = match value {
            Value::Str(s) => Out::str(s.clone(), src),
            Value::Int(i) => Out::new(Val::Int(*i), src),
            Value::Bool(b) => Out::new(Val::Bool(*b), src),
            Value::StrList(items) => {
                let path = obj.path_of(field.yaml);
                let list = items
                    .iter()
                    .enumerate()
                    .map(|(i, (s, m))| Out::str(s.clone(), Src::new(path.index(i), Some(*m))))
                    .collect();
                Out::new(Val::List(list), src)
            }
            Value::Obj(o) => self.object(o),
            Value::List(objs) => {
                let list = objs.iter().map(|o| self.object(o)).collect();
                Out::new(Val::List(list), src)
            }
        };
        let keep = !v.is_empty() || self.always(field);
        keep.then_some(v)
    }

    fn always(&self, field: &Field) -> bool {
        field
            .always_until
            .is_some_and(|m| self.spec.ign_minor() <= m)
    }

    fn required_default(&self, obj: &Obj, field: &Field) -> Option<Out> {
        if !self.always(field) {
            return None;
        }
        let src = Src::new(obj.path_of(field.yaml), Some(obj.mark));
        Some(match field.ty {
            Ty::Str => Out::str("", src),
            Ty::Int => Out::new(Val::Int(0), src),
            Ty::Bool => Out::new(Val::Bool(false), src),
            _ => Out::new(Val::Null, src),
        })
    }

    /// Per-struct sugar beyond plain copying.
    fn sugar(&mut self, obj: &Obj, out: &mut Out) {
        match obj.def.name {
            "FileContents" => {
                if let Some(inline) = obj.str("inline") {
                    let src = Src::new(obj.path_of("inline"), Some(obj.mark_of("inline")));
                    let url = dataurl::escaped_url(inline.as_bytes());
                    set_before(out, "source", Out::str(url, src), "verification");
                }
            }
            "PasswdUser" => self.ssh_keys_local(obj, out),
            "Unit" | "Dropin" => self.contents_local(obj, out),
            _ => {}
        }
    }

    /// `inline`/`local`/`source` resource: the data-URL step.
    fn resource(&mut self, obj: &Obj) -> Out {
        let src = Src::new(obj.path.clone(), Some(obj.mark));
        let mut out = Out::obj(src);
        let mut compression = obj.str("compression").map(str::to_string);
        let mut source = obj.str("source").map(|s| {
            Out::str(
                s,
                Src::new(obj.path_of("source"), Some(obj.mark_of("source"))),
            )
        });
        let contents = if let Some(local) = obj.str("local") {
            self.read_local(local, &obj.path_of("local"), obj.mark_of("local"))
                .map(|c| (c, "local"))
        } else {
            obj.str("inline").map(|s| (s.as_bytes().to_vec(), "inline"))
        };
        if let Some((bytes, key)) = contents {
            // Butane validates embedded configs given inline only: its
            // check of `local` tests a path relative to the resource, which
            // never starts with $.ignition.config
            if key == "inline" && obj.path.starts_with_keys(&["ignition", "config"]) {
                self.check_embedded_config(&bytes, obj, key);
            }
            let d = dataurl::make(
                &bytes,
                compression.as_deref(),
                !self.opts.no_auto_compression,
            );
            if let Some(c) = d.compression {
                compression = Some(c.to_string());
            }
            source = Some(Out::str(
                d.url,
                Src::new(obj.path_of(key), Some(obj.mark_of(key))),
            ));
        }
        if let Some(c) = compression {
            let s = Src::new(obj.path_of("compression"), Some(obj.mark_of("compression")));
            out.set("compression", Out::str(c, s));
        }
        let headers = obj.list("http_headers");
        if !headers.is_empty() && schema::RESOURCE.field("http_headers", self.spec).is_some() {
            let list: Vec<Out> = headers.iter().map(|h| self.object(h)).collect();
            let s = Src::new(
                obj.path_of("http_headers"),
                Some(obj.mark_of("http_headers")),
            );
            out.set("httpHeaders", Out::new(Val::List(list), s));
        }
        if let Some(s) = source {
            out.set("source", s);
        }
        if let Some(v) = obj.obj("verification") {
            let v = self.object(v);
            if !v.is_empty() {
                out.set("verification", v);
            }
        }
        out
    }

    /// A config embedded in `ignition.config`: must be JSON of a known
    /// Ignition version (warn and skip checks otherwise, as Butane does).
    fn check_embedded_config(&mut self, bytes: &[u8], obj: &Obj, key: &str) {
        let (path, mark) = (obj.path_of(key), obj.mark_of(key));
        match serde_json::from_slice::<serde_json::Value>(bytes) {
            Err(e) => self
                .report
                .error(path, Some(mark), format!("config is not valid: {e}")),
            Ok(v) => {
                let version = v
                    .get("ignition")
                    .and_then(|i| i.get("version"))
                    .and_then(|s| s.as_str());
                // Butane parses the embedded config as its own output
                // version; any other version is "unknown" to it
                if version != Some(ignition_version(self.spec)) {
                    self.report.warn(
                        obj.path_of("version"),
                        Some(obj.mark),
                        "skipping validation for the merge/replace ignition config due to an unkown version",
                    );
                    return;
                }
                let embedded = json_to_out(&v, &Src::new(path, Some(mark)));
                crate::ignvalidate::validate(&embedded, self.spec.ign_minor(), self.report);
            }
        }
    }

    fn ssh_keys_local(&mut self, obj: &Obj, out: &mut Out) {
        let files = obj.strs("ssh_authorized_keys_local");
        if files.is_empty() {
            return;
        }
        let path = obj.path_of("ssh_authorized_keys_local");
        if self.opts.files_dir.is_none() {
            let mark = obj.mark_of("ssh_authorized_keys_local");
            self.report.error(path, Some(mark), NO_FILES_DIR);
            return;
        }
        let src = Src::new(path.clone(), Some(obj.mark_of("ssh_authorized_keys_local")));
        let mut keys: Vec<Out> = Vec::new();
        for (i, (file, mark)) in files.iter().enumerate() {
            let Some(bytes) = self.read_local(file, &path.index(i), *mark) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            for line in text.split('\n') {
                let line = line.strip_suffix('\r').unwrap_or(line);
                if !line.is_empty() {
                    keys.push(Out::str(line, Src::new(path.index(i), Some(*mark))));
                }
            }
        }
        if keys.is_empty() {
            return;
        }
        let existing = out.list_mut("sshAuthorizedKeys", &src);
        existing.extend(keys);
        // keep Ignition's field order: after primaryGroup/shouldExist
        reorder(out, USER_ORDER);
    }

    fn contents_local(&mut self, obj: &Obj, out: &mut Out) {
        let Some(local) = obj.str("contents_local").filter(|s| !s.is_empty()) else {
            return;
        };
        let path = obj.path_of("contents_local");
        let mark = obj.mark_of("contents_local");
        if let Some(bytes) = self.read_local(local, &path, mark) {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            out.set("contents", Out::str(text, Src::new(path, Some(mark))));
            reorder(out, &["contents", "dropins", "enabled", "mask", "name"]);
        }
    }

    /// Read `rel` under the files-dir, refusing paths that escape it.
    pub fn read_local(&mut self, rel: &str, path: &KeyPath, mark: Mark) -> Option<Vec<u8>> {
        let full = match self.local_path(rel) {
            Ok(p) => p,
            Err(msg) => {
                self.report.error(path.clone(), Some(mark), msg);
                return None;
            }
        };
        if let Some(what) = special_file(&full) {
            // a FIFO would block the translation forever, a device feed it
            // without end: only files are embedded
            let msg = format!("open {}: is {what}, not a regular file", full.display());
            self.report.error(path.clone(), Some(mark), msg);
            return None;
        }
        match std::fs::read(&full) {
            Ok(b) => Some(b),
            Err(e) => {
                // name the file as given (Go's filepath.Join of dir and path)
                let dir = self.opts.files_dir.as_deref().unwrap_or(Path::new("."));
                let shown = clean(&dir.join(rel.trim_start_matches('/')));
                let msg = format!("open {}: {}", shown.display(), io_reason(&e));
                self.report.error(path.clone(), Some(mark), msg);
                None
            }
        }
    }

    /// `files_dir/rel`, lexically cleaned, or why it is refused.
    pub fn local_path(&self, rel: &str) -> Result<PathBuf, String> {
        let Some(dir) = &self.opts.files_dir else {
            return Err(NO_FILES_DIR.to_string());
        };
        let base = clean(&absolute(dir));
        let full = clean(&base.join(rel.trim_start_matches('/')));
        if full != base && !full.starts_with(&base) {
            return Err("local file path traverses outside the files directory".into());
        }
        Ok(full)
    }
}

/// A JSON document as an output tree whose every node points at `src`
/// (the Butane key that embeds it).
fn json_to_out(v: &serde_json::Value, src: &Src) -> Out {
    use serde_json::Value as J;
    let val = match v {
        J::Null => Val::Null,
        J::Bool(b) => Val::Bool(*b),
        J::Number(n) => n.as_i64().map_or(Val::Null, Val::Int),
        J::String(s) => Val::Str(s.clone()),
        J::Array(items) => Val::List(items.iter().map(|i| json_to_out(i, src)).collect()),
        J::Object(m) => Val::Obj(
            m.iter()
                .map(|(k, i)| (k.clone(), json_to_out(i, src)))
                .collect(),
        ),
    };
    Out::new(val, src.clone())
}

const USER_ORDER: &[&str] = &[
    "gecos",
    "groups",
    "homeDir",
    "name",
    "noCreateHome",
    "noLogInit",
    "noUserGroup",
    "passwordHash",
    "primaryGroup",
    "sshAuthorizedKeys",
    "shell",
    "shouldExist",
    "system",
    "uid",
];

/// Reorder an object's members to follow `order` (others keep their place
/// at the end).
pub fn reorder(out: &mut Out, order: &[&str]) {
    if let Val::Obj(m) = &mut out.val {
        m.sort_by_key(|(k, _)| order.iter().position(|o| o == k).unwrap_or(order.len()));
    }
}

fn set_before(out: &mut Out, key: &str, value: Out, before: &str) {
    out.set(key, value);
    if let Val::Obj(m) = &mut out.val {
        let Some(from) = m.iter().position(|(k, _)| k == key) else {
            return;
        };
        if let Some(to) = m.iter().position(|(k, _)| k == before) {
            if to < from {
                let item = m.remove(from);
                m.insert(to, item);
            }
        }
    }
}

/// The Ignition spec version a Butane spec translates to.
pub fn ignition_version(spec: Spec) -> &'static str {
    match spec.ign_minor() {
        0 => "3.0.0",
        1 => "3.1.0",
        2 => "3.2.0",
        3 => "3.3.0",
        4 => "3.4.0",
        5 => "3.5.0",
        6 => "3.6.0",
        _ => "3.7.0-experimental",
    }
}

/// An I/O error's reason in the words Go's `os` package uses.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "is a directory".into(),
        _ => e.to_string(),
    }
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// Lexical cleaning (Go's `filepath.Clean`): drop `.`, resolve `..`.
pub fn clean(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Go's `path.Join` for slash paths: join then clean.
pub fn slash_join(base: &str, rel: &str) -> String {
    let joined = if rel.is_empty() || rel == "." {
        base.to_string()
    } else {
        format!("{base}/{rel}")
    };
    slash_clean(&joined)
}

/// Go's `path.Clean`.
pub fn slash_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

/// Merge a generated config under the user's (generated is the parent).
pub fn merge_generated(generated: Out, user: &mut Out) {
    let taken = std::mem::replace(user, Out::obj(Src::default()));
    *user = merge(generated, taken);
}

/// Go's `unit.UnitNamePathEscape` from go-systemd.
pub fn unit_path_escape(path: &str) -> String {
    let cleaned = slash_clean(path);
    let trimmed = cleaned.trim_matches('/');
    if trimmed.is_empty() {
        return "-".into();
    }
    let mut out = String::new();
    for (i, b) in trimmed.bytes().enumerate() {
        match b {
            b'/' => out.push('-'),
            b'.' if i == 0 => out.push_str("\\x2e"),
            b if b.is_ascii_alphanumeric() || b == b':' || b == b'_' || b == b'.' => {
                out.push(b as char);
            }
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

/// What `path` is, if it is a FIFO, a device or a socket (symlinks
/// followed): files that cannot be read to their end.
fn special_file(path: &Path) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt as _;
    let t = std::fs::metadata(path).ok()?.file_type();
    if t.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if t.is_char_device() {
        Some("a character device")
    } else if t.is_block_device() {
        Some("a block device")
    } else if t.is_socket() {
        Some("a socket")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slash_paths_clean_like_go() {
        assert_eq!(slash_join("/", "."), "/");
        assert_eq!(slash_join("/etc", "a/b"), "/etc/a/b");
        assert_eq!(slash_join("/etc/", "../x"), "/x");
        assert_eq!(slash_clean("a/../.."), "..");
    }

    #[test]
    fn unit_names_escape_like_systemd() {
        assert_eq!(
            unit_path_escape("/var/lib/containers"),
            "var-lib-containers"
        );
        assert_eq!(
            unit_path_escape("/dev/disk/by-label/x"),
            "dev-disk-by\\x2dlabel-x"
        );
        assert_eq!(unit_path_escape("/"), "-");
    }
}
