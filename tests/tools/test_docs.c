/* test_docs.c — the docs' examples work as written: a page marks files with
 * `<!-- file: NAME -->` before a fenced block and commands with `<!-- run
 * -->` before a ```sh block; this writes the files into a scratch folder,
 * runs each `build/jark ...` line in-process there, and checks every
 * `# stdout: TEXT` / `# stderr: TEXT` comment against what the command before
 * it printed (TEXT must appear; the digits of gas_used= are not compared,
 * so the gas schedule can change without every page). */
#include "../test.h"
#include "../progs.h"
#include "../../tools/commands.h"

#include <stdlib.h>
#include <unistd.h>

/* The `jark` subcommands a docs example may use, by name. */
static int (*jk_doc_command(const char *name))(int, char **)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } table[] = {{"cc", jk_tool_cc}, {"image", jk_tool_image}, {"pvm", jk_tool_pvm}, {"asm", jk_tool_asm},
                 {"chain", jk_tool_chain}, {"event", jk_tool_event}, {"keygen", jk_tool_keygen}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(table[i].name, name))
            return table[i].fn;
    return NULL;
}

/* Replace the number after every "gas_used=" by one '#'. */
static void jk_doc_mask(char *s)
{
    for (char *p = strstr(s, "gas_used="); p; p = strstr(p + 1, "gas_used=")) {
        char *d = p + 9, *e = d;
        while (*e >= '0' && *e <= '9')
            e++;
        if (e > d) {
            *d = '#';
            memmove(d + 1, e, strlen(e) + 1);
        }
    }
}

/* Run page's example; returns the number of commands run. */
static int jk_doc_run(const char *page)
{
    uint8_t *text;
    size_t len;
    if (jk_read_file(page, &text, &len, NULL) != JK_OK) {
        jk_test_fail(__FILE__, __LINE__, "%s: cannot read", page);
        return 0;
    }
    char dir[96], cwd[512];
    if (!jk_test_tmpdir("docs-test", dir, sizeof dir) || !getcwd(cwd, sizeof cwd) || chdir(dir) != 0) {
        free(text);
        jk_test_fail(__FILE__, __LINE__, "cannot make a scratch folder");
        return 0;
    }
    int commands = 0;
    static char out[8192], err[8192];
    char *save = NULL, *pending = NULL;
    bool in_block = false, run = false;
    FILE *file = NULL;
    for (char *line = strtok_r((char *)text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!in_block && !strncmp(line, "<!-- file: ", 11)) {
            pending = line + 11;
            *strchr(pending, ' ') = 0;
        } else if (!in_block && !strcmp(line, "<!-- run -->")) {
            run = true;
        } else if (!strncmp(line, "```", 3)) {
            if (!in_block && pending)
                file = fopen(pending, "w");
            else if (in_block) {
                if (file)
                    fclose(file);
                file = NULL;
                pending = NULL;
                run = false;
            }
            in_block = !in_block;
        } else if (in_block && file) {
            fprintf(file, "%s\n", line);
        } else if (in_block && run && !strncmp(line, "build/jark ", 11)) {
            char *argv[32], *tok_save = NULL;
            int argc = 0;
            for (char *w = strtok_r(line + 11, " ", &tok_save); w && argc < 32; w = strtok_r(NULL, " ", &tok_save))
                argv[argc++] = w;
            int (*fn)(int, char **) = argc ? jk_doc_command(argv[0]) : NULL;
            if (!fn) {
                jk_test_fail(__FILE__, __LINE__, "%s: unknown command in '%s'", page, line);
                continue;
            }
            int rc = jk_test_tool(fn, argc - 1, argv + 1, out, sizeof out, err, sizeof err);
            jk_doc_mask(out);
            jk_doc_mask(err);
            commands++;
            if (rc != 0)
                jk_test_fail(__FILE__, __LINE__, "%s: '%s' exited %d: %s", page, argv[0], rc, err);
        } else if (in_block && run && (!strncmp(line, "# stdout: ", 10) || !strncmp(line, "# stderr: ", 10))) {
            char want[512];
            snprintf(want, sizeof want, "%s", line + 10);
            jk_doc_mask(want);
            if (!strstr(line[2] == 's' && line[5] == 'o' ? out : err, want))
                jk_test_fail(__FILE__, __LINE__, "%s: expected '%s' in the %s of the command before; got: %s%s", page,
                             want, line + 2, out, err);
        }
    }
    if (file)
        fclose(file);
    if (chdir(cwd) != 0)
        jk_test_fail(__FILE__, __LINE__, "cannot go back to %s", cwd);
    jk_test_rm_tree(dir);
    free(text);
    return commands;
}

JK_TEST(test_docs_image_format_example)
{
    JK_CHECK_EQ(jk_doc_run("docs/image-format.md"), 5);
}
