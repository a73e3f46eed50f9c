/* ovscan — schema step for cron operations, signature coverage, detections (issue 6).
 *
 * Runs once per database inside the migration's transaction with foreign
 * keys off (db/migrations.c).  Empty until the feature lands.
 */
#include "db/internal.h"

int
ov_db_migrate_1_to_2_operations (struct ov_state *st)
{
  (void) st;
  return 0;
}
