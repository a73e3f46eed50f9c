/* ovscan — schema step for running VMs reached over QMP (issue 4).
 *
 * Runs once per database inside the migration's transaction with foreign
 * keys off (db/migrations.c).  Empty until the feature lands.
 */
#include "db/internal.h"

int
ov_db_migrate_2_to_3_live (struct ov_state *st)
{
  (void) st;
  return 0;
}
