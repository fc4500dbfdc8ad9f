from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0006_stats_foundation')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Demand',
            index=Index(fields=['region_id', 'submitted_at']),
        ),
        ops.AddIndex(
            model_name='Demand',
            index=Index(fields=['department_id', 'submitted_at']),
        ),
        ops.AddIndex(
            model_name='Demand',
            index=Index(fields=['region_id', 'effective_deadline']),
        ),
    ]
