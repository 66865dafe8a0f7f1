use parproc_guest::prelude::*;

#[proc(needs(tools = ["yosys", "tools/yosys.wasm"]))]
fn synth() {}

fn main() {}
