"""The process: settings, the Starlette app and its lifespan, authentication, the command line."""
