"""Client dialects: pure translations between what a client speaks (Anthropic Messages, OpenAI
Responses, Gemini native) and the OpenAI chat completions the relay and its adaptors speak.

Like adaptors they do no I/O and import no Flask, database or services: a route reads the client's
body, asks its dialect for the chat request, relays it, and asks the dialect to turn the chat answer
(or each chat chunk) back into the client's format.
"""
