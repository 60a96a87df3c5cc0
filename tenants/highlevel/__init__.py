"""Sign in with HighLevel: a django-allauth OAuth2 provider that stores the tenant's tokens."""
