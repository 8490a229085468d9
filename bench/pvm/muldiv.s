; muldiv.s — 64-bit multiplies, divisions and remainders in a loop.
;
; In:  r8 = seed x, r9 = iteration count n.
; Out: r7 = acc; halts.
;
; Same loop as muldiv_native() in bench/native_algos.c:
;   x   = x * 6364136223846793005 + 1442695040888963407   (Knuth's MMIX LCG)
;   acc = acc + x / ((x >> 32) | 1)                        (never divides by 0)
;   acc = acc ^ x % ((x & 0xFFFF) + 3)
; r2, r3 = the LCG constants, r6 = loop counter, r4/r5 = scratch.

    load_imm_64 r2, 6364136223846793005
    load_imm_64 r3, 1442695040888963407
    load_imm r7, 0
    load_imm r6, 0
    branch_eq_imm r9, 0, done
loop:
    mul_64 r8, r8, r2
    add_64 r8, r8, r3
    shlo_r_imm_64 r4, r8, 32
    or_imm r4, r4, 1
    div_u_64 r5, r8, r4
    add_64 r7, r7, r5
    and_imm r4, r8, 0xFFFF
    add_imm_64 r4, r4, 3
    rem_u_64 r5, r8, r4
    xor r7, r7, r5
    add_imm_64 r6, r6, 1
    branch_lt_u r6, r9, loop
done:
    load_imm r0, 0xFFFF0000
    jump_ind r0, 0
