//! One module per subcommand: its clap arguments and its recipe.

pub mod sandbox;
