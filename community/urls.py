from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path

from community.forms import LoginForm
from stations.views import desk as station_views


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers (and bookmarks, feed readers) ask for /favicon.ico whatever the page's <link rel="icon">
    says; send them to the icon instead of a 404. Temporary: the icon's hashed name changes with it."""
    return HttpResponseRedirect(static("favicon.svg"))


urlpatterns = [
    path("", station_views.home, name="home"),
    path("favicon.ico", favicon, name="favicon"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=LoginForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("residents.urls")),
    path("", include("stations.urls")),
]

# 400, 403 (and 403_csrf) and 404 use Django's handlers with our templates; 500 adds the request id.
handler500 = "community.lib.errors.server_error"
