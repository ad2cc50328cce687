//! Integration tests: one binary (fast to link), one module per area.

mod client;
mod faults;
mod fixtures;
mod sandbox_cli;
mod secrets;
mod support;
