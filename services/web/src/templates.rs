//! Response templates: a versioned data file of Persian answers per
//! organisation and category, with placeholders an officer's answer is
//! started from. Checked when the console starts, so a broken file stops the
//! start rather than a page.
use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

const BUILT_IN: &str = include_str!("../data/response-templates.toml");
const PLACEHOLDERS: &[&str] = &["tracking_code", "today", "unit", "due"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResponseTemplate {
    pub(crate) id: String,
    pub(crate) organisation: String,
    /// empty: every category of the organisation
    #[serde(default)]
    pub(crate) category: String,
    pub(crate) title: String,
    pub(crate) text: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResponseTemplates {
    pub(crate) version: String,
    #[serde(rename = "template")]
    templates: Vec<ResponseTemplate>,
}

impl ResponseTemplates {
    /// The file at `path`, or the built-in one when `path` is empty.
    pub(crate) fn load(path: &str) -> crate::Result<Self> {
        let text = if path.is_empty() {
            BUILT_IN.to_owned()
        } else {
            std::fs::read_to_string(path).map_err(|e| crate::Error::Config(format!("{path}: {e}")))?
        };
        Self::parse(&text).map_err(|e| crate::Error::Config(format!("response templates: {e}")))
    }

    fn parse(text: &str) -> Result<Self, String> {
        let templates: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut ids = HashSet::new();
        for template in &templates.templates {
            if !ids.insert(template.id.as_str()) {
                return Err(format!("template `{}` appears twice", template.id));
            }
            if !pasokh_domain::organisations().iter().any(|o| o.code == template.organisation) {
                return Err(format!("template `{}`: unknown organisation `{}`", template.id, template.organisation));
            }
            if !template.category.is_empty() && pasokh_domain::CategoryCode::parse(&template.category).is_err() {
                return Err(format!("template `{}`: unknown category `{}`", template.id, template.category));
            }
            for name in placeholders(&template.text) {
                if !PLACEHOLDERS.contains(&name) {
                    return Err(format!("template `{}`: unknown placeholder {{{name}}}", template.id));
                }
            }
        }
        Ok(templates)
    }

    /// The templates an officer answering this case may insert: its category's first.
    pub(crate) fn for_case(&self, organisation: &str, category: &str) -> Vec<&ResponseTemplate> {
        let mut found: Vec<&ResponseTemplate> = self
            .templates
            .iter()
            .filter(|t| t.organisation == organisation && (t.category.is_empty() || t.category == category))
            .collect();
        found.sort_by_key(|t| t.category.is_empty());
        found
    }

    pub(crate) fn find(&self, id: &str) -> Option<&ResponseTemplate> {
        self.templates.iter().find(|t| t.id == id)
    }
}

fn placeholders(text: &str) -> impl Iterator<Item = &str> {
    text.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

/// The template's text with its placeholders filled in.
pub(crate) fn fill(text: &str, values: &BTreeMap<&str, String>) -> String {
    let mut filled = text.to_owned();
    for (name, value) in values {
        filled = filled.replace(&format!("{{{name}}}"), value);
    }
    filled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_templates_are_valid_and_found_by_organisation_and_category() {
        let templates = ResponseTemplates::load("").unwrap();
        let sso: Vec<&str> = templates.for_case("sso", "pension-payment").iter().map(|t| t.id.as_str()).collect();
        assert_eq!(sso, ["sso-pension-paid", "sso-documents-needed"], "the category's own first, then the general");
        assert!(templates.for_case("welfare", "pension-payment").is_empty());
    }

    #[test]
    fn placeholders_are_filled_and_unknown_ones_refused() {
        let values = BTreeMap::from([("tracking_code", "۱۲۳".to_owned()), ("unit", "واحد".to_owned())]);
        assert_eq!(fill("کد {tracking_code} از {unit}", &values), "کد ۱۲۳ از واحد");
        let broken =
            "version = \"1\"\n[[template]]\nid = \"a\"\norganisation = \"sso\"\ntitle = \"t\"\ntext = \"{name}\"\n";
        assert!(ResponseTemplates::parse(broken).unwrap_err().contains("{name}"));
        let twice = format!(
            "{}\n[[template]]\nid = \"a\"\norganisation = \"sso\"\ntitle = \"t\"\ntext = \"x\"\n",
            broken.replace("{name}", "x")
        );
        assert!(ResponseTemplates::parse(&twice).unwrap_err().contains("twice"));
        let stranger = broken.replace("sso", "nasa").replace("{name}", "x");
        assert!(ResponseTemplates::parse(&stranger).unwrap_err().contains("nasa"));
    }
}
