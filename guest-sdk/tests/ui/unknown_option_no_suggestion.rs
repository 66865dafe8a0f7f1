use parproc_guest::prelude::*;

#[proto(name = "build::[env]", track_imports = true)]
fn build(env: String) {
    let _ = env;
}

fn main() {}
