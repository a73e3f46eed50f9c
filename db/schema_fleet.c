/* ovscan — schema step for copy-on-write fleets: bases, layers, verdict cache (issue 5).
 *
 * Runs once per database inside the migration's transaction with foreign
 * keys off (db/migrations.c).  Empty until the feature lands.
 */
#include "db/internal.h"

int
ov_db_migrate_3_to_4_fleet (struct ov_state *st)
{
  (void) st;
  return 0;
}
