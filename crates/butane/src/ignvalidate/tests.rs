//! Table tests: each Butane input with one finding the real Butane v0.29.0
//! reports for it (kind, key path, line, message), checked against
//! [`crate::translate`].

use crate::report::{Kind, Report};
use crate::{translate, Options};

const E: Kind = Kind::Error;
const W: Kind = Kind::Warning;

fn fcos(version: &str, body: &str) -> String {
    format!("variant: fcos\nversion: {version}\n{body}")
}

fn report_of(yaml: &str) -> Report {
    match translate(yaml.as_bytes(), &Options::default()) {
        Ok(t) => t.report,
        Err(e) => e.report,
    }
}

fn check(cases: &[(String, Kind, &str, usize, &str)]) {
    let mut failures = Vec::new();
    for (yaml, kind, path, line, message) in cases {
        let report = report_of(yaml);
        let found = report.entries.iter().any(|e| {
            e.kind == *kind
                && e.path.to_string() == *path
                && e.mark.map(|m| m.line) == Some(*line)
                && e.message == *message
        });
        if !found {
            failures.push(format!(
                "missing {kind} at {path} line {line}: {message}\ninput:\n{yaml}\ngot:\n{}",
                report.raw()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const FILES: &str = "storage:\n  files:\n";

#[test]
fn table_matches_real_butane() {
    let flatcar10 = "variant: flatcar\nversion: 1.0.0\nstorage:\n  luks:\n    - name: a\n      device: /dev/x\n      clevis:\n        tpm2: true\n";
    let flatcar12 = "variant: flatcar\nversion: 1.2.0-experimental\nstorage:\n  luks:\n    - name: a\n      device: /dev/x\n      cex:\n        enabled: false\n";
    let cases: Vec<(String, Kind, &str, usize, &str)> = vec![
        (fcos("1.5.0", &format!("{FILES}    - path: foo/bar\n")), E, "$.storage.files.0.path", 5, "path not absolute"),
        (fcos("1.5.0", &format!("{FILES}    - path: /a/../b\n")), E, "$.storage.files.0.path", 5, "path is not fully simplified"),
        (fcos("1.5.0", &format!("{FILES}    - path: /a\n    - path: /a\n")), E, "$.storage.files.1", 6, "duplicate entry defined"),
        (fcos("1.5.0", &format!("{FILES}    - path: /a\n      mode: 04755\n")), W, "$.storage.files.0.mode", 6, "setuid/setgid/sticky bits are not supported or functional in spec versions older than 3.6.0"),
        (fcos("1.6.0", &format!("{FILES}    - path: /f\n      mode: -1\n")), E, "$.storage.files.0.mode", 6, "illegal file mode"),
        (fcos("1.0.0", &format!("{FILES}    - path: /a\n      contents:\n        source: ftp://x\n")), E, "$.storage.files.0.contents.source", 7, "invalid url scheme"),
        (fcos("1.0.0", &format!("{FILES}    - path: /a\n      contents:\n        source: http://x\n        verification:\n          hash: sha256-00\n")), E, "$.storage.files.0.contents.verification.hash", 9, "unrecognized hash function"),
        (fcos("1.4.0", &format!("{FILES}    - path: /a\n      contents:\n        source: http://x\n        verification:\n          hash: sha512-abc\n")), E, "$.storage.files.0.contents.verification.hash", 9, "incorrect size for hash sum"),
        (fcos("1.4.0", &format!("{FILES}    - path: /a\n      contents:\n        source: s3://x/y\n        http_headers:\n          - name: a\n            value: b\n")), E, "$.storage.files.0.contents.http_headers", 9, "cannot use HTTP headers with this source scheme"),
        (fcos("1.5.0", &format!("{FILES}    - path: /f\n      contents:\n        source: 'data:text/plain;a=b;base64,aGk'\n")), E, "$.storage.files.0.contents.source", 7, "illegal base64 data at input byte 0"),
        (fcos("1.5.0", &format!("{FILES}    - path: /f\n      contents:\n        source: 'data:foo'\n")), E, "$.storage.files.0.contents.source", 7, "missing media type slash"),
        (fcos("1.5.0", &format!("{FILES}    - path: /f\n      contents:\n        source: 's3://b/k?versionId='\n")), E, "$.storage.files.0.contents.source", 7, "invalid S3 object VersionId"),
        (fcos("1.5.0", &format!("{FILES}    - path: /f\n      contents:\n        source: 'arn:aws:s3:::b'\n")), E, "$.storage.files.0.contents.source", 7, "invalid S3 ARN format"),
        (fcos("1.5.0", &format!("{FILES}    - path: /f\n      contents:\n        source: 'http://a b/'\n")), E, "$.storage.files.0.contents.source", 7, "unable to parse url"),
        (fcos("1.2.0", "storage:\n  directories:\n    - path: /d\n  files:\n    - path: /d\n"), E, "$.storage.files.0", 7, "duplicate entry defined"),
        (fcos("1.2.0", "storage:\n  files:\n    - path: /a\n      user:\n        id: 1\n        name: x\n"), E, "$.storage.files.0.user", 7, "cannot set both id and name"),
        (fcos("1.2.0", "storage:\n  files:\n    - path: /l/a\n  links:\n    - path: /l\n      target: /y\n"), E, "$.storage.files.0", 5, "file path includes link in config"),
        (fcos("1.3.0", "storage:\n  directories:\n    - path: /d\n  links:\n    - path: /l\n      hard: true\n      target: ../d\n      group:\n        name: x\n"), W, "$.storage.links.0.group.name", 11, "user/group ignored for hard link"),
        (fcos("1.3.0", "storage:\n  directories:\n    - path: /d\n  links:\n    - path: /l\n      hard: true\n      target: ../d\n"), E, "$.storage.links.0", 7, "hard link target is a directory"),
        (fcos("1.3.0", "systemd:\n  units:\n    - name: foo\n"), E, "$.systemd.units.0.name", 5, "invalid systemd unit extension"),
        (fcos("1.4.0", "systemd:\n  units:\n    - name: a.service\n      contents: \"[Unit\"\n"), E, "$.systemd.units.0.contents", 6, "invalid unit content: unable to find end of section"),
        (fcos("1.4.0", "systemd:\n  units:\n    - name: a.service\n      contents: \"[Unit] x\\n\"\n"), E, "$.systemd.units.0.contents", 6, "invalid unit content: found garbage after section name : \"x\""),
        (fcos("1.4.0", "systemd:\n  units:\n    - name: a.service\n      enabled: true\n      contents: \"[Unit]\\nA=b\\n\"\n"), W, "$.systemd.units.0.contents", 7, "unit \"a.service\" is enabled, but has no install section so enable does nothing"),
        (fcos("1.4.0", "systemd:\n  units:\n    - name: b@.service\n      contents: \"[Unit]\\nA=b\"\n    - name: b@c.service\n      enabled: true\n"), W, "$.systemd.units.1.contents", 7, "template unit \"b@.service\" for \"b@c.service\" doesn't have Install section"),
        (fcos("1.4.0", "systemd:\n  units:\n    - name: u.service\n      dropins:\n        - name: x\n"), E, "$.systemd.units.0.dropins.0.name", 7, "invalid systemd drop-in extension"),
        (fcos("1.3.0", "systemd:\n  units:\n    - name: a.service\n      contents: \"[Unit]\\n\"\nstorage:\n  files:\n    - path: /etc/systemd/system/a.service\n"), E, "$.storage.files.0.path", 9, "path conflicts with systemd unit or dropin"),
        (fcos("1.2.0", "storage:\n  filesystems:\n    - device: /dev/c\n      label: x\n"), E, "$.storage.filesystems.0.label", 6, "filesystem must specify format if label is specified"),
        (fcos("1.2.0", "storage:\n  filesystems:\n    - device: /dev/a\n      format: vfat\n      label: abcdefghijkl\n"), E, "$.storage.filesystems.0.label", 7, "filesystem labels cannot be longer than 11 characters when using vfat"),
        (fcos("1.0.0", "storage:\n  filesystems:\n    - device: /dev/x\n      format: none\n"), E, "$.storage.filesystems.0.format", 6, "invalid filesystem format"),
        (fcos("1.7.0", "storage:\n  disks:\n    - device: /dev/x\n      wipe_table: true\n  filesystems:\n    - device: /dev/x\n      format: xfs\n"), W, "$.storage.filesystems.0.device", 8, "device matches disk with wipeTable enabled; filesystem will be wiped"),
        (fcos("1.6.0", "storage:\n  disks:\n    - device: /dev/a\n      partitions:\n        - number: 1\n          start_mib: 10\n          size_mib: 10\n        - number: 2\n          start_mib: 15\n          size_mib: 10\n"), E, "$.storage.disks.0.partitions.1", 10, "partitions overlap"),
        (fcos("1.6.0", "storage:\n  disks:\n    - device: /dev/a\n      partitions:\n        - {}\n"), E, "$.storage.disks.0.partitions.0", 7, "a partition number >= 1 or a label must be specified"),
        (fcos("1.2.0", "storage:\n  disks:\n    - device: /dev/a\n      partitions:\n        - number: 1\n          type_guid: xyz\n"), E, "$.storage.disks.0.partitions.0.type_guid", 8, "doesn't match the form \"01234567-89AB-CDEF-EDCB-A98765432101\""),
        (fcos("1.4.0", "storage:\n  raid:\n    - name: b\n      level: foo\n      devices: [/dev/x]\n"), E, "$.storage.raid.0.level", 6, "unrecognized raid level"),
        (fcos("1.0.0", "storage:\n  raid:\n    - name: r\n      level: stripe\n      spares: 2\n      devices: [/dev/x]\n"), E, "$.storage.raid.0.level", 6, "spares unsupported for linear and raid0 arrays"),
        (fcos("1.5.0", "storage:\n  luks:\n    - name: a/b\n      device: /dev/x\n"), E, "$.storage.luks.0.name", 5, "device names cannot contain slashes"),
        (fcos("1.3.0", "storage:\n  luks:\n    - name: x\n      device: /dev/x\n      clevis:\n        custom:\n          pin: foo\n          config: x\n"), E, "$.storage.luks.0.clevis.custom.pin", 9, "unsupported clevis pin"),
        (fcos("1.5.0", "storage:\n  luks:\n    - name: d\n      device: /dev/y\n      clevis:\n        custom:\n          needs_network: true\n"), E, "$.storage.luks.0.clevis.custom.pin", 9, "missing required custom clevis pin"),
        (fcos("1.7.0", "storage:\n  luks:\n    - name: x\n      device: /dev/x\n      cex:\n        enabled: true\n      clevis:\n        tpm2: true\n"), E, "$.storage.luks.0.cex", 8, "cannot use cex with clevis"),
        (fcos("1.7.0", "storage:\n  luks:\n    - name: y\n      device: /dev/y\n      clevis:\n        tang:\n          - url: http://x\n            thumbprint: z\n            advertisement: \"{\"\n"), E, "$.storage.luks.0.clevis.tang.0.advertisement", 11, "advertisement is not valid JSON"),
        (fcos("1.4.0", "boot_device:\n  luks:\n    tang:\n      - url: ftp://x\n        thumbprint: y\n"), E, "$.boot_device.luks.tang.0.url", 6, "invalid url scheme"),
        (fcos("1.1.0", "ignition:\n  proxy:\n    https_proxy: http://y\n"), W, "$.ignition.proxy.https_proxy", 5, "insecure plaintext HTTP proxy specified for HTTPS resources"),
        (fcos("1.1.0", "ignition:\n  config:\n    merge:\n      - source: gs://x/y\n"), E, "$.ignition.config.merge.0", 6, "invalid url scheme"),
        (fcos("1.2.0", "ignition:\n  config:\n    merge:\n      - verification:\n          hash: sha512-00\n"), E, "$.ignition.config.merge.0", 6, "source is required"),
        (fcos("1.6.0", "kernel_arguments:\n  should_exist: [a]\n  should_not_exist: [a]\n"), E, "$.kernel_arguments.should_not_exist.0", 5, "duplicate entry defined"),
        (fcos("1.1.0", "passwd:\n  users:\n    - name: a\n      ssh_authorized_keys: [x, x]\n"), E, "$.passwd.users.0.ssh_authorized_keys.1", 6, "duplicate entry defined"),
        (flatcar10.to_string(), E, "$.storage.luks.0.clevis", 8, "clevis is not supported in this spec version"),
        (flatcar12.to_string(), E, "$.storage.luks.0.cex", 8, "cex is not currently supported on the target platform"),
    ];
    assert!(cases.len() >= 25);
    check(&cases);
}

#[test]
fn fcos_has_no_field_filters() {
    let y = fcos("1.5.0", "storage:\n  luks:\n    - name: a\n      device: /dev/x\n      clevis:\n        tpm2: true\n");
    assert!(!report_of(&y).is_fatal());
}

#[test]
fn mode_special_bits_fine_from_3_6() {
    let y = fcos(
        "1.7.0",
        &format!("{FILES}    - path: /a\n      mode: 04755\n"),
    );
    assert!(report_of(&y).entries.is_empty());
}

#[test]
fn entries_keep_ignition_order() {
    // Duplicates come first, then the types' checks in walk order.
    let y = fcos(
        "1.6.0",
        "storage:\n  files:\n    - path: rel\n    - path: rel\n  directories:\n    - path: /d\n      mode: 01755\n",
    );
    let got: Vec<String> = report_of(&y)
        .entries
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        got,
        [
            "error at $.storage.files.1, line 6 col 7: duplicate entry defined",
            "warning at $.storage.directories.0.mode, line 9 col 13: setuid/setgid/sticky bits are not supported or functional in spec versions older than 3.6.0",
            "error at $.storage.files.0.path, line 5 col 13: path not absolute",
            "error at $.storage.files.1.path, line 6 col 13: path not absolute",
        ]
    );
}

#[test]
fn data_urls_with_non_ascii_characters_fail_where_real_butane_fails() {
    // Each message is what Butane v0.29.0 reports for the same source.
    let cases: Vec<(String, Kind, &str, usize, &str)> = [
        ("data:,é", "invalid data character"),
        ("data:té/plain,x", "invalid character for media type"),
        ("data:x-é/y,z", "invalid character for media type"),
        ("data:text/plaiñ,x", "invalid character for media subtype"),
        (
            "data:text/plain;é=1,x",
            "invalid character for parameter attribute",
        ),
        (
            "data:text/plain;charset=ü,x",
            "invalid character for parameter value",
        ),
        (
            "data:text/plain;a=\"é\",x",
            "invalid character for parameter value",
        ),
        ("data:text/plain;a=\"\\é\",x", "invalid escaped character"),
        ("data:text/plain;base64,aGé=", "invalid data character"),
    ]
    .into_iter()
    .map(|(src, message)| {
        (
            fcos(
                "1.5.0",
                &format!("{FILES}    - path: /f\n      contents:\n        source: '{src}'\n"),
            ),
            E,
            "$.storage.files.0.contents.source",
            7,
            message,
        )
    })
    .collect();
    check(&cases);
    for ok in [
        "data:text/plain;base64,aGk=",
        "data:text/plain;q=\"a\\\"b\",x",
    ] {
        let y = fcos(
            "1.5.0",
            &format!("{FILES}    - path: /f\n      contents:\n        source: '{ok}'\n"),
        );
        assert!(
            report_of(&y).entries.is_empty(),
            "{ok}: {}",
            report_of(&y).raw()
        );
    }
}
