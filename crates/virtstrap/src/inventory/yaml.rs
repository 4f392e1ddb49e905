//! The YAML inventory (`hosts.yaml`), in the shape Ansible's `yaml`
//! inventory plugin reads: `all: { hosts: {...}, children: {...} }`,
//! each group `{ hosts: { name: {} } }`. The structure is fixed and every
//! value a short string, so this small writer is all it needs; what it
//! must get right is quoting, because Ansible reads YAML 1.1, where a
//! node named `no` or `on` is a boolean and one named `1000` a number
//! unless it is quoted.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use super::{Group, Inventory, GROUPS, K8S_CLUSTER, K8S_CLUSTER_CHILDREN};

/// The YAML inventory of `inv`.
pub(super) fn write(inv: &Inventory) -> String {
    let mut out = String::new();
    for line in inv.header() {
        let _ = writeln!(out, "# {line}");
    }
    out.push_str("all:\n  hosts:\n");
    for host in &inv.hosts {
        let vars = host.vars();
        if vars.is_empty() {
            line(&mut out, 4, &format!("{}: {{}}", scalar(&host.name)));
            continue;
        }
        line(&mut out, 4, &format!("{}:", scalar(&host.name)));
        for (key, value) in vars {
            line(&mut out, 6, &format!("{key}: {}", scalar(&value)));
        }
    }
    out.push_str("  children:\n");
    for group in GROUPS {
        group_hosts(&mut out, group.as_str(), inv.group(group));
    }
    line(&mut out, 4, &format!("{K8S_CLUSTER}:"));
    line(&mut out, 6, "children:");
    for child in K8S_CLUSTER_CHILDREN.map(Group::as_str) {
        line(&mut out, 8, &format!("{child}: {{}}"));
    }
    out
}

/// `name:` under `all.children`, with its hosts (`{}` when it has none).
fn group_hosts(out: &mut String, name: &str, hosts: &[String]) {
    if hosts.is_empty() {
        line(out, 4, &format!("{name}: {{}}"));
        return;
    }
    line(out, 4, &format!("{name}:"));
    line(out, 6, "hosts:");
    for h in hosts {
        line(out, 8, &format!("{}: {{}}", scalar(h)));
    }
}

fn line(out: &mut String, indent: usize, text: &str) {
    let _ = writeln!(out, "{:indent$}{text}", "");
}

/// Words YAML 1.1 reads as booleans or null when plain (compared
/// ignoring case, which quotes a few it would not: harmless).
const RESERVED: [&str; 11] = [
    "y", "n", "yes", "no", "true", "false", "on", "off", "null", "~", "",
];

/// `s` as a YAML scalar that reads back as the string `s`: plain when it
/// is safe (an IPv4 address, or a word of letters, digits and `._/-`
/// starting with a letter or `/` that YAML 1.1 gives no other meaning),
/// double-quoted otherwise.
pub(super) fn scalar(s: &str) -> String {
    let word = s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c))
        && !RESERVED.contains(&s.to_ascii_lowercase().as_str());
    if word || s.parse::<Ipv4Addr>().is_ok() {
        return s.to_string();
    }
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(q, "\\u{:04x}", u32::from(c));
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::scalar;

    #[test]
    fn scalars_yaml_would_read_as_something_else_are_quoted() {
        let cases = [
            ("cp1", "cp1"),
            ("worker-2", "worker-2"),
            ("192.168.150.10", "192.168.150.10"),
            ("/opt/bin/python", "/opt/bin/python"),
            ("no", "\"no\""),
            ("On", "\"On\""),
            ("null", "\"null\""),
            ("1000", "\"1000\""),
            ("2024-1-1", "\"2024-1-1\""),
            ("1e3", "\"1e3\""),
            ("0x1f", "\"0x1f\""),
            ("", "\"\""),
            ("a b", "\"a b\""),
            ("say \"hi\"\\", "\"say \\\"hi\\\"\\\\\""),
            ("tab\there", "\"tab\\u0009here\""),
        ];
        let bad: Vec<String> = cases
            .iter()
            .filter(|(s, want)| scalar(s) != *want)
            .map(|(s, want)| format!("{s:?}: got {}, want {want}", scalar(s)))
            .collect();
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }
}
