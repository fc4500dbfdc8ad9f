from tortoise import migrations
from tortoise.migrations import operations as ops
from models.rules.audit import AuditOutcome
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

# The audit log is append-only: the database itself refuses UPDATE and DELETE on it, whatever
# the statement (a statement-level trigger on PostgreSQL fires even when no row matches).
_SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;",
)
_POSTGRES_TRIGGER = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
"""


async def _create_triggers(apps, schema_editor):
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script(_POSTGRES_TRIGGER)
    else:
        for statement in _SQLITE_TRIGGERS:
            await client.execute_query(statement)


async def _drop_triggers(apps, schema_editor):
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script(
            "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log; "
            "DROP FUNCTION IF EXISTS audit_log_append_only();"
        )
    else:
        await client.execute_query("DROP TRIGGER IF EXISTS audit_log_no_update")
        await client.execute_query("DROP TRIGGER IF EXISTS audit_log_no_delete")


class Migration(migrations.Migration):
    dependencies = [("models", "0012_mobile_list_indexes")]

    initial = False

    operations = [
        ops.CreateModel(
            name="AuditEntry",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ("actor_id", fields.IntField(null=True)),
                ("actor_username", fields.CharField(default="", max_length=64)),
                ("action", fields.CharField(max_length=48)),
                ("object_type", fields.CharField(null=True, max_length=32)),
                ("object_id", fields.CharField(null=True, max_length=64)),
                ("details", fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ("address", fields.CharField(default="", max_length=64)),
                (
                    "outcome",
                    fields.CharEnumField(
                        description="SUCCESS: SUCCESS\nREFUSED: REFUSED",
                        enum_type=AuditOutcome,
                        max_length=16,
                    ),
                ),
            ],
            options={
                "table": "audit_log",
                "app": "models",
                "indexes": [
                    Index(fields=["actor_id", "at"]),
                    Index(fields=["action", "at"]),
                    Index(fields=["object_type", "object_id"]),
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="RefreshToken",
            name="session_version",
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name="User",
            name="session_version",
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.RunPython(_create_triggers, _drop_triggers),
    ]
