; sieve.s — count the primes below N with the sieve of Eratosthenes.
;
; In:  r9 = N (10,000,000), r10 = base of a zeroed, writable byte array of
;      at least N bytes (a[i] != 0 marks i composite).
; Out: r7 = number of primes below N (664579 for N = 10^7); halts.
;
; Same loop as sieve_native() in bench/native_algos.c: walk i = 2..N-1; an
; unmarked i is prime, and if i*i < N its multiples from i*i on are marked.
; r4 = 1 (the mark), r8 = i, r11 = address, r12 = j.

    load_imm r7, 0
    load_imm r4, 1
    load_imm r8, 2
    branch_ge_u r8, r9, done
outer:
    add_64 r11, r10, r8
    load_ind_u8 r3, r11, 0
    branch_ne_imm r3, 0, next
    add_imm_64 r7, r7, 1
    mul_64 r12, r8, r8
    branch_ge_u r12, r9, next
mark:
    add_64 r11, r10, r12
    store_ind_u8 r4, r11, 0
    add_64 r12, r12, r8
    branch_lt_u r12, r9, mark
next:
    add_imm_64 r8, r8, 1
    branch_lt_u r8, r9, outer
done:
    load_imm r0, 0xFFFF0000
    jump_ind r0, 0
