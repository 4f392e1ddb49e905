//! virtstrap: one YAML file describes a cluster of VMs; the host is made
//! to match it. Data flows one way: [`spec`] (load and check) -> render
//! (libvirt XML, per-node Ignition) -> plan -> apply. Only the libvirt
//! backend touches a host; everything before it is pure.

pub mod apply;
pub mod cli;
pub mod fleet;
pub mod fsutil;
pub mod image;
pub mod inventory;
pub mod libvirt;
pub mod plan;
pub mod preflight;
pub mod render;
pub mod session;
pub mod spec;
pub mod ssh;
pub mod status;
pub mod wait;
pub mod xmltree;
