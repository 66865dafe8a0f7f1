//! The FPGA example (`examples/fpga`): three Verilog designs synthesised in parallel by the
//! real Yosys (YoWASP's `yosys.wasm`, fetched and checked by `examples/fpga/fetch-yosys.sh`,
//! which `guest-sdk/install-tools.sh` runs), each proc running it through `context.exec`;
//! the figures Yosys reports are exact, and with a state store the second run is up to date
//! and a changed design runs alone.

use std::path::{Path, PathBuf};
use std::process::Command;

use parproc_test_artifacts as wasm;
use serde_json::json;

use crate::scenarios_incremental::read_report;

fn yosys() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let wasm = root.join(".cache/yosys/yosys.wasm");
    assert!(
        wasm.is_file(),
        "{} is missing: run examples/fpga/fetch-yosys.sh (guest-sdk/install-tools.sh runs it)",
        wasm.display()
    );
    wasm
}

#[test]
fn yosys_synthesises_the_designs_in_parallel_and_a_rerun_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tool = yosys();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fpga-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let src = dir.join("designs");
    std::fs::create_dir_all(dir.join("out")).expect("out dir");
    std::fs::create_dir_all(&src).expect("designs dir");
    for d in ["alu", "counter", "uart_tx"] {
        std::fs::copy(
            root.join(format!("examples/fpga/designs/{d}.v")),
            src.join(format!("{d}.v")),
        )
        .expect("copy a design");
    }
    let run = |tag: &str| {
        let report = dir.join(format!("{tag}.json"));
        let o = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
            .env("NO_COLOR", "1")
            .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
            .arg("run")
            .arg("--tool")
            .arg(format!("yosys={}", tool.display()))
            .arg("--tool-dir")
            .arg(format!(
                "yosys={}::/share",
                root.join(".cache/yosys/share").display()
            ))
            .arg("--dir")
            .arg(format!("{}::/src", src.display()))
            .arg("--dir")
            .arg(format!("{}::/out:rw", dir.join("out").display()))
            .args(["--fuel", "1e11", "--progress", "static", "--state-dir"])
            .arg(dir.join("state"))
            .arg("--report")
            .arg(&report)
            .arg(wasm::FPGA)
            .output()
            .expect("run parproc-host");
        read_report(&o, &report)
    };
    let (code, text, procs) = run("first");
    assert_eq!(code, Some(0), "{text}");
    let cells = |name: &str| {
        let r = &procs[name].result;
        (r["cells"].clone(), r["wires"].clone())
    };
    assert_eq!(cells("synth::alu"), (json!(1158), json!(1130)), "{text}");
    assert_eq!(cells("synth::counter"), (json!(47), json!(21)));
    assert_eq!(cells("synth::uart_tx"), (json!(136), json!(114)));
    assert_eq!(
        procs["synth::counter"].result["cells_by_type"],
        json!({"$_AND_": 15, "$_NOT_": 1, "$_SDFFE_PP0P_": 16, "$_XOR_": 15})
    );
    assert_eq!(
        procs["report"].result,
        json!({"cells": {"alu": 1158, "counter": 47, "uart_tx": 136}, "total": 1341})
    );
    assert!(dir.join("out/alu.stat.json").is_file());

    let (code, text, procs) = run("rerun");
    assert_eq!(code, Some(0), "{text}");
    for name in ["synth::alu", "synth::counter", "synth::uart_tx", "report"] {
        assert_eq!(procs[name].state, "UP_TO_DATE", "{name}: {text}");
    }
    assert_eq!(procs["report"].result["total"], 1341);

    // One design changed: it runs again, alone; the others stay up to date.
    let counter = src.join("counter.v");
    let text_v = std::fs::read_to_string(&counter).expect("read");
    std::fs::write(&counter, text_v.replace("16'd1;", "16'd2;")).expect("write");
    let (code, text, procs) = run("changed");
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(procs["synth::counter"].state, "SUCCEEDED", "{text}");
    assert_eq!(procs["synth::alu"].state, "UP_TO_DATE", "{text}");
    assert_eq!(procs["synth::uart_tx"].state, "UP_TO_DATE", "{text}");
}
