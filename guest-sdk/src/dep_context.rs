//! [`DepContext`] and what computed deps and choices may return.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;

use serde::de::DeserializeOwned;

use crate::bindings::parproc::jobs::types::{self as wit, Value};
use crate::json;

/// What a computed dep or computed choices function is told about the proc being created
/// (parproc's `DepProcContext`).
///
/// The args are *raw*: the proto's `args(...)` defaults overridden by the values taken from
/// the requested name, as text, before conversion to the parameter types (parproc passes the
/// uncast values to dependency lambdas too). For choices the name may still contain globs.
///
/// # Examples
///
/// ```no_run
/// use parproc_guest::prelude::*;
///
/// fn image_deps(d: &DepContext) -> Vec<String> {
///     let env = d.arg("env").unwrap_or("dev");
///     let mut deps = vec![format!("build::{env}")];
///     if d.param::<bool>("with_docs").unwrap_or(false) {
///         deps.push("docs".to_owned());
///     }
///     deps
/// }
///
/// #[proto(name = "image::[env]", deps = [image_deps, |d| format!("lint::{}", d.proc_name())])]
/// fn image(env: String) {}
/// # parproc_guest::export_jobs!(image);
/// # fn main() {}
/// ```
#[derive(Debug, Clone)]
pub struct DepContext {
    proc_name: String,
    args: Vec<(String, String)>,
    params: Vec<(String, String)>,
}

impl DepContext {
    /// A context with these raw parts (what the host sends with a callback).
    pub fn new(
        proc_name: impl Into<String>,
        args: Vec<(String, String)>,
        params: Vec<(String, String)>,
    ) -> Self {
        Self {
            proc_name: proc_name.into(),
            args,
            params,
        }
    }

    /// The name being created (for choices it may still contain globs).
    pub fn proc_name(&self) -> &str {
        &self.proc_name
    }

    /// The raw arg `name`, if the name or the defaults supply it.
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every raw arg, in the host's order.
    pub fn args(&self) -> &[(String, String)] {
        &self.args
    }

    /// The global param `name` deserialised as `T`; `None` if absent or not a `T`.
    pub fn param<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        let (_, text) = self.params.iter().find(|(key, _)| key == name)?;
        serde_json::from_str(text).ok()
    }

    /// The global params as a JSON map.
    pub fn params(&self) -> serde_json::Map<String, serde_json::Value> {
        json::params_map(self.params.clone())
    }
}

impl From<wit::DepContext> for DepContext {
    fn from(ctx: wit::DepContext) -> Self {
        Self::new(ctx.proc_name, ctx.args, ctx.params)
    }
}

/// What a computed dep may return: one name, several names, or a `Result` of those whose
/// error is shown to the user (it fails the create that needed the dep).
///
/// Names may be proc names, filled-out proto names, patterns (`build::[env]`) or globs.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned by a computed dep",
    label = "a computed dep must return names",
    note = "return a `String`, a `&str`, a `Vec` or array of them, an `Option` of those, or a `Result` of those whose error implements `Display`"
)]
pub trait IntoDeps {
    /// The names, or the error text.
    fn into_deps(self) -> Result<Vec<String>, String>;
}

impl IntoDeps for String {
    fn into_deps(self) -> Result<Vec<String>, String> {
        Ok(vec![self])
    }
}

impl IntoDeps for &str {
    fn into_deps(self) -> Result<Vec<String>, String> {
        Ok(vec![self.to_owned()])
    }
}

impl<S: Into<String>> IntoDeps for Vec<S> {
    fn into_deps(self) -> Result<Vec<String>, String> {
        Ok(self.into_iter().map(Into::into).collect())
    }
}

impl<S: Into<String>, const N: usize> IntoDeps for [S; N] {
    fn into_deps(self) -> Result<Vec<String>, String> {
        Ok(self.into_iter().map(Into::into).collect())
    }
}

impl<T: IntoDeps> IntoDeps for Option<T> {
    fn into_deps(self) -> Result<Vec<String>, String> {
        self.map_or_else(|| Ok(Vec::new()), IntoDeps::into_deps)
    }
}

impl<T: IntoDeps, E: Display> IntoDeps for Result<T, E> {
    fn into_deps(self) -> Result<Vec<String>, String> {
        self.map_err(|e| e.to_string())?.into_deps()
    }
}

/// What a computed choices function for one placeholder may return: a `Vec` or array of
/// values (anything that converts into a [`Value`]: text, integers, floats, booleans), or a
/// `Result` of those whose error is shown to the user.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned by computed choices",
    label = "computed choices must return a list of values",
    note = "return a `Vec` or array of `&str`, `String`, integers, floats, booleans or `Value`, or a `Result` of those whose error implements `Display`"
)]
pub trait IntoChoices {
    /// The allowed values, or the error text.
    fn into_choices(self) -> Result<Vec<Value>, String>;
}

impl<V: Into<Value>> IntoChoices for Vec<V> {
    fn into_choices(self) -> Result<Vec<Value>, String> {
        Ok(self.into_iter().map(Into::into).collect())
    }
}

impl<V: Into<Value>, const N: usize> IntoChoices for [V; N] {
    fn into_choices(self) -> Result<Vec<Value>, String> {
        Ok(self.into_iter().map(Into::into).collect())
    }
}

impl<T: IntoChoices, E: Display> IntoChoices for Result<T, E> {
    fn into_choices(self) -> Result<Vec<Value>, String> {
        self.map_err(|e| e.to_string())?.into_choices()
    }
}

/// What a whole-map computed choices function (`choices = <expr>`) may return: pairs of a
/// placeholder name and its values, as a `Vec`, an array or a map, or a `Result` of those.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned by a computed choices map",
    label = "a computed choices map must return (placeholder, values) pairs",
    note = "return a `Vec`, array, `BTreeMap` or `HashMap` of (name, values) where the values satisfy `IntoChoices`, or a `Result` of those whose error implements `Display`"
)]
pub trait IntoChoiceMap {
    /// The pairs, or the error text.
    fn into_choice_map(self) -> Result<Vec<(String, Vec<Value>)>, String>;
}

fn collect_pairs<K: Into<String>, C: IntoChoices>(
    pairs: impl IntoIterator<Item = (K, C)>,
) -> Result<Vec<(String, Vec<Value>)>, String> {
    pairs
        .into_iter()
        .map(|(name, choices)| Ok((name.into(), choices.into_choices()?)))
        .collect()
}

impl<K: Into<String>, C: IntoChoices> IntoChoiceMap for Vec<(K, C)> {
    fn into_choice_map(self) -> Result<Vec<(String, Vec<Value>)>, String> {
        collect_pairs(self)
    }
}

impl<K: Into<String>, C: IntoChoices, const N: usize> IntoChoiceMap for [(K, C); N] {
    fn into_choice_map(self) -> Result<Vec<(String, Vec<Value>)>, String> {
        collect_pairs(self)
    }
}

impl<K: Into<String>, C: IntoChoices> IntoChoiceMap for BTreeMap<K, C> {
    fn into_choice_map(self) -> Result<Vec<(String, Vec<Value>)>, String> {
        collect_pairs(self)
    }
}

impl<K: Into<String>, C: IntoChoices, S> IntoChoiceMap for HashMap<K, C, S> {
    fn into_choice_map(self) -> Result<Vec<(String, Vec<Value>)>, String> {
        collect_pairs(self)
    }
}

impl<T: IntoChoiceMap, E: Display> IntoChoiceMap for Result<T, E> {
    fn into_choice_map(self) -> Result<Vec<(String, Vec<Value>)>, String> {
        self.map_err(|e| e.to_string())?.into_choice_map()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> DepContext {
        DepContext::new(
            "build::prod",
            vec![("env".into(), "prod".into())],
            vec![("n".into(), "3".into()), ("bad".into(), "{".into())],
        )
    }

    #[test]
    fn args_and_params() {
        let d = ctx();
        assert_eq!(d.arg("env"), Some("prod"));
        assert_eq!(d.arg("nope"), None);
        assert_eq!(d.param::<i64>("n"), Some(3));
        assert_eq!(d.param::<String>("n"), None);
        assert_eq!(d.params()["bad"], serde_json::Value::from("{"));
    }

    #[test]
    fn deps_conversions() {
        assert_eq!("a".into_deps(), Ok(vec!["a".to_owned()]));
        assert_eq!(vec!["a", "b"].into_deps(), Ok(vec!["a".into(), "b".into()]));
        assert_eq!(None::<String>.into_deps(), Ok(vec![]));
        let failed: Result<Vec<String>, &str> = Err("no env");
        assert_eq!(failed.into_deps(), Err("no env".to_owned()));
    }

    #[test]
    fn choices_conversions() {
        assert_eq!(
            [1, 2].into_choices(),
            Ok(vec![Value::Integer(1), Value::Integer(2)])
        );
        let map = vec![("env", vec!["dev"])].into_choice_map();
        assert_eq!(
            map,
            Ok(vec![("env".into(), vec![Value::Text("dev".into())])])
        );
    }
}
