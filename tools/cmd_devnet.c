/*
 * cmd_devnet.c — `jark devnet`: the command line over jark/devnet.h.
 */
#include "commands.h"

#include "jark/devnet.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int jk_tool_devnet(int argc, char **argv)
{
    uint64_t v = 4, blocks = 100, per_block = 32, seed = 1, threads = 2;
    const char *dir = NULL;
    for (int i = 0; i < argc; i++) {
        uint64_t *target = !strcmp(argv[i], "--validators") ? &v : !strcmp(argv[i], "--blocks") ? &blocks
                           : !strcmp(argv[i], "--events-per-block") ? &per_block : !strcmp(argv[i], "--seed") ? &seed
                           : !strcmp(argv[i], "--threads") ? &threads : NULL;
        if (target && i + 1 < argc && !jk_tool_parse_number(argv[i + 1], false, target)) {
            i++;
        } else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
            dir = argv[++i];
        } else {
            fprintf(stderr, "usage: jark devnet [--validators V] [--blocks N] [--events-per-block E] [--seed S] "
                            "[--dir DIR] [--threads T]\n");
            return 2;
        }
    }
    char tmp[] = "/tmp/jark-devnet-XXXXXX";
    if (!dir && !(dir = mkdtemp(tmp))) {
        fprintf(stderr, "jark devnet: cannot make a directory: %s\n", strerror(errno));
        return 1;
    }
    if (v > UINT32_MAX || per_block > UINT32_MAX || threads > UINT32_MAX)
        v = 0; /* refused by jk_devnet_run */
    jk_devnet_options o = {(uint32_t)v, blocks, (uint32_t)per_block, seed, (unsigned)threads, dir, false, 0, 0};
    jk_devnet_result r;
    int rc = jk_devnet_run(&o, &r);
    if (rc == 2 || (rc != 0 && r.height == 0))
        return rc;
    printf("devnet: height %" PRIu64 ": %" PRIu64 " blocks, %" PRIu64 " events, %" PRIu64 " traces in %.2f s "
           "(%.0f events/s), state root ",
           r.height, blocks, r.events, r.traces, r.seconds, r.seconds > 0 ? (double)r.events / r.seconds : 0.0);
    for (int i = 0; i < 32; i++)
        printf("%02x", r.root.bytes[i]);
    printf("\ndevnet: every validator reached the same state root at every height: %s\n", r.agree ? "yes" : "NO");
    printf("devnet: `jark chain show --store %s` shows the state; `jark devnet --dir %s` goes on\n", dir, dir);
    return rc;
}
