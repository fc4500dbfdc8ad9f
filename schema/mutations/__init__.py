"""Mutations: parse the input, call one domain operation, map its result or refusal."""
