/*
 * cmd_devnet_cons.c — `jark devnet` on real consensus: parses the fault
 * flags, runs jk_devnet_consensus_run and prints its summary.
 */
#include "devnet_cons.h"

#include "commands.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A probability 0..1 as permille. */
static bool jk_parse_permille(const char *text, uint32_t *out)
{
    char *end = NULL;
    double p = strtod(text, &end);
    if (!end || *end || end == text || !(p >= 0.0 && p <= 1.0))
        return false;
    *out = (uint32_t)(p * 1000.0 + 0.5);
    return true;
}

int jk_tool_devnet_fault_flag(int argc, char **argv, int *i, jk_devnet_faults *f,
                              bool *round_robin)
{
    const char *a = argv[*i];
    bool has_value = *i + 1 < argc;
    uint64_t n = 0;
    if (!strcmp(a, "--partition")) {
        f->partition = true;
        return 1;
    }
    if (!strcmp(a, "--round-robin")) {
        *round_robin = true;
        return 1;
    }
    if (!strcmp(a, "--drop") || !strcmp(a, "--dup")) {
        uint32_t *target = !strcmp(a, "--drop") ? &f->drop_permille : &f->dup_permille;
        if (!has_value || !jk_parse_permille(argv[*i + 1], target)) {
            fprintf(stderr, "jark devnet: %s takes a probability between 0 and 1\n", a);
            return -1;
        }
        (*i)++;
        return 1;
    }
    if (!strcmp(a, "--crash") || !strcmp(a, "--byzantine")) {
        if (!has_value || jk_tool_parse_number(argv[*i + 1], false, &n) || n > 64) {
            fprintf(stderr, "jark devnet: %s takes a count\n", a);
            return -1;
        }
        *(!strcmp(a, "--crash") ? &f->crashes : &f->byzantine) = (uint32_t)n;
        (*i)++;
        return 1;
    }
    return 0;
}

int jk_tool_devnet_consensus(const jk_devnet_options *o, const jk_devnet_faults *f, bool temporary)
{
    jk_devnet_cons_result r;
    int rc = jk_devnet_consensus_run(o, f, &r);
    if (r.base.reason[0])
        fprintf(stderr, "jark devnet: %s\n", r.base.reason);
    /* 2: bad options or input; no genesis hash: the chain refused its genesis
     * (exit 1) before a validator started, so there is no run to report */
    bool started = false;
    for (int i = 0; i < 32; i++)
        started |= r.base.genesis.bytes[i] != 0;
    if (rc == 2 || !started)
        return rc;
    uint64_t heights = r.base.height > r.start ? r.base.height - r.start : 1;
    printf("devnet: height %" PRIu64 ": %" PRIu64 " blocks, %" PRIu64 " events, %" PRIu64
           " traces in %.2f s (%.0f events/s), state root ", r.base.height,
           r.base.height - r.start, r.base.events, r.base.traces, r.base.seconds,
           r.base.seconds > 0 ? (double)r.base.events / r.base.seconds : 0.0);
    for (int i = 0; i < 32; i++)
        printf("%02x", r.base.root.bytes[i]);
    printf("\ndevnet: rounds per height %.2f (max round %u), messages per height %.0f, "
           "%" PRIu64 " crashes, %" PRIu64 " evidence, %" PRIu64 " simulated ms\n",
           (double)r.rounds / (double)heights, r.max_round, (double)r.sent / (double)heights,
           r.crashes, r.evidence, r.sim_ms);
    printf("devnet: safety %s, liveness %s; every honest validator reached the same state root "
           "at every height: %s\n", r.safety_ok ? "held" : "VIOLATED",
           r.liveness_ok ? "held" : "VIOLATED", rc == 0 ? "yes" : "NO");
    if (r.chain_error[0])
        printf("devnet: the chain refused its blocks: %s\n", r.chain_error);
    if (!temporary)
        printf("devnet: `jark chain show --store %s` shows the state; `jark devnet --dir %s` goes on\n",
               o->dir, o->dir);
    return rc;
}
