from tortoise import migrations
from tortoise.migrations import operations as ops

# PostgreSQL only: how many (submission day, state, rating, escalation level) combinations the
# demands have, so the trend's first level (models.ops.stats_demand_sql.SUBMITTED_DAY) is
# estimated at thousands of groups and hashed in parallel, not at one group per demand and
# sorted. The expression must stay identical to SUBMITTED_DAY's.
STATISTICS = (
    "CREATE STATISTICS IF NOT EXISTS demand_day_kinds (ndistinct) ON "
    "(date_bin('1 day'::interval, submitted_at, '2000-01-01 00:00:00+08'::timestamptz)), "
    "state, rating, escalation_level FROM demand"
)


async def _create(apps, schema_editor):
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script(STATISTICS)
        await client.execute_script("ANALYZE demand")


async def _drop(apps, schema_editor):
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script("DROP STATISTICS IF EXISTS demand_day_kinds")


class Migration(migrations.Migration):
    dependencies = [('models', '0010_on_time_index')]

    initial = False

    operations = [ops.RunPython(_create, _drop)]
