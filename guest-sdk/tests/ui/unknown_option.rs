use parproc_guest::prelude::*;

#[proc(nwo, deps = ["setup"])]
fn build() {}

fn main() {}
