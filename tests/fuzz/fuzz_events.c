/*
 * fuzz_events.c — fuzz target over the events-file decoder, the key-file
 * parser and the pc → line map reader (src/spec/events.c, src/spec/keys.c,
 * src/sdk/map.c). The first byte picks which: 'k' feeds the rest to the key
 * parser, 'm' to the map reader, anything else feeds the whole input to the
 * events decoder. Any crash, leak or sanitizer report is a bug; so is
 * a refusal without a message, and an accepted events file that does not
 * encode back to the same bytes (the decoder must accept exactly the
 * canonical files).
 */
#include "fuzz_targets.h"

#include "jark/spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void jk_fuzz_events_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_events: %s: %s\n", what, detail);
    abort();
}

int jk_fuzz_events(const uint8_t *data, size_t size)
{
    jk_diag diag = {{0}};
    if (size > 0 && data[0] == 'k') {
        jk_spec_key k;
        if (jk_spec_key_parse(data + 1, size - 1, &k, &diag) != JK_OK) {
            if (!diag.msg[0])
                jk_fuzz_events_fail("key refused without a message", "");
            return 0;
        }
        char text[JK_SPEC_KEY_TEXT_LEN + 1];
        jk_spec_key_format(&k, text);
        if (size - 1 != JK_SPEC_KEY_TEXT_LEN || memcmp(text, data + 1, size - 1) != 0)
            jk_fuzz_events_fail("an accepted key file is not canonical", text);
        return 0;
    }
    if (size > 0 && data[0] == 'm') {
        jk_sdk_map *m = NULL;
        if (jk_sdk_map_parse((const char *)data + 1, size - 1, &m, &diag) != JK_OK) {
            if (!diag.msg[0] || m)
                jk_fuzz_events_fail("map refused without a message, or left behind", "");
            return 0;
        }
        const char *file;
        uint32_t line;
        for (uint32_t pc = 0; pc < 64; pc++)
            jk_sdk_map_find(m, pc, &file, &line);
        jk_sdk_map_free(m);
        return 0;
    }
    jk_spec_events list;
    if (jk_spec_events_decode(data, size, &list, &diag) != JK_OK) {
        if (!diag.msg[0])
            jk_fuzz_events_fail("events file refused without a message", "");
        if (list.count || list.events)
            jk_fuzz_events_fail("a refused file left something behind", diag.msg);
        return 0;
    }
    uint8_t *again = NULL;
    size_t again_len = 0;
    if (jk_spec_events_encode(&list, &again, &again_len) != JK_OK)
        jk_fuzz_events_fail("an accepted file does not encode", "");
    if (again_len != size || memcmp(again, data, size) != 0)
        jk_fuzz_events_fail("an accepted file is not canonical", "the encoder makes other bytes");
    free(again);
    jk_spec_events_free(&list);
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return jk_fuzz_events(data, size);
}
#endif
