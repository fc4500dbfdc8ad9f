from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


async def _fill(apps, schema_editor):
    # Demands handled before this migration get their times from the working-day index.
    from models.ops.demand_times import refresh_all_demand_times

    await refresh_all_demand_times(schema_editor.client)


class Migration(migrations.Migration):
    dependencies = [('models', '0007_stats_indexes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Demand',
            name='handling_seconds',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Demand',
            name='handling_working_days',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Demand',
            name='response_seconds',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Demand',
            name='response_working_days',
            field=fields.IntField(null=True),
        ),
        ops.RunPython(_fill, ops.RunPython.noop),
    ]
