from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0013_audit_log')]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name='Demand',
            name=None,
            fields=['department_id', 'state'],
        ),
        ops.AddIndex(
            model_name='Demand',
            index=Index(fields=['department_id', 'state', 'effective_deadline', 'id']),
        ),
    ]
