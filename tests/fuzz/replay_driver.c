/* Standalone driver: replays fuzz inputs through LLVMFuzzerTestOneInput
 * without libFuzzer, so `make fuzz-replay` runs every corpus under gcc and
 * the sanitizers. Each argument is a directory (every regular file in it
 * is fed) or a single file. A crash is the sanitizer's abort. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads a whole file; 0 / -1. *buf is never NULL on success. */
static int replay_read_file(const char *path, uint8_t **buf, size_t *len)
{
    int rc = -1;
    uint8_t *data = NULL;
    size_t cap = 0, n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        goto out;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            uint8_t *p = realloc(data, ncap);
            if (!p)
                goto out;
            data = p;
            cap = ncap;
        }
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        goto out;
    *buf = data;
    *len = n;
    data = NULL;
    rc = 0;
out:
    if (f)
        fclose(f);
    free(data);
    return rc;
}

static int replay_one(const char *path)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (replay_read_file(path, &buf, &len) != 0) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        return -1;
    }
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int status = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
            status = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (replay_one(argv[i]) != 0)
                status = 1;
            else
                printf("replayed 1 inputs from %s\n", argv[i]);
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) {
            fprintf(stderr, "replay: cannot open %s\n", argv[i]);
            status = 1;
            continue;
        }
        size_t count = 0;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            char path[4096];
            struct stat fst;
            if (snprintf(path, sizeof path, "%s/%s", argv[i], de->d_name) >= (int)sizeof path)
                continue;
            if (stat(path, &fst) != 0 || !S_ISREG(fst.st_mode))
                continue;
            if (replay_one(path) != 0)
                status = 1;
            else
                count++;
        }
        closedir(d);
        printf("replayed %zu inputs from %s\n", count, argv[i]);
    }
    return status;
}
