use parproc_guest::prelude::*;

#[proto(name = "build::[env]", args(level = 2))]
fn build(env: String, level: i64, x: bool) -> Result<String, Error> {
    Ok(format!("{env} {level} {x}"))
}

fn main() {}
