from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# The per-(username, address) sign-in delays replace the account-wide lockout, which let
# anyone lock an account's owner out (models.rules.sign_in).

class Migration(migrations.Migration):
    dependencies = [('models', '0016_session_announcements')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LoginPairThrottle',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('username', fields.CharField(max_length=64)),
                ('client', fields.CharField(max_length=64)),
                ('failures', fields.IntField(default=0)),
                ('last_failure_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_success_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'login_pair_throttle', 'app': 'models', 'unique_together': (('username', 'client'),), 'pk_attr': 'id', 'table_description': 'Sign-in failures of one username tried (as typed: unknown names too) from one client'},
            bases=['Model'],
        ),
        ops.RemoveField(model_name='User', name='failed_logins'),
        ops.RemoveField(model_name='User', name='locked_until'),
    ]
