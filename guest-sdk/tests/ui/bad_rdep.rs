use parproc_guest::prelude::*;

#[proc(rdeps = [when_sheduled("deploy::[env]")])]
fn build() {}

fn main() {}
