/*
 * run.c — one call on a fresh instance of an image file's Image (`jark image
 * run`), and the one-line summary of its outcome.
 */
#include "jark/bytes.h"
#include "jark/image.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

jk_err jk_image_run(const jk_image_file *f, uint32_t endpoint, int64_t gas, const uint64_t args[3], jk_cap slot0,
                    FILE *debug, jk_kernel_result *res, jk_diag *diag)
{
    memset(res, 0, sizeof *res);
    uint32_t count = jk_cap_image_endpoint_count(f->image);
    if (endpoint >= count)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "endpoint %u: the image has %u endpoints", endpoint, count);
    if (gas < 0)
        return jk_diag_set(diag, JK_ERR_INVALID_ARG, "negative gas");
    jk_cap empty = jk_cap_null(), inst = jk_cap_null();
    jk_kernel *k = NULL;
    jk_kernel_config cfg = {debug};
    jk_diag d = {{0}};
    jk_err err = JK_OK;
    if (jk_cap_is_null(f->state) && (err = jk_cap_cnode_new(JK_CAP_ROOT_LOG2, &empty)) != JK_OK)
        goto done;
    err = jk_cap_instance_genesis(f->image, jk_cap_is_null(f->state) ? empty : f->state, &inst, &d);
    if (err != JK_OK) {
        jk_diag_set(diag, err, "genesis: %s", d.msg[0] ? d.msg : jk_strerror(err));
        goto done;
    }
    if ((err = jk_kernel_new(&cfg, &k)) != JK_OK)
        goto done;
    err = jk_kernel_call(k, inst, endpoint, gas, args, slot0, res);
    if (err != JK_OK)
        jk_diag_set(diag, err, "call: %s", jk_strerror(err));
done:
    if (err == JK_ERR_NOMEM)
        jk_diag_set(diag, err, "out of memory");
    jk_kernel_free(k);
    jk_cap_release(inst);
    jk_cap_release(empty);
    return err;
}

void jk_image_run_line(const jk_kernel_result *res, char *buf, size_t size)
{
    static const char *const outcomes[] = {"halt", "fault", "out-of-gas", "yielded"};
    char slot0[96];
    jk_cap s = res->slot0;
    switch (jk_cap_kind_of(s)) {
    case JK_CAP_DATA: {
        uint8_t head[32];
        char hex[65];
        size_t n = jk_cap_data_len(s) < 32 ? (size_t)jk_cap_data_len(s) : 32;
        if (jk_cap_data_read(s, 0, head, n) != JK_OK)
            n = 0;
        jk_hex_encode(head, n, hex);
        snprintf(slot0, sizeof slot0, "data:%" PRIu64 ":%s", jk_cap_data_len(s), hex);
        break;
    }
    case JK_CAP_CNODE:
        snprintf(slot0, sizeof slot0, "cnode:%" PRIu32, jk_cap_cnode_slot_count(s));
        break;
    case JK_CAP_IMAGE:
        snprintf(slot0, sizeof slot0, "image");
        break;
    case JK_CAP_INSTANCE:
        snprintf(slot0, sizeof slot0, "instance");
        break;
    default:
        snprintf(slot0, sizeof slot0, "none");
        break;
    }
    int n = snprintf(buf, size, "outcome=%s r7=%" PRIu64 " gas_used=%" PRId64 " slot0=%s",
                     (unsigned)res->outcome < 4 ? outcomes[res->outcome] : "?", res->value, res->gas_used, slot0);
    if (res->outcome == JK_KERNEL_FAULT && n >= 0 && (size_t)n < size) {
        char msg[sizeof res->fault_msg];
        snprintf(msg, sizeof msg, "%s", res->fault_msg);
        for (char *p = msg; *p; p++)
            if (*p == '"' || *p == '\n')
                *p = '\'';
        snprintf(buf + n, size - (size_t)n, " fault=\"%s\"", msg);
    }
}

