//! `LibvirtBackend` against libvirt's in-process `test:///default` driver
//! (real libvirt API, no daemon), and the same scenario through
//! `FakeBackend`, so the fake that apply's tests lean on behaves like
//! libvirt where the test driver lets us check.
//!
//! What the test driver does, measured here (libvirt 9.0):
//! - every connection to `test:///default` in a process shares one state
//!   while any of them is open; once the last one closes, the next open
//!   starts afresh (a domain `test`, running; a pool `default-pool`; a
//!   network `default` with `<dhcp>`). Tests here therefore take [`LOCK`]
//!   so that none sees another's objects.
//! - it accepts only `<domain type='test'>`;
//! - it has no volume upload and no volume resize ("this function is not
//!   supported by the connection driver"), no `VIR_DOMAIN_UNDEFINE_NVRAM`
//!   and no `VIR_NETWORK_XML_INACTIVE` ("unsupported flags"): the backend
//!   falls back to the plain calls for the last two;
//! - it does `virNetworkUpdate` (live and config) like the real daemon,
//!   and, unlike the fake, adds a DHCP host to a network without `<dhcp>`;
//! - pool build does not touch the disk.

use std::sync::{Mutex, MutexGuard};

use virtstrap::libvirt::fake::FakeBackend;
use virtstrap::libvirt::real::LibvirtBackend;
use virtstrap::libvirt::{Backend, BackendError};

const URI: &str = "test:///default";

/// Serialises the tests that open `test:///default` (shared state).
static LOCK: Mutex<()> = Mutex::new(());

/// The ownership marker volume every created pool gets.
const MARKER: &str = "<volume><name>vs.marker</name><capacity unit='bytes'>0</capacity><target><format type='raw'/></target></volume>";

fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn connect() -> LibvirtBackend {
    LibvirtBackend::connect(Some(URI)).expect("test:///default opens")
}

/// What a backend can do beyond what every one does.
#[derive(Clone, Copy, Debug)]
struct Can {
    /// Volume upload and resize (not on the test driver).
    upload_and_resize: bool,
}

fn domain_xml(name: &str, mib: u32) -> String {
    format!(
        "<domain type='test'><name>{name}</name>\
         <memory unit='MiB'>{mib}</memory><vcpu>1</vcpu>\
         <os><type>hvm</type></os></domain>"
    )
}

fn pool_xml(name: &str, path: &str) -> String {
    format!("<pool type='dir'><name>{name}</name><target><path>{path}</path></target></pool>")
}

fn volume_xml(name: &str, bytes: u64) -> String {
    format!(
        "<volume><name>{name}</name><capacity unit='bytes'>{bytes}</capacity>\
         <target><format type='raw'/></target></volume>"
    )
}

const NETWORK_XML: &str = "<network><name>vs-net</name>\
    <ip address='192.168.150.1' netmask='255.255.255.0'><dhcp>\
    <range start='192.168.150.100' end='192.168.150.200'/>\
    </dhcp></ip></network>";

const DHCP_HOST: &str = "<host mac='52:54:00:12:34:56' name='n1' ip='192.168.150.11'/>";

/// A libvirt refusal whose message contains `words`.
#[track_caller]
fn assert_refused<T: std::fmt::Debug>(r: Result<T, BackendError>, words: &str) {
    match r {
        Err(BackendError::Libvirt { message, .. }) => {
            assert!(message.contains(words), "{message:?} lacks {words:?}");
        }
        other => panic!("expected a refusal with {words:?}, got {other:?}"),
    }
}

#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(r: Result<T, BackendError>) {
    match r {
        Err(BackendError::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

/// Every trait method, on objects the scenario makes itself.
fn scenario(b: &dyn Backend, can: Can) {
    missing_objects_are_none(b);
    domain_lifecycle(b);
    pool_and_volumes(b, can);
    network_with_dhcp_host(b);
}

fn missing_objects_are_none(b: &dyn Backend) {
    assert_eq!(b.domain("vs-nope").expect("get domain"), None);
    assert_eq!(b.pool("vs-nope").expect("get pool"), None);
    assert_eq!(b.network("vs-nope").expect("get network"), None);
    assert_eq!(b.volume("vs-nope", "v").expect("pool missing"), None);
    assert_not_found(b.start_domain("vs-nope"));
    assert_not_found(b.stop_domain("vs-nope"));
    assert_not_found(b.undefine_domain("vs-nope"));
    assert_not_found(b.delete_pool("vs-nope"));
    assert_not_found(b.delete_network("vs-nope"));
    assert_not_found(b.add_dhcp_host("vs-nope", DHCP_HOST));
    assert_not_found(b.volumes("vs-nope"));
    assert_not_found(b.create_volume("vs-nope", &volume_xml("v", 1)));
    assert_not_found(b.upload_volume("vs-nope", "v", b"x"));
    assert_not_found(b.resize_volume("vs-nope", "v", 1));
    assert_not_found(b.delete_volume("vs-nope", "v"));
}

fn domain_lifecycle(b: &dyn Backend) {
    b.define_domain(&domain_xml("vs-d", 128)).expect("define");
    assert!(b.domains().expect("list").contains(&"vs-d".to_string()));
    let d = b.domain("vs-d").expect("get").expect("defined");
    assert!(!d.running);
    assert!(d.xml.contains("<name>vs-d</name>"), "{}", d.xml);

    b.start_domain("vs-d").expect("start");
    assert!(b.domain("vs-d").expect("get").expect("defined").running);
    assert_refused(b.start_domain("vs-d"), "already running");
    assert_refused(b.undefine_domain("vs-d"), "running");

    // a redefine of a running domain changes its next boot, not its state
    b.define_domain(&domain_xml("vs-d", 256)).expect("redefine");
    assert!(b.domain("vs-d").expect("get").expect("defined").running);

    b.stop_domain("vs-d").expect("stop");
    assert!(!b.domain("vs-d").expect("get").expect("defined").running);
    assert_refused(b.stop_domain("vs-d"), "not running");
    b.undefine_domain("vs-d").expect("undefine");
    assert_eq!(b.domain("vs-d").expect("get"), None);
    assert!(!b.domains().expect("list").contains(&"vs-d".to_string()));
    assert_not_found(b.undefine_domain("vs-d"));
}

fn pool_and_volumes(b: &dyn Backend, can: Can) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bulk");
    let path_str = path.to_str().expect("utf-8 temp path");
    b.create_pool(&pool_xml("vs-p", path_str), MARKER)
        .expect("create pool");
    let p = b.pool("vs-p").expect("get pool").expect("created");
    assert!(p.active);
    assert!(p.persistent, "defined once its marker is in");
    assert_eq!(p.path, path);
    b.finish_pool("vs-p", MARKER)
        .expect("finishing a finished pool changes nothing");
    assert_eq!(b.volumes("vs-p").expect("list"), ["vs.marker"]);
    assert_refused(
        b.create_pool(&pool_xml("vs-p", path_str), MARKER),
        "already exists",
    );
    assert_eq!(
        b.volumes("vs-p").expect("list"),
        ["vs.marker"],
        "the marker comes with the pool"
    );

    b.create_volume("vs-p", &volume_xml("v.ign", 1 << 20))
        .expect("create volume");
    assert_eq!(b.volumes("vs-p").expect("list"), ["v.ign", "vs.marker"]);
    let v = b.volume("vs-p", "v.ign").expect("get").expect("created");
    assert_eq!(v.capacity, 1 << 20);
    assert!(v.xml.contains("<name>v.ign</name>"), "{}", v.xml);
    assert!(b.create_volume("vs-p", &volume_xml("v.ign", 1)).is_err());
    assert_eq!(b.volume("vs-p", "nope").expect("get"), None);

    let upload = b.upload_volume("vs-p", "v.ign", b"{\"ignition\":{}}");
    let resize = b.resize_volume("vs-p", "v.ign", 2 << 20);
    if can.upload_and_resize {
        upload.expect("upload");
        resize.expect("resize");
        let v = b.volume("vs-p", "v.ign").expect("get").expect("exists");
        assert_eq!(v.capacity, 2 << 20);
        assert!(b.resize_volume("vs-p", "v.ign", 1).is_err(), "no shrink");
    } else {
        assert_refused(upload, "not supported");
        assert_refused(resize, "not supported");
    }

    assert_refused(b.delete_pool("vs-p"), "not empty");
    b.delete_volume("vs-p", "v.ign").expect("delete volume");
    assert_eq!(b.volume("vs-p", "v.ign").expect("get"), None);
    assert_not_found(b.delete_volume("vs-p", "v.ign"));
    b.delete_volume("vs-p", "vs.marker").expect("delete marker");
    b.delete_pool("vs-p").expect("delete pool");
    assert_eq!(b.pool("vs-p").expect("get"), None);
    assert_not_found(b.delete_pool("vs-p"));
}

fn network_with_dhcp_host(b: &dyn Backend) {
    b.create_network(NETWORK_XML).expect("create network");
    let n = b.network("vs-net").expect("get").expect("created");
    assert!(n.active);
    assert!(!n.xml.contains("52:54:00:12:34:56"));
    assert_refused(b.create_network(NETWORK_XML), "already exists");

    b.add_dhcp_host("vs-net", DHCP_HOST).expect("add dhcp host");
    let n = b.network("vs-net").expect("get").expect("exists");
    assert!(n.active, "an update does not restart the network");
    assert!(n.xml.contains(DHCP_HOST), "{}", n.xml);
    assert_refused(
        b.add_dhcp_host("vs-net", DHCP_HOST),
        "existing dhcp host entry",
    );

    b.delete_network("vs-net").expect("delete network");
    assert_eq!(b.network("vs-net").expect("get"), None);
    assert_not_found(b.delete_network("vs-net"));
}

#[test]
fn scenario_on_the_test_driver() {
    let _g = lock();
    let b = connect();
    assert_eq!(b.uri(), URI);
    let can = Can {
        upload_and_resize: false,
    };
    scenario(&b, can);
}

#[test]
fn scenario_on_the_fake() {
    let can = Can {
        upload_and_resize: true,
    };
    scenario(&FakeBackend::new(), can);
}

#[test]
fn fake_uploads_land() {
    let b = FakeBackend::new();
    b.create_pool(&pool_xml("p", "/p"), MARKER).expect("pool");
    b.create_volume("p", &volume_xml("v", 4)).expect("volume");
    b.upload_volume("p", "v", b"data").expect("upload");
    let uploads = b.state().uploads;
    assert_eq!(uploads[&("p".into(), "v".into())], b"data");
}

#[test]
fn preloaded_objects_are_seen() {
    let _g = lock();
    let b = connect();
    let d = b.domain("test").expect("get").expect("preloaded domain");
    assert!(d.running);
    assert!(d.xml.contains("<name>test</name>"));
    assert_eq!(b.domains().expect("list"), ["test"]);
    let p = b
        .pool("default-pool")
        .expect("get")
        .expect("preloaded pool");
    assert!(p.active);
    assert_eq!(p.path, std::path::Path::new("/default-pool"));
    let n = b
        .network("default")
        .expect("get")
        .expect("preloaded network");
    assert!(n.xml.contains("<dhcp>"));

    // a reservation on a network that exists before virtstrap
    let host = "<host mac='52:54:00:00:00:09' name='x' ip='192.168.122.9'/>";
    b.add_dhcp_host("default", host).expect("add dhcp host");
    let n = b.network("default").expect("get").expect("exists");
    assert!(n.xml.contains(host), "{}", n.xml);
}

#[test]
fn state_is_shared_while_open_and_fresh_after() {
    let _g = lock();
    let a = connect();
    a.define_domain(&domain_xml("vs-shared", 64))
        .expect("define");
    let b = connect();
    assert!(b.domain("vs-shared").expect("get").is_some(), "shared");
    drop(a);
    drop(b);
    let c = connect();
    assert_eq!(c.domain("vs-shared").expect("get"), None, "fresh");
    assert!(c.domain("test").expect("get").is_some(), "preloaded again");
}

#[test]
fn errors_carry_libvirts_message() {
    let _g = lock();
    let b = connect();
    // the same refusal straight from the bindings, for its wording
    let conn = virt::connect::Connect::open(Some(URI)).expect("open");
    let dom = conn.lookup_domain_by_name("test").expect("preloaded");
    let direct = dom.create().expect_err("already running");

    let e = b.start_domain("test").expect_err("already running");
    assert_eq!(
        e,
        BackendError::Libvirt {
            op: "start domain".into(),
            object: "test".into(),
            message: direct.message().into(),
        }
    );
    assert_eq!(
        e.to_string(),
        format!("start domain test: {}", direct.message()),
        "the operation and object said once, not `start domain domain test`"
    );

    // XML libvirt rejects: its words, not ours
    let e = b.define_domain("<domain type='kvm'><name>vs-kvm</name></domain>");
    let Err(BackendError::Libvirt { op, message, .. }) = e else {
        panic!("expected a refusal, got {e:?}");
    };
    assert_eq!(op, "define domain");
    assert!(!message.is_empty());
    assert!(!message.contains("no such object"), "{message}");
}

#[test]
fn redefine_keeps_the_uuid() {
    let _g = lock();
    let b = connect();
    b.define_domain(&domain_xml("vs-uuid", 64)).expect("define");
    let before = b.domain("vs-uuid").expect("get").expect("defined").xml;
    // no <uuid> in the new XML: libvirt alone would refuse ("already
    // exists with uuid ...")
    b.define_domain(&domain_xml("vs-uuid", 96))
        .expect("redefine");
    let after = b.domain("vs-uuid").expect("get").expect("defined").xml;
    let uuid = |xml: &str| {
        let start = xml.find("<uuid>").expect("uuid") + "<uuid>".len();
        xml[start..start + 36].to_string()
    };
    assert_eq!(uuid(&before), uuid(&after));
    assert!(after.contains("98304"), "memory changed: {after}");
    b.undefine_domain("vs-uuid").expect("undefine");
}

#[test]
fn connect_none_honours_libvirt_default_uri() {
    let _g = lock();
    std::env::set_var("LIBVIRT_DEFAULT_URI", URI);
    let b = LibvirtBackend::connect(None);
    std::env::remove_var("LIBVIRT_DEFAULT_URI");
    assert_eq!(b.expect("default URI opens").uri(), URI);
}

#[test]
fn a_bad_uri_is_a_libvirt_error() {
    let e = LibvirtBackend::connect(Some("nosuchdriver:///x")).expect_err("bad uri");
    let BackendError::Libvirt {
        op,
        object,
        message,
    } = e
    else {
        panic!("expected a libvirt error, got {e:?}");
    };
    assert_eq!(
        (op.as_str(), object.as_str()),
        ("connect", "nosuchdriver:///x")
    );
    assert!(!message.is_empty());
}

#[test]
fn threads_share_one_connection() {
    let _g = lock();
    let b = connect();
    std::thread::scope(|s| {
        for i in 0..4 {
            let b = &b;
            s.spawn(move || {
                let name = format!("vs-thread{i}");
                b.define_domain(&domain_xml(&name, 64)).expect("define");
                b.start_domain(&name).expect("start");
                b.stop_domain(&name).expect("stop");
                b.undefine_domain(&name).expect("undefine");
            });
        }
    });
    assert_eq!(b.domains().expect("list"), ["test"]);
}
