/* json.c — what json-c lets through silently, refused for every JSON reader
 * of untrusted text (the chain spec, the image manifest, JSON-RPC requests).
 *
 * json-c keeps the last of two equal keys in an object and says nothing, so
 * {"gas": A, "gas": B} would run B while a reader sees A; and it clamps an
 * integer past its range (10^23 reads as 2^64-1 or 2^63-1) without a word.
 * jk_json_check scans the text json-c has already accepted for both. It
 * needs nothing of json-c, so base stays free of it. */
#include "jark/err.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct jk_span {
    const char *p;
    size_t n;
} jk_span;

static int jk_span_cmp(const void *a, const void *b)
{
    const jk_span *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    return memcmp(x->p, y->p, x->n);
}

static bool jk_json_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

/* An integer literal (digits only, no fraction or exponent) outside json-c's
 * range: below INT64_MIN, or above UINT64_MAX. */
static bool jk_json_out_of_range(const char *digits, size_t n, bool negative)
{
    while (n > 1 && digits[0] == '0')
        digits++, n--;
    const char *limit = negative ? "9223372036854775808" : "18446744073709551615";
    size_t ln = strlen(limit);
    return n != ln ? n > ln : memcmp(digits, limit, n) > 0;
}

/* json-c's JSON_TOKENER_VALIDATE_UTF8 checks only that a lead byte has its
 * continuation bytes: it lets overlong forms through (C0 AF is '/' spelled
 * in two bytes), UTF-16 surrogates (ED A0 80) and code points past
 * U+10FFFF, which other readers refuse or decode differently. Unicode's
 * Table 3-7 (well-formed UTF-8 byte sequences), byte by byte. */
bool jk_utf8_check(const void *bytes, size_t len, size_t *bad_at)
{
    const unsigned char *s = bytes;
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        size_t n = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        /* the second byte's range; the later ones are 80..BF */
        unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
        unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
        bool ok = n > 0 && i + n <= len;
        for (size_t k = 1; ok && k < n; k++)
            ok = k == 1 ? s[i + 1] >= lo && s[i + 1] <= hi : s[i + k] >= 0x80 && s[i + k] <= 0xBF;
        if (!ok) {
            if (bad_at)
                *bad_at = i;
            return false;
        }
        i += n;
    }
    return true;
}

jk_err jk_json_check(const char *text, size_t len, bool numbers, jk_diag *diag)
{
    enum { MAX_DEPTH = 64 };
    /* per open object or array: the key count at its start, or SIZE_MAX for
     * an array; keys are collected per object and sorted when it closes,
     * O(n log n) in all */
    size_t open_at[MAX_DEPTH];
    int depth = 0;
    jk_err rc = JK_OK;
    jk_span *keys = malloc((len / 3 + 1) * sizeof *keys); /* a key takes at least 3 bytes: "": */
    size_t count = 0, bad_at = 0;
    if (!keys)
        return jk_diag_set(diag, JK_ERR_NOMEM, "out of memory");
    if (!jk_utf8_check(text, len, &bad_at))
        rc = jk_diag_set(diag, JK_ERR_PARSE, "invalid UTF-8 at byte %zu", bad_at);
    for (size_t i = 0; i < len && rc == JK_OK; i++) {
        char c = text[i];
        if (c == '"' || c == '\'') { /* json-c's non-strict mode takes single quotes */
            size_t start = ++i;
            while (i < len && text[i] != c)
                i += text[i] == '\\' ? 2 : 1;
            if (i >= len)
                break;
            size_t j = i + 1;
            while (j < len && jk_json_space(text[j]))
                j++;
            if (j < len && text[j] == ':' && depth > 0 && open_at[depth - 1] != SIZE_MAX && count < len / 3 + 1)
                keys[count++] = (jk_span){text + start, i - start};
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t start = c == '-' ? i + 1 : i, e = start;
            while (e < len && text[e] >= '0' && text[e] <= '9')
                e++;
            bool integer = e == len || (text[e] != '.' && text[e] != 'e' && text[e] != 'E');
            if (numbers && integer && e > start && jk_json_out_of_range(text + start, e - start, c == '-'))
                rc = jk_diag_set(diag, JK_ERR_PARSE, "the number %.*s%s is out of range", (int)(i + 24 < e ? 24 : e - i),
                                 text + i, i + 24 < e ? "..." : "");
            while (e < len && !jk_json_space(text[e]) && !strchr(",]}", text[e]))
                e++; /* the rest of a fraction or exponent */
            i = e - 1;
        } else if (c == '{' || c == '[') {
            if (depth == MAX_DEPTH)
                break; /* the readers' json-c depth bounds are lower */
            open_at[depth++] = c == '{' ? count : SIZE_MAX;
        } else if ((c == '}' || c == ']') && depth > 0) {
            size_t from = open_at[--depth];
            if (from == SIZE_MAX)
                continue;
            qsort(keys + from, count - from, sizeof *keys, jk_span_cmp);
            for (size_t k = from + 1; k < count && rc == JK_OK; k++)
                if (!jk_span_cmp(&keys[k - 1], &keys[k]))
                    rc = jk_diag_set(diag, JK_ERR_PARSE, "key '%.*s' given twice in one object",
                                     (int)(keys[k].n < 40 ? keys[k].n : 40), keys[k].p);
            count = from;
        }
    }
    free(keys);
    return rc;
}
