"""The ORM tables (Tortoise models), one module a domain: org, enterprises, calendar, policy,
demands, visits, service_points, agency, notifications, audit, work_orders. The list Tortoise
loads is models.db.config.MODEL_MODULES; the domain's operations are models.ops.<domain> and its
pure rules models.rules.<domain>*."""
