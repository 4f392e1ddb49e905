//! Fuzz target `spec`: the cluster-spec loader, `virtstrap::spec::load_str`,
//! and the Butane translator on the same structured YAML.
//!
//! The first byte picks the input: raw UTF-8 text for the spec loader, or
//! a [`shape::Shape`] (deep nesting, anchors and aliases, long keys) read
//! from the rest with `arbitrary` and written as YAML into a cluster spec
//! (`nodes:`) and into a Butane config (`storage:`). Neither may panic,
//! overflow the stack, hang or blow up memory.
#![no_main]

#[path = "shape.rs"]
mod shape;

use std::path::Path;

use libfuzzer_sys::arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use virtstrap::spec::{load_str, LoadOptions};

const SPEC: &str = "name: fuzz\nnodes:";
const BUTANE: &str = "variant: fcos\nversion: 1.5.0\nstorage:";

fn spec(text: &str) {
    let _ = load_str(text, Path::new("/nonexistent/cluster.yaml"), &LoadOptions::default());
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        if let Ok(text) = std::str::from_utf8(rest) {
            spec(text);
        }
        return;
    }
    let Ok(shape) = shape::Shape::arbitrary(&mut Unstructured::new(rest)) else {
        return;
    };
    spec(&shape::render(SPEC, &shape));
    let bu = shape::render(BUTANE, &shape);
    let _ = virtstrap_butane::translate(bu.as_bytes(), &Default::default());
});
