"""Business logic shared by the management API, the console and the relay: plain functions that own
their transactions and raise `oneapi.errors.OneAPIError` subclasses."""
