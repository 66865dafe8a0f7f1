//! Scenario fixture: a `dep::[x]::[y]` whose args give defaults for its placeholders and
//! more (S-PAT-01), and a `main::[value]` whose pattern dep matches no proto (S-DEPS-09).

use parproc_guest::prelude::*;
use parproc_guest::serde_json::{Map, Value as Json};

/// Returns its own args: only the placeholders are kept.
#[proto(
    name = "dep::[x]::[y]",
    args(x = "test", y = 42, a = "A", b = "B", c = 100)
)]
fn dep(ctx: &Context, _x: String, _y: i64) -> Result<Json, Error> {
    let mut map = Map::new();
    for arg in ctx.args() {
        map.insert(arg.name.clone(), arg.value.to_json());
    }
    Ok(Json::Object(map))
}

#[proto(name = "main::[value]", deps = ["dep::[x]::[y]"], args(x = "test", y = 42))]
fn main_value(_value: String) -> Result<i64, Error> {
    Ok(1)
}

parproc_guest::export_jobs!(dep, main_value);
