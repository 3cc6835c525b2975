"""Import of households and residents from a sheet (being built)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404


@login_required
def import_list(request):
    raise Http404


import_detail = import_check = import_apply = import_list
