from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.rules.agency_states import AgencyAction, AgencyState, AppointmentStatus
from models.rules.demand_states import RectificationState, Satisfaction
from models.rules.roles import CoordinateSystem
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_notifications')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ServicePoint',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=100)),
                ('region', fields.ForeignKeyField('models.Region', source_field='region_id', db_constraint=True, to_field='id', related_name='service_points', on_delete=OnDelete.RESTRICT)),
                ('address', fields.CharField(default='', max_length=255)),
                ('latitude', fields.FloatField(null=True)),
                ('longitude', fields.FloatField(null=True)),
                ('coordinate_system', fields.CharEnumField(default=CoordinateSystem.GCJ02, description='WGS84: WGS84\nGCJ02: GCJ02\nBD09: BD09', enum_type=CoordinateSystem, max_length=8)),
                ('phone', fields.CharField(default='', max_length=32)),
                ('description', fields.TextField(default='', unique=False)),
                ('opening_hours', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('closed_on_holidays', fields.BooleanField(default=True)),
                ('slot_minutes', fields.IntField(default=30)),
                ('slot_capacity', fields.IntField(default=2)),
                ('is_active', fields.BooleanField(default=True)),
                ('version', fields.IntField(default=1)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'service_point', 'app': 'models', 'unique_together': (('region', 'name'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AppointmentSlot',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('service_point', fields.ForeignKeyField('models.ServicePoint', source_field='service_point_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('capacity', fields.IntField()),
                ('booked', fields.IntField(default=0)),
            ],
            options={'table': 'appointment_slot', 'app': 'models', 'unique_together': (('service_point', 'starts_at'),), 'pk_attr': 'id', 'table_description': 'How many appointments one slot of a point holds: the row a booking increments with a'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Procedure',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('service_point', fields.ForeignKeyField('models.ServicePoint', source_field='service_point_id', db_constraint=True, to_field='id', related_name='procedures', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=200)),
                ('code', fields.CharField(default='', max_length=64)),
                ('department', fields.ForeignKeyField('models.Department', source_field='department_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('materials', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('statutory_days', fields.IntField(null=True)),
                ('promised_days', fields.IntField()),
                ('fees', fields.CharField(default='', max_length=255)),
                ('online_url', fields.CharField(default='', max_length=500)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'procedure', 'app': 'models', 'unique_together': (('service_point', 'name'),), 'pk_attr': 'id', 'table_description': "One procedure (事项) a service point handles on behalf of enterprises."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Appointment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('slot', fields.ForeignKeyField('models.AppointmentSlot', source_field='slot_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('service_point', fields.ForeignKeyField('models.ServicePoint', source_field='service_point_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('enterprise', fields.ForeignKeyField('models.Enterprise', source_field='enterprise_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('procedure', fields.ForeignKeyField('models.Procedure', source_field='procedure_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('booked_by', fields.ForeignKeyField('models.User', source_field='booked_by_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('starts_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('status', fields.CharEnumField(default=AppointmentStatus.BOOKED, description='BOOKED: BOOKED\nCANCELLED: CANCELLED', enum_type=AppointmentStatus, max_length=10)),
                ('note', fields.CharField(default='', max_length=500)),
                ('cancelled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'appointment', 'app': 'models', 'indexes': [Index(fields=['service_point_id', 'starts_at']), Index(fields=['enterprise_id', 'starts_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AgencyRequest',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('enterprise', fields.ForeignKeyField('models.Enterprise', source_field='enterprise_id', db_constraint=True, to_field='id', related_name='agency_requests', on_delete=OnDelete.RESTRICT)),
                ('service_point', fields.ForeignKeyField('models.ServicePoint', source_field='service_point_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('region', fields.ForeignKeyField('models.Region', source_field='region_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('procedure', fields.ForeignKeyField('models.Procedure', source_field='procedure_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('procedure_name', fields.CharField(max_length=200)),
                ('description', fields.TextField(default='', unique=False)),
                ('state', fields.CharEnumField(db_index=True, description='SUBMITTED: SUBMITTED\nACCEPTED: ACCEPTED\nMATERIALS_REQUESTED: MATERIALS_REQUESTED\nIN_HANDLING: IN_HANDLING\nCOMPLETED: COMPLETED\nREJECTED: REJECTED\nCANCELLED: CANCELLED', enum_type=AgencyState, max_length=20)),
                ('submitted_by', fields.ForeignKeyField('models.User', source_field='submitted_by_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('submitted_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('agent', fields.ForeignKeyField('models.User', source_field='agent_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('accepted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('promised_days', fields.IntField(null=True)),
                ('deadline', fields.DateField(null=True)),
                ('paused_days', fields.IntField(default=0)),
                ('paused_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('effective_deadline', fields.DateField(null=True, db_index=True)),
                ('deadline_confirmed', fields.BooleanField(default=True)),
                ('missing_materials', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('requested_materials', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('paused_from', fields.CharEnumField(null=True, description='SUBMITTED: SUBMITTED\nACCEPTED: ACCEPTED\nMATERIALS_REQUESTED: MATERIALS_REQUESTED\nIN_HANDLING: IN_HANDLING\nCOMPLETED: COMPLETED\nREJECTED: REJECTED\nCANCELLED: CANCELLED', enum_type=AgencyState, max_length=20)),
                ('handling_started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('completed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('result_text', fields.TextField(null=True, unique=False)),
                ('certificate_number', fields.CharField(null=True, max_length=100)),
                ('reject_reason', fields.TextField(null=True, unique=False)),
                ('cancelled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('rating', fields.CharEnumField(null=True, description='VERY_SATISFIED: VERY_SATISFIED\nSATISFIED: SATISFIED\nBASIC: BASIC\nDISSATISFIED: DISSATISFIED\nVERY_DISSATISFIED: VERY_DISSATISFIED', enum_type=Satisfaction, max_length=20)),
                ('rating_comment', fields.TextField(null=True, unique=False)),
                ('rated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('rectification_state', fields.CharEnumField(null=True, description='OPEN: OPEN\nDONE: DONE\nWAIVED: WAIVED', enum_type=RectificationState, max_length=8)),
                ('rectification_deadline', fields.DateField(null=True)),
                ('rectified_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('version', fields.IntField(default=1)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'agency_request', 'app': 'models', 'indexes': [Index(fields=['service_point_id', 'state']), Index(fields=['enterprise_id', 'submitted_at']), Index(fields=['agent_id', 'state']), Index(fields=['region_id', 'state'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AgencyEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('request', fields.ForeignKeyField('models.AgencyRequest', source_field='request_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('action', fields.CharEnumField(description='SUBMIT: SUBMIT\nACCEPT: ACCEPT\nREQUEST_MATERIALS: REQUEST_MATERIALS\nSUPPLY_MATERIALS: SUPPLY_MATERIALS\nSTART_HANDLING: START_HANDLING\nCOMPLETE: COMPLETE\nREJECT: REJECT\nCANCEL: CANCEL\nRATE: RATE\nASSIGN_AGENT: ASSIGN_AGENT\nRECORD_RECTIFICATION: RECORD_RECTIFICATION', enum_type=AgencyAction, max_length=24)),
                ('actor', fields.ForeignKeyField('models.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('from_state', fields.CharEnumField(null=True, description='SUBMITTED: SUBMITTED\nACCEPTED: ACCEPTED\nMATERIALS_REQUESTED: MATERIALS_REQUESTED\nIN_HANDLING: IN_HANDLING\nCOMPLETED: COMPLETED\nREJECTED: REJECTED\nCANCELLED: CANCELLED', enum_type=AgencyState, max_length=20)),
                ('to_state', fields.CharEnumField(description='SUBMITTED: SUBMITTED\nACCEPTED: ACCEPTED\nMATERIALS_REQUESTED: MATERIALS_REQUESTED\nIN_HANDLING: IN_HANDLING\nCOMPLETED: COMPLETED\nREJECTED: REJECTED\nCANCELLED: CANCELLED', enum_type=AgencyState, max_length=20)),
                ('note', fields.TextField(default='', unique=False)),
                ('data', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'agency_event', 'app': 'models', 'indexes': [Index(fields=['request_id', 'id'])], 'pk_attr': 'id', 'table_description': 'One transition of an agency request. Never updated or deleted.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='AgencyRequest',
            name='last_event',
            field=fields.ForeignKeyField('models.AgencyEvent', source_field='last_event_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Attachment',
            name='agency_request',
            field=fields.ForeignKeyField('models.AgencyRequest', source_field='agency_request_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE),
        ),
        ops.AddIndex(
            model_name='Attachment',
            index=Index(fields=['agency_request_id']),
        ),
        ops.AddField(
            model_name='RoleGrant',
            name='service_point',
            field=fields.ForeignKeyField('models.ServicePoint', source_field='service_point_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT),
        ),
    ]
