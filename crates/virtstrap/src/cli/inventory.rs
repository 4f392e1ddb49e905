//! `virtstrap inventory`: the Ansible inventory kubespray reads, for the
//! spec's nodes. Loads the spec, gets each node's address (reserved in
//! the spec with `--planned`; from the host otherwise, in
//! [`discovered_addresses`]), hands both to the pure
//! [`crate::inventory`] core, and writes what it returns.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Args as ClapArgs, ValueEnum};

use crate::fleet::Fleet;
use crate::inventory::{self, Addresses, Format, Inventory, GROUPS};
use crate::render::domain::DomainOptions;
use crate::render::ignition::ButaneSet;
use crate::session::{resolve_uri, Session};
use crate::spec::{self, Cluster, LoadOptions, SpecError};
use crate::wait::discover::addresses;

use super::spec_args::SpecArgs;

/// Write the Ansible inventory kubespray reads, for the spec's nodes
///
/// Every node is a host, in kubespray's groups: kube_control_plane (role
/// control-plane), kube_node (role worker; a node without a role is a
/// worker), etcd (the nodes with role etcd or, if none has it, the
/// control-plane nodes) and k8s_cluster (those two groups). A node with
/// `roles: []` is in no group. Each host gets ansible_host, ip and
/// access_ip (its address on its first network), ansible_user (the OS's
/// default user, core) and, on etcd members, etcd_member_name (etcd1,
/// etcd2, ...). kubespray refuses an even number of etcd members: a warning
/// says so.
///
/// --planned takes the addresses the spec reserves (fixed `ip:`s, and the
/// DHCP reservations on networks the spec declares with a cidr) and
/// contacts no host. A node whose first network has none is listed
/// without ansible_host, ip and access_ip, with a warning. Without
/// --planned the addresses come from the host: the one each node was
/// found at (DHCP lease, ARP table, guest agent), else its reservation.
///
/// Formats: kubespray, a YAML hosts.yaml; ini, shaped like kubespray's
/// sample inventory.ini; json, what `ansible-inventory --list` prints
/// (for a dynamic inventory script, or jq).
///
/// Examples:
///   virtstrap inventory --planned -o inventory/mycluster/hosts.yaml
///   ansible-playbook -i inventory/mycluster/hosts.yaml -b cluster.yml
///   virtstrap inventory --planned --format ini -f examples/demo/cluster.yaml
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    spec: SpecArgs,
    /// How to write it
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "kubespray")]
    format: FormatArg,
    /// Write to FILE (replaced atomically) instead of standard output
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Use the addresses the spec reserves; contact no host
    #[arg(long)]
    planned: bool,
    /// libvirt URI, without --planned (default: LIBVIRT_DEFAULT_URI, then
    /// the spec's connect:, then qemu:///system)
    #[arg(short, long, value_name = "URI")]
    connect: Option<String>,
}

impl Args {
    /// Whether the command reads the host (runs in `virtstrap-host`).
    pub fn needs_host(&self) -> bool {
        !self.planned
    }
}

/// `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    /// YAML (hosts.yaml): all.hosts and all.children
    Kubespray,
    /// INI, like kubespray's sample inventory.ini
    Ini,
    /// JSON, as `ansible-inventory --list` prints it
    Json,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Kubespray => Format::Kubespray,
            FormatArg::Ini => Format::Ini,
            FormatArg::Json => Format::Json,
        }
    }
}

/// How the host's addresses are found: [`discovered_addresses`] in
/// `virtstrap-host`; `virtstrap`, which does not link libvirt, hands the
/// command over instead (see [`Args::needs_host`]).
pub type Discover = dyn Fn(&Cluster, Option<&str>) -> Result<Found>;

/// What discovery found: each node's address, and (over several hosts)
/// each node's host.
pub type Found = (Addresses, BTreeMap<String, String>);

/// Without libvirt: what `virtstrap` itself would run, were the command
/// not handed over.
pub fn no_host(_: &Cluster, _: Option<&str>) -> Result<Found> {
    anyhow::bail!("without --planned, inventory reads the host: run it through virtstrap-host")
}

/// Run the command.
pub fn run_with(args: &Args, discover: &Discover) -> Result<()> {
    let cluster = load_spec(&args.spec)?;
    let (addresses, placed) = if args.planned {
        (inventory::planned_addresses(&cluster), BTreeMap::new())
    } else {
        discover(&cluster, args.connect.as_deref())?
    };
    let mut inv = inventory::build(&cluster, &addresses);
    inventory::place(&mut inv, &placed);
    warn(&cluster, &inv, args.planned);
    let text = inv.to_text(args.format.into());
    let Some(path) = &args.output else {
        let mut out = std::io::stdout().lock();
        return out
            .write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .context("writing the inventory to standard output");
    };
    crate::fsutil::write_atomic(path, text.as_bytes(), 0o644)
        .with_context(|| format!("writing {}", path.display()))?;
    println!("{}", written(path, args.format, &inv));
    Ok(())
}

/// The spec alone: an inventory needs no Butane, so none is translated
/// (`validate` checks those).
fn load_spec(args: &SpecArgs) -> Result<Cluster, SpecError> {
    let opts = LoadOptions {
        extra_butane: args.butane.clone(),
        name: args.name.clone(),
    };
    spec::load(&args.file, &opts)
}

/// Each node's address on its first network as the host has it: found
/// (DHCP lease, ARP table, guest agent), else reserved for it.
pub fn discovered_addresses(cluster: &Cluster, connect: Option<&str>) -> Result<Found> {
    if !cluster.hosts.is_empty() {
        return discovered_over_hosts(cluster);
    }
    let env = std::env::var("LIBVIRT_DEFAULT_URI").ok();
    let uri = resolve_uri(connect, env.as_deref(), cluster.connect.as_deref());
    let s = Session::open(
        cluster.clone(),
        ButaneSet::default(),
        &uri,
        DomainOptions::default(),
    )?;
    let found = addresses(&s.backend, &s.cluster)?;
    let addresses = found
        .into_iter()
        .map(|a| (a.node.clone(), a.best()))
        .collect();
    Ok((addresses, BTreeMap::new()))
}

/// [`discovered_addresses`] on every host of a cluster over several: a
/// host that does not answer is an error (its nodes' addresses are not
/// known).
fn discovered_over_hosts(cluster: &Cluster) -> Result<Found> {
    let opts = DomainOptions::default();
    let fleet = Fleet::open(cluster, &ButaneSet::default(), opts, false, false)?;
    let mut addrs = Addresses::new();
    let mut placed = BTreeMap::new();
    for m in &fleet.members {
        let s = &m.session;
        let found = addresses(&s.backend, &s.cluster)
            .map_err(|e| anyhow::anyhow!(e).context(format!("host {}", m.name)))?;
        for a in found {
            placed.insert(a.node.clone(), m.name.clone());
            addrs.insert(a.node.clone(), a.best());
        }
    }
    Ok((addrs, placed))
}

/// Warn, on stderr, of hosts without an address and of an etcd group
/// kubespray would refuse.
fn warn(cluster: &Cluster, inv: &Inventory, planned: bool) {
    for name in inv.unaddressed() {
        let why = if planned {
            no_planned_address(cluster, name)
        } else {
            "it is not running, or its first NIC has no address yet (no lease, ARP \
             entry or guest agent answer) and none is reserved for it"
                .to_string()
        };
        eprintln!(
            "warning: no address for {name}: {why}\n  it is listed without ansible_host, \
             ip and access_ip, so Ansible will connect to the name {name}"
        );
    }
    if let Some(even) = inventory::even_etcd(cluster) {
        eprintln!("warning: {even}");
    }
}

/// Why the spec reserves no address for node `name`.
fn no_planned_address(cluster: &Cluster, name: &str) -> String {
    let first = cluster.node(name).and_then(|n| n.networks.first());
    let Some(nic) = first else {
        return "it has no network".into();
    };
    let net = &nic.network;
    match cluster.network(net) {
        None => format!("its first network, {net}, is not declared in the spec"),
        Some(n) if n.cidr.is_none() => {
            format!("its first network, {net}, has no cidr in the spec")
        }
        Some(_) => format!("the reservations of its first network, {net}, are used up"),
    }
}

/// What `-o` prints: where, in which format, and who is in each group.
fn written(path: &Path, format: FormatArg, inv: &Inventory) -> String {
    let format = format
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default();
    let mut out = format!(
        "wrote {} ({format}): {} host{}",
        path.display(),
        inv.hosts.len(),
        if inv.hosts.len() == 1 { "" } else { "s" }
    );
    for group in GROUPS {
        let members = inv.group(group);
        let list = if members.is_empty() {
            "(none)".to_string()
        } else {
            members.join(", ")
        };
        out.push_str(&format!("; {}: {list}", group.as_str()));
    }
    out
}
