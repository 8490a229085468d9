/*
 * cmd_chain.c — `jark chain genesis SPEC`: a chain's genesis from its spec
 * (jark/spec.h, docs/chain-spec.md); `jark chain show` is cmd_chain_show.c.
 */
#include "commands.h"

#include "jark/spec.h"

#include <stdio.h>
#include <string.h>

static const char jk_chain_usage[] =
    "usage: jark chain genesis SPEC.json " JK_TOOL_BUILD_USAGE "\n"
    "       jark chain show --store DIR [--slot PATH] [--hex] [--accounts N]\n";

static void jk_print_hash(const char *label, const jk_hash *h)
{
    printf("%s ", label);
    for (int i = 0; i < JK_HASH_SIZE; i++)
        printf("%02x", h->bytes[i]);
    printf("\n");
}

static int jk_chain_genesis_cmd(int argc, char **argv)
{
    const char *path = NULL;
    jk_tool_build b;
    jk_tool_build_init(&b);
    for (int i = 0; i < argc; i++) {
        int flag = jk_tool_build_flag(argc, argv, &i, &b);
        if (flag == 0 && argv[i][0] != '-' && !path)
            path = argv[i];
        else if (flag <= 0)
            path = NULL, i = argc;
    }
    if (!path) {
        fputs(jk_chain_usage, stderr);
        return JK_EXIT_USAGE;
    }
    jk_spec_file f;
    jk_diag diag = {{0}};
    jk_err err = jk_spec_file_load(path, &b.o, &f, &diag);
    if (err != JK_OK) {
        fprintf(stderr, "jark chain genesis: %s\n", diag.msg[0] ? diag.msg : jk_strerror(err));
        return JK_EXIT_USAGE;
    }
    jk_chain_genesis g;
    err = jk_chain_genesis_build(&f.spec, &g, &diag);
    if (err != JK_OK) {
        fprintf(stderr, "jark chain genesis: %s\n", diag.msg[0] ? diag.msg : jk_strerror(err));
        jk_spec_file_free(&f);
        return JK_EXIT_REFUSED;
    }
    jk_hash root;
    jk_cap_hash(g.chain, &root);
    jk_print_hash("genesis", &g.genesis_hash);
    jk_print_hash("state_root", &root);
    printf("validators %u dispatch_endpoints %u\n", f.spec.validator_count, f.spec.dispatch_count);
    jk_cap_release(g.chain);
    jk_spec_file_free(&f);
    return JK_EXIT_OK;
}

int jk_tool_chain(int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "show"))
        return jk_tool_chain_show(argc - 1, argv + 1);
    if (argc >= 1 && !strcmp(argv[0], "genesis"))
        return jk_chain_genesis_cmd(argc - 1, argv + 1);
    fputs(jk_chain_usage, stderr);
    return JK_EXIT_USAGE;
}
