"""A finer sample of the search vector's words for the planner (docs/benchmarks.md).

At the default statistics target PostgreSQL estimated a prefix search ("piano:*") to match 200 of 10,000
providers when 1,846 did, so a word search sorted by price or rating built a bitmap of every match and sorted
them (4 ms) instead of walking the sort's index and stopping at the twentieth match (0.4 ms). At 1,000 the
estimate is exact; ANALYZE (autovacuum runs it) uses the new target from now on.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("providers", "0006_search_price_from_and_order_indexes")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE providers_provider ALTER COLUMN search_vector SET STATISTICS 1000; "
            "ANALYZE providers_provider (search_vector);",
            reverse_sql="ALTER TABLE providers_provider ALTER COLUMN search_vector SET STATISTICS -1;",
        )
    ]
