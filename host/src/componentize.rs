//! Job modules from any language that builds a WASI preview1 core module:
//! `parproc-host bindgen c` writes C bindings of the `jobs` world, and
//! `parproc-host componentize` turns a core module into a job component.
//!
//! Both read the WIT package the host was built with (`wit/parproc.wit`), so a
//! module built with them targets exactly the contract this host loads. The
//! preview1 → WASI 0.2 adapter is the one wasmtime publishes for the version
//! the host links (the crate `wasi-preview1-component-adapter-provider`, pinned
//! to wasmtime's version), embedded in the binary: nothing is downloaded.
//! `docs/any-language.md` is the guide.

use std::path::Path;

use anyhow::{Context as _, anyhow, bail};
use wit_parser::{Resolve, WorldId};

/// The WIT package of the contract, as the host was built with it.
pub const WIT: &str = include_str!("../../wit/parproc.wit");

/// The WASI packages the world uses (`wit/deps`), each after those it uses.
const WIT_DEPS: [(&str, &str); 7] = [
    ("io.wit", include_str!("../../wit/deps/io.wit")),
    ("random.wit", include_str!("../../wit/deps/random.wit")),
    ("clocks.wit", include_str!("../../wit/deps/clocks.wit")),
    (
        "filesystem.wit",
        include_str!("../../wit/deps/filesystem.wit"),
    ),
    ("sockets.wit", include_str!("../../wit/deps/sockets.wit")),
    ("cli.wit", include_str!("../../wit/deps/cli.wit")),
    ("http.wit", include_str!("../../wit/deps/http.wit")),
];

/// The name of the world a job module targets.
pub const WORLD: &str = "jobs";

/// The custom section a core module carries its component type in.
const TYPE_SECTION: &str = "component-type";

fn resolve() -> anyhow::Result<(Resolve, WorldId)> {
    let mut resolve = Resolve::default();
    for (name, text) in WIT_DEPS {
        resolve
            .push_str(name, text)
            .with_context(|| format!("the host's own WIT (deps/{name}) does not parse"))?;
    }
    let package = resolve
        .push_str("parproc.wit", WIT)
        .context("the host's own WIT does not parse")?;
    let world = resolve.select_world(&[package], Some(WORLD))?;
    Ok((resolve, world))
}

/// The files of the C bindings of the `jobs` world: `jobs.h`, `jobs.c` and
/// `jobs_component_type.o` (the component type, linked into the module so that
/// `componentize` finds it), as `(file name, contents)`.
pub fn c_bindings() -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let (mut resolve, world) = resolve()?;
    let mut files = wit_bindgen_core::Files::default();
    wit_bindgen_c::Opts::default()
        .build()
        .generate(&mut resolve, world, &mut files)
        .context("generating the C bindings")?;
    Ok(files
        .iter()
        .map(|(name, bytes)| (name.to_owned(), bytes.to_vec()))
        .collect())
}

/// Write the C bindings into `dir` (created when missing). A file whose
/// contents are already right is left alone, so that a build tool sees no
/// change.
pub fn write_c_bindings(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, bytes) in c_bindings()? {
        let path = dir.join(&name);
        if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
            std::fs::write(&path, &bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(())
}

/// Whether a core module already carries a component type (wit-bindgen's
/// object file, or an earlier `embed`).
fn has_component_type(core: &[u8]) -> anyhow::Result<bool> {
    for payload in wasmparser::Parser::new(0).parse_all(core) {
        match payload.context("not a WebAssembly module")? {
            wasmparser::Payload::Version {
                encoding: wasmparser::Encoding::Component,
                ..
            } => bail!("it is a component already: run it with `parproc-host run`"),
            wasmparser::Payload::CustomSection(s) if s.name().starts_with(TYPE_SECTION) => {
                return Ok(true);
            }
            _ => {}
        }
    }
    Ok(false)
}

/// Turn a WASI preview1 core module into a job component.
///
/// The module's preview1 imports (`wasi_snapshot_preview1`) are served by the
/// embedded reactor adapter; a module without a component type gets the
/// host's `jobs` world, so a hand-written module only needs the canonical-ABI
/// export names (`parproc:jobs/procs@0.2.0#run` and so on, see
/// `docs/any-language.md`). An error names the missing export or import in the
/// contract's words.
pub fn componentize(core: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut module = core.to_vec();
    if !has_component_type(core)? {
        let (resolve, world) = resolve()?;
        wit_component::embed_component_metadata(
            &mut module,
            &resolve,
            world,
            wit_component::StringEncoding::UTF8,
            false,
        )
        .context("adding the `jobs` world to the module")?;
    }
    let mut encoder = wit_component::ComponentEncoder::default();
    encoder.validate(true).module(&module).map_err(explain)?;
    encoder
        .adapter(
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )
        .context("loading the preview1 adapter")?;
    encoder.encode().map_err(explain)
}

/// Turn a WASI preview1 command module (a `_start` export, like every
/// `wasm32-wasi` program and the YoWASP tools) into a `wasi:cli/command`
/// component, with the embedded command adapter: how `context.exec` runs
/// preview1 tools through the same linker and `wasi:filesystem` layer as
/// job modules. wit-component validates it with the proposals wasmtime
/// enables (exception handling included).
pub fn command(core: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut encoder = wit_component::ComponentEncoder::default();
    encoder
        .validate(true)
        .module(core)
        .context("it is not a WASI preview1 command module")?;
    encoder
        .adapter(
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
        )
        .context("loading the preview1 command adapter")?;
    encoder
        .encode()
        .context("it is not a WASI preview1 command module")
}

/// Put wit-component's errors in the words of the contract: which function of
/// which interface is missing, and what a job module must export.
fn explain(e: anyhow::Error) -> anyhow::Error {
    let text = format!("{e:#}");
    let quoted: Vec<&str> = text.split('`').skip(1).step_by(2).collect();
    if text.contains("failed to find export of interface")
        && let [interface, function, ..] = quoted.as_slice()
    {
        return anyhow!(
            "the module does not export `{function}` of `{interface}` (core export name \
             `{interface}#{function}`): a job module exports every function of the \
             `declarations` and `procs` interfaces; with the C SDK, define \
             `void parproc_declare(void)` and link guest-sdk/c/parproc.c"
        );
    }
    if text.contains("module requires an import interface named")
        && let [module, ..] = quoted.as_slice()
    {
        return anyhow!(
            "the module imports from `{module}`, which the `jobs` world does not offer: a job \
             module may import `parproc:jobs/context@…` (its context), WASI preview1 \
             (`wasi_snapshot_preview1`) and nothing else"
        );
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_bindings_name_the_world_and_its_exports() {
        let files = c_bindings().unwrap();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["jobs.c", "jobs.h", "jobs_component_type.o"]);
        let header = String::from_utf8(files[1].1.clone()).unwrap();
        assert!(header.contains("bool exports_parproc_jobs_procs_run("));
        assert!(header.contains("void exports_parproc_jobs_declarations_describe("));
    }

    #[test]
    fn a_component_is_refused_and_garbage_is_not_a_module() {
        let e = componentize(b"\0asm\x0d\0\x01\0").unwrap_err();
        assert!(format!("{e:#}").contains("component already"), "{e:#}");
        let e = componentize(b"hello").unwrap_err();
        assert!(
            format!("{e:#}").contains("not a WebAssembly module"),
            "{e:#}"
        );
    }

    #[test]
    fn a_module_without_the_exports_names_the_first_missing_one() {
        let core = wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap();
        let e = componentize(&core).unwrap_err().to_string();
        assert!(
            e.starts_with("the module does not export `") && e.contains("parproc:jobs/"),
            "{e}"
        );
    }
}
