"""Extended statistics on the request's community and the keys that belong to one community (category,
building, assignee). Without them PostgreSQL multiplies the selectivities of `community_id = 1` and
`category_id = 7` as if independent, expects ~10 of a category's ~1,150 requests, and plans the request
list as "join everything, then sort" (10 ms) instead of reading the first 25 rows in order from
sr_comm_category_idx (0.4 ms). PostgreSQL only; ANALYZE fills them."""

from django.db import migrations

from community.lib.migrations import RunSQLOnPostgreSQL


class Migration(migrations.Migration):
    dependencies = [("stations", "0008_dashboard_now_counts_index")]

    operations = [
        RunSQLOnPostgreSQL(
            sql=[
                "CREATE STATISTICS IF NOT EXISTS sr_community_fk_stats (dependencies, ndistinct) "
                "ON community_id, category_id, building_id, assignee_id FROM stations_servicerequest",
                "ANALYZE stations_servicerequest",
            ],
            reverse_sql=["DROP STATISTICS IF EXISTS sr_community_fk_stats"],
        )
    ]
