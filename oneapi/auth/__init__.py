"""Who is calling: session login (Flask-Login) or the user's access token, and role requirements."""
