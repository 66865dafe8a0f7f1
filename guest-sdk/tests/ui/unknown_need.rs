use parproc_guest::prelude::*;

#[proc(needs(dirs = ["/design"], tool = ["yosys"]))]
fn synth() {}

fn main() {}
