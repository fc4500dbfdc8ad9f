from tortoise import migrations
from tortoise.migrations import operations as ops
from models.rules.device_clock import TimeFlag
from tortoise import fields

# A logged visit keeps what the server made of the phone's clock: the offset it measured, what
# it did to the phone's times, and the visit time the phone gave (models.rules.device_clock).

class Migration(migrations.Migration):
    dependencies = [('models', '0018_work_order_numbers')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Visit',
            name='device_clock_offset_minutes',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Visit',
            name='reported_visited_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Visit',
            name='time_flag',
            field=fields.CharEnumField(null=True, description='CLOCK_CORRECTED: CLOCK_CORRECTED\nCLOCK_AHEAD: CLOCK_AHEAD', enum_type=TimeFlag, max_length=16),
        ),
    ]
