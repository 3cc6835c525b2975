"""Forms of the project as a whole: the login."""

from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator


class LoginForm(AuthenticationForm):
    """Django's login form limits the username's length only in the browser (maxlength): a longer one
    reached authenticate() and django-axes, whose attempt log holds 255 characters (a 500 on
    PostgreSQL). No account has a longer name, so it is refused before anything is looked up."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        field.validators.append(MaxLengthValidator(field.max_length))
