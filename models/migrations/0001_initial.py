from tortoise import migrations
from tortoise.migrations import operations as ops
from models.rules.roles import CoordinateSystem, EnterpriseScale, Rank, RegionLevel, Role
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='LoginThrottle',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client', fields.CharField(unique=True, max_length=64)),
                ('failures', fields.IntField(default=0)),
                ('window_start', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'login_throttle', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Failed sign-ins per client address in a sliding window, shared by all processes.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Region',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=100)),
                ('code', fields.CharField(null=True, unique=True, max_length=12)),
                ('level', fields.CharEnumField(description='PROVINCE: PROVINCE\nCITY: CITY\nCOUNTY: COUNTY\nTOWN: TOWN\nSTREET: STREET\nPARK: PARK', enum_type=RegionLevel, max_length=16)),
                ('parent', fields.ForeignKeyField('models.Region', source_field='parent_id', null=True, db_constraint=True, to_field='id', related_name='children', on_delete=OnDelete.RESTRICT)),
                ('path', fields.CharField(default='', db_index=True, max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'region', 'app': 'models', 'unique_together': (('parent', 'name'),), 'pk_attr': 'id', 'table_description': 'County → town/street → park. `path` ("/1/4/9/") makes a subtree one indexed LIKE.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Department',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=100)),
                ('code', fields.CharField(null=True, max_length=32)),
                ('region', fields.ForeignKeyField('models.Region', source_field='region_id', db_constraint=True, to_field='id', related_name='departments', on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'department', 'app': 'models', 'unique_together': (('region', 'name'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Enterprise',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(db_index=True, max_length=200)),
                ('credit_code', fields.CharField(unique=True, max_length=18)),
                ('credit_code_override', fields.BooleanField(default=False)),
                ('legal_representative', fields.CharField(default='', max_length=64)),
                ('address', fields.CharField(default='', max_length=255)),
                ('latitude', fields.FloatField(null=True)),
                ('longitude', fields.FloatField(null=True)),
                ('coordinate_system', fields.CharEnumField(default=CoordinateSystem.GCJ02, description='WGS84: WGS84\nGCJ02: GCJ02\nBD09: BD09', enum_type=CoordinateSystem, max_length=8)),
                ('region', fields.ForeignKeyField('models.Region', source_field='region_id', db_constraint=True, to_field='id', related_name='enterprises', on_delete=OnDelete.RESTRICT)),
                ('industry_code', fields.CharField(null=True, db_index=True, max_length=8)),
                ('scale', fields.CharEnumField(null=True, description='LARGE: LARGE\nMEDIUM: MEDIUM\nSMALL: SMALL\nMICRO: MICRO', enum_type=EnterpriseScale, max_length=8)),
                ('above_scale_industry', fields.BooleanField(default=False)),
                ('qualified_construction', fields.BooleanField(default=False)),
                ('above_limit_trade', fields.BooleanField(default=False)),
                ('above_scale_service', fields.BooleanField(default=False)),
                ('real_estate_development', fields.BooleanField(default=False)),
                ('version', fields.IntField(default=1)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'enterprise', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('username', fields.CharField(unique=True, max_length=64)),
                ('display_name', fields.CharField(max_length=64)),
                ('mobile', fields.CharField(null=True, max_length=11)),
                ('rank', fields.CharEnumField(null=True, description='COUNTY_LEADER: COUNTY_LEADER\nTOWN_LEADER: TOWN_LEADER\nSTAFF: STAFF', enum_type=Rank, max_length=16)),
                ('password_hash', fields.CharField(max_length=255)),
                ('is_active', fields.BooleanField(default=True)),
                ('is_demo', fields.BooleanField(default=False)),
                ('failed_logins', fields.IntField(default=0)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('password_changed_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'app_user', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EnterpriseContact',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('enterprise', fields.ForeignKeyField('models.Enterprise', source_field='enterprise_id', db_constraint=True, to_field='id', related_name='contacts', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=64)),
                ('mobile', fields.CharField(max_length=11)),
                ('position', fields.CharField(default='', max_length=64)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='enterprise_contacts', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'enterprise_contact', 'app': 'models', 'unique_together': (('enterprise', 'mobile'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LeaderAssignment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('enterprise', fields.ForeignKeyField('models.Enterprise', source_field='enterprise_id', db_constraint=True, to_field='id', related_name='leader_assignments', on_delete=OnDelete.CASCADE)),
                ('leader', fields.ForeignKeyField('models.User', source_field='leader_id', db_constraint=True, to_field='id', related_name='assignments', on_delete=OnDelete.RESTRICT)),
                ('start_date', fields.DateField()),
                ('end_date', fields.DateField(null=True)),
                ('note', fields.CharField(default='', max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'leader_assignment', 'app': 'models', 'indexes': [Index(fields=['leader_id', 'end_date'])], 'pk_attr': 'id', 'table_description': 'A leader or cadre assigned to look after an enterprise (包联), for a period.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RefreshToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='refresh_tokens', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('family', fields.CharField(db_index=True, max_length=32)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'refresh_token', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A refresh token, stored only as its SHA-256. `family` ties a chain of rotations.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RoleGrant',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='grants', on_delete=OnDelete.CASCADE)),
                ('role', fields.CharEnumField(description='CADRE: CADRE\nDISPATCHER: DISPATCHER\nHANDLER: HANDLER\nSERVICE_AGENT: SERVICE_AGENT\nENTERPRISE: ENTERPRISE\nSUPERVISOR: SUPERVISOR\nADMIN: ADMIN', enum_type=Role, max_length=16)),
                ('region', fields.ForeignKeyField('models.Region', source_field='region_id', null=True, db_constraint=True, to_field='id', related_name='grants', on_delete=OnDelete.RESTRICT)),
                ('department', fields.ForeignKeyField('models.Department', source_field='department_id', null=True, db_constraint=True, to_field='id', related_name='grants', on_delete=OnDelete.RESTRICT)),
                ('lead', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'role_grant', 'app': 'models', 'unique_together': (('user', 'role', 'region', 'department'),), 'pk_attr': 'id', 'table_description': 'One role of a user in a region (and department where it applies).'},
            bases=['Model'],
        ),
    ]
