from django.urls import path

from bench.views import baseline
from community.urls import urlpatterns as site_urlpatterns

urlpatterns = [path("bench/baseline/", baseline, name="bench_baseline"), *site_urlpatterns]
