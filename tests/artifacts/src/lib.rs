//! Paths of the guest fixtures (`tests/programs/*`) and examples (`examples/*`),
//! built for `wasm32-wasip2` by this crate's build script.
//!
//! Each package has a constant named after it in upper case (`RAW_BASIC`) that
//! holds the absolute path of its `.wasm` component; [`ALL`] lists them all.

include!(concat!(env!("OUT_DIR"), "/paths.rs"));
