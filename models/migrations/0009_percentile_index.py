from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0008_demand_times')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Demand',
            index=Index(fields=['submitted_at', 'region_id', 'department_id', 'category_id', 'source', 'handling_working_days', 'handling_seconds']),
        ),
    ]
