use parproc_guest::prelude::*;

#[proc]
async fn build() {}

fn main() {}
