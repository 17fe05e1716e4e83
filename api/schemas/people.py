"""Request and response shapes for members, buildings and installs."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, EmailStr, Field

from api.schemas.common import (
    Address,
    Altitude,
    InstallRef,
    KeyedRef,
    Latitude,
    Longitude,
    Name,
    NodeRef,
    Notes,
    OptionalPhoneNumber,
    PhoneNumber,
    RecordIn,
    RecordOut,
    Ref,
    Ref_,
    Short,
    partial,
)
from ipam.enums import AddressTruthSource, BillingStatus, InstallStatus, PaymentPreference

Email = Annotated[EmailStr, Field(max_length=254)]


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _plain_source(value: Any) -> Any:
    # MeshDB writes "AddressTruthSource.NYCPlanningLabs" (an Enum's str()); the name is kept.
    return value.removeprefix("AddressTruthSource.") if isinstance(value, str) else value


def _stripe_subscription(value: str) -> str:
    # Python's re, not the schema's pattern: a Unicode \w{24,254} is too big for pydantic's.
    if not STRIPE_SUBSCRIPTION.fullmatch(value):
        raise ValueError("Invalid Stripe subscription ID")
    return value


# MeshDB's validator (meshapi/models/install.py): "sub_" and 24-254 word characters.
STRIPE_SUBSCRIPTION = re.compile(r"sub_\w{24,254}")
StripeSubscription = Annotated[str, Field(max_length=258), AfterValidator(_stripe_subscription)]

# MeshDB's choices only (meshapi/models/member.py, meshapi/models/building.py).
Payment = Annotated[PaymentPreference, BeforeValidator(_lower)]
TruthSource = Annotated[AddressTruthSource, BeforeValidator(_plain_source)]


class MemberIn(RecordIn):
    """A member as clients write it."""

    name: Name = Field(min_length=1)
    primary_email_address: Email | None = None
    stripe_email_address: Email | None = None
    additional_email_addresses: list[Email] = Field(default_factory=list, max_length=50)
    # Normalised to E.164 and checked as the join form checks them (ipam/records/phones.py);
    # MeshDB's Member validates and normalises both fields (meshapi/models/member.py).
    phone_number: OptionalPhoneNumber = None
    additional_phone_numbers: list[PhoneNumber] = Field(default_factory=list, max_length=50)
    slack_handle: Short | None = None
    notes: Notes | None = None
    payment_preference: Payment | None = None


class MemberOut(RecordOut):
    """A member as the API shows it."""

    name: str
    primary_email_address: str | None
    stripe_email_address: str | None
    additional_email_addresses: list[str]
    all_email_addresses: list[str]
    phone_number: str | None
    additional_phone_numbers: list[str]
    all_phone_numbers: list[str]
    slack_handle: str | None
    notes: str | None
    payment_preference: str | None
    installs: list[InstallRef]


class BuildingIn(RecordIn):
    """A building as clients write it."""

    bin: int | None = Field(default=None, ge=0, le=99_999_999)
    street_address: Address | None = None
    city: Short | None = None
    state: Annotated[str, Field(max_length=50)] | None = None
    zip_code: Annotated[str, Field(max_length=10)] | None = None
    latitude: Latitude
    longitude: Longitude
    altitude: Altitude | None = None
    address_truth_sources: list[TruthSource] = Field(default_factory=list, max_length=20)
    primary_node: KeyedRef | None = None
    nodes: list[KeyedRef] = Field(default_factory=list, max_length=500)
    notes: Notes | None = None
    panoramas: list[Address] = Field(default_factory=list, max_length=200)


class BuildingOut(RecordOut):
    """A building as the API shows it."""

    bin: int | None
    street_address: str | None
    city: str | None
    state: str | None
    zip_code: str | None
    latitude: float
    longitude: float
    altitude: float | None
    address_truth_sources: list[str]
    primary_node: NodeRef | None
    nodes: list[NodeRef]
    installs: list[InstallRef]
    notes: str | None
    panoramas: list[str]


class InstallIn(RecordIn):
    """An install as clients write it (install_number is given by the database)."""

    status: InstallStatus = InstallStatus.REQUEST_RECEIVED
    member: Ref
    additional_members: list[Ref] = Field(default_factory=list, max_length=50)
    building: Ref
    node: KeyedRef | None = None
    unit: Short | None = None
    roof_access: bool = False
    request_date: datetime = Field(default_factory=lambda: datetime.now(UTC))
    install_date: date | None = None
    abandon_date: date | None = None
    diy: bool | None = None
    referral: Notes | None = None
    notes: Notes | None = None
    ticket_number: Short | None = None
    stripe_subscription_id: StripeSubscription | None = None
    install_number: int | None = Field(
        default=None, description="read-only: accepted only when equal to the current value"
    )


class InstallOut(RecordOut):
    """An install as the API shows it."""

    install_number: int
    status: InstallStatus
    member: Ref_
    additional_members: list[Ref_]
    building: Ref_
    node: NodeRef | None
    unit: str | None
    roof_access: bool
    request_date: datetime
    install_date: date | None
    abandon_date: date | None
    diy: bool | None
    referral: str | None
    notes: str | None
    ticket_number: str | None
    stripe_subscription_id: str | None
    install_fee_billing_datum: dict[str, Any] | None


class InstallFeeBillingDatumIn(RecordIn):
    """Install fee billing data as clients write it (MeshDB's InstallFeeBillingDatum)."""

    install: KeyedRef
    status: BillingStatus = BillingStatus.TO_BE_BILLED
    billing_date: date | None = None
    invoice_number: Short | None = None
    notes: Notes | None = None


class InstallFeeBillingDatumOut(RecordOut):
    """Install fee billing data as the API shows it."""

    install: InstallRef
    status: BillingStatus
    billing_date: date | None
    invoice_number: str | None
    notes: str | None


MemberPatch = partial(MemberIn, "MemberPatch")
BuildingPatch = partial(BuildingIn, "BuildingPatch")
InstallPatch = partial(InstallIn, "InstallPatch")
InstallFeeBillingDatumPatch = partial(InstallFeeBillingDatumIn, "InstallFeeBillingDatumPatch")
