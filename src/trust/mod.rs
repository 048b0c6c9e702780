//! Trust targets: one file per store (docker, containerd, containers, buildkit, mesos, system).

pub(crate) mod source;
