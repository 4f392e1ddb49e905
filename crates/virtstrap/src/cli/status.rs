//! `virtstrap status`: each node as the host has it, and where it
//! differs from the spec.

use clap::Args as ClapArgs;
use serde_json::json;

use crate::spec::size::human;
use crate::status::{status, NodeStatus, Sizes};

use crate::fleet::{at_once, Fleet};
use crate::spec::Cluster;

use super::host::{Format, HostArgs, Opened};

/// Show each node as the host has it.
///
/// State, vCPUs, memory and root disk as libvirt reports them (the spec's
/// for a node not yet made), MAC, reserved IP, the address found (DHCP
/// lease, then ARP, then guest agent) and console log. Where the
/// host differs from the spec, the DRIFT column says how. Takes no lock
/// and changes nothing.
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    host: HostArgs,
    /// text, or json for programs
    #[arg(short, long, value_enum, default_value = "text")]
    output: Format,
}

/// Run the command.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let s = match args.host.open_any(true, false)? {
        Opened::One(s) => *s,
        Opened::Fleet(f) => return run_fleet(&f.0, &f.1, args.output),
    };
    let rows = status(&s.backend, &s.cluster, &s.host)?;
    if args.output == Format::Json {
        let nodes: Vec<_> = rows.iter().map(row_json).collect();
        let out = json!({ "cluster": s.cluster.name, "uri": s.uri, "nodes": nodes });
        println!("{out:#}");
        return Ok(());
    }
    print_table(&[], &rows);
    Ok(())
}

/// Every node on every host, in spec order, each with its host's name;
/// the nodes a host that did not answer may have are `unknown`, and the
/// command then fails naming that host.
fn run_fleet(cluster: &Cluster, fleet: &Fleet, format: Format) -> anyhow::Result<()> {
    let read = at_once(&fleet.members, |m| {
        let s = &m.session;
        status(&s.backend, &s.cluster, &s.host)
    });
    let mut by_node = std::collections::HashMap::new();
    for (m, rows) in fleet.members.iter().zip(read) {
        let rows = rows.map_err(|e| anyhow::anyhow!(e).context(format!("host {}", m.name)))?;
        for r in rows {
            by_node.insert(r.node.clone(), (m.name.clone(), r));
        }
    }
    let (hosts, rows): (Vec<String>, Vec<NodeStatus>) = cluster
        .nodes
        .iter()
        .map(|n| {
            by_node
                .remove(&n.name)
                .unwrap_or_else(|| ("-".into(), NodeStatus::unknown(cluster, n)))
        })
        .unzip();
    if format == Format::Json {
        let nodes: Vec<_> = rows
            .iter()
            .zip(&hosts)
            .map(|(r, h)| {
                let mut v = row_json(r);
                v["host_name"] = json!(h);
                v
            })
            .collect();
        let down: Vec<_> = fleet.down.iter().map(crate::fleet::Down::json).collect();
        println!(
            "{:#}",
            json!({ "cluster": cluster.name, "nodes": nodes, "down": down })
        );
    } else {
        print_table(&hosts, &rows);
    }
    super::fleet::unreached(fleet, "status")
}

fn sizes_json(s: &Sizes) -> serde_json::Value {
    json!({ "vcpus": s.vcpus, "memory_mib": s.memory_mib, "disk_bytes": s.disk_bytes })
}

fn row_json(r: &NodeStatus) -> serde_json::Value {
    let shown = r.shown();
    json!({
        "node": r.node,
        "domain": r.domain,
        "state": r.state,
        "vcpus": shown.vcpus,
        "memory_mib": shown.memory_mib,
        "disk": shown.disk_bytes.map(human),
        "host": sizes_json(&r.host),
        "spec": sizes_json(&r.spec),
        "drift": r.drift,
        "mac": r.mac,
        "ip": r.ip,
        "found": r.found.as_ref().map(|(ip, src)| json!({ "ip": ip, "source": src })),
        "console_log": r.console_log,
    })
}

/// Each row's cells, in the order of the table's headings.
fn cells(rows: &[NodeStatus]) -> Vec<[String; 10]> {
    rows.iter()
        .map(|r| {
            let shown = r.shown();
            let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
            [
                r.node.clone(),
                r.state.to_string(),
                or_dash(shown.vcpus.map(|v| v.to_string())),
                or_dash(shown.memory_mib.map(|m| format!("{m}MiB"))),
                or_dash(shown.disk_bytes.map(human)),
                or_dash(r.mac.clone()),
                or_dash(r.ip.clone()),
                or_dash(r.found.as_ref().map(|(ip, src)| format!("{ip} ({src})"))),
                r.console_log.clone(),
                if r.drift.is_empty() {
                    "-".into()
                } else {
                    r.drift.join(", ")
                },
            ]
        })
        .collect()
}

/// The table; with `hosts` (one per row), a HOST column after NODE.
fn print_table(hosts: &[String], rows: &[NodeStatus]) {
    let mut cells: Vec<Vec<String>> = cells(rows).into_iter().map(Vec::from).collect();
    let mut heads = vec![
        "NODE",
        "STATE",
        "VCPUS",
        "MEMORY",
        "DISK",
        "MAC",
        "IP",
        "FOUND",
        "CONSOLE LOG",
        "DRIFT",
    ];
    // VCPUS, MEMORY and DISK are numbers: right-aligned
    let mut right = vec![
        false, false, true, true, true, false, false, false, false, false,
    ];
    if !hosts.is_empty() {
        heads.insert(1, "HOST");
        right.insert(1, false);
        for (c, h) in cells.iter_mut().zip(hosts) {
            c.insert(1, h.clone());
        }
    }
    let width = |i: usize| {
        cells
            .iter()
            .map(|c| c[i].len())
            .chain([heads[i].len()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..heads.len()).map(width).collect();
    let line = |row: &[&str]| {
        let parts: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, v)| match right[i] {
                true => format!("{v:>w$}", w = widths[i]),
                false => format!("{v:<w$}", w = widths[i]),
            })
            .collect();
        println!("{}", parts.join(" ").trim_end());
    };
    line(&heads);
    for c in &cells {
        line(&c.iter().map(String::as_str).collect::<Vec<_>>());
    }
}
