//! The resume logic against a tiny HTTP server on 127.0.0.1 in a thread:
//! it serves one file, honours (or ignores) `Range`, can cut its first
//! answer after N bytes, and records the Range of every request.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use super::*;
use crate::image::source::Algo;

#[derive(Default)]
struct Seen {
    ranges: Vec<Option<String>>,
}

/// Serve `data` for `requests` requests; cut the first after `cut` bytes.
fn serve(
    data: Vec<u8>,
    cut: Option<usize>,
    honour_range: bool,
    requests: usize,
) -> (String, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://{}/img.qcow2.xz",
        listener.local_addr().expect("addr")
    );
    let seen = Arc::new(Mutex::new(Seen::default()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for (i, conn) in listener.incoming().take(requests).enumerate() {
            let Ok(mut conn) = conn else { return };
            let mut range = None;
            let mut reader = BufReader::new(conn.try_clone().expect("clone"));
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    range = Some(v.trim().trim_end_matches('-').to_string());
                }
            }
            log.lock().expect("lock").ranges.push(range.clone());
            let start: usize = match (&range, honour_range) {
                (Some(r), true) => r.parse().expect("start"),
                _ => 0,
            };
            let body = data.get(start..).unwrap_or_default();
            let status = if start > 0 {
                "206 Partial Content"
            } else {
                "200 OK"
            };
            let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
            if start > 0 {
                head += &format!(
                    "Content-Range: bytes {start}-{}/{}\r\n",
                    data.len() - 1,
                    data.len()
                );
            }
            head += "Connection: close\r\n\r\n";
            let _ = conn.write_all(head.as_bytes());
            let n = if i == 0 {
                cut.unwrap_or(body.len()).min(body.len())
            } else {
                body.len()
            };
            let _ = conn.write_all(body.get(..n).unwrap_or_default());
        }
    });
    (url, seen)
}

fn sample() -> Vec<u8> {
    (0..300_000u32).map(|i| (i % 251) as u8).collect()
}

fn digest(data: &[u8]) -> Digest {
    let mut h = Hasher::new(Algo::Sha256);
    h.update(data);
    Digest::parse(Algo::Sha256, &h.finish()).expect("hex")
}

fn quiet() -> Fetcher {
    let mut f = Fetcher::new();
    f.quiet = true;
    f.backoff = Duration::from_millis(1);
    f
}

#[test]
fn a_cut_download_resumes_with_range_from_the_cut() {
    let data = sample();
    let (url, seen) = serve(data.clone(), Some(100_000), true, 2);
    let dir = tempfile::tempdir().expect("tempdir");
    let got = quiet()
        .to_cache(&url, &digest(&data), dir.path(), "img.qcow2.xz")
        .expect("resumed");
    assert!(got.downloaded);
    assert_eq!(std::fs::read(&got.path).expect("read"), data);
    let ranges = seen.lock().expect("lock").ranges.clone();
    assert_eq!(ranges, vec![None, Some("100000".to_string())]);
}

#[test]
fn a_server_that_ignores_range_restarts_from_zero() {
    let data = sample();
    let (url, seen) = serve(data.clone(), Some(100_000), false, 2);
    let dir = tempfile::tempdir().expect("tempdir");
    let got = quiet()
        .to_cache(&url, &digest(&data), dir.path(), "x.xz")
        .expect("restarted");
    assert_eq!(std::fs::read(&got.path).expect("read"), data);
    assert_eq!(seen.lock().expect("lock").ranges.len(), 2);
}

#[test]
fn a_part_left_by_an_earlier_run_is_resumed() {
    let data = sample();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = digest(&data);
    let name = format!("sha256-{}-x.xz", d.hex);
    std::fs::write(dir.path().join(format!("{name}.part")), &data[..123_456]).expect("part");
    let (url, seen) = serve(data.clone(), None, true, 1);
    let got = quiet()
        .to_cache(&url, &d, dir.path(), "x.xz")
        .expect("resumed");
    assert_eq!(got.path, dir.path().join(&name));
    assert_eq!(std::fs::read(&got.path).expect("read"), data);
    assert_eq!(
        seen.lock().expect("lock").ranges,
        vec![Some("123456".to_string())]
    );
}

#[test]
fn a_wrong_digest_keeps_nothing_and_a_cached_file_needs_no_request() {
    let data = sample();
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, _) = serve(data.clone(), None, true, 1);
    let wrong = digest(b"other");
    let e = quiet()
        .to_cache(&url, &wrong, dir.path(), "x.xz")
        .expect_err("mismatch");
    assert!(e.to_string().contains("sha256 mismatch"), "{e}");
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("ls").count(),
        0,
        "no .part kept"
    );
    // a file under its final name is whole and verified: no request (the
    // URL answers nothing)
    let d = digest(&data);
    std::fs::write(dir.path().join(format!("sha256-{}-x.xz", d.hex)), &data).expect("cached");
    let got = quiet()
        .to_cache("http://127.0.0.1:9/none", &d, dir.path(), "x.xz")
        .expect("cached");
    assert!(!got.downloaded);
}

#[test]
fn a_damaged_cached_file_is_fetched_again() {
    let data = sample();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = digest(&data);
    let cached = dir.path().join(format!("sha256-{}-x.xz", d.hex));
    std::fs::write(&cached, &data[..1000]).expect("damaged");
    let (url, seen) = serve(data.clone(), None, true, 1);
    let got = quiet()
        .to_cache(&url, &d, dir.path(), "x.xz")
        .expect("fetched");
    assert!(got.downloaded);
    assert_eq!(std::fs::read(&cached).expect("read"), data);
    assert_eq!(seen.lock().expect("lock").ranges, vec![None]);
}

#[test]
fn content_range_start_is_read() {
    assert_eq!(parse_range_start("bytes 100-199/200"), Some(100));
    assert_eq!(parse_range_start("bytes */200"), None);
}

#[test]
fn a_stopped_download_keeps_its_part_for_the_next_run() {
    let data = sample();
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, _) = serve(data.clone(), None, true, 1);
    let f = quiet();
    f.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let e = f
        .to_cache(&url, &digest(&data), dir.path(), "x.xz")
        .expect_err("stopped");
    assert!(e.to_string().contains("interrupted at byte 0"), "{e}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.len() == 1 && left[0].ends_with(".part"), "{left:?}");
}
