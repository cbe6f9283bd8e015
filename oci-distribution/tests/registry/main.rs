//! Integration tests of the registry client against the real CNCF
//! Distribution registry (Debian's `docker-registry`), skopeo, and a
//! fault-injecting server for what a real registry will not do.

mod artifact;
mod auth;
mod fault;
mod harness;
mod real;
