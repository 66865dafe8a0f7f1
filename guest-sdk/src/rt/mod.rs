//! The runtime behind the macros: the static description of each job that `#[proc]` and
//! `#[proto]` emit, and the dispatch that `export_jobs!` wires to the WIT exports.
//!
//! Everything here is `#[doc(hidden)]` (reached as `parproc_guest::__rt`) and may change
//! without notice; modules use the macros instead.
//!
//! ## Outline
//!
//! 1. `#[proc] fn f` / `#[proto] fn f` keep `f` and add a type-namespace twin `struct f {}`
//!    implementing [`Job`], whose [`JobSpec`] is plain `const` data plus function pointers
//!    (the run wrapper, computed deps and choices).
//! 2. `export_jobs!(f, g; ...)` builds a [`ModuleSpec`] from `<f as Job>::SPEC`, ... and the
//!    settings, implements the two exported WIT interfaces by calling [`describe`],
//!    [`resolve_deps`], [`resolve_choices`] and [`run`], and invokes wit-bindgen's export
//!    macro in the module's crate.

mod dispatch;
mod spec;

pub use dispatch::{describe, resolve_choices, resolve_deps, resolve_inputs, run};
pub use spec::*;

use serde::Serialize;

use crate::bindings::parproc::jobs::types::{ProcError, Value};
use crate::dep_context::{IntoChoiceMap, IntoChoices, IntoDeps};
use crate::value::FromValue;
use crate::{Context, DepContext, Error, json};

/// Wraps a computed dep so that the host can call it: gives a closure `|d| ...` its
/// parameter type (no annotation needed), checks what it returns and normalises that.
pub fn dep_fn<F: Fn(&DepContext) -> R, R: IntoDeps>(
    f: F,
) -> impl Fn(&DepContext) -> Result<Vec<String>, String> {
    move |ctx| f(ctx).into_deps()
}

/// Wraps computed choices of one placeholder; see [`dep_fn`].
pub fn choices_fn<F: Fn(&DepContext) -> R, R: IntoChoices>(
    f: F,
) -> impl Fn(&DepContext) -> Result<Vec<Value>, String> {
    move |ctx| f(ctx).into_choices()
}

/// Wraps a computed choices map; see [`dep_fn`].
pub fn choice_map_fn<F: Fn(&DepContext) -> R, R: IntoChoiceMap>(
    f: F,
) -> impl Fn(&DepContext) -> Result<Vec<(String, Vec<Value>)>, String> {
    move |ctx| f(ctx).into_choice_map()
}

/// The JSON text of a module param.
pub fn param_json<T: Serialize + ?Sized>(value: &T) -> Result<String, String> {
    json::to_text(value)
}

/// What a job function returns: `()` or `Result<T, E>` with `T: Serialize` and
/// `E: Into<Error>`.
#[diagnostic::on_unimplemented(
    message = "a job function cannot return `{Self}`",
    label = "return `Result<T, E>` (T: serde::Serialize, E: Into<parproc_guest::Error>) or `()`",
    note = "the result crosses to the host as JSON; an error ends the proc as failed, skipped or no-change"
)]
pub trait IntoRunResult {
    /// The JSON result, or how the proc ended without one.
    fn into_run_result(self) -> Result<String, ProcError>;
}

impl IntoRunResult for () {
    fn into_run_result(self) -> Result<String, ProcError> {
        Ok("null".to_owned())
    }
}

impl<T: Serialize, E: Into<Error>> IntoRunResult for Result<T, E> {
    fn into_run_result(self) -> Result<String, ProcError> {
        let value = self.map_err(|e| e.into().into_proc_error())?;
        serde_json::to_string(&value)
            .map_err(|e| ProcError::Failed(format!("result is not serialisable: {e}")))
    }
}

/// Turns what the job function returned into the WIT result.
pub fn finish<R: IntoRunResult>(returned: R) -> Result<String, ProcError> {
    returned.into_run_result()
}

/// The arg `name` of the running proc, converted to the parameter type `T`.
pub fn arg<T: FromValue>(ctx: &Context, name: &str) -> Result<T, ProcError> {
    let arg = ctx
        .args()
        .iter()
        .find(|arg| arg.name == name)
        .ok_or_else(|| ProcError::Failed(format!("missing argument `{name}`")))?;
    T::from_value(&arg.value).map_err(|why| ProcError::Failed(format!("argument `{name}`: {why}")))
}

/// Const check run by `export_jobs!`: no two jobs share a name.
pub const fn check_unique_names(names: &[&str]) {
    let mut i = 0;
    while i < names.len() {
        let mut j = i + 1;
        while j < names.len() {
            if str_eq(names[i], names[j]) {
                panic!("two jobs passed to `export_jobs!` have the same name");
            }
            j += 1;
        }
        i += 1;
    }
}

/// Const check run by `export_jobs!` for each default target: whether
/// `target` can name something among the jobs `names` (proc names and proto
/// patterns): the same name, or, segment by segment (split at `separator`),
/// a proto's `[placeholder]` segment or a glob (`*`, `?`) in the target's.
/// Lenient where it cannot be sure (a glob matches any segment), so a target
/// the host would accept is never refused.
pub const fn names_a_job(target: &str, names: &[&str], separator: &str) -> bool {
    let mut i = 0;
    while i < names.len() {
        if str_eq(target, names[i]) || segments_match(target, names[i], separator) {
            return true;
        }
        i += 1;
    }
    false
}

/// Const check run by `export_jobs!` when the module denies missing deps: the
/// index of the first named dep in `deps` that [`names_a_job`] refuses.
pub const fn first_missing_dep(deps: &[DepSpec], names: &[&str], separator: &str) -> Option<usize> {
    let mut i = 0;
    while i < deps.len() {
        if let DepSpec::Name(d) = deps[i]
            && !names_a_job(d, names, separator)
        {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Whether `target` and the pattern `name` have as many segments, each equal,
/// a placeholder in either, or a glob in `target`.
const fn segments_match(target: &str, name: &str, separator: &str) -> bool {
    let (t, n, sep) = (target.as_bytes(), name.as_bytes(), separator.as_bytes());
    let (mut ti, mut ni) = (0, 0);
    loop {
        let te = segment_end(t, ti, sep);
        let ne = segment_end(n, ni, sep);
        let placeholder = contains(n, ni, ne, b'[');
        let glob =
            contains(t, ti, te, b'*') || contains(t, ti, te, b'?') || contains(t, ti, te, b'[');
        if !placeholder && !glob && !bytes_eq(t, ti, te, n, ni, ne) {
            return false;
        }
        let (t_done, n_done) = (te >= t.len(), ne >= n.len());
        if t_done || n_done {
            return t_done && n_done;
        }
        ti = te + sep.len();
        ni = ne + sep.len();
    }
}

/// Where the segment of `s` starting at `from` ends (at the next `sep`, or
/// the end).
const fn segment_end(s: &[u8], from: usize, sep: &[u8]) -> usize {
    let mut i = from;
    while i < s.len() {
        if !sep.is_empty()
            && i + sep.len() <= s.len()
            && bytes_eq(s, i, i + sep.len(), sep, 0, sep.len())
        {
            return i;
        }
        i += 1;
    }
    s.len()
}

const fn contains(s: &[u8], from: usize, to: usize, b: u8) -> bool {
    let mut i = from;
    while i < to {
        if s[i] == b {
            return true;
        }
        i += 1;
    }
    false
}

const fn bytes_eq(a: &[u8], af: usize, at: usize, b: &[u8], bf: usize, bt: usize) -> bool {
    if at - af != bt - bf {
        return false;
    }
    let mut i = 0;
    while i < at - af {
        if a[af + i] != b[bf + i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
