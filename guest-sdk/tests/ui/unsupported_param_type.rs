use parproc_guest::prelude::*;

#[proto(name = "build::[targets]")]
fn build(targets: Vec<String>) {
    let _ = targets;
}

fn main() {}
