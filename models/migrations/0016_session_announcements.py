from tortoise import migrations
from tortoise.migrations import operations as ops

# PostgreSQL only: every change a signed-in actor is made of (models.access.load_signed_in_actor:
# the account's state, its grants, its sessions' revocation, the regions' paths) is announced on
# the channel "desk_session" (models.session_cache.SESSION_CHANNEL) by the changing transaction,
# whatever wrote it (a mutation, a command, psql), so every process's session cache drops it at
# commit. The payload is the user's id, or "*" for everyone.
_CREATE = """
CREATE OR REPLACE FUNCTION desk_session_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_ARGV[0] = '*' OR TG_LEVEL = 'STATEMENT' THEN
    PERFORM pg_notify('desk_session', '*');
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM pg_notify('desk_session', to_jsonb(OLD) ->> TG_ARGV[0]);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM pg_notify('desk_session', to_jsonb(NEW) ->> TG_ARGV[0]);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER app_user_session AFTER UPDATE ON app_user FOR EACH ROW
  WHEN ((OLD.id, OLD.session_version, OLD.is_active, OLD.username)
        IS DISTINCT FROM (NEW.id, NEW.session_version, NEW.is_active, NEW.username))
  EXECUTE FUNCTION desk_session_changed('id');
CREATE TRIGGER app_user_session_gone AFTER DELETE ON app_user FOR EACH ROW
  EXECUTE FUNCTION desk_session_changed('id');
CREATE TRIGGER role_grant_session AFTER INSERT OR UPDATE OR DELETE ON role_grant FOR EACH ROW
  EXECUTE FUNCTION desk_session_changed('user_id');
CREATE TRIGGER refresh_token_session AFTER UPDATE ON refresh_token FOR EACH ROW
  WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
  EXECUTE FUNCTION desk_session_changed('user_id');
CREATE TRIGGER region_session AFTER UPDATE ON region FOR EACH ROW
  WHEN (OLD.path IS DISTINCT FROM NEW.path)
  EXECUTE FUNCTION desk_session_changed('*');
CREATE TRIGGER app_user_session_truncated AFTER TRUNCATE ON app_user
  FOR EACH STATEMENT EXECUTE FUNCTION desk_session_changed('*');
CREATE TRIGGER role_grant_session_truncated AFTER TRUNCATE ON role_grant
  FOR EACH STATEMENT EXECUTE FUNCTION desk_session_changed('*');
CREATE TRIGGER region_session_truncated AFTER TRUNCATE ON region
  FOR EACH STATEMENT EXECUTE FUNCTION desk_session_changed('*');
"""
_TRIGGERS = (
    ("app_user_session", "app_user"),
    ("app_user_session_gone", "app_user"),
    ("role_grant_session", "role_grant"),
    ("refresh_token_session", "refresh_token"),
    ("region_session", "region"),
    ("app_user_session_truncated", "app_user"),
    ("role_grant_session_truncated", "role_grant"),
    ("region_session_truncated", "region"),
)


async def _create(apps, schema_editor):
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script(_CREATE)


async def _drop(apps, schema_editor):
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        drops = "; ".join(f"DROP TRIGGER IF EXISTS {t} ON {table}" for t, table in _TRIGGERS)
        await client.execute_script(f"{drops}; DROP FUNCTION IF EXISTS desk_session_changed()")


class Migration(migrations.Migration):
    dependencies = [("models", "0015_stats_cohort_index")]

    initial = False

    operations = [ops.RunPython(_create, _drop)]
