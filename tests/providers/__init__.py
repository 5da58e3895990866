"""Every channel type through a real gateway: the official `openai` SDK against mock providers."""
