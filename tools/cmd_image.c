/*
 * cmd_image.c — `jark image build|run|show` (docs/image-format.md): the
 * command line over the manifest (image_manifest.c) and the image file
 * (image_file.c), and one call on a fresh instance of an image.
 */
#include "commands.h"
#include "jark/bytes.h"
#include "jark/image.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void jk_hash_hex(jk_cap cap, char out[2 * JK_HASH_SIZE + 1])
{
    jk_hash h;
    jk_cap_hash(cap, &h);
    jk_hex_encode(h.bytes, JK_HASH_SIZE, out);
}

/* ---- the CLI ---- */

static const char jk_image_usage[] =
    "usage: jark image build MANIFEST.json -o IMAGE\n"
    "       jark image run IMAGE --endpoint N|NAME --gas G [--arg N]... [--slot0 FILE] [--map FILE.map]\n"
    "       jark image show IMAGE\n";

static int jk_image_build_cmd(int argc, char **argv)
{
    const char *manifest = NULL, *out = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc && !out)
            out = argv[++i];
        else if (argv[i][0] != '-' && !manifest)
            manifest = argv[i];
        else
            manifest = out = NULL, i = argc;
    }
    if (!manifest || !out) {
        fputs(jk_image_usage, stderr);
        return 2;
    }
    jk_image_file *f = calloc(1, sizeof *f);
    jk_diag diag = {{0}};
    if (!f)
        return JK_EXIT_USAGE;
    jk_err err = jk_image_manifest_build(manifest, f, &diag);
    if (err == JK_OK)
        err = jk_image_file_save(out, f, &diag);
    if (err != JK_OK) {
        fprintf(stderr, "jark image build: %s: %s\n", manifest, diag.msg);
    } else {
        char id[2 * JK_HASH_SIZE + 1];
        jk_hash_hex(f->image, id);
        printf("image %s: %u endpoints -> %s\n", id, jk_cap_image_endpoint_count(f->image), out);
    }
    jk_image_file_clear(f);
    free(f);
    return err == JK_OK ? JK_EXIT_OK : JK_EXIT_USAGE;
}

static int jk_image_run_cmd(int argc, char **argv)
{
    const char *path = NULL, *endpoint = NULL, *slot0_path = NULL, *map_path = NULL;
    uint64_t args[3] = {0, 0, 0}, gas = 0;
    int nargs = 0;
    bool have_gas = false;
    for (int i = 0; i < argc; i++) {
        bool more = i + 1 < argc;
        /* an option that takes one value, given again: which one was meant? */
        if (more && ((!strcmp(argv[i], "--endpoint") && endpoint) || (!strcmp(argv[i], "--gas") && have_gas) ||
                     (!strcmp(argv[i], "--slot0") && slot0_path) || (!strcmp(argv[i], "--map") && map_path))) {
            fprintf(stderr, "jark image run: %s given twice\n", argv[i]);
            return 2;
        }
        if (!strcmp(argv[i], "--endpoint") && more) {
            endpoint = argv[++i];
        } else if (!strcmp(argv[i], "--gas") && more) {
            if (jk_tool_parse_number(argv[++i], false, &gas) || gas > INT64_MAX) {
                fprintf(stderr, "jark image run: bad --gas '%s'\n", argv[i]);
                return 2;
            }
            have_gas = true;
        } else if (!strcmp(argv[i], "--arg") && more) {
            if (nargs == 3 || jk_tool_parse_number(argv[++i], true, &args[nargs])) {
                fprintf(stderr, "jark image run: bad --arg '%s' (at most 3: φ7..φ9, decimal or 0x hex)\n",
                        argv[i]);
                return 2;
            }
            nargs++;
        } else if (!strcmp(argv[i], "--slot0") && more) {
            slot0_path = argv[++i];
        } else if (!strcmp(argv[i], "--map") && more) {
            map_path = argv[++i];
        } else if (!strcmp(argv[i], "--engine")) {
            if (jk_tool_engine_flag(argc, argv, &i) != 1)
                return 2;
        } else if (argv[i][0] != '-' && !path) {
            path = argv[i];
        } else {
            path = NULL;
            break;
        }
    }
    if (!path || !endpoint || !have_gas) {
        fputs(jk_image_usage, stderr);
        return 2;
    }
    jk_image_file *f = calloc(1, sizeof *f);
    jk_diag diag = {{0}};
    jk_cap slot0 = jk_cap_null();
    jk_kernel_result res;
    int rc = JK_EXIT_USAGE;
    memset(&res, 0, sizeof res);
    if (!f)
        return JK_EXIT_USAGE;
    if (jk_image_file_load(path, f, &diag) != JK_OK) {
        fprintf(stderr, "jark image run: %s\n", diag.msg);
        goto done;
    }
    uint64_t index;
    if (jk_tool_parse_number(endpoint, false, &index)) {
        int found = jk_image_file_find(f, endpoint);
        if (found < 0) {
            fprintf(stderr, "jark image run: no endpoint named '%s' in %s%s\n", endpoint, path,
                    f->name_count ? "" : " (it stores no endpoint names: give an index)");
            goto done;
        }
        index = (uint64_t)found;
    }
    if (index >= jk_cap_image_endpoint_count(f->image)) {
        fprintf(stderr, "jark image run: endpoint %s: the image has %u endpoints\n", endpoint,
                jk_cap_image_endpoint_count(f->image));
        goto done;
    }
    if (slot0_path) {
        uint8_t *bytes;
        size_t len;
        jk_err err = jk_read_file(slot0_path, &bytes, &len, &diag);
        if (err == JK_OK) {
            err = jk_cap_data_new(bytes, len, &slot0);
            free(bytes);
            if (err != JK_OK)
                jk_diag_set(&diag, err, "%s: %s", slot0_path, jk_strerror(err));
        }
        if (err != JK_OK) {
            fprintf(stderr, "jark image run: --slot0 %s\n", diag.msg);
            goto done;
        }
    }
    if (jk_image_run(f, (uint32_t)index, (int64_t)gas, args, slot0, stdout, &res, &diag) != JK_OK) {
        fprintf(stderr, "jark image run: %s\n", diag.msg);
        goto done;
    }
    char line[512];
    jk_image_run_line(&res, line, sizeof line);
    fflush(stdout);
    fprintf(stderr, "%s\n", line);
    rc = res.outcome == JK_KERNEL_HALT ? 0 : 1;
    /* The kernel names the faulting pc of the called instance ("pc N
     * (depth 0)"); deeper frames run other images, which this map is not of. */
    const char *at = res.outcome == JK_KERNEL_FAULT ? strstr(res.fault_msg, "pc ") : NULL;
    unsigned pc, depth;
    if (map_path && at && sscanf(at, "pc %u (depth %u)", &pc, &depth) == 2 && depth == 0 &&
        jk_tool_print_source(map_path, pc))
        rc = JK_EXIT_USAGE;
done:
    jk_kernel_result_clear(&res);
    jk_cap_release(slot0);
    jk_image_file_clear(f);
    free(f);
    return rc;
}

static const char *jk_map_kind_name(uint8_t kind)
{
    switch (kind) {
    case JK_CAP_MAP_PERSISTENT: return "persistent";
    case JK_CAP_MAP_EPHEMERAL_ZERO: return "ephemeral-zero";
    case JK_CAP_MAP_EPHEMERAL_INIT: return "ephemeral-init";
    default: return "?";
    }
}

/* One line describing a cap held in a pinned or state slot. */
static void jk_show_cap(const char *what, uint32_t slot, jk_cap c)
{
    char id[2 * JK_HASH_SIZE + 1];
    jk_hash_hex(c, id);
    printf("  %s slot %u: %s", what, slot, jk_cap_kind_name(jk_cap_kind_of(c)));
    if (jk_cap_kind_of(c) == JK_CAP_DATA)
        printf(" %" PRIu64 " bytes", jk_cap_data_len(c));
    else if (jk_cap_kind_of(c) == JK_CAP_CNODE)
        printf(" %u slots", jk_cap_cnode_slot_count(c));
    printf(" %s\n", id);
}

static int jk_image_show_cmd(int argc, char **argv)
{
    if (argc != 1) {
        fputs(jk_image_usage, stderr);
        return 2;
    }
    jk_image_file *f = calloc(1, sizeof *f);
    jk_diag diag = {{0}};
    if (!f)
        return JK_EXIT_USAGE;
    if (jk_image_file_load(argv[0], f, &diag) != JK_OK) {
        fprintf(stderr, "jark image show: %s\n", diag.msg);
        free(f);
        return JK_EXIT_USAGE;
    }
    jk_cap im = f->image;
    char id[2 * JK_HASH_SIZE + 1];
    jk_hash_hex(im, id);
    printf("image %s\n", id);
    printf("code %" PRIu64 " bytes\n", jk_cap_data_len(jk_cap_image_code(im)));
    printf("endpoints %u\n", jk_cap_image_endpoint_count(im));
    for (uint32_t i = 0; i < jk_cap_image_endpoint_count(im); i++) {
        const jk_cap_endpoint *ep = jk_cap_image_endpoint(im, i);
        printf("  %u %s pc=%u", i, i < f->name_count ? f->names[i] : "-", ep->pc);
        for (int r = 0; r < JK_PVM_REGS; r++)
            if (ep->regs[r])
                printf(" r%d=0x%" PRIx64, r, ep->regs[r]);
        printf("\n");
    }
    printf("mappings %u\n", jk_cap_image_mapping_count(im));
    for (uint32_t i = 0; i < jk_cap_image_mapping_count(im); i++) {
        const jk_cap_mapping *mp = jk_cap_image_mapping(im, i);
        printf("  0x%08x+0x%x %s %s", mp->base, mp->size, jk_map_kind_name(mp->kind),
               mp->access == JK_PVM_ACCESS_WRITE ? "rw" : "ro");
        if (mp->kind != JK_CAP_MAP_EPHEMERAL_ZERO)
            printf(" slot %u", mp->slot);
        printf("\n");
    }
    printf("pins %u\n", jk_cap_image_pin_count(im));
    for (uint32_t i = 0; i < jk_cap_image_pin_count(im); i++)
        jk_show_cap("pin", jk_cap_image_pin(im, i)->slot, jk_cap_image_pin(im, i)->cap);
    uint32_t catcher = jk_cap_image_yield_catcher_slot(im);
    if (catcher)
        printf("yield_catcher_slot %u\n", catcher);
    else
        printf("yield_catcher_slot none\n");
    if (jk_cap_is_null(f->state)) {
        printf("state none\n");
    } else {
        jk_hash_hex(f->state, id);
        printf("state %s\n", id);
        uint32_t slot = 0;
        while (jk_cap_cnode_next(f->state, slot, &slot)) {
            jk_show_cap("state", slot, jk_cap_cnode_get(f->state, slot));
            slot++;
        }
    }
    jk_image_file_clear(f);
    free(f);
    return 0;
}

int jk_tool_image(int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "build"))
        return jk_image_build_cmd(argc - 1, argv + 1);
    if (argc >= 1 && !strcmp(argv[0], "run"))
        return jk_image_run_cmd(argc - 1, argv + 1);
    if (argc >= 1 && !strcmp(argv[0], "show"))
        return jk_image_show_cmd(argc - 1, argv + 1);
    fputs(jk_image_usage, stderr);
    return 2;
}
