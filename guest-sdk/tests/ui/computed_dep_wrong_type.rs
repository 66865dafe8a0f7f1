use parproc_guest::prelude::*;

#[proto(name = "build::[env]", deps = [|_d| 42])]
fn build(env: String) {
    let _ = env;
}

fn main() {}
