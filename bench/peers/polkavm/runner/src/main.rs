//! polkavm-runner — run one of jark's benchmark programs on PolkaVM's
//! recompiler (docs/bench.md, "PolkaVM side by side, session 13").
//!
//! It speaks bench/peers/run_anan.mjs's command line, so that
//! `bench_pvm --out DIR --peers CONFIG --node polkavm-runner` runs every blob
//! on it and checks its result against jark's:
//!
//!   polkavm-runner CONFIG --blob FILE.pvm --gas G --regs 'i=v,...'
//!                  --pages 'addr:len,...' --result-reg 7 --runs N
//!   polkavm-runner CONFIG --jkp FILE.jkp [--entry K] --regs 'i=v,...' ...
//!
//! --blob is a raw Graypaper program blob (jark's assembler's output) run from
//! pc 0 with the given registers and read-write pages; --jkp is a jark program
//! file (`jark cc`'s output) laid out as the Graypaper's standard program
//! (jk_pvm_stdprog_init) and entered at endpoint K, the registers it sets
//! first and --regs on top. CONFIG is `-` (the defaults) or a comma list of
//!   gas=sync|async|none   gas metering (default sync, as jark's kernel runs)
//!   sandbox=linux|generic the recompiler's sandbox (default linux)
//!   pin=core|ccx|off      PolkaVM's core pinning while running (default core)
//!   paging=static|dynamic memory layout (default static; dynamic needs
//!                         userfaultfd)
//!   warm=0|1              1: each fresh instance runs the program once,
//!                         untimed, before the timed run (default 0)
//! Every run is a fresh instance of one compiled module; all pages it uses
//! are read and written back before the clock starts, so first-touch faults
//! stay outside the timed run() (the faults= field counts those inside it, in
//! the process that runs the guest). Prints one line:
//!   ANAN ok result=<r> anan_s=<best s> gas_used=<n|n/a> faults=<n> compile_us=<t> config=<...>
//! or `ANAN error <reason>`, and exits 0 either way (the caller decides).

mod jkp;

use polkavm::{
    ArcBytes, BackendKind, Config, CorePinning, Engine, GasMeteringKind, InterruptKind, Module, ModuleConfig, ProgramBlob,
    ProgramCounter, ProgramParts, RawInstance, Reg, SandboxKind,
};
use polkavm::program::InstructionSetKind;
use std::time::Instant;

const ZONE: u32 = 0x10000; // Z_Z
const INPUT: u32 = 0x100_0000; // Z_I
const PAGE: u32 = 0x1000;
const HALT_ADDRESS: u64 = 0xffff_0000;
const RW_BASE_NO_RO: u32 = 0x20000; // where PolkaVM's read-write data starts with no ro data

struct RunConfig {
    gas: Option<GasMeteringKind>,
    sandbox: SandboxKind,
    pin: CorePinning,
    dynamic_paging: bool,
    warm: bool,
    text: String,
}

struct Opts {
    config: RunConfig,
    blob: Option<String>,
    jkp: Option<String>,
    entry: usize,
    gas: i64,
    regs: Vec<(usize, u64)>,
    pages: Vec<(u32, u32)>,
    result_reg: usize,
    runs: usize,
}

/// What to load and how to lay it out, whichever the input was.
struct Program {
    parts: ProgramParts,
    aux_data_size: u32,
    entry_pc: u32,
    standard: bool, // the Graypaper standard layout: registers and pages from it
    pages: Vec<(u32, u32)>,
}

fn fail(msg: impl std::fmt::Display) -> ! {
    println!("ANAN error {msg}");
    std::process::exit(0);
}

fn num<T: std::str::FromStr>(text: &str, what: &str) -> T {
    text.parse().unwrap_or_else(|_| fail(format!("bad {what} '{text}'")))
}

fn parse_config(text: &str) -> RunConfig {
    let mut c = RunConfig {
        gas: Some(GasMeteringKind::Sync),
        sandbox: SandboxKind::Linux,
        pin: CorePinning::PinToCore,
        dynamic_paging: false,
        warm: false,
        text: String::new(),
    };
    for item in text.split(',').filter(|s| !s.is_empty() && *s != "-") {
        match item {
            "gas=sync" => c.gas = Some(GasMeteringKind::Sync),
            "gas=async" => c.gas = Some(GasMeteringKind::Async),
            "gas=none" => c.gas = None,
            "sandbox=linux" => c.sandbox = SandboxKind::Linux,
            "sandbox=generic" => c.sandbox = SandboxKind::Generic,
            "pin=core" => c.pin = CorePinning::PinToCore,
            "pin=ccx" => c.pin = CorePinning::PinToCcx,
            "pin=off" => c.pin = CorePinning::Disabled,
            "paging=static" => c.dynamic_paging = false,
            "paging=dynamic" => c.dynamic_paging = true,
            "warm=0" => c.warm = false,
            "warm=1" => c.warm = true,
            _ => fail(format!("unknown config item '{item}'")),
        }
    }
    c.text = format!(
        "gas={},sandbox={},pin={},paging={},warm={}",
        match c.gas {
            Some(GasMeteringKind::Sync) => "sync",
            Some(GasMeteringKind::Async) => "async",
            None => "none",
        },
        if c.sandbox == SandboxKind::Linux { "linux" } else { "generic" },
        match c.pin {
            CorePinning::PinToCore => "core",
            CorePinning::PinToCcx => "ccx",
            CorePinning::Disabled => "off",
        },
        if c.dynamic_paging { "dynamic" } else { "static" },
        u8::from(c.warm),
    );
    c
}

fn parse_args() -> Opts {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // bench_pvm runs `NODE SCRIPT --blob ...`: the "script" slot carries CONFIG.
    let config = if args.first().is_some_and(|a| !a.starts_with("--")) { args.remove(0) } else { String::new() };
    let mut o = Opts {
        config: parse_config(&config),
        blob: None,
        jkp: None,
        entry: 0,
        gas: 1_000_000_000_000,
        regs: Vec::new(),
        pages: Vec::new(),
        result_reg: 7,
        runs: 3,
    };
    for pair in args.chunks(2) {
        let [key, val] = pair else { fail(format!("missing value for {}", pair[0])) };
        match key.as_str() {
            "--blob" => o.blob = Some(val.clone()),
            "--jkp" => o.jkp = Some(val.clone()),
            "--entry" => o.entry = num(val, "--entry"),
            "--gas" => o.gas = num(val, "--gas"),
            "--result-reg" => o.result_reg = num(val, "--result-reg"),
            "--runs" => o.runs = num(val, "--runs"),
            "--regs" => {
                for item in val.split(',').filter(|s| !s.is_empty()) {
                    let (i, v) = item.split_once('=').unwrap_or_else(|| fail(format!("bad register '{item}'")));
                    o.regs.push((num(i, "register index"), num(v, "register value")));
                }
            }
            "--pages" => {
                for item in val.split(',').filter(|s| !s.is_empty()) {
                    let (a, l) = item.split_once(':').unwrap_or_else(|| fail(format!("bad page range '{item}'")));
                    o.pages.push((num(a, "page address"), num(l, "page length")));
                }
            }
            _ => fail(format!("unknown option {key}")),
        }
    }
    if o.blob.is_some() == o.jkp.is_some() {
        fail("give exactly one of --blob and --jkp");
    }
    if o.runs == 0 || o.result_reg > 12 || o.regs.iter().any(|&(i, _)| i > 12) {
        fail("--runs must be positive and registers 0..12");
    }
    o
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| fail(format!("cannot read {path}: {e}")))
}

fn round_up(x: u32, to: u32) -> u32 {
    x.div_ceil(to) * to
}

/// A raw blob: PolkaVM's read-write data section is sized to cover the
/// benchmark's pages (it starts at 0x20000 when there is no read-only data,
/// the lowest address jark's benchmarks use).
fn raw_program(o: &Opts, path: &str) -> Program {
    let mut parts = ProgramParts::empty(InstructionSetKind::JamV1);
    parts.code_and_jump_table = ArcBytes::from(read(path));
    let mut end = RW_BASE_NO_RO;
    for &(addr, len) in &o.pages {
        if addr < RW_BASE_NO_RO {
            fail(format!("page 0x{addr:x} lies below PolkaVM's read-write data (0x{RW_BASE_NO_RO:x})"));
        }
        end = end.max(addr.checked_add(len).unwrap_or_else(|| fail("page range past 4 GiB")));
    }
    parts.rw_data_size = end - RW_BASE_NO_RO;
    Program { parts, aux_data_size: 0, entry_pc: 0, standard: false, pages: o.pages.clone() }
}

/// A jark program file as the Graypaper's standard program: PolkaVM's
/// memory map is the same layout when its aux data region is Z_I long
/// (checked after the module is built).
fn standard_program(o: &Opts, path: &str) -> Program {
    let p = jkp::parse(&read(path)).unwrap_or_else(|e| fail(format!("{path}: {e}")));
    let entry_pc = *p.entry_pcs.get(o.entry).unwrap_or_else(|| fail(format!("{path} has no endpoint {}", o.entry)));
    let mut parts = ProgramParts::empty(InstructionSetKind::JamV1);
    parts.ro_data_size = p.ro_data.len() as u32;
    parts.rw_data_size = round_up(p.rw_data.len() as u32, PAGE) + p.heap_pages * PAGE;
    parts.stack_size = p.stack_size;
    parts.ro_data = ArcBytes::from(p.ro_data);
    parts.rw_data = ArcBytes::from(p.rw_data);
    parts.code_and_jump_table = ArcBytes::from(p.code);
    Program { parts, aux_data_size: INPUT, entry_pc, standard: true, pages: Vec::new() }
}

/// Minor plus major page faults of a process so far (/proc/PID/stat).
fn faults(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, s)| s).unwrap_or("");
    let f: Vec<u64> = after.split_whitespace().map(|s| s.parse().unwrap_or(0)).collect();
    // after the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt
    if f.len() > 9 { f[7] + f[9] } else { 0 }
}

/// Read every page the run will use and write the writable ones back, so
/// the guest's process has them mapped before the clock starts.
fn touch(inst: &mut RawInstance, ranges: &[(u32, u32, bool)]) {
    for &(addr, len, writable) in ranges {
        if len == 0 {
            continue;
        }
        let data = inst.read_memory(addr, len).unwrap_or_else(|e| fail(format!("read 0x{addr:x}+0x{len:x}: {e}")));
        if writable {
            inst.write_memory(addr, &data).unwrap_or_else(|e| fail(format!("write 0x{addr:x}+0x{len:x}: {e}")));
        }
    }
}

fn main() {
    let o = parse_args();
    let prog = match (&o.blob, &o.jkp) {
        (Some(path), _) => raw_program(&o, path),
        (_, Some(path)) => standard_program(&o, path),
        _ => unreachable!(),
    };
    let c = &o.config;

    let mut config = Config::new();
    config.set_backend(Some(BackendKind::Compiler));
    config.set_sandbox(Some(c.sandbox));
    config.set_core_pinning(c.pin);
    config.set_allow_experimental(c.sandbox == SandboxKind::Generic);
    config.set_allow_dynamic_paging(c.dynamic_paging);
    let engine = Engine::new(&config).unwrap_or_else(|e| fail(format!("engine ({}): {e}", c.text)));

    let mut mc = ModuleConfig::new();
    mc.set_page_size(PAGE);
    mc.set_gas_metering(c.gas);
    mc.set_dynamic_paging(c.dynamic_paging);
    mc.set_aux_data_size(prog.aux_data_size);
    let blob = ProgramBlob::from_parts(prog.parts).unwrap_or_else(|e| fail(format!("blob: {e}")));
    let t0 = Instant::now();
    let module = Module::from_blob(&engine, &mc, blob).unwrap_or_else(|e| fail(format!("compile ({}): {e}", c.text)));
    let compile_us = t0.elapsed().as_secs_f64() * 1e6;

    let map = module.memory_map();
    let mut ranges: Vec<(u32, u32, bool)> = prog.pages.iter().map(|&(a, l)| (a, l, true)).collect();
    let mut base_regs = [0u64; 13];
    if prog.standard {
        let ro_len = map.ro_data_size();
        let want_rw = 2 * ZONE + round_up(ro_len, ZONE);
        let want_stack = (0x1_0000_0000u64 - 2 * u64::from(ZONE) - u64::from(INPUT)) as u32;
        if map.rw_data_address() != want_rw || map.stack_address_high() != want_stack {
            fail(format!(
                "PolkaVM's layout differs from the standard program's: rw at 0x{:x} (0x{want_rw:x}), stack top 0x{:x} (0x{want_stack:x})",
                map.rw_data_address(),
                map.stack_address_high()
            ));
        }
        ranges.push((map.ro_data_address(), ro_len, false));
        ranges.push((map.rw_data_address(), map.rw_data_size(), true));
        ranges.push((map.stack_address_low(), map.stack_size(), true));
        base_regs[0] = HALT_ADDRESS;
        base_regs[1] = u64::from(map.stack_address_high());
        base_regs[7] = u64::from(map.aux_data_address());
    }
    for &(i, v) in &o.regs {
        base_regs[i] = v;
    }

    let mut best = f64::INFINITY;
    let mut result = None;
    let mut gas_used = 0i64;
    let mut most_faults = 0u64;
    for _ in 0..o.runs {
        let mut inst = module.instantiate().unwrap_or_else(|e| fail(format!("instantiate: {e}")));
        for (i, &v) in base_regs.iter().enumerate() {
            inst.set_reg(Reg::from_raw(i as u32).unwrap(), v);
        }
        let pid = inst.pid().unwrap_or_else(std::process::id);
        touch(&mut inst, &ranges);
        if c.warm {
            // One untimed run first on the same instance: whatever PolkaVM
            // defers to an instance's first run is then outside the clock.
            // Only for programs that set up their own memory (the caller's
            // check of the result says whether that held).
            inst.set_gas(o.gas);
            inst.set_next_program_counter(ProgramCounter(prog.entry_pc));
            match inst.run() {
                Ok(InterruptKind::Finished) => {}
                other => fail(format!("warm-up run: {other:?}")),
            }
            for (i, &v) in base_regs.iter().enumerate() {
                inst.set_reg(Reg::from_raw(i as u32).unwrap(), v);
            }
        }
        inst.set_gas(o.gas);
        inst.set_next_program_counter(ProgramCounter(prog.entry_pc));

        let f0 = faults(pid);
        let t0 = Instant::now();
        let exit = inst.run();
        let t = t0.elapsed().as_secs_f64();
        let f = faults(pid).saturating_sub(f0);

        match exit {
            Ok(InterruptKind::Finished) => {}
            Ok(other) => fail(format!("exited with {other:?} at pc {:?}", inst.program_counter())),
            Err(e) => fail(format!("run: {e}")),
        }
        let r = inst.reg(Reg::from_raw(o.result_reg as u32).unwrap());
        let used = o.gas - inst.gas();
        if let Some(prev) = result {
            if prev != r || used != gas_used {
                fail(format!("runs disagree: result {prev} then {r}, gas {gas_used} then {used}"));
            }
        }
        result = Some(r);
        gas_used = used;
        best = best.min(t);
        most_faults = most_faults.max(f);
    }
    let gas_text = if c.gas.is_some() { gas_used.to_string() } else { "n/a".into() };
    println!(
        "ANAN ok result={} anan_s={best:.6} gas_used={gas_text} faults={most_faults} compile_us={compile_us:.1} config={}",
        result.unwrap(),
        c.text
    );
}
