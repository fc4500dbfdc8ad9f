from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# Work-order numbers (工单号, models.rules.work_orders) and the counters they are drawn from.
# The demands and agency requests submitted before get theirs here, each day's in submission
# order; no region could have set a prefix yet (the policy key is new), so all take the default.


async def _number(apps, schema_editor):
    from models.ops.work_orders import number_unnumbered
    from models.rules.work_orders import WorkOrderKind

    for kind in WorkOrderKind:
        await number_unnumbered(schema_editor.client, kind)


class Migration(migrations.Migration):
    dependencies = [('models', '0017_login_pair_throttle')]

    initial = False

    operations = [
        ops.CreateModel(
            name='WorkOrderCounter',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=8)),
                ('prefix', fields.CharField(max_length=6)),
                ('day', fields.DateField()),
                ('last_seq', fields.IntField()),
            ],
            options={'table': 'work_order_counter', 'app': 'models', 'unique_together': (('kind', 'prefix', 'day'),), 'pk_attr': 'id', 'table_description': 'The last sequence given for one kind, prefix and day'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='AgencyRequest',
            name='number',
            field=fields.CharField(null=True, unique=True, max_length=32),
        ),
        ops.AddField(
            model_name='Demand',
            name='number',
            field=fields.CharField(null=True, unique=True, max_length=32),
        ),
        ops.RunPython(_number, ops.RunPython.noop),
    ]
