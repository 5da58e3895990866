"""The OpenAI-compatible relay under `/v1`: authentication, channel choice, adaptors, streaming, billing.

Kept free of imports so services can use `oneapi.relay.cache` without loading the views.
"""
