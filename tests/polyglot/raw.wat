;; A job module written by hand against the raw WIT (wit/parproc.wit), with no SDK: the guide
;; docs/any-language.md walks through it. It declares one proc, `hello`, that writes a line to
;; stdout through WASI preview1 (`fd_write`, served by the adapter `parproc-host componentize`
;; adds) and returns the JSON result "hi from WAT".
;;
;;     wat2wasm tests/polyglot/raw.wat -o raw.core.wasm      (Debian package wabt)
;;     parproc-host componentize raw.core.wasm -o raw.wasm
;;     parproc-host list raw.wasm
;;     parproc-host run raw.wasm hello --results
;;
;; Layouts follow the component model's canonical ABI for wasm32: a string is (pointer,
;; length), a list is (pointer, length), a record's fields are laid out in order, each aligned
;; to its own alignment; a result that does not fit in one core value is returned through a
;; pointer to memory the module owns. All-zero bytes are a valid value of every field this
;; module leaves alone (empty lists, `none`, `false`, wave 0).
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 1)

  ;; Static data.
  (data (i32.const 16) "hello")                    ;; the proc's name (5 bytes)
  (data (i32.const 32) "\"hi from WAT\"")          ;; its JSON result (13 bytes)
  (data (i32.const 48) "hello from a hand-written module\n")  ;; 33 bytes for stdout

  ;; describe's manifest at 1024: jobs = list(ptr 2048, len 1); targets, options and params
  ;; stay zero (no targets, default options, no params).
  (data (i32.const 1024) "\00\08\00\00\01\00\00\00")
  ;; The one job-decl at 2048: kind 0 (proc) at 0, name = (16, 5) at 4; every other field zero.
  (data (i32.const 2048) "\00\00\00\00\10\00\00\00\05\00\00\00")
  ;; run's result at 3072: tag 0 (ok) at 0, the JSON string = (32, 13) at 4.
  (data (i32.const 3072) "\00\00\00\00\20\00\00\00\0d\00\00\00")
  ;; 4096..4112: an all-zero result<list<…>, string> (ok, empty list) for the callbacks.
  ;; 4200: the iovec for fd_write: (48, 33); 4208: where fd_write puts the count.
  (data (i32.const 4200) "\30\00\00\00\21\00\00\00")

  ;; A bump allocator from 8192 up: the host copies args into memory through it.
  (global $next (mut i32) (i32.const 8192))
  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32)
      (param $size i32) (result i32)
    (local $at i32)
    ;; Round up to the alignment, then grow the memory when needed.
    (local.set $at
      (i32.and
        (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (global.set $next (i32.add (local.get $at) (local.get $size)))
    (if (i32.gt_u (global.get $next) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.eq
              (memory.grow (i32.add (i32.shr_u (local.get $size) (i32.const 16)) (i32.const 1)))
              (i32.const -1))
          (then unreachable))))
    (if (local.get $old_size)
      (then (memory.copy (local.get $at) (local.get $old) (local.get $old_size))))
    (local.get $at))

  ;; declarations.describe: () -> manifest
  (func (export "parproc:jobs/declarations@0.2.0#describe") (result i32)
    (i32.const 1024))

  ;; declarations.resolve-deps / resolve-inputs: (decl, index, ctx) -> result<list<string>,
  ;; string>; resolve-choices: (decl, param, ctx) -> result<list<tuple<…>>, string>. This
  ;; module declares nothing computed, so they are never called; they answer an empty list.
  (func (export "parproc:jobs/declarations@0.2.0#resolve-deps")
      (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (i32.const 4096))
  (func (export "parproc:jobs/declarations@0.2.0#resolve-inputs")
      (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (i32.const 4096))
  (func (export "parproc:jobs/declarations@0.2.0#resolve-choices")
      (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (i32.const 4096))

  ;; procs.run: (decl, proc-name, args) -> result<string, proc-error>
  (func (export "parproc:jobs/procs@0.2.0#run")
      (param $decl i32) (param $decl_len i32) (param $name i32) (param $name_len i32)
      (param $args i32) (param $args_len i32) (result i32)
    ;; stdout is fd 1: one iovec at 4200, the count written at 4208.
    (drop (call $fd_write (i32.const 1) (i32.const 4200) (i32.const 1) (i32.const 4208)))
    (i32.const 3072))
)
