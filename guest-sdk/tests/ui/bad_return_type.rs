use parproc_guest::prelude::*;

#[proc]
fn build() -> String {
    String::new()
}

fn main() {}
