//! The templates, sheets, fonts and images that ship inside the binary (from `templates/`), and
//! the lookup of user files beside a template, so `cardmint` works from any directory.

use std::path::{Path, PathBuf};

/// (name, TOML) of the shipped card designs.
pub const DESIGNS: &[(&str, &str)] = &[
    ("retail", include_str!("../../templates/cards/retail.toml")),
    (
        "welcome",
        include_str!("../../templates/cards/welcome.toml"),
    ),
];

/// (name, TOML) of the shipped sheet layouts.
pub const SHEETS: &[(&str, &str)] = &[
    (
        "avery-c32011",
        include_str!("../../templates/sheets/avery-c32011.toml"),
    ),
    (
        "avery-c32015",
        include_str!("../../templates/sheets/avery-c32015.toml"),
    ),
    (
        "letter-8up",
        include_str!("../../templates/sheets/letter-8up.toml"),
    ),
    ("cr80", include_str!("../../templates/sheets/cr80.toml")),
    (
        "sra3-21up",
        include_str!("../../templates/sheets/sra3-21up.toml"),
    ),
];

/// Names of shipped sheets that were renamed, as batches recorded before may name them: (old,
/// new). The old A4 10-up grid is the product it approximated; the old Letter 10-up grid could
/// not carry marks on its column cuts (its margins were 3.71 mm), so it became an 8-up.
pub const RENAMED_SHEETS: &[(&str, &str)] =
    &[("a4-10up", "avery-c32011"), ("letter-10up", "letter-8up")];

const FONTS: &[(&str, &[u8])] = &[
    (
        "DejaVuSans.ttf",
        include_bytes!("../../templates/fonts/DejaVuSans.ttf"),
    ),
    (
        "DejaVuSans-Bold.ttf",
        include_bytes!("../../templates/fonts/DejaVuSans-Bold.ttf"),
    ),
    (
        "NotoSansArabic-Regular.ttf",
        include_bytes!("../../templates/fonts/NotoSansArabic-Regular.ttf"),
    ),
    (
        "NotoSansArabic-Bold.ttf",
        include_bytes!("../../templates/fonts/NotoSansArabic-Bold.ttf"),
    ),
    (
        "NotoSansHebrew-Regular.ttf",
        include_bytes!("../../templates/fonts/NotoSansHebrew-Regular.ttf"),
    ),
    (
        "NotoSansHebrew-Bold.ttf",
        include_bytes!("../../templates/fonts/NotoSansHebrew-Bold.ttf"),
    ),
    (
        "NotoSansDevanagari-Regular.ttf",
        include_bytes!("../../templates/fonts/NotoSansDevanagari-Regular.ttf"),
    ),
    (
        "NotoSansDevanagari-Bold.ttf",
        include_bytes!("../../templates/fonts/NotoSansDevanagari-Bold.ttf"),
    ),
];

const IMAGES: &[(&str, &[u8])] = &[(
    "logo.png",
    include_bytes!("../../templates/images/logo.png"),
)];

/// Where a template came from: its text, and the folder its fonts and images are looked up in.
#[derive(Debug, Clone)]
pub struct Source {
    /// How errors name it: a path, or `built-in NAME`.
    pub label: String,
    pub text: String,
    pub dir: Option<PathBuf>,
}

/// A design or sheet by name (shipped) or by path (a `.toml` file).
pub fn find(kind: &str, name: &str, shipped: &[(&str, &str)]) -> Result<Source, String> {
    let looks_like_path = name.ends_with(".toml") || name.contains('/');
    if looks_like_path {
        let path = Path::new(name);
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read {kind} {name}: {e}"))?;
        return Ok(Source {
            label: name.to_string(),
            text,
            dir: path.parent().map(Path::to_path_buf),
        });
    }
    let name = RENAMED_SHEETS
        .iter()
        .find(|(old, _)| *old == name)
        .map_or(name, |(_, new)| new);
    shipped
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, text)| Source {
            label: format!("built-in {kind} {n}"),
            text: text.to_string(),
            dir: None,
        })
        .ok_or_else(|| {
            let names: Vec<&str> = shipped.iter().map(|(n, _)| *n).collect();
            format!(
                "no {kind} named {name:?}: the shipped ones are {}, or give a path to a .toml file",
                names.join(", ")
            )
        })
}

/// Loads a font or image named by a template: beside the template (`DIR/NAME`,
/// `DIR/../fonts/NAME`, `DIR/../images/NAME`), else a shipped one.
pub fn load_file(dir: Option<&Path>, name: &str) -> Option<Vec<u8>> {
    if let Some(dir) = dir {
        for candidate in [
            dir.join(name),
            dir.join("../fonts").join(name),
            dir.join("../images").join(name),
        ] {
            if let Ok(bytes) = std::fs::read(&candidate) {
                return Some(bytes);
            }
        }
    }
    FONTS
        .iter()
        .chain(IMAGES)
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| bytes.to_vec())
}
