/* devnet_cons.h — `jark devnet` on real consensus (tools/cmd_devnet_cons.c):
 * the fault flags and the summary, beside cmd_devnet.c's round-robin path. */
#ifndef JK_TOOLS_DEVNET_CONS_H
#define JK_TOOLS_DEVNET_CONS_H

#include "jark/devnet.h"

#include <stdbool.h>

/* Parse one fault flag at argv[*i] (--drop P, --dup P, --partition,
 * --crash N, --byzantine N, --round-robin); advances *i past its value.
 * @return 1 taken; 0 not a fault flag; -1 a bad value (said on stderr). */
int jk_tool_devnet_fault_flag(int argc, char **argv, int *i, jk_devnet_faults *f,
                              bool *round_robin);

/* Run the devnet on consensus and print its summary.
 * @return 0 agreed and live; 1 a violation or failure; 2 bad options. */
int jk_tool_devnet_consensus(const jk_devnet_options *o, const jk_devnet_faults *f, bool temporary);

#endif
