//! Synthesis of a few small Verilog designs, in parallel, by Yosys — an existing WASI
//! command-line tool (the YoWASP build) that each proc runs as a sub-step through
//! `context.exec`, inside its own sandbox and budgets.
//!
//! `synth::[design]` reads `/src/DESIGN.v`, runs `yosys -q -p "read_verilog …; synth -top
//! DESIGN; tee -q -o /out/DESIGN.stat.json stat -json"` with `/src` passed read-only and `/out`
//! writable, and returns the cell and wire counts from that JSON; `report` (the default
//! target) adds them up. With a state store a second run is up to date: the trace covers the
//! design the tool read, the data files it read from its own `/share`, and the tool's digest.
//!
//! ```text
//! bash examples/fpga/fetch-yosys.sh
//! cargo build --release --target wasm32-wasip2 -p fpga
//! parproc-host run --tool yosys=.cache/yosys/yosys.wasm --tool-dir yosys=.cache/yosys/share::/share \
//!     --dir examples/fpga/designs::/src --dir out::/out:rw --fuel 1e11 --incremental \
//!     target/wasm32-wasip2/release/fpga.wasm
//! ```
//!
//! examples/fpga/README.md has the figures and timings.

use parproc_guest::prelude::*;
use parproc_guest::serde_json::{self, Value as Json};

/// The designs under `designs/`.
const DESIGNS: [&str; 3] = ["alu", "counter", "uart_tx"];

/// Synthesises one design with Yosys and returns its statistics.
#[proto(
    name = "synth::[design]",
    choices(design = ["alu", "counter", "uart_tx"]),
    needs(dirs = ["/src"], dirs_rw = ["/out"], tools = ["yosys"])
)]
fn synth(ctx: &Context, design: String) -> Result<Json, Error> {
    let stat = format!("/out/{design}.stat.json");
    let script =
        format!("read_verilog /src/{design}.v; synth -top {design}; tee -q -o {stat} stat -json");
    let out = Exec::new("yosys")
        .args(["-q", "-p", &script])
        .dir("/src", false)
        .dir("/out", true)
        .run()?;
    if !out.success() {
        return Err(Error::failed(format!(
            "yosys exited with {}: {}",
            out.exit_code,
            out.stderr_text().trim()
        )));
    }
    let text =
        std::fs::read(&stat).map_err(|e| Error::failed(format!("yosys wrote no {stat}: {e}")))?;
    let json: Json = serde_json::from_slice(&text)
        .map_err(|e| Error::failed(format!("{stat} is not JSON: {e}")))?;
    let module = &json["modules"][format!("\\{design}")];
    let count = |key: &str| module[key].as_u64().unwrap_or_default();
    ctx.info(&format!(
        "{design}: {} cells, {} wires",
        count("num_cells"),
        count("num_wires")
    ));
    Ok(json!({
        "design": design,
        "cells": count("num_cells"),
        "wires": count("num_wires"),
        "cells_by_type": module["num_cells_by_type"],
    }))
}

/// Adds up the cells of every design (the default target).
#[proc(deps = ["synth::*"])]
fn report(ctx: &Context) -> Result<Json, Error> {
    let mut cells = serde_json::Map::new();
    let mut total = 0;
    for design in DESIGNS {
        let r: Json = ctx
            .result(&format!("synth::{design}"))
            .ok_or_else(|| Error::failed(format!("no result of synth::{design}")))?;
        let n = r["cells"].as_u64().unwrap_or_default();
        total += n;
        cells.insert(design.to_owned(), n.into());
    }
    Ok(json!({ "cells": cells, "total": total }))
}

export_jobs!(synth, report; targets = ["report"]);
