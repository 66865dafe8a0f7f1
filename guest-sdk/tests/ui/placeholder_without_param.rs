use parproc_guest::prelude::*;

#[proto(name = "build::[env]")]
fn build(_ctx: &Context, target: String) -> Result<String, Error> {
    Ok(target)
}

fn main() {}
