from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.rules.geo import LocationTrust, TrustReason
from models.rules.roles import CoordinateSystem
from models.rules.visit_states import VisitMode, VisitStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_demands')]

    initial = False

    operations = [
        ops.CreateModel(
            name='NotificationEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=40)),
                ('recipients', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('subject_type', fields.CharField(max_length=20)),
                ('subject_id', fields.IntField()),
                ('data', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('dedup_key', fields.CharField(null=True, unique=True, max_length=120)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('fanned_out_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notification_event', 'app': 'models', 'indexes': [Index(fields=['subject_type', 'subject_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SupportPolicy',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('title', fields.CharField(max_length=200)),
                ('issuer', fields.CharField(default='', max_length=100)),
                ('document_number', fields.CharField(default='', max_length=100)),
                ('url', fields.CharField(default='', max_length=500)),
                ('summary', fields.TextField(default='', unique=False)),
                ('region', fields.ForeignKeyField('models.Region', source_field='region_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'support_policy', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The catalog of policies cadres hand over on visits (惠企政策), nationwide or regional.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Visit',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('enterprise', fields.ForeignKeyField('models.Enterprise', source_field='enterprise_id', db_constraint=True, to_field='id', related_name='visits', on_delete=OnDelete.RESTRICT)),
                ('region', fields.ForeignKeyField('models.Region', source_field='region_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharEnumField(description='PLANNED: PLANNED\nCOMPLETED: COMPLETED\nCANCELLED: CANCELLED', enum_type=VisitStatus, max_length=10)),
                ('mode', fields.CharEnumField(default=VisitMode.ON_SITE, description='ON_SITE: ON_SITE\nVIDEO: VIDEO\nPHONE: PHONE', enum_type=VisitMode, max_length=10)),
                ('lead', fields.ForeignKeyField('models.User', source_field='lead_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('client_id', fields.CharField(max_length=64)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('planned_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('purpose', fields.CharField(default='', max_length=500)),
                ('visited_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('notes', fields.TextField(default='', unique=False)),
                ('policies', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('completed_by', fields.ForeignKeyField('models.User', source_field='completed_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('completed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('notes_locked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('cancelled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('cancel_reason', fields.CharField(default='', max_length=500)),
                ('checkin_latitude', fields.FloatField(null=True)),
                ('checkin_longitude', fields.FloatField(null=True)),
                ('checkin_accuracy_m', fields.FloatField(null=True)),
                ('checkin_system', fields.CharEnumField(null=True, description='WGS84: WGS84\nGCJ02: GCJ02\nBD09: BD09', enum_type=CoordinateSystem, max_length=8)),
                ('checkin_mock', fields.BooleanField(default=False)),
                ('checkin_device_time', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('checkin_received_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('distance_m', fields.FloatField(null=True)),
                ('location_trust', fields.CharEnumField(null=True, description='TRUSTED: TRUSTED\nDOUBTFUL: DOUBTFUL\nUNVERIFIED: UNVERIFIED', enum_type=LocationTrust, max_length=10)),
                ('trust_reason', fields.CharEnumField(null=True, description='WITHIN_RADIUS: WITHIN_RADIUS\nTOO_FAR: TOO_FAR\nMOCK_LOCATION: MOCK_LOCATION\nLOW_ACCURACY: LOW_ACCURACY\nNO_CHECKIN: NO_CHECKIN\nNO_ENTERPRISE_LOCATION: NO_ENTERPRISE_LOCATION\nNOT_ON_SITE: NOT_ON_SITE\nDEVICE_TIME_AHEAD: DEVICE_TIME_AHEAD', enum_type=TrustReason, max_length=24)),
                ('version', fields.IntField(default=1)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'visit', 'app': 'models', 'indexes': [Index(fields=['enterprise_id', 'at']), Index(fields=['region_id', 'at']), Index(fields=['status', 'planned_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='VisitParticipant',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('visit', fields.ForeignKeyField('models.Visit', source_field='visit_id', db_constraint=True, to_field='id', related_name='participants', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('is_lead', fields.BooleanField(default=False)),
            ],
            options={'table': 'visit_participant', 'app': 'models', 'unique_together': (('visit', 'user'),), 'indexes': [Index(fields=['user_id', 'visit_id'])], 'pk_attr': 'id', 'table_description': 'A cadre on the visit: the lead visitor (is_lead) or an accompanying one.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Attachment',
            name='meta',
            field=fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='Attachment',
            name='visit',
            field=fields.ForeignKeyField('models.Visit', source_field='visit_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE),
        ),
        ops.AddIndex(
            model_name='Attachment',
            index=Index(fields=['visit_id']),
        ),
    ]
