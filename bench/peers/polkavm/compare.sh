#!/bin/bash
# compare.sh — PolkaVM's recompiler, jark's recompiler and native C on the
# same programs, in alternating rounds (docs/bench.md, "PolkaVM side by side,
# session 13"). Run from the repository's top directory:
#
#   bench/peers/polkavm/compare.sh [--runner PATH] [--config CONFIG]
#                                  [--rounds N] [--runs N] [--only NAME] [--survey]
#                                  [--cpus "0 1 ..." | --cpus none]
#
#   --runner  polkavm-runner built by build.sh ($POLKAVM_RUNNER, else
#             /work/polkavm/build/target/release/polkavm-runner)
#   --config  PolkaVM configurations (polkavm-runner's CONFIG), separated by
#             spaces; each round takes the fastest that runs the program right
#             (same r7 as jark, same gas when metered). Default
#             "gas=sync,warm=1 gas=sync,sandbox=generic,warm=1": metered as
#             jark's kernel runs them, in either sandbox, the timed run an
#             instance's second, since PolkaVM 0.35's Linux sandbox does
#             deferred work in an instance's first run (docs/bench.md);
#             --survey tries the others one by one
#   --rounds  rounds (default 5); a round runs every program on PolkaVM, then
#             on jark's recompiler and natively; each run is best of --runs
#             (default 3) inside its harness
#   --only    one program (sieve, muldiv, copy, fib, c_sieve, ...)
#   --cpus    the CPUs jark and native C run on, one at a time (default:
#             every online CPU). In a round every program runs on jark and
#             natively pinned to each CPU in turn (`taskset -c`), and each
#             side's time for the round is its best CPU's. PolkaVM is not
#             pinned by this script: its own core pinning (pin=core, the
#             default) puts its guest on a core of its own and its host
#             thread on another, which is how it is meant to run. Pinning
#             both of PolkaVM's threads to one CPU (taskset, pin=off) doubles
#             its times here: its host waits for the guest partly spinning
#             (coordinator, session 14: sieve 0.033 -> 0.064 s). On this VM
#             CPU 0 reaches memory ~30 % faster than CPU 1 on copy and
#             PolkaVM puts its guest on CPU 0; jark's best CPU is then CPU 0
#             too, so both guests run on the same core (docs/bench.md, "copy
#             against PolkaVM, session 14"). `none`: nothing pinned, as before
#             session 14 (jark wherever the scheduler puts it).
#   --survey  instead: each PolkaVM configuration once on every program
#
# The asm programs (bench/pvm/*.s) go through build/bench/bench_pvm, which
# assembles the blob, runs it on jark and, with --peers, on the runner, and
# fails if PolkaVM's r7 differs from jark's (a gas difference is a note on
# stderr, counted here). The C programs (bench/c/*.c) are built with
# `build/jark cc` (bench_c's build: -O2, same SDK) and run by the runner as
# standard programs; their r7 and gas must equal `build/jark pvm exec`'s on
# the recompiler with the same arguments, and that gas must equal bench_c's
# instructions= (so the arguments are bench_c's). jark's and native times of
# the C programs come from build/bench/bench_c.
#
# Prints per program and round a ROUND line, then
#   BENCH jit_vs_polkavm_<name> polkavm_s=<median> jark_jit_s=<median> native_s=<median>
#         polkavm_over_jark=<median of the rounds' ratios> polkavm_min_s=.. jark_jit_min_s=..
#         native_min_s=.. polkavm_over_jark_min=<min / min> gas=<same|differs|n/a> rounds=<n>
# and BENCH jit_vs_polkavm_geomean polkavm_over_jark=<geomean> programs=<n>.
# polkavm_over_jark > 1: jark's recompiler is faster. Exit 1 if any result differs.
set -eu

runner=${POLKAVM_RUNNER:-/work/polkavm/build/target/release/polkavm-runner}
config="gas=sync,warm=1 gas=sync,sandbox=generic,warm=1"
rounds=5 runs=3 only='' survey=0 cpus=all
while [ $# -gt 0 ]; do
	case $1 in
	--runner) runner=$2; shift 2 ;;
	--config) config=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--survey) survey=1; shift ;;
	--cpus) cpus=$2; shift 2 ;;
	*) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
if [ ! -x "$runner" ]; then
	echo "compare.sh: no PolkaVM runner at $runner (build it: bench/peers/polkavm/build.sh)" >&2
	exit 2
fi
[ -f bench/pvm/sieve.s ] || { echo "compare.sh: run from the repository's top directory" >&2; exit 2; }

if [ "$cpus" = all ]; then
	cpus=$(seq 0 $(($(nproc) - 1)) | tr '\n' ' ')
fi
if [ "$cpus" = none ]; then
	cpus=-
elif ! command -v taskset >/dev/null; then
	echo "compare.sh: no taskset: nothing pinned (--cpus none)" >&2
	cpus=-
fi
cpu=- # the CPU the next run is pinned to (- for none)
on_cpu() { # on_cpu CMD...: CMD pinned to $cpu
	if [ "$cpu" = - ]; then "$@"; else taskset -c "$cpu" "$@"; fi
}
mins() { # mins "a b" "c d": the smaller of each pair of fields, the first's order
	paste <(echo "$1" | tr ' ' '\n' | grep .) <(echo "$2" | tr ' ' '\n' | grep .) |
		awk '{printf "%s ", ($1 < $2 ? $1 : $2)}'
}

B=${BUILD:-build}
make -s -j2 "$B/bench/bench_pvm" "$B/bench/bench_c" "$B/jark" >&2
out=$B/bench/polkavm
mkdir -p "$out"
info=$(dirname "$runner")/../../BUILD_INFO
echo "# PolkaVM: $(cat "$info" 2>/dev/null || echo "unknown build ($runner)")"
echo "# config $config; $rounds rounds, best of $runs in each; CPUs ${cpus/-/not pinned}; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

asm="sieve muldiv copy fib"
cprogs="sieve muldiv copy fib"
# bench_c's arguments (bench/bench_c.c, jk_arg): checked through the gas below.
c_args() {
	case $1 in
	sieve) echo 10000000 ;;
	muldiv) echo "81985529216486895 5000000" ;; # 0x0123456789ABCDEF
	copy) echo "2097152 8" ;;                    # (16 MiB) / 8 words, 8 passes
	fib) echo 30 ;;
	esac
}
wanted() { [ -z "$only" ] || [ "$only" = "$1" ]; }
field() { # field NAME LINE: the value of NAME=... in LINE
	printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1
}

# The C programs once: build, then jark's own answer on its recompiler.
declare -A c_r7 c_gas
for p in $cprogs; do
	wanted "c_$p" || continue
	"$B/jark" cc "bench/c/$p.c" -o "$out/c_$p.jkp" >&2
	set -- $(c_args "$p")
	exec_args=
	for a in "$@"; do exec_args="$exec_args --arg $a"; done
	line=$("$B/jark" pvm exec "$out/c_$p.jkp" $exec_args --engine jit 2>&1 >/dev/null | grep '^status=')
	[ "$(field status "$line")" = halt ] || { echo "compare.sh: c_$p on jark: $line" >&2; exit 1; }
	c_r7[$p]=$(field r7 "$line")
	c_gas[$p]=$(field gas_used "$line")
done

c_regs() {
	set -- $(c_args "$1")
	regs='' i=7
	for a in "$@"; do regs="$regs${regs:+,}$i=$a"; i=$((i + 1)); done
	echo "$regs"
}

# One PolkaVM run of a program: prints "seconds gas_ok" or fails.
polkavm_asm() {
	local p=$1 cfg=$2 line err
	err=$(mktemp)
	if ! line=$("$B/bench/bench_pvm" --src bench/pvm --out "$out" --only "$p" --runs "$runs" \
		--peers "$cfg" --node "$runner" 2>"$err" | grep "^PEER $p "); then
		echo "compare.sh: $p on PolkaVM ($cfg): $(cat "$err")" >&2
		rm -f "$err"
		return 1
	fi
	local s gas=same
	s=$(field anan_s "$line")
	case $cfg in *gas=none*) gas=n/a ;; esac
	grep -q "note: anan-as used" "$err" && gas=differs
	rm -f "$err"
	if [ "$s" = n/a ]; then
		echo "compare.sh: $p on PolkaVM ($cfg): $line" >&2
		return 1
	fi
	echo "$s $gas"
}

polkavm_c() {
	local p=$1 cfg=$2 line
	line=$("$runner" "$cfg" --jkp "$out/c_$p.jkp" --entry 0 --regs "$(c_regs "$p")" --runs "$runs")
	case $line in "ANAN ok "*) ;; *) echo "compare.sh: c_$p on PolkaVM ($cfg): $line" >&2; return 1 ;; esac
	if [ "$(field result "$line")" != "${c_r7[$p]}" ]; then
		echo "compare.sh: c_$p: PolkaVM r7 $(field result "$line"), jark ${c_r7[$p]}" >&2
		exit 1
	fi
	local gas=same
	case $cfg in *gas=none*) gas=n/a ;; *) [ "$(field gas_used "$line")" = "${c_gas[$p]}" ] || gas=differs ;; esac
	echo "$(field anan_s "$line") $gas"
}

if [ $survey -eq 1 ]; then
	for cfg in gas=sync gas=sync,warm=1 gas=async,warm=1 gas=none,warm=1 gas=sync,pin=off,warm=1 \
		gas=async,pin=off,warm=1 gas=none,pin=off,warm=1 gas=sync,sandbox=generic,warm=1 \
		gas=sync,sandbox=generic gas=async,sandbox=generic,warm=1 gas=none,sandbox=generic,warm=1 \
		gas=sync,paging=dynamic; do
		for p in $asm; do
			wanted "$p" || continue
			r=$(polkavm_asm "$p" "$cfg" 2>&1) || true
			echo "SURVEY $p config=$cfg polkavm=$(echo "$r" | tail -1)"
		done
		for p in $cprogs; do
			wanted "c_$p" || continue
			r=$(polkavm_c "$p" "$cfg" 2>&1) || true
			echo "SURVEY c_$p config=$cfg polkavm=$(echo "$r" | tail -1)"
		done
	done
	exit 0
fi

# PolkaVM's fastest configuration in --config that runs the program right:
# prints "seconds gas config". A configuration that fails once (an error,
# a trap, a result unlike jark's) is reported on stderr and not tried again
# for that program; a metered one whose gas differs from jark's is not used.
declare -A broken
polkavm_best() {
	local kind=$1 p=$2 best='' cfg res
	for cfg in $config; do
		[ -z "${broken[$p $cfg]:-}" ] || continue
		if ! res=$("polkavm_$kind" "$p" "$cfg" 2>"$out/err"); then
			broken[$p $cfg]=1
			echo "NOTE $p config=$cfg fails: $(tail -1 "$out/err" | cut -c1-300)" >&2
			continue
		fi
		set -- $res
		if [ "$2" = differs ]; then
			broken[$p $cfg]=1
			echo "NOTE $p config=$cfg: its gas differs from jark's; not used" >&2
			continue
		fi
		if [ -z "$best" ] || awk -v a="$1" -v b="${best%% *}" 'BEGIN {exit !(a < b)}'; then
			best="$1 $2 $cfg"
		fi
	done
	[ -n "$best" ] || { echo "compare.sh: no configuration runs $p" >&2; return 1; }
	echo "$best"
}

declare -A pv jk nat gasst cfgs cpv
names=
for p in $asm; do wanted "$p" && names="$names $p"; done
for p in $cprogs; do wanted "c_$p" && names="$names c_$p"; done
[ -n "$names" ] || { echo "compare.sh: no program named $only" >&2; exit 2; }
for n in $names; do gasst[$n]=same; done

for r in $(seq 1 "$rounds"); do
	# Per CPU: PolkaVM first, then jark and native, program by program; a
	# side's time for the round is its best CPU's (declare -A rp rj rn).
	declare -A rp=() rj=() rn=()
	for cpu in $cpus; do
		for p in $asm; do
			wanted "$p" || continue
			res=$(polkavm_best asm "$p") || exit 1
			set -- $res
			[ "$2" = same ] || gasst[$p]=$2
			line=$(on_cpu "$B/bench/bench_pvm" --src bench/pvm --out "$out" --only "$p" --runs "$runs" |
				grep "^BENCH jit_$p ")
			rp[$p]=$(mins "${rp[$p]:-$1}" "$1")
			rj[$p]=$(mins "${rj[$p]:-$(field jit_s "$line")}" "$(field jit_s "$line")")
			rn[$p]=$(mins "${rn[$p]:-$(field native_s "$line")}" "$(field native_s "$line")")
			echo "ROUND $r $p polkavm_s=$1 jark_jit_s=$(field jit_s "$line") native_s=$(field native_s "$line")" \
				"polkavm_config=$3 cpu=$cpu"
		done
		c_any=0
		for p in $cprogs; do
			wanted "c_$p" || continue
			res=$(polkavm_best c "$p") || exit 1
			set -- $res
			cpv[c_$p]=$1
			cfgs[c_$p]=$3
			[ "$2" = same ] || gasst[c_$p]=$2
			c_any=1
		done
		[ $c_any -eq 1 ] || continue
		cout=$(on_cpu "$B/bench/bench_c" bench/c "$out" "$runs")
		for p in $cprogs; do
			wanted "c_$p" || continue
			line=$(printf '%s\n' "$cout" | grep "^BENCH jit_c_$p ")
			if [ "$(field instructions "$line")" != "${c_gas[$p]}" ]; then
				echo "compare.sh: c_$p: bench_c ran $(field instructions "$line") instructions," \
					"jark pvm exec ${c_gas[$p]}: the arguments differ" >&2
				exit 1
			fi
			n=c_$p
			rp[$n]=$(mins "${rp[$n]:-${cpv[$n]}}" "${cpv[$n]}")
			rj[$n]=$(mins "${rj[$n]:-$(field jit_s "$line")}" "$(field jit_s "$line")")
			rn[$n]=$(mins "${rn[$n]:-$(field native_s "$line")}" "$(field native_s "$line")")
			echo "ROUND $r c_$p polkavm_s=${cpv[$n]} jark_jit_s=$(field jit_s "$line")" \
				"native_s=$(field native_s "$line") polkavm_config=${cfgs[$n]} cpu=$cpu"
		done
	done
	for n in $names; do
		pv[$n]="${pv[$n]:-} ${rp[$n]}"
		jk[$n]="${jk[$n]:-} ${rj[$n]}"
		nat[$n]="${nat[$n]:-} ${rn[$n]}"
	done
done

stats() { # stats "v1 v2 ...": "median min"
	echo "$1" | tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.6f %.6f\n", m, v[1] }'
}
ratios() { # ratios "a1 a2 ..." "b1 b2 ...": "a1/b1 a2/b2 ..."
	paste <(echo "$1" | tr ' ' '\n' | grep .) <(echo "$2" | tr ' ' '\n' | grep .) |
		awk '{printf "%.6f ", $1 / $2}'
}
log_sum=0 count=0
for n in $names; do
	set -- $(stats "${pv[$n]}") $(stats "${jk[$n]}") $(stats "${nat[$n]}")
	pmed=$1 pmin=$2 jmed=$3 jmin=$4 nmed=$5 nmin=$6
	set -- $(stats "$(ratios "${pv[$n]}" "${jk[$n]}")")
	printf 'BENCH jit_vs_polkavm_%s polkavm_s=%s jark_jit_s=%s native_s=%s polkavm_over_jark=%.2f' \
		"$n" "$pmed" "$jmed" "$nmed" "$1"
	printf ' polkavm_min_s=%s jark_jit_min_s=%s native_min_s=%s polkavm_over_jark_min=%.2f gas=%s rounds=%s\n' \
		"$pmin" "$jmin" "$nmin" "$(awk -v a="$pmin" -v b="$jmin" 'BEGIN {print a / b}')" "${gasst[$n]}" "$rounds"
	log_sum=$(awk -v s="$log_sum" -v r="$1" 'BEGIN {print s + log(r)}')
	count=$((count + 1))
done
awk -v s="$log_sum" -v n="$count" 'BEGIN {printf "BENCH jit_vs_polkavm_geomean polkavm_over_jark=%.2f programs=%d\n", exp(s / n), n}'
