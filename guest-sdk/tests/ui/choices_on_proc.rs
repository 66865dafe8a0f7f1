use parproc_guest::prelude::*;

#[proc(choices(env = ["dev"]))]
fn build() {}

fn main() {}
