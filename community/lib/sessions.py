"""Session engine (settings.SESSION_ENGINE): Django's database sessions that remember when the user
logged in, for the 12-hour absolute timeout (community.lib.middleware.SessionTimeoutMiddleware).

The stamp is written by the store, on the first save of a session that holds a login, so it is there
however the login happened (the login form, the admin, the test client's force_login) and costs no
extra query; ``logout()`` flushes the session, and a login as another user starts a new one.
"""

import time

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import db

LOGIN_AT = "_onedesk_login_at"
REFRESHED_AT = "_onedesk_refreshed_at"


class SessionStore(db.SessionStore):
    def create_model_instance(self, data):
        if SESSION_KEY in data and LOGIN_AT not in data:
            now = int(time.time())
            data[LOGIN_AT] = now
            data[REFRESHED_AT] = now
        return super().create_model_instance(data)
