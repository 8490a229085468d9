#!/bin/sh
# build.sh — build PolkaVM's library crates and our runner (runner/) with no
# network: cargo --offline, no crates.io, every outside crate given as a
# source snapshot by path (docs/bench.md, "PolkaVM side by side, session 13").
#
#   bench/peers/polkavm/build.sh --polkavm DIR --picosimd DIR --log DIR --out DIR
#
#   --polkavm DIR   a PolkaVM checkout (github.com/paritytech/polkavm); only its
#                   root Cargo.toml and crates/ are read, so a sparse checkout
#                   of those is enough (its test data are Git LFS objects)
#   --picosimd DIR  a picosimd checkout (github.com/koute/picosimd)
#   --log DIR       a `log` checkout (github.com/rust-lang/log), any 0.4.x
#   --out DIR       where everything is written; the runner ends up at
#                   OUT/target/release/polkavm-runner
#
# Nothing is written into the checkouts or into this repository: the crates
# are copied to OUT/src and cut down there. The steps, and why each is needed:
#
#  1. Only four PolkaVM crates are built: polkavm, polkavm-common,
#     polkavm-assembler, polkavm-linux-raw. The upstream workspace also holds
#     the linker, tools, examples (doom and quake take `sdl2` from git) and
#     the criterion benchmarks, whose crates.io dependencies are not here.
#     OUT/src/Cargo.toml is a new workspace root with those four members and
#     upstream's [workspace.package] and [workspace.lints.*] sections.
#  2. Cargo resolves every dependency a member names, optional, dev or
#     target-specific, even those never compiled. So the members' manifests
#     lose [dev-dependencies], the macOS/FreeBSD `libc` section and the
#     optional `arbitrary`, `blake3` and `schnellru` (and the features that
#     enable them: module-cache, arbitrary, blake3; `std` keeps only what is
#     left). None of these is used by the recompiler or the sandboxes.
#  3. `log` and `picosimd`, the two crates.io crates the four need, come from
#     the given checkouts through [patch.crates-io]; `log` loses its optional
#     and dev dependencies (step 2's reason). If PolkaVM asks for a newer
#     picosimd than the checkout's, the build stops and says so (see
#     --picosimd-shim below).
#  4. The upstream rust-toolchain.toml is not copied: the installed stable
#     cargo builds these crates.
#  5. One source edit, in the copy: the Linux sandbox reads each CPU's L3
#     sharing list (/sys/devices/system/cpu/cpuN/cache/index3/shared_cpu_list)
#     to place pinned threads, and refuses to start when it is missing, as
#     on this VM (no cache/ directory under cpuN). A missing list is read as
#     empty: every core in one group, which only matters for pinning, and the
#     runner runs with pinning off here (it is the only way the sandbox
#     starts). Older PolkaVMs (8cda9ea0) do not read it; the edit is skipped
#     when the line is not there.
#  6. The runner (runner/, ours) is copied to OUT/runner and built there
#     against the cut-down crates (cargo --config patch.crates-io.*), so its
#     Cargo.lock and target/ stay out of the repository.
#
#   --picosimd-shim  when PolkaVM needs a newer picosimd than the checkout,
#                   bump the copy's version and add the constructors this
#                   script knows are missing (shim_picosimd below): the only
#                   gap between picosimd 0.9.3 and what PolkaVM e88d5b4f
#                   (0.35.0) compiles against.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
polkavm='' picosimd='' log='' out='' shim=0
while [ $# -gt 0 ]; do
	case $1 in
	--polkavm) polkavm=$2; shift 2 ;;
	--picosimd) picosimd=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--picosimd-shim) shim=1; shift ;;
	*) echo "build.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
for v in polkavm picosimd log out; do
	eval "val=\$$v"
	[ -n "$val" ] || { echo "build.sh: --$v DIR is required" >&2; exit 2; }
done
for d in "$polkavm/crates/polkavm" "$picosimd/src" "$log/src"; do
	[ -d "$d" ] || { echo "build.sh: $d: no such directory" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "build.sh: needs python3 (manifest edits)" >&2; exit 2; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
polkavm=$(cd "$polkavm" && pwd)
picosimd=$(cd "$picosimd" && pwd)
log=$(cd "$log" && pwd)
rm -rf "$out/src" "$out/picosimd" "$out/log" "$out/runner"
mkdir -p "$out/src/crates"

# Step 1: the four crates and a new workspace root.
crates="polkavm polkavm-common polkavm-assembler polkavm-linux-raw"
for c in $crates; do
	cp -R "$polkavm/crates/$c" "$out/src/crates/$c"
	rm -rf "$out/src/crates/$c/target"
done
cp -R "$picosimd" "$out/picosimd"
cp -R "$log" "$out/log"
rm -rf "$out/picosimd/.git" "$out/log/.git" "$out/picosimd/target" "$out/log/target"

# Steps 1-3 on the manifests. A manifest is read as sections of lines (TOML
# tables); only the tables and keys named here are touched.
python3 - "$polkavm/Cargo.toml" "$out" "$crates" <<'EOF'
import re, sys

root_manifest, out, crates = sys.argv[1], sys.argv[2], sys.argv[3].split()
DROP_DEPS = {"arbitrary", "blake3", "schnellru", "libc", "serde_core", "sval",
             "sval_ref", "value-bag"}

def sections(text):
    """[(header or None, [lines])] in file order."""
    out, cur = [], (None, [])
    for line in text.splitlines():
        if re.match(r"^\s*\[", line):
            out.append(cur)
            cur = (line.strip(), [])
        else:
            cur[1].append(line)
    out.append(cur)
    return out

def key(line):
    m = re.match(r'^\s*([A-Za-z0-9_"\'.-]+)\s*=', line)
    return m.group(1).strip('"\'') if m else None

def cut_member(path):
    secs = sections(open(path).read())
    dropped_features = set()
    kept = []
    for head, lines in secs:
        if head and "dev-dependencies" in head:
            continue  # step 2: dev dependencies
        if head and head.endswith("dependencies]"):
            lines = [l for l in lines if key(l) not in DROP_DEPS]
            if head.startswith("[target.") and not any(key(l) for l in lines):
                continue  # step 2: macOS/FreeBSD's libc, nothing else left
        kept.append((head, lines))
    out_lines = []
    for head, lines in kept:
        if head == "[features]":
            new = []
            for l in lines:
                k = key(l)
                m = re.match(r"^(\s*[^=]+=\s*)\[(.*)\]\s*$", l)
                if not k or not m:
                    new.append(l)
                    continue
                items = [i.strip().strip('"') for i in m.group(2).split(",") if i.strip()]
                def gone(i):
                    name = i[4:] if i.startswith("dep:") else i.split("/")[0].rstrip("?")
                    return name in DROP_DEPS or name in ("ruzstd",) or i == "polkavm-common/blake3"
                if any(i.startswith("dep:") and gone(i) for i in items):
                    dropped_features.add(k)
                    continue  # a feature that only enables a dropped crate
                items = [i for i in items if not gone(i)]
                new.append(m.group(1) + "[" + ", ".join('"%s"' % i for i in items) + "]")
            lines = new
        if head:
            out_lines.append(head)
        out_lines.extend(lines)
    open(path, "w").write("\n".join(out_lines) + "\n")
    return dropped_features

for c in crates:
    d = cut_member("%s/src/crates/%s/Cargo.toml" % (out, c))
    print("build.sh: %s: dropped features %s" % (c, sorted(d) or "none"))
cut_member(out + "/log/Cargo.toml")

# The new workspace root (step 1), with the dependency snapshots (step 3).
secs = sections(open(root_manifest).read())
text = ['[workspace]', 'resolver = "2"', 'members = [%s]' %
        ", ".join('"crates/%s"' % c for c in crates), '']
keep_deps = set(crates) | {"log", "picosimd"}
for head, lines in secs:
    if head == "[workspace.package]" or (head or "").startswith("[workspace.lints"):
        text += [head] + lines
    elif head == "[workspace.dependencies]":
        text += [head] + [l for l in lines if key(l) in keep_deps or not key(l)]
text += ["", "[patch.crates-io]",
         'log = { path = "%s/log" }' % out,
         'picosimd = { path = "%s/picosimd" }' % out, ""]
open(out + "/src/Cargo.toml", "w").write("\n".join(text))
EOF

# Step 5: a missing L3 sharing list is an empty one.
topo="$out/src/crates/polkavm/src/sandbox/linux.rs"
if grep -q 'read_list(&base.join("cache/index3/shared_cpu_list"))?' "$topo" 2>/dev/null; then
	sed -i 's|read_list(&base.join("cache/index3/shared_cpu_list"))?|read_list(\&base.join("cache/index3/shared_cpu_list")).unwrap_or_default()|' "$topo"
	grep -q 'shared_cpu_list")).unwrap_or_default()' "$topo"
	echo "build.sh: sandbox/linux.rs: a missing cache/index3/shared_cpu_list reads as empty"
fi

# Step 3: does the picosimd snapshot satisfy PolkaVM's requirement?
want=$(sed -n 's/^picosimd *= *{ *version *= *"\([0-9.]*\)".*/\1/p' "$out/src/Cargo.toml")
have=$(sed -n 's/^version *= *"\([0-9.]*\)".*/\1/p' "$out/picosimd/Cargo.toml" | head -1)
echo "build.sh: PolkaVM $(sed -n 's/^version *= *"\(.*\)"/\1/p' "$out/src/Cargo.toml" | head -1)" \
	"wants picosimd $want; the snapshot is $have"
newer=$(printf '%s\n%s\n' "$want" "$have" | sort -V | tail -1)
if [ "$newer" != "$have" ]; then
	if [ $shim -eq 0 ]; then
		echo "build.sh: picosimd $have is older than $want: rerun with --picosimd-shim," \
			"or check out an older PolkaVM (8cda9ea0 wants 0.9.2)" >&2
		exit 1
	fi
	. "$here/shim_picosimd.sh"
	shim_picosimd "$out/picosimd" "$want"
fi

# Step 6: the runner, built against the cut-down crates.
cp -R "$here/runner" "$out/runner"
rm -rf "$out/runner/target" "$out/runner/Cargo.lock"
cd "$out/runner"
nice cargo build --offline --release -j2 --target-dir "$out/target" \
	--config "patch.crates-io.polkavm.path='$out/src/crates/polkavm'" \
	--config "patch.crates-io.log.path='$out/log'" \
	--config "patch.crates-io.picosimd.path='$out/picosimd'"
# What compare.sh prints as its first line.
{
	printf 'polkavm %s' "$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$out/src/Cargo.toml" | head -1)"
	printf ' (commit %s)' "$(git -C "$polkavm" rev-parse --short=8 HEAD 2>/dev/null || echo unknown)"
	printf ', picosimd %s' "$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$out/picosimd/Cargo.toml" | head -1)"
	[ "$newer" = "$have" ] || printf ' (%s + shim_picosimd.sh)' "$have"
	printf ', %s, built %s\n' "$(rustc --version)" "$(date -u +%Y-%m-%d)"
} >"$out/BUILD_INFO"
echo "build.sh: runner at $out/target/release/polkavm-runner ($(cat "$out/BUILD_INFO"))"
