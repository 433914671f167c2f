"""factory_boy factories for core rows and users."""

from __future__ import annotations

import factory
from django.contrib.auth.models import Group

from opsadmin.models import CustomerType, ServiceArea, User, Utility

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    kind = User.Kind.STAFF
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.set([Group.objects.get(name=name) for name in extracted])
        if create:
            self.save()


def staff(group: str, **kwargs) -> User:
    return UserFactory(groups=[group], **kwargs)


def customer_user(**kwargs) -> User:
    kwargs.setdefault("username", factory.Faker("email").evaluate(None, None, {"locale": None}))
    return UserFactory(kind=User.Kind.CUSTOMER, **kwargs)


class UtilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Utility
        django_get_or_create = ("code",)

    code = "centerpoint"
    name = "CenterPoint"
    esiid_prefixes = ["1008901"]


class ServiceAreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceArea

    utility = factory.SubFactory(UtilityFactory)
    zip_code = "77002"


class CustomerTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerType
        django_get_or_create = ("code",)

    code = "residential"
    name = "Residential"
