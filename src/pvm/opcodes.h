/*
 * opcodes.h — the PVM instruction set as one X-macro table (internal).
 *
 * X(opcode, name, format, is_terminator): numbers and names are the Graypaper's
 * (Appendix A.5, 64-bit PVM); format is a jk_pvm_argfmt suffix; terminators are
 * the Graypaper's set T, which ends a basic block. ecalli is not in T: a host
 * call exits mid-block and resumes there without a new charge. The table is
 * the single source for the decoder, the interpreter's handler list, the
 * assembler and the disassembler.
 */
#ifndef JK_PVM_OPCODES_H
#define JK_PVM_OPCODES_H

#define JK_PVM_OPCODE_TABLE(X) \
    X(0, trap, NONE, 1) \
    X(1, fallthrough, NONE, 1) \
    X(10, ecalli, IMM, 0) \
    X(20, load_imm_64, REG_IMM64, 0) \
    X(30, store_imm_u8, IMM_IMM, 0) \
    X(31, store_imm_u16, IMM_IMM, 0) \
    X(32, store_imm_u32, IMM_IMM, 0) \
    X(33, store_imm_u64, IMM_IMM, 0) \
    X(40, jump, OFFSET, 1) \
    X(50, jump_ind, REG_IMM, 1) \
    X(51, load_imm, REG_IMM, 0) \
    X(52, load_u8, REG_IMM, 0) \
    X(53, load_i8, REG_IMM, 0) \
    X(54, load_u16, REG_IMM, 0) \
    X(55, load_i16, REG_IMM, 0) \
    X(56, load_u32, REG_IMM, 0) \
    X(57, load_i32, REG_IMM, 0) \
    X(58, load_u64, REG_IMM, 0) \
    X(59, store_u8, REG_IMM, 0) \
    X(60, store_u16, REG_IMM, 0) \
    X(61, store_u32, REG_IMM, 0) \
    X(62, store_u64, REG_IMM, 0) \
    X(70, store_imm_ind_u8, REG_IMM_IMM, 0) \
    X(71, store_imm_ind_u16, REG_IMM_IMM, 0) \
    X(72, store_imm_ind_u32, REG_IMM_IMM, 0) \
    X(73, store_imm_ind_u64, REG_IMM_IMM, 0) \
    X(80, load_imm_jump, REG_IMM_OFFSET, 1) \
    X(81, branch_eq_imm, REG_IMM_OFFSET, 1) \
    X(82, branch_ne_imm, REG_IMM_OFFSET, 1) \
    X(83, branch_lt_u_imm, REG_IMM_OFFSET, 1) \
    X(84, branch_le_u_imm, REG_IMM_OFFSET, 1) \
    X(85, branch_ge_u_imm, REG_IMM_OFFSET, 1) \
    X(86, branch_gt_u_imm, REG_IMM_OFFSET, 1) \
    X(87, branch_lt_s_imm, REG_IMM_OFFSET, 1) \
    X(88, branch_le_s_imm, REG_IMM_OFFSET, 1) \
    X(89, branch_ge_s_imm, REG_IMM_OFFSET, 1) \
    X(90, branch_gt_s_imm, REG_IMM_OFFSET, 1) \
    X(100, move_reg, REG_REG, 0) \
    X(101, sbrk, REG_REG, 0) \
    X(102, count_set_bits_64, REG_REG, 0) \
    X(103, count_set_bits_32, REG_REG, 0) \
    X(104, leading_zero_bits_64, REG_REG, 0) \
    X(105, leading_zero_bits_32, REG_REG, 0) \
    X(106, trailing_zero_bits_64, REG_REG, 0) \
    X(107, trailing_zero_bits_32, REG_REG, 0) \
    X(108, sign_extend_8, REG_REG, 0) \
    X(109, sign_extend_16, REG_REG, 0) \
    X(110, zero_extend_16, REG_REG, 0) \
    X(111, reverse_bytes, REG_REG, 0) \
    X(120, store_ind_u8, REG_REG_IMM, 0) \
    X(121, store_ind_u16, REG_REG_IMM, 0) \
    X(122, store_ind_u32, REG_REG_IMM, 0) \
    X(123, store_ind_u64, REG_REG_IMM, 0) \
    X(124, load_ind_u8, REG_REG_IMM, 0) \
    X(125, load_ind_i8, REG_REG_IMM, 0) \
    X(126, load_ind_u16, REG_REG_IMM, 0) \
    X(127, load_ind_i16, REG_REG_IMM, 0) \
    X(128, load_ind_u32, REG_REG_IMM, 0) \
    X(129, load_ind_i32, REG_REG_IMM, 0) \
    X(130, load_ind_u64, REG_REG_IMM, 0) \
    X(131, add_imm_32, REG_REG_IMM, 0) \
    X(132, and_imm, REG_REG_IMM, 0) \
    X(133, xor_imm, REG_REG_IMM, 0) \
    X(134, or_imm, REG_REG_IMM, 0) \
    X(135, mul_imm_32, REG_REG_IMM, 0) \
    X(136, set_lt_u_imm, REG_REG_IMM, 0) \
    X(137, set_lt_s_imm, REG_REG_IMM, 0) \
    X(138, shlo_l_imm_32, REG_REG_IMM, 0) \
    X(139, shlo_r_imm_32, REG_REG_IMM, 0) \
    X(140, shar_r_imm_32, REG_REG_IMM, 0) \
    X(141, neg_add_imm_32, REG_REG_IMM, 0) \
    X(142, set_gt_u_imm, REG_REG_IMM, 0) \
    X(143, set_gt_s_imm, REG_REG_IMM, 0) \
    X(144, shlo_l_imm_alt_32, REG_REG_IMM, 0) \
    X(145, shlo_r_imm_alt_32, REG_REG_IMM, 0) \
    X(146, shar_r_imm_alt_32, REG_REG_IMM, 0) \
    X(147, cmov_iz_imm, REG_REG_IMM, 0) \
    X(148, cmov_nz_imm, REG_REG_IMM, 0) \
    X(149, add_imm_64, REG_REG_IMM, 0) \
    X(150, mul_imm_64, REG_REG_IMM, 0) \
    X(151, shlo_l_imm_64, REG_REG_IMM, 0) \
    X(152, shlo_r_imm_64, REG_REG_IMM, 0) \
    X(153, shar_r_imm_64, REG_REG_IMM, 0) \
    X(154, neg_add_imm_64, REG_REG_IMM, 0) \
    X(155, shlo_l_imm_alt_64, REG_REG_IMM, 0) \
    X(156, shlo_r_imm_alt_64, REG_REG_IMM, 0) \
    X(157, shar_r_imm_alt_64, REG_REG_IMM, 0) \
    X(158, rot_r_64_imm, REG_REG_IMM, 0) \
    X(159, rot_r_64_imm_alt, REG_REG_IMM, 0) \
    X(160, rot_r_32_imm, REG_REG_IMM, 0) \
    X(161, rot_r_32_imm_alt, REG_REG_IMM, 0) \
    X(170, branch_eq, REG_REG_OFFSET, 1) \
    X(171, branch_ne, REG_REG_OFFSET, 1) \
    X(172, branch_lt_u, REG_REG_OFFSET, 1) \
    X(173, branch_lt_s, REG_REG_OFFSET, 1) \
    X(174, branch_ge_u, REG_REG_OFFSET, 1) \
    X(175, branch_ge_s, REG_REG_OFFSET, 1) \
    X(180, load_imm_jump_ind, REG_REG_IMM_IMM, 1) \
    X(190, add_32, REG_REG_REG, 0) \
    X(191, sub_32, REG_REG_REG, 0) \
    X(192, mul_32, REG_REG_REG, 0) \
    X(193, div_u_32, REG_REG_REG, 0) \
    X(194, div_s_32, REG_REG_REG, 0) \
    X(195, rem_u_32, REG_REG_REG, 0) \
    X(196, rem_s_32, REG_REG_REG, 0) \
    X(197, shlo_l_32, REG_REG_REG, 0) \
    X(198, shlo_r_32, REG_REG_REG, 0) \
    X(199, shar_r_32, REG_REG_REG, 0) \
    X(200, add_64, REG_REG_REG, 0) \
    X(201, sub_64, REG_REG_REG, 0) \
    X(202, mul_64, REG_REG_REG, 0) \
    X(203, div_u_64, REG_REG_REG, 0) \
    X(204, div_s_64, REG_REG_REG, 0) \
    X(205, rem_u_64, REG_REG_REG, 0) \
    X(206, rem_s_64, REG_REG_REG, 0) \
    X(207, shlo_l_64, REG_REG_REG, 0) \
    X(208, shlo_r_64, REG_REG_REG, 0) \
    X(209, shar_r_64, REG_REG_REG, 0) \
    X(210, and, REG_REG_REG, 0) \
    X(211, xor, REG_REG_REG, 0) \
    X(212, or, REG_REG_REG, 0) \
    X(213, mul_upper_s_s, REG_REG_REG, 0) \
    X(214, mul_upper_u_u, REG_REG_REG, 0) \
    X(215, mul_upper_s_u, REG_REG_REG, 0) \
    X(216, set_lt_u, REG_REG_REG, 0) \
    X(217, set_lt_s, REG_REG_REG, 0) \
    X(218, cmov_iz, REG_REG_REG, 0) \
    X(219, cmov_nz, REG_REG_REG, 0) \
    X(220, rot_l_64, REG_REG_REG, 0) \
    X(221, rot_l_32, REG_REG_REG, 0) \
    X(222, rot_r_64, REG_REG_REG, 0) \
    X(223, rot_r_32, REG_REG_REG, 0) \
    X(224, and_inv, REG_REG_REG, 0) \
    X(225, or_inv, REG_REG_REG, 0) \
    X(226, xnor, REG_REG_REG, 0) \
    X(227, max, REG_REG_REG, 0) \
    X(228, max_u, REG_REG_REG, 0) \
    X(229, min, REG_REG_REG, 0) \
    X(230, min_u, REG_REG_REG, 0) \

#endif
