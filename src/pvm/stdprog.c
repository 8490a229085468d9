/*
 * stdprog.c — the Graypaper's standard program format (A.7), its initial
 * memory and registers, and jark's program file that wraps it with named
 * entry points. Everything parsed here is untrusted: every length is checked
 * before it is used, and every refusal says why.
 */
#include "internal.h"

#include <stdlib.h>

#define JK_ZP JK_PVM_PAGE_SIZE
#define JK_ZZ JK_PVM_ZONE_SIZE
#define JK_ZI JK_PVM_INPUT_SIZE

static const uint8_t jk_progfile_magic[6] = {'J', 'K', 'P', 'V', 'M', 0};
#define JK_PROGFILE_VERSION 1

static uint64_t jk_page_round(uint64_t x) { return (x + JK_ZP - 1) / JK_ZP * JK_ZP; }
static uint64_t jk_zone_round(uint64_t x) { return (x + JK_ZZ - 1) / JK_ZZ * JK_ZZ; }

static uint32_t jk_le(const uint8_t *p, unsigned n)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static void jk_put_le(uint8_t *p, uint32_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The Graypaper's fit condition: 5·Z_Z + Z(|o|) + Z(|w| + z·Z_P) + Z(s) + Z_I ≤ 2^32. */
static bool jk_stdprog_fits(uint64_t ro, uint64_t rw, uint64_t heap_pages, uint64_t stack)
{
    uint64_t total = 5ull * JK_ZZ + jk_zone_round(ro) + jk_zone_round(rw + heap_pages * JK_ZP) +
                     jk_zone_round(stack) + JK_ZI;
    return total <= (UINT64_C(1) << 32);
}

jk_err jk_pvm_stdprog_parse(const uint8_t *bytes, size_t len, jk_pvm_stdprog *out,
                            jk_diag *diag)
{
    memset(out, 0, sizeof *out);
    if (len < 11)
        return jk_diag_set(diag, JK_ERR_PVM_BLOB, "standard program truncated in its header (%zu of 11 bytes)", len);
    uint32_t ro = jk_le(bytes, 3), rw = jk_le(bytes + 3, 3);
    uint32_t heap_pages = jk_le(bytes + 6, 2), stack = jk_le(bytes + 8, 3);
    size_t pos = 11;
    if (len - pos < ro)
        return jk_diag_set(diag, JK_ERR_PVM_BLOB, "standard program truncated in read-only data");
    out->ro_data = bytes + pos;
    pos += ro;
    if (len - pos < rw)
        return jk_diag_set(diag, JK_ERR_PVM_BLOB, "standard program truncated in read-write data");
    out->rw_data = bytes + pos;
    pos += rw;
    if (len - pos < 4)
        return jk_diag_set(diag, JK_ERR_PVM_BLOB, "standard program truncated before the code length");
    uint32_t code_len = jk_le(bytes + pos, 4);
    pos += 4;
    if (len - pos < code_len)
        return jk_diag_set(diag, JK_ERR_PVM_BLOB, "standard program truncated in code (%zu of %u bytes)",
                           len - pos, code_len);
    if (len - pos > code_len)
        return jk_diag_set(diag, JK_ERR_PVM_BLOB, "%zu unexpected bytes after the standard program's code",
                           len - pos - code_len);
    if (!jk_stdprog_fits(ro, rw, heap_pages, stack))
        return jk_diag_set(diag, JK_ERR_PVM_BLOB, "standard program layout does not fit the 32-bit address space");
    out->code = bytes + pos;
    out->ro_len = ro;
    out->rw_len = rw;
    out->heap_pages = heap_pages;
    out->stack_size = stack;
    out->code_len = code_len;
    return JK_OK;
}

jk_err jk_pvm_stdprog_encode(const jk_pvm_stdprog *prog, uint8_t **out, size_t *out_len)
{
    if (prog->ro_len >= (1u << 24) || prog->rw_len >= (1u << 24) || prog->heap_pages >= (1u << 16) ||
        prog->stack_size >= (1u << 24) ||
        !jk_stdprog_fits(prog->ro_len, prog->rw_len, prog->heap_pages, prog->stack_size))
        return JK_ERR_INVALID_ARG;
    size_t len = 11 + (size_t)prog->ro_len + prog->rw_len + 4 + prog->code_len;
    uint8_t *buf = malloc(len);
    if (!buf)
        return JK_ERR_NOMEM;
    jk_put_le(buf, prog->ro_len, 3);
    jk_put_le(buf + 3, prog->rw_len, 3);
    jk_put_le(buf + 6, prog->heap_pages, 2);
    jk_put_le(buf + 8, prog->stack_size, 3);
    size_t pos = 11;
    if (prog->ro_len)
        memcpy(buf + pos, prog->ro_data, prog->ro_len);
    pos += prog->ro_len;
    if (prog->rw_len)
        memcpy(buf + pos, prog->rw_data, prog->rw_len);
    pos += prog->rw_len;
    jk_put_le(buf + pos, prog->code_len, 4);
    pos += 4;
    if (prog->code_len)
        memcpy(buf + pos, prog->code, prog->code_len);
    *out = buf;
    *out_len = len;
    return JK_OK;
}

void jk_pvm_stdprog_layout(const jk_pvm_stdprog *prog, jk_pvm_stdlayout *out)
{
    out->ro_base = JK_ZZ;
    out->ro_size = (uint32_t)jk_page_round(prog->ro_len);
    out->rw_base = (uint32_t)(2 * JK_ZZ + jk_zone_round(prog->ro_len));
    out->rw_size = (uint32_t)(jk_page_round(prog->rw_len) + (uint64_t)prog->heap_pages * JK_ZP);
    out->stack_top = (uint32_t)((UINT64_C(1) << 32) - 2 * JK_ZZ - JK_ZI);
    out->stack_base = out->stack_top - (uint32_t)jk_page_round(prog->stack_size);
    out->args_base = (uint32_t)((UINT64_C(1) << 32) - JK_ZZ - JK_ZI);
}

jk_err jk_pvm_stdprog_init(const jk_pvm_stdprog *prog, const uint8_t *args,
                           uint32_t args_len, jk_pvm_memory *mem,
                           uint64_t regs[JK_PVM_REGS])
{
    jk_pvm_stdlayout lay;
    jk_err err;
    if (args_len > JK_ZI)
        return JK_ERR_PVM_MAP;
    jk_pvm_stdprog_layout(prog, &lay);
    if (lay.ro_size && (err = jk_pvm_memory_map(mem, lay.ro_base, lay.ro_size, JK_PVM_ACCESS_READ)))
        return err;
    if (prog->ro_len && (err = jk_pvm_memory_write(mem, lay.ro_base, prog->ro_data, prog->ro_len)))
        return err;
    if (lay.rw_size && (err = jk_pvm_memory_map(mem, lay.rw_base, lay.rw_size, JK_PVM_ACCESS_WRITE)))
        return err;
    if (prog->rw_len && (err = jk_pvm_memory_write(mem, lay.rw_base, prog->rw_data, prog->rw_len)))
        return err;
    if (lay.stack_top > lay.stack_base &&
        (err = jk_pvm_memory_map(mem, lay.stack_base, lay.stack_top - lay.stack_base, JK_PVM_ACCESS_WRITE)))
        return err;
    uint32_t args_size = (uint32_t)jk_page_round(args_len);
    if (args_size && (err = jk_pvm_memory_map(mem, lay.args_base, args_size, JK_PVM_ACCESS_READ)))
        return err;
    if (args_len && (err = jk_pvm_memory_write(mem, lay.args_base, args, args_len)))
        return err;
    /* sbrk hands out memory from the end of the read-write region up to a
     * zone below the stack. */
    jk_pvm_memory_set_heap(mem, lay.rw_base + lay.rw_size, lay.stack_base - JK_ZZ);
    memset(regs, 0, JK_PVM_REGS * sizeof regs[0]);
    regs[0] = JK_PVM_HALT_ADDRESS;
    regs[1] = lay.stack_top;
    regs[7] = lay.args_base;
    regs[8] = args_len;
    return JK_OK;
}

/* ---- program file ---- */

static bool jk_endpoint_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > JK_PVM_MAX_ENDPOINT_NAME)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

jk_err jk_pvm_progfile_parse(const uint8_t *bytes, size_t len, jk_pvm_progfile *out,
                             jk_diag *diag)
{
    size_t pos = 0, used;
    uint64_t v;
    memset(out, 0, sizeof *out);
    if (len < sizeof jk_progfile_magic + 1 || memcmp(bytes, jk_progfile_magic, sizeof jk_progfile_magic))
        return jk_diag_set(diag, JK_ERR_PVM_BLOB, "not a jark program file (bad magic)");
    pos = sizeof jk_progfile_magic;
    if (bytes[pos] != JK_PROGFILE_VERSION)
        return jk_diag_set(diag, JK_ERR_PVM_BLOB, "unsupported program file version %u", bytes[pos]);
    pos++;
    used = jk_pvm_decode_natural(bytes + pos, len - pos, &v);
    if (!used)
        return jk_diag_set(diag, JK_ERR_PVM_BLOB, "program file truncated in endpoint count");
    if (v > JK_PVM_MAX_ENDPOINTS)
        return jk_diag_set(diag, JK_ERR_PVM_BLOB, "%llu endpoints (limit %d)", (unsigned long long)v,
                           JK_PVM_MAX_ENDPOINTS);
    pos += used;
    out->endpoint_count = (uint32_t)v;
    for (uint32_t i = 0; i < out->endpoint_count; i++) {
        used = jk_pvm_decode_natural(bytes + pos, len - pos, &v);
        if (!used || v > len - pos - used)
            return jk_diag_set(diag, JK_ERR_PVM_BLOB, "program file truncated in endpoint %u's name", i);
        pos += used;
        if (!jk_endpoint_name_ok((const char *)bytes + pos, (size_t)v))
            return jk_diag_set(diag, JK_ERR_PVM_BLOB, "endpoint %u has an invalid name", i);
        memcpy(out->endpoints[i].name, bytes + pos, (size_t)v);
        out->endpoints[i].name[v] = 0;
        pos += (size_t)v;
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(out->endpoints[j].name, out->endpoints[i].name))
                return jk_diag_set(diag, JK_ERR_PVM_BLOB, "endpoint name '%s' appears twice",
                                   out->endpoints[i].name);
        used = jk_pvm_decode_natural(bytes + pos, len - pos, &v);
        if (!used || v > UINT32_MAX)
            return jk_diag_set(diag, JK_ERR_PVM_BLOB, "program file truncated in endpoint %u's pc", i);
        pos += used;
        out->endpoints[i].pc = (uint32_t)v;
    }
    used = jk_pvm_decode_natural(bytes + pos, len - pos, &v);
    if (!used)
        return jk_diag_set(diag, JK_ERR_PVM_BLOB, "program file truncated in core length");
    pos += used;
    if (v != len - pos)
        return jk_diag_set(diag, JK_ERR_PVM_BLOB, "core length %llu does not match the %zu bytes that follow",
                           (unsigned long long)v, len - pos);
    out->core_bytes = bytes + pos;
    out->core_len = len - pos;
    return jk_pvm_stdprog_parse(out->core_bytes, out->core_len, &out->core, diag);
}

jk_err jk_pvm_progfile_encode(const jk_pvm_endpoint *endpoints, uint32_t count,
                              const uint8_t *core, size_t core_len, uint8_t **out,
                              size_t *out_len)
{
    if (count > JK_PVM_MAX_ENDPOINTS)
        return JK_ERR_INVALID_ARG;
    size_t cap = sizeof jk_progfile_magic + 1 + 9 + (size_t)count * (9 + JK_PVM_MAX_ENDPOINT_NAME + 9) + 9 + core_len;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return JK_ERR_NOMEM;
    size_t pos = 0;
    memcpy(buf, jk_progfile_magic, sizeof jk_progfile_magic);
    pos += sizeof jk_progfile_magic;
    buf[pos++] = JK_PROGFILE_VERSION;
    pos += jk_pvm_encode_natural(count, buf + pos);
    for (uint32_t i = 0; i < count; i++) {
        size_t n = strnlen(endpoints[i].name, sizeof endpoints[i].name);
        bool dup = false;
        for (uint32_t j = 0; j < i; j++)
            dup = dup || !strcmp(endpoints[j].name, endpoints[i].name);
        if (dup || n == sizeof endpoints[i].name || !jk_endpoint_name_ok(endpoints[i].name, n)) {
            free(buf);
            return JK_ERR_INVALID_ARG;
        }
        pos += jk_pvm_encode_natural(n, buf + pos);
        memcpy(buf + pos, endpoints[i].name, n);
        pos += n;
        pos += jk_pvm_encode_natural(endpoints[i].pc, buf + pos);
    }
    pos += jk_pvm_encode_natural(core_len, buf + pos);
    memcpy(buf + pos, core, core_len);
    pos += core_len;
    *out = buf;
    *out_len = pos;
    return JK_OK;
}

int jk_pvm_progfile_find(const jk_pvm_progfile *file, const char *name)
{
    for (uint32_t i = 0; i < file->endpoint_count; i++)
        if (!strcmp(file->endpoints[i].name, name))
            return (int)i;
    return -1;
}
