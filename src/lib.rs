//! cardmint issues prepaid calling cards on the voipinfocenter reseller platform.
//!
//! The map of the crate (`docs/architecture.md` tells how the modules work together):
//!
//! | module | owns |
//! | --- | --- |
//! | [`config`] | the environment and `cardmint.toml`, read and checked once per command (`Config`); `Secret` |
//! | [`codes`] | access codes, serials with a check digit, passwords and their policy, CSPRNG draws |
//! | [`import`] | customer files (CSV as Excel saves them), every row validated; phone numbers |
//! | [`ledger`] | the SQLite ledger: batches, cards, intents, journal, movements, the stock; migrations, backup and restore |
//! | [`lockfile`] | exclusive OS locks with a named holder (one writer per ledger) |
//! | [`api`] | the typed platform client: one method per remote command, `ApiError` |
//! | [`clock`] | wall time, ours and the platform's (from its `Date` headers), and today's date |
//! | [`runner`] | the one runner of every request: throttle, intents, settle on evidence |
//! | [`provision`] | a batch's plan and the per-card job that creates, blocks, credits, numbers |
//! | [`batch`] | a batch from plan to sheets: its printing fixed at plan time, what is left, its outputs |
//! | [`money`] | every movement of credit between cards (redeem, replace), as claims and steps |
//! | [`lifecycle`] | the jobs after issue (activate, block, top-up, passwords, numbers, audit), the stock rules |
//! | [`report`] | the stock and the money across batches: tables, CSV, XLSX, HTML with SVG charts |
//! | [`manifest`] | a batch's files: manifest (owner-only), inventory, summary |
//! | [`render`] | card designs, sheets, text fitting, QR codes, fonts and the PDF writer |
//! | [`portal`] | the card holders' web page: routes, pages, sessions, limits, its log, health and metrics, its backend |
//! | [`sandbox`] | a local server that behaves like the platform, for tests and demos |
//! | [`table`] | every table written: one CSV, one XLSX and one terminal writer |
//! | [`text`] | text from outside made safe to read and export; digits as typed |
//! | [`atomic`] | the one way an output file is written (temp, mode, fsync, rename) |
//! | [`error`] | the top-level error wrapping each module's own |
//! | `cli` | the command line: the flags, one recipe per command, output, progress, exit codes |

pub mod api;
pub mod atomic;
pub mod batch;
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
pub mod table;
pub mod text;

pub use cli::run;
