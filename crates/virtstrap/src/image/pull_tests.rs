use super::*;
use crate::image::source::Algo;
use crate::libvirt::fake::{FakeBackend, FakeState};
use crate::libvirt::PoolState;

fn host() -> FakeBackend {
    let mut state = FakeState::default();
    let pool = PoolState {
        xml: String::new(),
        active: true,
        persistent: true,
        path: "/p".into(),
    };
    state.pools.insert("p".into(), pool);
    FakeBackend::with_state(state)
}

fn qcow2_bytes() -> Vec<u8> {
    let mut b = b"QFI\xfb".to_vec();
    b.extend((0..5000u32).map(|i| (i % 253) as u8));
    b
}

fn request(dir: &std::path::Path, bytes: &[u8]) -> Request {
    let path = dir.join("img.qcow2");
    std::fs::write(&path, bytes).expect("write");
    Request {
        artifact: Artifact {
            location: path.display().to_string(),
            digest: None,
            uncompressed_sha256: None,
            release: None,
            volume: "img.qcow2".into(),
            xz: false,
        },
        local: true,
        pool: "p".into(),
        name: None,
        cache: dir.join("cache"),
        quiet: true,
        lock_wait: std::time::Duration::ZERO,
        stop: Default::default(),
    }
}

#[test]
fn xml_helpers_read_libvirt_volume_xml() {
    let xml = "<volume type='file'><capacity unit='bytes'>67108864</capacity>\
               <physical unit='bytes'>196616</physical><target><format type='qcow2'/>\
               </target></volume>";
    assert_eq!(xml_number(xml, "physical"), Some(196_616));
    assert_eq!(xml_number(xml, "capacity"), Some(67_108_864));
    assert_eq!(xml_format(xml).as_deref(), Some("qcow2"));
    assert_eq!(xml_format("<format type=\"raw\"/>").as_deref(), Some("raw"));
}

#[test]
fn a_failed_check_after_upload_leaves_no_volume_and_no_marker() {
    // the fake host never re-reads a volume's format: the upload goes
    // through, the qcow2 check fails, and everything made is deleted
    let dir = tempfile::tempdir().expect("tempdir");
    let b = host();
    let e = pull(&b, &Fetcher::new(), &request(dir.path(), &qcow2_bytes())).expect_err("raw");
    assert!(e.to_string().contains("does not read as qcow2"), "{e}");
    assert!(b.state().volumes.is_empty(), "{:?}", b.state().volumes);
    let calls = b.calls();
    assert!(
        calls.contains(&"upload volume p/img.qcow2".to_string()),
        "{calls:?}"
    );
}

#[test]
fn a_failed_upload_leaves_no_volume_and_no_marker() {
    let dir = tempfile::tempdir().expect("tempdir");
    // the upload's index among the host calls, from a run that fails later
    let probe = host();
    let _ = pull(
        &probe,
        &Fetcher::new(),
        &request(dir.path(), &qcow2_bytes()),
    );
    let at = probe
        .calls()
        .iter()
        .position(|c| c == "upload volume p/img.qcow2")
        .expect("uploads");
    let b = host();
    b.fail_at(Some(at));
    let e = pull(&b, &Fetcher::new(), &request(dir.path(), &qcow2_bytes())).expect_err("fails");
    assert!(
        format!("{e:#}").contains(&format!("injected failure (call {at})")),
        "{e:#}"
    );
    assert!(b.state().volumes.is_empty(), "{:?}", b.state().volumes);
}

#[test]
fn a_wrong_local_digest_is_refused_before_the_pool() {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = host();
    let mut req = request(dir.path(), &qcow2_bytes());
    req.artifact.digest = Digest::parse(Algo::Sha256, &"0".repeat(64));
    let e = pull(&b, &Fetcher::new(), &req).expect_err("mismatch");
    assert!(e.to_string().contains("sha256 mismatch"), "{e}");
    assert!(b.state().volumes.is_empty());
}

#[test]
fn not_qcow2_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = host();
    let e = pull(&b, &Fetcher::new(), &request(dir.path(), b"raw bytes")).expect_err("raw");
    assert!(e.to_string().contains("is not a qcow2 image"), "{e}");
    assert!(b.state().volumes.is_empty());
}

fn put_volume(b: &FakeBackend, name: &str, bytes: &[u8]) {
    let xml = format!("<volume><name>{name}</name><capacity>0</capacity></volume>");
    b.create_volume("p", &xml).expect("create");
    b.upload_volume("p", name, bytes).expect("upload");
}

#[test]
fn same_bytes_are_already_there_others_are_a_clash_naming_a_free_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = host();
    put_volume(&b, "img.qcow2", &qcow2_bytes());
    let got = pull(&b, &Fetcher::new(), &request(dir.path(), &qcow2_bytes())).expect("there");
    assert!(got.already_there);
    put_volume(&b, "img-2.qcow2", b"other");
    let mut other = qcow2_bytes();
    other.push(1);
    let e = pull(&b, &Fetcher::new(), &request(dir.path(), &other)).expect_err("clash");
    let text = e.to_string();
    assert!(text.contains("--name img-3.qcow2"), "{text}");
    let kept = b
        .state()
        .uploads
        .get(&("p".into(), "img.qcow2".into()))
        .cloned();
    assert_eq!(kept, Some(qcow2_bytes()), "left untouched");
}

#[test]
fn a_marker_means_a_stale_half_image_which_is_deleted_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = host();
    put_volume(&b, "img.qcow2", b"half");
    put_volume(&b, &format!("img.qcow2{MARKER_SUFFIX}"), b"");
    let _ = pull(&b, &Fetcher::new(), &request(dir.path(), &qcow2_bytes()));
    let calls = b.calls();
    assert!(
        calls.contains(&"delete volume p/img.qcow2".to_string()),
        "{calls:?}"
    );
    assert!(
        calls.contains(&"upload volume p/img.qcow2".to_string()),
        "{calls:?}"
    );
}

#[test]
fn a_pull_of_the_same_volume_running_elsewhere_is_waited_for_then_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = host();
    // a live holder: this very process, on this machine
    let me = crate::apply::lock::Holder::me("image pull");
    let name = crate::apply::lock::lock_name("image-p-img.qcow2");
    b.create_lock(&name, &me.record())
        .expect("lock")
        .expect("free");
    let e = pull(&b, &Fetcher::new(), &request(dir.path(), &qcow2_bytes())).expect_err("held");
    let text = e.to_string();
    assert!(
        text.contains("another image pull of p/img.qcow2 is still running"),
        "{text}"
    );
    assert!(
        text.contains(&format!("pid {}", std::process::id())),
        "{text}"
    );
    assert!(b.state().volumes.is_empty());
}
