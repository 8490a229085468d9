#!/usr/bin/env python3
"""gen_vectors_extra.py — corner-case PVM vectors, expected results from a model.

Writes tests/pvm/vectors-extra/*.json in the public vector format
(../shared/vectors/pvm/schema.asn). The expected results come from the small
interpreter below, written from the reference semantics — jarchain/jar
spec/Jar/JAVM/{Decode,Instructions,Memory}.lean — and the Graypaper Appendix A
where architecture.md §4 fixes it (gas per basic block; djump alignment;
addresses mod 2^32; arithmetic shifts floor), never from jark's output.
The model shares no code with jark. Run: python3 tests/pvm/gen_vectors_extra.py
"""
import json
import os
import sys

M64 = (1 << 64) - 1
M32 = (1 << 32) - 1
PAGE = 4096
HALT = 0xFFFF0000
GAS0 = 10000


def sext(n, x):
    """Decode.lean sext: n bytes to 64 bits (n = 0 or 8: unchanged)."""
    if n == 0 or n >= 8:
        return x & M64
    bits = 8 * n
    x &= (1 << bits) - 1
    return (x | (M64 ^ ((1 << bits) - 1))) if x >> (bits - 1) else x


def signed(x):
    return x - (1 << 64) if x >> 63 else x


def sx32(x):
    return sext(4, x & M32)


# ---- decoding (Decode.lean) -------------------------------------------------

TERMINATORS = {0, 1, 40, 50, 80, 180} | set(range(81, 91)) | set(range(170, 176))
# The opcodes the 64-bit PVM defines (Instructions.lean executeStep's cases
# without the jar1-only 2 `unlikely` and 3 `ecall`). Anything else — and a
# position whose bitmask bit is clear — is not an instruction: it panics like
# trap and, as trap, ends its basic block (PolkaVM decodes it as `invalid`,
# whose opcode is trap; per-instruction Graypaper gas charges the same).
KNOWN = ({0, 1, 10, 20, 40, 50, 51, 80, 100, 101, 180} | set(range(30, 34)) | set(range(52, 63))
         | set(range(70, 74)) | set(range(81, 91)) | set(range(102, 112)) | set(range(120, 162))
         | set(range(170, 176)) | set(range(190, 231)))


class Prog:
    def __init__(self, code, bitmask_bits, jump_table, z=1):
        self.code = bytes(code)
        self.bits = list(bitmask_bits)  # one 0/1 per code byte
        assert len(self.bits) == len(self.code)
        self.jt = list(jump_table)
        self.z = z

    def blob(self):
        def nat(v):
            assert v < 128 or v < (1 << 14)
            return [v] if v < 128 else [0x80 | (v >> 8), v & 0xFF]
        out = nat(len(self.jt)) + [self.z] + nat(len(self.code))
        for e in self.jt:
            out += list(e.to_bytes(self.z, "little"))
        out += list(self.code)
        mask = [0] * ((len(self.code) + 7) // 8)
        for i, b in enumerate(self.bits):
            if b:
                mask[i // 8] |= 1 << (i % 8)
        return out + mask

    def zeta(self, i):
        return self.code[i] if i < len(self.code) else 0

    def bit(self, i):
        return i >= len(self.code) or self.bits[i] == 1

    def skip(self, i):
        j = 0
        while j < 24 and not self.bit(i + 1 + j):
            j += 1
        return j

    def read_signed(self, at, n):
        if n == 0:
            return 0
        v = 0
        for k in range(n):
            v |= self.zeta(at + k) << (8 * k)
        return sext(n, v)

    def reg(self, nib):
        return min(12, nib)

    def positions(self):
        """Executable positions: pc 0 and the fall-through chain from every
        bitmask-set position (what Lean's stepping can reach), in order."""
        seen = set()
        for p in range(len(self.code)):
            if p == 0 or self.bits[p] or p in seen:
                seen.add(p)
                seen.add(p + 1 + self.skip(p))
        return sorted(x for x in seen if x <= len(self.code))

    def opcode_at(self, pc):
        """Lean executeStep: a position whose bitmask bit is clear panics."""
        if not self.bit(pc):
            return None
        return self.zeta(pc)

    def block_starts(self):
        starts = {0}
        for p in self.positions():
            op = self.opcode_at(p)
            if op in TERMINATORS or op not in KNOWN:
                starts.add(p + 1 + self.skip(p))
        return starts

    def block_cost(self, s):
        c, p = 0, s
        while True:
            c += 1
            if p >= len(self.code):
                return c  # the implicit trap
            op = self.opcode_at(p)
            if op in TERMINATORS or op not in KNOWN:
                return c
            p = p + 1 + self.skip(p)


# ---- memory (Memory.lean, addresses mod 2^32 as the Graypaper) --------------

class Mem:
    def __init__(self, pages):
        self.access = dict(pages)  # page index -> 'r' | 'w'
        self.data = {}

    def check(self, addr, n, write):
        xs = [(addr + i) & M32 for i in range(n)]
        if min(xs) < 0x10000:
            return ("panic", None)
        bad = [x for x in xs if self.access.get(x // PAGE) not in (("w",) if write else ("r", "w"))]
        if bad:
            return ("fault", (min(bad) // PAGE) * PAGE)
        return ("ok", None)

    def read(self, addr, n):
        st, fa = self.check(addr, n, False)
        if st != "ok":
            return st, fa
        v = 0
        for i in range(n):
            v |= self.data.get((addr + i) & M32, 0) << (8 * i)
        return "ok", v

    def write(self, addr, val, n):
        st, fa = self.check(addr, n, True)
        if st != "ok":
            return st, fa
        for i in range(n):
            self.data[(addr + i) & M32] = (val >> (8 * i)) & 0xFF
        return "ok", None


# ---- ALU (Instructions.lean; shifts right arithmetic floor as the GP) -------

def ashr64(x, s):
    return (signed(x) >> (s % 64)) & M64


def rotr64(x, n):
    s = n % 64
    return ((x >> s) | (x << (64 - s))) & M64 if s else x


def rotr32(x, n):
    v, s = x & M32, n % 32
    return sx32(((v >> s) | (v << (32 - s))) & M32 if s else v)


def rotl64(x, n):
    return rotr64(x, (64 - n % 64) % 64)


def rotl32(x, n):
    v, s = x & M32, n % 32
    return sx32(((v << s) | (v >> (32 - s))) & M32 if s else v)


def tdiv(a, b):
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def div_s64(a, b):
    if b == 0:
        return M64
    return tdiv(signed(a), signed(b)) & M64  # MIN / -1 wraps to MIN


def rem_s64(a, b):
    if b == 0:
        return a
    sa, sb = signed(a), signed(b)
    return (sa - tdiv(sa, sb) * sb) & M64


def div_s32(a, b):
    if b & M32 == 0:
        return M64
    return sx32(div_s64(sx32(a), sx32(b)) & M32)


def rem_s32(a, b):
    if b & M32 == 0:
        return sx32(a)
    return sx32(rem_s64(sx32(a), sx32(b)) & M32)


def mulh(a, b, sa, sb):
    x = signed(a) if sa else a
    y = signed(b) if sb else b
    return ((x * y) >> 64) & M64


def clz(x, w):
    return w - x.bit_length() if x else w


def ctz(x, w):
    if x == 0:
        return w
    return (x & -x).bit_length() - 1


THREE = {
    190: lambda a, b: sx32(a + b), 191: lambda a, b: sx32(a - b), 192: lambda a, b: sx32(a * b),
    193: lambda a, b: M64 if b & M32 == 0 else sx32((a & M32) // (b & M32)),
    194: div_s32,
    195: lambda a, b: sx32(a) if b & M32 == 0 else sx32((a & M32) % (b & M32)),
    196: rem_s32,
    197: lambda a, b: sx32((a << (b % 32)) & M32), 198: lambda a, b: sx32((a & M32) >> (b % 32)),
    199: lambda a, b: sx32(ashr64(sx32(a), b % 32)),
    200: lambda a, b: (a + b) & M64, 201: lambda a, b: (a - b) & M64, 202: lambda a, b: (a * b) & M64,
    203: lambda a, b: M64 if b == 0 else a // b, 204: div_s64,
    205: lambda a, b: a if b == 0 else a % b, 206: rem_s64,
    207: lambda a, b: (a << (b % 64)) & M64, 208: lambda a, b: a >> (b % 64),
    209: lambda a, b: ashr64(a, b % 64),
    210: lambda a, b: a & b, 211: lambda a, b: a ^ b, 212: lambda a, b: a | b,
    213: lambda a, b: mulh(a, b, 1, 1), 214: lambda a, b: mulh(a, b, 0, 0), 215: lambda a, b: mulh(a, b, 1, 0),
    216: lambda a, b: int(a < b), 217: lambda a, b: int(signed(a) < signed(b)),
    220: rotl64, 221: rotl32, 222: rotr64, 223: rotr32,
    224: lambda a, b: a & (M64 ^ b), 225: lambda a, b: a | (M64 ^ b), 226: lambda a, b: M64 ^ (a ^ b),
    227: lambda a, b: a if signed(a) >= signed(b) else b, 228: max,
    229: lambda a, b: a if signed(a) < signed(b) else b, 230: min,
}

# two registers + imm: ω_A = f(ω_B, ν)
REGIMM = {
    131: lambda b, i: sx32(b + i), 132: lambda b, i: b & i, 133: lambda b, i: b ^ i, 134: lambda b, i: b | i,
    135: lambda b, i: sx32(b * i), 136: lambda b, i: int(b < i), 137: lambda b, i: int(signed(b) < signed(i)),
    138: lambda b, i: sx32((b << (i % 32)) & M32), 139: lambda b, i: sx32((b & M32) >> (i % 32)),
    140: lambda b, i: sx32(ashr64(sx32(b), i % 32)), 141: lambda b, i: sx32(i - b),
    142: lambda b, i: int(b > i), 143: lambda b, i: int(signed(b) > signed(i)),
    144: lambda b, i: sx32((i << (b % 32)) & M32), 145: lambda b, i: sx32((i & M32) >> (b % 32)),
    146: lambda b, i: sx32(ashr64(sx32(i), b % 32)),
    149: lambda b, i: (b + i) & M64, 150: lambda b, i: (b * i) & M64,
    151: lambda b, i: (b << (i % 64)) & M64, 152: lambda b, i: b >> (i % 64), 153: lambda b, i: ashr64(b, i % 64),
    154: lambda b, i: (i - b) & M64,
    155: lambda b, i: (i << (b % 64)) & M64, 156: lambda b, i: i >> (b % 64), 157: lambda b, i: ashr64(i, b % 64),
    158: lambda b, i: rotr64(b, i), 159: lambda b, i: rotr64(i, b),
    160: lambda b, i: rotr32(b, i), 161: lambda b, i: rotr32(i, b),
}

TWOREG = {
    100: lambda a: a, 102: lambda a: bin(a).count("1"), 103: lambda a: bin(a & M32).count("1"),
    104: lambda a: clz(a, 64), 105: lambda a: clz(a & M32, 32), 106: lambda a: ctz(a, 64),
    107: lambda a: ctz(a & M32, 32), 108: lambda a: sext(1, a & 0xFF), 109: lambda a: sext(2, a & 0xFFFF),
    110: lambda a: a & 0xFFFF, 111: lambda a: int.from_bytes(a.to_bytes(8, "little"), "big"),
}

LOADS = {52: (1, False), 53: (1, True), 54: (2, False), 55: (2, True), 56: (4, False), 57: (4, True), 58: (8, False)}
STORES = {59: 1, 60: 2, 61: 4, 62: 8}
STORE_IMM = {30: 1, 31: 2, 32: 4, 33: 8}
STORE_IMM_IND = {70: 1, 71: 2, 72: 4, 73: 8}
STORE_IND = {120: 1, 121: 2, 122: 4, 123: 8}
LOAD_IND = {124: (1, False), 125: (1, True), 126: (2, False), 127: (2, True), 128: (4, False), 129: (4, True),
            130: (8, False)}
BR_IMM = {81: lambda a, b: a == b, 82: lambda a, b: a != b, 83: lambda a, b: a < b, 84: lambda a, b: a <= b,
          85: lambda a, b: a >= b, 86: lambda a, b: a > b, 87: lambda a, b: signed(a) < signed(b),
          88: lambda a, b: signed(a) <= signed(b), 89: lambda a, b: signed(a) >= signed(b),
          90: lambda a, b: signed(a) > signed(b)}
BR = {170: lambda a, b: a == b, 171: lambda a, b: a != b, 172: lambda a, b: a < b,
      173: lambda a, b: signed(a) < signed(b), 174: lambda a, b: a >= b, 175: lambda a, b: signed(a) >= signed(b)}


def run(prog, regs, mem, gas, pc0=0):
    """Returns (status, pc, regs, gas, fault_address). pc0: the initial pc; a
    pc that is not an instruction (a clear bitmask bit, past the code: Lean
    executeStep) is a one-instruction block that panics, costing 1."""
    regs = list(regs)
    starts = prog.block_starts()
    pc = pc0
    cost = prog.block_cost(pc0)
    if cost > gas:
        return "out-of-gas", pc0, regs, gas, None
    gas -= cost

    def enter(t):
        nonlocal pc, gas
        if t not in starts:
            return "panic"
        c = prog.block_cost(t)
        if c > gas:
            pc = t
            return "out-of-gas"
        gas -= c
        pc = t
        return None

    def djump(a):
        a &= M32
        if a == HALT:
            return "halt"
        if a == 0 or a % 2 or a // 2 > len(prog.jt):
            return "panic"
        return enter(prog.jt[a // 2 - 1])

    for _ in range(100000):
        op = prog.opcode_at(pc)
        sk = prog.skip(pc)
        npc = pc + 1 + sk
        b1 = prog.zeta(pc + 1)
        ra, rb = prog.reg(b1 % 16), prog.reg(b1 // 16)
        imm2 = prog.read_signed(pc + 2, min(4, sk - 1) if sk > 1 else 0)  # extractImm .. 2
        res = None
        if op is None or op == 0:
            return "panic", pc, regs, gas, None
        elif op == 1:
            res = enter(npc)
            if res is None:
                continue
        elif op == 20:
            v = 0
            for k in range(8):
                v |= prog.zeta(pc + 2 + k) << (8 * k)
            regs[ra] = v
        elif op in STORE_IMM:
            lx = min(4, b1 % 8)
            ly = min(4, sk - lx - 1) if sk > lx + 1 else 0
            st, fa = mem.write(prog.read_signed(pc + 2, lx), prog.read_signed(pc + 2 + lx, ly), STORE_IMM[op])
            if st != "ok":
                return st, pc, regs, gas, fa
        elif op == 40:
            res = enter((pc + prog.read_signed(pc + 1, min(4, sk))) & M64)
            if res is None:
                continue
        elif op == 50:
            res = djump(regs[ra] + imm2)
            if res is None:
                continue
        elif op == 51:
            regs[ra] = imm2
        elif op in LOADS or op in LOAD_IND:
            n, s = LOADS.get(op) or LOAD_IND[op]
            addr = imm2 if op in LOADS else (regs[rb] + imm2) & M64
            st, v = mem.read(addr, n)
            if st != "ok":
                return st, pc, regs, gas, v
            regs[ra] = sext(n, v) if s else v
        elif op in STORES or op in STORE_IND:
            n = STORES.get(op) or STORE_IND[op]
            addr = imm2 if op in STORES else (regs[rb] + imm2) & M64
            st, fa = mem.write(addr, regs[ra], n)
            if st != "ok":
                return st, pc, regs, gas, fa
        elif op in STORE_IMM_IND or op == 80 or op in BR_IMM:
            lx = min(4, (b1 // 16) % 8)
            ly = min(4, sk - lx - 1) if sk > lx + 1 else 0
            x = prog.read_signed(pc + 2, lx)
            y = prog.read_signed(pc + 2 + lx, ly)
            if op in STORE_IMM_IND:
                st, fa = mem.write((regs[ra] + x) & M64, y, STORE_IMM_IND[op])
                if st != "ok":
                    return st, pc, regs, gas, fa
            else:
                if op == 80:
                    regs[ra] = x
                taken = op == 80 or BR_IMM[op](regs[ra], x)
                res = enter((pc + y) & M64) if taken else enter(npc)
                if res is None:
                    continue
        elif op in TWOREG:
            regs[ra] = TWOREG[op](regs[rb]) & M64  # ω_D = low nibble, ω_A = high nibble
        elif op in (147, 148):
            if (regs[rb] == 0) == (op == 147):
                regs[ra] = imm2
        elif op in REGIMM:
            regs[ra] = REGIMM[op](regs[rb], imm2) & M64
        elif op in BR:
            t = (pc + imm2) & M64
            res = enter(t) if BR[op](regs[ra], regs[rb]) else enter(npc)
            if res is None:
                continue
        elif op == 180:
            lx = min(4, prog.zeta(pc + 2) % 8)
            ly = min(4, sk - lx - 2) if sk > lx + 2 else 0
            base = regs[rb]
            regs[ra] = prog.read_signed(pc + 3, lx)
            res = djump(base + prog.read_signed(pc + 3 + lx, ly))
            if res is None:
                continue
        elif op in THREE or op in (218, 219):
            rd = prog.reg(prog.zeta(pc + 2) % 16)
            a, b = regs[ra], regs[rb]
            if op == 218:
                if b == 0:
                    regs[rd] = a
            elif op == 219:
                if b != 0:
                    regs[rd] = a
            else:
                regs[rd] = THREE[op](a, b) & M64
        else:
            return "panic", pc, regs, gas, None  # not an opcode
        if res is not None:
            return res, pc, regs, gas, None
        pc = npc
    raise RuntimeError("model did not stop")


# ---- vector writer -----------------------------------------------------------

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors-extra")
CASES = []


def case(name, code, regs=None, bits=None, jt=(), pages=(), memory=(), gas=GAS0, z=1, pc=0):
    """pages: (address, length, writable); memory: (address, bytes)."""
    regs = list(regs or [0] * 13)
    regs += [0] * (13 - len(regs))
    if bits is None:
        bits = [1]
    bits = list(bits) + [0] * (len(code) - len(bits))
    prog = Prog(code, bits, jt, z)
    pm = {}
    for a, ln, w in pages:
        for p in range(a // PAGE, (a + ln) // PAGE):
            pm[p] = "w" if w else "r"
    mem = Mem(pm)
    for a, bs in memory:
        for i, b in enumerate(bs):
            mem.data[a + i] = b
    pc0 = pc
    st, pc, r2, g2, fa = run(prog, regs, mem, gas, pc0)
    out_mem = []
    for p in sorted(pm):
        bs = [mem.data.get(p * PAGE + i, 0) for i in range(PAGE)]
        nz = [i for i, b in enumerate(bs) if b]
        if nz:
            out_mem.append({"address": p * PAGE + nz[0], "contents": bs[nz[0]:nz[-1] + 1]})
    v = {
        "name": name, "initial-regs": regs, "initial-pc": pc0,
        "initial-page-map": [{"address": a, "length": ln, "is-writable": w} for a, ln, w in pages],
        "initial-memory": [{"address": a, "contents": list(bs)} for a, bs in memory],
        "initial-gas": gas, "program": prog.blob(), "expected-status": st, "expected-regs": r2,
        "expected-pc": pc, "expected-memory": out_mem, "expected-gas": g2,
    }
    if st == "page-fault" or st == "fault":
        v["expected-status"] = "page-fault"
        v["expected-page-fault-address"] = fa
    assert name not in [c["name"] for c in CASES], name
    CASES.append(v)


def le(v, n):
    return list((v & ((1 << (8 * n)) - 1)).to_bytes(n, "little"))


# ---- the cases ---------------------------------------------------------------

RW = (0x20000, PAGE, True)      # writable page
RO = (0x21000, PAGE, False)     # read-only page right after it; 0x22000 is unmapped
EDGE = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000, 0x8000000000000000,
        M64, M64 - 1, 0x123456789ABCDEF0, 0xFFFFFFFF80000000]
VALS3 = [(0x8000000000000000, M64), (0xFFFFFFFF80000000, M64), (0x80000000, 0xFFFFFFFF), (5, 0), (M64, 0),
         (0x1_0000_0007, 0x1_0000_0000), (7, 0xFFFFFFFF_00000000), (0x123456789ABCDEF0, 0xFEDCBA9876543210),
         (M64, 2), (0x80000001, 63), (0xDEADBEEF, 32), (0xDEADBEEF, 64 + 4), (0xF0000000F, 33)]

NAMES3 = {190: "add_32", 191: "sub_32", 192: "mul_32", 193: "div_u_32", 194: "div_s_32", 195: "rem_u_32",
          196: "rem_s_32", 197: "shlo_l_32", 198: "shlo_r_32", 199: "shar_r_32", 200: "add_64", 201: "sub_64",
          202: "mul_64", 203: "div_u_64", 204: "div_s_64", 205: "rem_u_64", 206: "rem_s_64", 207: "shlo_l_64",
          208: "shlo_r_64", 209: "shar_r_64", 213: "mul_upper_s_s", 214: "mul_upper_u_u", 215: "mul_upper_s_u",
          216: "set_lt_u", 217: "set_lt_s", 218: "cmov_iz", 219: "cmov_nz", 220: "rot_l_64", 221: "rot_l_32",
          222: "rot_r_64", 223: "rot_r_32", 224: "and_inv", 225: "or_inv", 226: "xnor", 227: "max", 228: "max_u",
          229: "min", 230: "min_u"}


def gen_three():
    # ω_D = ω_A op ω_B with A = r7, B = r8, D = r9; ω_D starts nonzero (cmov keeps it)
    for op, nm in NAMES3.items():
        for k, (a, b) in enumerate(VALS3):
            if op in (210, 211, 212) and k > 2:
                continue
            regs = [0] * 13
            regs[7], regs[8], regs[9] = a, b, 0x1111
            case(f"x_{nm}_{k}", [op, 7 | 8 << 4, 9], regs)


def gen_regimm():
    names = {131: "add_imm_32", 135: "mul_imm_32", 137: "set_lt_s_imm", 138: "shlo_l_imm_32",
             139: "shlo_r_imm_32", 140: "shar_r_imm_32", 141: "neg_add_imm_32", 143: "set_gt_s_imm",
             144: "shlo_l_imm_alt_32", 145: "shlo_r_imm_alt_32", 146: "shar_r_imm_alt_32", 147: "cmov_iz_imm",
             148: "cmov_nz_imm", 151: "shlo_l_imm_64", 152: "shlo_r_imm_64", 153: "shar_r_imm_64",
             154: "neg_add_imm_64", 155: "shlo_l_imm_alt_64", 156: "shlo_r_imm_alt_64",
             157: "shar_r_imm_alt_64", 158: "rot_r_64_imm", 159: "rot_r_64_imm_alt", 160: "rot_r_32_imm",
             161: "rot_r_32_imm_alt", 142: "set_gt_u_imm", 136: "set_lt_u_imm"}
    # immediate bytes of every length 0..4 (and a long skip that still reads 4)
    imms = [[], [0x81], [0x21, 0xFF], [0x45, 0x23, 0x81], [0x21, 0x00, 0x00, 0x80], [0x3F, 0, 0, 0, 0x99, 0x77]]
    for op, nm in names.items():
        for k, ib in enumerate(imms):
            for j, b in enumerate([0x80000000F, M64 - 3]):
                regs = [0] * 13
                regs[8], regs[7] = b, 0x2222
                case(f"x_{nm}_l{len(ib)}_{j}", [op, 7 | 8 << 4] + ib, regs)


def gen_tworeg():
    names = {102: "count_set_bits_64", 103: "count_set_bits_32", 104: "leading_zero_bits_64",
             105: "leading_zero_bits_32", 106: "trailing_zero_bits_64", 107: "trailing_zero_bits_32",
             108: "sign_extend_8", 109: "sign_extend_16", 110: "zero_extend_16", 111: "reverse_bytes",
             100: "move_reg"}
    for op, nm in names.items():
        for k, a in enumerate([0, 0x80, 0x8000, 0x80000000, 0x100000000, 0x8000000000000000, 0x0123456789ABCDEF]):
            regs = [0] * 13
            regs[8] = a
            case(f"x_{nm}_{k}", [op, 7 | 8 << 4], regs)


def gen_regs_capped():
    # nibbles 13..15 all name φ12 (Decode.lean regA/regB/regD: min 12)
    regs = list(range(100, 113))
    case("x_reg_cap_three_src", [200, 0xFD, 9], regs)            # r9 = r12 + r12
    case("x_reg_cap_three_dst", [200, 0x21, 0x0E], regs)         # r12 = r1 + r2
    case("x_reg_cap_three_dst_high_nibble", [200, 0x21, 0xF3], regs)  # D = low nibble 3
    case("x_reg_cap_two", [100, 0xE3], regs)                     # r3 = r12
    case("x_reg_cap_two_dst", [100, 0x3F], regs)                 # r12 = r3
    case("x_reg_cap_load_imm", [51, 0x0F, 0x05], regs)
    case("x_reg_cap_load_imm_64", [20, 0x0D] + le(0x8877665544332211, 8), regs)
    case("x_reg_cap_regimm", [149, 0xEF, 0x01], regs)


def gen_imm_decoding():
    # load_imm: every immediate length, sign extension, a skip past 4 bytes
    for n in range(0, 6):
        case(f"x_load_imm_len{n}", [51, 0x07] + [0x80 | i for i in range(n)])
    case("x_load_imm_len4_positive", [51, 7, 0xFF, 0xFF, 0xFF, 0x7F])
    # load_imm_64 always reads 8 bytes, zero past the code, no sign extension
    case("x_load_imm_64_short", [20, 7, 0x11, 0x22, 0x33])
    case("x_load_imm_64_high", [20, 7] + le(0x8000000000000001, 8))
    # store_imm: l_X = min(4, ζ[ı+1] mod 8), ν_Y takes what is left (≤ 4)
    case("x_store_imm_u64_lx3_ly2", [33, 3, 0x00, 0x00, 0x02, 0x80, 0xFF], pages=[RW])
    case("x_store_imm_u32_lx7", [32, 7, 0x04, 0x00, 0x02, 0x00, 0x55], pages=[RW])
    case("x_store_imm_u64_ly_long", [33, 3, 0x10, 0x00, 0x02, 1, 2, 3, 4, 5, 6], pages=[RW])
    case("x_store_imm_u16_ly0", [31, 3, 0x00, 0x00, 0x02], pages=[RW])
    case("x_store_imm_u8_lx_high_bits", [30, 0xF3, 0x00, 0x00, 0x02, 0x7F], pages=[RW])
    # store_imm_ind: lX from bits 4..6 of byte 1
    regs = [0] * 13
    regs[1] = 0x20000
    case("x_store_imm_ind_u64_neg_offset", [73, 0x11, 0xF8, 0x55], regs=[0, 0x20010] + [0] * 11, pages=[RW])
    case("x_store_imm_ind_u32_lx5", [72, 0x51, 0, 0, 0, 0, 0x99, 0x88], regs, pages=[RW])
    case("x_store_imm_ind_u16_lx0", [71, 0x01, 0x34, 0x12], regs, pages=[RW])


def gen_memory():
    rw_ro = [RW, RO]
    mem0 = [(0x20FF8, list(range(1, 9))), (0x21000, list(range(0x11, 0x19)))]
    for op, (n, s) in LOADS.items():
        # straddling RW→RO works
        case(f"x_load_{op}_straddle_rw_ro", [op, 7] + le(0x21000 - n // 2 if n > 1 else 0x21000, 4),
             pages=rw_ro, memory=mem0)
        # straddling RO→unmapped faults at the unmapped page
        case(f"x_load_{op}_straddle_unmapped", [op, 7] + le(0x22000 - (n // 2 or 1) + (0 if n > 1 else 1), 4),
             pages=rw_ro, memory=mem0)
        # below 64 KiB panics
        case(f"x_load_{op}_low", [op, 7] + le(0xFFFF, 4), pages=rw_ro)
    for op, n in STORES.items():
        regs = [0] * 13
        regs[7] = 0x1122334455667788
        case(f"x_store_{op}_straddle_rw_ro", [op, 7] + le(0x21000 - (n // 2 or 1), 4), regs, pages=rw_ro)
        case(f"x_store_{op}_on_ro", [op, 7] + le(0x21004, 4), regs, pages=rw_ro)
        case(f"x_store_{op}_straddle_into_unmapped", [op, 0x07] + le(0x20FFF if n > 1 else 0x1F000, 4),
             regs, pages=[RW])
    for op, n in STORE_IND.items():
        regs = [0] * 13
        regs[7], regs[8] = 0xA1A2A3A4A5A6A7A8, 0x20FFC
        case(f"x_store_ind_{op}_straddle", [op, 7 | 8 << 4, 0x02], regs, pages=rw_ro)
        regs2 = list(regs)
        regs2[8] = 0x1_0002_0000   # the base wraps mod 2^32
        case(f"x_store_ind_{op}_wrap", [op, 7 | 8 << 4, 0x08], regs2, pages=rw_ro)
        regs3 = list(regs)
        regs3[8] = 0xFFFFFFFE    # wraps to address 0..: below 64 KiB
        case(f"x_store_ind_{op}_wrap_low", [op, 7 | 8 << 4], regs3, pages=rw_ro)
    for op, (n, s) in LOAD_IND.items():
        regs = [0] * 13
        regs[8] = 0x20FFF
        case(f"x_load_ind_{op}_straddle", [op, 7 | 8 << 4, 0xFF], regs, pages=rw_ro, memory=mem0)
        regs2 = list(regs)
        regs2[8] = 0x21FFF
        case(f"x_load_ind_{op}_fault_next", [op, 7 | 8 << 4, 0x01], regs2, pages=rw_ro, memory=mem0)
    # top of the address space: the last page mapped, an access that wraps to 0
    top = (0xFFFFF000, PAGE, True)
    regs = [0] * 13
    regs[8] = 0xFFFFFFFC
    case("x_load_ind_u64_wraps_to_zero", [130, 7 | 8 << 4], regs, pages=[top])
    case("x_load_ind_u32_top", [128, 7 | 8 << 4], regs, pages=[top], memory=[(0xFFFFFFFC, [1, 2, 3, 4])])
    case("x_store_ind_u64_wraps_to_zero", [123, 7 | 8 << 4], regs, pages=[top])
    # nothing written when the second page faults
    regs = [0] * 13
    regs[7], regs[8] = M64, 0x21FFC
    case("x_store_ind_u64_partial_nothing_written", [123, 7 | 8 << 4], regs,
         pages=[(0x21000, PAGE, True)])


def branch_prog(head, after_len):
    """head: the branch's bytes with its offset computed by the caller; then
    trap, trap: not taken ends at pc len(head), taken at len(head) + 1."""
    code = head + [0, 0]
    return code


def gen_branches():
    L = None
    for op, f in BR_IMM.items():
        for k, (a, imm) in enumerate([(5, -1), (M64, -1), (0x80, 0x80), (0x7FFFFFFF, 0x80000000),
                                      (0x8000000000000000, 0)]):
            # branch r7, imm (4 bytes), offset 1 byte → code len 7: L = 7, target L+1 = 8
            regs = [0] * 13
            regs[7] = a
            code = [op, 7 | 4 << 4] + le(imm, 4) + [8, 0, 0]
            case(f"x_branch_imm_{op}_{k}", code, regs, bits=[1, 0, 0, 0, 0, 0, 0, 1, 1])
    for op, f in BR.items():
        for k, (a, b) in enumerate([(1, M64), (M64, 1), (0x8000000000000000, 0x7FFFFFFFFFFFFFFF), (3, 3)]):
            regs = [0] * 13
            regs[7], regs[8] = a, b
            code = [op, 7 | 8 << 4, 4, 0, 0]
            case(f"x_branch_{op}_{k}", code, regs, bits=[1, 0, 0, 1, 1])
    # offsets: negative (backwards to pc 0), 0 length (target = itself), to a non-block-start
    regs = [0] * 13
    case("x_branch_eq_imm_offset_len0_self", [81, 7], regs)                       # loops to itself until out of gas
    case("x_branch_eq_imm_offset_len0_self_gas", [81, 7], regs, gas=5)
    case("x_jump_back_to_0_gas", [1, 40, 0xFF], bits=[1, 1, 0], gas=7)            # fallthrough; jump -1 → pc 0
    case("x_jump_not_block_start", [51, 7, 1, 40, 0xFD], bits=[1, 0, 0, 1, 0])     # jump to pc 0? no: 3-3=0 is a start
    case("x_jump_mid_block", [51, 7, 1, 51, 8, 2, 40, 0xFD], bits=[1, 0, 0, 1, 0, 0, 1, 0])  # → pc 3: not a start
    case("x_jump_past_end", [40, 0x10])                                            # target outside the code
    case("x_jump_to_end_implicit_trap", [40, 2])                                    # |c| = 2 is a block start
    case("x_jump_offset_4_bytes_neg", [1, 40, 0xFF, 0xFF, 0xFF, 0xFF], bits=[1, 1, 0, 0, 0, 0], gas=9)
    case("x_load_imm_jump", [80, 0x17, 0x85, 4, 0, 0], regs, bits=[1, 0, 0, 0, 1, 1])
    case("x_load_imm_jump_lx_ly_long", [80, 0x47, 1, 2, 3, 0x84, 8, 0, 0], regs, bits=[1, 0, 0, 0, 0, 0, 0, 1, 1])
    case("x_branch_out_of_gas_on_not_taken", [82, 7, 3, 0, 0], regs, bits=[1, 0, 0, 1, 1], gas=1)
    case("x_branch_taken_oog", [81, 7, 3, 0, 51, 7, 1], regs, bits=[1, 0, 0, 1, 1, 0, 0], gas=2)


def gen_djump():
    jt = [3, 4, 1]  # entries: block starts 3 and 4 (after traps), and 1 (mid? no: after jump_ind)
    code = [50, 0x07, 0, 0, 0]   # jump_ind r7 (no imm); pc 2..: trap, trap, trap
    code = [50, 0x07, 0, 0, 0]
    bits = [1, 0, 1, 1, 1]
    for k, a in enumerate([0, 1, 2, 3, 4, 5, 6, 7, 8, HALT, HALT + 2, HALT - 2, 0x1_0000_0002, 0x1_FFFF_0000,
                           M32, 0xFFFF0001]):
        regs = [0] * 13
        regs[7] = a
        case(f"x_jump_ind_{k}", code, regs, bits=bits, jt=[2, 3, 4, 0])
    # imm added to the register, 32-bit wrap
    regs = [0] * 13
    regs[7] = 0xFFFFFFFF
    case("x_jump_ind_imm_wrap", [50, 0x07, 3, 0, 0, 0], regs, bits=[1, 0, 0, 1, 1, 1], jt=[3, 4])
    # a jump table entry that is not a block start panics
    case("x_jump_ind_entry_not_block_start", [51, 8, 1, 50, 0x07, 0], [0, 0, 0, 0, 0, 0, 0, 2],
         bits=[1, 0, 0, 1, 0, 1], jt=[3])
    # a jump table entry of 0: jump to pc 0 (a block start; the Graypaper, not Lean's halt)
    case("x_jump_ind_entry_zero_loops", [50, 0x07], [0] * 7 + [2], jt=[0], gas=4)
    # load_imm_jump_ind: ra == rb reads the base first; writes ra even when panicking
    case("x_lijind_same_reg_halt", [180, 0x77, 0x04, 0, 0, 0xFF, 0xFF], [0] * 7 + [HALT])
    case("x_lijind_panic_writes_ra", [180, 0x87, 0x01, 0x55, 0x01], [0] * 8 + [0])
    case("x_lijind_z2_table", [180, 0x87, 0x00, 0x00, 0x00], [0] * 8 + [2], bits=[1, 0, 0, 1, 1], jt=[4], z=2)
    case("x_lijind_z3_table_far", [180, 0x87, 0x01, 0x09, 0x02], [0] * 8 + [0], bits=[1, 0, 0, 0, 1], jt=[4], z=3)


def gen_blocks_and_skip():
    # skip over 24: the chain reaches pc 26, whose bitmask bit is clear: it panics there
    pad = [0x33] * 24
    case("x_skip_over_24_lands_on_data", [1] + [0x55] + pad + [51, 7, 9], bits=[1] + [0] * 27)
    case("x_skip_exactly_24", [1] + pad + [51, 7, 9], bits=[1] + [0] * 24 + [1, 0, 0])
    case("x_skip_load_imm_long", [51, 7] + [1] * 30, bits=[1] + [0] * 31)
    case("x_skip_over_24_twice", [1] + [0] * 24 + [51, 7, 9] + [0] * 22 + [1], bits=[1])
    case("x_skip_over_24_jump_target", [40, 27] + [0] * 24 + [0, 51, 7, 9], bits=[1, 0, 0], gas=20)
    # pc 0 whose bitmask bit is clear is not an instruction (Lean: bitmaskGet 0 = false → panic)
    case("x_pc0_bit_clear", [51, 7, 1, 0], bits=[0, 0, 0, 1])
    # a bitmask bit past the code, in the last byte, is ignored
    p = Prog([51, 7, 5], [1, 0, 0], [])
    blob = p.blob()
    blob[-1] |= 0xF8
    v_before = len(CASES)
    case("x_bitmask_bits_past_code", [51, 7, 5])
    CASES[v_before]["program"] = blob
    # gas: exactly enough, one short, and the implicit trap's charge
    case("x_gas_exact", [51, 7, 1, 51, 8, 2], bits=[1, 0, 0, 1, 0, 0], gas=3)
    case("x_gas_one_short", [51, 7, 1, 51, 8, 2], bits=[1, 0, 0, 1, 0, 0], gas=2)
    case("x_gas_zero", [0], gas=0)
    case("x_gas_second_block_oog", [1, 51, 7, 1], bits=[1, 1, 0, 0], gas=2)
    case("x_gas_two_insn_block", [51, 7, 1, 0], bits=[1, 0, 0, 1], gas=10)
    # a byte that is not an opcode panics where it stands
    case("x_invalid_opcode_2", [51, 7, 1, 2, 51, 8, 1], bits=[1, 0, 0, 1, 1, 0, 0])
    case("x_invalid_opcode_255_first", [255])
    # a byte that is not an opcode ends its block: the gas charged stops there
    for b in (2, 3, 9, 19, 99, 112, 162, 176, 231, 255):
        case(f"x_invalid_opcode_{b}_mid_block_gas", [51, 7, 1, 51, 8, 2, b, 51, 9, 3, 51, 10, 4],
             bits=[1, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0])
    # ... and the instruction after it starts a block: a valid jump target
    case("x_jump_after_invalid_opcode", [40, 3, 2, 51, 7, 1], bits=[1, 0, 1, 1])
    case("x_branch_to_after_invalid_opcode_gas", [81, 7, 5, 2, 0, 51, 8, 1, 0], bits=[1, 0, 0, 1, 0, 1], gas=3)
    # the chain past a 24-byte skip onto a clear bit: not an instruction, ends the block
    case("x_skip_over_24_block_gas", [51, 7, 1] + [0] * 23 + [51, 8, 1, 0], bits=[1], gas=100)


def gen_alias():
    # operands that share a register (the recompiler's scratch and shift/divide
    # registers are where aliasing bugs live), over several register numbers
    combos = [(3, 3, 3), (4, 5, 4), (6, 2, 2), (12, 12, 0), (0, 11, 11), (9, 9, 10)]
    base = [0x8000000000000000, 0xFFFFFFFF80000001, 0x1F, 0x41, 0xFFFFFFFFFFFFFFFF, 0x7FFFFFFF,
            0x100000003, 0x80000000, 0x2, 0x3, 0xFEDCBA9876543210, 0x40, 0x21]
    for op, nm in NAMES3.items():
        for k, (a, b, d) in enumerate(combos):
            case(f"x_alias_{nm}_{k}", [op, a | b << 4, d], list(base))
    for op in sorted(REGIMM) + [147, 148]:
        for k, (a, b) in enumerate([(5, 5), (0, 12), (11, 1)]):
            case(f"x_alias_regimm_{op}_{k}", [op, a | b << 4, 0x85, 0xFF], list(base))
    for op in sorted(TWOREG):
        case(f"x_alias_tworeg_{op}", [op, 0x44], list(base))
    regs = list(base)
    regs[7] = 0x20FF8
    for op in sorted(LOAD_IND):
        case(f"x_alias_load_ind_{op}", [op, 0x77, 0x04], regs, pages=[RW, RO],
             memory=[(0x20FF8, list(range(0xE1, 0xF1)))])
    for op in sorted(STORE_IND):
        case(f"x_alias_store_ind_{op}", [op, 0x77, 0x01], regs, pages=[RW, RO])
    for op in sorted(STORE_IMM_IND):
        case(f"x_alias_store_imm_ind_{op}", [op, 0x27, 0xF0, 0x80, 0x81], regs, pages=[RW])


def gen_more():
    top = (0xFFFF8000, PAGE, True)
    mem = [(0xFFFF8000, [0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88])]
    # a sign-extended immediate address, taken mod 2^32
    case("x_load_u32_imm_negative_4", [56, 7, 0x00, 0x80, 0xFF, 0xFF], pages=[top], memory=mem)
    case("x_load_i16_imm_negative_3", [55, 7, 0x00, 0x80, 0xFF], pages=[top], memory=mem)
    case("x_load_u64_imm_negative_2", [58, 7, 0x00, 0x80], pages=[top], memory=mem)
    case("x_store_u16_imm_negative_2", [60, 7, 0x02, 0x80], [0] * 7 + [0xBEEF], pages=[top])
    case("x_store_imm_u32_addr_negative", [32, 2, 0x04, 0x80, 0x12], pages=[top])
    # gas: a negative budget, exactly the first block, the implicit trap's charge
    case("x_gas_negative", [51, 7, 1], gas=-1)
    case("x_gas_one_for_two", [51, 7, 1], gas=1)
    case("x_gas_large", [51, 7, 1], gas=(1 << 63) - 1)
    # jump table entries: past the code, exactly |c| after a terminator, |c| otherwise
    case("x_jump_ind_entry_past_code", [50, 7], [0] * 7 + [2], jt=[9])
    case("x_jump_ind_entry_code_len", [50, 7], [0] * 7 + [2], jt=[2])
    case("x_jump_ind_entry_code_len_not_start", [50, 7, 0, 51, 8, 1], [0] * 7 + [2], bits=[1, 0, 1, 1], jt=[6])
    # branch immediate compared unsigned with the sign-extended ν_X
    case("x_branch_lt_u_imm_signext", [83, 0x17, 0x80, 4, 0, 0], [0] * 7 + [0xFFFFFFFFFFFFFF7F],
         bits=[1, 0, 0, 0, 1, 1])
    case("x_branch_gt_s_imm_zero_len", [90, 0x07, 3, 0, 0], [0] * 7 + [1], bits=[1, 0, 0, 1, 1])


def gen_initial_pc():
    # an initial pc that is not an instruction start panics there and costs 1
    # (Lean executeStep: a clear bitmask bit panics; past the code the bitmask
    # reads as set and the code as 0, trap); less than 1 gas: out of gas
    code, bits = [51, 7, 1, 51, 8, 2, 0], [1, 0, 0, 1, 0, 0, 1]
    r = [0] * 7 + [0x77, 0x88]
    case("x_initial_pc_in_operands", code, r, bits=bits, pc=1)
    case("x_initial_pc_in_operands_last_byte", code, r, bits=bits, pc=5)
    case("x_initial_pc_in_operands_gas_one", code, r, bits=bits, pc=2, gas=1)
    case("x_initial_pc_in_operands_gas_zero", code, r, bits=bits, pc=2, gas=0)
    case("x_initial_pc_in_operands_gas_negative", code, r, bits=bits, pc=4, gas=-1)
    case("x_initial_pc_code_len", code, r, bits=bits, pc=7)
    case("x_initial_pc_past_code", code, r, bits=bits, pc=8)
    case("x_initial_pc_far_past_code", code, r, bits=bits, pc=0x10000)
    case("x_initial_pc_u32_max", code, r, bits=bits, pc=M32)
    case("x_initial_pc_u32_max_gas_zero", code, r, bits=bits, pc=M32, gas=0)
    # an instruction start that is not a block start: the rest of its block
    case("x_initial_pc_mid_block", code, r, bits=bits, pc=3)
    case("x_initial_pc_mid_block_gas_short", code, r, bits=bits, pc=3, gas=1)
    # a clear bit the fall-through chain reaches (past a 24-byte skip)
    case("x_initial_pc_chain_clear_bit", [1] + [0x55] + [0x33] * 24 + [51, 7, 9], bits=[1] + [0] * 28, pc=26)
    # inside a jump's offset, then inside a branch's: neither is a target
    case("x_initial_pc_in_jump_offset", [40, 3, 0, 51, 7, 1], bits=[1, 0, 0, 1, 0, 0], pc=2)
    case("x_initial_pc_in_branch", [81, 0x07, 5, 2, 0, 51, 8, 1, 0], bits=[1, 0, 0, 0, 1, 1, 0, 0, 1], pc=3)


def main():
    gen_initial_pc()
    gen_more()
    gen_alias()
    gen_three()
    gen_regimm()
    gen_tworeg()
    gen_regs_capped()
    gen_imm_decoding()
    gen_memory()
    gen_branches()
    gen_djump()
    gen_blocks_and_skip()
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".json"):
            os.remove(os.path.join(OUT, f))
    for v in CASES:
        with open(os.path.join(OUT, v["name"] + ".json"), "w") as fh:
            json.dump(v, fh, separators=(",", ":"))
            fh.write("\n")
    print(f"{len(CASES)} vectors in {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
