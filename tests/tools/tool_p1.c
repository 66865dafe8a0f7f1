/* A tool for the `context.exec` tests, built as a WASI preview1 command
 * module (clang-19 --target=wasm32-wasi, the way YoWASP tools are built);
 * the host turns it into a `wasi:cli/command` component with the command
 * adapter. tests/programs/tool_p2 is the same tool as a component; see there
 * for the operations (this one has echo, cat, write, stdin, exit, spin, ls). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
    const char *op = argc > 1 ? argv[1] : "";
    if (!strcmp(op, "echo")) {
        for (int i = 0; i < argc; i++) printf(i ? " %s" : "%s", argv[i]);
        const char *g = getenv("GREETING");
        printf("\nGREETING=%s\n", g ? g : "<unset>");
    } else if (!strcmp(op, "cat") && argc > 2) {
        FILE *f = fopen(argv[2], "rb");
        if (!f) { perror(argv[2]); return 2; }
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
        fclose(f);
    } else if (!strcmp(op, "write") && argc > 3) {
        FILE *f = fopen(argv[2], "wb");
        if (!f) { perror(argv[2]); return 2; }
        fputs(argv[3], f);
        fclose(f);
    } else if (!strcmp(op, "stdin")) {
        int c;
        while ((c = getchar()) != EOF) putchar(c);
    } else if (!strcmp(op, "exit") && argc > 2) {
        fprintf(stderr, "exiting with %s\n", argv[2]);
        return atoi(argv[2]);
    } else if (!strcmp(op, "spin")) {
        volatile unsigned long x = 1;
        for (;;) x = x * 6364136223846793005UL + 1;
    } else if (!strcmp(op, "ls") && argc > 2) {
        DIR *d = opendir(argv[2]);
        if (!d) { perror(argv[2]); return 2; }
        char *names[256];
        int n = 0;
        struct dirent *e;
        while ((e = readdir(d)) && n < 256)
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names[n++] = strdup(e->d_name);
        closedir(d);
        qsort(names, n, sizeof *names, cmp);
        for (int i = 0; i < n; i++) printf(i ? " %s" : "%s", names[i]);
        printf("\n");
    } else {
        fprintf(stderr, "unknown operation `%s`\n", op);
        return 64;
    }
    return 0;
}
