use parproc_guest::prelude::*;

#[proc(deps = ["setup", 3])]
fn build() {}

fn main() {}
