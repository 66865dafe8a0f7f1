use parproc_guest::prelude::*;

#[proc(now)]
fn func0(_ctx: &Context) -> Result<(), Error> {
    std::thread::sleep(std::time::Duration::from_secs(1));
    Ok(())
}

#[proc(now)]
fn func1(_ctx: &Context) -> Result<(), Error> {
    std::thread::sleep(std::time::Duration::from_secs(3));
    Ok(())
}

#[proc(now, deps = ["func0", "func1"])]
fn func2(ctx: &Context) -> Result<String, Error> {
    Ok(format!("func0 gave {:?}", ctx.result_json("func0")))
}

#[proto(name = "build::[env]", choices(env = ["dev", "prod"]))]
fn build(_ctx: &Context, env: String) -> Result<String, Error> {
    Ok(format!("built {env}"))
}

parproc_guest::export_jobs!(func0, func1, func2, build);
