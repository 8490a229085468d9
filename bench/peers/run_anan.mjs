// run_anan.mjs — run one jark benchmark blob on anan-as, the independent PVM
// (AssemblyScript, compiled to WebAssembly) pinned in package.json.
//
//   node run_anan.mjs --blob FILE.pvm --gas G --regs 'i=v,...'
//                     --pages 'addr:len,...' --result-reg 7 --runs 3
//
// The blob is a raw Graypaper program blob (no metadata, not SPI), exactly the
// bytes jark assembled and ran. Every run builds a fresh VM — program decode
// and memory set-up, which are not timed — and then only pvmResume(), the
// execution from pc 0 to the exit, is timed.
//
// Which anan-as build: $ANAN_BUILD, default "release-mini" — the optimised
// build with AssemblyScript's minimal runtime, whose garbage collector runs
// only when asked (we call __collect() between runs, untimed). The package's
// default export, "release", uses the incremental collector and is about 4-5x
// slower on these programs; ANAN_BUILD=release measures it.
//
// Prints one line:
//   ANAN ok result=<r[result-reg]> anan_s=<best seconds> gas_used=<n>
// or, when anan-as cannot run the program:
//   ANAN error <reason>
// and exits 0 either way (the caller decides); the run with the best time must
// halt and every run must give the same result.
import { readFileSync } from "node:fs";

const STATUS = { [-1]: "ok", 0: "halt", 1: "panic", 2: "page-fault", 3: "host-call", 4: "out-of-gas" };
const ACCESS_WRITE = 2; // anan-as Access.Write (read and write)
const PAGE = 4096;

function fail(msg) {
  console.log(`ANAN error ${msg}`);
  process.exit(0);
}

function parseArgs(argv) {
  const opts = { regs: "", pages: "", resultReg: 7, runs: 3, gas: 10n ** 12n };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    const val = argv[i + 1];
    if (val === undefined) fail(`missing value for ${key}`);
    if (key === "--blob") opts.blob = val;
    else if (key === "--gas") opts.gas = BigInt(val);
    else if (key === "--regs") opts.regs = val;
    else if (key === "--pages") opts.pages = val;
    else if (key === "--result-reg") opts.resultReg = Number(val);
    else if (key === "--runs") opts.runs = Number(val);
    else fail(`unknown option ${key}`);
  }
  if (!opts.blob) fail("--blob is required");
  return opts;
}

const opts = parseArgs(process.argv.slice(2));

const build = process.env.ANAN_BUILD || "release-mini";
if (!/^[a-z-]+$/.test(build)) fail(`bad ANAN_BUILD ${build}`);
let anan;
try {
  anan = await import(`@fluffylabs/anan-as/${build}`);
} catch (e) {
  fail(`cannot load @fluffylabs/anan-as/${build} (run npm install in bench/peers): ${e.message}`);
}

const registers = new Array(13).fill(0n);
for (const item of opts.regs.split(",").filter(Boolean)) {
  const [idx, val] = item.split("=");
  registers[Number(idx)] = BigInt(val);
}
const pages = opts.pages
  .split(",")
  .filter(Boolean)
  .map((item) => {
    const [address, length] = item.split(":").map(Number);
    return { address, length, access: ACCESS_WRITE };
  });
const pageCount = pages.reduce((n, p) => n + Math.ceil(p.length / PAGE), 0);
const program = Array.from(readFileSync(opts.blob));

let best = Infinity;
let result = null;
let gasUsed = null;
for (let run = 0; run < opts.runs; run++) {
  let id = 0;
  let pause;
  let elapsed;
  try {
    const exe = anan.prepareProgram(
      anan.InputKind.Generic,
      anan.HasMetadata.No,
      program,
      registers,
      pages,
      [], // no initial memory contents: mapped pages start zeroed
      [], // args (SPI only)
      pageCount, // preallocate the arena, so pages come from one buffer
    );
    id = anan.pvmStart(exe, false);
    const t0 = process.hrtime.bigint();
    pause = anan.pvmResume(id, opts.gas, 0, false);
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  } catch (e) {
    fail(`threw: ${e.message ?? e}`);
  } finally {
    if (id) anan.pvmDestroy(id);
    if (typeof anan.__collect === "function") anan.__collect();
  }
  if (!pause) fail("pvmResume returned null");
  if (pause.status !== 0) {
    fail(`exited with ${STATUS[pause.status] ?? pause.status} at pc ${pause.pc} (exit arg ${pause.exitCode})`);
  }
  const r = BigInt.asUintN(64, BigInt(pause.registers[opts.resultReg]));
  if (result !== null && r !== result) fail(`runs disagree: ${result} then ${r}`);
  result = r;
  gasUsed = opts.gas - BigInt(pause.gas);
  if (elapsed < best) best = elapsed;
}
console.log(`ANAN ok result=${result} anan_s=${best.toFixed(6)} gas_used=${gasUsed}`);
