//! `[placeholder]`s in proc and proto names.

/// The placeholders of a name, in order (`build::[env]::[n]` → `env`, `n`), or a sentence
/// saying what is wrong with the name.
pub(crate) fn placeholders(name: &str) -> Result<Vec<String>, String> {
    let mut found: Vec<String> = Vec::new();
    let mut rest = name;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let Some(close) = after.find(']') else {
            return Err(format!("`[` without a closing `]` in `{name}`"));
        };
        let placeholder = &after[..close];
        if !is_identifier(placeholder) {
            return Err(format!(
                "placeholder `[{placeholder}]` in `{name}` is not a valid identifier \
                 (letters, digits and `_`, not starting with a digit)"
            ));
        }
        if found.iter().any(|p| p == placeholder) {
            return Err(format!(
                "placeholder `[{placeholder}]` appears more than once in `{name}`"
            ));
        }
        found.push(placeholder.to_owned());
        rest = &after[close + 1..];
    }
    if rest.contains(']') {
        return Err(format!("`]` without an opening `[` in `{name}`"));
    }
    Ok(found)
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|first| first == '_' || first.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// `[a]`, `[b]` for messages.
pub(crate) fn list(placeholders: &[String]) -> String {
    placeholders
        .iter()
        .map(|p| format!("`[{p}]`"))
        .collect::<Vec<_>>()
        .join(", ")
}
