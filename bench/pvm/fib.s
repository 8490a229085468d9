; fib.s — recursive Fibonacci with real calls.
;
; In:  r7 = n (30), r1 = stack pointer: the top of a writable stack region
;      (the stack grows down; each call uses 24 bytes).
; Out: r7 = fib(n) (832040 for n = 30); halts.
;
; Calling convention: the caller puts the argument in r7 and a return address
; in r0 — a dynamic-jump address, jt(label), of a jump-table entry — and the
; callee returns with `jump_ind r0, 0`. The result comes back in r7; r8 is
; scratch; r1 is preserved. A non-leaf call spills what must survive the
; nested calls (its return address, n, and fib(n-1)) to a 24-byte frame.
; Same recursion as fib_native() in bench/native_algos.c.

.jump_table ret_main, ret_1, ret_2

    load_imm_jump r0, jt(ret_main), fib
ret_main:
    load_imm r0, 0xFFFF0000
    jump_ind r0, 0

fib:
    branch_lt_u_imm r7, 2, leaf        ; fib(0) = 0, fib(1) = 1
    add_imm_64 r1, r1, -24             ; push a frame
    store_ind_u64 r0, r1, 0            ;   [sp+0]  return address
    store_ind_u64 r7, r1, 8            ;   [sp+8]  n
    add_imm_64 r7, r7, -1
    load_imm_jump r0, jt(ret_1), fib   ; fib(n-1)
ret_1:
    store_ind_u64 r7, r1, 16           ;   [sp+16] fib(n-1)
    load_ind_u64 r7, r1, 8
    add_imm_64 r7, r7, -2
    load_imm_jump r0, jt(ret_2), fib   ; fib(n-2)
ret_2:
    load_ind_u64 r8, r1, 16
    add_64 r7, r7, r8
    load_ind_u64 r0, r1, 0
    add_imm_64 r1, r1, 24              ; pop the frame
    jump_ind r0, 0                     ; return
leaf:                                  ; (a branch target must follow a
    jump_ind r0, 0                     ;  terminator, hence its own return)
