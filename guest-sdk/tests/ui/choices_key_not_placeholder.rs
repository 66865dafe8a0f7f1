use parproc_guest::prelude::*;

#[proto(name = "build::[env]", choices(env = ["dev", "prod"], region = ["eu"]))]
fn build(env: String) {
    let _ = env;
}

fn main() {}
