//! Fuzz target `butane`: arbitrary bytes -> `virtstrap_butane::translate`.
//!
//! Each input is translated twice: with no files-dir (all `local`
//! references refused) and with a files-dir pointing at an empty temporary
//! directory. Neither may panic, hang or blow up memory. When translation
//! succeeds, the compact JSON must parse with serde_json and, for Ignition
//! spec versions the `ignition-config` crate knows (<= 3.6.0), must be
//! accepted by `ignition_config::Config::parse_slice`.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use virtstrap_butane::{translate, Options};

fn empty_dir() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("virtstrap-butane-fuzz-")
            .tempdir()
            .expect("create empty files-dir")
    })
    .path()
    .to_path_buf()
}

/// Ignition versions `ignition-config` 0.6 parses: 3.0.0 ..= 3.6.0.
fn ignition_config_knows(version: &str) -> bool {
    let mut parts = version.split('.');
    let (Some(major), Some(minor), Some(patch), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Ok(major), Ok(minor), Ok(patch)) = (
        major.parse::<u32>(),
        minor.parse::<u32>(),
        patch.parse::<u32>(),
    ) else {
        return false; // e.g. "3.7.0-experimental"
    };
    (major, minor, patch) <= (3, 6, 0)
}

fn check(data: &[u8], opts: &Options) {
    let Ok(t) = translate(data, opts) else {
        return;
    };
    let json = t.to_json(false);
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&json) {
        panic!("to_json(false) is not valid JSON: {e}\njson: {json}");
    }
    let pretty = t.to_json(true);
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&pretty) {
        panic!("to_json(true) is not valid JSON: {e}\njson: {pretty}");
    }
    if ignition_config_knows(t.ignition_version) {
        if let Err(e) = ignition_config::Config::parse_slice(json.as_bytes()) {
            panic!(
                "ignition_config rejects output (ignition {}): {e}\njson: {json}",
                t.ignition_version
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(data, &Options::default());
    check(
        data,
        &Options {
            files_dir: Some(empty_dir()),
            ..Options::default()
        },
    );
});
