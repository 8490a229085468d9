/* example_cli.c — example chains through the `jark` commands (example_cli.h). */
#include "example_cli.h"

#include "../files.h"
#include "../progs.h"
#include "../test.h"
#include "../../tools/commands.h"
#include "example_chain.h"

#include "jark/bytes.h"

#include <stdio.h>
#include <stdlib.h>

#define FAIL_UNLESS(cond)                                                      \
    do {                                                                       \
        if (!(cond)) {                                                         \
            jk_test_fail(__FILE__, __LINE__, "required: %s", #cond);           \
            return false;                                                      \
        }                                                                      \
    } while (0)

bool jk_ex_write_key(const char *dir, const char *name, uint8_t s, char pub_hex[65])
{
    char path[700], seed_hex[65], pub[65];
    uint8_t seed[32];
    jk_ex_key k = jk_ex_key_of(s);
    memset(seed, s, 32);
    jk_hex_encode(seed, 32, seed_hex);
    jk_hex_encode(k.pk, 32, pub);
    if (pub_hex)
        memcpy(pub_hex, pub, 65);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    FAIL_UNLESS(f != NULL);
    int ok = fprintf(f, "jark-ed25519-key v1\nseed %s\npublic %s\n", seed_hex, pub) > 0;
    FAIL_UNLESS(fclose(f) == 0 && ok);
    return true;
}

bool jk_ex_copy_example(const char *dir, const char *example, const char *const *files, size_t n,
                        const char *spec, uint8_t validator_seed)
{
    char from[512], v[65];
    FAIL_UNLESS(jk_ex_write_key(dir, "validator.key", validator_seed, v));
    for (size_t i = 0; i < n; i++) {
        uint8_t *bytes = NULL;
        size_t len = 0;
        snprintf(from, sizeof from, "examples/%s/%s", example, files[i]);
        FAIL_UNLESS(jk_read_file(from, &bytes, &len, NULL) == JK_OK);
        if (strcmp(files[i], spec) == 0) {
            char *z = strstr((char *)bytes, "0000000000000000000000000000000000000000000000000000000000000000");
            if (!z)
                free(bytes);
            FAIL_UNLESS(z != NULL);
            memcpy(z, v, 64);
        }
        jk_test_write_file(dir, files[i], bytes, len);
        free(bytes);
    }
    return true;
}

bool jk_ex_genesis_hex(const char *dir, const char *spec, char g[65])
{
    char path[700], out[4096], err[2048];
    snprintf(path, sizeof path, "%s/%s", dir, spec);
    char *gen[] = {"genesis", path};
    int rc = jk_test_tool(jk_tool_chain, 2, gen, out, sizeof out, err, sizeof err);
    if (rc != 0)
        printf("chain genesis: %s%s\n", out, err);
    FAIL_UNLESS(rc == 0 && strncmp(out, "genesis ", 8) == 0 && strlen(out) >= 8 + 64);
    memcpy(g, out + 8, 64);
    g[64] = '\0';
    return true;
}

bool jk_ex_sign(const char *dir, const char *g, const char *const *keys, size_t nkeys, const char *endpoint,
                const char *blob)
{
    char key[700], blobp[700], evpath[700], attest[8][1400], out[2048], err[2048];
    char *argv[32];
    int argc = 0;
    FAIL_UNLESS(nkeys >= 1 && nkeys <= 8);
    snprintf(key, sizeof key, "%s/%s", dir, keys[0]);
    snprintf(blobp, sizeof blobp, "%s/%s", dir, blob);
    snprintf(evpath, sizeof evpath, "%s/events", dir);
    argv[argc++] = "sign";
    argv[argc++] = "--genesis";
    argv[argc++] = (char *)g;
    argv[argc++] = "--key";
    argv[argc++] = key;
    for (size_t i = 1; i < nkeys; i++) {
        snprintf(attest[i], sizeof attest[i], "%s/%s:%s", dir, keys[i], blobp);
        argv[argc++] = "--attest";
        argv[argc++] = attest[i];
    }
    argv[argc++] = "--endpoint";
    argv[argc++] = (char *)endpoint;
    argv[argc++] = "--blob";
    argv[argc++] = blobp;
    argv[argc++] = "-o";
    argv[argc++] = evpath;
    argv[argc++] = "--append";
    int rc = jk_test_tool(jk_tool_event, argc, argv, out, sizeof out, err, sizeof err);
    if (rc != 0)
        printf("event sign %s: %s%s\n", blob, out, err);
    FAIL_UNLESS(rc == 0);
    return true;
}

int jk_ex_devnet_root(const char *dir, const char *spec, const char *engine, const char *blocks, char root[65],
                      char *out, size_t cap)
{
    char specp[700], events[700], vkey[700], store[700], err[4096];
    snprintf(specp, sizeof specp, "%s/%s", dir, spec);
    snprintf(events, sizeof events, "%s/events", dir);
    snprintf(vkey, sizeof vkey, "%s/validator.key", dir);
    snprintf(store, sizeof store, "%s/net-%s", dir, engine);
    char *argv[] = {"--engine", (char *)engine, "--spec", specp, "--validator-key", vkey, "--events", events,
                    "--events-per-block", "2", "--blocks", (char *)blocks, "--dir", store};
    int rc = jk_test_tool(jk_tool_devnet, 14, argv, out, cap, err, sizeof err);
    if (rc != 0)
        printf("devnet --engine %s: %s%s\n", engine, out, err);
    const char *r = strstr(out, ", state root ");
    if (!r || strlen(r) < 13 + 64)
        return -1;
    memcpy(root, r + 13, 64);
    root[64] = '\0';
    return rc;
}
