from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_service_points')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RegionCalendarScope',
            fields=[
                ('region', fields.OneToOneField('models.Region', source_field='region_id', primary_key=True, db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('scope_id', fields.IntField()),
            ],
            options={'table': 'region_calendar_scope', 'app': 'models', 'pk_attr': 'region_id', 'table_description': 'Which WorkDayIndex scope a region counts with, for regions whose calendar differs from'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WorkDayIndex',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('scope_id', fields.IntField()),
                ('day', fields.DateField()),
                ('is_workday', fields.BooleanField()),
                ('idx', fields.IntField()),
            ],
            options={'table': 'work_day_index', 'app': 'models', 'unique_together': (('scope_id', 'day'),), 'pk_attr': 'id', 'table_description': 'The calendar as a table SQL can join: for each day of a calendar scope, whether it is a'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Demand',
            name='suspended_seconds',
            field=fields.IntField(default=0),
        ),
    ]
