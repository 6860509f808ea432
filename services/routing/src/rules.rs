//! Routing rules as data: `rules/routing-rules.toml` (or `rules_file`),
//! validated when loaded and reloaded when the file changes, without a restart.
//! An invalid new file is refused and the rules in force stay.
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use pasokh_domain::{CategoryCode, ProvinceCode, organisations};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

const BUILT_IN: &str = include_str!("../rules/routing-rules.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub(crate) enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    /// The name in the rules file, on the case and in the API: `low` … `urgent`.
    pub(crate) fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fallback {
    organisation: String,
    unit_suffix: String,
    first_response_days: u32,
    resolution_days: u32,
    priority: Priority,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    name: String,
    category: String,
    #[serde(default)]
    provinces: Vec<String>,
    /// the rule matches only petitions whose text contains one of these (after normalisation)
    #[serde(default)]
    keywords: Vec<String>,
    organisation: String,
    first_response_days: u32,
    resolution_days: u32,
    priority: Priority,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    version: String,
    fallback: Fallback,
    #[serde(rename = "rule", default)]
    rules: Vec<Rule>,
}

/// A validated set of rules.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    file: RulesFile,
}

/// Where a petition goes and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    /// `<rules version>/<rule name>`, or `<version>/fallback`
    pub rule: String,
    pub organisation: String,
    pub unit: String,
    pub first_response_days: u32,
    pub resolution_days: u32,
    pub priority: Priority,
}

impl Rules {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let file: RulesFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let known = |org: &str| organisations().iter().any(|o| o.code == org);
        if !known(&file.fallback.organisation) {
            return Err(format!("fallback: unknown organisation `{}`", file.fallback.organisation));
        }
        let mut names = std::collections::HashSet::new();
        for rule in &file.rules {
            let at = format!("rule `{}`", rule.name);
            if !names.insert(rule.name.as_str()) {
                return Err(format!("{at} is defined twice"));
            }
            CategoryCode::parse(&rule.category).map_err(|_| format!("{at}: unknown category `{}`", rule.category))?;
            if !known(&rule.organisation) {
                return Err(format!("{at}: unknown organisation `{}`", rule.organisation));
            }
            for province in &rule.provinces {
                ProvinceCode::parse(province).map_err(|_| format!("{at}: unknown province `{province}`"))?;
            }
            if rule.keywords.iter().any(|k| pasokh_domain::normalize_text(k).chars().count() < 2) {
                return Err(format!("{at}: a keyword needs at least 2 letters"));
            }
            if rule.first_response_days > rule.resolution_days {
                return Err(format!("{at}: first response is due after resolution"));
            }
        }
        Ok(Self { file })
    }

    pub(crate) fn built_in() -> Result<Self, String> {
        Self::parse(BUILT_IN)
    }

    pub(crate) fn version(&self) -> &str {
        &self.file.version
    }

    /// The most specific rule for the category in the province and the text: a rule whose keywords
    /// the text contains beats one without keywords, then one naming the province beats a
    /// nationwide one; none → the province's triage queue.
    pub(crate) fn decide(&self, category: &str, province: ProvinceCode, text: &str) -> Decision {
        let province_code = province.to_string();
        let text = words(text);
        let matched = self
            .file
            .rules
            .iter()
            .filter(|r| r.category == category)
            .filter(|r| r.provinces.is_empty() || r.provinces.iter().any(|p| p.eq_ignore_ascii_case(&province_code)))
            .filter(|r| r.keywords.is_empty() || r.keywords.iter().any(|k| contains_words(&text, &words(k))))
            // first of the most specific, so the file's order breaks ties
            .min_by_key(|r| (r.keywords.is_empty(), r.provinces.is_empty()));
        match matched {
            Some(rule) => Decision {
                rule: format!("{}/{}", self.file.version, rule.name),
                organisation: rule.organisation.clone(),
                unit: format!("{}/{province_code}", rule.organisation),
                first_response_days: rule.first_response_days,
                resolution_days: rule.resolution_days,
                priority: rule.priority,
            },
            None => {
                let fallback = &self.file.fallback;
                Decision {
                    rule: format!("{}/fallback", self.file.version),
                    organisation: fallback.organisation.clone(),
                    unit: format!("{}/{province_code}/{}", fallback.organisation, fallback.unit_suffix),
                    first_response_days: fallback.first_response_days,
                    resolution_days: fallback.resolution_days,
                    priority: fallback.priority,
                }
            }
        }
    }
}

/// The rules in force, shared by the consumer and the reloader.
#[derive(Clone)]
pub(crate) struct RuleBook {
    current: Arc<RwLock<Arc<Rules>>>,
    path: Option<PathBuf>,
}

impl RuleBook {
    /// Loads `path`, or the built-in rules when `path` is empty. A broken file stops the start.
    pub(crate) fn load(path: &str) -> Result<Self, String> {
        let (rules, path) = if path.is_empty() {
            (Rules::built_in()?, None)
        } else {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
            (Rules::parse(&text).map_err(|e| format!("{path}: {e}"))?, Some(PathBuf::from(path)))
        };
        tracing::info!(version = rules.version(), rules = rules.file.rules.len(), "routing rules loaded");
        Ok(Self { current: Arc::new(RwLock::new(Arc::new(rules))), path })
    }

    pub(crate) fn current(&self) -> Arc<Rules> {
        self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Reloads the file whenever its modification time changes; keeps the old rules if the new ones are invalid.
    pub(crate) async fn watch(self, every: Duration, token: CancellationToken) -> Result<(), crate::Error> {
        let Some(path) = self.path.clone() else {
            token.cancelled().await;
            return Ok(());
        };
        let modified = |path: &PathBuf| std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let mut seen: Option<SystemTime> = modified(&path);
        loop {
            tokio::select! {
                _ = token.cancelled() => return Ok(()),
                _ = tokio::time::sleep(every) => {}
            }
            let now = modified(&path);
            if now == seen {
                continue;
            }
            seen = now;
            match std::fs::read_to_string(&path).map_err(|e| e.to_string()).and_then(|t| Rules::parse(&t)) {
                Ok(rules) => {
                    tracing::info!(version = rules.version(), "routing rules reloaded");
                    *self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(rules);
                }
                Err(error) => {
                    tracing::error!(%error, path = %path.display(), "new routing rules refused, keeping the old ones")
                }
            }
        }
    }
}

/// The words of a text after normalisation, lower-cased. ZWNJ separates words here (آتش‌سوزی is
/// آتش + سوزی, as it is when written with a space), and so does any punctuation.
fn words(text: &str) -> Vec<String> {
    pasokh_domain::normalize_text(text)
        .to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || ('\u{064b}'..='\u{065f}').contains(&c) || c == '\u{0670}'))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether the keyword's words appear, whole and in a row, among the text's: "فوت" (death) is in
/// "پدرم فوت کرد" and "فوت‌شده", not in "فوتبال".
fn contains_words(text: &[String], keyword: &[String]) -> bool {
    !keyword.is_empty() && text.windows(keyword.len()).any(|window| window == keyword)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tehran() -> ProvinceCode {
        ProvinceCode::parse("IR-23").unwrap()
    }

    #[test]
    fn the_built_in_rules_are_valid_and_cover_every_category() {
        let rules = Rules::built_in().unwrap();
        for category in pasokh_domain::categories() {
            let decision = rules.decide(category.code.as_str(), ProvinceCode::parse("IR-07").unwrap(), "");
            assert!(!decision.rule.ends_with("/fallback"), "{} has no rule", category.code);
            assert_eq!(decision.organisation, category.organisation);
        }
    }

    #[test]
    fn a_keyword_rule_beats_the_rest_only_when_the_text_has_the_keyword() {
        let rules = Rules::built_in().unwrap();
        let accident = rules.decide("workplace-safety", tehran(), "كارگر در كارگاه دچار حادثه شد و مصدوم است");
        assert_eq!(accident.rule, format!("{}/workplace-accident", rules.version()));
        assert_eq!((accident.priority, accident.resolution_days), (Priority::Urgent, 3));
        let ordinary = rules.decide("workplace-safety", tehran(), "کلاه ایمنی به کارگران داده نمی‌شود");
        assert_eq!(ordinary.rule, format!("{}/workplace-safety", rules.version()));
        let unemployment = rules.decide("employment", tehran(), "مقرری بیمه بیکاری من قطع شده است");
        assert_eq!(unemployment.unit, "sso/IR-23");
        // whole words: football is no death, and a fire is one whether written with ZWNJ or a space
        let football = rules.decide("workplace-safety", tehran(), "زمین فوتبال کارگاه ایمنی ندارد");
        assert_eq!(football.rule, format!("{}/workplace-safety", rules.version()));
        let death = rules.decide("workplace-safety", tehran(), "همکارم در کارگاه فوت‌شده است");
        assert_eq!(death.rule, format!("{}/workplace-accident", rules.version()));
        let fire = rules.decide("workplace-safety", tehran(), "در انبار آتش سوزی شد");
        assert_eq!(fire.rule, format!("{}/workplace-accident", rules.version()));
    }

    #[test]
    fn a_province_rule_beats_a_nationwide_one_and_the_rest_falls_back_to_triage() {
        let rules = Rules::built_in().unwrap();
        let tehran_pension = rules.decide("pension-payment", tehran(), "");
        assert_eq!(tehran_pension.rule, format!("{}/pension-payment-tehran", rules.version()));
        assert_eq!((tehran_pension.first_response_days, tehran_pension.resolution_days), (2, 10));
        let qom_pension = rules.decide("pension-payment", ProvinceCode::parse("IR-25").unwrap(), "");
        assert_eq!(qom_pension.rule, format!("{}/pension-payment", rules.version()));
        assert_eq!(qom_pension.unit, "sso/IR-25");
        let unknown = rules.decide("something-new", tehran(), "");
        assert_eq!(unknown.unit, "mcls-directorate/IR-23/triage");
        assert!(unknown.rule.ends_with("/fallback"));
    }

    #[test]
    fn invalid_files_are_refused_with_the_reason() {
        let base = "version = \"t\"\n[fallback]\norganisation = \"mcls-directorate\"\nunit_suffix = \"triage\"\nfirst_response_days = 1\nresolution_days = 2\npriority = \"normal\"\n";
        let rule = |body: &str| format!("{base}[[rule]]\nname = \"r\"\n{body}");
        let cases = [
            (
                rule(
                    "category = \"weather\"\norganisation = \"sso\"\nfirst_response_days = 1\nresolution_days = 2\npriority = \"low\"",
                ),
                "unknown category",
            ),
            (
                rule(
                    "category = \"other\"\norganisation = \"nasa\"\nfirst_response_days = 1\nresolution_days = 2\npriority = \"low\"",
                ),
                "unknown organisation",
            ),
            (
                rule(
                    "category = \"other\"\nprovinces = [\"IR-99\"]\norganisation = \"sso\"\nfirst_response_days = 1\nresolution_days = 2\npriority = \"low\"",
                ),
                "unknown province",
            ),
            (
                rule(
                    "category = \"other\"\norganisation = \"sso\"\nfirst_response_days = 9\nresolution_days = 2\npriority = \"low\"",
                ),
                "after resolution",
            ),
            (
                rule(
                    "category = \"other\"\norganisation = \"sso\"\nfirst_response_days = 1\nresolution_days = 2\npriority = \"asap\"",
                ),
                "unknown variant",
            ),
            (
                rule(
                    "category = \"other\"\norganisation = \"sso\"\nfirst_response_days = 1\nresolution_days = 2\npriority = \"low\"\ncolour = \"red\"",
                ),
                "unknown field",
            ),
        ];
        for (text, reason) in cases {
            let error = Rules::parse(&text).unwrap_err();
            assert!(error.contains(reason), "expected `{reason}` in `{error}`");
        }
    }
}
