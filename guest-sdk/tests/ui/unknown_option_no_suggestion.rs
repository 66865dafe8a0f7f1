use parproc_guest::prelude::*;

#[proto(name = "build::[env]", inputs = ["src/*.rs"])]
fn build(env: String) {
    let _ = env;
}

fn main() {}
