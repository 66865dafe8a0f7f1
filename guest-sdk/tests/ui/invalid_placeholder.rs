use parproc_guest::prelude::*;

#[proto(name = "build::[my-env]")]
fn build() {}

fn main() {}
