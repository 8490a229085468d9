# shellcheck shell=sh
# shim_picosimd.sh — sourced by build.sh --picosimd-shim.
#
# PolkaVM 0.35.0 (e88d5b4f) asks for picosimd 0.9.6; the newest picosimd
# source reachable here is 0.9.3 (crates.io is not). Compiling PolkaVM
# against 0.9.3 fails only in polkavm-common's gas-cost simulator
# (src/simulator.rs), which builds three static lookup tables at compile
# time and so needs:
#   - avx2::i8x32::from_fallback and avx2_composite::i16x32::from_fallback,
#     const constructors from the portable (array) types; and
#   - const versions of the portable types' zero, splat, from_array,
#     set_dynamic and i8x32::from_i1x32_sext.
# This shim adds exactly those to the copy in OUT (never to the checkout) and
# sets its version, so Cargo accepts it. The conversions are bit casts: the
# portable i8x32 is [i8; 32] and the AVX2 one a __m256i (32 bytes, same lane
# order); the portable i16x32 is [i16; 32] and the composite one two
# i16x16 (__m256i) halves, low lanes first, #[repr(C)].
# Each edit checks that the text it changes is there, so a different picosimd
# stops the build instead of being edited wrongly.

shim_picosimd() {
	python3 - "$1" "$2" <<'EOF'
import re, sys

root, version = sys.argv[1], sys.argv[2]

def edit(path, old, new, count=1):
    text = open(path).read()
    found = text.count(old)
    if found != count:
        sys.exit("shim_picosimd: %s: expected %d of %r, found %d" % (path, count, old, found))
    open(path, "w").write(text.replace(old, new))

def append(path, text):
    with open(path, "a") as f:
        f.write(text)

# The version Cargo compares against PolkaVM's requirement.
manifest = root + "/Cargo.toml"
text = open(manifest).read()
text, n = re.subn(r'(?m)^version = "[0-9.]+"', 'version = "%s"' % version, text, count=1)
if n != 1:
    sys.exit("shim_picosimd: no version line in " + manifest)
open(manifest, "w").write(text)

# Portable types: the constructors the tables call become const fn.
fb = root + "/src/fallback.rs"
for name in ("zero", "splat", "from_array"):
    edit(fb, "            pub fn %s(" % name, "            pub const fn %s(" % name)
edit(fb, "            pub fn set_dynamic(", "            pub const fn set_dynamic(")
# from_i1x32_sext maps a closure over an array, which const fn cannot: the
# same lanes (bit n set -> lane n = -1) with a while loop.
edit(fb,
     "    pub fn from_i1x32_sext(packed_mask: i32) -> Self {\n"
     "        Self::from_array(indexes::<32>().map(|n| if (packed_mask & (1 << n)) != 0 { -1 } else { 0 }))\n",
     "    pub const fn from_i1x32_sext(packed_mask: i32) -> Self {\n"
     "        let mut lanes = [0i8; 32];\n"
     "        let mut n = 0;\n"
     "        while n < 32 {\n"
     "            if (packed_mask & (1 << n)) != 0 {\n"
     "                lanes[n] = -1;\n"
     "            }\n"
     "            n += 1;\n"
     "        }\n"
     "        Self(lanes)\n")

append(root + "/src/amd64/avx2.rs", """
// Added by jark's bench/peers/polkavm/shim_picosimd.sh (see there).
impl i8x32 {
    #[inline]
    pub const fn from_fallback(value: crate::fallback::i8x32) -> Self {
        // SAFETY: [i8; 32] and __m256i have the same size; every bit pattern is valid.
        unsafe { core::mem::transmute::<crate::fallback::i8x32, Self>(value) }
    }
}
""")
append(root + "/src/amd64/avx2_composite.rs", """
// Added by jark's bench/peers/polkavm/shim_picosimd.sh (see there).
impl i16x32 {
    #[inline]
    pub const fn from_fallback(value: crate::fallback::i16x32) -> Self {
        // SAFETY: [i16; 32] and two #[repr(C)] __m256i halves have the same
        // size and lane order; every bit pattern is valid.
        unsafe { core::mem::transmute::<crate::fallback::i16x32, Self>(value) }
    }
}
""")
print("build.sh: picosimd shimmed to %s (const constructors, from_fallback)" % version)
EOF
}
