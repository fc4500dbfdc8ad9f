from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# The dispatcher renews a round's claims while its calls are in flight and records a row only
# while it still carries the round's claim token; the gateways' breakers and quota holds are
# shared by every dispatching process (notifications.dispatcher).

class Migration(migrations.Migration):
    dependencies = [('models', '0019_visit_clock')]

    initial = False

    operations = [
        ops.AddField(
            model_name='PushMessage',
            name='claim_token',
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.CreateModel(
            name='PushGateway',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=16)),
                ('failures', fields.IntField(default=0)),
                ('open_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('probe_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('hold_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'push_gateway', 'app': 'models', 'pk_attr': 'name', 'table_description': "What every dispatching process must know of a gateway (notifications.dispatcher): its"},
            bases=['Model'],
        ),
    ]
