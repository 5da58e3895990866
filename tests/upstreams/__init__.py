"""Mock upstream providers: small real HTTP servers on 127.0.0.1 that check each request as the real
API would and answer in its real wire format."""
