//! cardmint issues prepaid calling cards on the voipinfocenter reseller platform.
//!
//! The map of the crate (see `DESIGN.md` for the whole pipeline):
//!
//! | module | owns |
//! | --- | --- |
//! | [`config`] | credentials and settings from the environment and `cardmint.toml`; `Secret` |
//! | [`api`] | the typed platform client: one method per remote command, `ApiError` |
//! | [`sandbox`] | a local server that behaves like the platform, for tests and demos |
//! | `cli` | the command line: parsing, exit codes, printing results |
//! | [`error`] | the top-level error wrapping each module's own |
//! | [`ledger`] | batches, cards, intents, journal, movements and the stock (shops, sales) |
//! | [`money`] | every movement of credit between cards (redeem, replace), as claims and steps |
//! | [`runner`] | the one runner of every request: throttle, intents, settle on evidence |
//! | [`report`] | the stock and the money across batches: tables, CSV, XLSX, HTML with SVG charts |
//! | [`lockfile`] | exclusive OS locks with a named holder (one writer per ledger) |

pub mod api;
pub mod atomic;
mod cli;
pub mod clock;
pub mod codes;
pub mod config;
pub mod error;
pub mod import;
pub mod ledger;
pub mod lifecycle;
pub mod lockfile;
pub mod manifest;
pub mod money;
pub mod portal;
pub mod provision;
pub mod render;
pub mod report;
pub mod runner;
pub mod sandbox;
pub mod text;

pub use cli::run;
