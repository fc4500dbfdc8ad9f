from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0011_stats_statistics')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Demand',
            index=Index(fields=['handler_id', 'state']),
        ),
        ops.AddIndex(
            model_name='Demand',
            index=Index(fields=['submitted_by_id']),
        ),
        ops.AddIndex(
            model_name='EnterpriseContact',
            index=Index(fields=['user_id']),
        ),
    ]
