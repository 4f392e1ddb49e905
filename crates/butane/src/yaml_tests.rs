//! Unit tests of the YAML layer: positions, duplicate keys, tabs, and the
//! limits on depth, aliases and mapping size.

use super::*;

fn scalar(n: &Node) -> &str {
    match &n.kind {
        NodeKind::Scalar { value, .. } => value,
        _ => panic!("not a scalar: {n:?}"),
    }
}

#[test]
fn marks_are_one_based() {
    let n = parse("a: 1\nbb:\n  - x\n")
        .expect("valid")
        .expect("non-empty");
    let NodeKind::Map(entries) = &n.kind else {
        panic!("map")
    };
    assert_eq!(entries[0].0.mark, Mark { line: 1, col: 1 });
    assert_eq!(entries[0].1.mark, Mark { line: 1, col: 4 });
    let NodeKind::Seq(items) = &entries[1].1.kind else {
        panic!("seq")
    };
    assert_eq!(scalar(&items[0]), "x");
    assert_eq!(items[0].mark, Mark { line: 3, col: 5 });
}

#[test]
fn duplicate_keys_are_errors() {
    let e = parse("a: 1\nb: 2\na: 3\n").expect_err("duplicate");
    assert_eq!(e.mark.line, 3);
    assert!(e.message.contains("already defined at line 1"), "{e}");
}

#[test]
fn tabs_in_indentation_are_errors() {
    assert!(parse("a:\n\tb: 1\n").is_err());
}

#[test]
fn empty_input_is_none() {
    assert_eq!(parse("").expect("ok"), None);
    assert_eq!(parse("# only a comment\n").expect("ok"), None);
}

#[test]
fn aliases_expand() {
    let n = parse("a: &x {k: v}\nb: *x\n").expect("ok").expect("doc");
    let NodeKind::Map(entries) = &n.kind else {
        panic!("map")
    };
    assert!(matches!(entries[1].1.kind, NodeKind::Map(_)));
}

#[test]
fn alias_bombs_are_refused() {
    let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let p = i - 1;
        src.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    assert!(parse(&src).is_err());
}

#[test]
fn quoted_scalars_are_not_plain() {
    let n = parse("a: '0644'\n").expect("ok").expect("doc");
    let NodeKind::Map(entries) = &n.kind else {
        panic!("map")
    };
    assert!(matches!(
        entries[0].1.kind,
        NodeKind::Scalar { plain: false, .. }
    ));
}

/// Refused nesting, any form: (what, source, message part, line, col).
#[test]
fn deep_nesting_is_refused_with_a_position() {
    let block = |n: usize| format!("a:\n{}x\n", "- ".repeat(n));
    let flow = |n: usize| format!("a: {}{}\n", "[".repeat(n), "]".repeat(n));
    let maps = |n: usize| format!("a: {}1{}\n", "{b: ".repeat(n), "}".repeat(n));
    let blockmap = |n: usize| {
        let mut s = String::new();
        for i in 0..n {
            s.push_str(&" ".repeat(i));
            s.push_str("k:\n");
        }
        s
    };
    let alias = {
        let mut s = format!("a: &a {}x{}\n", "[".repeat(200), "]".repeat(200));
        s.push_str(&format!("b: {}*a{}\n", "[".repeat(100), "]".repeat(100)));
        s
    };
    let cases: Vec<(&str, String, Mark)> = vec![
        (
            "block list 20000",
            block(20_000),
            Mark { line: 2, col: 511 },
        ),
        (
            "block list 100000",
            block(100_000),
            Mark { line: 2, col: 511 },
        ),
        (
            "flow list 100000",
            flow(100_000),
            Mark { line: 1, col: 259 },
        ),
        (
            "flow map 100000",
            maps(100_000),
            Mark { line: 1, col: 1024 },
        ),
        (
            "block map 20000",
            blockmap(20_000),
            Mark {
                line: 257,
                col: 257,
            },
        ),
        ("alias deeper than it", alias, Mark { line: 2, col: 104 }),
    ];
    for (what, src, at) in cases {
        let t = std::time::Instant::now();
        let e = parse(&src).expect_err(what);
        assert!(e.message.contains("nested too deeply"), "{what}: {e}");
        assert_eq!(e.mark, at, "{what}: {e}");
        assert!(t.elapsed().as_secs() < 5, "{what}: {:?}", t.elapsed());
    }
    // just within the bound: accepted
    assert!(parse(&block(MAX_DEPTH - 2)).is_ok());
    assert!(parse(&flow(MAX_DEPTH - 1)).is_ok());
}

/// Alias expansion is bounded in bytes: (what, source).
#[test]
fn alias_amplification_is_refused_in_bytes() {
    let laughs = {
        let mut s = format!("l0: &l0 \"{}\"\n", "a".repeat(100 * 1024));
        for i in 1..6 {
            let p = i - 1;
            let items = vec![format!("*l{p}"); 10].join(", ");
            s.push_str(&format!("l{i}: &l{i} [{items}]\n"));
        }
        s
    };
    let shared = {
        let mut s = format!("f0: &c {{inline: \"{}\"}}\n", "a".repeat(1 << 20));
        for i in 1..3000 {
            s.push_str(&format!("f{i}: *c\n"));
        }
        s
    };
    let nested_anchors = {
        let mut s = String::from("a: ");
        for i in 0..200 {
            s.push_str(&format!("&n{i} ["));
        }
        s.push_str(&format!("\"{}\"", "b".repeat(1 << 20)));
        s.push_str(&"]".repeat(200));
        s
    };
    let cases = [
        ("102 KB billion laughs", laughs),
        ("3000 aliases of 1 MiB", shared),
        ("200 nested anchors of 1 MiB", nested_anchors),
    ];
    for (what, src) in cases {
        let t = std::time::Instant::now();
        let e = parse(&src).expect_err(what);
        assert!(e.message.contains("32 MiB"), "{what}: {e}");
        assert!(t.elapsed().as_secs() < 5, "{what}: {:?}", t.elapsed());
    }
    // sharing within the bound stays allowed
    let ok = format!(
        "a: &c {{inline: \"{}\"}}\nb: *c\nc: *c\n",
        "a".repeat(1 << 20)
    );
    assert!(parse(&ok).is_ok());
}

/// Large mappings: duplicate keys found in linear time.
#[test]
fn large_mappings_load_in_linear_time() {
    let keys = |n: usize, dup: bool| {
        let mut s: String = (0..n).map(|i| format!("k{i}: 1\n")).collect();
        if dup {
            s.push_str("k7: 2\n");
        }
        s
    };
    let flow = format!(
        "{{{}}}",
        (0..200_000)
            .map(|i| format!("k{i}: 1"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let cases: [(&str, String, Option<usize>); 4] = [
        ("200000 keys", keys(200_000, false), None),
        (
            "200000 keys, last a duplicate",
            keys(200_000, true),
            Some(200_001),
        ),
        ("200000 keys in a flow mapping", flow, None),
        ("16 keys, last a duplicate", keys(15, true), Some(16)),
    ];
    for (what, src, dup_line) in cases {
        let t = std::time::Instant::now();
        let got = parse(&src);
        match dup_line {
            None => assert!(got.is_ok(), "{what}: {got:?}"),
            Some(line) => {
                let e = got.expect_err(what);
                assert!(
                    e.message.contains("already defined at line 8"),
                    "{what}: {e}"
                );
                assert_eq!(e.mark.line, line, "{what}");
            }
        }
        // debug builds are slower; the release binary takes ~0.1 s
        assert!(t.elapsed().as_secs() < 5, "{what}: {:?}", t.elapsed());
    }
}
