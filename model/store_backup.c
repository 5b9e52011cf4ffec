/* Hot backup of the environment (`salog backup DEST`, API.md I.8). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "model/store_internal.h"

salog_status store_backup(store *s, const char *dest_dir, salog_err *err)
{
    /* Checkpoint first so the copy needs little log to be consistent. */
    store_checkpoint(s);
    if (mkdir(dest_dir, 0770) != 0 && errno != EEXIST)
        return salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "cannot create %s: %s", dest_dir,
                             strerror(errno));
    /* Databases, logs and the other files of the data directory (the
     * server key, the init marker), into one clean directory that opens as
     * an environment of its own (recovery runs on its first open). */
    int ret = s->env->backup(s->env, dest_dir, DB_BACKUP_CLEAN | DB_BACKUP_FILES | DB_CREATE);
    if (ret != 0)
        return store_db_error(s, ret, "backing up", err);
    return SALOG_OK;
}
