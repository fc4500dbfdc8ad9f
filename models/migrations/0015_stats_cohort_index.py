from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0014_department_deadline_index')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Demand',
            index=Index(fields=['submitted_at', 'region_id', 'department_id', 'category_id', 'source', 'state', 'rating', 'escalation_level', 'effective_deadline', 'warning_date', 'dispatched_at', 'replied_at', 'rated_at', 'contact_attempts', 'rectification_state', 'rectification_deadline', 'rectified_at', 'reopen_count', 'return_count', 'extension_count', 'response_working_days', 'response_seconds', 'handling_working_days', 'handling_seconds']),
        ),
    ]
