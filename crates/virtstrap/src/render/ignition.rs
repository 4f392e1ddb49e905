//! Per-node Ignition: the cluster's Butane files, then the node's, merged
//! with Ignition's own merge rules, plus what only virtstrap knows.
