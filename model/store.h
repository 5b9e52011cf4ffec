/* The Berkeley DB environment under the data directory, shared by every
 * worker process and the admin command (API.md I.9).
 *
 * Every opener uses the same settings: DB_REGISTER | DB_RECOVER (recovery
 * runs when a registered process died uncleanly), set_isalive +
 * set_thread_count so that store_failchk can free what a dead process held.
 * A DB_RUNRECOVERY or panic makes store_must_exit() true: the worker answers
 * its current request with 500 and exits, and its launcher starts a fresh
 * one, which recovers. A thread that was blocked inside Berkeley DB on a
 * mutex of the dead process never returns after the panic (measured by
 * tests/crash/run.sh: about half of the must-exit cases), so a thread
 * outside the library (the one calling store_failchk) has to end the
 * process after a short grace period.
 *
 * Files are created 0660 under umask 007 (www-data shares them). */
#ifndef SALOG_STORE_H
#define SALOG_STORE_H

#include <stdbool.h>

#include "codec/error.h"

typedef struct store store;

/* Opens (creating when `create` is set) the environment and every database.
 * *out is owned by the caller: store_close. DB_REGISTER allows one open
 * store per process (a second store_open fails): share it between threads. */
salog_status store_open(store **out, const char *data_dir, bool create, salog_err *err);
void store_close(store *s);

/* Frees locks and aborts transactions of dead processes. Returns
 * SALOG_E_RUNRECOVERY when the environment must be reopened. */
salog_status store_failchk(store *s);
/* store_failchk when it has work: on the first call, and whenever a process
 * that had the environment open has died (store_members.h). Cheap
 * otherwise: call it every second or so. Same results as store_failchk. */
salog_status store_watch(store *s);
bool store_must_exit(const store *s);

/* Path of the data directory (borrowed). */
const char *store_data_dir(const store *s);

/* Transactional checkpoint + removal of unneeded logs; called periodically. */
void store_checkpoint(store *s);

/* Hot backup into dest_dir (created if needed, emptied first): databases,
 * logs and the data directory's other files (server key, marker). */
salog_status store_backup(store *s, const char *dest_dir, salog_err *err);

/* True when `data_dir` holds an initialised environment (marker file). */
bool store_is_initialised(const char *data_dir);
/* Writes that marker durably (temp file, fsync, rename, fsync of the
 * directory); called by `salog init` once everything else is in place. */
salog_status store_mark_initialised(store *s, salog_err *err);

#endif
