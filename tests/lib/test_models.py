"""ChoiceLabels: get_FOO_display() gives what Django's gives, for every choice of every model using it."""

import pytest
from django.apps import apps
from django.db import models
from django.utils import translation

from community.lib.models import ChoiceLabels


def _choice_fields():
    for model in apps.get_models():
        if issubclass(model, ChoiceLabels):
            for field in model._meta.concrete_fields:
                if field.choices:
                    yield pytest.param(model, field, id=f"{model.__name__}.{field.name}")


def test_the_models_with_choices_use_it():
    """Every model of the project with a choices field, but the history tables simple_history makes."""
    missing = [
        model.__name__
        for model in apps.get_models()
        if model._meta.app_label in ("residents", "stations")
        and not model.__name__.startswith("Historical")
        and any(field.choices for field in model._meta.concrete_fields)
        and not issubclass(model, ChoiceLabels)
    ]
    assert missing == []


@pytest.mark.parametrize(("model", "field"), list(_choice_fields()))
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_labels_are_djangos_in_each_language(model, field, language):
    with translation.override(language):
        for value, _label in field.flatchoices:
            instance = model(**{field.attname: value})
            ours = getattr(instance, f"get_{field.name}_display")()
            assert ours == models.Model._get_FIELD_display(instance, field)
            assert type(ours) is str


def test_a_label_follows_the_active_language():
    from stations.models import ServiceRequest

    request = ServiceRequest(status="accepted")
    with translation.override("en"):
        english = request.get_status_display()
    with translation.override("zh-hans"):
        chinese = request.get_status_display()
    assert (english, chinese) == ("Accepted (签收)", "已签收")


def test_a_value_outside_the_choices_is_given_back_as_it_is():
    from stations.models import ServiceRequest

    assert ServiceRequest(status="nonsense").get_status_display() == "nonsense"
    assert ServiceRequest(status=None).get_status_display() is None


def test_choices_from_a_callable_and_unhashable_values_go_to_django():
    class Thing(ChoiceLabels, models.Model):  # noqa: DJ008
        shape = models.CharField(max_length=10, choices=lambda: [("a", "Round"), ("b", "Square")])
        tags = models.JSONField(choices=[([1, 2], "One-two")])

        class Meta:
            app_label = "stations"
            managed = False

    assert Thing(shape="b").get_shape_display() == "Square"
    assert Thing(tags=[1, 2]).get_tags_display() == "One-two"
