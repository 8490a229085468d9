#!/bin/sh
# Every name libjark.a exports carries its layer's prefix (docs/library.md,
# "Names"): a symbol defined in src/<layer>/ must start with that layer's
# prefix, so an embedder's own names and jark's can never collide and a
# reader knows from a name which folder defines it.
# Usage: scripts/check-names.sh BUILD_DIR   (objects under BUILD/obj/src/)
set -eu
build=${1:-build}
status=0
for dir in "$build"/obj/src/*/; do
	layer=$(basename "$dir")
	case $layer in
	base) prefix='jk_(err_|diag_|strerror$|read_file$|json_|utf8_)' ;;
	consensus) prefix='jk_cons_' ;;
	*) prefix="jk_${layer}_" ;;
	esac
	for obj in "$dir"*.o; do
		[ -e "$obj" ] || continue
		bad=$(nm -g --defined-only "$obj" | awk 'NF == 3 { print $3 }' |
			grep -Ev "^${prefix}" || true)
		if [ -n "$bad" ]; then
			for name in $bad; do
				echo "check-names: $obj exports '$name' without the prefix of src/$layer/" >&2
			done
			status=1
		fi
	done
done
[ $status -eq 0 ] && echo "check-names: every exported name carries its layer's prefix"
exit $status
