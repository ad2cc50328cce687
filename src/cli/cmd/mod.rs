//! One module per subcommand: its clap arguments and its recipe.

pub mod activate;
pub mod audit;
pub mod batches;
pub mod block;
pub mod calls;
pub mod card;
pub mod check_password;
pub mod completions;
pub mod config_init;
pub mod consign;
pub mod doctor;
pub mod expire;
pub mod issue;
pub mod numbers;
pub mod portal;
pub mod preview;
pub mod render;
pub mod replace;
pub mod report;
pub mod reset_password;
pub mod resume;
pub mod sandbox;
pub mod settle;
pub mod show;
pub mod status;
pub mod topup;
