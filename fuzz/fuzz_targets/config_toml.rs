//! The config file, read as cardmint reads it (owner-only file, then TOML and every key).
#![no_main]
use libfuzzer_sys::fuzz_target;

struct FileEnv(String);

impl cardmint::config::Env for FileEnv {
    fn var(&self, name: &str) -> Option<String> {
        (name == "CARDMINT_CONFIG").then(|| self.0.clone())
    }
}

fuzz_target!(|bytes: &[u8]| {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::temp_dir().join(format!("cardmint-fuzz-{}.toml", std::process::id()));
    if std::fs::write(&path, bytes).is_err() {
        return;
    }
    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    let env = FileEnv(path.display().to_string());
    let _ = cardmint::config::check_config_file(&env);
    let _ = cardmint::config::api_settings(&env, Some("http://127.0.0.1/"));
    let _ = cardmint::config::render_settings(&env);
});
