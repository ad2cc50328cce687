//! Integration tests: one binary (fast to link), one module per area.

mod backup;
mod batch_cli;
mod browser;
mod client;
mod csv_files;
mod engine;
mod faults;
mod fixtures;
mod issue;
mod lifecycle;
mod pdf;
mod portal;
mod protocol;
mod readme;
mod render;
mod sandbox_cli;
mod secrets;
mod separations;
mod shaping;
mod stock;
mod support;
mod upgrade;
