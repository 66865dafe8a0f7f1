use parproc_guest::prelude::*;

#[proc(inputs = ["src/a.txt"], needs(dirs = ["/src"]))]
fn build() {}

fn main() {}
