//! Scenario fixture: arg choices and globs (parproc's `tests/arg_choices.py`, S-SUP-13,
//! S-SUP-17, S-SUP-18).
//!
//! The arg-choice scenarios (S-ARGC-*) declare `foo::[x]::[y]` with a different `arg_choices` each; here its
//! choices are computed by the guest from the global param `ac` (a JSON map from placeholder
//! to allowed values) that each test sets, so one proto serves them all. `g::[x]::[y]`,
//! `b::[env]` and `h::[x]::[y]` have fixed choices.

use parproc_guest::prelude::*;
use parproc_guest::serde_json::{Map, Value as Json};

/// The choices map in the param `ac` (none when it is absent).
fn ac(d: &DepContext) -> Result<Vec<(String, Vec<Value>)>, String> {
    let map: Map<String, Json> = d.param("ac").unwrap_or_default();
    let mut out = Vec::new();
    for (key, values) in map {
        let Json::Array(values) = values else {
            return Err(format!("the choices of `{key}` are not a list"));
        };
        let mut choices = Vec::new();
        for v in values {
            choices.push(match v {
                Json::String(s) => Value::Text(s),
                Json::Bool(b) => Value::Boolean(b),
                Json::Number(n) => match n.as_i64() {
                    Some(i) => Value::Integer(i),
                    None => Value::Float(n.as_f64().unwrap_or_default()),
                },
                other => return Err(format!("unsupported choice {other}")),
            });
        }
        out.push((key, choices));
    }
    Ok(out)
}

// ---- the S-ARGC common proto, and S-ARGC-10's ------------------------------------------------------

#[proto(name = "foo::[x]::[y]", choices = ac)]
fn foo(x: String, y: i64) -> Result<String, Error> {
    Ok(format!("{x}_{y}"))
}

#[proto(name = "foo::[x]", choices = ac)]
fn foo_x(x: String) -> Result<String, Error> {
    Ok(x)
}

// ---- S-SUP-17: glob order follows the choices -------------------------------------------------

#[proto(name = "g::[x]::[y]", choices(x = ["b", "a"], y = [1, 2]))]
fn g(x: String, y: i64) -> Result<Json, Error> {
    Ok(json!([x, y]))
}

// ---- S-SUP-18: a glob inside a proto dep -------------------------------------------------------

#[proto(name = "b::[env]", choices(env = ["dev", "prod"]))]
fn b_env(env: String) -> Result<String, Error> {
    Ok(format!("b_{env}"))
}

#[proto(name = "all", deps = ["b::*"])]
fn all(ctx: &Context) -> Result<Vec<String>, Error> {
    let mut names = ctx.result_names();
    names.sort();
    Ok(names)
}

// ---- S-SUP-13 (last line): a glob on a placeholder without choices -----------------------------

#[proto(name = "h::[x]::[y]", choices(x = ["a"]))]
fn h(_x: String, _y: String) {}

parproc_guest::export_jobs!(foo, foo_x, g, b_env, all, h);
