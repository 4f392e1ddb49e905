//! Grouping rules and host variables over small specs read from text
//! (the golden tests in `tests/inventory.rs` hold whole files).

use std::net::Ipv4Addr;
use std::path::Path;

use super::*;
use crate::spec::{self, LoadOptions};

/// A cluster whose `nodes:` list is `nodes` (one flow mapping a line),
/// every node on nat network `k8s` 10.0.0.0/24 unless it says otherwise.
fn cluster_with(extra: &str, nodes: &[&str]) -> Cluster {
    let nodes: String = nodes.iter().map(|n| format!("  - {n}\n")).collect();
    let text = format!(
        "name: t\n{extra}image: {{ pool: default, volume: b.qcow2 }}\n\
         defaults: {{ networks: [ k8s ] }}\nnodes:\n{nodes}\
         networks: [ {{ name: k8s, mode: nat, cidr: 10.0.0.0/24 }} ]\n"
    );
    spec::load_str(&text, Path::new("cluster.yaml"), &LoadOptions::default())
        .unwrap_or_else(|e| panic!("test spec loads: {e}\n{text}"))
}

fn cluster(nodes: &[&str]) -> Cluster {
    cluster_with("", nodes)
}

fn planned(nodes: &[&str]) -> Inventory {
    let c = cluster(nodes);
    build(&c, &planned_addresses(&c))
}

fn host<'a>(inv: &'a Inventory, name: &str) -> &'a Host {
    inv.hosts
        .iter()
        .find(|h| h.name == name)
        .unwrap_or_else(|| panic!("host {name} listed"))
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().expect("test IP")
}

#[test]
fn groups_follow_roles_in_spec_order() {
    // each row: nodes, then kube_control_plane, kube_node, etcd, ungrouped
    type Row<'a> = (&'a [&'a str], [&'a [&'a str]; 4]);
    let rows: [Row; 5] = [
        (
            &[
                "{ name: cp1, role: control-plane }",
                "{ name: w1 }",
                "{ name: w2, role: worker }",
            ],
            [&["cp1"], &["w1", "w2"], &["cp1"], &[]],
        ),
        (
            &[
                "{ name: a, roles: [ control-plane, worker ] }",
                "{ name: b, roles: [ worker ] }",
            ],
            [&["a"], &["a", "b"], &["a"], &[]],
        ),
        (
            &[
                "{ name: cp1, role: control-plane }",
                "{ name: e1, role: etcd }",
                "{ name: e2, role: etcd }",
                "{ name: e3, roles: [ etcd, worker ] }",
            ],
            [&["cp1"], &["e3"], &["e1", "e2", "e3"], &[]],
        ),
        (
            &[
                "{ name: c2, role: control-plane }",
                "{ name: c1, role: control-plane }",
            ],
            [&["c2", "c1"], &[], &["c2", "c1"], &[]],
        ),
        (
            &[
                "{ name: cp, role: control-plane }",
                "{ name: lb, roles: [] }",
            ],
            [&["cp"], &[], &["cp"], &["lb"]],
        ),
    ];
    for (nodes, [cp, node, etcd, none]) in rows {
        let inv = planned(nodes);
        let got = [
            inv.group(Group::KubeControlPlane).to_vec(),
            inv.group(Group::KubeNode).to_vec(),
            inv.group(Group::Etcd).to_vec(),
            inv.ungrouped().iter().map(|s| s.to_string()).collect(),
        ];
        let want: [Vec<String>; 4] =
            [cp, node, etcd, none].map(|g| g.iter().map(|s| s.to_string()).collect());
        assert_eq!(got, want, "nodes {nodes:?}");
        assert_eq!(inv.hosts.len(), nodes.len(), "every node listed: {nodes:?}");
    }
}

#[test]
fn etcd_is_the_control_plane_unless_some_node_has_role_etcd() {
    let stacked = cluster(&["{ name: cp1, role: control-plane }", "{ name: w }"]);
    let (from, members) = etcd_members(&stacked);
    assert_eq!(from, EtcdFrom::ControlPlane);
    assert_eq!(members.iter().map(|n| &n.name).collect::<Vec<_>>(), ["cp1"]);
    let own = cluster(&[
        "{ name: cp1, role: control-plane }",
        "{ name: e, role: etcd }",
    ]);
    assert_eq!(etcd_members(&own).0, EtcdFrom::Role);
    assert_eq!(build(&own, &Addresses::new()).etcd, ["e"]);
}

#[test]
fn etcd_member_names_count_etcd_members_in_order() {
    let inv = planned(&[
        "{ name: w, role: worker }",
        "{ name: e1, role: etcd }",
        "{ name: cp, role: control-plane }",
        "{ name: e2, role: etcd }",
        "{ name: e3, role: etcd }",
    ]);
    let names: Vec<_> = inv
        .hosts
        .iter()
        .map(|h| (h.name.as_str(), h.etcd_member_name.as_deref()))
        .collect();
    let want = [
        ("w", None),
        ("e1", Some("etcd1")),
        ("cp", None),
        ("e2", Some("etcd2")),
        ("e3", Some("etcd3")),
    ];
    assert_eq!(names, want);
}

#[test]
fn even_etcd_is_reported_with_its_members_and_what_to_do() {
    let cp = "role: control-plane";
    let two = cluster(&[
        &format!("{{ name: a, {cp} }}"),
        &format!("{{ name: b, {cp} }}"),
    ]);
    let w = even_etcd(&two).expect("two members are even");
    assert_eq!(
        (w.members.clone(), w.from),
        (vec!["a".into(), "b".into()], EtcdFrom::ControlPlane)
    );
    let text = w.to_string();
    assert!(
        text.contains("2 members (a, b: the control-plane nodes"),
        "{text}"
    );
    assert!(
        text.contains("add or remove a control-plane node"),
        "{text}"
    );

    let roles = cluster(&[
        "{ name: a, role: etcd }",
        "{ name: b, role: etcd }",
        "{ name: c, role: control-plane }",
    ]);
    let text = even_etcd(&roles).expect("two etcd nodes").to_string();
    assert!(text.contains("(a, b: the nodes with role etcd)"), "{text}");
    assert!(text.contains("give role etcd to one more node"), "{text}");

    let none = cluster(&["{ name: w }"]);
    let text = even_etcd(&none).expect("zero members are even").to_string();
    assert!(text.contains("would be empty"), "{text}");

    for odd in [1, 3] {
        let nodes: Vec<String> = (0..odd)
            .map(|i| format!("{{ name: c{i}, {cp} }}"))
            .collect();
        let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
        assert_eq!(even_etcd(&cluster(&nodes)), None, "{odd} members");
    }
}

#[test]
fn planned_addresses_are_the_first_nics_reservations() {
    let c = cluster(&[
        "{ name: cp1, role: control-plane, networks: [ { name: k8s, ip: 10.0.0.10 } ] }",
        "{ name: w1 }",
        "{ name: w2, networks: [ default, k8s ] }",
    ]);
    let want: Addresses = [
        ("cp1".to_string(), Some(ip("10.0.0.10"))),
        ("w1".to_string(), Some(ip("10.0.0.2"))),
        // first NIC on `default`, a network the spec does not declare
        ("w2".to_string(), None),
    ]
    .into();
    assert_eq!(planned_addresses(&c), want);
}

#[test]
fn a_node_without_an_address_is_listed_without_address_vars() {
    let c = cluster(&["{ name: cp1, role: control-plane }", "{ name: w1 }"]);
    let mut addrs = Addresses::new();
    addrs.insert("cp1".into(), Some(ip("10.0.0.2")));
    let inv = build(&c, &addrs);
    assert_eq!(inv.unaddressed(), ["w1"]);
    assert_eq!(inv.kube_node, ["w1"], "still in its group");
    let keys: Vec<_> = host(&inv, "w1")
        .vars()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, ["ansible_user"]);
    let keys: Vec<_> = host(&inv, "cp1")
        .vars()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let want = [
        "ansible_host",
        "ip",
        "access_ip",
        "etcd_member_name",
        "ansible_user",
    ];
    assert_eq!(keys, want);
    // a `None` in the map is the same as no entry
    addrs.insert("w1".into(), None);
    assert_eq!(build(&c, &addrs), inv);
    for format in [Format::Kubespray, Format::Ini] {
        let text = inv.to_text(format);
        assert!(text.contains("# No address known for w1:"), "{text}");
    }
}

#[test]
fn hosts_log_in_as_the_os_default_user_and_flatcar_gets_opt_bin() {
    let fcos = planned(&["{ name: a, role: control-plane }"]);
    assert_eq!(host(&fcos, "a").ansible_user, "core");
    assert!(host(&fcos, "a").os_vars.is_empty());
    let c = cluster_with("os: flatcar\n", &["{ name: a, role: control-plane }"]);
    let flatcar = build(&c, &planned_addresses(&c));
    let vars = host(&flatcar, "a").vars();
    assert!(vars.contains(&("ansible_user", "core".into())), "{vars:?}");
    assert!(vars.contains(&("ansible_python_interpreter", "/opt/bin/python".into())));
    assert!(vars.contains(&("bin_dir", "/opt/bin".into())), "{vars:?}");
}

#[test]
fn ini_writes_stacked_etcd_as_children_and_own_etcd_as_hosts() {
    let stacked = planned(&["{ name: cp1, role: control-plane }"]).to_text(Format::Ini);
    assert!(
        stacked.contains("\n[etcd:children]\nkube_control_plane\n"),
        "{stacked}"
    );
    assert!(!stacked.contains("[etcd]"), "{stacked}");
    let own = planned(&[
        "{ name: cp1, role: control-plane }",
        "{ name: e1, role: etcd }",
    ]);
    let own = own.to_text(Format::Ini);
    assert!(own.contains("\n[etcd]\ne1\n"), "{own}");
    assert!(!own.contains("[etcd:children]"), "{own}");
}

#[test]
fn yaml_quotes_node_names_yaml_would_read_as_booleans_or_numbers() {
    let inv = planned(&[
        "{ name: \"no\", role: control-plane }",
        "{ name: \"1000\" }",
    ]);
    let text = inv.to_text(Format::Kubespray);
    assert!(text.contains("\n    \"no\":\n"), "{text}");
    assert!(text.contains("\n        \"1000\": {}\n"), "{text}");
}

#[test]
fn json_lists_ungrouped_hosts_and_leaves_out_empty_groups() {
    let inv = planned(&["{ name: lb, roles: [] }"]);
    let v: serde_json::Value =
        serde_json::from_str(&inv.to_text(Format::Json)).expect("the JSON parses");
    assert_eq!(v["ungrouped"]["hosts"], serde_json::json!(["lb"]));
    assert!(v.get("kube_node").is_none(), "{v:#}");
    let top = serde_json::json!([
        "ungrouped",
        "kube_control_plane",
        "kube_node",
        "etcd",
        "k8s_cluster"
    ]);
    assert_eq!(v["all"]["children"], top);
    assert_eq!(v["_meta"]["hostvars"]["lb"]["ansible_host"], "10.0.0.2");
}
