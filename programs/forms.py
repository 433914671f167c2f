"""What people type on the programs screens."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from opsadmin.i18n import translation_fields
from programs.models import (
    ControllableAssetType,
    Device,
    DeviceSpecification,
    EntityGroup,
    HeadEndSystem,
    PremiseRateClass,
    Program,
    ProgramEnrollment,
    ProgramType,
    RateClass,
)

DATETIME_LOCAL = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


class CustomerSearchForm(forms.Form):
    q = forms.CharField(label="Customer name, email or ESIID", max_length=100, required=False)


class DeviceEnrollForm(forms.Form):
    """One device for a program enrollment (agents see installation and ownership)."""

    asset_type = forms.ModelChoiceField(
        label=_("Device type"), queryset=ControllableAssetType.objects.none()
    )
    specification = forms.ModelChoiceField(
        label=_("Device model"), queryset=DeviceSpecification.objects.none(), required=False
    )
    serial_number = forms.CharField(label=_("Serial number"), max_length=60)
    network_address = forms.CharField(
        label=_("Network address"),
        max_length=100,
        help_text=_("MAC, IP or head-end address the device answers on."),
    )
    installation_method = forms.ChoiceField(
        label=_("Installation method"), choices=Device.InstallationMethod.choices
    )
    ownership = forms.ChoiceField(label=_("Asset ownership"), choices=Device.Ownership.choices)
    installation_date = forms.DateField(
        label=_("Installation date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Site visit date for utility installation or utility-owned devices."),
    )

    def __init__(self, *args, program: Program, customer_channel: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        types = program.asset_types.all()
        if not types.exists():
            types = ControllableAssetType.objects.all()
        self.fields["asset_type"].queryset = types  # type: ignore[attr-defined]
        # a device type in the reader's language (staff screens render English)
        self.fields["asset_type"].label_from_instance = lambda t: t.local_name  # type: ignore[attr-defined]
        self.fields["specification"].queryset = (  # type: ignore[attr-defined]
            DeviceSpecification.objects.filter(asset_type__in=types)
        )
        if customer_channel:  # customers enroll their own devices; installs go via an agent
            for name in ("installation_method", "ownership", "installation_date"):
                del self.fields[name]


class UnavailabilityForm(forms.Form):
    starts_at = forms.DateTimeField(
        label=_("Unavailable from"),
        input_formats=DATETIME_LOCAL,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    ends_at = forms.DateTimeField(
        label=_("Unavailable until"),
        input_formats=DATETIME_LOCAL,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", _("The window must end after it starts."))
        return data


class UnenrollForm(forms.Form):
    removal_method = forms.ChoiceField(choices=ProgramEnrollment.RemovalMethod.choices)
    reason = forms.CharField(label="Unenrollment reason", max_length=200, required=False)
    removal_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Removal visit date"
    )


class ServiceCallForm(forms.Form):
    problem = forms.CharField(max_length=300)
    scheduled_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Visit date"
    )


class WorkOrderCompleteForm(forms.Form):
    resolution = forms.CharField(max_length=300, required=False)
    replacement_serial = forms.CharField(
        label="Replacement serial number",
        max_length=60,
        required=False,
        help_text="Service calls only: the new device the technician installed.",
    )
    replacement_network_address = forms.CharField(max_length=100, required=False)

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if bool(data.get("replacement_serial")) != bool(data.get("replacement_network_address")):
            raise forms.ValidationError(
                "A replacement needs both a serial number and a network address."
            )
        return data


# --- configuration (one ModelForm per screen) ------------------------------------------------
def _model_form(model_cls, field_names):
    meta = type("Meta", (), {"model": model_cls, "fields": field_names})
    return type(f"{model_cls.__name__}Form", (forms.ModelForm,), {"Meta": meta})


CONFIG = {
    "program-types": (
        ProgramType,
        ["code", "name", "allows_opt_out", "allows_unavailability"],
        "Program types",
    ),
    "programs": (
        Program,
        [
            "code",
            "name",
            "description",
            "program_type",
            "head_end",
            "customer_types",
            "utilities",
            "rate_classes",
            "asset_types",
            "active",
        ],
        "Programs",
    ),
    "asset-types": (ControllableAssetType, ["code", "name"], "Controllable asset types"),
    "head-ends": (HeadEndSystem, ["code", "name"], "Head-end systems"),
    "specifications": (
        DeviceSpecification,
        ["code", "asset_type", "manufacturer", "model_name", "capacity_kw"],
        "Device specifications",
    ),
    "rate-classes": (RateClass, ["code", "name"], "Rate classes"),
    "entity-groups": (
        EntityGroup,
        ["code", "name", "program", "specification", "rate_class"],
        "Entity groups",
    ),
    "premise-rate-classes": (
        PremiseRateClass,
        ["service_account", "rate_class"],
        "Premise rate classes",
    ),
}
# The edit forms also hold each customer-facing text's Spanish (opsadmin.i18n).
CONFIG_FORMS = {
    key: _model_form(model, translation_fields(fields, model))
    for key, (model, fields, _perm) in CONFIG.items()
}
