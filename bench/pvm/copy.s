; copy.s — 8-byte load/store copy loop over a 16 MiB buffer, several passes.
;
; In:  r9 = buffer size in bytes (a nonzero multiple of 32), r10 = buffer A,
;      r11 = buffer B (both writable, r9 bytes each), r12 = passes (>= 1).
; Out: r7 = checksum; halts.
;
; Same steps as copy_native() in bench/native_algos.c:
;   1. fill A with 64-bit words v_i = (i + 1) * 0x9E3779B97F4A7C15
;   2. copy A -> B, then B -> A, ... (r12 passes, ping-pong), 4 words a turn
;   3. checksum the last destination: acc = rotl(acc, 5) ^ word, i.e.
;      rot_r_64_imm by 59, which makes the order of the words count.
; r2 = source cursor, r3 = destination cursor, r4 = source end,
; r5/r6/r7/r8 = data, r1 = passes done. Loop heads are preceded by
; `fallthrough`: a branch may only target the start of a basic block, i.e. an
; instruction that follows a terminator.

    ; -- 1. fill A --
    load_imm_64 r5, 0x9E3779B97F4A7C15
    move_reg r6, r5
    move_reg r2, r10
    add_64 r4, r10, r9
    fallthrough                 ; a branch target must start a basic block
fill:
    store_ind_u64 r6, r2, 0
    add_64 r6, r6, r5
    add_imm_64 r2, r2, 8
    branch_lt_u r2, r4, fill

    ; -- 2. copy passes --
    load_imm r1, 0
    fallthrough
pass:
    move_reg r2, r10
    move_reg r3, r11
    add_64 r4, r10, r9
    fallthrough
copy:
    load_ind_u64 r5, r2, 0
    load_ind_u64 r6, r2, 8
    load_ind_u64 r7, r2, 16
    load_ind_u64 r8, r2, 24
    store_ind_u64 r5, r3, 0
    store_ind_u64 r6, r3, 8
    store_ind_u64 r7, r3, 16
    store_ind_u64 r8, r3, 24
    add_imm_64 r2, r2, 32
    add_imm_64 r3, r3, 32
    branch_lt_u r2, r4, copy
    ; swap A and B: the next pass copies back
    move_reg r5, r10
    move_reg r10, r11
    move_reg r11, r5
    add_imm_64 r1, r1, 1
    branch_lt_u r1, r12, pass

    ; -- 3. checksum the last destination (now in r10) --
    load_imm r7, 0
    move_reg r2, r10
    add_64 r4, r10, r9
    fallthrough
sum:
    load_ind_u64 r5, r2, 0
    rot_r_64_imm r7, r7, 59
    xor r7, r7, r5
    add_imm_64 r2, r2, 8
    branch_lt_u r2, r4, sum
    load_imm r0, 0xFFFF0000
    jump_ind r0, 0
