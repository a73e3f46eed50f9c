/* ovscan — is a detection new? (db/detection_history.c) */
#ifndef OVSCAN_DB_DETECTION_HISTORY_H
#define OVSCAN_DB_DETECTION_HISTORY_H

#include <stdint.h>

#include "db/state.h"

/* 1 if the file at PATH of filesystem FS_LABEL of disk DISK_ID, found
 * infected by SIGNATURE in poll POLL_ID, was not already known infected by
 * the same signature just before that poll; 0 if it was; -1 + ov_error. */
int ov_state_detection_is_new (struct ov_state *st, int64_t disk_id,
                               int64_t poll_id, const char *fs_label,
                               const char *path, const char *signature);

#endif
