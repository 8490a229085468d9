/* structs.c — structs and arrays, struct copies, globals with initial
 * values (read-only and writable), static locals, zero-initialised data. */
#include "corpus.h"

struct point {
    int32_t x, y;
};
struct shape {
    char name[12];
    struct point corners[4];
    uint8_t kind;
    uint64_t area;
};

static const struct shape templates[2] = {
    {"square", {{0, 0}, {4, 0}, {4, 4}, {0, 4}}, 1, 16},
    {"strip", {{-1, -1}, {9, -1}, {9, 0}, {-1, 0}}, 2, 10},
};
static struct shape board[6];          /* zero-initialised */
static int64_t counters[3] = {5, -6, 7}; /* writable, initialised */
static const char banner[] = "structs and arrays";
static uint16_t table16[40];

static int64_t perimeter(const struct shape *s)
{
    int64_t p = 0;
    for (int i = 0; i < 4; i++) {
        const struct point a = s->corners[i], b = s->corners[(i + 1) % 4];
        p += (a.x > b.x ? a.x - b.x : b.x - a.x) + (a.y > b.y ? a.y - b.y : b.y - a.y);
    }
    return p;
}

static int next_id(void)
{
    static int id = 100;
    return id++;
}

static struct point midpoint(struct point a, struct point b)
{
    struct point m = {(a.x + b.x) / 2, (a.y + b.y) / 2};
    return m;
}

long structs_main(void)
{
    jk_print_str(banner);
    jk_print_str("\n");
    for (int i = 0; i < 6; i++) {
        board[i] = templates[i % 2]; /* struct copy */
        board[i].corners[2].x += i;
        board[i].area += (uint64_t)i * 3;
    }
    for (int i = 0; i < 6; i++) {
        jk_print_str(board[i].name);
        say(" perimeter", perimeter(&board[i]));
        say("  area", (int64_t)board[i].area);
    }
    struct point m = midpoint(board[5].corners[0], board[5].corners[2]);
    say("mid.x", m.x);
    say("mid.y", m.y);
    for (int i = 0; i < 3; i++)
        counters[i] *= next_id();
    say("c0", counters[0]);
    say("c1", counters[1]);
    say("c2", counters[2]);
    for (unsigned i = 0; i < 40; i++)
        table16[i] = (uint16_t)(i * i * 1000);
    uint64_t s = 0;
    for (unsigned i = 0; i < 40; i++)
        s = s * 3 + table16[i];
    say_u("table16", s);
    say("sizeof shape", (int64_t)sizeof(struct shape));
    return (long)s;
}
JK_PROGRAM_MAIN(structs_main);
