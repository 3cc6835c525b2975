from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from community.forms import LoginForm
from stations.views import desk as station_views

urlpatterns = [
    path("", station_views.home, name="home"),
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
