/*
 * cmd_devnet.c — `jark devnet`: the command line over jark/devnet.h.
 * Without --dir the stores live in a temporary folder that is removed at the
 * end (nothing is left in /tmp); with --dir they persist and a later run
 * resumes them.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "commands.h"

#include "jark/devnet.h"
#include "devnet_cons.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char jk_devnet_usage[] =
    "usage: jark devnet [--spec SPEC] [--events FILE] [--workload demo|events|none] [--validator-key FILE]...\n"
    "                   [--validators V] [--blocks N] [--events-per-block E] [--seed S] [--dir DIR] [--threads T]\n"
    "                   [--drop P] [--dup P] [--partition] [--crash N] [--byzantine N] [--round-robin] [-v] [--engine interp|jit]\n"
    "                   " JK_TOOL_BUILD_USAGE "\n";

static int jk_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

#define JK_MAX_KEYS JK_DEVNET_MAX_VALIDATORS

int jk_tool_devnet(int argc, char **argv)
{
    uint64_t v = 4, blocks = 100, per_block = 32, seed = 1, threads = 2;
    const char *dir = NULL, *events_path = NULL;
    jk_devnet_options o = {0};
    jk_devnet_faults faults = {0};
    bool round_robin = false;
    jk_tool_build b;
    jk_tool_build_init(&b);
    jk_spec_key *keys = calloc(JK_MAX_KEYS, sizeof *keys);
    jk_spec_events events = {0};
    int rc = JK_EXIT_USAGE;
    if (!keys)
        return JK_EXIT_USAGE;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        uint64_t *target = !strcmp(a, "--validators") ? &v : !strcmp(a, "--blocks") ? &blocks
                           : !strcmp(a, "--events-per-block") ? &per_block : !strcmp(a, "--seed") ? &seed
                           : !strcmp(a, "--threads") ? &threads : NULL;
        bool has_value = i + 1 < argc;
        int flag = jk_tool_build_flag(argc, argv, &i, &b);
        if (flag > 0)
            continue;
        int fault = flag == 0 ? jk_tool_devnet_fault_flag(argc, argv, &i, &faults, &round_robin) : 0;
        if (fault < 0)
            goto done;
        if (fault > 0)
            continue;
        if (flag == 0 && target && has_value && !jk_tool_parse_number(argv[i + 1], false, target)) {
            i++;
        } else if (flag == 0 && !strcmp(a, "--engine")) {
            if (jk_tool_engine_flag(argc, argv, &i) != 1)
                goto done;
        } else if (flag == 0 && !strcmp(a, "-v")) {
            o.debug = stderr; /* chain programs' DEBUG_WRITE, apart from the per-block lines */
        } else if (flag == 0 && !strcmp(a, "--dir") && has_value) {
            if (jk_tool_once("devnet", a, &dir, argv[++i]) != 0)
                goto done;
        } else if (flag == 0 && !strcmp(a, "--spec") && has_value) {
            if (jk_tool_once("devnet", a, &o.spec_path, argv[++i]) != 0)
                goto done;
        } else if (flag == 0 && !strcmp(a, "--events") && has_value) {
            if (jk_tool_once("devnet", a, &events_path, argv[++i]) != 0)
                goto done;
        } else if (flag == 0 && !strcmp(a, "--workload") && has_value) {
            const char *w = argv[++i];
            o.workload = !strcmp(w, "demo") ? JK_DEVNET_WORKLOAD_DEMO : !strcmp(w, "events") ? JK_DEVNET_WORKLOAD_EVENTS
                         : !strcmp(w, "none") ? JK_DEVNET_WORKLOAD_NONE : (jk_devnet_workload)-1;
            if (o.workload == (jk_devnet_workload)-1) {
                fprintf(stderr, "jark devnet: --workload demo, events or none\n");
                goto done;
            }
        } else if (flag == 0 && !strcmp(a, "--validator-key") && has_value && o.validator_key_count < JK_MAX_KEYS) {
            jk_diag diag = {{0}};
            if (jk_spec_key_load(argv[++i], &keys[o.validator_key_count], &diag) != JK_OK) {
                fprintf(stderr, "jark devnet: %s\n", diag.msg);
                goto done;
            }
            o.validator_key_count++;
        } else {
            fputs(jk_devnet_usage, stderr);
            goto done;
        }
    }
    if (events_path) {
        jk_diag diag = {{0}};
        if (jk_spec_events_load(events_path, &events, &diag) != JK_OK) {
            fprintf(stderr, "jark devnet: %s\n", diag.msg);
            goto done;
        }
        o.events = &events;
    }
    char tmp[PATH_MAX];
    const char *tmpdir = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%.*s/jark-devnet-XXXXXX", PATH_MAX - 32, tmpdir && *tmpdir ? tmpdir : "/tmp");
    bool temporary = !dir;
    if (temporary && !(dir = mkdtemp(tmp))) {
        fprintf(stderr, "jark devnet: cannot make a directory: %s\n", strerror(errno));
        goto done;
    }
    if (v > UINT32_MAX || per_block > UINT32_MAX || threads > UINT32_MAX)
        v = 0; /* refused by jk_devnet_run */
    o.validators = (uint32_t)v;
    o.blocks = blocks;
    o.events_per_block = (uint32_t)per_block;
    o.seed = seed;
    o.threads = (unsigned)threads;
    o.dir = dir;
    o.validator_keys = keys;
    o.build = &b.o;
    jk_devnet_result r;
    if (!round_robin) {
        rc = jk_tool_devnet_consensus(&o, &faults, temporary);
        goto cleanup;
    }
    rc = jk_devnet_run(&o, &r);
    if (r.reason[0])
        fprintf(stderr, "jark devnet: %s\n", r.reason);
    if (rc != 2 && !(rc != 0 && r.height == 0)) {
        printf("devnet: height %" PRIu64 ": %" PRIu64 " blocks, %" PRIu64 " events, %" PRIu64
               " traces in %.2f s (%.0f events/s), state root ",
               r.height, blocks, r.events, r.traces, r.seconds, r.seconds > 0 ? (double)r.events / r.seconds : 0.0);
        for (int i = 0; i < 32; i++)
            printf("%02x", r.root.bytes[i]);
        printf("\ndevnet: every validator reached the same state root at every height: %s\n", r.agree ? "yes" : "NO");
        if (!temporary)
            printf("devnet: `jark chain show --store %s` shows the state; `jark devnet --dir %s` goes on\n", dir, dir);
    }
cleanup:
    if (temporary && nftw(dir, jk_rm_entry, 8, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "jark devnet: cannot remove %s: %s\n", dir, strerror(errno));
    rc = rc == 3 ? JK_EXIT_REFUSED : rc;
done:
    jk_spec_events_free(&events);
    jk_crypto_wipe(keys, JK_MAX_KEYS * sizeof *keys);
    free(keys);
    return rc;
}
