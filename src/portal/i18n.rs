//! The page in its holder's language: every string in a Fluent catalog (`locales/*.ftl`, the
//! format of the project-fluent ecosystem), the language chosen from the holder's own choice
//! (a cookie the page's switch sets) or the browser's `Accept-Language`, English otherwise.
//! A reseller adds or overrides a language by dropping `TAG.ftl` into the folder
//! `[portal] locales` names: read at start, no rebuild; a message missing there is taken from
//! the shipped catalog of that language, else from English.

use std::path::Path;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// The catalogs built in: (tag, text). English first: the default and the reference every
/// other catalog is checked against.
pub const SHIPPED: &[(&str, &str)] = &[
    ("en", include_str!("locales/en.ftl")),
    ("es", include_str!("locales/es.ftl")),
    ("fr", include_str!("locales/fr.ftl")),
    ("pl", include_str!("locales/pl.ftl")),
    ("ar", include_str!("locales/ar.ftl")),
];

/// The pseudo-language of the layout tests: English 40 % longer, in brackets.
pub const PSEUDO: &str = "en-XA";

/// Languages written right to left.
const RTL: &[&str] = &["ar", "he", "fa", "ur", "ps", "yi"];

/// Whether the language of tag `tag` is written right to left.
pub fn is_rtl(tag: &str) -> bool {
    RTL.contains(&tag.split('-').next().unwrap_or(tag))
}

/// One language of the page.
pub struct Language {
    /// Its tag (`es`, `pt-BR`).
    pub tag: String,
    /// Its own name, as the switch shows it (the catalog's `language-name`).
    pub name: String,
    pub rtl: bool,
    bundles: Vec<FluentBundle<FluentResource>>,
    pseudo: bool,
}

impl Language {
    fn new(tag: &str, sources: &[&str]) -> Result<Language, String> {
        let id: unic_langid::LanguageIdentifier = tag
            .parse()
            .map_err(|_| format!("{tag:?} is not a language tag (such as es or pt-BR)"))?;
        let mut bundles = Vec::new();
        for text in sources {
            let resource = FluentResource::try_new(text.to_string()).map_err(|(_, errors)| {
                format!(
                    "catalog {tag}: {} syntax error(s), the first: {:?}",
                    errors.len(),
                    errors[0]
                )
            })?;
            let mut bundle = FluentBundle::new_concurrent(vec![id.clone()]);
            // Values are escaped by the page; no isolation marks inside attributes and tests.
            bundle.set_use_isolating(false);
            bundle
                .add_resource(resource)
                .map_err(|e| format!("catalog {tag}: {e:?}"))?;
            bundles.push(bundle);
        }
        let mut language = Language {
            tag: tag.to_string(),
            name: String::new(),
            rtl: is_rtl(tag),
            bundles,
            pseudo: tag == PSEUDO,
        };
        language.name = language.t("language-name");
        Ok(language)
    }

    /// The message `id`, from the first catalog that has it.
    pub fn t(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// The message `id` with its arguments.
    pub fn t_with(&self, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let mut fluent = FluentArgs::new();
        for (name, value) in args {
            fluent.set(*name, value.clone());
        }
        self.format(id, Some(&fluent))
    }

    fn format(&self, id: &str, args: Option<&FluentArgs<'_>>) -> String {
        for bundle in &self.bundles {
            if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                let text = bundle
                    .format_pattern(pattern, args, &mut errors)
                    .into_owned();
                return if self.pseudo { pseudo(&text) } else { text };
            }
        }
        // A key no catalog has is a defect the tests catch; the page shows the key.
        id.to_string()
    }

    /// `ltr` or `rtl`, for the page's `dir`.
    pub fn dir(&self) -> &'static str {
        if self.rtl { "rtl" } else { "ltr" }
    }

    /// A date as this language writes it (`date` in its catalog: `3 Dec 2026`, `3 dic 2026`).
    pub fn date(&self, date: chrono::NaiveDate) -> String {
        use chrono::Datelike;
        self.t_with(
            "date",
            &[
                ("day", date.day().into()),
                ("month", date.month().into()),
                ("year", date.year().into()),
            ],
        )
    }

    /// A date and time to the minute as this language writes it (`date-time`).
    pub fn date_time(&self, at: chrono::NaiveDateTime) -> String {
        self.t_with(
            "date-time",
            &[
                ("date", self.date(at.date()).into()),
                ("time", at.format("%H:%M").to_string().into()),
            ],
        )
    }

    /// An amount as this language writes it: two decimals, its decimal separator.
    pub fn amount(&self, value: rust_decimal::Decimal) -> String {
        let text = format!("{value:.2}");
        match self.t("decimal-separator").as_str() {
            "," => text.replace('.', ","),
            _ => text,
        }
    }
}

/// English made 40 % longer (vowels doubled, then padding), in brackets: text that does not
/// fit its place shows in the layout tests.
fn pseudo(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        out.push(c);
        if "aeiouAEIOU".contains(c) {
            out.push(c);
        }
    }
    let want = text.chars().count() * 14 / 10;
    while out.chars().count() < want {
        out.push('~');
    }
    format!("[{out}]")
}

/// Every language the page speaks.
pub struct Languages {
    list: Vec<Language>,
}

impl Languages {
    /// The shipped catalogs, the pseudo-language, and those of `dir` (`TAG.ftl`: a new
    /// language, or messages over a shipped one's).
    pub fn load(dir: Option<&Path>) -> Result<Languages, String> {
        let mut own: Vec<(String, String)> = Vec::new();
        if let Some(dir) = dir {
            let entries = std::fs::read_dir(dir)
                .map_err(|e| format!("[portal] locales: {}: {e}", dir.display()))?;
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().and_then(|e| e.to_str()) != Some("ftl") {
                    continue;
                }
                let tag = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default()
                    .to_string();
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("[portal] locales: {}: {e}", path.display()))?;
                own.push((tag, text));
            }
            own.sort();
        }
        let english = SHIPPED[0].1;
        let mut list = Vec::new();
        for (tag, text) in SHIPPED {
            let mut sources: Vec<&str> = own
                .iter()
                .filter(|(t, _)| t == tag)
                .map(|(_, text)| text.as_str())
                .collect();
            sources.push(text);
            if *tag != "en" {
                sources.push(english);
            }
            list.push(Language::new(tag, &sources).map_err(|e| format!("[portal] locales: {e}"))?);
        }
        for (tag, text) in &own {
            if !SHIPPED.iter().any(|(t, _)| t == tag) {
                list.push(
                    Language::new(tag, &[text.as_str(), english])
                        .map_err(|e| format!("[portal] locales: {e}"))?,
                );
            }
        }
        list.push(Language::new(PSEUDO, &[english])?);
        Ok(Languages { list })
    }

    /// The languages offered by the switch (the pseudo-language is not).
    pub fn offered(&self) -> impl Iterator<Item = &Language> {
        self.list.iter().filter(|l| !l.pseudo)
    }

    /// The language by its tag, exactly.
    pub fn get(&self, tag: &str) -> Option<&Language> {
        self.list.iter().find(|l| l.tag.eq_ignore_ascii_case(tag))
    }

    /// The holder's language: the one chosen on the page (`chosen`, its cookie), else the
    /// first of `Accept-Language` the page speaks (by quality; `pt-BR` matches `pt`), else
    /// English.
    pub fn choose(&self, chosen: Option<&str>, accept: Option<&str>) -> &Language {
        if let Some(l) = chosen.and_then(|t| self.get(t)) {
            return l;
        }
        let mut wanted: Vec<(f32, &str)> = accept
            .unwrap_or_default()
            .split(',')
            .filter_map(|item| {
                let mut parts = item.trim().split(';');
                let tag = parts.next()?.trim();
                let q = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1.0), |q| q.parse::<f32>().ok())?;
                (!tag.is_empty() && tag != "*" && q > 0.0).then_some((q, tag))
            })
            .collect();
        wanted.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (_, tag) in wanted {
            if let Some(l) = self.get(tag) {
                return l;
            }
            let primary = tag.split('-').next().unwrap_or(tag);
            if let Some(l) = self.offered().find(|l| l.tag.eq_ignore_ascii_case(primary)) {
                return l;
            }
        }
        &self.list[0]
    }

    /// The message ids of a catalog's text.
    pub fn ids(text: &str) -> Vec<String> {
        let Ok(resource) = FluentResource::try_new(text.to_string()) else {
            return Vec::new();
        };
        resource
            .entries()
            .filter_map(|e| match e {
                fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_has_exactly_the_english_messages_and_the_code_uses_every_one() {
        let english = Languages::ids(SHIPPED[0].1);
        assert!(english.len() > 10);
        for (tag, text) in SHIPPED {
            let mut ids = Languages::ids(text);
            ids.sort();
            let mut want = english.clone();
            want.sort();
            assert_eq!(ids, want, "catalog {tag}: missing or extra messages");
        }
        // Every message is asked for by the code (an unused one is a defect), and every one
        // the code asks for exists: the ids appear as string literals in the portal's source.
        let source = [
            include_str!("pages.rs"),
            include_str!("handlers.rs"),
            include_str!("mod.rs"),
            include_str!("i18n.rs"),
            include_str!("../batch.rs"),
        ]
        .concat();
        for id in &english {
            assert!(source.contains(&format!("\"{id}\"")), "{id} is never used");
        }
        let mut rest = source.as_str();
        while let Some(at) = rest.find(".t(\"") {
            let after = &rest[at + 4..];
            let id = &after[..after.find('"').unwrap()];
            assert!(english.iter().any(|e| e == id), "{id} is in no catalog");
            rest = after;
        }
    }

    #[test]
    fn every_language_names_the_same_countries_in_its_own_words() {
        use crate::portal::pages::countries;
        let codes = |tag: &str| {
            let mut c: Vec<&str> = countries(tag).iter().map(|(code, _)| *code).collect();
            c.sort_unstable();
            c
        };
        let name = |tag: &str, code: &str| {
            countries(tag)
                .iter()
                .find(|(c, _)| *c == code)
                .map(|(_, n)| *n)
        };
        assert!(codes("en").len() > 200);
        for tag in ["es", "fr", "pl", "ar", "pt-BR", "en-XA"] {
            assert_eq!(codes(tag), codes("en"), "{tag}");
        }
        assert_eq!(name("fr", "GB"), Some("Royaume-Uni"));
        assert_eq!(name("pl", "DE"), Some("Niemcy"));
        assert_eq!(name("es-MX", "EG"), Some("Egipto"));
        assert_eq!(name("ar", "MA"), Some("المغرب"));
        // A language without its list (a reseller's pt-BR) has the English names.
        assert_eq!(name("pt-BR", "DE"), Some("Germany"));
        // Listed in the language's alphabetical order, accents folded: Égypte among the E.
        let fr: Vec<&str> = countries("fr").iter().map(|(_, n)| *n).collect();
        let at = |name: &str| fr.iter().position(|n| *n == name).unwrap();
        assert!(
            at("Dominique") < at("Égypte") && at("Égypte") < at("Espagne"),
            "{fr:?}"
        );
    }

    #[test]
    fn dates_read_as_each_language_writes_them() {
        let all = Languages::load(None).unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let at = day.and_hms_opt(14, 5, 0).unwrap();
        let said: Vec<(String, String)> = ["en", "es", "fr", "pl", "ar"]
            .iter()
            .map(|tag| {
                let l = all.get(tag).unwrap();
                (l.date(day), l.date_time(at))
            })
            .collect();
        assert_eq!(
            said,
            [
                ("3 Dec 2026", "3 Dec 2026, 14:05"),
                ("3 dic 2026", "3 dic 2026, 14:05"),
                ("3 déc. 2026", "3 déc. 2026 à 14:05"),
                ("3 gru 2026", "3 gru 2026, 14:05"),
                ("3 ديسمبر 2026", "3 ديسمبر 2026، 14:05"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        // Every month has its name (the selector's default is December's).
        let may = chrono::NaiveDate::from_ymd_opt(2027, 5, 31).unwrap();
        assert_eq!(all.get("pl").unwrap().date(may), "31 maj 2027");
        assert_eq!(all.get("en").unwrap().date(may), "31 May 2027");
    }

    #[test]
    fn the_language_is_the_holders_choice_else_the_browsers_else_english() {
        let all = Languages::load(None).unwrap();
        assert_eq!(all.choose(None, None).tag, "en");
        assert_eq!(all.choose(None, Some("pl-PL,pl;q=0.9,en;q=0.5")).tag, "pl");
        assert_eq!(
            all.choose(None, Some("de;q=1, ar;q=0.4, fr;q=0.8")).tag,
            "fr"
        );
        assert_eq!(all.choose(Some("ar"), Some("fr")).tag, "ar");
        assert_eq!(all.choose(Some("xx"), Some("es-MX")).tag, "es");
        let ar = all.get("ar").unwrap();
        assert!(ar.rtl && ar.dir() == "rtl" && ar.name == "العربية");
        assert_eq!(
            all.get("fr")
                .unwrap()
                .amount(rust_decimal::Decimal::new(499, 2)),
            "4,99"
        );
        let pseudo = all.get(PSEUDO).unwrap();
        assert!(pseudo.t("sign-in").starts_with('[') && pseudo.t("sign-in").len() > 9);
    }

    #[test]
    fn a_resellers_catalog_adds_a_language_and_overrides_a_message() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("es.ftl"), "sign-in = Entra\n").unwrap();
        std::fs::write(
            dir.path().join("pt-BR.ftl"),
            "language-name = Português\nsign-in = Entrar\n",
        )
        .unwrap();
        let all = Languages::load(Some(dir.path())).unwrap();
        assert_eq!(all.get("es").unwrap().t("sign-in"), "Entra");
        let pt = all.choose(None, Some("pt-BR"));
        assert_eq!(
            (pt.tag.as_str(), pt.t("sign-in").as_str()),
            ("pt-BR", "Entrar")
        );
        // What the new catalog lacks is said in English.
        assert_eq!(pt.t("sign-out"), all.get("en").unwrap().t("sign-out"));
    }
}
