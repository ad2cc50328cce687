//! The platform simulator: a local HTTP server that answers like the reseller platform, for
//! tests and demos, with fault injection and test-only endpoints.
//!
//! It shares no XML code with the client (`api`): its answers come from its own writer, so a
//! misreading of the protocol cannot hide behind common code.

mod faults;
mod platform;
mod server;
mod state;
mod world;
mod xml;

pub use faults::{Fault, parse_commands as parse_fault_commands};
pub use server::{API_PATH, Sandbox, SandboxError, SandboxOptions, Stats, SyntheticCalls};
pub use state::{Call, Customer, State, StoreError, TransactionRecord};
pub use world::Usage;
