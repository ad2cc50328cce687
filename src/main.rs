use std::process::ExitCode;

fn main() -> ExitCode {
    cardmint::run(std::env::args_os())
}
