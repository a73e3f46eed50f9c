/* ovscan — schema step for guest inspection, LVM, XFS (issue 7).
 *
 * Runs once per database inside the migration's transaction with foreign
 * keys off (db/migrations.c).  Empty until the feature lands.
 */
#include "db/internal.h"

int
ov_db_migrate_4_to_5_guests (struct ov_state *st)
{
  (void) st;
  return 0;
}
