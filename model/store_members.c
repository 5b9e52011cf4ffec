/* The member files of the environment (store_members.h). */
#include "model/store_members.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MEMBERS_DIR "procs"

static int members_path(char *out, size_t size, const char *data_dir, pid_t pid)
{
    int n = pid > 0 ? snprintf(out, size, "%s/" MEMBERS_DIR "/%ld", data_dir, (long)pid)
                    : snprintf(out, size, "%s/" MEMBERS_DIR, data_dir);
    return n < 0 || (size_t)n >= size ? ENAMETOOLONG : 0;
}

int store_members_join(const char *data_dir, pid_t pid)
{
    char path[4096];
    int ret = members_path(path, sizeof path, data_dir, 0);
    if (ret != 0)
        return ret;
    /* Group-writable like the rest of the data directory (www-data). */
    if (mkdir(path, 0770) != 0 && errno != EEXIST)
        return errno;
    if ((ret = members_path(path, sizeof path, data_dir, pid)) != 0)
        return ret;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0660);
    if (fd < 0)
        return errno;
    close(fd);
    return 0;
}

void store_members_leave(const char *data_dir, pid_t pid)
{
    char path[4096];
    if (members_path(path, sizeof path, data_dir, pid) == 0)
        (void)unlink(path);
}

void store_members_forget_dead(const char *data_dir, pid_t pid)
{
    /* Checked again just before: a new process that got the same pid since
     * the scan keeps its file. */
    if (kill(pid, 0) != 0 && errno == ESRCH)
        store_members_leave(data_dir, pid);
}

int store_members_dead(const char *data_dir, pid_t dead[STORE_MEMBERS_MAX_DEAD], size_t *count)
{
    char path[4096];
    int ret = members_path(path, sizeof path, data_dir, 0);
    *count = 0;
    if (ret != 0)
        return ret;
    DIR *dir = opendir(path);
    if (!dir)
        return errno == ENOENT ? 0 : errno;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL && *count < STORE_MEMBERS_MAX_DEAD) {
        char *end = NULL;
        errno = 0;
        long pid = strtol(e->d_name, &end, 10);
        if (errno != 0 || end == e->d_name || *end != '\0' || pid <= 0)
            continue;
        if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
            dead[(*count)++] = (pid_t)pid;
    }
    closedir(dir);
    return 0;
}
