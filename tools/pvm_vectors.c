/*
 * pvm_vectors.c — load a PVM JSON test vector, run it, compare everything.
 *
 * Compared: status, all 13 registers, pc, remaining gas, the page-fault
 * address (for page faults), and every byte of every accessible page
 * (expected-memory lists the non-zero bytes; all other accessible bytes must
 * be zero). Besides the schema's statuses, `out-of-gas` is accepted.
 * JSON goes through json-c, which keeps full 64-bit unsigned integers.
 */
#include "pvm_vectors.h"

#include "../src/pvm/internal.h"
#include "jark/pvm.h"

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct jk_vector_case {
    const char *name;
    jk_pvm_memory *mem;
    jk_pvm_program *prog;
    jk_pvm_state state;
    uint8_t *expected_image; /* bytes of every mapped page, in page-map order */
    uint32_t *page_addrs;    /* page-aligned start of each mapped page */
    size_t page_count;
    jk_pvm_status expected_status;
    uint64_t expected_regs[JK_PVM_REGS];
    uint32_t expected_pc;
    int64_t expected_gas;
    uint32_t expected_fault;
    int has_fault;
} jk_vector_case;

static json_object *jk_field(json_object *obj, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(obj, key, &v) ? v : NULL;
}

static int jk_status_from_name(const char *name, jk_pvm_status *out)
{
    static const struct {
        const char *name;
        jk_pvm_status status;
    } names[] = {{"halt", JK_PVM_HALT},           {"panic", JK_PVM_PANIC},
                 {"page-fault", JK_PVM_PAGE_FAULT}, {"out-of-gas", JK_PVM_OUT_OF_GAS},
                 {"host-call", JK_PVM_HOST_CALL},  {"host", JK_PVM_HOST_CALL}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(names[i].name, name)) {
            *out = names[i].status;
            return 0;
        }
    return -1;
}

/* Reads a JSON array of 13 u64 registers. */
static int jk_read_regs(json_object *arr, uint64_t regs[JK_PVM_REGS])
{
    if (!arr || !json_object_is_type(arr, json_type_array) ||
        json_object_array_length(arr) != JK_PVM_REGS)
        return -1;
    for (size_t i = 0; i < JK_PVM_REGS; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(v, json_type_int))
            return -1;
        regs[i] = json_object_get_uint64(v);
    }
    return 0;
}

/* Reads a JSON array of bytes into a malloc'd buffer. */
static int jk_read_bytes(json_object *arr, uint8_t **out, size_t *len)
{
    if (!arr || !json_object_is_type(arr, json_type_array))
        return -1;
    size_t n = json_object_array_length(arr);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        int64_t b = json_object_get_int64(v);
        if (!json_object_is_type(v, json_type_int) || b < 0 || b > 255) {
            free(buf);
            return -1;
        }
        buf[i] = (uint8_t)b;
    }
    *out = buf;
    *len = n;
    return 0;
}

static void jk_case_free(jk_vector_case *c)
{
    jk_pvm_memory_free(c->mem);
    jk_pvm_program_free(c->prog);
    free(c->expected_image);
    free(c->page_addrs);
}

/* Index into expected_image of the byte at addr, or -1 if not mapped. */
static long jk_image_offset(const jk_vector_case *c, uint32_t addr)
{
    uint32_t page = addr & ~(JK_PVM_PAGE_SIZE - 1);
    for (size_t i = 0; i < c->page_count; i++)
        if (c->page_addrs[i] == page)
            return (long)(i * JK_PVM_PAGE_SIZE + (addr - page));
    return -1;
}

/* Builds a runnable case; returns NULL and a reason in why on failure. */
static int jk_case_load(json_object *root, jk_vector_case *c, char *why, size_t why_len)
{
    json_object *v;
    uint8_t *blob = NULL;
    size_t blob_len = 0;

    memset(c, 0, sizeof *c);
    v = jk_field(root, "name");
    c->name = v ? json_object_get_string(v) : "(unnamed)";
    if (jk_read_regs(jk_field(root, "initial-regs"), c->state.regs) ||
        jk_read_regs(jk_field(root, "expected-regs"), c->expected_regs)) {
        snprintf(why, why_len, "bad register arrays");
        return -1;
    }
    c->state.pc = (uint32_t)json_object_get_uint64(jk_field(root, "initial-pc"));
    c->state.gas = json_object_get_int64(jk_field(root, "initial-gas"));
    c->expected_pc = (uint32_t)json_object_get_uint64(jk_field(root, "expected-pc"));
    c->expected_gas = json_object_get_int64(jk_field(root, "expected-gas"));
    v = jk_field(root, "expected-status");
    if (!v || jk_status_from_name(json_object_get_string(v), &c->expected_status)) {
        snprintf(why, why_len, "unknown expected-status");
        return -1;
    }
    v = jk_field(root, "expected-page-fault-address");
    if (v && !json_object_is_type(v, json_type_null)) {
        c->has_fault = 1;
        c->expected_fault = (uint32_t)json_object_get_uint64(v);
    }

    jk_diag diag = {{0}};
    if (jk_read_bytes(jk_field(root, "program"), &blob, &blob_len)) {
        snprintf(why, why_len, "bad program array");
        return -1;
    }
    jk_err err = jk_pvm_program_load(blob, blob_len, &c->prog, &diag);
    free(blob);
    if (err != JK_OK) {
        snprintf(why, why_len, "program rejected: %s", diag.msg);
        return -1;
    }
    if (jk_pvm_memory_new(&c->mem) != JK_OK) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }

    json_object *map = jk_field(root, "initial-page-map");
    size_t regions = map ? json_object_array_length(map) : 0;
    for (size_t i = 0; i < regions; i++) {
        json_object *region = json_object_array_get_idx(map, i);
        uint32_t addr = (uint32_t)json_object_get_uint64(jk_field(region, "address"));
        uint32_t len = (uint32_t)json_object_get_uint64(jk_field(region, "length"));
        int writable = json_object_get_boolean(jk_field(region, "is-writable"));
        if (jk_pvm_memory_map(c->mem, addr, len, writable ? JK_PVM_ACCESS_WRITE : JK_PVM_ACCESS_READ)) {
            snprintf(why, why_len, "bad page map entry %zu", i);
            return -1;
        }
        for (uint32_t off = 0; off < len; off += JK_PVM_PAGE_SIZE) {
            uint32_t *grown = realloc(c->page_addrs, (c->page_count + 1) * sizeof *grown);
            if (!grown)
                return -1;
            c->page_addrs = grown;
            c->page_addrs[c->page_count++] = addr + off;
        }
    }
    c->expected_image = calloc(c->page_count ? c->page_count : 1, JK_PVM_PAGE_SIZE);
    if (!c->expected_image)
        return -1;

    static const char *const chunk_keys[2] = {"initial-memory", "expected-memory"};
    for (int which = 0; which < 2; which++) {
        json_object *chunks = jk_field(root, chunk_keys[which]);
        size_t n = chunks ? json_object_array_length(chunks) : 0;
        for (size_t i = 0; i < n; i++) {
            json_object *chunk = json_object_array_get_idx(chunks, i);
            uint32_t addr = (uint32_t)json_object_get_uint64(jk_field(chunk, "address"));
            uint8_t *bytes;
            size_t len;
            if (jk_read_bytes(jk_field(chunk, "contents"), &bytes, &len)) {
                snprintf(why, why_len, "bad %s chunk", chunk_keys[which]);
                return -1;
            }
            int bad = 0;
            if (which == 0) {
                bad = jk_pvm_memory_write(c->mem, addr, bytes, len) != JK_OK;
            } else {
                for (size_t k = 0; k < len && !bad; k++) {
                    long off = jk_image_offset(c, addr + (uint32_t)k);
                    if (off < 0)
                        bad = 1;
                    else
                        c->expected_image[off] = bytes[k];
                }
            }
            free(bytes);
            if (bad) {
                snprintf(why, why_len, "%s chunk at 0x%x lies outside the page map", chunk_keys[which], addr);
                return -1;
            }
        }
    }
    return 0;
}

/* Runs a loaded case and prints every difference. Returns 1 when it passed. */
static int jk_case_check(jk_vector_case *c, int backend, FILE *report)
{
    jk_pvm_exit ex;
    int ok = 1;
    jk_err err = jk_pvm_run_backend(c->prog, c->mem, &c->state, &ex, backend);
    if (err != JK_OK) {
        fprintf(report, "FAIL %s: run error: %s\n", c->name, jk_strerror(err));
        return 0;
    }
    if (ex.status != c->expected_status) {
        fprintf(report, "FAIL %s: status %s, expected %s\n", c->name,
                jk_pvm_status_name(ex.status), jk_pvm_status_name(c->expected_status));
        ok = 0;
    }
    for (int i = 0; i < JK_PVM_REGS; i++)
        if (c->state.regs[i] != c->expected_regs[i]) {
            fprintf(report, "FAIL %s: r%d = 0x%llx, expected 0x%llx\n", c->name, i,
                    (unsigned long long)c->state.regs[i], (unsigned long long)c->expected_regs[i]);
            ok = 0;
        }
    if (c->state.pc != c->expected_pc) {
        fprintf(report, "FAIL %s: pc = %u, expected %u\n", c->name, c->state.pc, c->expected_pc);
        ok = 0;
    }
    if (c->state.gas != c->expected_gas) {
        fprintf(report, "FAIL %s: gas = %lld, expected %lld\n", c->name,
                (long long)c->state.gas, (long long)c->expected_gas);
        ok = 0;
    }
    if (c->has_fault && (ex.status != JK_PVM_PAGE_FAULT || ex.fault_address != c->expected_fault)) {
        fprintf(report, "FAIL %s: page-fault address 0x%x, expected 0x%x\n", c->name,
                ex.fault_address, c->expected_fault);
        ok = 0;
    }
    uint8_t page[JK_PVM_PAGE_SIZE];
    for (size_t i = 0; i < c->page_count; i++) {
        if (jk_pvm_memory_read(c->mem, c->page_addrs[i], page, sizeof page) != JK_OK) {
            fprintf(report, "FAIL %s: page 0x%x vanished\n", c->name, c->page_addrs[i]);
            ok = 0;
            continue;
        }
        const uint8_t *want = c->expected_image + i * JK_PVM_PAGE_SIZE;
        for (uint32_t k = 0; k < JK_PVM_PAGE_SIZE; k++)
            if (page[k] != want[k]) {
                fprintf(report, "FAIL %s: memory[0x%x] = 0x%02x, expected 0x%02x\n", c->name,
                        c->page_addrs[i] + k, page[k], want[k]);
                ok = 0;
                break; /* one line per page is enough */
            }
    }
    return ok;
}

static void jk_run_file(const char *path, int backend, FILE *report, jk_vector_totals *totals)
{
    char why[256] = "";
    json_object *root = json_object_from_file(path);
    jk_vector_case c;
    if (!root) {
        fprintf(report, "FAIL %s: cannot parse JSON: %s\n", path, json_util_get_last_err());
        totals->failed++;
        return;
    }
    if (jk_case_load(root, &c, why, sizeof why)) {
        fprintf(report, "FAIL %s: %s\n", path, why[0] ? why : "out of memory");
        totals->failed++;
    } else if (jk_case_check(&c, backend, report)) {
        totals->passed++;
    } else {
        totals->failed++;
    }
    jk_case_free(&c);
    json_object_put(root);
}

static int jk_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int jk_vectors_run_path(const char *path, int backend, FILE *report,
                        jk_vector_totals *totals)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(report, "jark: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        jk_run_file(path, backend, report, totals);
        return 0;
    }
    DIR *dir = opendir(path);
    if (!dir) {
        fprintf(report, "jark: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t count = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
            continue;
        char **grown = realloc(names, (count + 1) * sizeof *names);
        if (!grown)
            break;
        names = grown;
        names[count] = malloc(strlen(path) + n + 2);
        if (!names[count])
            break;
        sprintf(names[count], "%s/%s", path, de->d_name);
        count++;
    }
    closedir(dir);
    qsort(names, count, sizeof *names, jk_name_cmp);
    for (size_t i = 0; i < count; i++) {
        jk_run_file(names[i], backend, report, totals);
        free(names[i]);
    }
    free(names);
    return 0;
}
