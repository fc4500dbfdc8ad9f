from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0009_percentile_index')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Demand',
            index=Index(fields=['effective_deadline', 'region_id', 'department_id', 'category_id', 'source', 'state', 'replied_at']),
        ),
    ]
