use super::*;

const SHA: &str = "0b1c3f2e62c1a6b1b8ad2eb1c7dc9e1b2a3c4d5e6f708192a3b4c5d6e7f80910";
const UNSHA: &str = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

fn stream(arch: &str, disk: &str) -> String {
    format!(
        r#"{{"stream":"stable","metadata":{{"last-modified":"2026-11-20T00:00:00Z"}},
        "architectures":{{"{arch}":{{"artifacts":{{
          "metal":{{"release":"41.1","formats":{{}}}},
          "qemu":{{"release":"41.20241027.3.0","formats":{{"qcow2.xz":{{"disk":{disk}}}}}}}
        }}}}}}}}"#
    )
}

fn good_disk() -> String {
    format!(
        r#"{{"location":"https://example.org/prod/fedora-coreos-41.20241027.3.0-qemu.x86_64.qcow2.xz",
        "signature":"https://example.org/x.sig","sha256":"{SHA}","uncompressed-sha256":"{UNSHA}"}}"#
    )
}

#[test]
fn fcos_stream_gives_the_qemu_qcow2_xz_disk() {
    let a = parse_fcos_stream("u", &stream("x86_64", &good_disk()), "x86_64").expect("parses");
    assert_eq!(
        a.location,
        "https://example.org/prod/fedora-coreos-41.20241027.3.0-qemu.x86_64.qcow2.xz"
    );
    assert_eq!(a.digest, Digest::parse(Algo::Sha256, SHA));
    assert_eq!(a.uncompressed_sha256.as_deref(), Some(UNSHA));
    assert_eq!(a.release.as_deref(), Some("41.20241027.3.0"));
    assert_eq!(a.volume, "fedora-coreos-41.20241027.3.0-qemu.x86_64.qcow2");
    assert!(a.xz);
}

#[test]
fn fcos_stream_missing_keys_name_the_key() {
    let cases = [
        (
            stream("aarch64", &good_disk()),
            "architectures.x86_64.artifacts.qemu.release",
        ),
        (
            stream("x86_64", r#"{"sha256":"00"}"#),
            r#"architectures.x86_64.artifacts.qemu.formats["qcow2.xz"].disk.location"#,
        ),
        (
            stream(
                "x86_64",
                &format!(r#"{{"location":"https://e/x.qcow2.xz","sha256":"{SHA}"}}"#),
            ),
            r#"formats["qcow2.xz"].disk.uncompressed-sha256"#,
        ),
    ];
    for (json, path) in cases {
        let e = parse_fcos_stream("https://m/s.json", &json, "x86_64").expect_err("missing key");
        let text = e.to_string();
        assert!(text.contains(path), "{text} should name {path}");
        assert!(text.contains("https://m/s.json"), "{text}");
    }
}

#[test]
fn fcos_stream_bad_json_and_bad_digest_are_clear() {
    let e = parse_fcos_stream("u", "<html>", "x86_64").expect_err("not json");
    assert!(e.to_string().contains("is not JSON"), "{e}");
    let disk = format!(
        r#"{{"location":"https://e/x.qcow2.xz","sha256":"xyz","uncompressed-sha256":"{UNSHA}"}}"#
    );
    let e = parse_fcos_stream("u", &stream("x86_64", &disk), "x86_64").expect_err("bad hex");
    assert!(
        e.to_string().contains("sha256 is not a sha256 digest"),
        "{e}"
    );
}

#[test]
fn digests_prefer_sha256_then_sha512_of_the_named_file() {
    let sha512 = "ab".repeat(64);
    let text = format!(
        "# MD5 HASH\n0123456789abcdef0123456789abcdef  {FLATCAR_IMAGE}\n\
         # SHA1 HASH\n{}  {FLATCAR_IMAGE}\n# SHA512 HASH\n{sha512}  {FLATCAR_IMAGE}\n\
         {}  other.img\n",
        "1".repeat(40),
        "cd".repeat(64)
    );
    let d = parse_digests("u", &text, FLATCAR_IMAGE).expect("sha512");
    assert_eq!(d, Digest::parse(Algo::Sha512, &sha512).expect("hex"));
    let with256 = format!("{text}# SHA256 HASH\n{SHA}  {FLATCAR_IMAGE}\n");
    let d = parse_digests("u", &with256, FLATCAR_IMAGE).expect("sha256");
    assert_eq!(d.algo, Algo::Sha256);
    let e = parse_digests("https://d/DIGESTS", &text, "missing.img").expect_err("none");
    assert!(e
        .to_string()
        .contains("no SHA256 or SHA512 digest of missing.img"));
}

#[test]
fn flatcar_version_and_names() {
    let v = parse_flatcar_version("u", "FLATCAR_BUILD=4081\nFLATCAR_VERSION=4081.2.0\n");
    assert_eq!(v.as_deref(), Ok("4081.2.0"));
    assert!(parse_flatcar_version("u", "nothing\n").is_err());
    assert_eq!(
        flatcar_base_url("stable", flatcar_arch("x86_64")),
        "https://stable.release.flatcar-linux.net/amd64-usr/current/"
    );
    let d = Digest::parse(Algo::Sha256, SHA).expect("hex");
    let a = flatcar_artifact("http://127.0.0.1:1/c/", "4081.2.0", "amd64", d);
    assert_eq!(a.location, format!("http://127.0.0.1:1/c/{FLATCAR_IMAGE}"));
    assert_eq!(a.volume, "flatcar-4081.2.0-qemu.amd64.qcow2");
    assert!(!a.xz);
}

#[test]
fn digest_parse_checks_length_and_hex() {
    assert!(Digest::parse(Algo::Sha256, SHA).is_some());
    assert!(Digest::parse(Algo::Sha256, &SHA[1..]).is_none());
    assert!(Digest::parse(Algo::Sha256, &SHA.replace('0', "g")).is_none());
    let upper = Digest::parse(Algo::Sha256, &SHA.to_uppercase()).expect("any case");
    assert_eq!(upper.hex, SHA);
}

#[test]
fn default_volume_is_the_file_name_without_xz() {
    assert_eq!(default_volume("http://h/a/b.qcow2.xz?x=1"), "b.qcow2");
    assert_eq!(default_volume("/tmp/img.qcow2"), "img.qcow2");
}
