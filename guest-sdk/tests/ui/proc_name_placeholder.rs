use parproc_guest::prelude::*;

#[proc(name = "build::[env]")]
fn build() {}

fn main() {}
