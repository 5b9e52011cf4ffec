/* Which processes have the environment open: one empty file per process,
 * DATA/procs/<pid>, made before the environment is opened and removed after
 * it is closed. A file whose process is gone marks a process that died with
 * the environment open, which is when DB_ENV->failchk has work to do.
 *
 * Why not run failchk on a timer: while it runs, Berkeley DB makes every
 * thread of the calling process that waits for a shared mutex spin
 * (trylock + is_alive) instead of sleeping, which cost /v1/log about a
 * fifth of its throughput at one failchk per second (measured).
 *
 * Internal to model/ (store.c). Functions return 0 or an errno value. */
#ifndef SALOG_STORE_MEMBERS_H
#define SALOG_STORE_MEMBERS_H

#include <stddef.h>
#include <sys/types.h>

#define STORE_MEMBERS_MAX_DEAD 64

/* EEXIST: the file is there already (another handle of this process, or a
 * dead process that had the same pid); it is not ours to remove. */
int store_members_join(const char *data_dir, pid_t pid);
void store_members_leave(const char *data_dir, pid_t pid);
/* Removes the file of `pid` if that process still does not exist. */
void store_members_forget_dead(const char *data_dir, pid_t pid);

/* Fills dead[0..*count) (at most STORE_MEMBERS_MAX_DEAD) with members whose
 * process no longer exists. A process of another user counts as alive. */
int store_members_dead(const char *data_dir, pid_t dead[STORE_MEMBERS_MAX_DEAD], size_t *count);

#endif
