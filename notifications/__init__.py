"""Delivery: the push gateway interface, one adapter per gateway, the outbox dispatcher."""
