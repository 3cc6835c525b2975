from django.urls import path

from stations import views

app_name = "stations"

urlpatterns = [
    path("workers/", views.worker_list, name="worker_list"),
    path("workers/<int:pk>/", views.worker_detail, name="worker_detail"),
]
