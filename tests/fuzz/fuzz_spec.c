/*
 * fuzz_spec.c — fuzz target over the chain-spec parser
 * (src/spec/parse.c) and, for a spec it accepts, genesis
 * (jk_chain_genesis_build). Files the spec names are served from memory: a
 * name's bytes are its content, so programs are junk that genesis must refuse
 * with a message. Any crash, leak or sanitizer report is a bug; so is a
 * refusal without a message.
 */
#include "fuzz_targets.h"

#include "jark/spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void jk_fuzz_spec_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_spec: %s: %s\n", what, detail);
    abort();
}

static jk_err jk_fuzz_spec_reader(void *ctx, const char *const *names, size_t count, bool program, uint8_t **out,
                                  size_t *len, jk_diag *diag)
{
    (void)ctx;
    (void)program;
    (void)count; /* several C files: the first one's bytes stand for the program */
    const char *name = names[0];
    if (!strcmp(name, "missing"))
        return jk_diag_set(diag, JK_ERR_IO, "%s: no such file", name);
    size_t n = strlen(name);
    *out = malloc(n ? n : 1);
    if (!*out)
        return jk_diag_set(diag, JK_ERR_NOMEM, "out of memory");
    memcpy(*out, name, n);
    *len = n;
    return JK_OK;
}

int jk_fuzz_spec(const uint8_t *data, size_t size)
{
    jk_spec_file f;
    jk_diag diag = {{0}};
    if (jk_spec_file_parse((const char *)data, size, jk_fuzz_spec_reader, NULL, &f, &diag) != JK_OK) {
        if (!diag.msg[0])
            jk_fuzz_spec_fail("spec refused without a message", "");
        return 0;
    }
    jk_chain_genesis g;
    jk_err e = jk_chain_genesis_build(&f.spec, &g, &diag);
    if (e == JK_OK)
        jk_cap_release(g.chain);
    else if (!diag.msg[0])
        jk_fuzz_spec_fail("genesis refused without a message", jk_strerror(e));
    jk_spec_file_free(&f);
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return jk_fuzz_spec(data, size);
}
#endif
