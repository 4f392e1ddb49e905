//! Spec -> the exact libvirt objects and Ignition configs, the second
//! step of spec -> render -> plan -> apply. Pure: a [`crate::spec::Cluster`]
//! and facts about the host in, XML and JSON text out.

pub mod addr;
pub mod domain;
pub mod host;
pub mod ignition;
pub mod network;
pub mod owner;
pub mod storage;
#[cfg(test)]
pub(crate) mod testutil;
pub(crate) mod xml;
