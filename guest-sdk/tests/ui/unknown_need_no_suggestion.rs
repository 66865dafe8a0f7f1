use parproc_guest::prelude::*;

#[proc(needs(filesystem = ["/design"]))]
fn synth() {}

fn main() {}
